import {
  compareAgreement,
  compareDifferences,
  type PairedComparison,
  type PairedVerdict,
} from '../../core/paired-stats';
import type { PairedOutcomes } from '../evaluation/metrics';

/**
 * The quality gate: the student is promoted only when every configured threshold holds. Each check names the config
 * key that sets it, so a rejected run's report says exactly which setting it failed and by how much. When a student
 * is already promoted (the incumbent), the candidate must also not be worse than it on the same held-out queries: a
 * run never replaces a better model with a worse one. Dominant agreement is compared per query (McNemar, at
 * `gateConfidence`, with `maxAgreementDropToIncumbent` as the non-inferiority margin): the comparison is "not worse",
 * "worse" or "inconclusive" (too few queries to tell), and an inconclusive one keeps the incumbent unless
 * `inconclusiveGate` is `promote`.
 */

export interface GateThresholds {
  readonly minJudgeScore: number;
  readonly maxJudgeGapToBaseline: number;
  readonly minDominantAgreement: number;
  readonly minValidReplyRate: number;
  /** Defaults: the config's (INCUMBENT_MARGINS); only checked when an incumbent is compared. */
  readonly maxJudgeDropToIncumbent?: number;
  readonly maxAgreementDropToIncumbent?: number;
  /** One-sided confidence of the paired comparisons (default DEFAULT_GATE_CONFIDENCE). */
  readonly gateConfidence?: number;
  /** What an inconclusive comparison with the incumbent does (default: keep the incumbent). */
  readonly inconclusiveGate?: InconclusiveGate;
}

export type InconclusiveGate = 'keepIncumbent' | 'promote';
export const DEFAULT_GATE_CONFIDENCE = 0.95;

/**
 * The default margins to the incumbent (lib/config/schema.ts uses the same). The judge margin applies to the means (the
 * judge jobs' scores are not paired per query): 0.1 judge point is about three standard errors of a mean judge score
 * over 500 prompts (rubric spread ~0.8 / √500 ≈ 0.036). The agreement margin is the non-inferiority margin of the
 * paired comparison (compareAgreement): a drop up to 0.03 counts as "not worse" once the queries show it; it is the
 * fixed drop only for evaluations stored before pairing.
 */
export const INCUMBENT_MARGINS = { maxJudgeDropToIncumbent: 0.1, maxAgreementDropToIncumbent: 0.03 } as const;

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
    /** The candidate paired with the incumbent per query (absent in evaluations of releases before pairing). */
    readonly paired?: PairedOutcomes;
  };
}

/** One paired comparison with the incumbent, as the report shows it. */
export interface GateComparisonStatistic extends PairedComparison {
  readonly metric: 'dominantAgreement' | 'weightError';
  readonly against: 'incumbent';
  /** Whether its verdict decides the gate (weight error is reported, not gated: it has no configured margin). */
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

export function evaluateGate(input: GateInput, thresholds: GateThresholds): GateResult {
  const confidence = thresholds.gateConfidence ?? DEFAULT_GATE_CONFIDENCE;
  const inconclusiveGate = thresholds.inconclusiveGate ?? 'keepIncumbent';
  const agreementMargin = thresholds.maxAgreementDropToIncumbent ?? INCUMBENT_MARGINS.maxAgreementDropToIncumbent;
  const paired = input.incumbent?.paired;
  const statistics: GateComparisonStatistic[] = paired
    ? [
        {
          metric: 'dominantAgreement',
          against: 'incumbent',
          gating: true,
          ...compareAgreement(paired, { confidence, margin: agreementMargin }),
        },
        {
          metric: 'weightError',
          against: 'incumbent',
          gating: false,
          ...compareDifferences(paired.errorDrops, { confidence, margin: 0 }),
        },
      ]
    : [];
  const agreement = statistics.find((s) => s.metric === 'dominantAgreement');
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
    ...(input.incumbent
      ? [
          check(
            'maxJudgeDropToIncumbent',
            'incumbent judge score minus candidate judge score (same held-out sets)',
            input.incumbent.judgeScore - input.studentJudgeScore,
            thresholds.maxJudgeDropToIncumbent ?? INCUMBENT_MARGINS.maxJudgeDropToIncumbent,
            '<=',
          ),
          agreement
            ? {
                name: 'maxAgreementDropToIncumbent' as const,
                description:
                  `paired drop in dominant agreement to the incumbent (McNemar, ${pct(confidence)} one-sided ` +
                  'confidence; the threshold is the non-inferiority margin)',
                value: agreement.observedDrop,
                threshold: agreementMargin,
                comparison: '<=' as const,
                passed:
                  agreement.verdict === 'not-worse' ||
                  (agreement.verdict === 'inconclusive' && inconclusiveGate === 'promote'),
                paired: { verdict: agreement.verdict, queriesToDecide: agreement.queriesToDecide },
              }
            : check(
                'maxAgreementDropToIncumbent',
                'incumbent dominant agreement minus candidate dominant agreement (same held-out sets)',
                input.incumbent.dominantAgreement - input.studentDominantAgreement,
                agreementMargin,
                '<=',
              ),
        ]
      : []),
  ];
  const failed = checks.filter((c) => !c.passed);
  const inconclusive = failed.length > 0 && failed.every((c) => c.paired?.verdict === 'inconclusive');
  const promotedAnyway = agreement?.verdict === 'inconclusive' && inconclusiveGate === 'promote';
  const verdict = failed.length === 0 ? 'passed' : inconclusive ? 'inconclusive' : 'rejected';
  const describe = (c: GateCheck) =>
    c.paired?.verdict === 'inconclusive'
      ? `${c.name} inconclusive (${inconclusiveText(agreement)})`
      : `${c.name} (${c.value} ${c.comparison === '>=' ? '<' : '>'} ${c.threshold})`;
  const summary =
    verdict === 'passed'
      ? promotedAnyway
        ? `passed: every threshold holds; the comparison with the incumbent is inconclusive (${inconclusiveText(agreement)}) and inconclusiveGate is promote`
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

/** "drop 0.028, upper bound 0.06 > margin 0.03; about 1,234 held-out queries would decide". */
function inconclusiveText(s: PairedComparison | undefined): string {
  if (!s) return '';
  const needed =
    s.queriesToDecide === null
      ? 'no number of queries would decide at this effect'
      : `about ${s.queriesToDecide.toLocaleString('en-US')} paired held-out queries would decide (${s.queries} now)`;
  return (
    `drop ${s.observedDrop.toFixed(3)}, upper bound ${s.upperBound.toFixed(3)} > margin ${s.margin} at ` +
    `${pct(s.confidence)}, McNemar p ${s.pValue.toFixed(3)}; ${needed}`
  );
}
