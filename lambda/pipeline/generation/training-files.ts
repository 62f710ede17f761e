import { recordParts, SCHEMA_VERSION, systemText, toRecord, type ConversationRecord } from '../../core/dataset-record';
import { TRAINING_LIMITS, validateDataset } from '../../core/dataset-validator';
import type { Weights } from '../../core/modality';
import { answerFormat } from '../../core/prompts';
import { TEACHER_PROMPT_VERSION, teacherPrompt } from '../../core/teacher-prompt';
import { studentFormat, studentFormatOfPrompt } from '../../core/student-format';
import { formatLabel } from '../../core/weights';
import { InvalidDataset } from './dataset-split';

/**
 * One dataset, one training file per prompt version (issue 20): the candidates of a run learn from the same queries
 * and the same labels; only the system prompt (and the label's format, which the prompt asks for) differs. A student
 * version's records are `toRecord` in that version's format; the teacher version's carry the teacher prompt and its
 * JSON weights (a distillation whose teacher must see the routing rules). Assemble writes them from its training set,
 * Reuse dataset from a reused training file.
 */

/** One labelled query of a training set, in no particular format. */
export interface TrainingExample {
  readonly query: string;
  readonly weights: Weights;
  readonly reasoning?: string;
}

/** A training file of one prompt version, validated. */
export interface TrainingFile {
  readonly promptVersion: string;
  readonly key: string;
  readonly text: string;
  readonly records: number;
}

/** The record of `example` in `promptVersion`: a student version's format, or the teacher prompt's. */
export function trainingRecord(example: TrainingExample, promptVersion: string): ConversationRecord {
  const { query, weights, reasoning } = example;
  if (promptVersion !== TEACHER_PROMPT_VERSION)
    return toRecord(query, weights, reasoning, studentFormat(promptVersion));
  return {
    schemaVersion: SCHEMA_VERSION,
    system: [{ text: teacherPrompt(reasoning !== undefined) }],
    messages: [
      { role: 'user', content: [{ text: query }] },
      { role: 'assistant', content: [{ text: formatLabel(weights, reasoning) }] },
    ],
  };
}

/** The prompt version a record was written in (a student version's or the teacher prompt's), if this release knows it. */
export function promptVersionOfRecord(record: ConversationRecord): string | undefined {
  const system = systemText(record);
  const student = studentFormatOfPrompt(system);
  if (student) return student.promptVersion;
  return system === teacherPrompt(false) || system === teacherPrompt(true) ? TEACHER_PROMPT_VERSION : undefined;
}

/**
 * The labelled queries of a training file (JSONL of records in any one known prompt version), read in the format the
 * records' prompt asks for. A line that is not such a record throws InvalidDataset naming `source` and the line.
 */
export function trainingExamples(text: string, source: string): TrainingExample[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, i) => {
      const where = `${source} line ${i + 1}`;
      let record: ConversationRecord;
      try {
        record = JSON.parse(line) as ConversationRecord;
      } catch {
        throw new InvalidDataset(`${where} is not JSON: it cannot be written in another prompt version`);
      }
      const version = Array.isArray(record.system) ? promptVersionOfRecord(record) : undefined;
      const { query, label } = Array.isArray(record.messages) ? recordParts(record) : { query: '' };
      const parsed = version === undefined ? undefined : answerFormat(version).parse(label ?? '');
      if (!parsed?.ok) {
        throw new InvalidDataset(
          `${where} is not a labelled record in a prompt version this release knows` +
            (parsed ? ` (${parsed.error.message})` : '') +
            ': it cannot be written in another prompt version',
        );
      }
      return { query, weights: parsed.weights, ...(parsed.reasoning ? { reasoning: parsed.reasoning } : {}) };
    });
}

/**
 * The training file of each prompt version in `versions` (in that order, each once) at `keyOf(version)` (a run's
 * `runKeys(runId).trainFor`), each checked by the dataset validator: a break throws InvalidDataset naming the version
 * and the rule.
 */
export function trainingFiles(
  examples: readonly TrainingExample[],
  versions: readonly string[],
  keyOf: (promptVersion: string) => string,
): TrainingFile[] {
  const distinct = [...new Set(versions)];
  if (distinct.length === 0) throw new InvalidDataset('no prompt version to write a training file in');
  const keys = new Set(distinct.map(keyOf));
  if (keys.size < distinct.length) {
    throw new InvalidDataset(`the training files of ${distinct.join(', ')} would share a key: give each its own`);
  }
  return distinct.map((promptVersion) => {
    const key = keyOf(promptVersion);
    const records = examples.map((e) => JSON.stringify(trainingRecord(e, promptVersion)));
    const text = records.length > 0 ? `${records.join('\n')}\n` : '';
    const validation = validateDataset(text, TRAINING_LIMITS);
    if (!validation.ok) {
      const where = validation.line === undefined ? '' : ` line ${validation.line}`;
      throw new InvalidDataset(
        `the ${promptVersion} training file (${key}) breaks the dataset validator at${where}: ` +
          `${validation.rule}: ${validation.message}`,
      );
    }
    return { promptVersion, key, text, records: records.length };
  });
}
