import { createHash } from 'node:crypto';
import { dominantModality, isMixed, modalityRecord, type Modality, type Weights } from '../../core/modality';
import type { TokenPrice } from '../../core/prices';
import type { CalibrationRecord } from './calibration';
import type { ShardSummary } from './shard-generation';

/**
 * The dataset manifest Assemble writes beside the training and held-out files (`runs/<runId>/dataset/manifest.json`):
 * what the run planned, what the teacher gave, what was dropped and why, how the sets are balanced, the files' hashes,
 * and how labelling was calibrated and batched. Its types, and the pure helpers that fill its parts.
 */

export const MANIFEST_VERSION = 'dataset-manifest-v1';

export interface SetCounts {
  readonly total: number;
  readonly byModality: Readonly<Record<Modality, number>>;
  /** Share of each dominant modality, 0-1. */
  readonly shares: Readonly<Record<Modality, number>>;
  /** Records with no modality at 0.5 or more. */
  readonly mixed: number;
  readonly mixedShare: number;
}

export interface FileInfo {
  readonly key: string;
  readonly records: number;
  readonly bytes: number;
  readonly sha256: string;
}

export interface DatasetManifest {
  readonly manifestVersion: typeof MANIFEST_VERSION;
  readonly runId: string;
  readonly createdAt: string;
  readonly teacherModelId: string;
  readonly includeReasoning: boolean;
  readonly promptVersions: Readonly<Record<string, string>>;
  readonly plan: {
    readonly targetRecords: number;
    readonly plannedQueries: number;
    readonly shards: number;
    readonly shardsWritten: number;
    readonly missingShards: readonly number[];
  };
  readonly generation: {
    readonly planned: number;
    readonly labelled: number;
    readonly successRate: number;
    readonly minGenerationSuccessRate: number;
    /** Queries written but not used by the writer (duplicates within a shard, too long, reserved strings). */
    readonly writerRejected: number;
  };
  /** planned = labelled + Σ droppedByReason (generation) ; labelled = duplicates + invalid + train + test + unused. */
  readonly droppedByReason: Readonly<Record<string, number>>;
  readonly duplicates: { readonly exact: number; readonly normalised: number };
  /** Valid, distinct records left out by rebalancing (the surplus). */
  readonly unused: number;
  readonly balance: {
    readonly targetShare: number;
    readonly tolerancePoints: number;
    readonly exampleCount: number;
    readonly testExampleCount: number;
    /** Training records short of exampleCount because a modality had too few labels (raise generationSurplus). */
    readonly shortfall: number;
  };
  readonly counts: { readonly train: SetCounts; readonly test: SetCounts };
  /** Valid, distinct labelled records per dominant modality (the teacher's labels), before rebalancing. */
  readonly labelledByModality?: Readonly<Record<Modality, number>>;
  /**
   * Where the records came from, per source: `train` and `test` (every held-out file: test.jsonl plus, for production,
   * test-production.jsonl, of which `heldOutSlice`), `considered` (labelled queries read), `duplicates` (normalised,
   * against everything before them: production first), `invalid` (refused by the validator), `unused` (left out by
   * rebalancing).
   */
  readonly sources?: {
    readonly synthetic: SourceCounts;
    readonly production?: SourceCounts & {
      readonly heldOutSlice: number;
      readonly since: string;
      readonly until: string;
      readonly selectionKey: string;
      /**
       * Personal data the shadow labeller masked in the production queries this dataset uses, by PII type (the
       * `{TYPE}` placeholders in their text; docs/data-handling.md). Absent in manifests before redaction.
       */
      readonly redacted?: Readonly<Record<string, number>>;
    };
  };
  readonly teacher: {
    readonly calls: { readonly writing: number; readonly labelling: number; readonly total: number };
    readonly inputTokens: number;
    readonly outputTokens: number;
    readonly retries: number;
    readonly price?: TokenPrice;
    /** USD from the price table; undefined when the teacher has no price there (set it with the `prices` key). */
    readonly estimatedCostUsd?: number;
  };
  readonly files: {
    /** The first training file (`$.assemble.trainKey`); every prompt version's is in `training`. */
    readonly train: FileInfo;
    /** One training file per prompt version the candidates train with (absent in manifests before issue 20). */
    readonly training?: readonly (FileInfo & { readonly promptVersion: string })[];
    readonly test: FileInfo;
    readonly productionTest?: FileInfo;
  };
  /** How labelling was calibrated (absent for runs before calibration, or whose calibration file is missing). */
  readonly calibration?: ManifestCalibration;
  /** What batch labelling did over the shards (absent when no shard recorded it). */
  readonly labelBatching?: LabelBatching;
  /**
   * The incumbent's training queries kept out of both held-out draws (absent when the run has no incumbent): judging
   * the incumbent on queries it trained on would bias the gate against the candidate.
   */
  readonly incumbentExclusion?: IncumbentExclusion;
}

/** How the held-out draws left out the incumbent's training queries (normalised as for deduplication). */
export interface IncumbentExclusion {
  /** The run that trained the incumbent. */
  readonly runId: string;
  /** Distinct normalised queries of its training file (0 when it could not be read: see `note`). */
  readonly trainingQueries: number;
  /** The training file they were read from (the reused run's, when the incumbent reused a dataset). */
  readonly trainingFile?: string;
  /** Records this run could have held out in test.jsonl that the incumbent trained on (they may still train). */
  readonly excludedFromTest: number;
  /** Records of production's held-out slice the incumbent trained on (moved to the training candidates). */
  readonly excludedFromProductionHeldOut: number;
  /** Why nothing could be excluded (the incumbent's dataset is not under its run). */
  readonly note?: string;
}

export interface SourceCounts {
  readonly train: number;
  readonly test: number;
  readonly considered: number;
  readonly duplicates: number;
  readonly invalid: number;
  readonly unused: number;
}

export const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

export function countSet(weights: readonly Weights[]): SetCounts {
  const byModality = modalityRecord(() => 0);
  let mixed = 0;
  for (const w of weights) {
    byModality[dominantModality(w)]++;
    if (isMixed(w)) mixed++;
  }
  const total = weights.length;
  const share = (n: number) => (total === 0 ? 0 : Number((n / total).toFixed(4)));
  const shares = modalityRecord((m) => share(byModality[m]));
  return { total, byModality, shares, mixed, mixedShare: share(mixed) };
}

export const fileInfo = (key: string, text: string, records: number): FileInfo => ({
  key,
  records,
  bytes: Buffer.byteLength(text, 'utf8'),
  sha256: sha256(text),
});

/** The manifest's record of the run's calibration: the chosen size, why, and the measured table. */
export type ManifestCalibration = Pick<
  CalibrationRecord,
  'labelBatchSize' | 'calibrated' | 'reason' | 'thresholds' | 'table' | 'usage'
>;

export interface LabelBatching {
  /** Batch sizes the shards labelled with (1: one query per call). */
  readonly labelBatchSizes: readonly number[];
  readonly batchCalls: number;
  /** Queries the batch replies left without a usable answer, each re-asked on its own. */
  readonly reasked: { readonly missing: number; readonly duplicate: number; readonly unparsable: number };
  readonly unknownIds: number;
}

/** The manifest's calibration and batch-labelling fields; each absent when the run has nothing to say about it. */
export function labellingFields(
  c: CalibrationRecord | undefined,
  summaries: readonly ShardSummary[],
): Pick<DatasetManifest, 'calibration' | 'labelBatching'> {
  const batched = summaries.filter((s) => s.labelBatchSize !== undefined);
  const reasked = { missing: 0, duplicate: 0, unparsable: 0 };
  for (const s of batched) {
    reasked.missing += s.batchReasks?.missing ?? 0;
    reasked.duplicate += s.batchReasks?.duplicate ?? 0;
    reasked.unparsable += s.batchReasks?.unparsable ?? 0;
  }
  return {
    ...(c
      ? {
          calibration: {
            labelBatchSize: c.labelBatchSize,
            calibrated: c.calibrated,
            reason: c.reason,
            ...(c.thresholds ? { thresholds: c.thresholds } : {}),
            table: c.table,
            usage: c.usage,
          },
        }
      : {}),
    ...(batched.length > 0
      ? {
          labelBatching: {
            labelBatchSizes: [...new Set(batched.map((s) => s.labelBatchSize ?? 1))].sort((a, b) => a - b),
            batchCalls: batched.reduce((n, s) => n + (s.batchCalls ?? 0), 0),
            reasked,
            unknownIds: batched.reduce((n, s) => n + (s.batchUnknownIds ?? 0), 0),
          },
        }
      : {}),
  };
}
