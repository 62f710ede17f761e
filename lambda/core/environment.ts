import * as z from 'zod';

/**
 * Typed environment contracts: each function's variables declared once, with the name, how the handler parses the
 * value and how the construct writes it. The construct that creates the function sets
 * `environment: CONTRACT.values({ ...typed values })`; the handler reads `CONTRACT.read(process.env)`. A contract
 * lives in its stage's `environment.ts` (lambda/pipeline/<stage>/environment.ts, lambda/shadow/environment.ts), never
 * in a handler file: the constructs import it at synth, and handler modules create SDK clients when loaded. This module
 * imports nothing but zod for the same reason.
 */

/** A deployment mistake: an environment variable the pipeline stack sets is missing or invalid. */
export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
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

/** One environment variable: its name, how the handler parses it, how the construct writes a typed value. */
export interface Variable<T extends z.ZodType = z.ZodType> {
  readonly name: string;
  readonly type: T;
  write(value: z.output<T>): string;
}

/** A variable written with `String(value)` (text, numbers, booleans), or with `write` (e.g. JSON.stringify). */
export function variable<T extends z.ZodType>(
  name: string,
  type: T,
  write: (value: z.output<T>) => string = String,
): Variable<T> {
  return { name, type, write };
}

/** The typed values of a contract's variables, by key. */
export type EnvironmentValues<V extends Record<string, Variable>> = {
  readonly [K in keyof V]: z.output<V[K]['type']>;
};

export interface EnvironmentContract<V extends Record<string, Variable>> {
  readonly variables: V;
  /** The variable names, as the construct sets them. */
  readonly names: readonly string[];
  /** What the construct sets on the function. */
  values(typed: EnvironmentValues<V>): Record<string, string>;
  /** Parses the function's environment; the ConfigurationError names each bad variable and who sets it. */
  read(env: Readonly<Record<string, string | undefined>>): EnvironmentValues<V>;
}

export function defineEnvironment<V extends Record<string, Variable>>(variables: V): EnvironmentContract<V> {
  const entries = Object.entries(variables) as [keyof V & string, Variable][];
  const schema = z.object(Object.fromEntries(entries.map(([, v]) => [v.name, v.type])));
  return {
    variables,
    names: entries.map(([, v]) => v.name),
    values: (typed) => Object.fromEntries(entries.map(([key, v]) => [v.name, v.write(typed[key])])),
    read: (env) => {
      const result = schema.safeParse(env);
      if (!result.success) {
        const problems = result.error.issues.map((i) => `${i.path.map(String).join('.')}: ${i.message}`);
        throw new ConfigurationError(
          `invalid environment (${problems.join('; ')}): these variables are set by the pipeline stack ` +
            '(the DistillationPipeline stages in lib/constructs/pipeline/stages, and the ShadowLoop) from the CDK ' +
            'configuration — redeploy the pipeline stack.',
        );
      }
      const parsed = result.data as Record<string, unknown>;
      return Object.fromEntries(entries.map(([key, v]) => [key, parsed[v.name]])) as EnvironmentValues<V>;
    },
  };
}
