import { assembleDataset, type AssemblyInput, type AssemblyShard } from '../../lambda/pipeline/generation/assembly';
import { recordParts, toRecord } from '../../lambda/core/dataset-record';
import { reservedStringIn, validateDataset, validateRecord } from '../../lambda/core/dataset-validator';
import { MODALITIES, type Modality, type Weights } from '../../lambda/core/modality';
import { DEFAULT_PRICES } from '../../lambda/core/prices';
import { teacherPrompt } from '../../lambda/core/teacher-prompt';
import { CURRENT_STUDENT_FORMAT } from '../../lambda/core/student-format';
import type { ShardExample, ShardSummary } from '../../lambda/pipeline/generation/shard-generation';

/**
 * Queries a teacher might write that AWS's Nova validator refuses (any letter case, inside a word too): Assemble must
 * drop them, with their reason in the manifest, before a customization job is paid for and fails.
 */

const LABELS: Record<Modality, Weights> = {
  visual: { visual: 0.7, audio: 0.1, transcription: 0.1, metadata: 0.1 },
  audio: { visual: 0.3, audio: 0.6, transcription: 0, metadata: 0.1 },
  transcription: { visual: 0.2, audio: 0, transcription: 0.7, metadata: 0.1 },
  metadata: { visual: 0.3, audio: 0, transcription: 0.1, metadata: 0.6 },
};

const RESERVED_QUERIES: readonly ShardExample[] = [
  { kind: 'example', query: 'operating system: linux install walkthrough', weights: LABELS.visual },
  { kind: 'example', query: 'user: interface tour', weights: LABELS.visual },
  { kind: 'example', query: 'BOT: battle robots', weights: LABELS.visual },
  { kind: 'example', query: 'subtitles show <UNK> instead of names', weights: LABELS.transcription },
];

/** 60 clean, labelled queries per modality. */
const cleanExamples = (): ShardExample[] =>
  MODALITIES.flatMap((m) =>
    Array.from({ length: 60 }, (_, i): ShardExample => ({
      kind: 'example',
      query: `${m} clip ${i}`,
      weights: LABELS[m],
    })),
  );

function shard(index: number, examples: readonly ShardExample[]): AssemblyShard {
  const summary: ShardSummary = {
    kind: 'shard',
    index,
    target: 'mixed',
    domain: 'technology',
    phrasing: 'keywords',
    teacherModelId: 'us.amazon.nova-pro-v1:0',
    promptVersions: {},
    planned: examples.length,
    written: examples.length,
    labelled: examples.length,
    dropped: { notWritten: 0, unparseableLabel: 0, teacherError: 0 },
    writerRejected: 0,
    writerUnparseable: 0,
    labelRetries: 0,
    teacherCalls: { writing: 1, labelling: examples.length },
    usage: { inputTokens: 100, outputTokens: 10 },
    retries: 0,
    durationMs: 1,
  };
  return { index, planned: examples.length, content: { summary, examples } };
}

const input = (examples: readonly ShardExample[], includeReasoning = false): AssemblyInput => ({
  runId: 'run-reserved',
  shards: [shard(0, examples)],
  targetRecords: 160,
  plannedQueries: examples.length,
  exampleCount: 120,
  testExampleCount: 40,
  minGenerationSuccessRate: 0.9,
  teacherModelId: 'us.amazon.nova-pro-v1:0',
  priceTable: DEFAULT_PRICES,
  includeReasoning,
  keys: { train: 'runs/r/dataset/train.jsonl', test: 'runs/r/dataset/test.jsonl', manifest: 'runs/r/m.json' },
  now: () => new Date('2026-11-02T00:00:00Z'),
});

const queriesOf = (text: string): string[] =>
  text
    .trim()
    .split('\n')
    .map((line) => recordParts(JSON.parse(line)).query);

describe('Assemble and reserved strings', () => {
  it('drops teacher-written queries Nova refuses and counts them under invalid:RESERVED_STRING', () => {
    const { manifest, trainText, testText } = assembleDataset(input([...cleanExamples(), ...RESERVED_QUERIES]));
    expect(manifest.droppedByReason['invalid:RESERVED_STRING']).toBe(RESERVED_QUERIES.length);
    const written = [...queriesOf(trainText), ...queriesOf(testText)];
    for (const { query } of RESERVED_QUERIES) expect(written).not.toContain(query);
    expect(written.filter((q) => reservedStringIn(q) !== undefined)).toEqual([]);
    expect(validateDataset(trainText)).toMatchObject({ ok: true, records: 120 });
  });

  it('drops a record whose assistant text (the teacher reasoning) holds a reserved string', () => {
    const thinking: ShardExample = {
      kind: 'example',
      query: 'crowd cheering at a stadium',
      weights: LABELS.audio,
      reasoning: 'Thought: the crowd noise is the main signal',
    };
    const { manifest, trainText, testText } = assembleDataset(input([...cleanExamples(), thinking], true));
    expect(manifest.droppedByReason['invalid:RESERVED_STRING']).toBe(1);
    expect([...queriesOf(trainText), ...queriesOf(testText)]).not.toContain(thinking.query);
  });
});

describe('our own prompts do not trip the rule (they would fail every job)', () => {
  it('the student prompt, stored in every record, holds no reserved string', () => {
    expect(reservedStringIn(CURRENT_STUDENT_FORMAT.prompt)).toBeUndefined();
    expect(validateRecord(toRecord('dog barking', LABELS.audio))).toBeUndefined();
  });

  it.each([false, true])('the teacher prompt (reasoning %s) holds no reserved string', (includeReasoning) => {
    expect(reservedStringIn(teacherPrompt(includeReasoning))).toBeUndefined();
  });
});
