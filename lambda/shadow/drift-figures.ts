import { MODALITIES, modalityRecord, type Modality } from '../core/modality';

/**
 * Drift of live traffic against a baseline (DriftBaseline below: the live mix the promoted run was trained on), as
 * one number: the Jensen–Shannon divergence (base 2) of the two dominant-modality distributions. Chosen over the population stability index because it is bounded
 * (0 = identical, 1 = disjoint, so one threshold means the same for every run), symmetric, and defined when a bin is
 * empty (a modality absent from a small window): PSI divides by each share and takes its log, so an empty bin makes
 * it infinite unless an arbitrary epsilon is added, and its size then depends on that epsilon.
 */

export type Distribution = Readonly<Record<Modality, number>>;

/** Counts (or shares) scaled to sum to 1; undefined when they sum to 0 (no data: nothing to compare). */
export function normalise(counts: Distribution): Distribution | undefined {
  for (const m of MODALITIES) {
    const v = counts[m];
    if (!Number.isFinite(v) || v < 0) throw new RangeError(`"${m}" must be a finite count >= 0, got ${v}`);
  }
  const total = MODALITIES.reduce((s, m) => s + counts[m], 0);
  if (!(total > 0)) return undefined;
  return modalityRecord((m) => counts[m] / total);
}

/** Σ p·log2(p/m) over the bins where p > 0 (an empty bin contributes 0: p·log p → 0). */
function klToMixture(p: Distribution, mixture: Distribution): number {
  let sum = 0;
  for (const m of MODALITIES) if (p[m] > 0) sum += p[m] * Math.log2(p[m] / mixture[m]);
  return sum;
}

/**
 * Jensen–Shannon divergence in bits between two distributions given as counts or shares (each is normalised first):
 * ½·KL(P‖M) + ½·KL(Q‖M) with M = ½(P+Q). In [0, 1]; undefined when either side has no data.
 */
export function jensenShannon(p: Distribution, q: Distribution): number | undefined {
  const [a, b] = [normalise(p), normalise(q)];
  if (!a || !b) return undefined;
  const mixture = modalityRecord((m) => (a[m] + b[m]) / 2);
  const js = 0.5 * klToMixture(a, mixture) + 0.5 * klToMixture(b, mixture);
  // Float rounding can leave a hair below 0 or above 1.
  return Math.min(1, Math.max(0, js));
}

/** How many times each modality is dominant in `dominants`. */
export function countDominants(dominants: Iterable<Modality>): Record<Modality, number> {
  const counts = modalityRecord(() => 0);
  for (const d of dominants) counts[d] += 1;
  return counts;
}

/** Hours of live traffic one drift figure covers: long enough for a few hundred samples at the default rate. */
export const DRIFT_WINDOW_HOURS = 24;

export interface DriftFigure {
  /** Jensen–Shannon divergence (bits) of live dominant modalities against the baseline; undefined without data. */
  readonly divergence?: number;
  /** Teacher-labelled live samples in the window. */
  readonly samples: number;
  readonly live: Readonly<Record<Modality, number>>;
}

/** The drift of a window's teacher labels (their dominant modalities) against baseline counts or shares. */
export function driftOf(trainShares: Distribution | undefined, liveDominants: Iterable<Modality>): DriftFigure {
  const live = countDominants(liveDominants);
  const samples = MODALITIES.reduce((s, m) => s + live[m], 0);
  const divergence = trainShares ? jensenShannon(live, trainShares) : undefined;
  return { ...(divergence === undefined ? {} : { divergence }), samples, live };
}

/**
 * What drift is measured against: what live traffic looked like when the promoted model was trained. Never the run's
 * training set itself — Assemble forces that to an even mix (25 % ± 2 per modality), so a steady but skewed live mix
 * would read as drift forever.
 * - `production-selection`: the run learned from production; the dominant-modality counts of the production records
 *   its Plan selected (runs/<runId>/production/selection.jsonl, line 1 `byModality.selected`) — the live mix of its
 *   days, when the selection kept every record of them (`overMax` 0; a capped selection is evened out by modality
 *   and is not the live mix, so such a run falls back to the first window).
 * - `first-window`: a synthetic-only run (or a capped selection): the first full DRIFT_WINDOW_HOURS window after
 *   promotedAt with enough samples, stored once under production/drift-baseline/<runId>.json.
 */
export type DriftBaselineKind = 'production-selection' | 'first-window';

export interface DriftBaseline {
  readonly kind: DriftBaselineKind;
  readonly runId: string;
  /** Dominant-modality counts of the baseline's records. */
  readonly counts: Distribution;
  readonly samples: number;
  /** Where it comes from: the selection's key and days, or the window's start and end. */
  readonly source: string;
}

export const DRIFT_BASELINE_PREFIX = 'production/drift-baseline/';
export const driftBaselineKey = (runId: string): string => `${DRIFT_BASELINE_PREFIX}${runId}.json`;

/** The drift of a window's teacher labels against a baseline (undefined: not measured yet), with its kind. */
export function driftAgainst(
  baseline: DriftBaseline | undefined,
  liveDominants: Iterable<Modality>,
): DriftFigure & { readonly baseline?: DriftBaselineKind } {
  const figure = driftOf(baseline?.counts, liveDominants);
  return baseline ? { ...figure, baseline: baseline.kind } : figure;
}
