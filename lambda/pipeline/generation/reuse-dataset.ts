import { S3Client } from '@aws-sdk/client-s3';
import * as z from 'zod';
import type { AssembleResult } from './result';
import { recordFormat, recordParts, type ConversationRecord } from '../../core/dataset-record';
import { HELD_OUT_LIMITS, validateDataset } from '../../core/dataset-validator';
import { readExisting, s3RunStore, s3Uri, type RunStore } from '../../core/run-store';
import { RUN_ID_PATTERN, runKeys } from '../../core/runs';
import { lambdaHandler, logger, parseInput, tracer } from '../../core/runtime';
import type { IncumbentExclusion } from './dataset-manifest';
import {
  liveQueryKeysOf,
  manifestFilesSchema,
  trainKeysOf,
  writeOnceOrSame,
  type ManifestFiles,
} from './dataset-files';
import { InvalidDataset } from './dataset-split';
import { REUSE_DATASET_ENVIRONMENT } from './environment';
import { incumbentInput, readIncumbentTraining } from './incumbent-training';
import { liveQueriesTagging } from './live-queries';
import { normalisedQuery } from './query-writing';
import { REUSE_RECORD_VERSION, reuseRecordKey, type ReuseRecord } from './reuse-record';
import { promptVersionOfRecord, trainingExamples, trainingFiles } from './training-files';

const s3 = tracer.captureAWSv3Client(new S3Client({}));

export const reuseDatasetInput = z.object({
  runId: z.string().min(1),
  reuseDatasetFromRun: z
    .string()
    .regex(RUN_ID_PATTERN, 'must be the id of an earlier run (1-40 lowercase letters, digits and single dashes)'),
  /** `$.preflight.incumbent`: its training queries are removed from the reused held-out sets. */
  incumbent: incumbentInput,
});

export type ReuseDatasetResult = AssembleResult & {
  readonly reusedFromRun: string;
  /** `runs/<runId>/dataset/reuse.json`: what this run trains and is judged on (ReuseRecord). */
  readonly reuseRecordKey: string;
  /** How many reused held-out records the incumbent trained on (absent without an incumbent). */
  readonly incumbentExclusion?: IncumbentExclusion;
};

const lines = (jsonl: string) => jsonl.split('\n').filter((l) => l.trim() !== '');

const firstRecord = (jsonl: string): ConversationRecord | undefined => {
  const first = lines(jsonl)[0];
  if (first === undefined) return undefined;
  try {
    return JSON.parse(first) as ConversationRecord;
  } catch {
    return undefined; // not JSON: Evaluate (held-out) or the rendering (training) reports the line
  }
};

/**
 * The student prompt version of a reused dataset, told by its first record's system prompt: a dataset written before
 * a newer format keeps being asked in its own. Nothing when the first record cannot say.
 */
function studentPromptVersionOf(jsonl: string): { studentPromptVersion?: string } {
  const record = firstRecord(jsonl);
  const format = record && Array.isArray(record.system) ? recordFormat(record) : undefined;
  return format ? { studentPromptVersion: format.promptVersion } : {};
}

/** A reused held-out file without the records whose (normalised) query the incumbent trained on. */
function withoutIncumbentQueries(jsonl: string, trained: ReadonlySet<string>) {
  const kept = lines(jsonl).filter((line) => {
    try {
      return !trained.has(normalisedQuery(recordParts(JSON.parse(line) as ConversationRecord).query));
    } catch {
      return true; // not a record: Evaluate reports it with its position
    }
  });
  return { text: kept.length > 0 ? `${kept.join('\n')}\n` : '', records: kept.length };
}

/**
 * Stands in for generation and Assemble when the execution input names an earlier run's dataset
 * (`{"reuseDatasetFromRun": "<runId>"}`) and returns the AssembleResult Assemble would. The earlier run's files are
 * only read; this run writes under its own prefix only what differs:
 *
 * - a training file for each prompt version of TRAINING_PROMPT_VERSIONS the earlier run has none in (the same queries
 *   and labels, that version's system prompt), validated;
 * - with an incumbent, the held-out file(s) without the queries the incumbent trained on (read from the dataset it
 *   actually trained on: issue 19), when there are any: judged on them, the incumbent would look better than it is;
 * - `dataset/reuse.json` (ReuseRecord): the files, what was removed, which hold live queries.
 *
 * A file that holds production queries is written with the live-queries tag, as Assemble writes them.
 */
export async function reuseDataset(event: unknown, store?: RunStore): Promise<ReuseDatasetResult> {
  const { runId, reuseDatasetFromRun, incumbent } = parseInput(reuseDatasetInput, event, 'Reuse dataset');
  const env = REUSE_DATASET_ENVIRONMENT.read(process.env);
  const runStore = store ?? s3RunStore(s3, env.bucketName);
  const { bucket } = runStore;
  const source = runKeys(reuseDatasetFromRun);
  const keys = runKeys(runId);
  const read = (key: string) =>
    readExisting(
      runStore,
      key,
      'name a run whose Assemble step completed',
      `reuseDatasetFromRun "${reuseDatasetFromRun}"`,
    );

  // A run assembled since manifests listed every file names them; an older one has train.jsonl and test.jsonl.
  const manifestText = await runStore.read(source.manifest);
  const manifest: ManifestFiles | undefined =
    manifestText === undefined ? undefined : manifestFilesSchema.parse(JSON.parse(manifestText));
  const sourceLive = new Set(manifest ? liveQueryKeysOf(manifest) : []);
  const firstTrainKey = manifest?.files.train.key ?? source.train;
  const [trainText, testText] = await Promise.all([read(firstTrainKey), read(manifest?.files.test.key ?? source.test)]);
  const sourceTrainKeys: Record<string, string> = manifest
    ? trainKeysOf(manifest)
    : { [promptVersionOfRecordText(trainText)]: firstTrainKey };
  const trainLive = Object.values(sourceTrainKeys).some((k) => sourceLive.has(k));

  // Training files: the earlier run's where it has the version, else written here from its first one.
  const missing = env.trainingPromptVersions.filter((v) => sourceTrainKeys[v] === undefined);
  const rendered =
    missing.length === 0
      ? []
      : trainingFiles(trainingExamples(trainText, s3Uri(bucket, firstTrainKey)), missing, keys.trainFor);
  for (const file of rendered) {
    await writeOnceOrSame(runStore, file.key, file.text, liveQueriesTagging(trainLive));
  }
  const trainingFileList = [...new Set(env.trainingPromptVersions)].map((promptVersion) => {
    const own = rendered.find((f) => f.promptVersion === promptVersion);
    return own
      ? { promptVersion, key: own.key, records: own.records, origin: 'rendered' as const }
      : {
          promptVersion,
          key: sourceTrainKeys[promptVersion] ?? '',
          records: lines(trainText).length,
          origin: 'reused' as const,
        };
  });

  // Held-out files: the earlier run's, or this run's copy without the incumbent's training queries.
  const trained = incumbent?.present ? await readIncumbentTraining(runStore, incumbent.runId) : undefined;
  const heldOut = async (sourceKey: string, text: string, ownKey: string) => {
    const filtered = trained ? withoutIncumbentQueries(text, trained.queries) : { text, records: lines(text).length };
    const removedIncumbentTrained = lines(text).length - filtered.records;
    if (removedIncumbentTrained === 0)
      return { key: sourceKey, records: filtered.records, sourceKey, removedIncumbentTrained };
    const validation = validateDataset(filtered.text, HELD_OUT_LIMITS);
    if (!validation.ok) {
      throw new InvalidDataset(
        `${s3Uri(bucket, sourceKey)} without the ${removedIncumbentTrained} queries the incumbent (run ` +
          `${incumbent?.present ? incumbent.runId : ''}) trained on breaks the dataset validator: ${validation.rule}: ` +
          `${validation.message}. Reuse the dataset of another run, or start a run that generates one.`,
      );
    }
    await writeOnceOrSame(runStore, ownKey, filtered.text, liveQueriesTagging(sourceLive.has(sourceKey)));
    return { key: ownKey, records: filtered.records, sourceKey, removedIncumbentTrained };
  };
  const test = await heldOut(manifest?.files.test.key ?? source.test, testText, keys.test);
  const productionSourceKey = manifest?.files.productionTest?.key;
  const productionTest =
    productionSourceKey === undefined
      ? undefined
      : await heldOut(productionSourceKey, await read(productionSourceKey), keys.productionTest);

  const incumbentExclusion: IncumbentExclusion | undefined = trained && {
    runId: trained.runId,
    trainingQueries: trained.queries.size,
    ...(trained.trainKey ? { trainingFile: trained.trainKey } : {}),
    excludedFromTest: test.removedIncumbentTrained,
    excludedFromProductionHeldOut: productionTest?.removedIncumbentTrained ?? 0,
    ...(trained.note ? { note: trained.note } : {}),
  };
  const liveQueryKeys = [
    ...trainingFileList.filter((f) => (f.origin === 'rendered' ? trainLive : sourceLive.has(f.key))).map((f) => f.key),
    ...[test, ...(productionTest ? [productionTest] : [])].filter((f) => sourceLive.has(f.sourceKey)).map((f) => f.key),
  ];
  const trainKeys = Object.fromEntries(trainingFileList.map((f) => [f.promptVersion, f.key]));
  const trainKey = trainingFileList[0]?.key ?? firstTrainKey;
  const record: ReuseRecord = {
    recordVersion: REUSE_RECORD_VERSION,
    runId,
    reusedFromRun: reuseDatasetFromRun,
    trainKey,
    trainingFiles: trainingFileList,
    heldOut: { test, ...(productionTest ? { productionTest } : {}) },
    ...(incumbentExclusion ? { incumbentExclusion } : {}),
    liveQueryKeys,
  };
  const recordKey = reuseRecordKey(runId);
  await writeOnceOrSame(runStore, recordKey, `${JSON.stringify(record, null, 2)}\n`, undefined, 'application/json');

  const result: ReuseDatasetResult = {
    runId,
    bucket,
    trainKey,
    trainKeys,
    testKey: test.key,
    // The earlier run's manifest describes the dataset (the report shows it); reuse.json what this run changed.
    manifestKey: source.manifest,
    trainCount: lines(trainText).length,
    testCount: test.records,
    ...studentPromptVersionOf(testText),
    ...(productionTest ? { productionTestKey: productionTest.key, productionTestCount: productionTest.records } : {}),
    liveQueryKeys,
    reusedFromRun: reuseDatasetFromRun,
    reuseRecordKey: recordKey,
    ...(incumbentExclusion ? { incumbentExclusion } : {}),
  };
  logger.info('reusing the dataset of an earlier run', { ...result });
  return result;
}

/** The prompt version of a training file without a manifest, told by its first record ('' when it cannot say). */
function promptVersionOfRecordText(jsonl: string): string {
  const record = firstRecord(jsonl);
  return (record && Array.isArray(record.system) && promptVersionOfRecord(record)) || '';
}

export const handler = /* @__PURE__ */ lambdaHandler(reuseDataset);
