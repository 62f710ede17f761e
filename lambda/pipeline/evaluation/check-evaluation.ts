import { BedrockClient, GetEvaluationJobCommand, StopEvaluationJobCommand } from '@aws-sdk/client-bedrock';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import * as z from 'zod';
import {
  evaluationKeys,
  JUDGE_METRIC_NAME,
  JUDGED_MODELS,
  judgeJobOwner,
  pairJudgeScores,
  parseJudgeOutput,
  type JudgedModel,
  type JudgeOutput,
} from './evaluation';
import { readExisting, s3RunStore, s3Uri } from '../../core/run-store';
import type { EvaluationStatus } from './result';
import { lambdaHandler, logger, parseInput, tracer } from '../../core/runtime';

const bedrock = tracer.captureAWSv3Client(new BedrockClient({}));
const s3 = tracer.captureAWSv3Client(new S3Client({}));

const jobRef = z.object({ jobName: z.string().min(1), jobArn: z.string().min(1) });
export const checkEvaluationInput = z.object({
  runId: z.string().min(1),
  bucket: z.string().min(1),
  /** The incumbent's job exists when a student was promoted before the run. */
  jobs: z.object({ student: jobRef, baseline: jobRef, incumbent: jobRef.optional() }),
  /**
   * The candidate evaluated (`$.candidate.name`): its student's judge job writes under its own prefix, the reference
   * models' jobs (shared by the run's candidates) under the run's.
   */
  candidate: z.string().min(1).optional(),
});
type Jobs = z.output<typeof checkEvaluationInput>['jobs'];

/** The models whose judge jobs this run started. */
const startedModels = (jobs: Jobs): JudgedModel[] => JUDGED_MODELS.filter((m) => jobs[m] !== undefined);

/** Statuses from which a job will never complete. */
const ENDED_WITHOUT_RESULT = new Set(['Failed', 'Stopping', 'Stopped', 'Deleting']);

/** Every key under `prefix` (all pages). */
async function listKeys(bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

/**
 * One job's judge output, read from the JSONL files under `<output>/<jobName>/` (listed, not guessed): the mean score
 * and each scored prompt's score.
 */
export async function readJudgeOutput(
  bucket: string,
  runId: string,
  jobName: string,
  candidate?: string,
): Promise<JudgeOutput> {
  const prefix = `${evaluationKeys(runId, candidate).outputPrefix}${jobName}/`;
  const keys = (await listKeys(bucket, prefix)).filter((k) => k.endsWith('.jsonl'));
  if (keys.length === 0)
    throw new Error(`evaluation job ${jobName} completed but wrote no JSONL under ${s3Uri(bucket, prefix)}`);
  const store = s3RunStore(s3, bucket);
  const files = await Promise.all(
    keys.map(async (key) => ({
      key,
      body: await readExisting(store, key, 'it was listed a moment ago: retry the step'),
    })),
  );
  return parseJudgeOutput(files, JUDGE_METRIC_NAME);
}

/**
 * The candidate's judge scores paired with the incumbent's, or why not: the Gate falls back to the means when a job's
 * output does not name the prompts it scored, or no prompt was scored by both.
 */
export function pairWithIncumbent(student: JudgeOutput, incumbent: JudgeOutput): EvaluationStatus['judgePaired'] {
  const unnamed = [
    student.unidentified > 0 ? `the candidate's (${student.unidentified})` : '',
    incumbent.unidentified > 0 ? `the incumbent's (${incumbent.unidentified})` : '',
  ].filter(Boolean);
  const paired = pairJudgeScores(student.prompts, incumbent.prompts);
  if (paired.queries === 0) {
    return {
      note:
        'no prompt was scored in both judge jobs' +
        (unnamed.length ? `: output records without inputRecord.prompt in ${unnamed.join(' and ')} job` : ''),
    };
  }
  return {
    incumbent: paired,
    ...(unnamed.length
      ? { note: `left out of the pairing, output records without inputRecord.prompt: ${unnamed.join(', ')}` }
      : {}),
  };
}

/**
 * Stops the judge jobs still InProgress once the evaluation has failed: their results would never be read. Best
 * effort — a job that cannot be stopped is logged, and the step still fails with the real cause. With candidates only
 * the candidate's own job is stopped: the reference models' jobs are shared, and another candidate may still need them.
 */
async function stopRunningJobs(
  jobs: Jobs,
  jobStatus: Readonly<Partial<Record<JudgedModel, string>>>,
  candidate: string | undefined,
) {
  const stopped: JudgedModel[] = [];
  const own = startedModels(jobs).filter((m) => candidate === undefined || judgeJobOwner(m, candidate) === candidate);
  for (const model of own) {
    const job = jobs[model];
    if (jobStatus[model] !== 'InProgress' || !job) continue;
    try {
      await bedrock.send(new StopEvaluationJobCommand({ jobIdentifier: job.jobArn }));
      stopped.push(model);
      logger.info('stopped the judge job that was still running', { model, jobArn: job.jobArn });
    } catch (error) {
      logger.warn('could not stop the judge job that was still running', { model, jobArn: job.jobArn, error });
    }
  }
  return stopped;
}

/**
 * Polls the judge jobs: Failed as soon as one ended without a result (with its failure messages; the others are
 * stopped if they still run), Completed with the judge's mean score per model once all completed (and, with an
 * incumbent, the candidate's scores paired with its prompt by prompt), InProgress otherwise.
 */
export async function checkEvaluation(event: unknown): Promise<EvaluationStatus> {
  const { runId, bucket, jobs, candidate } = parseInput(checkEvaluationInput, event, 'Check evaluation');
  const statuses: Partial<Record<JudgedModel, string>> = {};
  const failures: string[] = [];
  const models = startedModels(jobs);
  for (const model of models) {
    const ref = jobs[model];
    if (!ref) continue;
    const job = await bedrock.send(new GetEvaluationJobCommand({ jobIdentifier: ref.jobArn }));
    const status = job.status ?? 'Unknown';
    statuses[model] = status;
    if (ENDED_WITHOUT_RESULT.has(status)) {
      failures.push(`${model} job ${ref.jobName} ${status}: ${(job.failureMessages ?? []).join('; ') || 'no message'}`);
    }
  }
  const jobStatus = { ...statuses, student: statuses.student ?? 'Unknown', baseline: statuses.baseline ?? 'Unknown' };
  logger.info('evaluation job status', { jobStatus });
  if (failures.length > 0) {
    const stopped = await stopRunningJobs(jobs, jobStatus, candidate);
    return { status: 'Failed', failureMessage: failures.join(' | '), jobStatus, stopped };
  }
  if (!models.every((m) => statuses[m] === 'Completed')) {
    return { status: 'InProgress', failureMessage: '', jobStatus };
  }
  const outputs: Partial<Record<JudgedModel, JudgeOutput>> = {};
  for (const model of models) {
    const ref = jobs[model];
    if (ref) outputs[model] = await readJudgeOutput(bucket, runId, ref.jobName, judgeJobOwner(model, candidate));
  }
  const { student, baseline, incumbent } = outputs;
  if (!student || !baseline) throw new Error('the candidate and the baseline judge jobs must both have scores');
  const judge = {
    student: student.score,
    baseline: baseline.score,
    ...(incumbent ? { incumbent: incumbent.score } : {}),
  };
  const judgePaired = incumbent ? pairWithIncumbent(student, incumbent) : undefined;
  logger.info('judge scores', { judge, judgePaired });
  return { status: 'Completed', failureMessage: '', jobStatus, judge, ...(judgePaired ? { judgePaired } : {}) };
}

export const handler = /* @__PURE__ */ lambdaHandler(checkEvaluation);
