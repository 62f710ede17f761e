import * as z from 'zod';
import { runKeys } from '../../core/runs';

/**
 * `runs/<runId>/dataset/reuse.json`: what a run that reused an earlier run's dataset trained and was judged on (Reuse
 * dataset writes it once; it quotes no query). A later run whose incumbent is this run reads `trainKey` to keep the
 * incumbent's training queries out of its held-out sets.
 */

export const REUSE_RECORD_VERSION = 'dataset-reuse-v1';

export const reuseRecordKey = (runId: string) => `${runKeys(runId).datasetPrefix}reuse.json`;

const heldOutFile = z.object({
  key: z.string(),
  records: z.number().int(),
  /** The reused run's file this one was filtered from (the same key when nothing was removed). */
  sourceKey: z.string(),
  /** Records left out because the incumbent trained on their query. */
  removedIncumbentTrained: z.number().int(),
});

export const reuseRecordSchema = z.object({
  recordVersion: z.literal(REUSE_RECORD_VERSION),
  runId: z.string(),
  reusedFromRun: z.string(),
  /** The first training file (the one `$.assemble.trainKey` names). */
  trainKey: z.string(),
  trainingFiles: z.array(
    z.object({
      promptVersion: z.string(),
      key: z.string(),
      records: z.number().int(),
      /** `reused`: the earlier run's own file; `rendered`: written here from it in this prompt version. */
      origin: z.enum(['reused', 'rendered']),
    }),
  ),
  heldOut: z.object({ test: heldOutFile, productionTest: heldOutFile.optional() }),
  incumbentExclusion: z
    .object({
      runId: z.string(),
      trainingQueries: z.number().int(),
      trainingFile: z.string().optional(),
      excludedFromTest: z.number().int(),
      excludedFromProductionHeldOut: z.number().int(),
      note: z.string().optional(),
    })
    .optional(),
  /** Keys this run's dataset reads that hold live (production) queries. */
  liveQueryKeys: z.array(z.string()),
});
export type ReuseRecord = z.output<typeof reuseRecordSchema>;
