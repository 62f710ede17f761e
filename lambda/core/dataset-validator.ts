import { SCHEMA_VERSION, type ConversationRecord } from './dataset-record';
import { STUDENT_PROMPT_VERSIONS, studentFormatOfPrompt } from './student-format';

/**
 * The one dataset validator: used by Assemble before it writes a file, and by users through
 * `npm run validate-dataset -- <file.jsonl>`. It checks the rules a Bedrock distillation job applies to
 * `bedrock-conversation-2024` records (docs/aws-facts.md §3) plus our label contract.
 */

/** Nova distillation accepts 100 to 15,000 records. */
export const TRAINING_LIMITS = { minRecords: 100, maxRecords: 15_000 } as const;
/** A Bedrock evaluation job judges at most this many prompts (docs/aws-facts.md §5). */
export const MAX_EVALUATION_PROMPTS = 1000;
/** A model evaluation job takes at most MAX_EVALUATION_PROMPTS prompts; the held-out file feeds one. */
export const HELD_OUT_LIMITS = { minRecords: 1, maxRecords: MAX_EVALUATION_PROMPTS } as const;

/**
 * Strings that fail a Nova customization job wherever they appear in a record's text (system, user or assistant).
 * The Nova user guide reserves `User:`, `Bot:`, `Assistant:`, `System:`, `<image>`, `<video>` and `[EOS]`
 * (https://docs.aws.amazon.com/nova/latest/userguide/fine-tune-prepare-data-understanding.html); AWS's own Nova
 * dataset validator also refuses `Thought:` and `<unk>` (aws-samples/amazon-nova-samples,
 * customization/bedrock-finetuning/understanding/dataset_validation/nova_ft_dataset_validator.py). docs/aws-facts.md §3.
 */
export const RESERVED_STRINGS = [
  'System:',
  'User:',
  'Bot:',
  'Assistant:',
  'Thought:',
  '[EOS]',
  '<image>',
  '<video>',
  '<unk>',
] as const;

export type DatasetRule =
  | 'RECORD_COUNT'
  | 'INVALID_JSON'
  | 'NOT_AN_OBJECT'
  | 'SCHEMA_VERSION'
  | 'BAD_SYSTEM'
  | 'BAD_MESSAGES'
  | 'FIRST_TURN_NOT_USER'
  | 'EMPTY_USER_TEXT'
  | 'RESERVED_STRING'
  | 'BAD_LABEL';

export interface RecordProblem {
  readonly rule: DatasetRule;
  readonly message: string;
}

export interface DatasetLimits {
  readonly minRecords: number;
  readonly maxRecords: number;
}

export type DatasetValidation =
  | { readonly ok: true; readonly records: number; readonly labelled: number }
  | {
      readonly ok: false;
      /** 1-based line of the first offending record; undefined when the file as a whole breaks a rule. */
      readonly line?: number;
      readonly rule: DatasetRule;
      readonly message: string;
    };

const problem = (rule: DatasetRule, message: string): RecordProblem => ({ rule, message });

/** ASCII letters lower-cased only: the length stays the same, so an index in the result is an index in the text. */
const asciiLowerCase = (text: string): string => text.replace(/[A-Z]/g, (c) => c.toLowerCase());

/**
 * The first reserved string in `text` as the text spells it, or undefined. Matched as AWS's validator matches: a plain
 * substring with no word boundary ("operating system: linux" and "chatbot: demo" are refused too) and letter case
 * ignored (`token.lower() in text.lower()`). The strings are ASCII, so lower-casing ASCII letters finds the same
 * matches; false positives only cost a query, a miss costs a failed customization job.
 */
export function reservedStringIn(text: string): string | undefined {
  const lower = asciiLowerCase(text);
  for (const reserved of RESERVED_STRINGS) {
    const at = lower.indexOf(reserved.toLowerCase());
    if (at !== -1) return text.slice(at, at + reserved.length);
  }
  return undefined;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Text blocks `[{text}]` joined, or undefined when the value is not such a list. */
function textOf(blocks: unknown): string | undefined {
  if (!Array.isArray(blocks) || blocks.length === 0) return undefined;
  let text = '';
  for (const block of blocks) {
    if (!isObject(block) || typeof block['text'] !== 'string') return undefined;
    text += block['text'];
  }
  return text;
}

/**
 * Checks one parsed record; undefined when it is valid. A record with an assistant turn is labelled: its system prompt
 * must be a student prompt this release knows, and its text a label in that prompt's format (student-format.ts):
 * `student-v1` one JSON object of four weights in [0,1] summing to 1 ± 0.01, `student-v2` four tenths summing to 10.
 */
export function validateRecord(value: unknown): RecordProblem | undefined {
  if (!isObject(value)) return problem('NOT_AN_OBJECT', 'each line must be one JSON object');
  if (value['schemaVersion'] !== SCHEMA_VERSION) {
    return problem(
      'SCHEMA_VERSION',
      `schemaVersion must be "${SCHEMA_VERSION}", got ${JSON.stringify(value['schemaVersion']) ?? 'nothing'}`,
    );
  }
  const texts: string[] = [];
  let system: string | undefined;
  if (value['system'] !== undefined) {
    system = textOf(value['system']);
    if (system === undefined) return problem('BAD_SYSTEM', 'system must be a non-empty list of {"text": string}');
    texts.push(system);
  }
  const messages = value['messages'];
  if (!Array.isArray(messages) || messages.length === 0) {
    return problem('BAD_MESSAGES', 'messages must be a non-empty list of turns');
  }
  let label: string | undefined;
  for (const [i, message] of messages.entries()) {
    if (!isObject(message)) return problem('BAD_MESSAGES', `messages[${i}] must be an object`);
    const role = message['role'];
    if (i === 0 && role !== 'user') {
      return problem('FIRST_TURN_NOT_USER', `the first turn must be "user", got ${JSON.stringify(role)}`);
    }
    const expected = i % 2 === 0 ? 'user' : 'assistant';
    if (role !== expected) {
      return problem(
        'BAD_MESSAGES',
        `messages[${i}].role must be "${expected}" (turns alternate), got ${JSON.stringify(role)}`,
      );
    }
    const text = textOf(message['content']);
    if (text === undefined) {
      return problem('BAD_MESSAGES', `messages[${i}].content must be a non-empty list of {"text": string}`);
    }
    if (role === 'user' && text.trim() === '') return problem('EMPTY_USER_TEXT', `messages[${i}] has no user text`);
    if (role === 'assistant' && label === undefined) label = text;
    texts.push(text);
  }
  for (const text of texts) {
    const reserved = reservedStringIn(text);
    if (reserved) return problem('RESERVED_STRING', `the text contains "${reserved}", which Nova reserves`);
  }
  if (label !== undefined) {
    // The label's format is the one the record's student prompt asks for: the prompt is what the student learns.
    const format = studentFormatOfPrompt(system ?? '');
    if (!format) {
      return problem(
        'BAD_LABEL',
        `a labelled record's system prompt must be a student prompt of this release (${STUDENT_PROMPT_VERSIONS.join(', ')}): ` +
          'the label format depends on it',
      );
    }
    const wrong = format.checkLabel(label);
    if (wrong) return problem('BAD_LABEL', wrong);
  }
  return undefined;
}

/** True when the record has an assistant turn (a label). */
export const isLabelled = (record: ConversationRecord): boolean => record.messages.some((m) => m.role === 'assistant');

/**
 * Validates a whole JSONL file's text: every line a valid record (a trailing newline is fine; an empty line is not),
 * and the record count within `limits`. Reports the first offending line and the rule it breaks.
 */
export function validateDataset(text: string, limits: DatasetLimits = TRAINING_LIMITS): DatasetValidation {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  let labelled = 0;
  for (const [i, line] of lines.entries()) {
    const lineNumber = i + 1;
    if (lineNumber > limits.maxRecords) {
      return {
        ok: false,
        line: lineNumber,
        rule: 'RECORD_COUNT',
        message: `more than ${limits.maxRecords} records (the most allowed)`,
      };
    }
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      return { ok: false, line: lineNumber, rule: 'INVALID_JSON', message: 'the line is not valid JSON' };
    }
    const found = validateRecord(value);
    if (found) return { ok: false, line: lineNumber, ...found };
    if (isLabelled(value as ConversationRecord)) labelled++;
  }
  if (lines.length < limits.minRecords) {
    return {
      ok: false,
      rule: 'RECORD_COUNT',
      message: `${lines.length} records; at least ${limits.minRecords} are needed`,
    };
  }
  return { ok: true, records: lines.length, labelled };
}

/** One line for people: the summary of a valid file, or the first problem with its line and rule. */
export function describeValidation(file: string, result: DatasetValidation): string {
  if (result.ok) return `${file}: valid, ${result.records} records (${result.labelled} labelled)`;
  const where = result.line === undefined ? '' : `line ${result.line}: `;
  return `${file}: ${where}${result.rule}: ${result.message}`;
}
