import * as z from 'zod/mini';
import { MODALITIES, type Weights } from '../core/modality';
import { canaryShadowSampleRate } from '../core/shadow';

/** The environment variables the router reads (set by lib/constructs/router-api.ts from the app's config). */
export const ROUTER_ENV = {
  activeModelParameter: 'ACTIVE_MODEL_PARAMETER_NAME',
  parameterCacheTtlSeconds: 'PARAMETER_CACHE_TTL_SECONDS',
  latencyBudgetMs: 'LATENCY_BUDGET_MS',
  fallbackModelId: 'FALLBACK_MODEL_ID',
  defaultWeights: 'DEFAULT_WEIGHTS',
  cacheSize: 'CACHE_SIZE',
  cacheTtlSeconds: 'CACHE_TTL_SECONDS',
  logQueries: 'LOG_QUERIES',
  routedLogSampleRate: 'ROUTED_LOG_SAMPLE_RATE',
  maxTokens: 'MAX_TOKENS',
  corsAllowOrigins: 'CORS_ALLOW_ORIGINS',
  shadowSampleRate: 'SHADOW_SAMPLE_RATE',
  shadowCanarySampleRate: 'SHADOW_CANARY_SAMPLE_RATE',
  shadowQueueUrl: 'SHADOW_QUEUE_URL',
} as const;

/** The production loop's router side: the share of queries handed to the shadow labeller, and where. */
export interface ShadowSettings {
  /** (0, 1]; a rate of 0 is no ShadowSettings at all (the loop is off). */
  readonly sampleRate: number;
  readonly queueUrl: string;
  /** The rate for the canary candidate's queries (canaryShadowSampleRate: never below sampleRate; absent: the same). */
  readonly canarySampleRate?: number;
}

export interface RouterSettings {
  readonly activeModelParameter: string;
  readonly parameterCacheTtlSeconds: number;
  readonly latencyBudgetMs: number;
  readonly fallbackModelId?: string;
  readonly defaultWeights: Weights;
  readonly cacheSize: number;
  readonly cacheTtlSeconds: number;
  readonly logQueries: boolean;
  /** Share of answered requests whose "routed" line is logged (absent: every one). */
  readonly routedLogSampleRate?: number;
  readonly maxTokens: number;
  /** Origins allowed by CORS (empty: CORS off). */
  readonly corsAllowOrigins: readonly string[];
  /** Shadow sampling; absent when shadowSampleRate is 0 (no SQS client is built, no call is made). */
  readonly shadow?: ShadowSettings;
}

// zod/mini (as in contract.ts): tree-shakable, keeps classic zod out of the router bundle. It has no default English
// messages, so every rule below carries its own.
const int = (min: number, max: number) => {
  const rule = `must be a whole number from ${min} to ${max}`;
  return z.coerce.number(rule).check(z.refine(Number.isInteger, rule), z.minimum(min, rule), z.maximum(max, rule));
};

const WEIGHTS_RULE = 'must be JSON with the four weights visual, audio, transcription, metadata, each from 0 to 1';
const weight = z.number(WEIGHTS_RULE).check(z.minimum(0, WEIGHTS_RULE), z.maximum(1, WEIGHTS_RULE));
const defaultWeightsSchema = z.pipe(
  z.transform((text: unknown) => {
    try {
      return JSON.parse(String(text)) as unknown;
    } catch {
      return text;
    }
  }),
  z
    .strictObject({ visual: weight, audio: weight, transcription: weight, metadata: weight }, WEIGHTS_RULE)
    .check(
      z.refine(
        (w) => Math.abs(MODALITIES.reduce((s, m) => s + w[m], 0) - 1) <= 0.001,
        'the four weights must sum to 1',
      ),
    ),
);

const ORIGINS_RULE = 'must be comma-separated http(s) origins or "*"';

const settingsSchema = z.object({
  [ROUTER_ENV.activeModelParameter]: z.string('must be set').check(z.startsWith('/', 'must be an SSM parameter name')),
  [ROUTER_ENV.parameterCacheTtlSeconds]: int(0, 3600),
  [ROUTER_ENV.latencyBudgetMs]: int(100, 29000),
  // Empty means "no fallback model" (the construct leaves the variable out, a hand-edited one may be blank).
  [ROUTER_ENV.fallbackModelId]: z.optional(
    z
      .string()
      .check(z.regex(/^([a-zA-Z0-9.:_/-]{1,2048})?$/, 'must be a Bedrock model id, inference profile id or ARN')),
  ),
  [ROUTER_ENV.defaultWeights]: defaultWeightsSchema,
  [ROUTER_ENV.cacheSize]: int(0, 1_000_000),
  [ROUTER_ENV.cacheTtlSeconds]: int(0, 86_400),
  [ROUTER_ENV.logQueries]: z.pipe(
    z.enum(['true', 'false'], 'must be true or false'),
    z.transform((v) => v === 'true'),
  ),
  [ROUTER_ENV.routedLogSampleRate]: z.optional(
    z.coerce
      .number('must be a number from 0 to 1')
      .check(z.minimum(0, 'must be a number from 0 to 1'), z.maximum(1, 'must be a number from 0 to 1')),
  ),
  [ROUTER_ENV.maxTokens]: int(16, 1024),
  [ROUTER_ENV.corsAllowOrigins]: z.pipe(
    z.pipe(
      z.optional(z.string(ORIGINS_RULE)),
      z.transform((v) =>
        (v ?? '')
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      ),
    ),
    z.array(z.string().check(z.regex(/^(\*|https?:\/\/[^\s,]+)$/, ORIGINS_RULE))),
  ),
  // Absent or 0: the loop is off. Above 0 the queue URL must be set (checked below, naming both variables).
  [ROUTER_ENV.shadowSampleRate]: z.optional(
    z.coerce
      .number('must be a number from 0 to 1')
      .check(z.minimum(0, 'must be a number from 0 to 1'), z.maximum(1, 'must be a number from 0 to 1')),
  ),
  [ROUTER_ENV.shadowCanarySampleRate]: z.optional(
    z.coerce
      .number('must be a number from 0 to 1')
      .check(z.minimum(0, 'must be a number from 0 to 1'), z.maximum(1, 'must be a number from 0 to 1')),
  ),
  [ROUTER_ENV.shadowQueueUrl]: z.optional(
    z.string().check(z.regex(/^(https:\/\/sqs\.[^\s]+)?$/, 'must be an SQS queue URL (https://sqs.<region>.…)')),
  ),
});

export class RouterSettingsError extends Error {
  constructor(problems: string[]) {
    super(`Invalid router environment:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'RouterSettingsError';
  }
}

/** Reads and validates the router's environment once, at init; a bad value fails with the variable named. */
export function parseRouterSettings(env: Readonly<Record<string, string | undefined>>): RouterSettings {
  const result = settingsSchema.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const name = String(issue.path[0]);
      const given = env[name] === undefined ? 'not set' : `given: ${JSON.stringify(env[name])}`;
      return `${name} (${given}): ${issue.message}`;
    });
    throw new RouterSettingsError([...new Set(problems)]);
  }
  const s = result.data;
  const sampleRate = s[ROUTER_ENV.shadowSampleRate] ?? 0;
  const queueUrl = s[ROUTER_ENV.shadowQueueUrl];
  if (sampleRate > 0 && !queueUrl) {
    throw new RouterSettingsError([
      `${ROUTER_ENV.shadowQueueUrl} (not set): must be the shadow queue's URL when ${ROUTER_ENV.shadowSampleRate} is above 0 ` +
        `(given: ${sampleRate}); set it, or set ${ROUTER_ENV.shadowSampleRate} to 0 to turn shadow sampling off`,
    ]);
  }
  return {
    activeModelParameter: s[ROUTER_ENV.activeModelParameter],
    parameterCacheTtlSeconds: s[ROUTER_ENV.parameterCacheTtlSeconds],
    latencyBudgetMs: s[ROUTER_ENV.latencyBudgetMs],
    ...(s[ROUTER_ENV.fallbackModelId] ? { fallbackModelId: s[ROUTER_ENV.fallbackModelId] } : {}),
    defaultWeights: s[ROUTER_ENV.defaultWeights],
    cacheSize: s[ROUTER_ENV.cacheSize],
    cacheTtlSeconds: s[ROUTER_ENV.cacheTtlSeconds],
    logQueries: s[ROUTER_ENV.logQueries],
    ...(s[ROUTER_ENV.routedLogSampleRate] !== undefined
      ? { routedLogSampleRate: s[ROUTER_ENV.routedLogSampleRate] }
      : {}),
    maxTokens: s[ROUTER_ENV.maxTokens],
    corsAllowOrigins: s[ROUTER_ENV.corsAllowOrigins],
    ...(sampleRate > 0 && queueUrl
      ? {
          shadow: {
            sampleRate,
            queueUrl,
            canarySampleRate: canaryShadowSampleRate(sampleRate, s[ROUTER_ENV.shadowCanarySampleRate]),
          },
        }
      : {}),
  };
}

/** The environment that yields `settings` (what the construct sets on the function). */
export function routerEnvironment(settings: RouterSettings): Record<string, string> {
  return {
    [ROUTER_ENV.activeModelParameter]: settings.activeModelParameter,
    [ROUTER_ENV.parameterCacheTtlSeconds]: String(settings.parameterCacheTtlSeconds),
    [ROUTER_ENV.latencyBudgetMs]: String(settings.latencyBudgetMs),
    ...(settings.fallbackModelId ? { [ROUTER_ENV.fallbackModelId]: settings.fallbackModelId } : {}),
    [ROUTER_ENV.defaultWeights]: JSON.stringify(settings.defaultWeights),
    [ROUTER_ENV.cacheSize]: String(settings.cacheSize),
    [ROUTER_ENV.cacheTtlSeconds]: String(settings.cacheTtlSeconds),
    [ROUTER_ENV.logQueries]: String(settings.logQueries),
    ...(settings.routedLogSampleRate !== undefined
      ? { [ROUTER_ENV.routedLogSampleRate]: String(settings.routedLogSampleRate) }
      : {}),
    [ROUTER_ENV.maxTokens]: String(settings.maxTokens),
    ...(settings.corsAllowOrigins.length > 0
      ? { [ROUTER_ENV.corsAllowOrigins]: settings.corsAllowOrigins.join(',') }
      : {}),
    [ROUTER_ENV.shadowSampleRate]: String(settings.shadow?.sampleRate ?? 0),
    ...(settings.shadow ? { [ROUTER_ENV.shadowQueueUrl]: settings.shadow.queueUrl } : {}),
    ...(settings.shadow?.canarySampleRate !== undefined
      ? {
          [ROUTER_ENV.shadowCanarySampleRate]: String(
            canaryShadowSampleRate(settings.shadow.sampleRate, settings.shadow.canarySampleRate),
          ),
        }
      : {}),
  };
}
