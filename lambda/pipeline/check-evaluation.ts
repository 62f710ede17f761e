import { BedrockClient, GetEvaluationJobCommand, StopEvaluationJobCommand } from '@aws-sdk/client-bedrock';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { evaluationKeys, JUDGE_METRIC_NAME, parseJudgeScores, type JudgeScore } from '../shared/evaluation';
import { EVALUATED_MODELS, type EvaluatedModel } from '../shared/job-names';
import { readExisting, s3RunStore, s3Uri } from '../shared/run-store';
import type { EvaluationStatus } from '../shared/training-contracts';
import { logger, parseInput, tracer } from './common';

const bedrock = tracer.captureAWSv3Client(new BedrockClient({}));
const s3 = tracer.captureAWSv3Client(new S3Client({}));

const jobRef = z.object({ jobName: z.string().min(1), jobArn: z.string().min(1) });
export const checkEvaluationInput = z.object({
  runId: z.string().min(1),
  bucket: z.string().min(1),
  jobs: z.object({ student: jobRef, baseline: jobRef }),
});

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

/** The judge's mean score of one job, read from the JSONL files under `<output>/<jobName>/` (listed, not guessed). */
export async function readJudgeScore(bucket: string, runId: string, jobName: string): Promise<JudgeScore> {
  const prefix = `${evaluationKeys(runId).outputPrefix}${jobName}/`;
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
  return parseJudgeScores(files, JUDGE_METRIC_NAME);
}

/**
 * Stops the judge jobs still InProgress once the evaluation has failed: the run fails anyway and their results would
 * never be read. Best effort — a job that cannot be stopped is logged, and the run still fails with the real cause.
 */
async function stopRunningJobs(
  jobs: Readonly<Record<EvaluatedModel, { jobName: string; jobArn: string }>>,
  jobStatus: Readonly<Record<EvaluatedModel, string>>,
): Promise<EvaluatedModel[]> {
  const stopped: EvaluatedModel[] = [];
  for (const model of EVALUATED_MODELS) {
    if (jobStatus[model] !== 'InProgress') continue;
    try {
      await bedrock.send(new StopEvaluationJobCommand({ jobIdentifier: jobs[model].jobArn }));
      stopped.push(model);
      logger.info('stopped the judge job that was still running', { model, jobArn: jobs[model].jobArn });
    } catch (error) {
      logger.warn('could not stop the judge job that was still running', {
        model,
        jobArn: jobs[model].jobArn,
        error,
      });
    }
  }
  return stopped;
}

/**
 * Polls both judge jobs: Failed as soon as one ended without a result (with its failure messages; the other job is
 * stopped if it still runs), Completed with the judge's mean score per model once both completed, InProgress
 * otherwise.
 */
export async function checkEvaluation(event: unknown): Promise<EvaluationStatus> {
  const { runId, bucket, jobs } = parseInput(checkEvaluationInput, event, 'Check evaluation');
  const jobStatus = {} as Record<EvaluatedModel, string>;
  const failures: string[] = [];
  for (const model of EVALUATED_MODELS) {
    const job = await bedrock.send(new GetEvaluationJobCommand({ jobIdentifier: jobs[model].jobArn }));
    const status = job.status ?? 'Unknown';
    jobStatus[model] = status;
    if (ENDED_WITHOUT_RESULT.has(status)) {
      failures.push(
        `${model} job ${jobs[model].jobName} ${status}: ${(job.failureMessages ?? []).join('; ') || 'no message'}`,
      );
    }
  }
  logger.info('evaluation job status', { jobStatus });
  if (failures.length > 0) {
    const stopped = await stopRunningJobs(jobs, jobStatus);
    return { status: 'Failed', failureMessage: failures.join(' | '), jobStatus, stopped };
  }
  if (!EVALUATED_MODELS.every((m) => jobStatus[m] === 'Completed')) {
    return { status: 'InProgress', failureMessage: '', jobStatus };
  }
  const judge = {} as Record<EvaluatedModel, JudgeScore>;
  for (const model of EVALUATED_MODELS) judge[model] = await readJudgeScore(bucket, runId, jobs[model].jobName);
  logger.info('judge scores', { judge });
  return { status: 'Completed', failureMessage: '', jobStatus, judge };
}

export const handler = checkEvaluation;
