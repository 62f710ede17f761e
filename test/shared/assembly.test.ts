import {
  assembleDataset,
  GenerationBelowMinimum,
  type AssemblyInput,
  type AssemblyShard,
} from '../../lambda/pipeline/generation/assembly';
import {
  balancedTrainingCounts,
  bandLimits,
  levelAllocation,
  splitCounts,
} from '../../lambda/pipeline/generation/balance';
import { sha256 } from '../../lambda/pipeline/generation/dataset-manifest';
import { TooFewBalancedRecords } from '../../lambda/pipeline/generation/dataset-split';
import { recordParts } from '../../lambda/core/dataset-record';
import { validateDataset } from '../../lambda/core/dataset-validator';
import { MODALITIES, type Modality, type Weights } from '../../lambda/core/modality';
import { DEFAULT_PRICES } from '../../lambda/core/prices';
import { normalisedQuery } from '../../lambda/pipeline/generation/query-writing';
import type { ShardExample, ShardSummary } from '../../lambda/pipeline/generation/shard-generation';

const LABELS: Record<Modality, Weights> = {
  visual: { visual: 0.7, audio: 0.1, transcription: 0.1, metadata: 0.1 },
  audio: { visual: 0.3, audio: 0.6, transcription: 0, metadata: 0.1 },
  transcription: { visual: 0.2, audio: 0, transcription: 0.7, metadata: 0.1 },
  metadata: { visual: 0.3, audio: 0, transcription: 0.1, metadata: 0.6 },
};
/** Dominant visual but mixed: no weight reaches 0.5. */
const MIXED_VISUAL: Weights = { visual: 0.4, audio: 0.3, transcription: 0.2, metadata: 0.1 };

const example = (query: string, weights: Weights): ShardExample => ({ kind: 'example', query, weights });

function summary(
  index: number,
  examples: readonly ShardExample[],
  dropped = { notWritten: 0, unparseableLabel: 0, teacherError: 0 },
): ShardSummary {
  const planned = examples.length + dropped.notWritten + dropped.unparseableLabel + dropped.teacherError;
  return {
    kind: 'shard',
    index,
    target: 'visual',
    domain: 'sports',
    phrasing: 'keywords',
    teacherModelId: 'us.amazon.nova-premier-v1:0',
    promptVersions: {},
    planned,
    written: planned - dropped.notWritten,
    labelled: examples.length,
    dropped,
    writerRejected: 3,
    writerUnparseable: 0,
    labelRetries: dropped.unparseableLabel,
    teacherCalls: { writing: 4, labelling: examples.length + 2 * dropped.unparseableLabel },
    usage: { inputTokens: 1000 * (index + 1), outputTokens: 100 * (index + 1) },
    retries: 1,
    durationMs: 1000,
  };
}

/** `count` labelled examples skewed 70/10/10/10 (visual first), every 10th visual one mixed. */
function skewedExamples(count: number): ShardExample[] {
  return Array.from({ length: count }, (_, i) => {
    const bucket = i % 10;
    const dominant: Modality = bucket < 7 ? 'visual' : (['audio', 'transcription', 'metadata'] as const)[bucket - 7]!;
    const weights = dominant === 'visual' && i % 20 === 0 ? MIXED_VISUAL : LABELS[dominant];
    return example(`${dominant} query number ${i}`, weights);
  });
}

function shardsOf(
  examples: readonly ShardExample[],
  perShard: number,
  dropped?: ShardSummary['dropped'],
): AssemblyShard[] {
  const shards: AssemblyShard[] = [];
  for (let i = 0; i * perShard < examples.length; i++) {
    const slice = examples.slice(i * perShard, (i + 1) * perShard);
    const s = summary(i, slice, dropped);
    shards.push({ index: i, planned: s.planned, content: { summary: s, examples: slice } });
  }
  return shards;
}

const input = (shards: AssemblyShard[], patch: Partial<AssemblyInput> = {}): AssemblyInput => {
  const plannedQueries = shards.reduce((s, x) => s + x.planned, 0);
  return {
    runId: 'run-1',
    shards,
    targetRecords: 800,
    plannedQueries,
    exampleCount: 700,
    testExampleCount: 100,
    minGenerationSuccessRate: 0.9,
    teacherModelId: 'us.amazon.nova-premier-v1:0',
    priceTable: DEFAULT_PRICES,
    includeReasoning: false,
    keys: { train: 'runs/run-1/dataset/train.jsonl', test: 'runs/run-1/dataset/test.jsonl', manifest: 'm' },
    now: () => new Date('2026-01-02T03:04:05Z'),
    ...patch,
  };
};

const queriesOf = (text: string) =>
  text
    .trim()
    .split('\n')
    .map((line) => recordParts(JSON.parse(line)).query);

describe('assembleDataset', () => {
  const skewed = skewedExamples(2000);

  it("keeps the incumbent's training queries (normalised) out of the synthetic held-out draw; they may still train", () => {
    const unrestricted = assembleDataset(input(shardsOf(skewed, 100)));
    // The incumbent trained on every query the unrestricted draw held out, written differently.
    const heldOutBefore = queriesOf(unrestricted.testText);
    const incumbentQueries = new Set(heldOutBefore.map((q) => normalisedQuery(`  ${q.toUpperCase()}!`)));
    const { testText, trainText, manifest } = assembleDataset(
      input(shardsOf(skewed, 100), { incumbent: { runId: 'run-0', queries: incumbentQueries } }),
    );
    const test = queriesOf(testText).map(normalisedQuery);
    expect(test).toHaveLength(100);
    expect(test.filter((q) => incumbentQueries.has(q))).toEqual([]);
    expect(queriesOf(trainText).some((q) => incumbentQueries.has(normalisedQuery(q)))).toBe(true);
    expect(manifest.incumbentExclusion).toEqual({
      runId: 'run-0',
      trainingQueries: 100,
      excludedFromTest: 100,
      excludedFromProductionHeldOut: 0,
    });
    expect(unrestricted.manifest.incumbentExclusion).toBeUndefined();
  });

  it('rebalances a 70/10/10/10 input to 25 % ± 2 points per dominant modality', () => {
    const { manifest } = assembleDataset(input(shardsOf(skewed, 100)));
    const train = manifest.counts.train;
    expect(train.total).toBe(700);
    for (const m of MODALITIES) expect(Math.abs(train.shares[m] - 0.25)).toBeLessThanOrEqual(0.02);
    expect(manifest.counts.test.total).toBe(100);
    for (const m of MODALITIES) expect(manifest.counts.test.byModality[m]).toBe(25);
    expect(manifest.balance.shortfall).toBe(0);
    expect(train.mixed).toBeGreaterThan(0);
    expect(train.mixedShare).toBeCloseTo(train.mixed / train.total, 4);
  });

  it('shrinks the training set rather than leave the band when a modality runs short, and reports the shortfall', () => {
    const { manifest } = assembleDataset(input(shardsOf(skewed, 100), { exampleCount: 1000 }));
    const train = manifest.counts.train;
    for (const m of MODALITIES) expect(Math.abs(train.shares[m] - 0.25)).toBeLessThanOrEqual(0.02);
    expect(train.total).toBeLessThan(1000);
    expect(train.total).toBeGreaterThan(700);
    expect(manifest.balance.shortfall).toBe(1000 - train.total);
  });

  /** `counts` examples per dominant modality (MODALITIES order), every query distinct. */
  const labelled = (counts: readonly number[]) =>
    MODALITIES.flatMap((m, i) =>
      Array.from({ length: counts[i] ?? 0 }, (_, n) => example(`${m} clip ${n}`, LABELS[m])),
    );

  it('keeps exampleCount when a modality is a little short: the held-out set gives way, not the training set', () => {
    // 150 labels for 100 + 50: an even held-out share (12-13 visual) would leave visual 17-18, under 23 % of 100.
    const shards = shardsOf(labelled([30, 40, 40, 40]), 50);
    const { manifest } = assembleDataset(
      input(shards, { exampleCount: 100, testExampleCount: 50, targetRecords: 150 }),
    );
    expect(manifest.counts.train.total).toBe(100);
    expect(manifest.counts.test.total).toBe(50);
    expect(manifest.balance.shortfall).toBe(0);
    const { min, max } = bandLimits(100);
    for (const m of MODALITIES) expect(manifest.counts.train.byModality[m]).toBeGreaterThanOrEqual(min);
    for (const m of MODALITIES) expect(manifest.counts.train.byModality[m]).toBeLessThanOrEqual(max);
    expect(manifest.counts.test.byModality).toEqual({ visual: 7, audio: 15, transcription: 14, metadata: 14 });
  });

  it('stops with the labels per modality and the fix when the band leaves fewer training records than Nova needs', () => {
    // The minimum run: 3 shards aimed at visual, audio and transcription only.
    const run = () =>
      assembleDataset(
        input(shardsOf(labelled([94, 97, 4, 8]), 100), { exampleCount: 100, testExampleCount: 50, targetRecords: 150 }),
      );
    expect(run).toThrow(TooFewBalancedRecords);
    expect(run).toThrow(
      'only 0 training records fit the 25 % ± 2-point band (Nova needs at least 100): after deduplication and ' +
        "validation the teacher's labels give visual 94, audio 97, transcription 4, metadata 8 records per dominant " +
        'modality for exampleCount 100 + testExampleCount 50. Check the shard summaries for drops, then raise ' +
        'generationSurplus.',
    );
  });

  it('never puts a held-out query (even normalised) in the training file', () => {
    const { trainText, testText } = assembleDataset(input(shardsOf(skewed, 100)));
    const trainQueries = new Set(queriesOf(trainText).map(normalisedQuery));
    const testQueries = queriesOf(testText);
    expect(testQueries).toHaveLength(100);
    expect(testQueries.filter((q) => trainQueries.has(normalisedQuery(q)))).toEqual([]);
  });

  it('removes exact and normalised duplicates, and drops records the validator rejects', () => {
    const withNoise = [
      ...skewed,
      example('visual query number 1', LABELS.visual), // exact
      example('Visual query, number 2!', LABELS.visual), // normalised
      example('  AUDIO query number 7 ', LABELS.audio), // normalised
      example('clip where User: waves', LABELS.visual), // reserved string
    ];
    const { manifest, trainText, testText } = assembleDataset(input(shardsOf(withNoise, 100)));
    expect(manifest.duplicates).toEqual({ exact: 1, normalised: 2 });
    expect(manifest.droppedByReason['invalid:RESERVED_STRING']).toBe(1);
    const all = [...queriesOf(trainText), ...queriesOf(testText)].map(normalisedQuery);
    expect(new Set(all).size).toBe(all.length);
  });

  it('writes files that pass the validator, with the hashes and sizes in the manifest', () => {
    const { manifest, trainText, testText } = assembleDataset(input(shardsOf(skewed, 100)));
    expect(validateDataset(trainText)).toMatchObject({ ok: true, records: 700, labelled: 700 });
    expect(manifest.files.train).toEqual({
      key: 'runs/run-1/dataset/train.jsonl',
      records: 700,
      bytes: Buffer.byteLength(trainText),
      sha256: sha256(trainText),
    });
    expect(manifest.files.test.sha256).toBe(sha256(testText));
    expect(manifest.promptVersions).toEqual({
      teacher: 'teacher-v1',
      student: 'student-v2',
      queryWriter: 'query-writer-v2',
    });
  });

  it('keeps the numbers adding up: planned → labelled + dropped, labelled → duplicates + invalid + train + test + unused', () => {
    const dropped = { notWritten: 2, unparseableLabel: 1, teacherError: 1 };
    const shards = shardsOf(
      [...skewed, example('clip <image> here', LABELS.visual), example('AUDIO QUERY NUMBER 7', LABELS.audio)],
      100,
      dropped,
    );
    const missing = { index: shards.length, planned: 100 };
    const { manifest } = assembleDataset(input([...shards, missing], { minGenerationSuccessRate: 0.5 }));
    const generationDrops = ['notWritten', 'unparseableLabel', 'teacherError', 'shardFailed'];
    const droppedInGeneration = generationDrops.reduce((s, r) => s + (manifest.droppedByReason[r] ?? 0), 0);
    expect(manifest.droppedByReason['shardFailed']).toBe(100);
    expect(manifest.plan.missingShards).toEqual([shards.length]);
    expect(manifest.generation.labelled + droppedInGeneration).toBe(manifest.generation.planned);
    const invalid = Object.entries(manifest.droppedByReason)
      .filter(([reason]) => reason.startsWith('invalid:'))
      .reduce((s, [, n]) => s + n, 0);
    expect(invalid).toBe(1);
    expect(
      manifest.duplicates.exact +
        manifest.duplicates.normalised +
        invalid +
        manifest.counts.train.total +
        manifest.counts.test.total +
        manifest.unused,
    ).toBe(manifest.generation.labelled);
    // Teacher totals are the sums of the shards'.
    const present = shards.map((s) => s.content!.summary);
    expect(manifest.teacher.inputTokens).toBe(present.reduce((s, x) => s + x.usage.inputTokens, 0));
    expect(manifest.teacher.calls.total).toBe(
      present.reduce((s, x) => s + x.teacherCalls.writing + x.teacherCalls.labelling, 0),
    );
    expect(manifest.teacher.estimatedCostUsd).toBeCloseTo(
      (manifest.teacher.inputTokens * 2.5 + manifest.teacher.outputTokens * 12.5) / 1e6,
      6,
    );
  });

  it('leaves the cost out when the teacher has no price in the table', () => {
    const { manifest } = assembleDataset(input(shardsOf(skewed, 100), { teacherModelId: 'us.example.unknown-v1:0' }));
    expect(manifest.teacher.estimatedCostUsd).toBeUndefined();
  });

  it('fails below minGenerationSuccessRate, naming the numbers and the keys', () => {
    const shards = shardsOf(skewed.slice(0, 1000), 100);
    const missing = Array.from({ length: 5 }, (_, i) => ({ index: 10 + i, planned: 100 }));
    const run = () => assembleDataset(input([...shards, ...missing]));
    expect(run).toThrow(GenerationBelowMinimum);
    expect(run).toThrow(
      /only 1000 of 1500 planned queries were labelled \(66\.7 %\), below minGenerationSuccessRate 0\.9/,
    );
    expect(run).toThrow(/maxShardFailurePercent/);
  });

  it('goes on below minGenerationSuccessRate when every quota still fills, recording the rate', () => {
    // 2,000 labelled of 2,300 planned (87 %): a lost shard, yet 200 per modality fill 700 + 100.
    const shards = [...shardsOf(skewed, 100), { index: 20, planned: 300 }];
    const { manifest } = assembleDataset(input(shards));
    expect(manifest.generation).toMatchObject({ planned: 2300, labelled: 2000, successRate: 0.8696 });
    expect(manifest.counts.train.total).toBe(700);
    expect(manifest.counts.test.total).toBe(100);
  });
});

describe('allocation', () => {
  it('levels counts as equally as the supply allows', () => {
    expect(levelAllocation([100, 100, 100, 100], 10)).toEqual([3, 3, 2, 2]);
    expect(levelAllocation([1, 100, 100, 100], 10)).toEqual([1, 3, 3, 3]);
    expect(levelAllocation([1, 2], 10)).toEqual([1, 2]);
  });

  it('splits evenly when the labels allow, and keeps the held-out set stratified when training must fall short', () => {
    expect(splitCounts([500, 500, 500, 500], 1000, 100)).toEqual({
      train: [250, 250, 250, 250],
      test: [25, 25, 25, 25],
    });
    // Short: 200 labels cannot reach 23 % of 1,000 training records; the held-out set still takes 25 of each.
    const short = splitCounts([1400, 200, 200, 200], 1000, 100);
    expect(short.test).toEqual([25, 25, 25, 25]);
    expect(short.train).toEqual(balancedTrainingCounts([1375, 175, 175, 175], 1000));
  });

  it('keeps the training counts within ±2 points', () => {
    const counts = balancedTrainingCounts([175, 175, 175, 1225], 1000);
    const total = counts.reduce((s, c) => s + c, 0);
    // The three short modalities give 525; the fourth may add at most 27 % of the total: N − 525 ≤ 0.27 N → N ≤ 719.
    expect(total).toBe(719);
    for (const c of counts) expect(Math.abs(c / total - 0.25)).toBeLessThanOrEqual(0.02);
  });
});
