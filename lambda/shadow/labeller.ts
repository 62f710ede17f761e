import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { ApplyGuardrailCommand, BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { S3Client } from '@aws-sdk/client-s3';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import * as z from 'zod';
import { lambdaHandler, logger, metrics, tracer } from '../core/runtime';
import { LABELLER_ENVIRONMENT, NO_REDACTION } from './environment';
import { guardrailRedactor, type ApplyGuardrail } from '../core/redaction';
import { priceFor } from '../core/prices';
import { s3RunStore, type RunStore } from '../core/run-store';
import {
  SHADOW_ANSWERED_BY_DIMENSION,
  SHADOW_METRIC,
  SHADOW_SOURCES,
  SHADOW_VARIANT_DIMENSION,
  type ShadowSource,
} from '../core/shadow';
import { labelBatchSizeReader } from './label-batch-size';
import { labelShadowBatch, type ShadowBatchOutcome } from './shadow-labelling';
import type { Converse } from '../core/teacher-labelling';

/**
 * The shadow labeller (SQS event source, reportBatchItemFailures): the teacher labels the router's sampled queries;
 * quality metrics per source and model; the labels land as production records in the dataset bucket. The logic is in
 * lambda/shadow/shadow-labelling.ts; this file wires AWS and publishes the metrics.
 */

// One attempt per SDK call: our withRetry owns the backoff (never two retry layers multiplying).
const bedrockRuntime = tracer.captureAWSv3Client(new BedrockRuntimeClient({ maxAttempts: 1 }));
const s3 = tracer.captureAWSv3Client(new S3Client({}));
const ssm = tracer.captureAWSv3Client(new SSMClient({}));
const converseWithClient: Converse = (input) => bedrockRuntime.send(new ConverseCommand(input));
const applyGuardrailWithClient: ApplyGuardrail = (input) => bedrockRuntime.send(new ApplyGuardrailCommand(input));

export interface LabellerDependencies {
  readonly converse?: Converse;
  /** The redaction guardrail's ApplyGuardrail (default: the Bedrock runtime client). */
  readonly applyGuardrail?: ApplyGuardrail;
  readonly store?: RunStore;
  readonly now?: () => Date;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Milliseconds left before the function times out (the Lambda context's getRemainingTimeInMillis). */
  readonly remainingMs?: () => number;
  /** Queries per teacher call; default: the configured size, or the promoted run's calibrated one (`auto`). */
  readonly labelBatchSize?: () => Promise<{ readonly size: number; readonly from: string; readonly reason?: string }>;
}

/** The container's reader of the batch size (it caches the promoted run's calibrated size for a few minutes). */
let batchSizeReader: { readonly key: string; readonly read: ReturnType<typeof labelBatchSizeReader> } | undefined;

/** Most values one EMF metric carries before Powertools flushes it (and our per-source dimensions with it). */
const VALUES_PER_FLUSH = 90;

/**
 * Publishes the batch's figures. Per sample, agreement (0/1: its Average is the agreement rate, its SampleCount the
 * samples) and weight error, under two dimension sets: by source, and by source and model (the deployment that
 * answered). Totals (labelled, failures, cost) by source and for the whole service, which the alarms read.
 */
export function publishShadowMetrics(target: Metrics, outcome: ShadowBatchOutcome): void {
  const groups = new Map<string, { source: ShadowSource; model: string; agreement: number[]; error: number[] }>();
  for (const s of outcome.labelled) {
    const id = `${s.source}\n${s.model}`;
    const group = groups.get(id) ?? { source: s.source, model: s.model, agreement: [], error: [] };
    group.agreement.push(s.agreement);
    group.error.push(s.weightError);
    groups.set(id, group);
  }
  for (const group of groups.values()) {
    for (let at = 0; at < group.agreement.length; at += VALUES_PER_FLUSH) {
      target.addDimensions({ source: group.source });
      target.addDimensions({ source: group.source, model: group.model });
      for (const v of group.agreement.slice(at, at + VALUES_PER_FLUSH)) {
        target.addMetric(SHADOW_METRIC.agreement, MetricUnit.Count, v);
      }
      for (const v of group.error.slice(at, at + VALUES_PER_FLUSH)) {
        target.addMetric(SHADOW_METRIC.weightError, MetricUnit.NoUnit, v);
      }
      target.publishStoredMetrics();
    }
  }
  publishAnsweredByAgreement(target, outcome);
  publishVariantAgreement(target, outcome);
  const totals = (source?: ShadowSource) => {
    const match = <T extends { source: ShadowSource }>(items: readonly T[]) =>
      items.filter((i) => source === undefined || i.source === source).length;
    const cost = Object.entries(outcome.teacherCostUsd)
      .filter(([s]) => source === undefined || s === source)
      .reduce((sum, [, usd]) => sum + (usd ?? 0), 0);
    return { labelled: match(outcome.labelled), failures: match(outcome.failures), cost };
  };
  for (const source of SHADOW_SOURCES) {
    const t = totals(source);
    if (t.labelled + t.failures === 0 && t.cost === 0) continue;
    target.addDimensions({ source });
    target.addMetric(SHADOW_METRIC.labelled, MetricUnit.Count, t.labelled);
    target.addMetric(SHADOW_METRIC.failures, MetricUnit.Count, t.failures);
    target.addMetric(SHADOW_METRIC.costUsd, MetricUnit.NoUnit, t.cost);
    target.publishStoredMetrics();
  }
  // The service-wide set (no source): what the failure alarm and the dashboard's totals read.
  const all = totals();
  target.addMetric(SHADOW_METRIC.labelled, MetricUnit.Count, all.labelled);
  target.addMetric(SHADOW_METRIC.failures, MetricUnit.Count, all.failures + outcome.malformed.length);
  target.addMetric(SHADOW_METRIC.malformed, MetricUnit.Count, outcome.malformed.length);
  target.addMetric(SHADOW_METRIC.costUsd, MetricUnit.NoUnit, all.cost);
  target.addMetric(SHADOW_METRIC.records, MetricUnit.Count, outcome.records.written);
  target.publishStoredMetrics();
  // Masked entities by PII type (redactPiiTypes): what the records would have held.
  for (const [type, count] of Object.entries(outcome.redacted)) {
    target.addDimensions({ [REDACTED_TYPE_DIMENSION]: type });
    target.addMetric(REDACTED_METRIC, MetricUnit.Count, count ?? 0);
    target.publishStoredMetrics();
  }
}

/** The metric of masked entities, by its PII type dimension. */
export const REDACTED_METRIC = 'RedactedEntities';
export const REDACTED_TYPE_DIMENSION = 'PiiType';

/**
 * Agreement by who answered (AnsweredBy): the student's includes its answers the router served from its cache — they
 * are the student's answers, given to users — so the agreement alarm (AnsweredBy=student) measures every answer of the
 * promoted student, fresh or cached. The per-source figures above still tell cache hits apart.
 */
function publishAnsweredByAgreement(target: Metrics, outcome: ShadowBatchOutcome): void {
  const byAnswerer = new Map<string, number[]>();
  for (const s of outcome.labelled) {
    const values = byAnswerer.get(s.answeredBy) ?? [];
    values.push(s.agreement);
    byAnswerer.set(s.answeredBy, values);
  }
  for (const [by, values] of byAnswerer) {
    for (let at = 0; at < values.length; at += VALUES_PER_FLUSH) {
      target.addDimensions({ [SHADOW_ANSWERED_BY_DIMENSION]: by });
      for (const v of values.slice(at, at + VALUES_PER_FLUSH))
        target.addMetric(SHADOW_METRIC.agreement, MetricUnit.Count, v);
      target.publishStoredMetrics();
    }
  }
}

/**
 * During a canary: agreement per variant, under {service, Variant} (whatever the source: a cached or fallback answer is
 * what that variant's users got). The canary's ShadowAgreement alarm reads the candidate's Average and SampleCount.
 */
function publishVariantAgreement(target: Metrics, outcome: ShadowBatchOutcome): void {
  const byVariant = new Map<string, number[]>();
  for (const s of outcome.labelled) {
    if (!s.variant) continue;
    const values = byVariant.get(s.variant) ?? [];
    values.push(s.agreement);
    byVariant.set(s.variant, values);
  }
  for (const [variant, values] of byVariant) {
    for (let at = 0; at < values.length; at += VALUES_PER_FLUSH) {
      target.addDimensions({ [SHADOW_VARIANT_DIMENSION]: variant });
      for (const v of values.slice(at, at + VALUES_PER_FLUSH))
        target.addMetric(SHADOW_METRIC.agreement, MetricUnit.Count, v);
      target.publishStoredMetrics();
    }
  }
}

export async function labelShadowEvent(event: SQSEvent, deps: LabellerDependencies = {}): Promise<SQSBatchResponse> {
  const env = LABELLER_ENVIRONMENT.read(process.env);
  const records = z.array(z.object({ messageId: z.string(), body: z.string() })).parse(event.Records);
  const store = deps.store ?? s3RunStore(s3, env.bucketName);
  const readerKey = `${env.labelBatchSize}\n${env.activeModelParameterName}\n${env.bucketName}`;
  if (batchSizeReader?.key !== readerKey) {
    const read = labelBatchSizeReader({
      configured: env.labelBatchSize,
      parameterName: env.activeModelParameterName,
      ssm,
      store: s3RunStore(s3, env.bucketName),
    });
    batchSizeReader = { key: readerKey, read };
  }
  const batchSize = await (deps.labelBatchSize ?? batchSizeReader.read)();
  const outcome = await labelShadowBatch(
    records,
    {
      teacherModelId: env.teacherModelId,
      teacherPrice: priceFor(env.teacherModelId, env.priceTable),
      labelBatchSize: batchSize.size,
      ...(deps.remainingMs ? { remainingMs: deps.remainingMs } : {}),
      ...(deps.sleep ? { retry: { sleep: deps.sleep } } : {}),
    },
    {
      converse: deps.converse ?? converseWithClient,
      store,
      ...(env.redactionGuardrailId === NO_REDACTION
        ? {}
        : { redact: guardrailRedactor(deps.applyGuardrail ?? applyGuardrailWithClient, env.redactionGuardrailId) }),
      ...(deps.now ? { now: deps.now } : {}),
      onRetry: (error, attempt, delayMs) =>
        logger.debug('teacher call retried', {
          error: error instanceof Error ? error.name : 'Error',
          attempt,
          delayMs,
        }),
    },
  );
  for (const m of outcome.malformed) {
    // Dropped, not retried: a body that fails the contract never becomes valid (the reason names the field).
    logger.error('malformed shadow message dropped', { messageId: m.messageId, reason: m.reason });
  }
  const deferred = new Set(outcome.deferredMessageIds);
  const failed = outcome.failedMessageIds.filter((id) => !deferred.has(id));
  if (failed.length > 0) {
    logger.warn('messages given back to the queue (teacher errors after retries)', { messageIds: failed });
  }
  if (deferred.size > 0) {
    // Not failures: near the function's timeout nothing new starts, so a batch is never redelivered whole.
    logger.info('messages given back unstarted: the invocation is near its timeout', {
      messageIds: [...deferred],
    });
  }
  logger.info('shadow batch labelled', {
    messages: records.length,
    labelBatchSize: batchSize,
    teacherCalls: outcome.teacherCalls,
    deferred: deferred.size,
    labelled: outcome.labelled.length,
    failures: outcome.failures.length,
    malformed: outcome.malformed.length,
    records: outcome.records,
    redacted: outcome.redacted,
  });
  publishShadowMetrics(metrics, outcome);
  return { batchItemFailures: outcome.failedMessageIds.map((itemIdentifier) => ({ itemIdentifier })) };
}

/**
 * The handler over labelShadowEvent, with the invocation's deadline from its Lambda context. Without the metrics
 * middleware: publishShadowMetrics flushes one EMF record per dimension set (per source and model, per source, per
 * variant, service-wide) and per 90 values, which logMetrics' one flush per invocation cannot express.
 */
export function labellerHandler(deps: LabellerDependencies = {}) {
  // One invocation at a time per execution environment: the context of the running one.
  let context: Context | undefined;
  const wrapped = lambdaHandler((event: SQSEvent) =>
    labelShadowEvent(event, {
      ...deps,
      remainingMs: deps.remainingMs ?? (() => context?.getRemainingTimeInMillis() ?? Number.POSITIVE_INFINITY),
    }),
  );
  return (event: SQSEvent, invocation: Context) => {
    context = invocation;
    return wrapped(event, invocation);
  };
}

export const handler = /* @__PURE__ */ labellerHandler();
