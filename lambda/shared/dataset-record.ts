import { STUDENT_PROMPT } from './prompts';
import { formatLabel } from './weights';
import type { Weights } from './modality';

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

/** A training or test record: the student prompt as system, the query as the user turn, the label as the answer. */
export function toRecord(query: string, weights?: Weights, reasoning?: string): ConversationRecord {
  return {
    schemaVersion: SCHEMA_VERSION,
    system: [{ text: STUDENT_PROMPT }],
    messages: [
      { role: 'user', content: [{ text: query }] },
      ...(weights ? [{ role: 'assistant' as const, content: [{ text: formatLabel(weights, reasoning) }] }] : []),
    ],
  };
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
