import { LABEL_BATCH_SIZE_CANDIDATES } from '../../core/batch-labelling';
import { usageOf } from '../../core/bedrock';
import {
  CALIBRATION_VERSION,
  calibrationKey,
  calibrationRow,
  chooseLabelBatchSize,
  parseCalibration,
  type CalibrationRecord,
  type CalibrationRow,
  type CalibrationThresholds,
} from './calibration';
import { calibrationQueries } from './calibration-queries';
import { mapWithConcurrency } from '../../core/concurrency';
import type { Weights } from '../../core/modality';
import { s3Uri, type RunStore } from '../../core/run-store';
import { chunked, labelBatch, noReasks } from '../../core/label-batch';
import type { ShardOptions } from './shard-generation';
import { labelQuery, type Converse } from '../../core/teacher-labelling';

/**
 * The calibration of a run, once: labels the calibration set one query per call (the reference) and in batches of
 * each candidate size — exactly as generation labels (labelQuery, labelBatch) — measures each size against the
 * reference (calibration.ts) and picks the batch size. Stored at `runs/<runId>/calibration.json` with a conditional
 * write: a retried or redriven step finds it and pays nothing again.
 */

export interface CalibrationOptions extends Pick<ShardOptions, 'teacherModelId' | 'includeReasoning'> {
  /** `auto` measures; a number is the configured size, used as it is with no teacher call. */
  readonly labelBatchSize: 'auto' | number;
  readonly thresholds: CalibrationThresholds;
  /** Teacher calls in flight (labelConcurrency). */
  readonly concurrency: number;
  readonly candidates?: readonly number[];
  readonly queries?: readonly string[];
}

export interface CalibrationDependencies {
  /** One Converse request; transient errors are retried below it (the SDK client's retry strategy). */
  readonly converse: Converse;
  readonly store: RunStore;
  readonly now?: () => Date;
}

export interface CalibrationOutcome {
  readonly key: string;
  /** True when the record was already stored (a retry or redrive): nothing was called. */
  readonly reused: boolean;
  readonly record: CalibrationRecord;
}

/** A Converse wrapper that counts the calls and tokens of one batch size. */
function metered(converse: Converse) {
  const usage = { calls: 0, inputTokens: 0, outputTokens: 0 };
  const call: Converse = async (input) => {
    const output = await converse(input);
    const tokens = usageOf(output);
    usage.calls++;
    usage.inputTokens += tokens.inputTokens;
    usage.outputTokens += tokens.outputTokens;
    return output;
  };
  return { usage, call };
}

/** mapWithConcurrency that starts nothing new once one call failed, and then throws that failure. */
async function allOrFirstError<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  let failure: { error: unknown } | undefined;
  const results = await mapWithConcurrency(items, limit, async (item) => {
    if (failure) return [];
    try {
      return [await fn(item)];
    } catch (error) {
      failure ??= { error };
      return [];
    }
  });
  if (failure) throw failure.error;
  return results.flat();
}

/** Calibrates the run's labelling (or returns the stored calibration); `syntheticShards` is the plan's shard count. */
export async function calibrateLabelling(
  runId: string,
  syntheticShards: number,
  options: CalibrationOptions,
  deps: CalibrationDependencies,
): Promise<CalibrationOutcome> {
  const key = calibrationKey(runId);
  const stored = await deps.store.read(key);
  if (stored !== undefined) {
    return { key, reused: true, record: parseCalibration(stored, s3Uri(deps.store.bucket, key)) };
  }
  const base = {
    calibrationVersion: CALIBRATION_VERSION,
    runId,
    createdAt: (deps.now?.() ?? new Date()).toISOString(),
  } as const;
  const notMeasured = (labelBatchSize: number, reason: string): CalibrationRecord => ({
    ...base,
    labelBatchSize,
    calibrated: false,
    reason,
    table: [],
    usage: { calls: 0, inputTokens: 0, outputTokens: 0 },
  });
  const record =
    options.labelBatchSize !== 'auto'
      ? notMeasured(
          options.labelBatchSize,
          `labelBatchSize is fixed at ${options.labelBatchSize} by the configuration: not calibrated`,
        )
      : syntheticShards === 0
        ? notMeasured(1, 'the plan asks the teacher for no query: nothing to calibrate')
        : await measure(base, options, deps.converse);

  if (await deps.store.writeOnce(key, JSON.stringify(record, null, 2) + '\n', 'application/json')) {
    return { key, reused: false, record };
  }
  // A racing attempt stored its calibration first: that one is the run's.
  const winner = await deps.store.read(key);
  if (winner === undefined)
    throw new Error(`${s3Uri(deps.store.bucket, key)} was reported as existing but cannot be read`);
  return { key, reused: true, record: parseCalibration(winner, s3Uri(deps.store.bucket, key)) };
}

async function measure(
  base: Pick<CalibrationRecord, 'calibrationVersion' | 'runId' | 'createdAt'>,
  options: CalibrationOptions,
  converse: Converse,
): Promise<CalibrationRecord> {
  const queries = options.queries ?? calibrationQueries();
  const candidates = [...new Set(options.candidates ?? LABEL_BATCH_SIZE_CANDIDATES)].filter((s) => s > 1);
  const singles = metered(converse);
  const referenceOutcomes = await allOrFirstError(queries, options.concurrency, (query) =>
    labelQuery(query, options, singles.call),
  );
  const reference = referenceOutcomes.map((o) => (o.ok ? o.example.weights : undefined));
  const table: CalibrationRow[] = [
    calibrationRow(reference, {
      size: 1,
      batchLabels: reference,
      labelled: reference.filter((w) => w !== undefined).length,
      reasked: noReasks(),
      ...singles.usage,
    }),
  ];
  const usage = { ...singles.usage };

  for (const size of candidates) {
    const sized = metered(converse);
    const batches = chunked(queries, size);
    const results = await allOrFirstError(batches, options.concurrency, (batch) =>
      labelBatch(batch, options, sized.call),
    );
    const batchLabels: (Weights | undefined)[] = [];
    const reasked = noReasks();
    let labelled = 0;
    for (const result of results) {
      const notAnswered = new Set(result.reasked.map((r) => r.index));
      for (const r of result.reasked) reasked[r.kind]++;
      result.outcomes.forEach((outcome, index) => {
        if (outcome.ok) labelled++;
        // Only what the batch reply itself answered measures batching (a batch of one is a single call).
        const fromBatch = result.batchCalls > 0 && !notAnswered.has(index) && outcome.ok;
        batchLabels.push(fromBatch ? outcome.example.weights : undefined);
      });
    }
    table.push(calibrationRow(reference, { size, batchLabels, labelled, reasked, ...sized.usage }));
    usage.calls += sized.usage.calls;
    usage.inputTokens += sized.usage.inputTokens;
    usage.outputTokens += sized.usage.outputTokens;
  }

  const choice = chooseLabelBatchSize(table, options.thresholds);
  return {
    ...base,
    labelBatchSize: choice.labelBatchSize,
    calibrated: true,
    reason: choice.reason,
    thresholds: { ...options.thresholds },
    table,
    usage,
  };
}
