/**
 * What the training stage hands on through the state machine's state: each result sits at `$.<key>`
 * (lib/constructs/pipeline). Later stages import these types from here, never the reverse.
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

/** `$.training`: the customization job this candidate started, or found already started. */
export interface TrainingStarted {
  readonly jobArn: string;
  readonly jobName: string;
  readonly customModelName: string;
  /** DISTILLATION or FINE_TUNING. */
  readonly customizationType: string;
  /** The candidate the job trains (absent for a run without candidates). */
  readonly candidate?: string;
  /** True when the job already existed (a retried or redriven start). */
  readonly existing: boolean;
}

/** `$.trainingStatus`: the job's state at the last poll (or the given model of a `reused` candidate). */
export interface TrainingStatus {
  readonly status: string;
  readonly jobArn?: string;
  readonly outputModelArn?: string;
  /** Always present (empty unless failed) so the failure path can read it. */
  readonly failureMessage: string;
  readonly statusDetails: StatusDetailsJson;
  readonly reused?: boolean;
}
