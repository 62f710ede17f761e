import {
  compareAgreement,
  compareDifferences,
  type PairedComparison,
  type PairedVerdict,
} from '../../core/paired-stats';
import type { PairedJudgeScores } from '../evaluation/evaluation';
import type { PairedOutcomes } from '../evaluation/metrics';

/**
 * The quality gate: the student is promoted only when every configured threshold holds. Each check names the config
 * key that sets it, so a rejected run's report says exactly which setting it failed and by how much. When a student
 * is already promoted (the incumbent), the candidate must also not be worse than it on the same held-out queries: a
 * run never replaces a better model with a worse one. Judge score, dominant agreement and weight error are each
 * compared per query (a paired bootstrap of the judge's per-prompt scores, McNemar for agreement, a paired bootstrap
 * of the per-query weight error; all at `gateConfidence`, each with its configured non-inferiority margin): a
 * comparison is "not worse", "worse" or "inconclusive" (too few queries to tell), and an inconclusive one keeps the
 * incumbent unless `inconclusiveGate` is `promote`. Evaluations without per-query figures are compared on the means
 * with the margins as fixed drops, and the check's description says so.
 */

export interface GateThresholds {
  readonly minJudgeScore: number;
  readonly maxJudgeGapToBaseline: number;
  readonly minDominantAgreement: number;
  readonly minValidReplyRate: number;
  /** Defaults: the config's (INCUMBENT_MARGINS); only checked when an incumbent is compared. */
  readonly maxJudgeDropToIncumbent?: number;
  readonly maxAgreementDropToIncumbent?: number;
  readonly maxWeightErrorRiseToIncumbent?: number;
  /** One-sided confidence of the paired comparisons (default DEFAULT_GATE_CONFIDENCE). */
  readonly gateConfidence?: number;
  /** What an inconclusive comparison with the incumbent does (default: keep the incumbent). */
  readonly inconclusiveGate?: InconclusiveGate;
}

export type InconclusiveGate = 'keepIncumbent' | 'promote';
export const DEFAULT_GATE_CONFIDENCE = 0.95;

/**
 * The default margins to the incumbent (lib/config/schema.ts uses the same): the non-inferiority margins of the paired
 * comparisons, the fixed drops only for evaluations stored without per-query figures. Judge: 0.1 rubric point, one
 * prompt in ten rated a point lower. Agreement: 0.03, three queries in a hundred. Weight error: 0.02 of mean absolute
 * error, below the 0.03 by which batched teacher labels may differ from single ones (calibrationMaxWeightError): a rise
 * within the labels' own noise.
 */
export const INCUMBENT_MARGINS = {
  maxJudgeDropToIncumbent: 0.1,
  maxAgreementDropToIncumbent: 0.03,
  maxWeightErrorRiseToIncumbent: 0.02,
} as const;

export type GateCheckName = Exclude<keyof GateThresholds, 'gateConfidence' | 'inconclusiveGate'>;

export interface GateInput {
  readonly studentJudgeScore: number;
  readonly baselineJudgeScore: number;
  readonly studentDominantAgreement: number;
  readonly studentValidReplyRate: number;
  /** The incumbent's figures on the same held-out sets; absent when nothing comparable is promoted. */
  readonly incumbent?: {
    readonly judgeScore: number;
    readonly dominantAgreement: number;
    /** Its mean absolute weight error (null: no valid reply); compared on the means only without `paired`. */
    readonly meanAbsoluteError?: number | null;
    /** The candidate paired with the incumbent per query (absent in evaluations of releases before pairing). */
    readonly paired?: PairedOutcomes;
    /** The judge's per-prompt scores of candidate and incumbent, paired (absent: Check evaluation could not pair). */
    readonly judgePaired?: PairedJudgeScores;
    /** Why the judge scores are not paired, as Check evaluation said (default: the evaluation predates pairing). */
    readonly judgeNote?: string;
  };
  /** The candidate's mean absolute weight error, for the comparison on the means. */
  readonly studentMeanAbsoluteError?: number | null;
}

/** One paired comparison with the incumbent, as the report shows it. */
export interface GateComparisonStatistic extends PairedComparison {
  readonly metric: 'judgeScore' | 'dominantAgreement' | 'weightError';
  readonly against: 'incumbent';
  /** Whether its verdict decides the gate (every comparison does since weight error has a margin). */
  readonly gating: boolean;
}

/** One model's headline figures in the report's side-by-side table. */
export interface ComparedModel {
  readonly role: 'candidate' | 'incumbent' | 'baseline';
  readonly modelId: string;
  /** The run that trained it (the incumbent's). */
  readonly runId?: string;
  readonly judgeScore: number;
  readonly dominantAgreement: number;
  readonly validReplyRate: number;
  readonly meanAbsoluteError: number | null;
  readonly latencyMeanMs: number;
  /** Dominant agreement per held-out set, when the run has production's slice as well. */
  readonly agreementBySet?: { readonly synthetic?: number; readonly production?: number };
}

/** Candidate, incumbent and baseline side by side (what report.md shows), or why no incumbent is compared. */
export interface GateComparison {
  readonly models: readonly ComparedModel[];
  readonly incumbentNote?: string;
  readonly heldOut: { readonly synthetic: number; readonly production: number };
}

export interface GateCheck {
  /** The config key that sets the threshold. */
  readonly name: GateCheckName;
  readonly description: string;
  readonly value: number;
  readonly threshold: number;
  /** How value must compare with threshold to pass. */
  readonly comparison: '>=' | '<=';
  readonly passed: boolean;
  /** The paired comparison that decided this check (against the incumbent), when there was one. */
  readonly paired?: { readonly verdict: PairedVerdict; readonly queriesToDecide: number | null };
}

export interface GateResult {
  readonly passed: boolean;
  /**
   * passed; rejected (a threshold failed, or the candidate is worse than the incumbent); inconclusive (no threshold
   * failed, but the held-out queries cannot tell the candidate from the incumbent: the incumbent is kept unless
   * inconclusiveGate is promote, in which case the verdict is passed).
   */
  readonly verdict: 'passed' | 'rejected' | 'inconclusive';
  /** The paired statistics against the incumbent (absent without an incumbent or per-query results). */
  readonly statistics?: readonly GateComparisonStatistic[];
  readonly checks: readonly GateCheck[];
  /** Names of the failed checks, in check order (empty when passed). */
  readonly failed: readonly GateCheckName[];
  /** One line: "passed" or which thresholds failed with their values. */
  readonly summary: string;
  /** The figures the checks compared, per model (the Gate step adds them for the report). */
  readonly comparison?: GateComparison;
}

// Scores and rates are compared after rounding away float noise (4.0 - 3.75 must be a gap of exactly 0.25).
const round = (x: number) => Math.round(x * 1e9) / 1e9;

const check = (
  name: GateCheckName,
  description: string,
  value: number,
  threshold: number,
  comparison: '>=' | '<=',
): GateCheck => ({
  name,
  description,
  value: round(value),
  threshold,
  comparison,
  passed: Number.isFinite(value) && (comparison === '>=' ? round(value) >= threshold : round(value) <= threshold),
});

/** The paired comparisons of candidate and incumbent, one per incumbent check, with the check's config key. */
const INCUMBENT_CHECK: Readonly<Record<GateComparisonStatistic['metric'], GateCheckName>> = {
  judgeScore: 'maxJudgeDropToIncumbent',
  dominantAgreement: 'maxAgreementDropToIncumbent',
  weightError: 'maxWeightErrorRiseToIncumbent',
};

/** A check decided by a paired comparison: it passes when not worse, or inconclusive and inconclusiveGate promote. */
function pairedCheck(
  statistic: GateComparisonStatistic,
  description: string,
  inconclusiveGate: InconclusiveGate,
): GateCheck {
  return {
    name: INCUMBENT_CHECK[statistic.metric],
    description,
    value: statistic.observedDrop,
    threshold: statistic.margin,
    comparison: '<=',
    passed:
      statistic.verdict === 'not-worse' || (statistic.verdict === 'inconclusive' && inconclusiveGate === 'promote'),
    paired: { verdict: statistic.verdict, queriesToDecide: statistic.queriesToDecide },
  };
}

const PREDATES_PAIRING = 'this evaluation predates per-query pairing';

/** The three checks against the incumbent: paired where the evaluation kept per-query figures, else on the means. */
function incumbentChecks(
  input: GateInput,
  incumbent: NonNullable<GateInput['incumbent']>,
  margins: Readonly<Record<GateCheckName & keyof typeof INCUMBENT_MARGINS, number>>,
  confidence: number,
  inconclusiveGate: InconclusiveGate,
): { checks: GateCheck[]; statistics: GateComparisonStatistic[] } {
  const stat = (metric: GateComparisonStatistic['metric'], comparison: PairedComparison): GateComparisonStatistic => ({
    metric,
    against: 'incumbent',
    gating: true,
    ...comparison,
  });
  const at = `${pct(confidence)} one-sided confidence; the threshold is the non-inferiority margin`;
  const { paired, judgePaired } = incumbent;
  const judge = judgePaired
    ? stat(
        'judgeScore',
        compareDifferences(judgeDrops(judgePaired), { confidence, margin: margins.maxJudgeDropToIncumbent }),
      )
    : undefined;
  const agreement = paired
    ? stat('dominantAgreement', compareAgreement(paired, { confidence, margin: margins.maxAgreementDropToIncumbent }))
    : undefined;
  const weight = paired
    ? stat(
        'weightError',
        compareDifferences(paired.errorDrops, { confidence, margin: margins.maxWeightErrorRiseToIncumbent }),
      )
    : undefined;
  const unpaired = judgePaired ? judgePaired.unpaired.candidate + judgePaired.unpaired.other : 0;
  const checks: GateCheck[] = [
    judge && judgePaired
      ? pairedCheck(
          judge,
          `paired drop in judge score (1-5) to the incumbent (paired bootstrap of the per-prompt score differences ` +
            `on ${judgePaired.queries} prompts both jobs scored${unpaired ? `, ${unpaired} left unpaired` : ''}, ${at})`,
          inconclusiveGate,
        )
      : check(
          'maxJudgeDropToIncumbent',
          'incumbent judge score minus candidate judge score (same held-out sets; the fixed drop on the means: ' +
            `${incumbent.judgeNote ?? `${PREDATES_PAIRING} of the judge's scores`})`,
          incumbent.judgeScore - input.studentJudgeScore,
          margins.maxJudgeDropToIncumbent,
          '<=',
        ),
    agreement
      ? pairedCheck(agreement, `paired drop in dominant agreement to the incumbent (McNemar, ${at})`, inconclusiveGate)
      : check(
          'maxAgreementDropToIncumbent',
          `incumbent dominant agreement minus candidate dominant agreement (same held-out sets; the fixed drop on the means: ${PREDATES_PAIRING})`,
          incumbent.dominantAgreement - input.studentDominantAgreement,
          margins.maxAgreementDropToIncumbent,
          '<=',
        ),
  ];
  if (weight) {
    checks.push(
      pairedCheck(
        weight,
        'paired rise in mean absolute weight error over the incumbent (paired bootstrap of the per-query errors on ' +
          `${weight.queries} queries both answered validly, ${at})`,
        inconclusiveGate,
      ),
    );
  } else if (typeof incumbent.meanAbsoluteError === 'number' && typeof input.studentMeanAbsoluteError === 'number') {
    // Without a valid reply there is no error to compare: the candidate's then fails minValidReplyRate already.
    checks.push(
      check(
        'maxWeightErrorRiseToIncumbent',
        `candidate mean absolute weight error minus the incumbent's (same held-out sets; the fixed rise on the means: ${PREDATES_PAIRING})`,
        input.studentMeanAbsoluteError - incumbent.meanAbsoluteError,
        margins.maxWeightErrorRiseToIncumbent,
        '<=',
      ),
    );
  }
  return { checks, statistics: [judge, agreement, weight].filter((s) => s !== undefined) };
}

/** The per-prompt differences a PairedJudgeScores counts, ascending (what the paired bootstrap resamples). */
const judgeDrops = (paired: PairedJudgeScores): number[] =>
  paired.drops.flatMap(({ drop, count }) => Array.from({ length: count }, () => drop));

export function evaluateGate(input: GateInput, thresholds: GateThresholds): GateResult {
  const confidence = thresholds.gateConfidence ?? DEFAULT_GATE_CONFIDENCE;
  const inconclusiveGate = thresholds.inconclusiveGate ?? 'keepIncumbent';
  const margins = {
    maxJudgeDropToIncumbent: thresholds.maxJudgeDropToIncumbent ?? INCUMBENT_MARGINS.maxJudgeDropToIncumbent,
    maxAgreementDropToIncumbent:
      thresholds.maxAgreementDropToIncumbent ?? INCUMBENT_MARGINS.maxAgreementDropToIncumbent,
    maxWeightErrorRiseToIncumbent:
      thresholds.maxWeightErrorRiseToIncumbent ?? INCUMBENT_MARGINS.maxWeightErrorRiseToIncumbent,
  };
  const againstIncumbent = input.incumbent
    ? incumbentChecks(input, input.incumbent, margins, confidence, inconclusiveGate)
    : { checks: [], statistics: [] };
  const { statistics } = againstIncumbent;
  const statisticOf = (c: GateCheck) => statistics.find((s) => INCUMBENT_CHECK[s.metric] === c.name);
  const checks = [
    check('minJudgeScore', 'student mean judge score (1-5)', input.studentJudgeScore, thresholds.minJudgeScore, '>='),
    check(
      'maxJudgeGapToBaseline',
      'baseline judge score minus student judge score',
      input.baselineJudgeScore - input.studentJudgeScore,
      thresholds.maxJudgeGapToBaseline,
      '<=',
    ),
    check(
      'minDominantAgreement',
      "share of held-out queries whose dominant modality matches the teacher's",
      input.studentDominantAgreement,
      thresholds.minDominantAgreement,
      '>=',
    ),
    check(
      'minValidReplyRate',
      'share of student replies that parse as valid weights',
      input.studentValidReplyRate,
      thresholds.minValidReplyRate,
      '>=',
    ),
    ...againstIncumbent.checks,
  ];
  const failed = checks.filter((c) => !c.passed);
  const inconclusive = failed.length > 0 && failed.every((c) => c.paired?.verdict === 'inconclusive');
  const inconclusiveChecks = checks.filter((c) => c.paired?.verdict === 'inconclusive');
  const promotedAnyway = inconclusiveChecks.length > 0 && inconclusiveGate === 'promote';
  const verdict = failed.length === 0 ? 'passed' : inconclusive ? 'inconclusive' : 'rejected';
  const describe = (c: GateCheck) =>
    c.paired?.verdict === 'inconclusive'
      ? `${c.name} inconclusive (${inconclusiveText(statisticOf(c))})`
      : `${c.name} (${c.value} ${c.comparison === '>=' ? '<' : '>'} ${c.threshold})`;
  const summary =
    verdict === 'passed'
      ? promotedAnyway
        ? 'passed: every threshold holds; the comparison with the incumbent is inconclusive ' +
          `(${inconclusiveChecks.map((c) => (inconclusiveChecks.length > 1 ? describe(c) : inconclusiveText(statisticOf(c)))).join('; ')}) ` +
          'and inconclusiveGate is promote'
        : 'passed: every threshold holds'
      : verdict === 'inconclusive'
        ? `inconclusive: the incumbent is kept (inconclusiveGate keepIncumbent): ${failed.map(describe).join(', ')}`
        : `rejected: ${failed.map(describe).join(', ')}`;
  return {
    passed: failed.length === 0,
    verdict,
    checks,
    failed: failed.map((c) => c.name),
    summary,
    ...(statistics.length > 0 ? { statistics } : {}),
  };
}

const pct = (x: number) => `${Number((x * 100).toFixed(1))} %`;

/** "drop 0.028, upper bound 0.06 > margin 0.03 at 95 %, McNemar p 0.25; about 1,234 … queries would decide". */
function inconclusiveText(s: GateComparisonStatistic | undefined): string {
  if (!s) return '';
  const needed =
    s.queriesToDecide === null
      ? 'no number of queries would decide at this effect'
      : `about ${s.queriesToDecide.toLocaleString('en-US')} paired held-out queries would decide (${s.queries} now)`;
  return (
    `${s.metric === 'weightError' ? 'rise' : 'drop'} ${s.observedDrop.toFixed(3)}, upper bound ` +
    `${s.upperBound.toFixed(3)} > margin ${s.margin} at ${pct(s.confidence)}, ` +
    `${s.test === 'mcnemar-exact' ? 'McNemar' : 'paired bootstrap'} p ${s.pValue.toFixed(3)}; ${needed}`
  );
}
