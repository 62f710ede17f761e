import {
  BedrockClient,
  CreateEvaluationJobCommand,
  paginateListEvaluationJobs,
  type EvaluationSummary,
} from '@aws-sdk/client-bedrock';
import { incumbentEvaluationNames, resourceTags, trainingNames } from '../../core/job-names';
import { s3Uri } from '../../core/run-store';
import { errorName, logger, tracer } from '../../core/runtime';
import type { EVALUATE_ENVIRONMENT } from './environment';
import {
  evaluationJobRequest,
  evaluationKeys,
  INFERENCE_SOURCE,
  judgeJobOwner,
  rejectedEvaluationJobMessage,
  type JudgedModel,
} from './evaluation';
import type { EvaluationJobRef } from './result';

/**
 * Evaluate's judge jobs, one per judged model, started idempotently: the job's name and client request token are the
 * run's (lambda/core/job-names.ts), so a retried step finds the job an earlier attempt started instead of a second one.
 */

const bedrock = tracer.captureAWSv3Client(new BedrockClient({}));

/** The run a judge job belongs to: its id and the bucket holding its datasets and the judges' output. */
export interface JudgedRun {
  readonly runId: string;
  readonly bucket: string;
  /** The candidate evaluated (its jobs and files carry its name); absent for a run from before candidates. */
  readonly candidate?: { readonly name: string };
}

/** What a judge job's request takes from Evaluate's environment. */
export type JudgeJobSettings = Pick<
  ReturnType<typeof EVALUATE_ENVIRONMENT.read>,
  'envName' | 'evaluationRoleArn' | 'judgeModelId' | 'datasetKeyArn'
>;

/** Bedrock refused a judge job's request; the message names what was sent and where to change it. */
export class EvaluationJobRejected extends Error {
  override readonly name = 'EvaluationJobRejected';
}

/** The job named `jobName`; returning from the loop stops the paginator, so no page after the match is read. */
async function findEvaluationJob(jobName: string): Promise<EvaluationSummary | undefined> {
  for await (const page of paginateListEvaluationJobs({ client: bedrock }, { nameContains: jobName })) {
    const match = page.jobSummaries?.find((j) => j.jobName === jobName);
    if (match) return match;
  }
  return undefined;
}

/**
 * Starts the judge job of one model; a ConflictException (retry after a lost response, or the run's reference job
 * already started by another candidate) resolves to the existing job, and a ValidationException becomes
 * EvaluationJobRejected, which keeps Bedrock's message and says what to change. A candidate's student job is its own;
 * the reference models' jobs are the run's (judgeJobOwner): every candidate asking for one gets the same job.
 */
export async function startJudgeJob(
  run: JudgedRun,
  settings: JudgeJobSettings,
  model: JudgedModel,
): Promise<EvaluationJobRef> {
  const candidate = judgeJobOwner(model, run.candidate?.name);
  const names = trainingNames(settings.envName, run.runId, candidate);
  const incumbentNames = incumbentEvaluationNames(settings.envName, run.runId, candidate);
  const keys = evaluationKeys(run.runId, candidate);
  const sharedBy = run.candidate && candidate === undefined ? ' (shared by its candidates)' : '';
  const jobName = model === 'incumbent' ? incumbentNames.jobName : names.evaluationJobName[model];
  const request = evaluationJobRequest({
    jobName,
    clientRequestToken: model === 'incumbent' ? incumbentNames.token : names.evaluationToken[model],
    roleArn: settings.evaluationRoleArn,
    judgeModelId: settings.judgeModelId,
    datasetS3Uri: s3Uri(run.bucket, keys.dataset(model)),
    outputS3Uri: s3Uri(run.bucket, keys.outputPrefix),
    inferenceSourceIdentifier: INFERENCE_SOURCE[model],
    kmsKeyId: settings.datasetKeyArn,
    tags: resourceTags(settings.envName, run.runId, candidate),
    description:
      `Intent router run ${run.runId}${candidate ? `, candidate ${candidate}` : ''}: ${model} judged on the ` +
      `held-out queries${sharedBy}`,
  });
  try {
    const out = await bedrock.send(new CreateEvaluationJobCommand(request));
    if (!out.jobArn) throw new Error('CreateEvaluationJob returned no jobArn');
    return { jobName, jobArn: out.jobArn };
  } catch (error) {
    if (error instanceof Error && error.name === 'ValidationException') {
      throw new EvaluationJobRejected(rejectedEvaluationJobMessage(request, error.message), { cause: error });
    }
    if (errorName(error) !== 'ConflictException') throw error;
    const existing = await findEvaluationJob(jobName);
    if (!existing?.jobArn) throw error;
    logger.info('evaluation job already started by an earlier attempt or another candidate', {
      jobName,
      jobArn: existing.jobArn,
    });
    return { jobName, jobArn: existing.jobArn };
  }
}
