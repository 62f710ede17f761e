import fc from 'fast-check';
import { encode } from 'gpt-tokenizer/cjs/encoding/o200k_base';
import { parseRecordLabel, recordFormat, toRecord } from '../../lambda/core/dataset-record';
import { dominantModality, MODALITIES, type Weights } from '../../lambda/core/modality';
import { answerFormat, TEACHER_ANSWER_FORMAT } from '../../lambda/core/prompts';
import { TEACHER_PROMPT_VERSION, teacherPrompt } from '../../lambda/core/teacher-prompt';
import {
  CURRENT_STUDENT_PROMPT_VERSION,
  isStudentPromptVersion,
  otherFormatOf,
  parseTenths,
  PromptVersionMismatch,
  renderTenths,
  requireSameVersion,
  STUDENT_FORMATS,
  STUDENT_PROMPT_VERSIONS,
  STUDENT_V2_MAX_TOKENS,
  studentFormat,
  studentFormatOfPrompt,
  toTenths,
  UnknownPromptVersion,
} from '../../lambda/core/student-format';
import { normaliseWeights } from '../../lambda/core/weights';

const weightsOf = (tenths: readonly number[]): Weights =>
  Object.fromEntries(MODALITIES.map((m, i) => [m, (tenths[i] ?? 0) / 10])) as Record<
    (typeof MODALITIES)[number],
    number
  >;

/** Every weight vector of whole tenths summing to 1: C(13, 3) = 286 of them. */
const ALL_TENTHS: number[][] = [];
for (let a = 0; a <= 10; a++)
  for (let b = 0; a + b <= 10; b++) for (let c = 0; a + b + c <= 10; c++) ALL_TENTHS.push([a, b, c, 10 - a - b - c]);

describe('the student answer formats', () => {
  it('enumerates all 286 tenths vectors', () => {
    expect(ALL_TENTHS).toHaveLength(286);
    expect(new Set(ALL_TENTHS.map((t) => t.join(' '))).size).toBe(286);
  });

  it.each(STUDENT_PROMPT_VERSIONS)('%s: every tenths vector survives render → parse exactly', (version) => {
    const format = STUDENT_FORMATS[version];
    for (const tenths of ALL_TENTHS) {
      const weights = weightsOf(tenths);
      const parsed = format.parse(format.render(weights));
      expect(parsed).toEqual({ ok: true, weights, dominant: dominantModality(weights) });
    }
  });

  it('student-v2 renders the four tenths in MODALITIES order, separated by spaces', () => {
    expect(renderTenths(weightsOf([9, 0, 0, 1]))).toBe('9 0 0 1');
    expect(renderTenths(weightsOf([0, 0, 0, 10]))).toBe('0 0 0 10');
    expect(renderTenths(weightsOf([3, 6, 0, 1]), 'a dog\nbarks ')).toBe('3 6 0 1\na dog barks');
  });

  it('student-v2 answers are at most 10 tokens with a real BPE tokenizer (o200k_base), 8 characters at most', () => {
    const tokens = ALL_TENTHS.map((t) => encode(renderTenths(weightsOf(t))).length);
    const chars = ALL_TENTHS.map((t) => renderTenths(weightsOf(t)).length);
    expect(Math.max(...tokens)).toBeLessThanOrEqual(10);
    expect(Math.max(...chars)).toBe(8);
    // The router's budget holds every valid answer even at one token per character.
    expect(STUDENT_V2_MAX_TOKENS).toBeGreaterThanOrEqual(Math.max(...chars));
    // …and the JSON of student-v1 costs at least twice as many.
    const v1 = ALL_TENTHS.map((t) => encode(STUDENT_FORMATS['student-v1'].render(weightsOf(t))).length);
    expect(Math.min(...v1)).toBeGreaterThanOrEqual(2 * Math.max(...tokens));
  });

  it.each([
    ['', 'EMPTY_REPLY', /empty/],
    ['   \n ', 'EMPTY_REPLY', /empty/],
    ['9 0 0', 'NOT_TENTHS', /four whole numbers/],
    ['9 0 0 1 0', 'NOT_TENTHS', /four whole numbers/],
    ['9,0,0,1', 'NOT_TENTHS', /four whole numbers/],
    ['0.9 0 0 0.1', 'NOT_TENTHS', /four whole numbers/],
    ['-1 11 0 0', 'NOT_TENTHS', /four whole numbers/],
    ['weights: 9 0 0 1', 'NOT_TENTHS', /four whole numbers/],
    ['{"visual":0.9,"audio":0,"transcription":0,"metadata":0.1}', 'NOT_TENTHS', /four whole numbers/],
    ['11 0 0 0', 'OUT_OF_RANGE', /"visual" must be between 0 and 10 tenths, got 11/],
    ['9 0 0 2', 'BAD_SUM', /sum to 10, got 11/],
    ['0 0 0 0', 'BAD_SUM', /got 0/],
  ])('student-v2 refuses %j (%s)', (reply, code, message) => {
    const parsed = parseTenths(reply);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(parsed.error.code).toBe(code);
      expect(parsed.error.message).toMatch(message);
    }
  });

  it.each([
    ['9 0 0 1\n', undefined],
    ['  9  0\t0 1  ', undefined],
    ['\n9 0 0 1', undefined],
    ['9 0 0 1\r\nbecause a red car is seen', 'because a red car is seen'],
    ['9 0 0 1\nbecause a red car is se', 'because a red car is se'], // cut by maxTokens: the weights still stand
  ])('student-v2 reads %j, the reasoning from the second line', (reply, reasoning) => {
    const parsed = parseTenths(reply);
    expect(parsed).toEqual({
      ok: true,
      weights: weightsOf([9, 0, 0, 1]),
      dominant: 'visual',
      ...(reasoning ? { reasoning } : {}),
    });
  });

  it('converts any label to tenths summing to 10, within a tenth of each weight, keeping the dominant modality', () => {
    const raw = fc.tuple(fc.nat(100), fc.nat(100), fc.nat(100), fc.nat(100)).filter((t) => t.some((x) => x > 0));
    fc.assert(
      fc.property(raw, (hundredths) => {
        const label = normaliseWeights(weightsOf(hundredths.map((h) => h / 10)));
        const tenths = toTenths(label);
        expect(tenths.reduce((s, t) => s + t, 0)).toBe(10);
        expect(tenths.every((t) => Number.isInteger(t) && t >= 0 && t <= 10)).toBe(true);
        const converted = weightsOf(tenths);
        expect(dominantModality(converted)).toBe(dominantModality(label));
        for (const m of MODALITIES) expect(Math.abs(converted[m] - label[m])).toBeLessThanOrEqual(0.15 + 1e-9);
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps the dominant modality where plain rounding would hand it to a near tie', () => {
    // 0.41 vs 0.40: largest remainder alone gives 4 4 2 0, a tie that MODALITIES order hands to visual.
    const label: Weights = { visual: 0.4, audio: 0.41, transcription: 0.19, metadata: 0 };
    expect(toTenths(label)).toEqual([3, 5, 2, 0]);
  });
});

describe('versions', () => {
  it('new runs train with student-v2', () => {
    expect(CURRENT_STUDENT_PROMPT_VERSION).toBe('student-v2');
    expect(studentFormat('student-v1').prompt).toMatch(/JSON weights/);
  });

  it('refuses a version this release does not know, naming it and the known ones', () => {
    expect(() => studentFormat('student-v9')).toThrow(UnknownPromptVersion);
    expect(() => studentFormat('student-v9')).toThrow(
      /"student-v9" is unknown to this release \(it knows student-v1, student-v2, student-v3, teacher-v1\)/,
    );
    expect(() => answerFormat('teacher-v0')).toThrow(/it knows student-v1, student-v2, student-v3, teacher-v1/);
  });

  it("student-v3: a minimal prompt for a fine-tuned student, answering in student-v2's tenths", () => {
    const v3 = studentFormat('student-v3');
    expect(v3.prompt).toBe('Route this video search query.');
    // Nothing of the rules or the format: the student learned them from the pairs.
    expect(v3.prompt).not.toMatch(/tenths|JSON|visual/);
    expect(v3.prompt.length).toBeLessThan(STUDENT_FORMATS['student-v2'].prompt.length / 4);
    expect(v3.selfDescribing).toBe(false);
    expect(STUDENT_FORMATS['student-v2'].selfDescribing).toBe(true);
    expect(v3.maxTokens).toBe(STUDENT_FORMATS['student-v2'].maxTokens);
    expect(v3.parse('9 0 0 1')).toMatchObject({ ok: true, dominant: 'visual' });
    expect(v3.parse('{"visual":1,"audio":0,"transcription":0,"metadata":0}').ok).toBe(false);
    expect(v3.render({ visual: 0.3, audio: 0.6, transcription: 0, metadata: 0.1 })).toBe('3 6 0 1');
    expect(v3.checkLabel('3 6 0 1')).toBeUndefined();
    expect(v3.checkLabel('3  6 0 1')).toMatch(/exactly as "3 6 0 1"/);
    expect(studentFormatOfPrompt(v3.prompt)).toBe(v3);
  });

  it('teacher-v1: a student asked with the whole teacher prompt, answering in its JSON', () => {
    const teacher = studentFormat(TEACHER_PROMPT_VERSION);
    expect(teacher.prompt).toBe(teacherPrompt(false));
    expect(teacher.maxTokens).toBeUndefined();
    expect(teacher.selfDescribing).toBe(true);
    expect(teacher.parse('{"visual":1,"audio":0,"transcription":0,"metadata":0}').ok).toBe(true);
    expect(teacher.render({ visual: 1, audio: 0, transcription: 0, metadata: 0 })).toBe(
      '{"visual":1,"audio":0,"transcription":0,"metadata":0}',
    );
    expect(isStudentPromptVersion(TEACHER_PROMPT_VERSION)).toBe(true);
    // Existing callers keep their meaning: new runs without candidates train with student-v2.
    expect(CURRENT_STUDENT_PROMPT_VERSION).toBe('student-v2');
  });

  it('reads the teacher prompt and student-v1 as JSON, student-v2 as tenths', () => {
    expect(answerFormat(TEACHER_PROMPT_VERSION)).toBe(TEACHER_ANSWER_FORMAT);
    expect(answerFormat('student-v1').parse('{"visual":1,"audio":0,"transcription":0,"metadata":0}').ok).toBe(true);
    expect(answerFormat('student-v2').parse('{"visual":1,"audio":0,"transcription":0,"metadata":0}').ok).toBe(false);
    expect(answerFormat('student-v2').parse('10 0 0 0').ok).toBe(true);
  });

  it('names both versions and where each comes from on a mismatch', () => {
    const check = () =>
      requireSameVersion(
        { version: 'student-v1', from: 'the Assemble result' },
        { version: 'student-v2', from: 'runs/r/test.jsonl' },
        'assemble the run again',
      );
    expect(check).toThrow(PromptVersionMismatch);
    expect(check).toThrow(
      'runs/r/test.jsonl is in student prompt version student-v2, the Assemble result in student-v1: assemble the run again',
    );
  });
});

describe('records say their format by their system prompt', () => {
  const weights = weightsOf([2, 0, 7, 1]);

  it.each(STUDENT_PROMPT_VERSIONS)('a %s record is read in its own format', (version) => {
    const record = toRecord('chef says add salt', weights, undefined, STUDENT_FORMATS[version]);
    expect(recordFormat(record)?.promptVersion).toBe(version);
    expect(studentFormatOfPrompt(record.system[0]?.text ?? '')?.promptVersion).toBe(version);
    expect(parseRecordLabel(record)).toEqual({ ok: true, weights, dominant: 'transcription' });
  });

  it('new records are written in the current format', () => {
    const record = toRecord('chef says add salt', weights);
    expect(record.system).toEqual([{ text: STUDENT_FORMATS['student-v2'].prompt }]);
    expect(record.messages[1]?.content[0]?.text).toBe('2 0 7 1');
  });

  it('a record with an unknown system prompt is refused, not guessed', () => {
    const record = { ...toRecord('q', weights), system: [{ text: 'Reply with JSON.' }] };
    const parsed = parseRecordLabel(record);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toMatchObject({ code: 'UNKNOWN_PROMPT' });
  });
});

describe('a model answering in another format than it was asked in', () => {
  const v1 = STUDENT_FORMATS['student-v1'];
  const v2 = STUDENT_FORMATS['student-v2'];
  const json = (i: number) => v1.render(weightsOf(ALL_TENTHS[i] ?? [10, 0, 0, 0]));
  const tenths = (i: number) => v2.render(weightsOf(ALL_TENTHS[i] ?? [10, 0, 0, 0]));
  const replies = (n: number, make: (i: number) => string, rest: (i: number) => string) =>
    Array.from({ length: 20 }, (_, i) => (i < n ? make(i) : rest(i)));

  it('is told by the format most replies parse in', () => {
    expect(otherFormatOf(replies(20, json, tenths), v2)).toBe(v1);
    expect(otherFormatOf(replies(20, tenths, json), v1)).toBe(v2);
    // 18 of 20 in the other format (0.9) is enough; the rest may be anything.
    expect(
      otherFormatOf(
        replies(18, json, () => 'no idea'),
        v2,
      ),
    ).toBe(v1);
  });

  it('is not claimed when the replies are mostly in the format asked, or in no known format', () => {
    expect(otherFormatOf(replies(20, tenths, json), v2)).toBeUndefined();
    expect(otherFormatOf(replies(10, tenths, json), v2)).toBeUndefined(); // half valid: the gate judges it
    expect(
      otherFormatOf(
        replies(17, json, () => 'no idea'),
        v2,
      ),
    ).toBeUndefined(); // 0.85 in the other
    expect(
      otherFormatOf(
        replies(
          20,
          () => 'prose',
          () => 'prose',
        ),
        v2,
      ),
    ).toBeUndefined();
    expect(otherFormatOf([], v2)).toBeUndefined();
  });
});
