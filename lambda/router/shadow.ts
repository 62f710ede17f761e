import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Variant } from '../core/active-model';
import { canaryShadowSampleRate, encodeShadowMessage, type ShadowSample } from '../core/shadow';
import type { RouteResult } from './contract';
import { METRIC, NO_PROMPT, type RouterTelemetry } from './router';

/**
 * How long the handler waits, after its reply is built, for a sampled request's hand-off to settle. The send starts
 * as soon as the answers exist and runs while the reply is serialised; an in-Region SendMessage takes a few ms on a
 * warm connection, a new TLS connection some tens. Past this the call is aborted and counted: a sampled request (one
 * in 1/shadowSampleRate) never waits longer, and an unsampled one never waits at all.
 */
export const SHADOW_HANDOFF_TIMEOUT_MS = 100;

/** Sends one message body; rejects on failure. The signal aborts it when the hand-off times out. */
export type ShadowSend = (body: string, signal: AbortSignal) => Promise<void>;

/** SendMessage to the labeller's queue (the router's only SQS permission). */
export const sqsShadowSend =
  (sqs: SQSClient, queueUrl: string): ShadowSend =>
  async (body, signal) => {
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }), { abortSignal: signal });
  };

export interface ShadowHandoffOptions {
  /** Share of queries sampled, (0, 1]. */
  readonly sampleRate: number;
  /** Share of the canary candidate's queries sampled (never below sampleRate): its agreement alarm needs samples. */
  readonly canarySampleRate?: number;
  readonly send: ShadowSend;
  readonly telemetry: Pick<RouterTelemetry, 'count' | 'warnOnce'>;
  readonly timeoutMs?: number;
  /** Uniform in [0, 1): the sampling draw (injected by tests). */
  readonly random?: () => number;
  readonly clock?: () => Date;
}

/**
 * The router's side of the production loop: samples answered queries and hands them to the shadow labeller's queue,
 * off the request path. `offer` decides and starts the send without awaiting it; `settle`, called once the reply is
 * built, waits for what is pending at most `timeoutMs`, then aborts and counts what is left. Neither ever throws:
 * a failure is a metric (ShadowHandoffFailures) and a warning logged once per container and cause, never the caller's.
 *
 * Sampling is a random draw per query, not a hash of it: a hash samples a fixed subset of distinct queries, so one
 * popular query that hashes in would be labelled every time it is asked and swamp the agreement and drift figures;
 * a draw samples each occurrence with the same probability, which is what traffic-weighted figures need.
 */
export class ShadowHandoff {
  /** Hand-offs in flight, each with what gives it up: count it as failed, then abort the call. */
  private readonly pending = new Map<Promise<void>, () => void>();
  private readonly random: () => number;
  private readonly clock: () => Date;
  private readonly timeoutMs: number;
  private readonly canaryRate: number;

  constructor(private readonly options: ShadowHandoffOptions) {
    if (!(options.sampleRate > 0 && options.sampleRate <= 1)) {
      throw new RangeError(`shadow sample rate must be in (0, 1], got ${options.sampleRate}: use 0 to turn it off`);
    }
    this.random = options.random ?? Math.random;
    this.clock = options.clock ?? (() => new Date());
    this.timeoutMs = options.timeoutMs ?? SHADOW_HANDOFF_TIMEOUT_MS;
    this.canaryRate = canaryShadowSampleRate(options.sampleRate, options.canarySampleRate);
  }

  /**
   * Samples the request's queries; when any is drawn, starts one SendMessage with all drawn samples. `promptVersions`
   * (in the order of the queries) says which prompt each answer was asked with; `variants` (during a canary, same
   * order) tags each sample with the variant that answered it.
   */
  offer(
    queries: readonly string[],
    results: readonly RouteResult[],
    promptVersions: readonly string[],
    variants?: readonly Variant[],
  ): void {
    let samples: ShadowSample[] | undefined;
    for (const [i, result] of results.entries()) {
      const query = queries[i];
      const variant = variants?.[i];
      const rate = variant === 'candidate' ? this.canaryRate : this.options.sampleRate;
      if (query === undefined || this.random() >= rate) continue;
      (samples ??= []).push({
        query,
        answer: {
          weights: result.weights,
          dominant: result.dominant,
          source: result.source,
          model: result.model,
          promptVersion: promptVersions[i] ?? NO_PROMPT,
          cached: result.source === 'cache',
          ...(variant ? { variant } : {}),
        },
        at: this.clock().toISOString(),
      });
    }
    if (!samples) return;
    const handoff = { controller: new AbortController(), counted: false };
    const { telemetry } = this.options;
    const fail = (name: string, error: unknown) => {
      if (handoff.counted) return;
      handoff.counted = true;
      telemetry.count(METRIC.shadowHandoffFailures);
      telemetry.warnOnce(
        `shadow:${name}`,
        `cannot hand a sampled query to the shadow queue (${name}): the reply is unchanged; check the queue, ` +
          "its key and the router's sqs:SendMessage permission",
        { error: error instanceof Error ? error.message : String(error) },
      );
    };
    let sending: Promise<void>;
    try {
      sending = this.options.send(encodeShadowMessage(samples), handoff.controller.signal);
    } catch (error) {
      sending = Promise.reject(error); // a sender that throws synchronously is still only counted
    }
    const settled = sending.then(
      () => {
        if (handoff.counted) return;
        handoff.counted = true;
        telemetry.count(METRIC.shadowHandoffs);
      },
      (error: unknown) => fail(error instanceof Error ? error.name : 'Error', error),
    );
    this.pending.set(settled, () => {
      fail('Timeout', new Error(`no answer within ${this.timeoutMs} ms`));
      handoff.controller.abort();
    });
    void settled.finally(() => this.pending.delete(settled));
  }

  /** Waits for pending hand-offs, at most `timeoutMs`; aborts and counts as failed whatever is still running. */
  async settle(): Promise<void> {
    if (this.pending.size === 0) return;
    const all = [...this.pending.keys()];
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.timeoutMs);
    });
    try {
      if ((await Promise.race([Promise.all(all), expired])) !== 'timeout') return;
      for (const promise of all) {
        // Counted now, so the metric is flushed with this request; a late reply is not counted again.
        this.pending.get(promise)?.();
        this.pending.delete(promise);
      }
    } finally {
      clearTimeout(timer);
    }
  }
}
