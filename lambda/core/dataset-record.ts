import type { Weights } from './modality';
import { CURRENT_STUDENT_FORMAT, STUDENT_FORMATS, studentFormatOfPrompt, type StudentFormat } from './student-format';
import type { ParsedWeights } from './weights';

/** The record format Bedrock model customization reads (one JSON object per JSONL line). */
export const SCHEMA_VERSION = 'bedrock-conversation-2024';

export interface ConversationRecord {
  readonly schemaVersion: typeof SCHEMA_VERSION;
  readonly system: readonly { readonly text: string }[];
  readonly messages: readonly {
    readonly role: 'user' | 'assistant';
    readonly content: readonly { readonly text: string }[];
  }[];
}

/**
 * A training or test record: the student prompt as system, the query as the user turn, the label rendered in the
 * student's answer format as the answer (the current format unless another is given).
 */
export function toRecord(
  query: string,
  weights?: Weights,
  reasoning?: string,
  format: StudentFormat = CURRENT_STUDENT_FORMAT,
): ConversationRecord {
  return {
    schemaVersion: SCHEMA_VERSION,
    system: [{ text: format.prompt }],
    messages: [
      { role: 'user', content: [{ text: query }] },
      ...(weights ? [{ role: 'assistant' as const, content: [{ text: format.render(weights, reasoning) }] }] : []),
    ],
  };
}

/** The system text of a record (its first system block's texts). */
export const systemText = (record: ConversationRecord): string =>
  Array.isArray(record.system) ? record.system.map((s) => s.text).join('') : '';

/**
 * The student format a record was written in, told by its system prompt (records carry no version field: the prompt
 * is what the model learns, so it is what identifies the format). Undefined for a prompt this release does not know.
 */
export const recordFormat = (record: ConversationRecord): StudentFormat | undefined =>
  studentFormatOfPrompt(systemText(record));

/**
 * The record's label read in the record's own format; an error naming the known versions when its system prompt is
 * none of them (a record this release did not write).
 */
export function parseRecordLabel(record: ConversationRecord): ParsedWeights {
  const format = recordFormat(record);
  if (!format) {
    return {
      ok: false,
      error: {
        code: 'UNKNOWN_PROMPT',
        message:
          `its system prompt is none of the student prompts this release knows (${Object.keys(STUDENT_FORMATS).join(', ')}), ` +
          'so its label cannot be read',
      },
    };
  }
  return format.parse(recordParts(record).label ?? '');
}

/** The query (first user turn) and label text (first assistant turn) of a record. */
export function recordParts(record: ConversationRecord): { query: string; label?: string } {
  const user = record.messages.find((m) => m.role === 'user');
  const assistant = record.messages.find((m) => m.role === 'assistant');
  return {
    query: user?.content.map((c) => c.text).join('') ?? '',
    ...(assistant ? { label: assistant.content.map((c) => c.text).join('') } : {}),
  };
}
