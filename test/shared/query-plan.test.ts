import {
  CELL_COUNT,
  cellOf,
  DOMAINS,
  MAX_SHARDS,
  PHRASINGS,
  planQueries,
  PlanError,
  QUERY_TARGETS,
} from '../../lambda/shared/query-plan';
import {
  normalisedQuery,
  parseWrittenQueries,
  queryProblem,
  queryWritingMessage,
} from '../../lambda/shared/query-writing';

const defaults = { exampleCount: 10_000, testExampleCount: 500, queriesPerShard: 100, generationSurplus: 0.35 };

describe('planQueries', () => {
  it('plans the target plus the surplus, in shards of queriesPerShard with the remainder last', () => {
    const plan = planQueries(defaults);
    expect(plan.targetRecords).toBe(10_500);
    expect(plan.plannedQueries).toBe(14_175);
    expect(plan.shards).toHaveLength(142);
    expect(plan.shards.slice(0, -1).every((s) => s.count === 100)).toBe(true);
    expect(plan.shards.at(-1)?.count).toBe(75);
    expect(plan.shards.reduce((s, x) => s + x.count, 0)).toBe(plan.plannedQueries);
    expect(plan.shards.map((s) => s.index)).toEqual(plan.shards.map((_, i) => i));
  });

  it('spreads shards evenly over targets, and covers every domain and phrasing', () => {
    const { shards } = planQueries(defaults);
    const perTarget = QUERY_TARGETS.map((t) => shards.filter((s) => s.target === t).length);
    expect(Math.max(...perTarget) - Math.min(...perTarget)).toBeLessThanOrEqual(1);
    expect(new Set(shards.map((s) => s.domain))).toEqual(new Set(DOMAINS));
    expect(new Set(shards.map((s) => s.phrasing))).toEqual(new Set(PHRASINGS));
  });

  it('gives the first 360 shards 360 distinct target × domain × phrasing cells', () => {
    const cells = new Set(Array.from({ length: CELL_COUNT }, (_, i) => JSON.stringify(cellOf(i))));
    expect(cells.size).toBe(CELL_COUNT);
    expect(cellOf(CELL_COUNT)).toEqual(cellOf(0));
  });

  it('refuses a plan with more shards than the state can carry, naming the fix', () => {
    const huge = { exampleCount: 15_000, testExampleCount: 1_000, queriesPerShard: 10, generationSurplus: 2 };
    expect(() => planQueries(huge)).toThrow(PlanError);
    expect(() => planQueries(huge)).toThrow(/raise queriesPerShard to at least 96/);
    expect(planQueries({ ...huge, queriesPerShard: 96 }).shards.length).toBeLessThanOrEqual(MAX_SHARDS);
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
