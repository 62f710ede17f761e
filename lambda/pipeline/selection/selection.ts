import { normalQuantile } from '../../core/paired-stats';

/**
 * Which candidate goes on to the rollout (issue 20): pure, so the rule is unit-tested and a retried step decides the
 * same way. docs/candidates.md states the rule:
 *
 * 1. Only candidates whose gate passed are eligible (thresholds, the baseline, the incumbent's paired comparisons).
 * 2. Quality first: A beats B when A's dominant agreement is higher by more than the difference's standard error
 *    (× z at the gate's confidence) or, agreement being indistinguishable, A's mean judge score is higher by more than
 *    its standard error. The held-out set is the same for every candidate, but their answers are not paired here,
 *    so the standard errors are those of independent samples: conservative (a true difference must be larger to
 *    count). The candidates nobody beats form the best group.
 * 3. Within the best group: the lowest cost per 1M queries, then the lowest p50 latency (a gap within LATENCY_TIE is
 *    measurement noise, a tie), then the configured order.
 *
 * With no eligible candidate the same ranking over every evaluated candidate names the best one for the report, and
 * nothing is promoted.
 */

/** One candidate's figures on the held-out set, as the selection reads them. */
export interface CandidateFigures {
  readonly name: string;
  /** Position in the configured list (the last tie-break). */
  readonly order: number;
  readonly passed: boolean;
  readonly verdict: string;
  readonly queries: number;
  readonly dominantAgreement: number;
  readonly judge: { readonly mean: number; readonly scored: number; readonly histogram?: readonly number[] };
  /** USD per 1M routed queries at the mean token usage measured on the held-out set (null: no price). */
  readonly costPer1MQueriesUsd: number | null;
  readonly latencyP50Ms: number;
}

export interface RankedCandidate extends CandidateFigures {
  readonly rank: number;
  /** The candidates that beat this one on quality beyond sampling error. */
  readonly beatenBy: readonly string[];
  /** Why it ranks where it does, in one line. */
  readonly why: string;
}

export interface Selection {
  /** The winner, when a candidate passed its gate. */
  readonly winner?: string;
  /** Every evaluated candidate, best first (eligible ones before the others). */
  readonly ranking: readonly RankedCandidate[];
  /** One line the report and the notification use. */
  readonly reason: string;
}

/** Standard error of a mean judge score from its histogram (rubric points 1–5); 0 without one. */
export function judgeStandardError(judge: CandidateFigures['judge']): number {
  const histogram = judge.histogram ?? [];
  const n = histogram.reduce((s, c) => s + c, 0);
  if (n < 2) return 0;
  const mean = histogram.reduce((s, c, i) => s + c * (i + 1), 0) / n;
  const variance = histogram.reduce((s, c, i) => s + c * (i + 1 - mean) ** 2, 0) / (n - 1);
  return Math.sqrt(variance / n);
}

/** Standard error of a proportion observed on `n` queries. */
export const proportionStandardError = (p: number, n: number) => (n > 0 ? Math.sqrt((p * (1 - p)) / n) : 0);

/** Which quality figure, if any, sets `a` above `b` beyond sampling error at `confidence` (one-sided). */
export function qualityWin(a: CandidateFigures, b: CandidateFigures, confidence: number): string | undefined {
  const z = normalQuantile(confidence);
  const agreementGap = a.dominantAgreement - b.dominantAgreement;
  const agreementSe = Math.hypot(
    proportionStandardError(a.dominantAgreement, a.queries),
    proportionStandardError(b.dominantAgreement, b.queries),
  );
  if (Math.abs(agreementGap) > z * agreementSe) {
    return agreementGap > 0
      ? `agreement ${fmt(a.dominantAgreement)} vs ${fmt(b.dominantAgreement)} (± ${fmt(z * agreementSe)})`
      : undefined;
  }
  const judgeGap = a.judge.mean - b.judge.mean;
  const judgeSe = Math.hypot(judgeStandardError(a.judge), judgeStandardError(b.judge));
  if (judgeSe > 0 && judgeGap > z * judgeSe) {
    return `judge ${fmt(a.judge.mean)} vs ${fmt(b.judge.mean)} (± ${fmt(z * judgeSe)})`;
  }
  return undefined;
}

const fmt = (x: number) => (Math.round(x * 1000) / 1000).toString();
const cost = (c: CandidateFigures) => c.costPer1MQueriesUsd ?? Number.POSITIVE_INFINITY;

/**
 * Latency is measured on the run's own calls, with their noise: two p50s closer than 10 % (or 5 ms) are a tie, which
 * the configured order breaks. Cost is not measured noise (the same tokens at list prices), so any difference counts.
 */
export const LATENCY_TIE = { relative: 0.1, absoluteMs: 5 } as const;
const latencyOrder = (a: CandidateFigures, b: CandidateFigures): number => {
  const gap = a.latencyP50Ms - b.latencyP50Ms;
  const tie = Math.max(LATENCY_TIE.absoluteMs, LATENCY_TIE.relative * Math.min(a.latencyP50Ms, b.latencyP50Ms));
  return Math.abs(gap) <= tie ? 0 : gap;
};

/** Orders a group by quality first (nobody beats the best group), then cost, latency and the configured order. */
function rankGroup(group: readonly CandidateFigures[], confidence: number): Omit<RankedCandidate, 'rank'>[] {
  const beaten = new Map(
    group.map((c) => [c.name, group.filter((o) => o !== c && qualityWin(o, c, confidence)).map((o) => o.name)]),
  );
  const tieBreak = (a: CandidateFigures, b: CandidateFigures) =>
    cost(a) - cost(b) || latencyOrder(a, b) || a.order - b.order;
  // Fewer candidates beating it first; a cycle of wins (possible with unequal standard errors) falls to the tie-break.
  const sorted = [...group].sort(
    (a, b) => (beaten.get(a.name)?.length ?? 0) - (beaten.get(b.name)?.length ?? 0) || tieBreak(a, b),
  );
  return sorted.map((c, i) => {
    const beatenBy = beaten.get(c.name) ?? [];
    const next = sorted[i + 1];
    const prev = sorted[i - 1];
    let why: string;
    if (beatenBy.length > 0) {
      const by = group.find((o) => o.name === beatenBy[0]);
      why = `beaten by ${beatenBy.join(', ')} on ${by ? qualityWin(by, c, confidence) : 'quality'}`;
    } else if (prev && (beaten.get(prev.name)?.length ?? 0) === 0) {
      why = `as good as ${prev.name} within sampling error, but ${tieBreakWhy(prev, c)}`;
    } else if (next) {
      why = `best on quality within sampling error${(beaten.get(next.name)?.length ?? 0) === 0 ? `, then ${tieBreakWhy(c, next)}` : ''}`;
    } else {
      why = 'the only candidate';
    }
    return { ...c, beatenBy, why };
  });
}

/** Why `first` goes before `second` once quality cannot tell them apart. */
function tieBreakWhy(first: CandidateFigures, second: CandidateFigures): string {
  if (cost(first) !== cost(second)) {
    return `${first.name} costs $${fmtUsd(first.costPer1MQueriesUsd)} per 1M queries vs $${fmtUsd(second.costPer1MQueriesUsd)}`;
  }
  if (latencyOrder(first, second) !== 0) {
    return `${first.name} answers in ${Math.round(first.latencyP50Ms)} ms p50 vs ${Math.round(second.latencyP50Ms)} ms`;
  }
  return `${first.name} comes first in the configured order`;
}

const fmtUsd = (x: number | null) => (x === null ? '?' : x.toFixed(2));

/** Ranks the evaluated candidates and names the winner among those whose gate passed. */
export function selectCandidate(candidates: readonly CandidateFigures[], confidence: number): Selection {
  const eligible = candidates.filter((c) => c.passed);
  const others = candidates.filter((c) => !c.passed);
  const ranked = [...rankGroup(eligible, confidence), ...rankGroup(others, confidence)].map((c, i) => ({
    ...c,
    rank: i + 1,
  }));
  const winner = eligible.length > 0 ? ranked[0] : undefined;
  if (!winner) {
    const verdicts = others.map((c) => `${c.name}: ${c.verdict}`).join('; ');
    return { ranking: ranked, reason: `no candidate passed its gate (${verdicts || 'none evaluated'})` };
  }
  const runnersUp = ranked.slice(1).map((c) => c.name);
  return {
    winner: winner.name,
    ranking: ranked,
    reason:
      runnersUp.length === 0
        ? `${winner.name} passed its gate (the only candidate evaluated)`
        : `${winner.name} wins: ${winner.why}; runners-up ${runnersUp.join(', ')}`,
  };
}
