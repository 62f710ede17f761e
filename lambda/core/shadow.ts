import * as z from 'zod/mini';
import { CUSTOM_MODEL_DEPLOYMENT_ARN } from './active-model';
import { MODALITIES, dominantModality, type Modality, type Weights } from './modality';

/**
 * The production loop's hand-off between the router and the shadow labeller: what one sampled request sends (one SQS
 * message per sampled request, 1-25 samples, one per query), how the labeller reads it back, and how a teacher label
 * is compared with the answer the router gave. zod/mini: the router bundles this module (classic zod would add
 * ~400 KiB to its cold start).
 */

export const SHADOW_MESSAGE_VERSION = 'shadow-v1';

/** Who answered the sampled query (the router's `source`): metrics are reported per source. */
export const SHADOW_SOURCES = ['student', 'fallback-model', 'default', 'cache'] as const;
export type ShadowSource = (typeof SHADOW_SOURCES)[number];

/**
 * The canary variant that answered (lambda/core/active-model.ts Variant): present only while a canary runs, so the
 * messages of a router without a canary are the same as before (an optional field: version shadow-v1 still holds).
 */
export const SHADOW_VARIANTS = ['incumbent', 'candidate'] as const;
export type ShadowVariant = (typeof SHADOW_VARIANTS)[number];

/** Most samples in one message: a batch request of the router holds at most 25 queries. */
export const MAX_SAMPLES_PER_MESSAGE = 25;

const unit = z.number('must be a number').check(z.minimum(0, 'must be >= 0'), z.maximum(1, 'must be <= 1'));
const weightsSchema = z.strictObject({ visual: unit, audio: unit, transcription: unit, metadata: unit });

export const shadowSampleSchema = z.strictObject({
  /** The query as routed (trimmed). */
  query: z.string('must be a string').check(z.minLength(1, 'must not be empty'), z.maxLength(512, 'must be <= 512')),
  answer: z.strictObject({
    weights: weightsSchema,
    dominant: z.enum(MODALITIES, 'must be a modality'),
    source: z.enum(SHADOW_SOURCES, `must be one of ${SHADOW_SOURCES.join(', ')}`),
    /** The model that answered (deployment ARN, model id, or "default-weights"). */
    model: z.string('must be a string').check(z.minLength(1, 'must not be empty')),
    /** The prompt version the answer was asked with (a student version, the teacher prompt, or "none"). */
    promptVersion: z.string('must be a string'),
    /** True when the answer came from the router's cache (source "cache"). */
    cached: z.boolean('must be true or false'),
    /** During a canary: the variant the query was routed to (the labeller reports agreement per variant). */
    variant: z.optional(z.enum(SHADOW_VARIANTS, `must be one of ${SHADOW_VARIANTS.join(', ')}`)),
  }),
  /** When the router answered (ISO 8601). */
  at: z.iso.datetime('must be an ISO 8601 date-time'),
});
export type ShadowSample = z.output<typeof shadowSampleSchema>;

export const shadowMessageSchema = z.strictObject({
  version: z.literal(SHADOW_MESSAGE_VERSION, `must be "${SHADOW_MESSAGE_VERSION}"`),
  samples: z
    .array(shadowSampleSchema)
    .check(z.minLength(1, 'must hold a sample'), z.maxLength(MAX_SAMPLES_PER_MESSAGE, 'too many samples')),
});
export type ShadowMessage = z.output<typeof shadowMessageSchema>;

/** The SQS message body the router sends. */
export const encodeShadowMessage = (samples: readonly ShadowSample[]): string =>
  JSON.stringify({ version: SHADOW_MESSAGE_VERSION, samples: [...samples] } satisfies ShadowMessage);

export type ParsedShadowMessage =
  { readonly ok: true; readonly message: ShadowMessage } | { readonly ok: false; readonly reason: string };

/** Reads a message body; a malformed one is reported with the field at fault (it can never become valid: no retry). */
export function parseShadowMessage(body: string): ParsedShadowMessage {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { ok: false, reason: 'the body is not JSON' };
  }
  const parsed = shadowMessageSchema.safeParse(json);
  if (parsed.success) return { ok: true, message: parsed.data };
  const issue = parsed.error.issues[0];
  return { ok: false, reason: `${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}` };
}

/** How the router's answer compares with the teacher's label for one query. */
export interface ShadowComparison {
  /** 1 when both put the largest weight on the same modality, else 0 (its Average over samples is the agreement). */
  readonly agreement: 0 | 1;
  /** Mean absolute weight difference over the four modalities, 0-1 (0.5 at most for two distributions). */
  readonly weightError: number;
  readonly teacherDominant: Modality;
}

export function compareWithTeacher(teacher: Weights, answered: Weights): ShadowComparison {
  const teacherDominant = dominantModality(teacher);
  const error = MODALITIES.reduce((sum, m) => sum + Math.abs(teacher[m] - answered[m]), 0) / MODALITIES.length;
  return {
    agreement: teacherDominant === dominantModality(answered) ? 1 : 0,
    weightError: Number(error.toFixed(6)),
    teacherDominant,
  };
}

/**
 * A stable number in [0, 1) for a query (32-bit FNV-1a of its normalised text): the same query always lands in the
 * same place, so a split by `queryBucket(key) < share` is deterministic per query (e.g. canary variants). Pass the
 * router's cache key (normaliseQuery) so that case and whitespace do not move a query between variants.
 */
export function queryBucket(normalisedQuery: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < normalisedQuery.length; i++) {
    hash ^= normalisedQuery.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) / 0x1_0000_0000;
}

/**
 * The shadow sample rate of the canary candidate's queries: the configured canary rate, never below the everyday rate
 * (absent: the everyday rate), at most 1. The one clamp the router's settings, its hand-off and the construct's
 * environment go through.
 */
export const canaryShadowSampleRate = (sampleRate: number, canarySampleRate?: number): number =>
  Math.min(1, Math.max(sampleRate, canarySampleRate ?? sampleRate));

/** Which kind of model an answer came from: the router's source, with a cache hit credited to the model that gave it. */
export type AnsweredBy = 'student' | 'fallback-model' | 'default';

/**
 * Who answered a sampled query. A cache hit repeats an answer a model gave earlier, to the same deployment (the
 * cache's entries are valid only for the target that answered them): a cached student answer is the student's, so it
 * counts towards the student's agreement (the router's cache stores the model, a custom-model deployment ARN for the
 * student); any other cached answer is the fallback model's (static defaults are never cached).
 */
export function answeredBy(answer: Pick<ShadowSample['answer'], 'source' | 'model'>): AnsweredBy {
  if (answer.source !== 'cache') return answer.source;
  return CUSTOM_MODEL_DEPLOYMENT_ARN.test(answer.model) ? 'student' : 'fallback-model';
}

/** The dimension of the labeller's agreement by who answered (the agreement alarm reads AnsweredBy=student). */
export const SHADOW_ANSWERED_BY_DIMENSION = 'AnsweredBy';

/** The dimension of the labeller's per-variant agreement (the router's metrics use the same name). */
export const SHADOW_VARIANT_DIMENSION = 'Variant';

/** The labeller's and the drift function's metric names (namespace DistilledIntentRouter, service intent-router-shadow). */
export const SHADOW_METRIC = {
  agreement: 'ShadowDominantAgreement',
  weightError: 'ShadowWeightError',
  labelled: 'ShadowSamplesLabelled',
  failures: 'ShadowLabelFailures',
  costUsd: 'ShadowTeacherCostUsd',
  malformed: 'ShadowMalformedMessages',
  records: 'ShadowRecordsWritten',
  drift: 'ShadowDrift',
  driftSamples: 'ShadowDriftSamples',
} as const;
