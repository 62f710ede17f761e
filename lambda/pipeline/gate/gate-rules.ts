/**
 * The quality gate: the student is promoted only when every configured threshold holds. Each check names the config
 * key that sets it, so a rejected run's report says exactly which setting it failed and by how much. When a student
 * is already promoted (the incumbent), the candidate must also not be worse than it by more than a margin, on the
 * same held-out sets: a run never replaces a better model with a worse one.
 */

export interface GateThresholds {
  readonly minJudgeScore: number;
  readonly maxJudgeGapToBaseline: number;
  readonly minDominantAgreement: number;
  readonly minValidReplyRate: number;
  /** Defaults: the config's (INCUMBENT_MARGINS); only checked when an incumbent is compared. */
  readonly maxJudgeDropToIncumbent?: number;
  readonly maxAgreementDropToIncumbent?: number;
}

/**
 * The default margins to the incumbent (lib/config.ts uses the same): 0.1 judge point is about three standard errors
 * of a mean judge score over 500 prompts (rubric spread ~0.8 / √500 ≈ 0.036); 0.03 dominant agreement is about two
 * standard errors of an agreement near 0.9 over 550 queries (√(0.09 / 550) ≈ 0.013). Smaller margins would reject a
 * candidate as good as the incumbent for sampling noise alone.
 */
export const INCUMBENT_MARGINS = { maxJudgeDropToIncumbent: 0.1, maxAgreementDropToIncumbent: 0.03 } as const;

export type GateCheckName = keyof GateThresholds;

export interface GateInput {
  readonly studentJudgeScore: number;
  readonly baselineJudgeScore: number;
  readonly studentDominantAgreement: number;
  readonly studentValidReplyRate: number;
  /** The incumbent's figures on the same held-out sets; absent when nothing comparable is promoted. */
  readonly incumbent?: { readonly judgeScore: number; readonly dominantAgreement: number };
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
}

export interface GateResult {
  readonly passed: boolean;
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
          check(
            'maxAgreementDropToIncumbent',
            'incumbent dominant agreement minus candidate dominant agreement (same held-out sets)',
            input.incumbent.dominantAgreement - input.studentDominantAgreement,
            thresholds.maxAgreementDropToIncumbent ?? INCUMBENT_MARGINS.maxAgreementDropToIncumbent,
            '<=',
          ),
        ]
      : []),
  ];
  const failed = checks.filter((c) => !c.passed);
  return {
    passed: failed.length === 0,
    checks,
    failed: failed.map((c) => c.name),
    summary:
      failed.length === 0
        ? 'passed: every threshold holds'
        : `rejected: ${failed.map((c) => `${c.name} (${c.value} ${c.comparison === '>=' ? '<' : '>'} ${c.threshold})`).join(', ')}`,
  };
}
