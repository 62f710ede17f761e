/**
 * Paired comparisons of two models answered on the same held-out queries: is the candidate not worse than the other
 * model (the incumbent), worse, or can these queries not tell? Pure and deterministic (the bootstrap draws from a
 * seeded generator), so a retried Gate decides the same way.
 *
 * Every comparison is one-sided at `confidence` and is about the drop, the other model's figure minus the candidate's
 * (oriented so that a positive drop means the candidate is worse), against a non-inferiority `margin`:
 *
 * - **not worse** (pass): the upper confidence bound of the drop is at most the margin;
 * - **worse** (fail): the drop is significant (above 0 at `confidence`) and the observed drop exceeds the margin;
 * - **inconclusive**: neither, with the number of paired queries that would decide at the observed effect and spread
 *   (a normal approximation: `z² · s² / (margin − drop)²` to show "not worse", `z² · s² / drop²` to show "worse").
 *
 * Dominant agreement uses McNemar's test on the discordant pairs (exact binomial, so small counts are exact) and the
 * paired-proportion bound `d + z·√((π − d²)/n)`, π the discordant share; per-query differences of a continuous figure
 * (weight error, judge scores) use a paired bootstrap of the mean difference.
 */

export type PairedVerdict = 'not-worse' | 'worse' | 'inconclusive';

export interface PairedComparison {
  readonly test: 'mcnemar-exact' | 'paired-bootstrap';
  /** Paired queries compared. */
  readonly queries: number;
  /** The other model's figure minus the candidate's, oriented so that positive means the candidate is worse. */
  readonly observedDrop: number;
  /** One-sided upper confidence bound of the drop. */
  readonly upperBound: number;
  /** One-sided p-value of "the candidate is worse" (drop > 0). */
  readonly pValue: number;
  readonly margin: number;
  readonly confidence: number;
  readonly verdict: PairedVerdict;
  /** When inconclusive: paired queries that would decide at the observed effect (null: no effect to measure). */
  readonly queriesToDecide: number | null;
  /** McNemar only: queries only the candidate / only the other model got right. */
  readonly discordant?: { readonly candidateOnly: number; readonly otherOnly: number };
}

export interface PairedOptions {
  /** One-sided confidence, in (0.5, 1). */
  readonly confidence: number;
  /** Non-inferiority margin: the largest drop that still counts as "not worse" (≥ 0). */
  readonly margin: number;
}

const round = (x: number) => Math.round(x * 1e9) / 1e9;

function checkOptions({ confidence, margin }: PairedOptions) {
  if (!(confidence > 0.5 && confidence < 1)) throw new RangeError(`confidence ${confidence} must be in (0.5, 1)`);
  if (!(margin >= 0)) throw new RangeError(`margin ${margin} must be at least 0`);
}

/** ln(k!) for k = 0…n. */
function logFactorials(n: number): number[] {
  const out = [0];
  for (let k = 1; k <= n; k++) out.push((out[k - 1] ?? 0) + Math.log(k));
  return out;
}

/** P(X ≥ k) for X ~ Binomial(n, 1/2), exact (summed in log space: no overflow for thousands of trials). */
export function binomialUpperTail(k: number, n: number): number {
  if (!Number.isInteger(k) || !Number.isInteger(n) || n < 0) throw new RangeError(`invalid binomial tail ${k} of ${n}`);
  if (k <= 0) return 1;
  if (k > n) return 0;
  const lf = logFactorials(n);
  const ln2n = n * Math.LN2;
  let p = 0;
  for (let i = k; i <= n; i++) p += Math.exp((lf[n] ?? 0) - (lf[i] ?? 0) - (lf[n - i] ?? 0) - ln2n);
  return Math.min(1, p);
}

/**
 * McNemar's exact test on the discordant pairs: `candidateOnly` queries only the candidate got right, `otherOnly` only
 * the other model. Under "equally good" each discordant pair falls either way with probability 1/2.
 */
export function mcnemarExact(candidateOnly: number, otherOnly: number): { oneSided: number; twoSided: number } {
  const n = candidateOnly + otherOnly;
  const oneSided = binomialUpperTail(otherOnly, n);
  const twoSided = Math.min(1, 2 * binomialUpperTail(Math.max(candidateOnly, otherOnly), n));
  return { oneSided, twoSided };
}

/** The standard normal quantile (Acklam's rational approximation, relative error < 1.2e-9). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normal quantile of ${p}: p must be in (0, 1)`);
  const a = [
    -3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1,
    2.506628277459239,
  ];
  const b = [
    -5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1,
  ];
  const c = [
    -7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const [a0, a1, a2, a3, a4, a5] = a as [number, number, number, number, number, number];
  const [b0, b1, b2, b3, b4] = b as [number, number, number, number, number];
  const [c0, c1, c2, c3, c4, c5] = c as [number, number, number, number, number, number];
  const [d0, d1, d2, d3] = d as [number, number, number, number];
  const low = 0.02425;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) / ((((d0 * q + d1) * q + d2) * q + d3) * q + 1);
  }
  if (p > 1 - low) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a0 * r + a1) * r + a2) * r + a3) * r + a4) * r + a5) * q) /
    (((((b0 * r + b1) * r + b2) * r + b3) * r + b4) * r + 1)
  );
}

/** Paired queries that would decide at the observed drop and per-query variance (normal approximation). */
function queriesToDecide(drop: number, variance: number, z: number, margin: number, queries: number): number | null {
  const effect = drop < margin ? margin - drop : drop > margin && drop > 0 ? drop : 0;
  if (effect <= 0 || variance <= 0) return null;
  return Math.max(queries + 1, Math.ceil((z * z * variance) / (effect * effect)));
}

function verdictOf(significantlyWorse: boolean, drop: number, upper: number, margin: number): PairedVerdict {
  if (round(upper) <= margin) return 'not-worse';
  if (significantlyWorse && round(drop) > margin) return 'worse';
  return 'inconclusive';
}

/**
 * Dominant agreement, paired: of `queries` held-out queries, `candidateOnly` only the candidate got right and
 * `otherOnly` only the other model. The drop is (otherOnly − candidateOnly) / queries.
 */
export function compareAgreement(
  counts: { readonly queries: number; readonly candidateOnly: number; readonly otherOnly: number },
  options: PairedOptions,
): PairedComparison {
  checkOptions(options);
  const { queries: n, candidateOnly: b, otherOnly: c } = counts;
  if (![n, b, c].every((x) => Number.isInteger(x) && x >= 0) || b + c > n) {
    throw new RangeError(`invalid paired counts: ${b} + ${c} discordant of ${n} queries`);
  }
  const z = normalQuantile(options.confidence);
  const drop = n === 0 ? 0 : (c - b) / n;
  const discordantShare = n === 0 ? 0 : (b + c) / n;
  const variance = Math.max(0, discordantShare - drop * drop);
  const upper = n === 0 ? Number.POSITIVE_INFINITY : drop + z * Math.sqrt(variance / n);
  const pValue = mcnemarExact(b, c).oneSided;
  const verdict = n === 0 ? 'inconclusive' : verdictOf(pValue < 1 - options.confidence, drop, upper, options.margin);
  return {
    test: 'mcnemar-exact',
    queries: n,
    observedDrop: round(drop),
    upperBound: round(upper),
    pValue: round(pValue),
    margin: options.margin,
    confidence: options.confidence,
    verdict,
    queriesToDecide: verdict === 'inconclusive' ? queriesToDecide(drop, variance, z, options.margin, n) : null,
    discordant: { candidateOnly: b, otherOnly: c },
  };
}

/** A seeded 32-bit generator (mulberry32): uniform in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const BOOTSTRAP_RESAMPLES = 2000;
export const BOOTSTRAP_SEED = 20261207;

/**
 * A continuous figure, paired: `drops[i]` is the other model's figure minus the candidate's on query i, oriented so
 * that positive means the candidate is worse (for an error: candidate error − other error). The bounds are the
 * percentiles of the mean drop over `resamples` bootstrap resamples of the queries (seeded).
 */
export function compareDifferences(
  drops: readonly number[],
  options: PairedOptions & { readonly resamples?: number; readonly seed?: number },
): PairedComparison {
  checkOptions(options);
  const n = drops.length;
  if (drops.some((d) => !Number.isFinite(d))) throw new RangeError('paired differences must be finite numbers');
  const base = {
    test: 'paired-bootstrap' as const,
    queries: n,
    margin: options.margin,
    confidence: options.confidence,
  };
  if (n === 0) {
    return {
      ...base,
      observedDrop: 0,
      upperBound: Number.POSITIVE_INFINITY,
      pValue: 1,
      verdict: 'inconclusive',
      queriesToDecide: null,
    };
  }
  const mean = drops.reduce((s, d) => s + d, 0) / n;
  const variance = n > 1 ? drops.reduce((s, d) => s + (d - mean) ** 2, 0) / (n - 1) : 0;
  const random = seededRandom(options.seed ?? BOOTSTRAP_SEED);
  const resamples = options.resamples ?? BOOTSTRAP_RESAMPLES;
  // Equal differences (two models answering alike) resample to their own mean: skip the n × resamples draws.
  const constant = drops.every((d) => d === drops[0]);
  const means: number[] = [];
  for (let r = 0; r < resamples; r++) {
    if (constant) {
      means.push(mean);
      continue;
    }
    let sum = 0;
    for (let i = 0; i < n; i++) sum += drops[Math.floor(random() * n)] ?? 0;
    means.push(sum / n);
  }
  means.sort((x, y) => x - y);
  const at = (q: number) => means[Math.min(resamples - 1, Math.max(0, Math.ceil(q * resamples) - 1))] ?? mean;
  const upper = at(options.confidence);
  const lower = at(1 - options.confidence);
  const pValue = means.filter((m) => m <= 0).length / resamples;
  const verdict = verdictOf(round(lower) > 0, mean, upper, options.margin);
  const z = normalQuantile(options.confidence);
  return {
    ...base,
    observedDrop: round(mean),
    upperBound: round(upper),
    pValue: round(pValue),
    verdict,
    queriesToDecide: verdict === 'inconclusive' ? queriesToDecide(mean, variance, z, options.margin, n) : null,
  };
}
