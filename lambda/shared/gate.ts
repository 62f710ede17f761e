/**
 * The quality gate: the student is promoted only when every configured threshold holds. Each check names the config
 * key that sets it, so a rejected run's report says exactly which setting it failed and by how much.
 */

export interface GateThresholds {
  readonly minJudgeScore: number;
  readonly maxJudgeGapToBaseline: number;
  readonly minDominantAgreement: number;
  readonly minValidReplyRate: number;
}

export interface GateInput {
  readonly studentJudgeScore: number;
  readonly baselineJudgeScore: number;
  readonly studentDominantAgreement: number;
  readonly studentValidReplyRate: number;
}

export type GateCheckName = keyof GateThresholds;

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
