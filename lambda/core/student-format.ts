import { dominantModality, MODALITIES, modalityRecord, type Weights } from './modality';
import { TEACHER_PROMPT_VERSION, teacherPrompt } from './teacher-prompt';
import {
  apportionWeights,
  formatLabel,
  parseWeights,
  validateWeights,
  type ParsedWeights,
  type WeightsErrorCode,
} from './weights';

/**
 * The student's answer formats, one per prompt version a student can be asked with. The prompt text is stored in every training record
 * and must be sent unchanged at inference, and the student answers in the format its records taught it: so the prompt
 * version a model was trained with decides its system prompt, its parser and its output budget, everywhere a student
 * is asked (router, evaluation, canary). A new version needs a new distillation run; a model trained on an older
 * version keeps working because its version stays here.
 *
 * - `student-v1`: a JSON object of four weights, 24 tokens on average (lambda/pipeline/cost/token-counts.ts).
 * - `student-v2`: the four weights in tenths, as four whole numbers in a fixed order: `9 0 0 1` (7 tokens measured
 *   with a BPE tokenizer; docs/answer-formats.md). Tenths lose nothing of the teacher's labels,
 *   whose rules ask for one decimal place.
 * - `student-v3`: `student-v2`'s tenths behind a minimal prompt, for a fine-tuned student (prompt distillation: it
 *   learned the rules and the format from the pairs, so the prompt need not state them). Not for distillation: there
 *   Bedrock's teacher answers the records' prompt itself, and this one tells it neither (`selfDescribing` false).
 * - `teacher-v1`: the teacher's own prompt and JSON answer, for a distillation whose teacher should see the rules;
 *   the student is then asked with the whole teacher prompt at inference and pays for it.
 */

export const STUDENT_PROMPT_VERSIONS = ['student-v1', 'student-v2', 'student-v3', TEACHER_PROMPT_VERSION] as const;
export type StudentPromptVersion = (typeof STUDENT_PROMPT_VERSIONS)[number];
/** What every model was trained with before formats had versions: a value that names none means this one. */
export const LEGACY_STUDENT_PROMPT_VERSION: StudentPromptVersion = 'student-v1';
/**
 * What new runs train with when nothing says otherwise: the distillation candidate's records, a reused model, the
 * answers of a run without candidates. A candidate names its own version (lambda/core/candidates.ts).
 */
export const CURRENT_STUDENT_PROMPT_VERSION: StudentPromptVersion = 'student-v2';
/** The minimal prompt of a fine-tuned student. */
export const FINE_TUNED_STUDENT_PROMPT_VERSION: StudentPromptVersion = 'student-v3';

export const isStudentPromptVersion = (value: unknown): value is StudentPromptVersion =>
  typeof value === 'string' && (STUDENT_PROMPT_VERSIONS as readonly string[]).includes(value);

/** How one model's replies are read: by the prompt version it was sent. */
export interface AnswerFormat {
  readonly promptVersion: string;
  readonly parse: (reply: string) => ParsedWeights;
}

export interface StudentFormat extends AnswerFormat {
  readonly promptVersion: StudentPromptVersion;
  /** The system prompt of the training records and of every call to a student trained on them. */
  readonly prompt: string;
  /** The assistant turn of a training record: the label in this format (and the reasoning when enabled). */
  readonly render: (weights: Weights, reasoning?: string) => string;
  /**
   * What is wrong with a training label, or undefined: stricter than `parse` (which reads model replies), a label
   * must be exactly what `render` writes, since the student learns it character for character.
   */
  readonly checkLabel: (label: string) => string | undefined;
  /**
   * The output budget of a call to this student, when the format bounds it; undefined: the caller's configured
   * budget (`routerMaxTokens`), for a format whose length varies.
   */
  readonly maxTokens?: number;
  /**
   * The prompt states the task and the answer format, so a model that never saw the training pairs can answer it:
   * required of a distillation's records, whose prompts Bedrock's teacher answers itself.
   */
  readonly selfDescribing: boolean;
}

const STUDENT_V1_PROMPT =
  'Route this video search query. Reply with JSON weights for visual, audio, transcription, metadata: each 0-1, summing to 1.';

const STUDENT_V2_PROMPT =
  'Route this video search query. Reply with the weights of visual, audio, transcription, metadata in tenths: ' +
  'four integers 0-10, space-separated, summing to 10.';

/**
 * A fine-tuned student's prompt: the task in six tokens (o200k_base), nothing of the rules or the format, which it
 * learned from the pairs. Every routed query pays for the prompt, so it is as short as a prompt that still says what
 * the call is for can be (npm run token-counts).
 */
const STUDENT_V3_PROMPT = 'Route this video search query.';

/** Tenths per unit weight in `student-v2`. */
export const TENTHS = 10;

/**
 * The longest valid `student-v2` answer is `10 0 0 0`, 8 characters; no tokenizer spends more than one token on an
 * ASCII character, so 8 tokens hold every valid answer whatever Nova's tokenizer is, and 2 more leave room for a line
 * break. A student that rambles is cut there: what it would add cannot be a valid answer. The reasoning line of a
 * student trained with `includeReasoning` is cut too; the router never returns it.
 */
export const STUDENT_V2_MAX_TOKENS = 10;

const fail = (code: WeightsErrorCode, message: string): ParsedWeights => ({ ok: false, error: { code, message } });

const TENTHS_LINE = /^[ \t]*(\d{1,2})[ \t]+(\d{1,2})[ \t]+(\d{1,2})[ \t]+(\d{1,2})[ \t]*$/;

/**
 * Reads a `student-v2` answer: the first line must be exactly four whole numbers 0–10 summing to 10, in MODALITIES
 * order; a second line, if any, is the reasoning. Nothing else is guessed: `0.9 0 0 0.1`, `9,0,0,1`, three numbers
 * or prose before the numbers are refused with what was wrong.
 */
export function parseTenths(reply: string): ParsedWeights {
  const trimmed = reply.replace(/^\s*\n/, '').trimEnd();
  if (trimmed.trim() === '') return fail('EMPTY_REPLY', 'the reply is empty');
  const newline = trimmed.indexOf('\n');
  const first = newline === -1 ? trimmed : trimmed.slice(0, newline);
  const match = TENTHS_LINE.exec(first.replace(/\r$/, ''));
  if (!match) {
    return fail(
      'NOT_TENTHS',
      `the first line must be four whole numbers 0-10 separated by spaces, got ${JSON.stringify(first.slice(0, 60))}`,
    );
  }
  const tenths = match.slice(1, 5).map(Number);
  const over = tenths.findIndex((t) => t > TENTHS);
  if (over !== -1)
    return fail('OUT_OF_RANGE', `"${MODALITIES[over]}" must be between 0 and 10 tenths, got ${tenths[over]}`);
  const sum = tenths.reduce((s, t) => s + t, 0);
  if (sum !== TENTHS) return fail('BAD_SUM', `the tenths must sum to 10, got ${sum}`);
  const weights = modalityRecord((_, i) => (tenths[i] ?? 0) / TENTHS);
  const reasoning = newline === -1 ? '' : trimmed.slice(newline + 1).trim();
  return { ok: true, weights, dominant: dominantModality(weights), ...(reasoning ? { reasoning } : {}) };
}

/**
 * Weights in whole tenths summing to 10, closest first (largest remainder), then adjusted so the dominant modality
 * stays the one of `weights`: rounding a near tie must not change what the label says matters most.
 */
export function toTenths(weights: Weights): number[] {
  const tenths = MODALITIES.map((m) => Math.round(apportionWeights(weights, TENTHS)[m] * TENTHS));
  const dominant = MODALITIES.indexOf(dominantModality(weights));
  for (;;) {
    const winner = tenths.reduce((best, t, i) => (t > (tenths[best] ?? 0) ? i : best), 0);
    if (winner === dominant) return tenths;
    // Move a tenth from the modality that now wins to the one that should; each move raises the dominant's share.
    tenths[winner] = (tenths[winner] ?? 0) - 1;
    tenths[dominant] = (tenths[dominant] ?? 0) + 1;
  }
}

/** A `student-v2` answer: `9 0 0 1`, and the reasoning on a line of its own when enabled. */
export function renderTenths(weights: Weights, reasoning?: string): string {
  const line = toTenths(weights).join(' ');
  const reason = reasoning?.replace(/\s+/g, ' ').trim();
  return reason ? `${line}\n${reason}` : line;
}

/** A `student-v1` label: exactly one JSON object meeting the weights contract. */
function checkJsonLabel(label: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(label);
  } catch {
    return 'the assistant turn must be exactly one JSON object of weights';
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return 'the assistant turn must be exactly one JSON object of weights';
  }
  const weights = validateWeights(parsed as Record<string, unknown>);
  return weights.ok ? undefined : `label: ${weights.error.message}`;
}

/** A `student-v2` label: four tenths summing to 10 (and a reasoning line), exactly as renderTenths writes them. */
function checkTenthsLabel(label: string): string | undefined {
  const parsed = parseTenths(label);
  if (!parsed.ok) return `label: ${parsed.error.message}`;
  const canonical = renderTenths(parsed.weights, parsed.reasoning);
  return label === canonical
    ? undefined
    : `label: must be written exactly as ${JSON.stringify(canonical)} (single spaces, no padding)`;
}

export const STUDENT_FORMATS: Readonly<Record<StudentPromptVersion, StudentFormat>> = {
  'student-v1': {
    promptVersion: 'student-v1',
    prompt: STUDENT_V1_PROMPT,
    render: formatLabel,
    parse: parseWeights,
    checkLabel: checkJsonLabel,
    selfDescribing: true,
  },
  'student-v2': {
    promptVersion: 'student-v2',
    prompt: STUDENT_V2_PROMPT,
    render: renderTenths,
    parse: parseTenths,
    checkLabel: checkTenthsLabel,
    maxTokens: STUDENT_V2_MAX_TOKENS,
    selfDescribing: true,
  },
  'student-v3': {
    promptVersion: 'student-v3',
    prompt: STUDENT_V3_PROMPT,
    render: renderTenths,
    parse: parseTenths,
    checkLabel: checkTenthsLabel,
    maxTokens: STUDENT_V2_MAX_TOKENS,
    selfDescribing: false,
  },
  // The teacher prompt without the reasoning request: a version's prompt is one fixed text.
  [TEACHER_PROMPT_VERSION]: {
    promptVersion: TEACHER_PROMPT_VERSION,
    prompt: teacherPrompt(false),
    render: formatLabel,
    parse: parseWeights,
    checkLabel: checkJsonLabel,
    selfDescribing: true,
  },
};

/** The format new runs train with. */
export const CURRENT_STUDENT_FORMAT = STUDENT_FORMATS[CURRENT_STUDENT_PROMPT_VERSION];

/** A prompt version this release cannot serve: it names what it got and what it knows. */
export class UnknownPromptVersion extends Error {
  override readonly name = 'UnknownPromptVersion';
}

/** The format of a student prompt version, or UnknownPromptVersion naming the versions this release knows. */
export function studentFormat(version: string): StudentFormat {
  if (isStudentPromptVersion(version)) return STUDENT_FORMATS[version];
  throw new UnknownPromptVersion(
    `student prompt version ${JSON.stringify(version)} is unknown to this release (it knows ` +
      `${STUDENT_PROMPT_VERSIONS.join(', ')}): deploy the release that trained that model`,
  );
}

/** The student format whose prompt is `systemPrompt` (a record's system text), if any. */
export function studentFormatOfPrompt(systemPrompt: string): StudentFormat | undefined {
  return Object.values(STUDENT_FORMATS).find((f) => f.prompt === systemPrompt);
}

/** Two parts of one run that must agree on the student prompt version do not: the message names both. */
export class PromptVersionMismatch extends Error {
  override readonly name = 'PromptVersionMismatch';
}

/** Throws PromptVersionMismatch naming both versions and where each comes from, unless they are equal. */
export function requireSameVersion(
  expected: { readonly version: string; readonly from: string },
  actual: { readonly version: string; readonly from: string },
  fix: string,
): void {
  if (expected.version === actual.version) return;
  throw new PromptVersionMismatch(
    `${actual.from} is in student prompt version ${actual.version}, ${expected.from} in ${expected.version}: ${fix}`,
  );
}

/**
 * The readable form of weights for the LLM judge: the JSON object its rubric describes, whatever format the model
 * answered in. Every model's valid replies are rendered the same way, so the judge compares weights, not formats.
 */
export const readableWeights = (weights: Weights): string => formatLabel(weights);

/**
 * The student format most of `replies` are written in, when it is not `expected`: a model asked in one version that
 * answers in another was trained on another (a reused model, or a distillation job whose teacher did not follow the
 * labels' format). Undefined when the replies are mostly in `expected`, or in no known format at all (then they are
 * simply invalid replies, which the gate judges).
 */
export function otherFormatOf(replies: readonly string[], expected: StudentFormat): StudentFormat | undefined {
  if (replies.length === 0) return undefined;
  const share = (format: StudentFormat) => replies.filter((r) => format.parse(r).ok).length / replies.length;
  if (share(expected) >= MISMATCH_EXPECTED_BELOW) return undefined;
  return Object.values(STUDENT_FORMATS).find((f) => f !== expected && share(f) >= MISMATCH_OTHER_AT_LEAST);
}

/** Below this share of replies in its own format, and at least the other share in another, a model is mismatched. */
export const MISMATCH_EXPECTED_BELOW = 0.5;
export const MISMATCH_OTHER_AT_LEAST = 0.9;
