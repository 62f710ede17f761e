import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { z } from 'zod';
import { RUN_ID_PATTERN } from '../shared/runs';

/** Shared by the generation-stage handlers (each bundle gets its own module-scope instances). */
export const logger = new Logger();
export const tracer = new Tracer();
export const metrics = new Metrics();

/** A deployment mistake: an environment variable the DistillationPipeline construct sets is missing or invalid. */
export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
}

/** The state machine handed a step something it cannot use. */
export class InvalidInput extends Error {
  override readonly name = 'InvalidInput';
}

/** zod types for environment variables (always strings). */
export const envTypes = {
  text: z.string().min(1, 'must be set'),
  int: (min: number, max: number) => z.coerce.number().int().min(min).max(max),
  number: (min: number, max: number) => z.coerce.number().min(min).max(max),
  bool: z.enum(['true', 'false'], 'must be "true" or "false"').transform((v) => v === 'true'),
  /** A JSON value, e.g. the price table. */
  json: <T extends z.ZodType>(schema: T) =>
    z
      .string()
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

/** Parses the function's environment; the error names each bad variable and who sets it. */
export function readEnvironment<T extends z.ZodRawShape>(shape: T): z.output<z.ZodObject<T>> {
  const result = z.object(shape).safeParse(process.env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${i.path.map(String).join('.')}: ${i.message}`);
  throw new ConfigurationError(
    `invalid environment (${problems.join('; ')}): these variables are set by the DistillationPipeline construct ` +
      'from the CDK configuration — redeploy the pipeline stack.',
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
