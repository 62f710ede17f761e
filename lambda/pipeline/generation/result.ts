/**
 * What the pipeline steps hand each other through the state machine's state. Each step's result sits at `$.<step>`
 * (see lib/constructs/pipeline/steps.ts); the run id is the execution's name.
 */

/** Result of the Assemble step at `$.assemble`: where the run's dataset is, and its size. */
export interface AssembleResult {
  readonly runId: string;
  readonly bucket: string;
  readonly trainKey: string;
  readonly testKey: string;
  readonly manifestKey: string;
  readonly trainCount: number;
  readonly testCount: number;
  /** The student prompt version the records are written in (what the candidate is trained and asked with). */
  readonly studentPromptVersion?: string;
  /** Production's own held-out slice (runs started with `fromProduction` that selected production records). */
  readonly productionTestKey?: string;
  readonly productionTestCount?: number;
}
