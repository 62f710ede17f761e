import fc from 'fast-check';
import { assembleDataset, productionTestKey, type AssemblyInput } from '../../lambda/pipeline/generation/assembly';
import { toRecord } from '../../lambda/core/dataset-record';
import { MODALITIES, type Modality } from '../../lambda/core/modality';
import { DEFAULT_PRICES } from '../../lambda/core/prices';
import { productionRecordsKey } from '../../lambda/core/production-records';
import {
  parseSelection,
  productionRequest,
  proportional,
  quotaRecordsByModality,
  selectionText,
  selectProduction,
  type ProductionSelection,
} from '../../lambda/pipeline/generation/production-selection';
import {
  guaranteedLabels,
  planQueries,
  planShortfall,
  queriesForLabels,
  shortfallLabels,
  type PlanInput,
} from '../../lambda/pipeline/generation/query-plan';
import { normalisedQuery } from '../../lambda/pipeline/generation/query-writing';
import { runKeys } from '../../lambda/core/runs';
import { dominantWeights, simulatedShards } from '../helpers/simulated-teacher';

/** Production selection, the shortfall plan and assembly with production first: the pure parts of a run from production. */

const line = (query: string, m: Modality) => JSON.stringify(toRecord(query, dominantWeights(m)));
const object = (day: string, id: string, lines: readonly string[]) => ({
  key: productionRecordsKey(new Date(`${day}T09:00:00Z`), id),
  text: lines.join('\n') + '\n',
});
const OPTIONS = {
  runId: 'run-p',
  since: '2026-11-01',
  until: '2026-11-26',
  max: 1000,
  holdOutShare: 0.1,
  heldOutCap: 950,
};
const records = (m: Modality, n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => line(`${m} live query ${from + i}`, m));

describe('productionRequest (the execution input, as Preflight checks it)', () => {
  const START = '2026-11-26T10:00:00Z';
  it('reads true as every record of the last 30 days, and takes since and max when given', () => {
    expect(productionRequest(undefined, START)).toEqual({ enabled: false });
    expect(productionRequest(true, START)).toEqual({
      enabled: true,
      since: '2026-10-27',
      until: '2026-11-26',
      max: 100000,
    });
    expect(productionRequest({ since: '2026-11-20', max: 500 }, START)).toEqual({
      enabled: true,
      since: '2026-11-20',
      until: '2026-11-26',
      max: 500,
    });
  });
  it.each([
    [{ since: '2026-13-01' }, /fromProduction.since is "2026-13-01", not a day: use YYYY-MM-DD/],
    [{ since: '2026-02-30' }, /fromProduction.since is "2026-02-30", not a day/],
    [{ since: '2026-11-27' }, /fromProduction.since "2026-11-27" is outside 2025-11-25 to 2026-11-26/],
    [{ since: '2024-01-01' }, /is outside .* at most 366 days back/],
    [{ max: 0 }, /fromProduction.max is 0: use a whole number from 1 to 100000/],
    [{ max: 2.5 }, /fromProduction.max is 2.5/],
    [{ days: 3 }, /fromProduction.days is not an option/],
    ['yes', /fromProduction in the execution input is "yes": use true or/],
  ])('refuses %j naming the field and the fix', (value, message) => {
    expect(() => productionRequest(value, START)).toThrow(message);
  });
});

describe('selectProduction', () => {
  it('validates every line, keeps the oldest of normalised duplicates, holds out a stratified share', () => {
    const selection = selectProduction(
      [
        object('2026-11-25', 'b', [...records('audio', 20), line('VISUAL live query 0!', 'audio'), '{oops']),
        object('2026-11-24', 'a', [...records('visual', 40), line('User: say hi', 'visual')]),
      ],
      OPTIONS,
    );
    expect(selection.summary).toMatchObject({
      objects: 2,
      considered: 63,
      invalid: { INVALID_JSON: 1, RESERVED_STRING: 1 },
      duplicates: 1,
      overMax: 0,
      selected: 60,
      heldOut: 6,
      byModality: {
        selected: { visual: 40, audio: 20, transcription: 0, metadata: 0 },
        heldOut: { visual: 4, audio: 2, transcription: 0, metadata: 0 },
      },
    });
    // The day before was read first: its visual label of "visual live query 0" stays, the later audio copy is dropped.
    expect(selection.records.find((r) => r.query === 'visual live query 0')?.weights).toEqual(
      dominantWeights('visual'),
    );
    expect(quotaRecordsByModality(selection.summary)).toEqual([36, 18, 0, 0]);
  });

  it('caps at max evenly over the modalities, newest records first', () => {
    const selection = selectProduction(
      [
        object('2026-11-20', 'old', records('visual', 50)),
        object('2026-11-25', 'new', records('visual', 50, 50)),
        object('2026-11-25', 'a', records('metadata', 10)),
      ],
      { ...OPTIONS, max: 40 },
    );
    expect(selection.summary.byModality.selected).toEqual({ visual: 30, audio: 0, transcription: 0, metadata: 10 });
    expect(selection.summary.overMax).toBe(70);
    expect(selection.records.filter((r) => r.key.includes('old'))).toEqual([]);
  });

  it('is stored and read back unchanged, and refuses a file whose records do not match its summary', () => {
    const selection = selectProduction([object('2026-11-25', 'a', records('audio', 12))], OPTIONS);
    const text = selectionText(selection);
    expect(parseSelection(text, 's3://b/k')).toEqual(selection);
    const truncated = text.split('\n').slice(0, 5).join('\n');
    expect(() => parseSelection(truncated, 's3://b/k')).toThrow(/s3:\/\/b\/k holds 4 records, its summary says 12/);
  });

  it('holds out in proportion to the live mix (largest remainders), never more than a class has', () => {
    expect(proportional([40, 20, 0, 0], 6)).toEqual([4, 2, 0, 0]);
    expect(proportional([5, 3, 1, 1], 3)).toEqual([2, 1, 0, 0]);
    fc.assert(
      fc.property(fc.array(fc.nat(50), { minLength: 4, maxLength: 4 }), fc.nat(200), (counts, total) => {
        const out = proportional(counts, total);
        const sum = counts.reduce((a, b) => a + b, 0);
        expect(out.reduce((a, b) => a + b, 0)).toBe(Math.min(total, sum));
        out.forEach((o, i) => expect(o).toBeLessThanOrEqual(counts[i] ?? 0));
      }),
    );
  });
});

describe('planShortfall', () => {
  const input: PlanInput = { exampleCount: 100, testExampleCount: 50, queriesPerShard: 10, generationSurplus: 0.35 };

  it('plans nothing when production covers every quota, and the synthetic-only plan when there is no production', () => {
    expect(planShortfall(input, [40, 40, 40, 40])).toMatchObject({ plannedQueries: 0, shards: [] });
    expect(planShortfall(input, [0, 0, 0, 0])).toEqual(planQueries(input));
  });

  it('plans only the modalities that are short, with the mislabel allowance and the surplus', () => {
    expect(shortfallLabels(input, [60, 60, 10, 0])).toEqual([0, 0, 27, 37]);
    const plan = planShortfall(input, [60, 60, 10, 0]);
    expect(plan.queriesByTarget).toEqual({ visual: 0, audio: 0, transcription: 37, metadata: 50, mixed: 0 });
    expect(new Set(plan.shards.map((s) => s.target))).toEqual(new Set(['transcription', 'metadata']));
    // 27 × 1.35 = 36.45 → 37 ≥ queriesForLabels(27) = 30; 37 × 1.35 → 50 ≥ 42.
    expect(queriesForLabels(27)).toBe(30);
  });

  it('property: production plus the labels the shortfall plan guarantees always fills every quota', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 100, max: 3000 }),
        fc.integer({ min: 50, max: 1000 }),
        fc.array(fc.nat(1500), { minLength: 4, maxLength: 4 }),
        (exampleCount, testExampleCount, production) => {
          fc.pre(testExampleCount < exampleCount);
          const plan = planShortfall({ ...input, exampleCount, testExampleCount, queriesPerShard: 100 }, production);
          if (production.every((p) => p === 0)) return;
          const quotas = shortfallLabels({ exampleCount, testExampleCount }, [0, 0, 0, 0]);
          MODALITIES.forEach((m, i) => {
            const own = guaranteedLabels(plan.queriesByTarget[m]);
            expect((production[i] ?? 0) + own).toBeGreaterThanOrEqual(quotas[i] ?? 0);
          });
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('assembleDataset with production records first', () => {
  const base = (
    selection: ProductionSelection,
    shards: AssemblyInput['shards'],
    plannedQueries: number,
  ): AssemblyInput => ({
    runId: 'run-p',
    shards,
    targetRecords: 150,
    plannedQueries,
    exampleCount: 100,
    testExampleCount: 50,
    minGenerationSuccessRate: 0.9,
    teacherModelId: 'us.amazon.nova-pro-v1:0',
    priceTable: DEFAULT_PRICES,
    includeReasoning: false,
    keys: { ...runKeys('run-p'), productionTest: productionTestKey('run-p') },
    production: {
      records: selection.records,
      since: '2026-11-01',
      until: '2026-11-26',
      selectionKey: 'runs/run-p/production/selection.jsonl',
      considered: selection.summary.considered,
      invalid: 0,
      duplicates: selection.summary.duplicates,
    },
  });

  it('trains on production first, tops up with synthetic, drops synthetic copies of held-out production queries', () => {
    const selection = selectProduction(
      [object('2026-11-25', 'a', [...records('visual', 60), ...records('audio', 60)])],
      OPTIONS,
    );
    const plan = planShortfall(
      { exampleCount: 100, testExampleCount: 50, queriesPerShard: 10, generationSurplus: 0.35 },
      quotaRecordsByModality(selection.summary),
    );
    const shards = simulatedShards(plan.shards, {
      seed: 7,
      offShare: { visual: 0, audio: 0, transcription: 0, metadata: 0 },
      offFates: ['dropped'],
      otherTo: 'spread',
      mixed: 'lost',
    });
    // A synthetic query that repeats a held-out production query must not reach either file as synthetic.
    const heldOutQuery = selection.records.find((r) => r.heldOut)?.query ?? '';
    const first = shards[0]?.content;
    const withCopy = first
      ? [
          {
            ...shards[0],
            index: 0,
            planned: shards[0]?.planned ?? 0,
            content: {
              ...first,
              examples: [
                ...first.examples,
                {
                  kind: 'example' as const,
                  query: heldOutQuery.toUpperCase(),
                  weights: dominantWeights('transcription'),
                },
              ],
            },
          },
          ...shards.slice(1),
        ]
      : shards;
    const dataset = assembleDataset(base(selection, withCopy, plan.plannedQueries));
    const sources = dataset.manifest.sources;
    expect(sources?.production).toMatchObject({ train: 50, heldOutSlice: 12 });
    expect(sources?.synthetic).toMatchObject({ train: 50, duplicates: 1 });
    expect(dataset.manifest.counts.train.byModality).toEqual({
      visual: 25,
      audio: 25,
      transcription: 25,
      metadata: 25,
    });
    expect(dataset.manifest.files.productionTest).toMatchObject({ key: productionTestKey('run-p'), records: 12 });
    const trained = new Set(dataset.train.map((r) => normalisedQuery(r.messages[0]?.content[0]?.text ?? '')));
    expect(trained.has(normalisedQuery(heldOutQuery))).toBe(false);
  });

  it('property: no held-out query (test set or production slice) is ever in the training file', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 80 }), { minLength: 4, maxLength: 4 }),
        fc.integer({ min: 0, max: 1000 }),
        fc.double({ min: 0, max: 0.5, noNaN: true }),
        (perModality, seed, holdOutShare) => {
          const selection = selectProduction(
            [
              object(
                '2026-11-25',
                'a',
                MODALITIES.flatMap((m, i) => records(m, perModality[i] ?? 0)),
              ),
            ],
            { ...OPTIONS, holdOutShare },
          );
          const plan = planShortfall(
            { exampleCount: 100, testExampleCount: 50, queriesPerShard: 10, generationSurplus: 0.35 },
            quotaRecordsByModality(selection.summary),
          );
          const shards = simulatedShards(plan.shards, {
            seed,
            offShare: { visual: 1, audio: 1, transcription: 1, metadata: 1 },
            offFates: ['dropped', 'duplicate', 'other', 'mixed'],
            otherTo: 'spread',
            mixed: 'spread',
          });
          // The success-rate floor is Assemble's own check (tested apart): a small top-up that loses its whole
          // allowance (ceil(n / 10) of n) may fall below 0.9 while every quota still fills.
          const dataset = assembleDataset({
            ...base(selection, shards, plan.plannedQueries),
            minGenerationSuccessRate: 0,
          });
          const text = (r: { messages: readonly { content: readonly { text: string }[] }[] }) =>
            normalisedQuery(r.messages[0]?.content[0]?.text ?? '');
          const trained = new Set(dataset.train.map(text));
          const heldOut = [
            ...dataset.test.map(text),
            ...selection.records.filter((r) => r.heldOut).map((r) => normalisedQuery(r.query)),
          ];
          expect(heldOut.filter((q) => trained.has(q))).toEqual([]);
          // Within the allowance the run always ends at its configured size.
          expect(dataset.train).toHaveLength(100);
          expect(dataset.test).toHaveLength(50);
        },
      ),
      { numRuns: 60 },
    );
  });
});
