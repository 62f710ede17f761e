import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import * as z from 'zod';
import { RUN_ID_PATTERN } from './runs';

// The environment's types and error live in environment.ts (imported at synth by the constructs, so free of SDK
// clients and Powertools instances); re-exported for the handlers and domain modules that import them from here.
export { ConfigurationError, envTypes, priceTableEnv } from './environment';

/** Shared by the pipeline handlers (each bundle gets its own module-scope instances). */
export const logger = new Logger();
export const tracer = new Tracer();
export const metrics = new Metrics();

/** A handler as Lambda calls it: the event and the invocation's context. */
export type LambdaHandler<E, R> = (event: E, context: Context) => Promise<R>;

export interface LambdaHandlerOptions {
  /** The step records metrics: they are published once, after the invocation (also when it throws). */
  readonly metrics?: boolean;
}

/**
 * logMetrics, publishing only when the invocation recorded a metric: Powertools 2.35 warns "No application metrics to
 * publish" on every empty flush (`throwOnEmptyMetrics: false`, the default, only turns the throw into that warning),
 * and a step that reuses its stored result (a retry, a redrive) records none.
 */
function publishRecordedMetrics(): ReturnType<typeof logMetrics> {
  const inner = logMetrics(metrics);
  const publish: typeof inner.after = (request) => (metrics.hasStoredMetrics() ? inner.after?.(request) : undefined);
  return { before: inner.before, after: publish, onError: publish };
}

/**
 * A step's Lambda handler: `step` (the testable core) behind the Powertools middleware. Every log line carries the
 * invocation's request id, function and cold start (injectLambdaContext); the invocation is an X-Ray subsegment
 * annotated with ColdStart and Service, its error recorded (captureLambdaHandler; not its response, which the state
 * machine's history already holds); with `metrics`, what the step recorded is flushed as one EMF record (logMetrics).
 *
 * Each handler's call carries a `@__PURE__` annotation: building the wrapper has no side effects, and the annotation
 * lets esbuild drop a handler its bundle does not use (Assemble imports Plan's module to read the plan, Start canary
 * Promote's for its input schema).
 */
export function lambdaHandler<E, R>(
  step: (event: E) => Promise<R>,
  options: LambdaHandlerOptions = {},
): LambdaHandler<E, R> {
  // timeoutEarlyInMillis 0: no middy abort before Lambda's own timeout, so a timed-out step fails as it always has.
  const wrapped = middy((event: E) => step(event), { timeoutEarlyInMillis: 0 })
    .use(captureLambdaHandler(tracer, { captureResponse: false }))
    .use(options.metrics ? [publishRecordedMetrics()] : [])
    .use(injectLambdaContext(logger));
  return (event, context) => wrapped(event, context);
}

/** The state machine handed a step something it cannot use. */
export class InvalidInput extends Error {
  override readonly name = 'InvalidInput';
}

/** Validates a handler's input from the state machine; the error names the field and the step. */
export function parseInput<T extends z.ZodType>(schema: T, event: unknown, step: string): z.output<T> {
  const result = schema.safeParse(event);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.map(String).join('.') || 'input'}: ${i.message}`);
    throw new InvalidInput(`${step}: invalid input from the state machine: ${problems.join('; ')}`);
  }
  return result.data;
}

export const runIdField = z.string().regex(RUN_ID_PATTERN, 'must be a run id (the execution name)');

/** An object an earlier step returned, passed on as it is (its producer's type vouches for its shape). */
export const passthrough = <T>() => z.custom<T>((v) => typeof v === 'object' && v !== null);

/** The error's SDK name (ConflictException, ThrottlingException…), or undefined. */
export const errorName = (error: unknown): string | undefined => (error instanceof Error ? error.name : undefined);

/** Dates in SDK responses become ISO strings so that the state stays plain JSON. */
export const isoDates = <T>(value: T): unknown => JSON.parse(JSON.stringify(value ?? {})) as unknown;
