import { createHash } from 'node:crypto';
import { isRetryable, usageOf, withRetry, type RetryOptions } from '../core/bedrock';
import { mapWithConcurrency } from '../core/concurrency';
import type { Weights } from '../core/modality';
import { costUsd, type TokenPrice, type TokenUsage } from '../core/prices';
import { productionRecordsFile, productionRecordsKey } from '../core/production-records';
import type { RunStore } from '../core/run-store';
import {
  answeredBy,
  compareWithTeacher,
  type AnsweredBy,
  parseShadowMessage,
  type ShadowSample,
  type ShadowSource,
  type ShadowVariant,
} from '../core/shadow';
import { MAX_LABEL_BATCH_SIZE } from '../core/batch-labelling';
import { chunked, labelBatch } from '../core/label-batch';
import type { Converse } from '../core/teacher-labelling';
import { addCounts, type Redacted, type RedactionCounts, type Redactor } from '../core/redaction';

/**
 * The shadow labeller's logic, for one SQS batch: the teacher labels the sampled queries with the teacher prompt, in
 * chunks of labelBatchSize per call (labelBatch, lambda/core/label-batch.ts, the Generate stage's batch labelling and
 * re-ask rules, so production and synthetic labels are made alike), each label is compared with the
 * answer the router gave, and the labels of the batch are written once as validated production records.
 *
 * Per message: a malformed body can never succeed, so it is dropped (counted, logged) rather than retried into the
 * DLQ; a teacher error that survives the retries (throttling, service faults) or cannot be retried (access denied)
 * fails the message, which SQS redelivers and finally moves to the DLQ (reportBatchItemFailures). Records and quality
 * figures come only from messages that succeeded whole, so a redelivered message is not counted twice.
 *
 * Redaction first (when a redactor is given): each sampled query is masked (lambda/shadow/redaction.ts) before the
 * teacher sees it and before it is written; the record holds the masked text only. A message whose redaction fails
 * is given back to SQS whole, never labelled or stored unmasked.
 */

/** Teacher calls in flight inside one invocation; with the event source's maxConcurrency this bounds quota use. */
export const LABELLER_CALLS_PER_INVOCATION = 4;

/** Backoff on the teacher's throttling inside one invocation, before the message is given back to SQS. */
export const LABELLER_RETRY: Required<Pick<RetryOptions, 'maxAttempts' | 'baseDelayMs' | 'maxDelayMs'>> = {
  maxAttempts: 4,
  baseDelayMs: 250,
  maxDelayMs: 4_000,
};

export interface QueueMessage {
  readonly messageId: string;
  readonly body: string;
}

export interface LabelledSample {
  readonly source: ShadowSource;
  /** Who answered: the source, with a cached answer credited to the model that gave it (answeredBy). */
  readonly answeredBy: AnsweredBy;
  /** The model that answered the query in production. */
  readonly model: string;
  /** The canary variant that answered, when the sample was taken during a canary. */
  readonly variant?: ShadowVariant;
  readonly agreement: 0 | 1;
  readonly weightError: number;
}

export interface ShadowBatchOutcome {
  /** Message ids to give back to SQS (the SQS batch response's batchItemFailures): failed and deferred. */
  readonly failedMessageIds: readonly string[];
  /**
   * Messages not started because the invocation's deadline was near (also in failedMessageIds): SQS delivers them
   * again, and no teacher call was paid for them. Not failures.
   */
  readonly deferredMessageIds: readonly string[];
  readonly labelled: readonly LabelledSample[];
  /** Samples without a label: invalid teacher output (twice), or their message failed. By source. */
  readonly failures: readonly { readonly source: ShadowSource; readonly reason: SampleFailure }[];
  readonly malformed: readonly { readonly messageId: string; readonly reason: string }[];
  /** USD of every teacher call made, by the source of the sample it labelled (failed messages included). */
  readonly teacherCostUsd: Readonly<Partial<Record<ShadowSource, number>>>;
  /** Teacher calls made (batch calls and single-query calls, re-asks included). */
  readonly teacherCalls: number;
  readonly records: { readonly key?: string; readonly written: number; readonly rejected: number };
  /** Entities masked in the queries of the records written, by PII type (empty without a redactor). */
  readonly redacted: Readonly<Redacted['redacted']>;
}

/** Why a sample got no label: the teacher's output, a teacher error after retries, or its redaction failed. */
export type SampleFailure = 'invalid-label' | 'teacher-error' | 'redaction-error';

/** Time kept back at the end of an invocation: the calls in flight finish (with their backoff) and the write lands. */
export const LABELLER_DEADLINE_MARGIN_MS = 30_000;

export interface ShadowBatchOptions {
  readonly teacherModelId: string;
  /** The teacher's price; undefined when it has no entry in the price table (cost is then not reported). */
  readonly teacherPrice?: TokenPrice;
  readonly retry?: RetryOptions;
  /** Queries per teacher call (1 = labelQuery alone); default 1. */
  readonly labelBatchSize?: number;
  /** Milliseconds left before the function times out (the context's getRemainingTimeInMillis); none: no deadline. */
  readonly remainingMs?: () => number;
  /** Stop starting messages when fewer ms than this are left; default LABELLER_DEADLINE_MARGIN_MS. */
  readonly deadlineMarginMs?: number;
}

export interface ShadowBatchDependencies {
  readonly converse: Converse;
  readonly store: RunStore;
  readonly now?: () => Date;
  readonly onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /** Masks personal data in each query before labelling and storing; none: queries are used as sent. */
  readonly redact?: Redactor;
}

type Labelled = LabelledSample & {
  readonly query: string;
  readonly teacherWeights: Weights;
  readonly redacted: Redacted['redacted'];
};

type SampleOutcome =
  | { readonly ok: true; readonly sample: ShadowSample; readonly labelled: Labelled }
  | { readonly ok: false; readonly sample: ShadowSample; readonly reason: 'invalid-label' | 'teacher-error' }
  | { readonly ok: false; readonly sample: ShadowSample; readonly reason: 'deferred' };

interface Work {
  readonly messageId: string;
  readonly sample: ShadowSample;
  readonly redacted: Redacted['redacted'];
}

export async function labelShadowBatch(
  messages: readonly QueueMessage[],
  options: ShadowBatchOptions,
  deps: ShadowBatchDependencies,
): Promise<ShadowBatchOutcome> {
  const malformed: { messageId: string; reason: string }[] = [];
  const parsedWork: { messageId: string; sample: ShadowSample }[] = [];
  for (const message of messages) {
    const parsed = parseShadowMessage(message.body);
    if (!parsed.ok) malformed.push({ messageId: message.messageId, reason: parsed.reason });
    else for (const sample of parsed.message.samples) parsedWork.push({ messageId: message.messageId, sample });
  }
  const { work, unredacted } = await redactAll(parsedWork, options, deps);

  // The samples in message order, in chunks of labelBatchSize: one teacher call each (labelBatch, the Generate
  // stage's batch labelling and re-ask rules); a chunk may span messages.
  const size = Math.max(1, Math.min(MAX_LABEL_BATCH_SIZE, Math.floor(options.labelBatchSize ?? 1)));
  const chunks = chunked(work, size);
  const margin = options.deadlineMarginMs ?? LABELLER_DEADLINE_MARGIN_MS;
  const started = new Set<string>();
  const deferred = new Set<string>();
  const cost: Partial<Record<ShadowSource, number>> = {};
  let teacherCalls = 0;
  const outcomes = await mapWithConcurrency(chunks, LABELLER_CALLS_PER_INVOCATION, async (chunk) => {
    // Near the deadline nothing new starts: a message none of whose samples was sent goes back to SQS untouched
    // (redelivered alone, not with the batch, and billed once). A chunk holding a started message's samples still
    // runs: that message is paid for already.
    const fresh = chunk.filter((w) => !started.has(w.messageId));
    if (options.remainingMs && options.remainingMs() < margin && fresh.length === chunk.length) {
      for (const w of chunk) deferred.add(w.messageId);
      return chunk.map((w): SampleOutcome => ({ ok: false, sample: w.sample, reason: 'deferred' }));
    }
    for (const w of chunk) started.add(w.messageId);
    const usage: TokenUsage[] = [];
    const call: Converse = async (input) => {
      const output = await withRetry(() => deps.converse(input), {
        ...LABELLER_RETRY,
        retryable: isRetryable,
        ...options.retry,
        ...(deps.onRetry ? { onRetry: deps.onRetry } : {}),
      });
      usage.push(usageOf(output));
      return output;
    };
    let result: SampleOutcome[];
    try {
      const batch = await labelBatch(
        chunk.map((w) => w.sample.query),
        { teacherModelId: options.teacherModelId, includeReasoning: false },
        call,
      );
      result = chunk.map(({ sample, redacted }, i): SampleOutcome => {
        const label = batch.outcomes[i];
        if (label?.ok) return { ok: true, sample, labelled: labelledOf(sample, label.example.weights, redacted) };
        return { ok: false, sample, reason: label?.reason === 'teacherError' ? 'teacher-error' : 'invalid-label' };
      });
    } catch {
      result = chunk.map(({ sample }): SampleOutcome => ({ ok: false, sample, reason: 'teacher-error' }));
    }
    teacherCalls += usage.length;
    const price = options.teacherPrice;
    if (price) {
      // A batch call's tokens are shared by its queries: each sample's source carries its share.
      const usd = usage.reduce((sum, u) => sum + costUsd(u, price), 0) / chunk.length;
      for (const { sample } of chunk) cost[sample.answer.source] = (cost[sample.answer.source] ?? 0) + usd;
    }
    return result;
  });

  const flat = outcomes.flat();
  const failedIds = new Set<string>();
  for (const [i, outcome] of flat.entries()) {
    if (!outcome.ok && outcome.reason === 'teacher-error') failedIds.add(work[i]?.messageId ?? '');
  }
  // A message with one sample deferred (its other samples in a chunk that ran) goes back whole.
  for (const id of failedIds) deferred.delete(id);
  const failures: { source: ShadowSource; reason: SampleFailure }[] = [];
  for (const { messageId, sample } of unredacted) {
    failedIds.add(messageId);
    deferred.delete(messageId);
    failures.push({ source: sample.answer.source, reason: 'redaction-error' });
  }
  const labelled: Labelled[] = [];
  const succeeded = new Set<string>();
  let earliest: number | undefined;
  for (const [i, outcome] of flat.entries()) {
    const messageId = work[i]?.messageId ?? '';
    if (deferred.has(messageId)) continue;
    if (failedIds.has(messageId)) {
      failures.push({ source: outcome.sample.answer.source, reason: 'teacher-error' });
      continue;
    }
    succeeded.add(messageId);
    const at = Date.parse(outcome.sample.at);
    if (!Number.isNaN(at)) earliest = Math.min(earliest ?? at, at);
    if (outcome.ok) labelled.push(outcome.labelled);
    else if (outcome.reason !== 'deferred')
      failures.push({ source: outcome.sample.answer.source, reason: outcome.reason });
  }

  const file = productionRecordsFile(labelled.map((l) => ({ query: l.query, teacherWeights: l.teacherWeights })));
  const redacted: RedactionCounts = {};
  const rejected = new Set(file.rejected.map((r) => r.query));
  for (const l of labelled) if (!rejected.has(l.query)) addCounts(redacted, l.redacted);
  let key: string | undefined;
  if (file.records > 0 && succeeded.size > 0) {
    // The key depends only on what was labelled (the messages and their sample times), not on when: a redelivered
    // batch (a timeout, a duplicate delivery) lands on the same key, and writeOnce leaves the first copy.
    const at = earliest === undefined ? (deps.now ?? (() => new Date()))() : new Date(earliest);
    key = productionRecordsKey(at, batchId([...succeeded]));
    await deps.store.writeOnce(key, file.text);
  }
  return {
    failedMessageIds: [...failedIds, ...deferred],
    deferredMessageIds: [...deferred],
    labelled: labelled.map(({ source, answeredBy: by, model, variant, agreement, weightError }) => ({
      source,
      answeredBy: by,
      model,
      ...(variant ? { variant } : {}),
      agreement,
      weightError,
    })),
    failures,
    malformed,
    teacherCostUsd: cost,
    teacherCalls,
    records: { ...(key ? { key } : {}), written: file.records, rejected: file.rejected.length },
    redacted,
  };
}

/**
 * Every sample's query masked by the redactor (at most LABELLER_CALLS_PER_INVOCATION calls in flight, with the
 * teacher's retry rules); without one, the samples as they came. A message with any sample whose redaction failed
 * is left out whole (`unredacted`: given back to SQS), so nothing of it is labelled or stored unmasked.
 */
async function redactAll(
  parsed: readonly { messageId: string; sample: ShadowSample }[],
  options: ShadowBatchOptions,
  deps: ShadowBatchDependencies,
): Promise<{ work: Work[]; unredacted: { messageId: string; sample: ShadowSample }[] }> {
  const redact = deps.redact;
  if (!redact) return { work: parsed.map((w) => ({ ...w, redacted: {} })), unredacted: [] };
  const results = await mapWithConcurrency(parsed, LABELLER_CALLS_PER_INVOCATION, async (w) => {
    try {
      const masked = await withRetry(() => redact(w.sample.query), {
        ...LABELLER_RETRY,
        retryable: isRetryable,
        ...options.retry,
        ...(deps.onRetry ? { onRetry: deps.onRetry } : {}),
      });
      return { ...w, masked };
    } catch {
      return { ...w, masked: undefined };
    }
  });
  const failedMessages = new Set(results.filter((r) => !r.masked).map((r) => r.messageId));
  const work: Work[] = [];
  const unredacted: { messageId: string; sample: ShadowSample }[] = [];
  for (const r of results) {
    if (failedMessages.has(r.messageId) || !r.masked) unredacted.push({ messageId: r.messageId, sample: r.sample });
    else
      work.push({ messageId: r.messageId, sample: { ...r.sample, query: r.masked.text }, redacted: r.masked.redacted });
  }
  return { work, unredacted };
}

function labelledOf(sample: ShadowSample, teacherWeights: Weights, redacted: Redacted['redacted']): Labelled {
  const { agreement, weightError } = compareWithTeacher(teacherWeights, sample.answer.weights);
  return {
    query: sample.query,
    teacherWeights,
    source: sample.answer.source,
    answeredBy: answeredBy(sample.answer),
    model: sample.answer.model,
    ...(sample.answer.variant ? { variant: sample.answer.variant } : {}),
    agreement,
    weightError,
    redacted,
  };
}

/** A stable id of a set of SQS message ids (order-free): the same messages, the same id. */
const batchId = (messageIds: readonly string[]): string =>
  createHash('sha256')
    .update([...messageIds].sort().join('\n'))
    .digest('hex')
    .slice(0, 32);
