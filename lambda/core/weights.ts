import { dominantModality, MODALITIES, modalityRecord, type Modality, type Weights } from './modality';

/** How far from 1 the four weights may sum before a reply is rejected (the case study's tolerance). */
export const SUM_TOLERANCE = 0.01;

export type WeightsErrorCode =
  | 'EMPTY_REPLY'
  | 'NO_JSON_OBJECT'
  | 'MISSING_KEY'
  | 'NOT_A_NUMBER'
  | 'OUT_OF_RANGE'
  | 'BAD_SUM'
  /** A `student-v2` answer whose first line is not four whole numbers (student-format.ts). */
  | 'NOT_TENTHS'
  /** A dataset record whose system prompt is no student prompt this release knows (dataset-record.ts). */
  | 'UNKNOWN_PROMPT';

export interface WeightsError {
  readonly code: WeightsErrorCode;
  readonly message: string;
}

export type ParsedWeights =
  | { readonly ok: true; readonly weights: Weights; readonly dominant: Modality; readonly reasoning?: string }
  | { readonly ok: false; readonly error: WeightsError };

const fail = (code: WeightsErrorCode, message: string): ParsedWeights => ({ ok: false, error: { code, message } });

/**
 * Parses a model's reply into routing weights. The reply is untrusted: it may wrap the JSON object in prose or code
 * fences. Requires all four keys with finite numbers in [0,1] summing to within SUM_TOLERANCE of 1; returns the
 * weights normalised to sum exactly 1 in two decimals, or an error that says what was wrong.
 */
export function parseWeights(reply: string): ParsedWeights {
  if (reply.trim() === '') return fail('EMPTY_REPLY', 'the reply is empty');
  const object = firstJsonObject(reply);
  if (!object) return fail('NO_JSON_OBJECT', 'the reply holds no JSON object');
  return validateWeights(object);
}

/** Validates an already-parsed object against the weights contract (see parseWeights). */
export function validateWeights(object: Record<string, unknown>): ParsedWeights {
  const raw: Partial<Record<Modality, number>> = {};
  for (const m of MODALITIES) {
    if (!(m in object)) return fail('MISSING_KEY', `"${m}" is missing`);
    const value = object[m];
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      return fail('NOT_A_NUMBER', `"${m}" must be a number, got ${JSON.stringify(value) ?? String(value)}`);
    }
    if (value < 0 || value > 1) return fail('OUT_OF_RANGE', `"${m}" must be between 0 and 1, got ${value}`);
    raw[m] = value;
  }
  const complete = raw as Record<Modality, number>;
  const sum = MODALITIES.reduce((s, m) => s + complete[m], 0);
  if (Math.abs(sum - 1) > SUM_TOLERANCE + 1e-9) {
    return fail('BAD_SUM', `the weights must sum to 1 (±${SUM_TOLERANCE}), got ${Number(sum.toFixed(4))}`);
  }
  const weights = normaliseWeights(complete);
  const reasoning = typeof object['reasoning'] === 'string' ? object['reasoning'] : undefined;
  return { ok: true, weights, dominant: dominantModality(weights), ...(reasoning ? { reasoning } : {}) };
}

/**
 * Scales weights to sum to 1 and rounds them to two decimals so that the rounded values still sum to exactly 1
 * (largest remainder: the hundredths lost to rounding go to the largest fractions, ties in MODALITIES order).
 */
export const normaliseWeights = (weights: Record<Modality, number>): Weights => apportionWeights(weights, 100);

/**
 * Scales weights to sum to 1 in whole `units` (100: hundredths, 10: tenths) that still sum to exactly 1: the units
 * lost to rounding down go to the largest remainders, ties in MODALITIES order.
 */
export function apportionWeights(weights: Record<Modality, number>, units: number): Weights {
  const sum = MODALITIES.reduce((s, m) => s + weights[m], 0);
  if (!(sum > 0)) throw new RangeError('cannot normalise weights that sum to 0');
  const exact = MODALITIES.map((m) => (weights[m] / sum) * units);
  const whole = exact.map((x) => Math.floor(x + 1e-9));
  let missing = units - whole.reduce((s, c) => s + c, 0);
  const order = exact
    .map((x, i) => ({ i, frac: x - Math.floor(x + 1e-9) }))
    .sort((a, b) => b.frac - a.frac || a.i - b.i);
  for (const { i } of order) {
    if (missing <= 0) break;
    whole[i] = (whole[i] ?? 0) + 1;
    missing--;
  }
  return modalityRecord((_, i) => (whole[i] ?? 0) / units);
}

/** The JSON label (`student-v1`, and the teacher's own form): the four weights, and reasoning when enabled. */
export function formatLabel(weights: Weights, reasoning?: string): string {
  const label: Record<string, number | string> = {};
  for (const m of MODALITIES) label[m] = weights[m];
  if (reasoning !== undefined) label['reasoning'] = reasoning;
  return JSON.stringify(label);
}

/**
 * The first balanced `{…}` in the text that parses as a JSON object (braces inside JSON strings are skipped), so
 * prose, code fences and trailing text around the object do not matter.
 */
export function firstJsonObject(text: string): Record<string, unknown> | undefined {
  for (let start = text.indexOf('{'); start !== -1; start = text.indexOf('{', start + 1)) {
    const end = matchingBrace(text, start);
    if (end === -1) continue; // an unclosed brace in prose: a later one may still open the object
    try {
      const value: unknown = JSON.parse(text.slice(start, end + 1));
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
    } catch {
      // not JSON: try the next opening brace
    }
  }
  return undefined;
}

function matchingBrace(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return i;
  }
  return -1;
}
