/**
 * What the pipeline steps hand each other through the state machine's state. Each step's result sits at `$.<step>`
 * (see lib/constructs/pipeline/steps.ts); the run id is the execution's name.
 */

/** Result of the Assemble step at `$.assemble`: where the run's dataset is, and its size. */
export interface AssembleResult {
  readonly runId: string;
  readonly bucket: string;
  /** The first training file (`trainKeys` of the first prompt version): what single-candidate consumers train on. */
  readonly trainKey: string;
  /** The training file of each prompt version the candidates train with: same queries and labels, own prompt. */
  readonly trainKeys: Readonly<Record<string, string>>;
  readonly testKey: string;
  readonly manifestKey: string;
  readonly trainCount: number;
  readonly testCount: number;
  /** The student prompt version the records are written in (what the candidate is trained and asked with). */
  readonly studentPromptVersion?: string;
  /** Production's own held-out slice (runs started with `fromProduction` that selected production records). */
  readonly productionTestKey?: string;
  readonly productionTestCount?: number;
  /**
   * The files above that hold live (production) queries, written with the live-queries tag: what is derived from them
   * (evaluation answers, judge datasets) is tagged too, so that it expires with them (productionDataRetentionDays).
   */
  readonly liveQueryKeys: readonly string[];
}
