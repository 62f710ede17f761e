import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import * as z from 'zod';
import { RUN_ID_PATTERN } from './runs';

/** Shared by the pipeline handlers (each bundle gets its own module-scope instances). */
export const logger = new Logger();
export const tracer = new Tracer();
export const metrics = new Metrics();

/** A deployment mistake: an environment variable the pipeline stack sets is missing or invalid. */
export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
}

/** The state machine handed a step something it cannot use. */
export class InvalidInput extends Error {
  override readonly name = 'InvalidInput';
}

const setText = z.string('must be set').min(1, 'must be set');

/** zod types for environment variables (always strings); number bounds are optional (config.ts validates ranges). */
export const envTypes = {
  text: setText,
  int: (min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER) =>
    setText.pipe(z.coerce.number<string>().int().min(min).max(max)),
  /** A finite number. */
  number: (min = -Number.MAX_VALUE, max = Number.MAX_VALUE) =>
    setText.pipe(z.coerce.number<string>().min(min).max(max)),
  bool: z.enum(['true', 'false'], 'must be "true" or "false"').transform((v) => v === 'true'),
  /** A JSON value, e.g. the price table. */
  json: <T extends z.ZodType>(schema: T) =>
    setText
      .transform((text, ctx) => {
        try {
          return JSON.parse(text) as unknown;
        } catch {
          ctx.addIssue({ code: 'custom', message: 'must be JSON' });
          return z.NEVER;
        }
      })
      .pipe(schema),
};

/** `PRICE_TABLE`: the built-in prices merged with the `prices` config, as the construct sets it. */
export const priceTableEnv = envTypes.json(
  z.record(z.string(), z.object({ inputPer1M: z.number().min(0), outputPer1M: z.number().min(0) })),
);

/** Parses the function's environment; the error names each bad variable and who sets it. */
export function readEnvironment<T extends z.ZodRawShape>(shape: T): z.output<z.ZodObject<T>> {
  const result = z.object(shape).safeParse(process.env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${i.path.map(String).join('.')}: ${i.message}`);
  throw new ConfigurationError(
    `invalid environment (${problems.join('; ')}): these variables are set by the pipeline stack ` +
      '(DistillationPipeline and TrainingStages constructs) from the CDK configuration — redeploy the pipeline stack.',
  );
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
