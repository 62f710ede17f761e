import * as z from 'zod';
import { s3Uri, type RunStore } from '../../core/run-store';
import { sha256 } from './dataset-manifest';

/**
 * A run's dataset files as its manifest lists them, read back by Assemble (a retry) and Reuse dataset (an earlier
 * run's), and how they are written: once, the same content on a retry, tagged when they hold live queries.
 */

/** A file of this run already exists with other content: it is never overwritten. */
export class DatasetConflict extends Error {
  override readonly name = 'DatasetConflict';
}

const fileSchema = z.object({ key: z.string(), records: z.number().int() });

/** The parts of `manifest.json` (dataset-manifest.ts) that say where the files are and what they hold. */
export const manifestFilesSchema = z.object({
  runId: z.string(),
  promptVersions: z.record(z.string(), z.string()),
  files: z.object({
    train: fileSchema,
    training: z.array(fileSchema.extend({ promptVersion: z.string() })).optional(),
    test: fileSchema,
    productionTest: fileSchema.optional(),
  }),
  sources: z
    .object({
      production: z
        .object({ train: z.number().int(), test: z.number().int(), heldOutSlice: z.number().int() })
        .optional(),
    })
    .optional(),
});

interface FileRef {
  readonly key: string;
  readonly records: number;
}

/** What manifestFilesSchema reads, as Assemble also builds it (DatasetManifest is one). */
export interface ManifestFiles {
  readonly runId: string;
  readonly promptVersions: Readonly<Record<string, string>>;
  readonly files: {
    readonly train: FileRef;
    readonly training?: readonly (FileRef & { readonly promptVersion: string })[];
    readonly test: FileRef;
    readonly productionTest?: FileRef;
  };
  readonly sources?: {
    readonly production?: { readonly train: number; readonly test: number; readonly heldOutSlice: number };
  };
}

/** The training file of each prompt version; a manifest from before issue 20 has one, in its student version. */
export function trainKeysOf(manifest: ManifestFiles): Record<string, string> {
  if (manifest.files.training) return Object.fromEntries(manifest.files.training.map((f) => [f.promptVersion, f.key]));
  return { [manifest.promptVersions['student'] ?? '']: manifest.files.train.key };
}

/**
 * The dataset's files that hold production queries: the training files when production trained, test.jsonl when
 * production records were held out there, and production's own slice.
 */
export function liveQueryKeysOf(manifest: ManifestFiles): string[] {
  const production = manifest.sources?.production;
  if (!production) return [];
  const trainKeys = production.train > 0 ? Object.values(trainKeysOf(manifest)) : [];
  const test = production.test - production.heldOutSlice > 0 ? [manifest.files.test.key] : [];
  const slice = manifest.files.productionTest ? [manifest.files.productionTest.key] : [];
  return [...trainKeys, ...test, ...slice];
}

/**
 * Writes `text` once (tagged with `tagging` when given); an existing object must have the same content (a retried step
 * rebuilds identical files).
 */
export async function writeOnceOrSame(
  store: RunStore,
  key: string,
  text: string,
  tagging?: string,
  contentType?: string,
): Promise<void> {
  if (await store.writeOnce(key, text, contentType, tagging)) return;
  const existing = await store.read(key);
  if (existing === undefined || sha256(existing) !== sha256(text)) {
    throw new DatasetConflict(`${s3Uri(store.bucket, key)} already exists with other content; it is never overwritten`);
  }
}
