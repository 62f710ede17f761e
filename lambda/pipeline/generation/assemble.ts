import { S3Client } from '@aws-sdk/client-s3';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { assembleDataset, productionTestKey, type ProductionInput } from './assembly';
import {
  liveQueryKeysOf,
  manifestFilesSchema,
  trainKeysOf,
  writeOnceOrSame,
  type ManifestFiles,
} from './dataset-files';
import { incumbentInput, readIncumbentTraining } from './incumbent-training';
import { liveQueriesTagging } from './live-queries';
import { calibrationKey, parseCalibration } from './calibration';
import { mapWithConcurrency } from '../../core/concurrency';
import type { AssembleResult } from './result';
import { parseSelection } from './production-selection';
import { readExisting, s3RunStore, s3Uri, type RunStore } from '../../core/run-store';
import { runKeys } from '../../core/runs';
import { parseShardFile } from './shard-generation';
import { lambdaHandler, logger, metrics, parseInput, tracer } from '../../core/runtime';
import { ASSEMBLE_ENVIRONMENT } from './environment';
import { readPlan, runAndCountsInput } from './plan';

export { DatasetConflict } from './dataset-files';

/**
 * Assemble: reads every planned shard from S3 (a missing one is a failed Map iteration), enforces
 * minGenerationSuccessRate, dedupes, validates, rebalances on the teacher's labels, splits the held-out set, and writes
 * one training file per prompt version of the candidates (`dataset/train-<promptVersion>.jsonl`, TRAINING_PROMPT_VERSIONS),
 * `dataset/test.jsonl` and, last, `dataset/manifest.json` — each written once. A file that holds production queries is
 * written with the live-queries tag (it expires after productionDataRetentionDays). When the manifest
 * already exists (a retry or redrive after success) the stored result is returned. Input `{ runId }`; result at
 * `$.assemble` (AssembleResult, lambda/pipeline/generation/result.ts).
 *
 * A run from production reads the selection its plan names: those records come first, synthetic ones top up, and
 * the selection's held-out slice is written to `dataset/test-production.jsonl` (never to training). The run's
 * labelling calibration (`calibration.json`, when there is one) is recorded in the manifest.
 */

/** Shards read from S3 at once. */
const READ_CONCURRENCY = 16;

const s3 = tracer.captureAWSv3Client(new S3Client({}));

const resultOf = (manifest: ManifestFiles, bucket: string, manifestKey: string): AssembleResult => ({
  runId: manifest.runId,
  bucket,
  trainKey: manifest.files.train.key,
  trainKeys: trainKeysOf(manifest),
  testKey: manifest.files.test.key,
  manifestKey,
  trainCount: manifest.files.train.records,
  testCount: manifest.files.test.records,
  ...(manifest.promptVersions['student'] ? { studentPromptVersion: manifest.promptVersions['student'] } : {}),
  ...(manifest.files.productionTest
    ? {
        productionTestKey: manifest.files.productionTest.key,
        productionTestCount: manifest.files.productionTest.records,
      }
    : {}),
  liveQueryKeys: liveQueryKeysOf(manifest),
});

/** `$.preflight.incumbent` beside the run and counts: whose training queries the held-out draws leave out. */
const assembleInput = runAndCountsInput.extend({ incumbent: incumbentInput });

export async function assemble(event: unknown, store?: RunStore, now?: () => Date): Promise<AssembleResult> {
  const env = ASSEMBLE_ENVIRONMENT.read(process.env);
  const { runId, incumbent, ...counts } = parseInput(assembleInput, event, 'Assemble');
  const runStore = store ?? s3RunStore(s3, env.bucketName);
  const keys = runKeys(runId);

  const existing = await runStore.read(keys.manifest);
  if (existing !== undefined) {
    logger.info('dataset already assembled: returning the stored result', { manifest: keys.manifest });
    return resultOf(manifestFilesSchema.parse(JSON.parse(existing)), runStore.bucket, keys.manifest);
  }

  const plan = await readPlan(runStore, runId);
  const shards = await mapWithConcurrency(plan.shards, READ_CONCURRENCY, async (spec) => {
    const key = keys.shard(spec.index);
    const text = await runStore.read(key);
    return {
      index: spec.index,
      planned: spec.count,
      ...(text === undefined ? {} : { content: parseShardFile(text, key) }),
    };
  });
  const production = plan.production ? await productionInput(runStore, plan.production.selectionKey) : undefined;
  // Runs started before calibration existed have no calibration file: their manifest simply has no calibration.
  const calibrationText = await runStore.read(calibrationKey(runId));
  const calibration =
    calibrationText === undefined
      ? undefined
      : parseCalibration(calibrationText, s3Uri(runStore.bucket, calibrationKey(runId)));
  const dataset = assembleDataset({
    runId,
    shards,
    targetRecords: plan.targetRecords,
    plannedQueries: plan.plannedQueries,
    exampleCount: counts.exampleCount ?? env.exampleCount,
    testExampleCount: counts.testExampleCount ?? env.testExampleCount,
    minGenerationSuccessRate: env.minGenerationSuccessRate,
    teacherModelId: env.teacherModelId,
    priceTable: env.priceTable,
    includeReasoning: env.includeReasoning,
    keys: { ...keys, productionTest: productionTestKey(runId) },
    trainingPromptVersions: env.trainingPromptVersions,
    ...(production ? { production } : {}),
    ...(calibration ? { calibration } : {}),
    ...(incumbent?.present ? { incumbent: await readIncumbentTraining(runStore, incumbent.runId) } : {}),
    ...(now ? { now } : {}),
  });

  // Copies of live queries carry the tag that expires them with production/records/ (productionDataRetentionDays).
  const live = new Set(liveQueryKeysOf(dataset.manifest));
  const tagging = (key: string) => liveQueriesTagging(live.has(key));
  for (const file of dataset.trainingFiles) await writeOnceOrSame(runStore, file.key, file.text, tagging(file.key));
  await writeOnceOrSame(runStore, keys.test, dataset.testText, tagging(keys.test));
  if (dataset.productionTestText !== undefined) {
    const key = productionTestKey(runId);
    await writeOnceOrSame(runStore, key, dataset.productionTestText, tagging(key));
  }
  // The manifest goes last: its presence means the whole dataset is written.
  await runStore.writeOnce(keys.manifest, JSON.stringify(dataset.manifest, null, 2) + '\n', 'application/json');

  const { manifest } = dataset;
  logger.info('dataset assembled', {
    counts: manifest.counts,
    dropped: manifest.droppedByReason,
    teacher: manifest.teacher,
  });
  metrics.addMetric('TrainRecords', MetricUnit.Count, manifest.counts.train.total);
  metrics.addMetric('TestRecords', MetricUnit.Count, manifest.counts.test.total);
  metrics.addMetric('GenerationSuccessRate', MetricUnit.Percent, manifest.generation.successRate * 100);
  return resultOf(manifest, runStore.bucket, keys.manifest);
}

/** The production records Plan selected for the run (stored once, so every attempt assembles the same ones). */
async function productionInput(store: RunStore, key: string): Promise<ProductionInput> {
  const text = await readExisting(store, key, 'the Plan step writes it for a run from production');
  const { summary, records } = parseSelection(text, s3Uri(store.bucket, key));
  return {
    records,
    since: summary.since,
    until: summary.until,
    selectionKey: key,
    considered: summary.considered,
    invalid: Object.values(summary.invalid).reduce((n, v) => n + v, 0),
    duplicates: summary.duplicates,
  };
}

export const handler = /* @__PURE__ */ lambdaHandler(assemble, { metrics: true });
