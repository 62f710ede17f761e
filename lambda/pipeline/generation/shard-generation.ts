import {
  BedrockRuntimeServiceException,
  type ConverseCommandInput,
  type ConverseCommandOutput,
} from '@aws-sdk/client-bedrock-runtime';
import * as z from 'zod';
import {
  batchIds,
  batchLabelMessage,
  batchMaxTokens,
  parseBatchReply,
  TEACHER_BATCH_PROMPT_VERSION,
  teacherBatchPrompt,
  type ReaskKind,
} from './batch-labelling';
import { isRetryable, replyText, sleep as realSleep, usageOf, withRetry } from '../../core/bedrock';
import { mapWithConcurrency } from '../../core/concurrency';
import { MODALITIES, type Weights } from '../../core/modality';
import { PROMPT_VERSIONS, teacherPrompt } from '../../core/prompts';
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
import { parseWeights } from '../../core/weights';

/**
 * One shard of the Generate stage: the teacher writes the shard's queries (several per Converse call), then labels
 * them with the teacher prompt (temperature 0, small maxTokens) with bounded concurrency — one query per call, or
 * `labelBatchSize` per call (batch-labelling.ts) with the items the batch left unanswered re-asked one by one; the
 * shard is stored as one JSONL object written once. Every planned query ends up either labelled or counted under a
 * drop reason.
 */

export type Converse = (input: ConverseCommandInput) => Promise<ConverseCommandOutput>;

/**
 * Who retries the teacher's transient errors — exactly one layer, never both:
 * - `client`: our withRetry (full-jitter exponential backoff); the SDK client must be built with `maxAttempts: 1`.
 * - `sdk`: the SDK client's own retry strategy (e.g. `retryMode: 'adaptive'`); we only count its attempts.
 */
export type TeacherRetryPolicy =
  | {
      readonly layer: 'client';
      readonly maxAttempts: number;
      readonly baseDelayMs: number;
      readonly maxDelayMs: number;
    }
  | { readonly layer: 'sdk' };

/** Label replies are a short JSON object (~30 tokens); the cap keeps each request's quota reservation small. */
export const LABEL_MAX_TOKENS = 80;
export const LABEL_MAX_TOKENS_WITH_REASONING = 250;
/** The retry of an unparseable label samples again instead of repeating the same greedy answer. */
export const LABEL_RETRY_TEMPERATURE = 0.3;
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
const reaskCountsSchema = z.object({
  missing: z.number().int(),
  duplicate: z.number().int(),
  unparsable: z.number().int(),
});
export type ReaskCounts = z.output<typeof reaskCountsSchema>;
export const noReasks = (): ReaskCounts => ({ missing: 0, duplicate: 0, unparsable: 0 });

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

const weightsSchema = z.object(
  Object.fromEntries(MODALITIES.map((m) => [m, z.number()])) as Record<keyof Weights, z.ZodNumber>,
);
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

/** Counts the teacher's calls, tokens and retries while calling it under the retry policy. */
class Teacher {
  readonly calls = { writing: 0, labelling: 0 };
  readonly usage = { inputTokens: 0, outputTokens: 0 };
  retries = 0;

  constructor(
    private readonly options: ShardOptions,
    private readonly deps: ShardDependencies,
  ) {}

  async call(kind: 'writing' | 'labelling', input: ConverseCommandInput): Promise<ConverseCommandOutput> {
    const policy = this.options.retry;
    const attempt = () => this.deps.converse(input);
    try {
      const output =
        policy.layer === 'client'
          ? await withRetry(attempt, {
              ...policy,
              sleep: this.deps.sleep ?? realSleep,
              random: this.deps.random ?? Math.random,
              onRetry: () => void this.retries++,
            })
          : await attempt();
      if (policy.layer === 'sdk') this.retries += Math.max(0, (output.$metadata.attempts ?? 1) - 1);
      this.calls[kind]++;
      const usage = usageOf(output);
      this.usage.inputTokens += usage.inputTokens;
      this.usage.outputTokens += usage.outputTokens;
      return output;
    } catch (error) {
      if (policy.layer === 'sdk' && error instanceof BedrockRuntimeServiceException) {
        this.retries += Math.max(0, (error.$metadata.attempts ?? 1) - 1);
      }
      throw error;
    }
  }
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

export type LabelOutcome =
  | { readonly ok: true; readonly example: ShardExample; readonly retried: boolean }
  | { readonly ok: false; readonly reason: DropReason; readonly retried: boolean };

/**
 * Labels one query with the teacher prompt (temperature 0, small maxTokens); an unparseable reply gets one more try at
 * LABEL_RETRY_TEMPERATURE, then the query is dropped. `call` sends one Converse request (and owns retries of transient
 * errors); used by the Generate stage and by the shadow labeller, so both label exactly alike.
 */
export async function labelQuery(
  query: string,
  options: Pick<ShardOptions, 'teacherModelId' | 'includeReasoning'>,
  call: Converse,
): Promise<LabelOutcome> {
  const system = [{ text: teacherPrompt(options.includeReasoning) }];
  const maxTokens = options.includeReasoning ? LABEL_MAX_TOKENS_WITH_REASONING : LABEL_MAX_TOKENS;
  for (const [attempt, temperature] of [0, LABEL_RETRY_TEMPERATURE].entries()) {
    const reply = await call({
      modelId: options.teacherModelId,
      system,
      messages: [{ role: 'user', content: [{ text: query }] }],
      inferenceConfig: { temperature, maxTokens },
    });
    const parsed = parseWeights(replyText(reply));
    if (parsed.ok) {
      const reasoning = options.includeReasoning ? parsed.reasoning : undefined;
      return {
        ok: true,
        retried: attempt > 0,
        example: { kind: 'example', query, weights: parsed.weights, ...(reasoning ? { reasoning } : {}) },
      };
    }
  }
  return { ok: false, reason: 'unparseableLabel', retried: true };
}

/** What labelling one batch gave: an outcome per query (in order) and what the batch reply left to re-ask. */
export interface BatchLabelResult {
  readonly outcomes: readonly LabelOutcome[];
  /** The queries (by index) the batch reply did not answer usably, and why: each was re-asked with labelQuery. */
  readonly reasked: readonly { readonly index: number; readonly kind: ReaskKind }[];
  /** Reply items for ids that were not asked (ignored). */
  readonly unknownIds: number;
  /** Batch calls made: 1, or 0 when the batch held one query (labelled by labelQuery alone). */
  readonly batchCalls: number;
  /** The transient error that cost a re-asked query (its outcome is teacherError); the caller decides to rethrow. */
  readonly transientError?: unknown;
}

/**
 * Labels `queries` in one teacher call (teacherBatchPrompt, temperature 0, maxTokens sized to the batch), then re-asks
 * on its own — labelQuery, with its one retry at LABEL_RETRY_TEMPERATURE — every query the reply left missing, gave
 * twice or gave invalid weights for: nothing is guessed. One query is labelled by labelQuery alone (the request is the
 * single-query one). An error of the batch call is thrown (it decides for all its queries); a transient error of a
 * re-ask drops that query as teacherError, any other is thrown.
 */
export async function labelBatch(
  queries: readonly string[],
  options: Pick<ShardOptions, 'teacherModelId' | 'includeReasoning'>,
  call: Converse,
): Promise<BatchLabelResult> {
  if (queries.length <= 1) {
    const outcomes = await Promise.all(queries.map((query) => labelQuery(query, options, call)));
    return { outcomes, reasked: [], unknownIds: 0, batchCalls: 0 };
  }
  const ids = batchIds(queries.length);
  const reply = await call({
    modelId: options.teacherModelId,
    system: [{ text: teacherBatchPrompt(options.includeReasoning) }],
    messages: [{ role: 'user', content: [{ text: batchLabelMessage(queries) }] }],
    inferenceConfig: { temperature: 0, maxTokens: batchMaxTokens(queries.length, options.includeReasoning) },
  });
  const parsed = parseBatchReply(replyText(reply), ids, options.includeReasoning);
  const reaskKind = new Map<number, ReaskKind>();
  let unknownIds = 0;
  for (const problem of parsed.problems) {
    if (problem.kind === 'unknown-id') unknownIds++;
    else reaskKind.set(problem.id, problem.kind);
  }
  const outcomes: LabelOutcome[] = [];
  const reasked: { index: number; kind: ReaskKind }[] = [];
  let transientError: unknown;
  // Re-asks one after the other: the batch holds one of the shard's labelConcurrency slots.
  for (const [index, query] of queries.entries()) {
    const id = ids[index] ?? index + 1;
    const label = parsed.labels.get(id);
    if (label) {
      const reasoning = options.includeReasoning ? label.reasoning : undefined;
      outcomes.push({
        ok: true,
        retried: false,
        example: { kind: 'example', query, weights: label.weights, ...(reasoning ? { reasoning } : {}) },
      });
      continue;
    }
    reasked.push({ index, kind: reaskKind.get(id) ?? 'missing' });
    try {
      outcomes.push(await labelQuery(query, options, call));
    } catch (error) {
      if (!isRetryable(error)) throw error;
      transientError = error;
      outcomes.push({ ok: false, reason: 'teacherError', retried: false });
    }
  }
  return { outcomes, reasked, unknownIds, batchCalls: 1, ...(transientError === undefined ? {} : { transientError }) };
}

/** `items` in consecutive chunks of at most `size`. */
export function chunked<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
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
  const teacher = new Teacher(options, deps);
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
