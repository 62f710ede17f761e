import * as z from 'zod';
import { dominantModality, MODALITIES, type Weights } from '../../core/modality';
import { runKeys } from '../../core/runs';

/**
 * Calibrating batch labelling before a run spends on it: the teacher labels a fixed set of queries one per call (the
 * reference) and in batches of each candidate size; a size is good enough when its batch answers agree with the
 * reference on the dominant modality and their weights stay close. The run labels with the largest good size, or one
 * query per call when none is. This module only measures and decides (pure); calibrate-labelling.ts calls the teacher.
 */

export const CALIBRATION_VERSION = 'calibration-v1';

/** `runs/<runId>/calibration.json`: written once per run, so a retried step reuses it instead of paying again. */
export const calibrationKey = (runId: string) => runKeys(runId).calibration;

/**
 * A size measured on fewer reference-labelled queries says too little to be chosen: at 50, one disagreement moves the
 * agreement by 2 points.
 */
export const MIN_CALIBRATION_QUERIES = 50;

const reaskCounts = z.object({ missing: z.number().int(), duplicate: z.number().int(), unparsable: z.number().int() });

/** One row of the calibration table: a batch size against the single-query reference. */
export const calibrationRowSchema = z.object({
  /** Queries per call (1: the reference itself). */
  size: z.number().int().min(1),
  /** Calibration queries with a reference label: what agreement and error are measured on. */
  queries: z.number().int(),
  /** Teacher calls made for this size (batch calls plus re-asks; for 1, single calls and their retries). */
  calls: z.number().int(),
  /** Reference queries the batch reply itself answered with valid weights. */
  answered: z.number().int(),
  /** Queries the batch reply left without a usable answer, by why (re-asked on their own). */
  reasked: reaskCounts,
  /**
   * Share of the reference queries whose batch answer has the reference's dominant modality; a query the batch did not
   * answer counts as a disagreement (its re-ask is a single label, so it says nothing of batching).
   */
  agreement: z.number(),
  /** Mean over the answered queries of the mean absolute difference of the four weights; null when none answered. */
  meanAbsoluteError: z.number().nullable(),
  /** Teacher tokens per labelled calibration query (batch calls and re-asks together). */
  inputTokensPerQuery: z.number(),
  outputTokensPerQuery: z.number(),
});
export type CalibrationRow = z.output<typeof calibrationRowSchema>;

export interface CalibrationThresholds {
  /** calibrationMinAgreement */
  readonly minAgreement: number;
  /** calibrationMaxWeightError */
  readonly maxWeightError: number;
}

/** `runs/<runId>/calibration.json`, and `$.calibration` of the state (the Map hands `labelBatchSize` to each shard). */
export const calibrationRecordSchema = z.object({
  calibrationVersion: z.literal(CALIBRATION_VERSION),
  runId: z.string(),
  createdAt: z.string(),
  /** The batch size every shard of the run labels with. */
  labelBatchSize: z.number().int().min(1),
  /** True when the teacher was measured; false when the size was fixed by the config or nothing was planned. */
  calibrated: z.boolean(),
  /** Why this size, in a sentence. */
  reason: z.string(),
  thresholds: z.object({ minAgreement: z.number(), maxWeightError: z.number() }).optional(),
  /** Sizes measured, 1 (the reference) first; empty when not calibrated. */
  table: z.array(calibrationRowSchema),
  /** What calibrating cost (all sizes together). */
  usage: z.object({ calls: z.number().int(), inputTokens: z.number(), outputTokens: z.number() }),
});
export type CalibrationRecord = z.output<typeof calibrationRecordSchema>;

/** A size passes when it was measured on enough queries and both thresholds hold. */
export function passes(row: CalibrationRow, thresholds: CalibrationThresholds): boolean {
  return (
    row.size > 1 &&
    row.queries >= MIN_CALIBRATION_QUERIES &&
    row.agreement >= thresholds.minAgreement &&
    row.meanAbsoluteError !== null &&
    row.meanAbsoluteError <= thresholds.maxWeightError
  );
}

/**
 * The batch size to label with: the largest measured size that passes (agreement ≥ minAgreement and error ≤
 * maxWeightError on at least MIN_CALIBRATION_QUERIES), else 1 — one query per call, as without batching.
 */
export function chooseLabelBatchSize(
  table: readonly CalibrationRow[],
  thresholds: CalibrationThresholds,
): { readonly labelBatchSize: number; readonly reason: string } {
  const limits =
    `agreement ≥ ${thresholds.minAgreement} and mean weight error ≤ ${thresholds.maxWeightError}` +
    ` on ≥ ${MIN_CALIBRATION_QUERIES} queries`;
  const passing = table.filter((row) => passes(row, thresholds)).sort((a, b) => b.size - a.size);
  const best = passing[0];
  if (best) {
    return {
      labelBatchSize: best.size,
      reason:
        `${best.size} is the largest batch size with ${limits} (agreement ${round(best.agreement)}, error ` +
        `${round(best.meanAbsoluteError ?? 0)})`,
    };
  }
  const measured = table.filter((row) => row.size > 1);
  const why = measured
    .map((row) =>
      row.queries < MIN_CALIBRATION_QUERIES
        ? `${row.size}: only ${row.queries} reference queries`
        : `${row.size}: agreement ${round(row.agreement)}, error ${row.meanAbsoluteError === null ? 'none answered' : round(row.meanAbsoluteError)}`,
    )
    .join('; ');
  return {
    labelBatchSize: 1,
    reason: `no batch size met ${limits}${why ? ` (${why})` : ''}: one query per call`,
  };
}

const round = (x: number) => Number(x.toFixed(4));

/** Mean absolute difference of the four weights of two labels. */
export const weightError = (a: Weights, b: Weights): number =>
  MODALITIES.reduce((sum, m) => sum + Math.abs(a[m] - b[m]), 0) / MODALITIES.length;

/** What labelling the calibration set with one batch size gave, query by query (aligned with the reference). */
export interface BatchMeasurement {
  readonly size: number;
  /** Per calibration query: the weights the batch reply itself gave, undefined when it gave none usable. */
  readonly batchLabels: readonly (Weights | undefined)[];
  /** Per calibration query: labelled at all (by the batch or its re-ask). */
  readonly labelled: number;
  readonly reasked: z.output<typeof reaskCounts>;
  readonly calls: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
}

/**
 * A calibration row: `reference` holds the single-query label of each calibration query (undefined where even that
 * failed: the query is left out of the comparison).
 */
export function calibrationRow(
  reference: readonly (Weights | undefined)[],
  measured: BatchMeasurement,
): CalibrationRow {
  let queries = 0;
  let answered = 0;
  let agreeing = 0;
  let errorSum = 0;
  reference.forEach((expected, i) => {
    if (expected === undefined) return;
    queries++;
    const got = measured.batchLabels[i];
    if (got === undefined) return;
    answered++;
    if (dominantModality(got) === dominantModality(expected)) agreeing++;
    errorSum += weightError(got, expected);
  });
  const perQuery = (tokens: number) => (measured.labelled === 0 ? 0 : round(tokens / measured.labelled));
  return {
    size: measured.size,
    queries,
    calls: measured.calls,
    answered,
    reasked: measured.reasked,
    agreement: queries === 0 ? 0 : round(agreeing / queries),
    meanAbsoluteError: answered === 0 ? null : round(errorSum / answered),
    inputTokensPerQuery: perQuery(measured.inputTokens),
    outputTokensPerQuery: perQuery(measured.outputTokens),
  };
}

/** Parses a stored calibration.json; the error names the object. */
export function parseCalibration(text: string, where: string): CalibrationRecord {
  const parsed = calibrationRecordSchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`${where} is not a calibration record: ${parsed.error.message}`);
  return parsed.data;
}

/** What a manifest records of the run's calibration (Assemble copies it from calibration.json). */
export const manifestCalibrationSchema = z.object({
  labelBatchSize: z.number(),
  calibrated: z.boolean(),
  reason: z.string(),
  table: z.array(calibrationRowSchema),
});
export type ManifestCalibrationView = z.output<typeof manifestCalibrationSchema>;

/** The manifest's calibration, or undefined for runs before calibration (or a value of another shape). */
export function readManifestCalibration(value: unknown): ManifestCalibrationView | undefined {
  const parsed = manifestCalibrationSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}
