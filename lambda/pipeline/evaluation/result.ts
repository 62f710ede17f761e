import type { EvaluatedModel } from '../../core/job-names';
import type { HeldOutSet, JudgeScore, PairedJudgeScores } from './evaluation';
import type { ModelMetrics, PairedOutcomes } from './metrics';

/**
 * What the evaluation stage hands on through the state machine's state: each result sits at `$.<key>`
 * (lib/constructs/pipeline). Later stages import these types from here, never the reverse.
 */

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
  /**
   * The candidate paired with the baseline and the incumbent on every held-out query (both sets): what the Gate's
   * paired statistics read (lambda/core/paired-stats.ts). Absent in results of releases before pairing.
   */
  readonly paired?: { readonly baseline?: PairedOutcomes; readonly incumbent?: PairedOutcomes };
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
  /**
   * Once Completed with an incumbent: the candidate's judge scores paired with the incumbent's prompt by prompt (what
   * the Gate's paired bootstrap reads), or a note saying why they could not be paired (the Gate then compares the
   * means). The per-prompt scores themselves stay in the judge jobs' output under the run's evaluation prefix.
   */
  readonly judgePaired?: { readonly incumbent?: PairedJudgeScores; readonly note?: string };
}
