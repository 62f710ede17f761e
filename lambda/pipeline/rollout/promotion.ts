import { activeModelFrom, readActiveModel, type ActiveModel } from '../../core/active-model';
import type { JudgeScore } from '../evaluation/evaluation';
import type { ModelMetrics } from '../evaluation/metrics';
import { studentFormat } from '../../core/student-format';

/**
 * Promotion and its undoing: the active-model parameter's value for a promoted run, and what its version history says
 * about earlier values (rollback restores the previous one; clean-up keeps the active and previous deployments).
 */

export interface PromotionInput {
  readonly runId: string;
  readonly deploymentArn: string;
  readonly modelArn: string;
  readonly student: ModelMetrics;
  readonly judge: { readonly student: JudgeScore; readonly baseline: JudgeScore };
  readonly promotedAt: string;
  /** The student prompt version the run trained and evaluated the candidate with (Evaluate's result). */
  readonly studentPromptVersion: string;
}

/**
 * The parameter value for a promoted student, validated against the schema the router reads (activeModelSchema);
 * throws InvalidActiveModel naming the field, e.g. a deployment ARN Bedrock's pattern refuses.
 */
export function activeModelValue(input: PromotionInput): ActiveModel {
  const metrics: Record<string, number> = {
    judgeScore: input.judge.student.mean,
    baselineJudgeScore: input.judge.baseline.mean,
    dominantAgreement: input.student.dominantAgreement,
    validReplyRate: input.student.validReplyRate,
    latencyMeanMs: input.student.latencyMs.mean,
    latencyP95Ms: input.student.latencyMs.p95,
  };
  if (input.student.costPer1kQueriesUsd !== null) metrics['costPer1kQueriesUsd'] = input.student.costPer1kQueriesUsd;
  return activeModelFrom({
    deploymentArn: input.deploymentArn,
    modelArn: input.modelArn,
    runId: input.runId,
    promotedAt: input.promotedAt,
    // The router answers the model in this version's format: a version it does not know must never be written.
    studentPromptVersion: studentFormat(input.studentPromptVersion).promptVersion,
    metrics,
  });
}

/** True when the parameter already names this run's deployment (a retried promotion must not add a version). */
export function isAlreadyPromoted(currentValue: string | undefined, runId: string, deploymentArn: string): boolean {
  const current = readActiveModel(currentValue);
  return current.state === 'promoted' && current.model.runId === runId && current.model.deploymentArn === deploymentArn;
}

export interface ParameterVersion {
  readonly version: number;
  readonly value: string;
}

/** What a value means for a deployment: its ARN when it names a promoted model. */
const deploymentOf = (value: string) => {
  const read = readActiveModel(value);
  return read.state === 'promoted' ? read.model.deploymentArn : undefined;
};

/** Same model promoted by the same run (promotedAt aside), or the same literal value. */
const sameModel = (a: string, b: string) => {
  const ra = readActiveModel(a);
  const rb = readActiveModel(b);
  if (ra.state === 'promoted' && rb.state === 'promoted') {
    return ra.model.deploymentArn === rb.model.deploymentArn && ra.model.runId === rb.model.runId;
  }
  return a.trim() === b.trim();
};

export type RollbackPlan =
  | { readonly ok: true; readonly current: ParameterVersion; readonly restore: ParameterVersion }
  | { readonly ok: false; readonly reason: string };

/**
 * Which value a rollback restores: the latest earlier version whose value differs from the current one (versions
 * that repeat the current value are skipped). Refuses when the history holds nothing else, and when the previous
 * value is invalid (readActiveModel: the same activeModelSchema as Promote and the router) or means "nothing
 * promoted" unless `allowNone` is set.
 */
export function planRollback(history: readonly ParameterVersion[], allowNone = false): RollbackPlan {
  const sorted = [...history].sort((a, b) => a.version - b.version);
  const current = sorted.at(-1);
  if (!current) return { ok: false, reason: 'the parameter has no history' };
  const restore = sorted
    .slice(0, -1)
    .reverse()
    .find((v) => !sameModel(v.value, current.value));
  if (!restore) {
    return {
      ok: false,
      reason: `nothing to roll back to: every version in the parameter's history (${sorted.length}) holds the current value`,
    };
  }
  const read = readActiveModel(restore.value);
  if (read.state === 'invalid') {
    return { ok: false, reason: `the previous value (version ${restore.version}) is invalid: ${read.reason}` };
  }
  if (read.state === 'none' && !allowNone) {
    return {
      ok: false,
      reason:
        `the previous value (version ${restore.version}) is "none" (nothing promoted): rolling back would leave the ` +
        'router without a student; pass --allow-none to do that anyway',
    };
  }
  return { ok: true, current, restore };
}

/**
 * The deployments to keep: the active one, the one a rollback would restore (the latest earlier distinct model), and
 * during a canary the candidate's, which answers its share of live traffic.
 */
export function deploymentsToKeep(history: readonly ParameterVersion[]): Set<string> {
  const sorted = [...history].sort((a, b) => b.version - a.version);
  const keep = new Set<string>();
  for (const v of sorted) {
    const arn = deploymentOf(v.value);
    if (arn) keep.add(arn);
    if (keep.size >= 2) break;
  }
  const candidate = canaryDeploymentOf(sorted[0]?.value);
  if (candidate) keep.add(candidate);
  return keep;
}

/** The deployment of the canary's candidate in a parameter value, when it holds one. */
export function canaryDeploymentOf(value: string | undefined): string | undefined {
  const read = readActiveModel(value);
  return read.state === 'promoted' ? read.model.canary?.deploymentArn : undefined;
}
