import { z } from 'zod';
import { MAX_LABEL_BATCH_SIZE } from '../../lambda/core/batch-labelling';
import { MODALITIES } from '../../lambda/core/modality';

/**
 * The value types of the config's fields: context arrives as strings from `-c key=value` and as JSON values from
 * cdk.json, so every number and boolean is coerced, and structured values (prices, default weights) accept JSON text.
 */

const MODEL_ID = /^[a-zA-Z0-9.:_/-]{1,2048}$/;
export const modelId = (what: string) =>
  z
    .string()
    .regex(
      MODEL_ID,
      `${what} must be a Bedrock model id, inference profile id or ARN (e.g. "us.amazon.nova-pro-v1:0")`,
    );

export const intIn = (min: number, max: number) => {
  const allowed = `must be a whole number from ${min} to ${max}`;
  return z.coerce.number(allowed).int(allowed).min(min, allowed).max(max, allowed);
};
export const numberIn = (min: number, max: number) => {
  const allowed = `must be a number from ${min} to ${max}`;
  return z.coerce.number(allowed).min(min, allowed).max(max, allowed);
};

/** The retention periods CloudWatch Logs accepts. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

/**
 * `-c retainData=false` arrives as the string "false": z.coerce.boolean would call that true. Only true and false (any
 * case) are read: `yes`, `1`, `on` are refused rather than guessed, the same for every boolean key.
 */
export const BOOLEAN_MESSAGE = 'must be true or false';
export const bool = z.preprocess((v) => {
  if (typeof v !== 'string') return v;
  const s = v.trim().toLowerCase();
  return s === 'true' ? true : s === 'false' ? false : v;
}, z.boolean(BOOLEAN_MESSAGE));

/** A structured value given as JSON text on the command line; text that is not JSON is reported as such. */
export const NOT_JSON_MESSAGE = 'is not valid JSON';
export const json = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v, ctx) => {
    if (typeof v !== 'string') return v;
    try {
      return JSON.parse(v) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: NOT_JSON_MESSAGE, input: v });
      return z.NEVER;
    }
  }, schema);

/**
 * `auto` (calibrate at the start of each run) or a fixed whole number of queries per labelling call. `-c` gives
 * strings, cdk.json numbers: both are read.
 */
export const labelBatchSize = (() => {
  const allowed =
    `must be "auto" (calibrate at the start of each run) or a whole number from 1 to ${MAX_LABEL_BATCH_SIZE} ` +
    '(queries per teacher labelling call, no calibration; 1 labels one query per call)';
  return z.preprocess(
    (v) => {
      if (typeof v !== 'string') return v;
      const text = v.trim();
      return text === 'auto' || text === '' ? text : Number(text);
    },
    z.union([z.literal('auto'), z.number(allowed).int(allowed).min(1, allowed).max(MAX_LABEL_BATCH_SIZE, allowed)], {
      error: allowed,
    }),
  );
})();

export const optionalText = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (v === '' ? undefined : v), schema.optional());

export const priceSchema = z.strictObject({
  inputPer1M: z.number().min(0),
  outputPer1M: z.number().min(0),
});

export const weightsSchema = z
  .strictObject({
    visual: z.number().min(0).max(1),
    audio: z.number().min(0).max(1),
    transcription: z.number().min(0).max(1),
    metadata: z.number().min(0).max(1),
  })
  .refine((w) => Math.abs(MODALITIES.reduce((s, m) => s + w[m], 0) - 1) <= 0.001, 'the four weights must sum to 1');

export const API_TYPES = ['http', 'rest'] as const;

/** API Gateway's two kinds of API the router can be served by (docs/router.md, "HTTP API or REST API"). */
export type ApiType = (typeof API_TYPES)[number];
