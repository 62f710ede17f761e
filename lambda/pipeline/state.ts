import type { HeldOutSet, JudgeScore, ModelMetrics } from './evaluation/evaluation';
import type { AlarmReading, CanaryCandidate, CanaryOutcome } from './rollout/canary-decision';
import type { EvaluatedModel } from '../core/job-names';

/**
 * What the training stages (distillation → deployment → evaluation → gate → promotion → report) hand each other
 * through the state machine's state. Each result sits at `$.<key>` (lib/constructs/pipeline/training-stages.ts).
 */

/** Bedrock's job status details with times as ISO strings (what survives the state's JSON). */
export interface StageDetail {
  readonly status?: string;
  readonly creationTime?: string;
  readonly lastModifiedTime?: string;
}
export interface StatusDetailsJson {
  readonly validationDetails?: StageDetail;
  readonly dataProcessingDetails?: StageDetail;
  readonly trainingDetails?: StageDetail;
}

/** `$.distillation`: the job this run started (or found already started by an earlier attempt). */
export interface DistillationStarted {
  readonly jobArn: string;
  readonly jobName: string;
  readonly customModelName: string;
  /** True when the job already existed (a retried or redriven start). */
  readonly existing: boolean;
}

/** `$.distillationStatus`: the job's state at the last poll (or the given model when `reuseModelArn` is set). */
export interface DistillationStatus {
  readonly status: string;
  readonly jobArn?: string;
  readonly outputModelArn?: string;
  /** Always present (empty unless failed) so the failure path can read it. */
  readonly failureMessage: string;
  readonly statusDetails: StatusDetailsJson;
  readonly reused?: boolean;
}

/** `$.deployment` */
export interface DeploymentStarted {
  readonly deploymentArn: string;
  readonly deploymentName: string;
  readonly modelArn: string;
  /**
   * True when an existing deployment was used: the run's own (a retried step, a redrive) or one of the same model that
   * this environment created.
   */
  readonly reused: boolean;
}

/** `$.deploymentStatus` */
export interface DeploymentStatus {
  readonly status: string;
  readonly deploymentArn: string;
  readonly failureMessage: string;
}

export interface EvaluationJobRef {
  readonly jobName: string;
  readonly jobArn: string;
}

/** One held-out set's metrics per model (the combined figures are the evaluation's own). */
export interface SetMetrics {
  readonly queries: number;
  readonly student: ModelMetrics;
  readonly baseline: ModelMetrics;
  readonly incumbent?: ModelMetrics;
}

/**
 * `$.evaluation`: the deterministic metrics of every model over all held-out queries (test.jsonl plus production's
 * slice), per set when there are two, and the judge jobs started (the incumbent's when a student was promoted).
 */
export interface EvaluationStarted {
  readonly metricsKey: string;
  readonly outputS3Uri: string;
  readonly student: ModelMetrics;
  readonly baseline: ModelMetrics;
  readonly incumbent?: ModelMetrics;
  readonly sets?: Readonly<Partial<Record<HeldOutSet, SetMetrics>>>;
  readonly jobs: Readonly<Record<EvaluatedModel, EvaluationJobRef>> & { readonly incumbent?: EvaluationJobRef };
  /** True when the answers of an earlier attempt were reused instead of asking the models again. */
  readonly resumed: boolean;
  /**
   * The student prompt version of the run's dataset: the candidate was asked and read in it, and Promote / Start
   * canary record it in the active-model parameter so the router asks the model the same way.
   */
  readonly studentPromptVersion: string;
}

/** `$.evaluationStatus`: both judge jobs at the last poll; `judge` once both completed. */
export interface EvaluationStatus {
  readonly status: 'InProgress' | 'Completed' | 'Failed';
  readonly failureMessage: string;
  readonly jobStatus: Readonly<Record<EvaluatedModel, string>> & { readonly incumbent?: string };
  /** When Failed: the judge jobs that were still InProgress and were stopped. */
  readonly stopped?: readonly (EvaluatedModel | 'incumbent')[];
  readonly judge?: Readonly<Record<EvaluatedModel, JudgeScore>> & { readonly incumbent?: JudgeScore };
}

/** `$.promotion` */
export interface PromotionResult {
  readonly promoted: boolean;
  readonly parameterName?: string;
  readonly version?: number;
  /** Why nothing was promoted (the gate's summary, or the canary's rollback). */
  readonly reason?: string;
  /** When the candidate went through a canary: how it ended and on which figures. */
  readonly canary?: CanaryCheck;
}

/**
 * `$.canary` (Start canary): the candidate put beside the incumbent at `share`, or `started: false` with the reason it
 * is promoted directly (nothing promoted yet).
 */
export type CanaryStarted =
  | {
      readonly started: true;
      readonly parameterName: string;
      readonly version: number;
      readonly share: number;
      readonly startedAt: string;
      readonly incumbent: CanaryCandidate;
      /** True when an earlier attempt had already written this canary. */
      readonly resumed: boolean;
    }
  | { readonly started: false; readonly reason: string };

/** `$.canaryCheck` (Check canary): the alarms and the parameter at the last check, and the outcome once it ended. */
export interface CanaryCheck {
  readonly done: boolean;
  /** Once done. */
  readonly outcome?: CanaryOutcome;
  /** True when the candidate is the active model at the end (by the check or by an operator). */
  readonly promoted: boolean;
  readonly parameterName: string;
  /** The parameter version written by the check, or read when nothing was written. */
  readonly version: number;
  readonly share: number;
  readonly startedAt: string;
  readonly elapsedMinutes: number;
  readonly incumbent: CanaryCandidate;
  readonly alarms: readonly AlarmReading[];
  /** The alarms in ALARM that rolled the candidate back (names). */
  readonly firing: readonly string[];
  readonly summary: string;
}

/** `$.report` */
export interface ReportResult {
  readonly outcome: 'PROMOTED' | 'REJECTED' | 'ROLLED_BACK';
  readonly reportJsonKey: string;
  readonly reportMarkdownKey: string;
  readonly notified: boolean;
}
