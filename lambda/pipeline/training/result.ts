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
