import { S3Client } from '@aws-sdk/client-s3';
import * as z from 'zod';
import type { AssembleResult } from './result';
import { recordFormat, type ConversationRecord } from '../../core/dataset-record';
import { readExisting, s3RunStore } from '../../core/run-store';
import { RUN_ID_PATTERN, runKeys } from '../../core/runs';
import { lambdaHandler, logger, parseInput, tracer } from '../../core/runtime';
import { REUSE_DATASET_ENVIRONMENT } from './environment';

const s3 = tracer.captureAWSv3Client(new S3Client({}));

export const reuseDatasetInput = z.object({
  runId: z.string().min(1),
  reuseDatasetFromRun: z
    .string()
    .regex(RUN_ID_PATTERN, 'must be the id of an earlier run (1-40 lowercase letters, digits and single dashes)'),
});

const countRecords = (jsonl: string) => jsonl.split('\n').filter((l) => l.trim() !== '').length;

/**
 * The student prompt version of a reused dataset, told by its first record's system prompt: a dataset written before
 * a newer format keeps training (and being asked) in its own. Nothing when the first record cannot say.
 */
function studentPromptVersionOf(jsonl: string): { studentPromptVersion?: string } {
  const first = jsonl.split('\n').find((l) => l.trim() !== '');
  if (first === undefined) return {};
  try {
    const format = recordFormat(JSON.parse(first) as ConversationRecord);
    return format ? { studentPromptVersion: format.promptVersion } : {};
  } catch {
    return {}; // not JSON: Evaluate reports the line with its position
  }
}

/**
 * Stands in for generation and Assemble when the execution input names an earlier run's dataset
 * (`{"reuseDatasetFromRun": "<runId>"}`): checks that run's train and test files exist and returns the same
 * AssembleResult Assemble would, pointing at them. Nothing is copied; the earlier run's files are only read.
 */
export async function reuseDataset(event: unknown): Promise<AssembleResult & { reusedFromRun: string }> {
  const { runId, reuseDatasetFromRun } = parseInput(reuseDatasetInput, event, 'Reuse dataset');
  const { bucketName: bucket } = REUSE_DATASET_ENVIRONMENT.read(process.env);
  const store = s3RunStore(s3, bucket);
  const source = runKeys(reuseDatasetFromRun);
  const read = (key: string) =>
    readExisting(
      store,
      key,
      'name a run whose Assemble step completed',
      `reuseDatasetFromRun "${reuseDatasetFromRun}"`,
    );
  const [train, test] = await Promise.all([read(source.train), read(source.test)]);
  const result = {
    runId,
    bucket,
    trainKey: source.train,
    testKey: source.test,
    manifestKey: source.manifest,
    trainCount: countRecords(train),
    testCount: countRecords(test),
    ...studentPromptVersionOf(test),
    reusedFromRun: reuseDatasetFromRun,
  };
  logger.info('reusing the dataset of an earlier run', result);
  return result;
}

export const handler = /* @__PURE__ */ lambdaHandler(reuseDataset);
