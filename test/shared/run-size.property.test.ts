import fc from 'fast-check';
import { assembleDataset, type AssemblyShard } from '../../lambda/pipeline/generation/assembly';
import { bandLimits } from '../../lambda/pipeline/generation/balance';
import { TooFewBalancedRecords } from '../../lambda/pipeline/generation/dataset-split';
import { recordParts } from '../../lambda/core/dataset-record';
import { MODALITIES, type Modality } from '../../lambda/core/modality';
import { DEFAULT_PRICES } from '../../lambda/core/prices';
import {
  cellOf,
  evenSplit,
  guaranteedLabels,
  LABEL_LOSS_ONE_IN,
  MAX_SHARDS,
  minimumPlannedQueries,
  plannedQueriesOf,
  planQueries,
  PlanError,
  QUERY_TARGETS,
  runSizeProblem,
  type PlanInput,
  type ShardSpec,
} from '../../lambda/pipeline/generation/query-plan';
import { normalisedQuery } from '../../lambda/pipeline/generation/query-writing';
import { simulatedShards, type LabelBehaviour, type OffFate } from '../helpers/simulated-teacher';

/**
 * Every run size Preflight accepts (exampleCount 100-15,000, testExampleCount 50-1,000 and below it, queriesPerShard
 * 10-500, generationSurplus 0-2) is either refused by runSizeProblem before any teacher call — and then truly cannot
 * end balanced — or planned so that a teacher within the plan's allowance (LABEL_LOSS_ONE_IN) always ends with exactly
 * exampleCount training records in the band and testExampleCount held out: plan → simulated labels → assembly.
 */

const size = fc
  .record({
    exampleCount: fc.integer({ min: 100, max: 15_000 }),
    testExampleCount: fc.integer({ min: 50, max: 1_000 }),
    queriesPerShard: fc.integer({ min: 10, max: 500 }),
    generationSurplus: fc.oneof(fc.double({ min: 0, max: 2, noNaN: true }), fc.constantFrom(0, 0.1, 0.35, 2)),
  })
  .filter((s) => s.testExampleCount < s.exampleCount);

/** How much of a modality's allowance is used: often all of it. */
const share = fc.oneof(fc.constant(1), fc.double({ min: 0, max: 1, noNaN: true }));

const modalityOrSpread = fc.constantFrom<Modality | 'spread'>(...MODALITIES, 'spread');

/** A teacher within the allowance: up to all of it used per modality, every fate, mixed labels anywhere or lost. */
const withinAllowance: fc.Arbitrary<LabelBehaviour> = fc.record({
  seed: fc.integer(),
  offShare: fc.record({ visual: share, audio: share, transcription: share, metadata: share }),
  offFates: fc.subarray<OffFate>(['dropped', 'duplicate', 'other', 'mixed'], { minLength: 1 }),
  otherTo: modalityOrSpread,
  mixed: fc.constantFrom<Modality | 'spread' | 'lost'>(...MODALITIES, 'spread', 'lost'),
});

/** The worst the allowance permits: every allowed query lost, and every mixed one too. */
const ADVERSARY: LabelBehaviour = {
  seed: 1,
  offShare: { visual: 1, audio: 1, transcription: 1, metadata: 1 },
  offFates: ['dropped'],
  otherTo: 'spread',
  mixed: 'lost',
};

/** Off queries and every mixed one labelled visual, duplicates beside them: one modality piles up. */
const PILING: LabelBehaviour = { ...ADVERSARY, offFates: ['other', 'duplicate'], otherTo: 'visual', mixed: 'visual' };

const assemble = (input: PlanInput, shards: readonly AssemblyShard[]) =>
  assembleDataset({
    runId: 'run-size',
    shards,
    targetRecords: input.exampleCount + input.testExampleCount,
    plannedQueries: shards.reduce((s, x) => s + x.planned, 0),
    exampleCount: input.exampleCount,
    testExampleCount: input.testExampleCount,
    // Failed generation has its own guard (GenerationBelowMinimum); the allowance may lose more than 10 % of a run.
    minGenerationSuccessRate: 0,
    teacherModelId: 'us.amazon.nova-pro-v1:0',
    priceTable: DEFAULT_PRICES,
    includeReasoning: false,
    keys: { train: 'train.jsonl', test: 'test.jsonl', manifest: 'manifest.json' },
    now: () => new Date('2026-01-01T00:00:00Z'),
  });

const queriesOf = (text: string) =>
  text
    .trim()
    .split('\n')
    .map((line) => normalisedQuery(recordParts(JSON.parse(line)).query));

const BOUNDARIES: PlanInput[] = [
  { exampleCount: 100, testExampleCount: 50, queriesPerShard: 100, generationSurplus: 0.35 },
  { exampleCount: 100, testExampleCount: 50, queriesPerShard: 10, generationSurplus: 0.35 },
  { exampleCount: 100, testExampleCount: 50, queriesPerShard: 500, generationSurplus: 0.107 },
  { exampleCount: 100, testExampleCount: 99, queriesPerShard: 10, generationSurplus: 2 },
  { exampleCount: 15_000, testExampleCount: 1_000, queriesPerShard: 500, generationSurplus: 2 },
  { exampleCount: 15_000, testExampleCount: 1_000, queriesPerShard: 96, generationSurplus: 2 },
  { exampleCount: 15_000, testExampleCount: 50, queriesPerShard: 500, generationSurplus: 0.112 },
  { exampleCount: 1_001, testExampleCount: 1_000, queriesPerShard: 10, generationSurplus: 0.12 },
];

describe('run sizes', () => {
  it('plans every accepted size with all four modalities covered by their allowance, in proportion, in ≤ 500 shards', () => {
    fc.assert(
      fc.property(size, (input) => {
        const problem = runSizeProblem(input);
        if (problem !== undefined) {
          expect(() => planQueries(input)).toThrow(PlanError);
          return;
        }
        const plan = planQueries(input);
        const counts = QUERY_TARGETS.map((t) => plan.queriesByTarget[t]);
        expect(counts.reduce((s, c) => s + c, 0)).toBe(plan.plannedQueries);
        expect(plan.shards.reduce((s, x) => s + x.count, 0)).toBe(plan.plannedQueries);
        expect(plan.shards.length).toBeLessThanOrEqual(MAX_SHARDS);
        expect(plan.shards.every((s) => s.count >= 1 && s.count <= input.queriesPerShard)).toBe(true);
        const modalities = counts.slice(0, MODALITIES.length);
        // Each modality gets at least the quota its guaranteed labels must fill; all four about equally.
        const records = plan.targetRecords;
        expect(modalities.map(guaranteedLabels).reduce((s, g) => s + g, 0)).toBeGreaterThanOrEqual(records);
        const tight = plan.plannedQueries < minimumPlannedQueries(input) + MODALITIES.length;
        expect(Math.max(...modalities) - Math.min(...modalities)).toBeLessThanOrEqual(
          tight ? 2 * LABEL_LOSS_ONE_IN : 2,
        );
        // Mixed gets what the allowance leaves, up to a fifth; only the tightest surplus leaves it none.
        expect(plan.queriesByTarget.mixed).toBeLessThanOrEqual(Math.ceil(plan.plannedQueries / QUERY_TARGETS.length));
        if (!tight) expect(plan.queriesByTarget.mixed).toBeGreaterThan(0);
      }),
      { numRuns: 2_000, examples: BOUNDARIES.map((b) => [b]) },
    );
  });

  it('ends every accepted size with exactly exampleCount training records in the band and testExampleCount held out', () => {
    const accepted = size.filter((input) => runSizeProblem(input) === undefined);
    fc.assert(
      fc.property(accepted, withinAllowance, (input, behaviour) => {
        const plan = planQueries(input);
        const { manifest, trainText, testText } = assemble(input, simulatedShards(plan.shards, behaviour));
        const { train, test } = manifest.counts;
        expect(train.total).toBe(input.exampleCount);
        expect(test.total).toBe(input.testExampleCount);
        expect(manifest.balance.shortfall).toBe(0);
        const { min, max } = bandLimits(input.exampleCount);
        for (const m of MODALITIES) {
          expect(train.byModality[m]).toBeGreaterThanOrEqual(min);
          expect(train.byModality[m]).toBeLessThanOrEqual(max);
        }
        const trainQueries = new Set(queriesOf(trainText));
        expect(queriesOf(testText).filter((q) => trainQueries.has(q))).toEqual([]);
      }),
      {
        numRuns: 10,
        // Each boundary against the adversary; the smallest also against labels piling onto one modality.
        examples: [
          ...BOUNDARIES.filter((b) => b.queriesPerShard !== 96).map((b): [PlanInput, LabelBehaviour] => [b, ADVERSARY]),
          ...BOUNDARIES.slice(0, 3).map((b): [PlanInput, LabelBehaviour] => [b, PILING]),
        ],
      },
    );
  });

  it('refuses only sizes that truly cannot end balanced: no split of their queries guarantees the records', () => {
    const refusedForSurplus = size.filter((input) => /set generationSurplus/.test(runSizeProblem(input) ?? ''));
    fc.assert(
      fc.property(refusedForSurplus, (input) => {
        const records = input.exampleCount + input.testExampleCount;
        const planned = plannedQueriesOf(input);
        // However the planned queries are split, the teacher may keep at most guaranteedLabels(planned) of them.
        expect(guaranteedLabels(planned)).toBeLessThan(records);
        // And does, given every modality query (the best split): fewer records than the run needs, or none in the band.
        const shards: ShardSpec[] = evenSplit(planned, MODALITIES.length).map((count, index) => ({
          ...cellOf(index),
          index,
          count,
        }));
        try {
          const { manifest } = assemble(input, simulatedShards(shards, ADVERSARY));
          expect(manifest.counts.train.total + manifest.counts.test.total).toBeLessThan(records);
        } catch (error) {
          expect(error).toBeInstanceOf(TooFewBalancedRecords);
        }
      }),
      {
        numRuns: 8,
        examples: [[{ exampleCount: 100, testExampleCount: 50, queriesPerShard: 100, generationSurplus: 0 }]],
      },
    );
  });

  it('splits of a whole never guarantee more labels than the whole', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 20_000 }), { minLength: 1, maxLength: 5 }), (parts) => {
        const whole = parts.reduce((s, p) => s + p, 0);
        expect(parts.map(guaranteedLabels).reduce((s, g) => s + g, 0)).toBeLessThanOrEqual(guaranteedLabels(whole));
      }),
    );
  });

  it('asks for the smallest fix: the queriesPerShard or generationSurplus it names is accepted, one step less is not', () => {
    fc.assert(
      fc.property(size, (input) => {
        const problem = runSizeProblem(input);
        const shards = /raise queriesPerShard to at least (\d+)/.exec(problem ?? '');
        const surplus = /set generationSurplus to at least (\d+(?:\.\d+)?)/.exec(problem ?? '');
        if (shards) {
          const fixed = Number(shards[1]);
          expect(fixed).toBeLessThanOrEqual(500);
          expect(runSizeProblem({ ...input, queriesPerShard: fixed })).toBeUndefined();
          expect(runSizeProblem({ ...input, queriesPerShard: fixed - 1 })).toMatch(/raise queriesPerShard/);
        }
        if (surplus) {
          const fixed = Number(surplus[1]);
          expect(runSizeProblem({ ...input, generationSurplus: fixed }) ?? '').not.toMatch(/generationSurplus to/);
          expect(runSizeProblem({ ...input, generationSurplus: fixed - 0.001 })).toMatch(/generationSurplus to/);
        }
      }),
      { numRuns: 1_000 },
    );
  });
});
