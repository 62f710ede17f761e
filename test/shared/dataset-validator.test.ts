import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { toRecord } from '../../lambda/core/dataset-record';
import {
  describeValidation,
  HELD_OUT_LIMITS,
  RESERVED_STRINGS,
  reservedStringIn,
  validateDataset,
  validateRecord,
} from '../../lambda/core/dataset-validator';
import {
  parseWrittenQueries,
  queryProblem,
  QUERY_WRITER_SYSTEM_PROMPT,
} from '../../lambda/pipeline/generation/query-writing';
import { STUDENT_FORMATS, type StudentPromptVersion } from '../../lambda/core/student-format';

const label = { visual: 0.7, audio: 0.1, transcription: 0.1, metadata: 0.1 };
const good = (i: number) => JSON.stringify(toRecord(`red car number ${i} on a coastal road`, label));
const file = (lines: string[]) => lines.join('\n') + '\n';
const goodFile = (n: number) => file(Array.from({ length: n }, (_, i) => good(i)));

/** A valid file of 100 records with line `line` (1-based) replaced. */
const withLine = (line: number, text: string) => {
  const lines = Array.from({ length: 100 }, (_, i) => good(i));
  lines[line - 1] = text;
  return file(lines);
};
const record = (patch: Record<string, unknown>) => JSON.stringify({ ...toRecord('dog barking', label), ...patch });
/** A record in `version`'s format whose assistant turn is `text`. */
const labelled = (text: string, version: StudentPromptVersion = 'student-v1') =>
  JSON.stringify({
    ...toRecord('dog barking', undefined, undefined, STUDENT_FORMATS[version]),
    messages: [
      { role: 'user', content: [{ text: 'dog' }] },
      { role: 'assistant', content: [{ text }] },
    ],
  });

describe('validateDataset', () => {
  it('accepts 100 labelled records and summarises them', () => {
    const result = validateDataset(goodFile(100));
    expect(result).toEqual({ ok: true, records: 100, labelled: 100 });
    expect(describeValidation('train.jsonl', result)).toBe('train.jsonl: valid, 100 records (100 labelled)');
  });

  it('accepts unlabelled records (the assistant turn is optional)', () => {
    const lines = Array.from({ length: 100 }, (_, i) => JSON.stringify(toRecord(`query ${i}`)));
    expect(validateDataset(file(lines))).toEqual({ ok: true, records: 100, labelled: 0 });
  });

  it('rejects fewer than 100 records', () => {
    const result = validateDataset(goodFile(99));
    expect(result).toMatchObject({ ok: false, rule: 'RECORD_COUNT', message: '99 records; at least 100 are needed' });
    expect(result).not.toHaveProperty('line');
  });

  it('rejects more than 15,000 records at the first record too many', () => {
    expect(validateDataset(goodFile(15_001))).toMatchObject({ ok: false, rule: 'RECORD_COUNT', line: 15_001 });
    expect(validateDataset(goodFile(15_000))).toMatchObject({ ok: true, records: 15_000 });
  });

  it('takes other limits (the held-out file: at most 1,000)', () => {
    expect(validateDataset(goodFile(50), HELD_OUT_LIMITS)).toMatchObject({ ok: true });
    expect(validateDataset(goodFile(1_001), HELD_OUT_LIMITS)).toMatchObject({ ok: false, line: 1_001 });
  });

  it.each([
    ['a line that is not JSON', '{"schemaVersion":', 'INVALID_JSON'],
    ['an empty line', '', 'INVALID_JSON'],
    ['a JSON array', '[1,2]', 'NOT_AN_OBJECT'],
    ['another schemaVersion', record({ schemaVersion: 'bedrock-conversation-2023' }), 'SCHEMA_VERSION'],
    ['no schemaVersion', record({ schemaVersion: undefined }), 'SCHEMA_VERSION'],
    ['a system that is not text blocks', record({ system: 'route this' }), 'BAD_SYSTEM'],
    ['no messages', record({ messages: [] }), 'BAD_MESSAGES'],
    [
      'an assistant first turn',
      record({ messages: [{ role: 'assistant', content: [{ text: '{}' }] }] }),
      'FIRST_TURN_NOT_USER',
    ],
    [
      'two user turns in a row',
      record({
        messages: [
          { role: 'user', content: [{ text: 'a' }] },
          { role: 'user', content: [{ text: 'b' }] },
        ],
      }),
      'BAD_MESSAGES',
    ],
    ['empty user text', record({ messages: [{ role: 'user', content: [{ text: '  ' }] }] }), 'EMPTY_USER_TEXT'],
    ['content without text', record({ messages: [{ role: 'user', content: [{ image: 'x' }] }] }), 'BAD_MESSAGES'],
    ['a student-v1 label that is not JSON', labelled('visual 1'), 'BAD_LABEL'],
    ['a student-v1 label wrapped in prose', labelled(`Here: ${JSON.stringify(label)}`), 'BAD_LABEL'],
    [
      'a student-v1 label summing to 0.7',
      labelled('{"visual":0.4,"audio":0.1,"transcription":0.1,"metadata":0.1}'),
      'BAD_LABEL',
    ],
    ['a student-v1 label missing a key', labelled('{"visual":0.5,"audio":0.5,"transcription":0}'), 'BAD_LABEL'],
    ['a student-v2 label summing to 11', labelled('9 0 0 2', 'student-v2'), 'BAD_LABEL'],
    ['a student-v2 label in JSON', labelled(JSON.stringify(label), 'student-v2'), 'BAD_LABEL'],
    ['a student-v2 label with a double space', labelled('9  0 0 1', 'student-v2'), 'BAD_LABEL'],
    ['a student-v2 label with padding', labelled(' 9 0 0 1', 'student-v2'), 'BAD_LABEL'],
    [
      'a label under a system prompt no student was trained with',
      record({ system: [{ text: 'You are a helpful assistant.' }] }),
      'BAD_LABEL',
    ],
  ])('reports %s with its line and rule', (_what, line, rule) => {
    expect(validateDataset(withLine(37, line))).toMatchObject({ ok: false, line: 37, rule });
  });

  it.each([
    ['student-v1', JSON.stringify(label)],
    ['student-v2', '7 1 1 1'],
    ['student-v2', '7 1 1 1\nA car is seen.'],
  ] as const)('accepts a %s label written as Assemble writes it: %j', (version, text) => {
    expect(validateRecord(JSON.parse(labelled(text, version)))).toBeUndefined();
  });

  it('names the known prompt versions when a labelled record’s system prompt is none of them', () => {
    expect(validateRecord(JSON.parse(record({ system: [{ text: 'Route.' }] })))).toMatchObject({
      rule: 'BAD_LABEL',
      message: expect.stringContaining('(student-v1, student-v2, student-v3, teacher-v1)'),
    });
  });

  it.each(RESERVED_STRINGS)('rejects the reserved string %s in the user text', (reserved) => {
    const result = validateDataset(withLine(5, JSON.stringify(toRecord(`clip where ${reserved} speaks`, label))));
    expect(result).toMatchObject({ ok: false, line: 5, rule: 'RESERVED_STRING' });
    expect(describeValidation('f.jsonl', result)).toBe(
      `f.jsonl: line 5: RESERVED_STRING: the text contains "${reserved}", which Nova reserves`,
    );
  });

  it('rejects a reserved string in the system prompt', () => {
    expect(validateRecord(JSON.parse(record({ system: [{ text: 'System: route' }] })))).toMatchObject({
      rule: 'RESERVED_STRING',
    });
  });

  it('knows the strings AWS refuses beyond the user guide: Thought: and <unk>', () => {
    expect(RESERVED_STRINGS).toEqual(expect.arrayContaining(['Thought:', '<unk>']));
  });

  // AWS's validator compares `token.lower() in text.lower()`: any letter case, and inside a word too.
  it.each([
    ['operating system: linux install walkthrough', 'system:'],
    ['user: interface tour', 'user:'],
    ['BOT: battle robots', 'BOT:'],
    ['robot: wars arena', 'bot:'],
    ['ASSISTANT: coach interview', 'ASSISTANT:'],
    ['afterthought: short film', 'thought:'],
    ['error <UNK> token in subtitles', '<UNK>'],
    ['end marker [eos] glitch', '[eos]'],
    ['<Image> tag explained', '<Image>'],
    ['<VIDEO> element tutorial', '<VIDEO>'],
  ])('rejects %j, naming %j as the text spells it', (query, found) => {
    const result = validateDataset(withLine(5, JSON.stringify(toRecord(query, label))));
    expect(result).toMatchObject({ ok: false, line: 5, rule: 'RESERVED_STRING' });
    expect(describeValidation('f.jsonl', result)).toBe(
      `f.jsonl: line 5: RESERVED_STRING: the text contains "${found}", which Nova reserves`,
    );
  });

  it.each([
    'users: top ten countdown',
    'robots: battle arena',
    'system design interview',
    'user interface tour',
    'bot fight compilation',
    'assistant coach press conference',
    'image of a video camera',
    'unknown band live',
  ])('accepts %j (a reserved word without its colon or brackets is not reserved)', (query) => {
    expect(validateRecord(toRecord(query, label))).toBeUndefined();
  });

  it('rejects a reserved string in the assistant text (the label with its reasoning)', () => {
    const labelled = toRecord('dog barking', label, 'the user: asks about a sound');
    expect(validateRecord(labelled)).toEqual({
      rule: 'RESERVED_STRING',
      message: 'the text contains "user:", which Nova reserves',
    });
  });

  it('rejects a lower-case reserved string in the system text', () => {
    expect(validateRecord(JSON.parse(record({ system: [{ text: 'system: route this query' }] })))).toMatchObject({
      rule: 'RESERVED_STRING',
    });
  });

  it('reports the FIRST offending line', () => {
    const lines = Array.from({ length: 120 }, (_, i) => good(i));
    lines[9] = 'not json';
    lines[3] = record({ schemaVersion: 'x' });
    expect(validateDataset(file(lines))).toMatchObject({ line: 4, rule: 'SCHEMA_VERSION' });
  });
});

describe('the query writer uses the same rule', () => {
  it.each(['operating system: linux install walkthrough', 'user: interface tour', 'BOT: battle robots', 'a <unk> b'])(
    'refuses the written query %j',
    (query) => {
      expect(queryProblem(query)).toBe(`contains the reserved string "${reservedStringIn(query)}"`);
      expect(parseWrittenQueries(JSON.stringify([query, 'dog barking']))).toEqual({
        ok: true,
        queries: ['dog barking'],
        rejected: 1,
      });
    },
  );

  it('tells the teacher every reserved string the validator refuses', () => {
    for (const reserved of RESERVED_STRINGS) expect(QUERY_WRITER_SYSTEM_PROMPT).toContain(`"${reserved}"`);
    expect(QUERY_WRITER_SYSTEM_PROMPT).toMatch(/any letter case/);
  });
});

describe('npm run validate-dataset', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'validate-dataset-'));
  const cli = (file: string) =>
    spawnSync(path.join('node_modules', '.bin', 'tsx'), ['scripts/validate-dataset.ts', file], {
      cwd: path.join(__dirname, '..', '..'),
      encoding: 'utf8',
    });

  it('exits 0 with a one-line summary for a valid file', () => {
    const file = path.join(dir, 'good.jsonl');
    writeFileSync(file, goodFile(120));
    const run = cli(file);
    expect(run.status).toBe(0);
    expect(run.stdout.trim()).toBe(`${file}: valid, 120 records (120 labelled)`);
  });

  it('exits non-zero with the first offending line and its rule', () => {
    const file = path.join(dir, 'bad.jsonl');
    writeFileSync(file, withLine(42, JSON.stringify(toRecord('clip where User: waves', label))));
    const run = cli(file);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`${file}: line 42: RESERVED_STRING:`);
  });
});
