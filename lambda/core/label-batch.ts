import * as z from 'zod';
import {
  batchIds,
  batchLabelMessage,
  batchMaxTokens,
  parseBatchReply,
  teacherBatchPrompt,
  type ReaskKind,
} from './batch-labelling';
import { isRetryable, replyText } from './bedrock';
import { labelQuery, type Converse, type TeacherLabelOptions, type TeacherLabelOutcome } from './teacher-labelling';

/**
 * Labelling several queries in one teacher call (the prompt and the reply's reading are batch-labelling.ts): the batch
 * call, then every query it left without a usable answer re-asked on its own with labelQuery. Used by the Generate
 * shards, by Calibrate and by the shadow labeller (lambda/shadow), so all label exactly alike.
 */

/** What labelling one query gave: the core outcome, or a transient teacher error that cost it. */
export type LabelOutcome =
  TeacherLabelOutcome | { readonly ok: false; readonly reason: 'teacherError'; readonly retried: boolean };

/** Per re-ask kind, the queries a batch reply left without a usable answer. */
export const reaskCountsSchema = z.object({
  missing: z.number().int(),
  duplicate: z.number().int(),
  unparsable: z.number().int(),
});
export type ReaskCounts = z.output<typeof reaskCountsSchema>;
export const noReasks = (): ReaskCounts => ({ missing: 0, duplicate: 0, unparsable: 0 });

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
  options: TeacherLabelOptions,
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
