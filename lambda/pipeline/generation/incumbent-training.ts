import * as z from 'zod';
import { recordParts, type ConversationRecord } from '../../core/dataset-record';
import { s3Uri, type RunStore } from '../../core/run-store';
import { runKeys } from '../../core/runs';
import { logger } from '../../core/runtime';
import type { IncumbentTraining } from './assembly';
import { normalisedQuery } from './query-writing';
import { reuseRecordKey, reuseRecordSchema } from './reuse-record';

/**
 * The incumbent's training queries, which neither held-out set may hold (issue 19: judged on queries it trained on,
 * the incumbent would look better than it is). Assemble and Reuse dataset read them the same way.
 */

/** `$.preflight.incumbent` as Assemble and Reuse dataset receive it: the run that trained the promoted student. */
export const incumbentInput = z
  .discriminatedUnion('present', [
    z.object({ present: z.literal(true), runId: z.string() }),
    z.object({ present: z.literal(false) }),
  ])
  .optional();

const manifestTrainKey = z.object({ files: z.object({ train: z.object({ key: z.string() }) }) });
const reportTrainKey = z.object({ dataset: z.object({ trainKey: z.string() }) });

/** The first of `parse(text)` that succeeds for an object that exists, with the key it came from. */
async function trainKeyFrom(
  store: RunStore,
  key: string,
  parse: (value: unknown) => string | undefined,
): Promise<string | undefined> {
  const text = await store.read(key);
  if (text === undefined) return undefined;
  try {
    return parse(JSON.parse(text));
  } catch {
    return undefined;
  }
}

/**
 * Where the incumbent's run found its training file: its own manifest (it assembled a dataset), else its reuse record
 * (it reused one: the file it actually trained on, under the reused run or its own prefix), else its report (runs that
 * reused a dataset before reuse records existed name their training file there).
 */
async function incumbentTrainKey(store: RunStore, runId: string): Promise<string | undefined> {
  const keys = runKeys(runId);
  return (
    (await trainKeyFrom(store, keys.manifest, (v) => manifestTrainKey.safeParse(v).data?.files.train.key)) ??
    (await trainKeyFrom(store, reuseRecordKey(runId), (v) => reuseRecordSchema.safeParse(v).data?.trainKey)) ??
    (await trainKeyFrom(store, keys.reportJson, (v) => reportTrainKey.safeParse(v).data?.dataset.trainKey))
  );
}

/**
 * The incumbent's training queries, normalised as deduplication normalises them. When its training file cannot be
 * found, nothing is excluded and `note` says why (the gate still compares, on a possibly favourable held-out set).
 */
export async function readIncumbentTraining(store: RunStore, runId: string): Promise<IncumbentTraining> {
  const trainKey = await incumbentTrainKey(store, runId);
  const trainText = trainKey === undefined ? undefined : await store.read(trainKey);
  if (trainKey === undefined || trainText === undefined) {
    const looked = trainKey ?? `${runKeys(runId).manifest}, ${reuseRecordKey(runId)} or ${runKeys(runId).reportJson}`;
    const note =
      `the incumbent's training set was not found (${trainKey ? s3Uri(store.bucket, trainKey) : looked}: ` +
      'expired or deleted): nothing was excluded from the held-out sets';
    logger.warn(note);
    return { runId, queries: new Set(), note };
  }
  const queries = new Set(
    trainText
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => normalisedQuery(recordParts(JSON.parse(line) as ConversationRecord).query)),
  );
  return { runId, queries, trainKey };
}
