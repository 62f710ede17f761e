import {
  CELL_COUNT,
  cellOf,
  DOMAINS,
  guaranteedLabels,
  LABEL_LOSS_ONE_IN,
  MAX_SHARDS,
  PHRASINGS,
  planQueries,
  PlanError,
  queriesForLabels,
  QUERY_TARGETS,
  runSizeProblem,
} from '../../lambda/pipeline/generation/query-plan';
import {
  normalisedQuery,
  parseWrittenQueries,
  queryProblem,
  queryWritingMessage,
} from '../../lambda/pipeline/generation/query-writing';

const defaults = { exampleCount: 10_000, testExampleCount: 500, queriesPerShard: 100, generationSurplus: 0.35 };
const smallest = { exampleCount: 100, testExampleCount: 50, queriesPerShard: 100, generationSurplus: 0.35 };

describe('planQueries', () => {
  it('plans the target plus the surplus: each target in the fewest shards of ≤ queriesPerShard, sizes within one', () => {
    const plan = planQueries(defaults);
    expect(plan.targetRecords).toBe(10_500);
    expect(plan.plannedQueries).toBe(14_175);
    // 10,500 records need 2,917 queries per modality under the allowance; mixed takes the other 2,507.
    expect(plan.queriesByTarget).toEqual({
      visual: 2917,
      audio: 2917,
      transcription: 2917,
      metadata: 2917,
      mixed: 2507,
    });
    expect(plan.shards).toHaveLength(4 * 30 + 26);
    for (const target of QUERY_TARGETS) {
      const sizes = plan.shards.filter((s) => s.target === target).map((s) => s.count);
      expect(sizes.reduce((s, c) => s + c, 0)).toBe(plan.queriesByTarget[target]);
      expect(sizes.length).toBe(Math.ceil(plan.queriesByTarget[target] / defaults.queriesPerShard));
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    }
    expect(plan.shards.reduce((s, x) => s + x.count, 0)).toBe(plan.plannedQueries);
    expect(plan.shards.map((s) => s.index)).toEqual(plan.shards.map((_, i) => i));
  });

  it('plans all five targets for the documented minimum run (100 + 50), whatever the shard size', () => {
    for (const queriesPerShard of [10, 100, 500]) {
      const plan = planQueries({ ...smallest, queriesPerShard });
      const planned = (t: string) => plan.shards.filter((s) => s.target === t).reduce((n, s) => n + s.count, 0);
      expect(QUERY_TARGETS.map(planned)).toEqual([43, 43, 42, 42, 33]);
      // The modalities' own queries alone cover the 150 records after the allowance (1 in 10 lost), ~a quarter each.
      const guaranteed = QUERY_TARGETS.slice(0, 4).map((m) => guaranteedLabels(planned(m)));
      expect(guaranteed).toEqual([38, 38, 37, 37]);
    }
  });

  it('interleaves the targets round by round and walks each target through distinct domain × phrasing cells', () => {
    const { shards } = planQueries({ ...defaults, queriesPerShard: 30 });
    // Any five consecutive shards of a full round cover the five targets.
    expect(shards.slice(0, 5).map((s) => s.target)).toEqual([...QUERY_TARGETS]);
    for (const target of QUERY_TARGETS) {
      const cells = shards.filter((s) => s.target === target).map((s) => `${s.domain}/${s.phrasing}`);
      expect(new Set(cells.slice(0, DOMAINS.length * PHRASINGS.length)).size).toBe(
        Math.min(cells.length, DOMAINS.length * PHRASINGS.length),
      );
    }
    expect(new Set(shards.slice(0, 15).map((s) => s.domain)).size).toBe(DOMAINS.length);
    expect(new Set(shards.slice(0, 15).map((s) => s.phrasing))).toEqual(new Set(PHRASINGS));
  });

  it('gives the first 360 shards 360 distinct target × domain × phrasing cells', () => {
    const cells = new Set(Array.from({ length: CELL_COUNT }, (_, i) => JSON.stringify(cellOf(i))));
    expect(cells.size).toBe(CELL_COUNT);
    expect(cellOf(CELL_COUNT)).toEqual(cellOf(0));
  });

  it('refuses a plan with more shards than the state can carry, naming the fix', () => {
    const huge = { exampleCount: 15_000, testExampleCount: 1_000, queriesPerShard: 10, generationSurplus: 2 };
    expect(() => planQueries(huge)).toThrow(PlanError);
    expect(runSizeProblem(huge)).toBe(
      'exampleCount 15000 + testExampleCount 1000 with generationSurplus 2 plan 48000 queries in 4800 shards of at ' +
        "most 10; at most 500 shards fit in the state machine's state: raise queriesPerShard to at least 96.",
    );
    expect(planQueries({ ...huge, queriesPerShard: 96 }).shards.length).toBeLessThanOrEqual(MAX_SHARDS);
  });

  it('refuses a surplus too small for the allowance, naming the numbers and the smallest surplus that works', () => {
    const none = { ...smallest, generationSurplus: 0 };
    expect(runSizeProblem(none)).toBe(
      'exampleCount 100 + testExampleCount 50 with generationSurplus 0 plan 150 queries; at least 167 are needed for ' +
        'every modality to fill its quota when the teacher loses or mislabels 1 in 10 of its queries: set ' +
        'generationSurplus to at least 0.107.',
    );
    expect(() => planQueries(none)).toThrow(/set generationSurplus to at least 0\.107/);
    expect(runSizeProblem({ ...smallest, generationSurplus: 0.107 })).toBeUndefined();
    expect(runSizeProblem(defaults)).toBeUndefined();
  });

  it('knows the fewest queries that guarantee a number of labels under the allowance', () => {
    const wrong: number[] = [];
    for (let labels = 0; labels <= 20_000; labels++) {
      const queries = queriesForLabels(labels);
      const fewest = guaranteedLabels(queries) >= labels && (queries === 0 || guaranteedLabels(queries - 1) < labels);
      if (!fewest) wrong.push(labels);
    }
    expect(wrong).toEqual([]);
    expect(guaranteedLabels(100)).toBe(100 - 100 / LABEL_LOSS_ONE_IN);
  });
});

describe('query writing', () => {
  it('asks for the shard cell in the message', () => {
    const text = queryWritingMessage({ target: 'audio', domain: 'cooking', phrasing: 'question', count: 25, batch: 2 });
    expect(text).toContain('Write 25 different');
    expect(text).toContain('(set 3)');
    expect(text).toContain('Domain: cooking');
    expect(text).toMatch(/SOUND/);
    expect(text).toMatch(/question/);
  });

  it('parses a JSON array in prose or code fences and drops unusable entries', () => {
    const reply =
      'Sure!\n```json\n["dog barking", "  sizzling   pan ", 42, "", "User: hello", "' + 'x'.repeat(201) + '"]\n```';
    expect(parseWrittenQueries(reply)).toEqual({ ok: true, queries: ['dog barking', 'sizzling pan'], rejected: 4 });
  });

  it('reports a reply without an array', () => {
    expect(parseWrittenQueries('I cannot help with that.')).toEqual({
      ok: false,
      message: 'the reply holds no JSON array',
    });
    expect(parseWrittenQueries('[not json]')).toMatchObject({ ok: false });
  });

  it('skips a bracket in prose before the array', () => {
    expect(parseWrittenQueries('Queries [as asked]: ["a b"]')).toMatchObject({ ok: true, queries: ['a b'] });
  });

  it('normalises case, punctuation and whitespace for duplicate checks', () => {
    expect(normalisedQuery('  Dog, barking LOUDLY!! ')).toBe('dog barking loudly');
    expect(normalisedQuery('dog barking loudly')).toBe(normalisedQuery('Dog barking... loudly?'));
    expect(queryProblem('clip <video> of cats')).toMatch(/reserved/);
  });
});
