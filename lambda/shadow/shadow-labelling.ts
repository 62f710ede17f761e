import { createHash } from 'node:crypto';
import { isRetryable, usageOf, withRetry, type RetryOptions } from '../core/bedrock';
import { mapWithConcurrency } from '../core/concurrency';
import type { Weights } from '../core/modality';
import { costUsd, type TokenPrice, type TokenUsage } from '../core/prices';
import { productionRecordsFile, productionRecordsKey } from '../core/production-records';
import type { RunStore } from '../core/run-store';
import {
  compareWithTeacher,
  parseShadowMessage,
  type ShadowSample,
  type ShadowSource,
  type ShadowVariant,
} from '../core/shadow';
import { labelQuery, type Converse } from '../core/teacher-labelling';

/**
 * The shadow labeller's logic, for one SQS batch: the teacher labels every sampled query with the teacher prompt (the
 * labelQuery the Generate stage uses, lambda/core/teacher-labelling.ts, so production and synthetic labels are made alike), each label is compared with the
 * answer the router gave, and the labels of the batch are written once as validated production records.
 *
 * Per message: a malformed body can never succeed, so it is dropped (counted, logged) rather than retried into the
 * DLQ; a teacher error that survives the retries (throttling, service faults) or cannot be retried (access denied)
 * fails the message, which SQS redelivers and finally moves to the DLQ (reportBatchItemFailures). Records and quality
 * figures come only from messages that succeeded whole, so a redelivered message is not counted twice.
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
  /** The model that answered the query in production. */
  readonly model: string;
  /** The canary variant that answered, when the sample was taken during a canary. */
  readonly variant?: ShadowVariant;
  readonly agreement: 0 | 1;
  readonly weightError: number;
}

export interface ShadowBatchOutcome {
  /** Message ids to give back to SQS (the SQS batch response's batchItemFailures). */
  readonly failedMessageIds: readonly string[];
  readonly labelled: readonly LabelledSample[];
  /** Samples without a label: invalid teacher output (twice), or their message failed. By source. */
  readonly failures: readonly { readonly source: ShadowSource; readonly reason: 'invalid-label' | 'teacher-error' }[];
  readonly malformed: readonly { readonly messageId: string; readonly reason: string }[];
  /** USD of every teacher call made, by the source of the sample it labelled (failed messages included). */
  readonly teacherCostUsd: Readonly<Partial<Record<ShadowSource, number>>>;
  readonly records: { readonly key?: string; readonly written: number; readonly rejected: number };
}

export interface ShadowBatchOptions {
  readonly teacherModelId: string;
  /** The teacher's price; undefined when it has no entry in the price table (cost is then not reported). */
  readonly teacherPrice?: TokenPrice;
  readonly retry?: RetryOptions;
}

export interface ShadowBatchDependencies {
  readonly converse: Converse;
  readonly store: RunStore;
  readonly now?: () => Date;
  readonly onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
}

type Labelled = LabelledSample & { readonly query: string; readonly teacherWeights: Weights };

type SampleOutcome =
  | { readonly ok: true; readonly sample: ShadowSample; readonly labelled: Labelled }
  | { readonly ok: false; readonly sample: ShadowSample; readonly reason: 'invalid-label' }
  | { readonly ok: false; readonly sample: ShadowSample; readonly reason: 'teacher-error'; readonly error: unknown };

export async function labelShadowBatch(
  messages: readonly QueueMessage[],
  options: ShadowBatchOptions,
  deps: ShadowBatchDependencies,
): Promise<ShadowBatchOutcome> {
  const malformed: { messageId: string; reason: string }[] = [];
  const work: { messageId: string; sample: ShadowSample }[] = [];
  for (const message of messages) {
    const parsed = parseShadowMessage(message.body);
    if (!parsed.ok) malformed.push({ messageId: message.messageId, reason: parsed.reason });
    else for (const sample of parsed.message.samples) work.push({ messageId: message.messageId, sample });
  }

  const cost: Partial<Record<ShadowSource, number>> = {};
  const outcomes = await mapWithConcurrency(work, LABELLER_CALLS_PER_INVOCATION, async ({ sample }) => {
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
    let outcome: SampleOutcome;
    try {
      const label = await labelQuery(
        sample.query,
        { teacherModelId: options.teacherModelId, includeReasoning: false },
        call,
      );
      if (label.ok) {
        const { agreement, weightError } = compareWithTeacher(label.example.weights, sample.answer.weights);
        outcome = {
          ok: true,
          sample,
          labelled: {
            query: sample.query,
            teacherWeights: label.example.weights,
            source: sample.answer.source,
            model: sample.answer.model,
            ...(sample.answer.variant ? { variant: sample.answer.variant } : {}),
            agreement,
            weightError,
          },
        };
      } else outcome = { ok: false, sample, reason: 'invalid-label' };
    } catch (error) {
      outcome = { ok: false, sample, reason: 'teacher-error', error };
    }
    if (options.teacherPrice) {
      for (const u of usage) {
        cost[sample.answer.source] = (cost[sample.answer.source] ?? 0) + costUsd(u, options.teacherPrice);
      }
    }
    return outcome;
  });

  const failedIds = new Set<string>();
  for (const [i, outcome] of outcomes.entries()) {
    if (!outcome.ok && outcome.reason === 'teacher-error') failedIds.add(work[i]?.messageId ?? '');
  }
  const failures: { source: ShadowSource; reason: 'invalid-label' | 'teacher-error' }[] = [];
  const labelled: Labelled[] = [];
  const succeeded = new Set<string>();
  let earliest: number | undefined;
  for (const [i, outcome] of outcomes.entries()) {
    const messageId = work[i]?.messageId ?? '';
    if (failedIds.has(messageId)) {
      failures.push({ source: outcome.sample.answer.source, reason: 'teacher-error' });
      continue;
    }
    succeeded.add(messageId);
    const at = Date.parse(outcome.sample.at);
    if (!Number.isNaN(at)) earliest = Math.min(earliest ?? at, at);
    if (outcome.ok) labelled.push(outcome.labelled);
    else failures.push({ source: outcome.sample.answer.source, reason: outcome.reason });
  }

  const file = productionRecordsFile(labelled.map((l) => ({ query: l.query, teacherWeights: l.teacherWeights })));
  let key: string | undefined;
  if (file.records > 0 && succeeded.size > 0) {
    // The key depends only on what was labelled (the messages and their sample times), not on when: a redelivered
    // batch (a timeout, a duplicate delivery) lands on the same key, and writeOnce leaves the first copy.
    const at = earliest === undefined ? (deps.now ?? (() => new Date()))() : new Date(earliest);
    key = productionRecordsKey(at, batchId([...succeeded]));
    await deps.store.writeOnce(key, file.text);
  }
  return {
    failedMessageIds: [...failedIds],
    labelled: labelled.map(({ source, model, variant, agreement, weightError }) => ({
      source,
      model,
      ...(variant ? { variant } : {}),
      agreement,
      weightError,
    })),
    failures,
    malformed,
    teacherCostUsd: cost,
    records: { ...(key ? { key } : {}), written: file.records, rejected: file.rejected.length },
  };
}

/** A stable id of a set of SQS message ids (order-free): the same messages, the same id. */
const batchId = (messageIds: readonly string[]): string =>
  createHash('sha256')
    .update([...messageIds].sort().join('\n'))
    .digest('hex')
    .slice(0, 32);
