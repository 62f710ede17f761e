import { dominantModality, isMixed, MODALITIES } from '../../lambda/core/modality';
import { firstJsonObject, formatLabel, normaliseWeights, parseWeights } from '../../lambda/core/weights';

const okWeights = (reply: string) => {
  const result = parseWeights(reply);
  if (!result.ok) throw new Error(`expected ok, got ${result.error.code}: ${result.error.message}`);
  return result;
};

describe('parseWeights accepts', () => {
  it('a bare JSON object', () => {
    const r = okWeights('{"visual":0.9,"audio":0,"transcription":0,"metadata":0.1}');
    expect(r.weights).toEqual({ visual: 0.9, audio: 0, transcription: 0, metadata: 0.1 });
    expect(r.dominant).toBe('visual');
  });

  it('an object in a code fence', () => {
    const r = okWeights('```json\n{"visual":0.3,"audio":0.6,"transcription":0,"metadata":0.1}\n```');
    expect(r.dominant).toBe('audio');
  });

  it('an object with prose before and after, braces in the prose too', () => {
    const r = okWeights(
      'Sure {not json}. Here: {"visual":0.3,"audio":0,"transcription":0.1,"metadata":0.6} — hope that helps }',
    );
    expect(r.weights.metadata).toBe(0.6);
  });

  it('braces inside a JSON string', () => {
    const r = okWeights('{"reasoning":"a {tricky} one","visual":0.5,"audio":0.5,"transcription":0,"metadata":0}');
    expect(r.reasoning).toBe('a {tricky} one');
    expect(r.dominant).toBe('visual'); // tie goes to the first modality
  });

  it('a sum within 0.01 of 1, normalised to exactly 1', () => {
    const r = okWeights('{"visual":0.333,"audio":0.333,"transcription":0.333,"metadata":0}');
    expect(r.weights).toEqual({ visual: 0.34, audio: 0.33, transcription: 0.33, metadata: 0 });
    expect(Math.round(MODALITIES.reduce((s, m) => s + r.weights[m], 0) * 100)).toBe(100);
  });

  it('extra keys, which it ignores', () => {
    expect(okWeights('{"visual":1,"audio":0,"transcription":0,"metadata":0,"dominant":"visual"}').weights.visual).toBe(
      1,
    );
  });
});

describe('parseWeights rejects, saying what was wrong', () => {
  it.each([
    ['an empty reply', '  ', 'EMPTY_REPLY', /empty/],
    ['plain text', 'visual mostly, some audio', 'NO_JSON_OBJECT', /no JSON object/],
    ['broken JSON', '{"visual":0.5,"audio":0.5', 'NO_JSON_OBJECT', /no JSON object/],
    ['a JSON array', '[0.25,0.25,0.25,0.25]', 'NO_JSON_OBJECT', /no JSON object/],
    ['a missing key', '{"visual":0.5,"audio":0.5,"transcription":0}', 'MISSING_KEY', /"metadata" is missing/],
    [
      'a negative weight',
      '{"visual":1.1,"audio":-0.1,"transcription":0,"metadata":0}',
      'OUT_OF_RANGE',
      /"visual" must be between 0 and 1, got 1.1/,
    ],
    [
      'a negative weight alone',
      '{"visual":0.6,"audio":-0.1,"transcription":0.5,"metadata":0}',
      'OUT_OF_RANGE',
      /"audio" .* got -0.1/,
    ],
    ['NaN', '{"visual":NaN,"audio":0.5,"transcription":0.5,"metadata":0}', 'NO_JSON_OBJECT', /no JSON object/],
    [
      'a string number',
      '{"visual":"0.5","audio":0.5,"transcription":0,"metadata":0}',
      'NOT_A_NUMBER',
      /"visual" must be a number, got "0.5"/,
    ],
    ['null', '{"visual":null,"audio":0.5,"transcription":0.5,"metadata":0}', 'NOT_A_NUMBER', /got null/],
    [
      'a sum of 0.7',
      '{"visual":0.4,"audio":0.1,"transcription":0.1,"metadata":0.1}',
      'BAD_SUM',
      /sum to 1 \(±0.01\), got 0.7/,
    ],
    ['a sum of 1.3', '{"visual":0.7,"audio":0.2,"transcription":0.2,"metadata":0.2}', 'BAD_SUM', /got 1.3/],
    [
      'a nested object',
      '{"weights":{"visual":1,"audio":0,"transcription":0,"metadata":0}}',
      'MISSING_KEY',
      /"visual" is missing/,
    ],
    [
      'a nested value',
      '{"visual":{"w":1},"audio":0,"transcription":0,"metadata":0}',
      'NOT_A_NUMBER',
      /"visual" must be a number/,
    ],
  ])('%s', (_name, reply, code, message) => {
    const result = parseWeights(reply);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe(code);
    expect(result.error.message).toMatch(message);
  });
});

describe('normaliseWeights', () => {
  it('sums to exactly 100 hundredths for awkward inputs', () => {
    const samples = [
      { visual: 1, audio: 1, transcription: 1, metadata: 0 },
      { visual: 0.1, audio: 0.2, transcription: 0.3, metadata: 0.4 },
      { visual: 0.995, audio: 0.005, transcription: 0, metadata: 0 },
      { visual: 2, audio: 3, transcription: 5, metadata: 7 },
    ];
    for (const w of samples) {
      const n = normaliseWeights(w);
      expect(MODALITIES.reduce((s, m) => s + Math.round(n[m] * 100), 0)).toBe(100);
      for (const m of MODALITIES) expect(Math.round(n[m] * 100)).toBeCloseTo(n[m] * 100, 9);
    }
  });

  it('keeps already-normal weights unchanged', () => {
    const w = { visual: 0.1, audio: 0.2, transcription: 0.3, metadata: 0.4 };
    expect(normaliseWeights(w)).toEqual(w);
  });

  it('refuses all-zero weights', () => {
    expect(() => normaliseWeights({ visual: 0, audio: 0, transcription: 0, metadata: 0 })).toThrow(RangeError);
  });
});

describe('labels and helpers', () => {
  it('formats the compact label in modality order, reasoning only when given', () => {
    const w = { metadata: 0.1, visual: 0.9, audio: 0, transcription: 0 };
    expect(formatLabel(w)).toBe('{"visual":0.9,"audio":0,"transcription":0,"metadata":0.1}');
    expect(formatLabel(w, 'a red car')).toBe(
      '{"visual":0.9,"audio":0,"transcription":0,"metadata":0.1,"reasoning":"a red car"}',
    );
  });

  it('round-trips a label through the parser', () => {
    const w = { visual: 0.25, audio: 0.25, transcription: 0.4, metadata: 0.1 };
    expect(okWeights(formatLabel(w)).weights).toEqual(w);
  });

  it('finds the dominant modality and mixed queries', () => {
    expect(dominantModality({ visual: 0.2, audio: 0.2, transcription: 0.5, metadata: 0.1 })).toBe('transcription');
    expect(isMixed({ visual: 0.4, audio: 0.3, transcription: 0.2, metadata: 0.1 })).toBe(true);
    expect(isMixed({ visual: 0.5, audio: 0.3, transcription: 0.2, metadata: 0 })).toBe(false);
  });

  it('skips non-object JSON and stops at an unclosed object', () => {
    expect(firstJsonObject('{1} {"a":1}')).toEqual({ a: 1 });
    expect(firstJsonObject('{"a":1')).toBeUndefined();
    expect(firstJsonObject('sure { here it is: {"a":1}')).toEqual({ a: 1 });
  });
});
