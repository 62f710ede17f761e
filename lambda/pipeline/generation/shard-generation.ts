import * as z from 'zod';
import { TEACHER_BATCH_PROMPT_VERSION } from '../../core/batch-labelling';
import { isRetryable, replyText } from '../../core/bedrock';
import { mapWithConcurrency } from '../../core/concurrency';
import type { Weights } from '../../core/modality';
import { PROMPT_VERSIONS } from '../../core/prompts';
import { labelQuery, type Converse } from '../../core/teacher-labelling';
import { chunked, labelBatch, noReasks, reaskCountsSchema, type LabelOutcome } from '../../core/label-batch';
import type { ShardSpec } from './query-plan';
import {
  normalisedQuery,
  parseWrittenQueries,
  QUERIES_PER_WRITING_CALL,
  QUERY_WRITER_PROMPT_VERSION,
  QUERY_WRITER_SYSTEM_PROMPT,
  queryWritingMessage,
  WRITING_MAX_TOKENS,
  WRITING_TEMPERATURE,
} from './query-writing';
import type { RunStore } from '../../core/run-store';
import { runKeys } from '../../core/runs';
import { Teacher, type TeacherRetryPolicy } from './teacher-calls';

/**
 * One shard of the Generate stage: the teacher writes the shard's queries (several per Converse call), then labels
 * them with the teacher prompt (temperature 0, small maxTokens) with bounded concurrency — one query per call, or
 * `labelBatchSize` per call (batch-labelling.ts) with the items the batch left unanswered re-asked one by one; the
 * shard is stored as one JSONL object written once. Every planned query ends up either labelled or counted under a
 * drop reason.
 */

/** Writing calls allowed beyond the minimum, to top up what duplicates and unusable entries cost. */
export const EXTRA_WRITING_CALLS = 2;

export interface ShardOptions {
  readonly teacherModelId: string;
  readonly includeReasoning: boolean;
  /** Teacher calls in flight inside the shard (batch calls when labelling in batches). */
  readonly labelConcurrency: number;
  /** Queries per labelling call (default 1: one call per query, as before batching). */
  readonly labelBatchSize?: number;
  readonly retry: TeacherRetryPolicy;
}

export interface ShardDependencies {
  readonly converse: Converse;
  readonly store: RunStore;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  readonly now?: () => number;
}

/** Why a planned query did not become an example: never written, label unparseable twice, teacher errors. */
export type DropReason = 'notWritten' | 'unparseableLabel' | 'teacherError';

const countsSchema = z.object({ inputTokens: z.number(), outputTokens: z.number() });
export const shardSummarySchema = z.object({
  kind: z.literal('shard'),
  index: z.number().int(),
  target: z.string(),
  domain: z.string(),
  phrasing: z.string(),
  teacherModelId: z.string(),
  promptVersions: z.record(z.string(), z.string()),
  /** Queries the plan asked for. */
  planned: z.number().int(),
  /** Distinct usable queries the teacher wrote (at most `planned`). */
  written: z.number().int(),
  labelled: z.number().int(),
  /** planned = labelled + Σ dropped. */
  dropped: z.object({
    notWritten: z.number().int(),
    unparseableLabel: z.number().int(),
    teacherError: z.number().int(),
  }),
  /** Written entries not used: duplicates inside the shard, too long, reserved strings. */
  writerRejected: z.number().int(),
  /** Writing replies that held no JSON array. */
  writerUnparseable: z.number().int(),
  /** Label replies that failed to parse on the first try (retried once). */
  labelRetries: z.number().int(),
  /** Every teacher call: `labelling` counts batch calls and single calls (re-asks included). */
  teacherCalls: z.object({ writing: z.number().int(), labelling: z.number().int() }),
  /** Queries per labelling call; absent in shards stored before batching (1). */
  labelBatchSize: z.number().int().optional(),
  /** Labelling calls that carried a batch of queries (the rest of `teacherCalls.labelling` were single calls). */
  batchCalls: z.number().int().optional(),
  /** Queries a batch reply left without a usable answer, by why, each re-asked on its own. */
  batchReasks: reaskCountsSchema.optional(),
  /** Batch reply items for ids that were not asked (ignored). */
  batchUnknownIds: z.number().int().optional(),
  usage: countsSchema,
  /** Transient errors retried (throttling and service faults). */
  retries: z.number().int(),
  durationMs: z.number(),
});
export type ShardSummary = z.output<typeof shardSummarySchema>;

const weightsSchema = z.object({
  visual: z.number(),
  audio: z.number(),
  transcription: z.number(),
  metadata: z.number(),
}) satisfies z.ZodType<Weights>;
export const shardExampleSchema = z.object({
  kind: z.literal('example'),
  query: z.string(),
  weights: weightsSchema,
  reasoning: z.string().optional(),
});
export type ShardExample = z.output<typeof shardExampleSchema>;

export interface ShardOutcome {
  readonly key: string;
  /** True when the shard was already in S3 (a re-run or redrive): nothing was called or written. */
  readonly skipped: boolean;
  readonly summary: ShardSummary;
}

/** The shard file: the summary line, then one line per labelled query. */
export function serialiseShard(summary: ShardSummary, examples: readonly ShardExample[]): string {
  return [summary, ...examples].map((line) => JSON.stringify(line)).join('\n') + '\n';
}

export function parseShardFile(text: string, key = 'shard'): { summary: ShardSummary; examples: ShardExample[] } {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  const parseLine = <T>(schema: z.ZodType<T>, line: string, n: number): T => {
    const parsed = schema.safeParse(JSON.parse(line));
    if (!parsed.success) {
      throw new Error(`${key} line ${n}: not a shard ${n === 1 ? 'summary' : 'example'} (${parsed.error.message})`);
    }
    return parsed.data;
  };
  const [first, ...rest] = lines;
  if (first === undefined) throw new Error(`${key} is empty`);
  return {
    summary: parseLine(shardSummarySchema, first, 1),
    examples: rest.map((line, i) => parseLine(shardExampleSchema, line, i + 2)),
  };
}

/** Asks the teacher for the shard's queries in concurrent batches, topping up what duplicates cost. */
async function writeQueries(spec: ShardSpec, options: ShardOptions, teacher: Teacher) {
  const queries: string[] = [];
  const seen = new Set<string>();
  let rejected = 0;
  let unparseable = 0;
  let batch = 0;
  const maxCalls = Math.ceil(spec.count / QUERIES_PER_WRITING_CALL) + EXTRA_WRITING_CALLS;
  while (queries.length < spec.count && batch < maxCalls) {
    const missing = spec.count - queries.length;
    const calls = Math.min(Math.ceil(missing / QUERIES_PER_WRITING_CALL), maxCalls - batch);
    const wave = Array.from({ length: calls }, (_, i) => ({
      batch: batch + i,
      count: Math.min(QUERIES_PER_WRITING_CALL, missing - i * QUERIES_PER_WRITING_CALL),
    }));
    batch += calls;
    const replies = await mapWithConcurrency(wave, options.labelConcurrency, (request) =>
      teacher.call('writing', {
        modelId: options.teacherModelId,
        system: [{ text: QUERY_WRITER_SYSTEM_PROMPT }],
        messages: [{ role: 'user', content: [{ text: queryWritingMessage({ ...spec, ...request }) }] }],
        inferenceConfig: { temperature: WRITING_TEMPERATURE, maxTokens: WRITING_MAX_TOKENS },
      }),
    );
    for (const reply of replies) {
      const parsed = parseWrittenQueries(replyText(reply));
      if (!parsed.ok) {
        unparseable++;
        continue;
      }
      rejected += parsed.rejected;
      for (const query of parsed.queries) {
        const normalised = normalisedQuery(query);
        if (seen.has(normalised) || normalised === '') {
          rejected++;
        } else if (queries.length < spec.count) {
          seen.add(normalised);
          queries.push(query);
        }
      }
    }
  }
  return { queries, rejected, unparseable };
}

/**
 * Generates shard `spec` of run `runId`, or returns the stored summary when the shard is already in S3.
 * Throws a non-retryable teacher error at once, and a transient one (under its SDK name, for the state machine's
 * Retry) when it cost more than half of the shard's queries: a mostly-empty shard is worth redoing later.
 */
export async function generateShard(
  runId: string,
  spec: ShardSpec,
  options: ShardOptions,
  deps: ShardDependencies,
): Promise<ShardOutcome> {
  const key = runKeys(runId).shard(spec.index);
  const existing = await deps.store.read(key);
  if (existing !== undefined) return { key, skipped: true, summary: parseShardFile(existing, key).summary };

  const now = deps.now ?? Date.now;
  const started = now();
  const teacher = new Teacher(options.retry, deps);
  const written = await writeQueries(spec, options, teacher);

  let fatal: unknown;
  let transient: unknown;
  const labelBatchSize = options.labelBatchSize ?? 1;
  const callTeacher: Converse = (input) => teacher.call('labelling', input);
  const batchReasks = noReasks();
  let batchCalls = 0;
  let batchUnknownIds = 0;
  // labelConcurrency bounds the labelling calls in flight: single calls, or batch calls (a batch's re-asks follow it).
  const results = await mapWithConcurrency(
    chunked(written.queries, labelBatchSize),
    options.labelConcurrency,
    async (batch): Promise<readonly LabelOutcome[] | undefined> => {
      if (fatal !== undefined) return undefined;
      try {
        if (labelBatchSize === 1)
          return await Promise.all(batch.map((query) => labelQuery(query, options, callTeacher)));
        const result = await labelBatch(batch, options, callTeacher);
        batchCalls += result.batchCalls;
        batchUnknownIds += result.unknownIds;
        for (const { kind } of result.reasked) batchReasks[kind]++;
        if (result.transientError !== undefined) transient = result.transientError;
        return result.outcomes;
      } catch (error) {
        if (!isRetryable(error)) {
          fatal ??= error;
          return undefined;
        }
        transient = error;
        // A batch call that failed decides for all of its queries.
        return batch.map((): LabelOutcome => ({ ok: false, reason: 'teacherError', retried: false }));
      }
    },
  );
  if (fatal !== undefined) throw fatal;
  const outcomes = results.flatMap((r) => r ?? []);

  const dropped: Record<DropReason, number> = {
    notWritten: spec.count - written.queries.length,
    unparseableLabel: 0,
    teacherError: 0,
  };
  const examples: ShardExample[] = [];
  let labelRetries = 0;
  for (const outcome of outcomes) {
    if (outcome.retried) labelRetries++;
    if (outcome.ok) examples.push(outcome.example);
    else dropped[outcome.reason]++;
  }
  if (transient !== undefined && dropped.teacherError * 2 > written.queries.length) throw transient;

  const summary: ShardSummary = {
    kind: 'shard',
    index: spec.index,
    target: spec.target,
    domain: spec.domain,
    phrasing: spec.phrasing,
    teacherModelId: options.teacherModelId,
    promptVersions: {
      ...PROMPT_VERSIONS,
      queryWriter: QUERY_WRITER_PROMPT_VERSION,
      ...(labelBatchSize > 1 ? { teacherBatch: TEACHER_BATCH_PROMPT_VERSION } : {}),
    },
    planned: spec.count,
    written: written.queries.length,
    labelled: examples.length,
    dropped,
    writerRejected: written.rejected,
    writerUnparseable: written.unparseable,
    labelRetries,
    teacherCalls: { ...teacher.calls },
    labelBatchSize,
    batchCalls,
    batchReasks,
    batchUnknownIds,
    usage: { ...teacher.usage },
    retries: teacher.retries,
    durationMs: now() - started,
  };
  if (await deps.store.writeOnce(key, serialiseShard(summary, examples))) return { key, skipped: false, summary };
  // Another attempt of the same shard finished first: its file is the shard, ours is discarded.
  const winner = await deps.store.read(key);
  if (winner === undefined) throw new Error(`${key} was reported as existing but cannot be read`);
  return { key, skipped: true, summary: parseShardFile(winner, key).summary };
}
