import { createHash } from 'node:crypto';
import { toRecord, type ConversationRecord } from '../../core/dataset-record';
import { HELD_OUT_LIMITS, TRAINING_LIMITS, validateDataset, validateRecord } from '../../core/dataset-validator';
import { dominantModality, isMixed, MODALITIES, type Modality, type Weights } from '../../core/modality';
import { costUsd, priceFor, type TokenPrice } from '../../core/prices';
import { PROMPT_VERSIONS } from '../../core/prompts';
import { QUERY_WRITER_PROMPT_VERSION, normalisedQuery } from './query-writing';
import { runKeys } from '../../core/runs';
import type { ShardExample, ShardSummary } from './shard-generation';
import type { CalibrationRecord } from './calibration';

/**
 * The Assemble stage's pure logic: from the shards to the training file, the held-out test file and the manifest.
 * Duplicates go first (exact, then case/punctuation/whitespace), then records the validator rejects; the rest is
 * rebalanced on the teacher's own labels (dominant modality 25 % each, ±2 points of the training set) and split into a
 * held-out test set, as even over the modalities as the training set's band allows (splitCounts), that shares no
 * (normalised) query with the training file.
 */

export const TARGET_SHARE = 1 / MODALITIES.length;
/** How far (in percentage points) a modality's share of the training set may be from 25 %. */
export const BALANCE_TOLERANCE_POINTS = 2;
export const MANIFEST_VERSION = 'dataset-manifest-v1';

export interface AssemblyShard {
  readonly index: number;
  /** Planned queries of the shard (from the plan). */
  readonly planned: number;
  /** Undefined when the shard's file is missing (its Map iteration failed). */
  readonly content?: { readonly summary: ShardSummary; readonly examples: readonly ShardExample[] };
}

export interface AssemblyInput {
  readonly runId: string;
  readonly shards: readonly AssemblyShard[];
  readonly targetRecords: number;
  readonly plannedQueries: number;
  readonly exampleCount: number;
  readonly testExampleCount: number;
  readonly minGenerationSuccessRate: number;
  readonly teacherModelId: string;
  readonly priceTable: Readonly<Record<string, TokenPrice>>;
  readonly includeReasoning: boolean;
  readonly keys: {
    readonly train: string;
    readonly test: string;
    readonly manifest: string;
    /** Production's held-out slice (productionTestKey), written when the run learns from production. */
    readonly productionTest?: string;
  };
  /** The run's stored production selection (production-selection.ts), when it learns from production. */
  readonly production?: ProductionInput;
  readonly now?: () => Date;
  /** The run's labelling calibration (calibration.json), when it has one: recorded in the manifest. */
  readonly calibration?: CalibrationRecord;
}

/** A run's production records as Plan selected them: deduplicated, validated, the held-out slice marked. */
export interface ProductionInput {
  readonly records: readonly { readonly query: string; readonly weights: Weights; readonly heldOut: boolean }[];
  readonly since: string;
  readonly until: string;
  readonly selectionKey: string;
  /** Lines read, lines refused by the validator, and normalised duplicates among them (from the selection). */
  readonly considered: number;
  readonly invalid: number;
  readonly duplicates: number;
}

/** `runs/<runId>/dataset/test-production.jsonl`: production's own held-out slice, in the live mix of modalities. */
export const productionTestKey = (runId: string) => `${runKeys(runId).datasetPrefix}test-production.jsonl`;

/** Thrown when too few planned queries were labelled: the run stops with the numbers and the keys to change. */
export class GenerationBelowMinimum extends Error {
  override readonly name = 'GenerationBelowMinimum';
}

/** Thrown when the labels cannot give the training set Nova's minimum in the band: nothing is written. */
export class TooFewBalancedRecords extends Error {
  override readonly name = 'TooFewBalancedRecords';
}

/** Thrown when a file Assemble built breaks the dataset validator (a bug, never written). */
export class InvalidDataset extends Error {
  override readonly name = 'InvalidDataset';
}

interface Candidate {
  readonly source: 'production' | 'synthetic';
  readonly query: string;
  readonly weights: Weights;
  readonly dominant: Modality;
  readonly record: ConversationRecord;
  /** Stable pseudo-random order, so selection spreads over shards (domains, phrasings) and is reproducible. */
  readonly order: string;
}

export interface SetCounts {
  readonly total: number;
  readonly byModality: Readonly<Record<Modality, number>>;
  /** Share of each dominant modality, 0-1. */
  readonly shares: Readonly<Record<Modality, number>>;
  /** Records with no modality at 0.5 or more. */
  readonly mixed: number;
  readonly mixedShare: number;
}

export interface FileInfo {
  readonly key: string;
  readonly records: number;
  readonly bytes: number;
  readonly sha256: string;
}

export interface DatasetManifest {
  readonly manifestVersion: typeof MANIFEST_VERSION;
  readonly runId: string;
  readonly createdAt: string;
  readonly teacherModelId: string;
  readonly includeReasoning: boolean;
  readonly promptVersions: Readonly<Record<string, string>>;
  readonly plan: {
    readonly targetRecords: number;
    readonly plannedQueries: number;
    readonly shards: number;
    readonly shardsWritten: number;
    readonly missingShards: readonly number[];
  };
  readonly generation: {
    readonly planned: number;
    readonly labelled: number;
    readonly successRate: number;
    readonly minGenerationSuccessRate: number;
    /** Queries written but not used by the writer (duplicates within a shard, too long, reserved strings). */
    readonly writerRejected: number;
  };
  /** planned = labelled + Σ droppedByReason (generation) ; labelled = duplicates + invalid + train + test + unused. */
  readonly droppedByReason: Readonly<Record<string, number>>;
  readonly duplicates: { readonly exact: number; readonly normalised: number };
  /** Valid, distinct records left out by rebalancing (the surplus). */
  readonly unused: number;
  readonly balance: {
    readonly targetShare: number;
    readonly tolerancePoints: number;
    readonly exampleCount: number;
    readonly testExampleCount: number;
    /** Training records short of exampleCount because a modality had too few labels (raise generationSurplus). */
    readonly shortfall: number;
  };
  readonly counts: { readonly train: SetCounts; readonly test: SetCounts };
  /** Valid, distinct labelled records per dominant modality (the teacher's labels), before rebalancing. */
  readonly labelledByModality?: Readonly<Record<Modality, number>>;
  /**
   * Where the records came from, per source: `train` and `test` (every held-out file: test.jsonl plus, for production,
   * test-production.jsonl, of which `heldOutSlice`), `considered` (labelled queries read), `duplicates` (normalised,
   * against everything before them: production first), `invalid` (refused by the validator), `unused` (left out by
   * rebalancing).
   */
  readonly sources?: {
    readonly synthetic: SourceCounts;
    readonly production?: SourceCounts & {
      readonly heldOutSlice: number;
      readonly since: string;
      readonly until: string;
      readonly selectionKey: string;
    };
  };
  readonly teacher: {
    readonly calls: { readonly writing: number; readonly labelling: number; readonly total: number };
    readonly inputTokens: number;
    readonly outputTokens: number;
    readonly retries: number;
    readonly price?: TokenPrice;
    /** USD from the price table; undefined when the teacher has no price there (set it with the `prices` key). */
    readonly estimatedCostUsd?: number;
  };
  readonly files: { readonly train: FileInfo; readonly test: FileInfo; readonly productionTest?: FileInfo };
  /** How labelling was calibrated (absent for runs before calibration, or whose calibration file is missing). */
  readonly calibration?: ManifestCalibration;
  /** What batch labelling did over the shards (absent when no shard recorded it). */
  readonly labelBatching?: LabelBatching;
}

export interface SourceCounts {
  readonly train: number;
  readonly test: number;
  readonly considered: number;
  readonly duplicates: number;
  readonly invalid: number;
  readonly unused: number;
}

export interface AssembledDataset {
  readonly trainText: string;
  readonly testText: string;
  /** Production's held-out slice (undefined when the run has none). */
  readonly productionTestText?: string;
  readonly manifest: DatasetManifest;
  readonly train: readonly ConversationRecord[];
  readonly test: readonly ConversationRecord[];
}

export const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

const zeroCounts = (): Record<Modality, number> =>
  Object.fromEntries(MODALITIES.map((m) => [m, 0])) as Record<Modality, number>;

/**
 * The most equal allocation of `total` over classes with `available` items each (water-filling: every class gets
 * the same level L, or all it has when that is less).
 */
export function levelAllocation(available: readonly number[], total: number): number[] {
  const capacity = available.reduce((s, a) => s + a, 0);
  if (total >= capacity) return [...available];
  const filled = (level: number) => available.reduce((s, a) => s + Math.min(a, level), 0);
  // The smallest level that holds `total` (binary search: filled() grows with the level).
  let low = 0;
  let high = Math.max(0, ...available);
  while (low < high) {
    const mid = Math.floor((low + high) / 2);
    if (filled(mid) >= total) high = mid;
    else low = mid + 1;
  }
  const level = low;
  const allocation = available.map((a) => Math.min(a, level));
  let excess = allocation.reduce((s, a) => s + a, 0) - total;
  for (let i = allocation.length - 1; i >= 0 && excess > 0; i--) {
    if (allocation[i] === level) {
      allocation[i] = level - 1;
      excess--;
    }
  }
  return allocation;
}

const sum = (values: readonly number[]): number => values.reduce((s, v) => s + v, 0);

/** The fewest and most records one dominant modality may have in a training set of `total` (25 % ± 2 points). */
export function bandLimits(total: number): { readonly min: number; readonly max: number } {
  // Whole percentages, so that the bounds are exact integers (23 × total / 100, 27 × total / 100).
  const low = 100 * TARGET_SHARE - BALANCE_TOLERANCE_POINTS;
  const high = 100 * TARGET_SHARE + BALANCE_TOLERANCE_POINTS;
  return { min: Math.ceil((low * total) / 100), max: Math.floor((high * total) / 100) };
}

const withinBand = (allocation: readonly number[], total: number): boolean => {
  const { min, max } = bandLimits(total);
  return total > 0 && sum(allocation) === total && allocation.every((c) => c >= min && c <= max);
};

/**
 * Whether `available` records per dominant modality can give a training set of `train` records within the band and a
 * held-out set of `test` more: every modality reaches the band's minimum, the modalities capped at its maximum still
 * fill `train`, and `test` records are left over.
 */
export function splitFeasible(available: readonly number[], train: number, test: number): boolean {
  const { min, max } = bandLimits(train);
  return (
    train > 0 &&
    min <= max &&
    available.every((a) => a >= min) &&
    sum(available.map((a) => Math.min(a, max))) >= train &&
    sum(available) - train >= test
  );
}

/**
 * The held-out set as even over the modalities as a training set of `train` allows: each modality keeps the band's
 * minimum for training, and a held-out record taken from below a modality's band maximum costs training one record
 * of the slack the other modalities have (greedy: always the modality with the fewest held-out records).
 */
function heldOutAround(available: readonly number[], train: number, test: number): number[] {
  const { min, max } = bandLimits(train);
  const free = available.map((a) => Math.max(0, a - max));
  let slack = sum(available.map((a) => Math.min(a, max))) - train;
  const counts = available.map(() => 0);
  for (let taken = 0; taken < test; taken++) {
    let pick = -1;
    available.forEach((a, i) => {
      const c = counts[i] ?? 0;
      const can = c < a - min && (c < (free[i] ?? 0) || slack > 0);
      if (can && (pick < 0 || c < (counts[pick] ?? 0))) pick = i;
    });
    if (pick < 0) break;
    if ((counts[pick] ?? 0) >= (free[pick] ?? 0)) slack--;
    counts[pick] = (counts[pick] ?? 0) + 1;
  }
  return counts;
}

export interface SplitCounts {
  readonly train: readonly number[];
  readonly test: readonly number[];
}

/**
 * Training and held-out counts per dominant modality. When the labels allow exampleCount training records in the band
 * plus testExampleCount held out, that is the split: the held-out set as even as the band lets it be, the training
 * set as even as what is left allows. Otherwise the held-out set is taken first, stratified (an even share per
 * modality, so the evaluation still measures all four), and the training set is the largest the band allows from
 * the rest: the shortfall.
 */
export function splitCounts(available: readonly number[], exampleCount: number, testExampleCount: number): SplitCounts {
  if (splitFeasible(available, exampleCount, testExampleCount)) {
    const test = heldOutAround(available, exampleCount, testExampleCount);
    const { max } = bandLimits(exampleCount);
    const train = levelAllocation(
      available.map((a, i) => Math.min(max, a - (test[i] ?? 0))),
      exampleCount,
    );
    // Always holds when feasible (the level is at least exampleCount / 4); checked so that a miss cannot go unseen.
    if (withinBand(train, exampleCount) && sum(test) === testExampleCount) return { train, test };
  }
  const test = levelAllocation(available, testExampleCount);
  const remaining = available.map((a, i) => a - (test[i] ?? 0));
  return { train: balancedTrainingCounts(remaining, exampleCount), test };
}

/**
 * Training counts per modality: exampleCount split evenly when every modality has enough, else the largest total
 * (≤ exampleCount) whose most equal allocation keeps every share within the band.
 */
export function balancedTrainingCounts(available: readonly number[], exampleCount: number): number[] {
  for (let total = exampleCount; total > 0; total--) {
    const allocation = levelAllocation(available, total);
    if (withinBand(allocation, total)) return allocation;
  }
  return available.map(() => 0);
}

export function countSet(weights: readonly Weights[]): SetCounts {
  const byModality = zeroCounts();
  let mixed = 0;
  for (const w of weights) {
    byModality[dominantModality(w)]++;
    if (isMixed(w)) mixed++;
  }
  const total = weights.length;
  const share = (n: number) => (total === 0 ? 0 : Number((n / total).toFixed(4)));
  const shares = Object.fromEntries(MODALITIES.map((m) => [m, share(byModality[m])])) as Record<Modality, number>;
  return { total, byModality, shares, mixed, mixedShare: share(mixed) };
}

const toJsonl = (records: readonly ConversationRecord[]): string =>
  records.map((r) => JSON.stringify(r)).join('\n') + (records.length > 0 ? '\n' : '');

/**
 * Builds the run's train/test files and manifest from its shards. Pure; throws GenerationBelowMinimum or
 * TooFewBalancedRecords.
 */
export function assembleDataset(input: AssemblyInput): AssembledDataset {
  const droppedByReason: Record<string, number> = {};
  const drop = (reason: string, n = 1) => {
    if (n > 0) droppedByReason[reason] = (droppedByReason[reason] ?? 0) + n;
  };
  const calls = { writing: 0, labelling: 0 };
  const usage = { inputTokens: 0, outputTokens: 0 };
  let retries = 0;
  let writerRejected = 0;
  const missingShards: number[] = [];
  const examples: ShardExample[] = [];

  for (const shard of [...input.shards].sort((a, b) => a.index - b.index)) {
    if (!shard.content) {
      missingShards.push(shard.index);
      drop('shardFailed', shard.planned);
      continue;
    }
    const { summary } = shard.content;
    for (const [reason, n] of Object.entries(summary.dropped)) drop(reason, n);
    calls.writing += summary.teacherCalls.writing;
    calls.labelling += summary.teacherCalls.labelling;
    usage.inputTokens += summary.usage.inputTokens;
    usage.outputTokens += summary.usage.outputTokens;
    retries += summary.retries;
    writerRejected += summary.writerRejected;
    examples.push(...shard.content.examples);
  }

  const labelled = examples.length;
  // Nothing planned: production covered every quota, so there is no generation to fall short.
  const successRate = input.plannedQueries === 0 ? 1 : labelled / input.plannedQueries;
  // Checked once the split is known: a run whose quotas still fill goes on (a small synthetic top-up that loses a few
  // queries must not fail a run from production), one that would come out short stops here with the cause.
  const belowMinimum = (): GenerationBelowMinimum | undefined =>
    successRate < input.minGenerationSuccessRate
      ? new GenerationBelowMinimum(
          `only ${labelled} of ${input.plannedQueries} planned queries were labelled ` +
            `(${(successRate * 100).toFixed(1)} %), below minGenerationSuccessRate ${input.minGenerationSuccessRate}, ` +
            `and the dataset would fall short of exampleCount ${input.exampleCount} + testExampleCount ` +
            `${input.testExampleCount}; ${missingShards.length} of ${input.shards.length} shards failed ` +
            `(maxShardFailurePercent tolerates them) and ${JSON.stringify(droppedByReason)} were dropped. Check the ` +
            "teacher's quota and the shard logs, or lower minGenerationSuccessRate.",
        )
      : undefined;

  // Production first: its held-out slice is reserved (never trains, and no synthetic copy of it may either), the rest
  // are the first candidates of every quota. Then the synthetic duplicates: the first occurrence (in shard order) stays.
  const exact = new Set<string>();
  const normalised = new Set<string>();
  const duplicates = { exact: 0, normalised: 0 };
  const candidates: Candidate[] = [];
  const productionHeldOut: Candidate[] = [];
  const productionCounts = { invalid: 0, duplicates: 0 };
  for (const r of input.production?.records ?? []) {
    const key = normalisedQuery(r.query);
    if (normalised.has(key)) {
      productionCounts.duplicates++;
      continue;
    }
    normalised.add(key);
    const record = toRecord(r.query, r.weights);
    if (validateRecord(record)) {
      productionCounts.invalid++;
      continue;
    }
    const candidate: Candidate = {
      source: 'production',
      query: r.query,
      weights: r.weights,
      dominant: dominantModality(r.weights),
      record,
      order: sha256(`${input.runId}\n${key}`),
    };
    (r.heldOut ? productionHeldOut : candidates).push(candidate);
  }
  for (const example of examples) {
    if (exact.has(example.query)) {
      duplicates.exact++;
      continue;
    }
    exact.add(example.query);
    const key = normalisedQuery(example.query);
    if (normalised.has(key)) {
      duplicates.normalised++;
      continue;
    }
    normalised.add(key);
    const record = toRecord(example.query, example.weights, input.includeReasoning ? example.reasoning : undefined);
    const problem = validateRecord(record);
    if (problem) {
      drop(`invalid:${problem.rule}`);
      continue;
    }
    candidates.push({
      source: 'synthetic',
      query: example.query,
      weights: example.weights,
      dominant: dominantModality(example.weights),
      record,
      order: sha256(`${input.runId}\n${key}`),
    });
  }

  // Rebalance on the teacher's labels: counts per dominant modality for both sets, then the records in stable order.
  const byModality = MODALITIES.map((m) =>
    candidates.filter((c) => c.dominant === m).sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0)),
  );
  const available = byModality.map((c) => c.length);
  const { train: trainCounts, test: testCounts } = splitCounts(available, input.exampleCount, input.testExampleCount);
  const trainTotal = trainCounts.reduce((s, c) => s + c, 0);
  const testTotal = testCounts.reduce((s, c) => s + c, 0);
  const short = trainTotal < input.exampleCount || testTotal < input.testExampleCount;
  const generationFailure = short ? belowMinimum() : undefined;
  if (generationFailure) throw generationFailure;
  if (trainTotal < TRAINING_LIMITS.minRecords) {
    const labels = MODALITIES.map((m, i) => `${m} ${available[i] ?? 0}`).join(', ');
    throw new TooFewBalancedRecords(
      `only ${trainTotal} training records fit the 25 % ± ${BALANCE_TOLERANCE_POINTS}-point band (Nova needs at ` +
        `least ${TRAINING_LIMITS.minRecords}): after deduplication and validation the teacher's labels give ${labels} ` +
        `records per dominant modality for exampleCount ${input.exampleCount} + testExampleCount ` +
        `${input.testExampleCount}. Check the shard summaries for drops, then raise generationSurplus.`,
    );
  }
  // Per modality, the held-out set takes synthetic records first and training takes production first: a run learns
  // from production, and a synthetic-only run splits exactly as before (test first in stable order, then training).
  const test: Candidate[] = [];
  const train: Candidate[] = [];
  byModality.forEach((group, i) => {
    const synthetic = group.filter((c) => c.source === 'synthetic');
    const production = group.filter((c) => c.source === 'production');
    const t = testCounts[i] ?? 0;
    const heldOut = [
      ...synthetic.slice(0, t),
      ...production.slice(production.length - Math.max(0, t - synthetic.length)),
    ];
    test.push(...heldOut);
    const taken = new Set(heldOut);
    train.push(...[...production, ...synthetic].filter((c) => !taken.has(c)).slice(0, trainCounts[i] ?? 0));
  });
  // Guard, not a rule: a held-out query (either file) in the training file would make the evaluation meaningless.
  const heldOutQueries = new Set([...test, ...productionHeldOut].map((c) => normalisedQuery(c.query)));
  const leaked = train.find((c) => heldOutQueries.has(normalisedQuery(c.query)));
  if (leaked) throw new InvalidDataset(`held-out query "${leaked.query}" is in the training file`);
  // Interleave modalities in the files (stable order), so any prefix of a file is balanced too.
  const byOrder = (a: Candidate, b: Candidate) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0);
  train.sort(byOrder);
  test.sort(byOrder);
  productionHeldOut.sort(byOrder);

  const trainText = toJsonl(train.map((c) => c.record));
  const testText = toJsonl(test.map((c) => c.record));
  const productionTestText = productionHeldOut.length > 0 ? toJsonl(productionHeldOut.map((c) => c.record)) : undefined;
  for (const [name, text, limits] of [
    ['train', trainText, TRAINING_LIMITS],
    ['test', testText, HELD_OUT_LIMITS],
    ...(productionTestText === undefined ? [] : [['test-production', productionTestText, HELD_OUT_LIMITS] as const]),
  ] as const) {
    const validation = validateDataset(text, limits);
    if (!validation.ok) {
      const where = validation.line === undefined ? '' : ` line ${validation.line}`;
      throw new InvalidDataset(
        `the ${name} file breaks the dataset validator at${where}: ${validation.rule}: ${validation.message}`,
      );
    }
  }

  const price = priceFor(input.teacherModelId, input.priceTable);
  const manifest: DatasetManifest = {
    manifestVersion: MANIFEST_VERSION,
    runId: input.runId,
    createdAt: (input.now?.() ?? new Date()).toISOString(),
    teacherModelId: input.teacherModelId,
    includeReasoning: input.includeReasoning,
    // Every prompt a shard used (the batch prompt when it labelled in batches), then the ones this assembly writes in.
    promptVersions: {
      ...Object.assign({}, ...input.shards.map((s) => s.content?.summary.promptVersions ?? {})),
      ...PROMPT_VERSIONS,
      queryWriter: QUERY_WRITER_PROMPT_VERSION,
    },
    plan: {
      targetRecords: input.targetRecords,
      plannedQueries: input.plannedQueries,
      shards: input.shards.length,
      shardsWritten: input.shards.length - missingShards.length,
      missingShards,
    },
    generation: {
      planned: input.plannedQueries,
      labelled,
      successRate: Number(successRate.toFixed(4)),
      minGenerationSuccessRate: input.minGenerationSuccessRate,
      writerRejected,
    },
    droppedByReason,
    duplicates,
    unused: candidates.length - train.length - test.length,
    balance: {
      targetShare: TARGET_SHARE,
      tolerancePoints: BALANCE_TOLERANCE_POINTS,
      exampleCount: input.exampleCount,
      testExampleCount: input.testExampleCount,
      shortfall: input.exampleCount - train.length,
    },
    counts: { train: countSet(train.map((c) => c.weights)), test: countSet(test.map((c) => c.weights)) },
    labelledByModality: Object.fromEntries(MODALITIES.map((m, i) => [m, byModality[i]?.length ?? 0])) as Record<
      Modality,
      number
    >,
    sources: sourcesOf(),
    ...labellingFields(input),
    teacher: {
      calls: { ...calls, total: calls.writing + calls.labelling },
      ...usage,
      retries,
      ...(price ? { price, estimatedCostUsd: Number(costUsd(usage, price).toFixed(6)) } : {}),
    },
    files: {
      train: fileInfo(input.keys.train, trainText, train.length),
      test: fileInfo(input.keys.test, testText, test.length),
      ...(productionTestText === undefined
        ? {}
        : {
            productionTest: fileInfo(
              input.keys.productionTest ?? productionTestKey(input.runId),
              productionTestText,
              productionHeldOut.length,
            ),
          }),
    },
  };
  return {
    trainText,
    testText,
    ...(productionTestText === undefined ? {} : { productionTestText }),
    manifest,
    train: train.map((c) => c.record),
    test: test.map((c) => c.record),
  };

  function sourcesOf(): NonNullable<DatasetManifest['sources']> {
    const count = (list: readonly Candidate[], source: Candidate['source']) =>
      list.filter((c) => c.source === source).length;
    const synthetic: SourceCounts = {
      train: count(train, 'synthetic'),
      test: count(test, 'synthetic'),
      considered: labelled,
      duplicates: duplicates.exact + duplicates.normalised,
      invalid: Object.entries(droppedByReason)
        .filter(([reason]) => reason.startsWith('invalid:'))
        .reduce((n, [, v]) => n + v, 0),
      unused: count(candidates, 'synthetic') - count(train, 'synthetic') - count(test, 'synthetic'),
    };
    const p = input.production;
    if (!p) return { synthetic };
    return {
      synthetic,
      production: {
        train: count(train, 'production'),
        test: count(test, 'production') + productionHeldOut.length,
        heldOutSlice: productionHeldOut.length,
        considered: p.considered,
        duplicates: p.duplicates + productionCounts.duplicates,
        invalid: p.invalid + productionCounts.invalid,
        unused: count(candidates, 'production') - count(train, 'production') - count(test, 'production'),
        since: p.since,
        until: p.until,
        selectionKey: p.selectionKey,
      },
    };
  }
}

const fileInfo = (key: string, text: string, records: number): FileInfo => ({
  key,
  records,
  bytes: Buffer.byteLength(text, 'utf8'),
  sha256: sha256(text),
});

/** The manifest's record of the run's calibration: the chosen size, why, and the measured table. */
export type ManifestCalibration = Pick<
  CalibrationRecord,
  'labelBatchSize' | 'calibrated' | 'reason' | 'thresholds' | 'table' | 'usage'
>;

export interface LabelBatching {
  /** Batch sizes the shards labelled with (1: one query per call). */
  readonly labelBatchSizes: readonly number[];
  readonly batchCalls: number;
  /** Queries the batch replies left without a usable answer, each re-asked on its own. */
  readonly reasked: { readonly missing: number; readonly duplicate: number; readonly unparsable: number };
  readonly unknownIds: number;
}

/** The manifest's calibration and batch-labelling fields; each absent when the run has nothing to say about it. */
function labellingFields(input: AssemblyInput): Pick<DatasetManifest, 'calibration' | 'labelBatching'> {
  const c = input.calibration;
  const summaries = input.shards.flatMap((s) => (s.content ? [s.content.summary] : []));
  const batched = summaries.filter((s) => s.labelBatchSize !== undefined);
  const reasked = { missing: 0, duplicate: 0, unparsable: 0 };
  for (const s of batched) {
    reasked.missing += s.batchReasks?.missing ?? 0;
    reasked.duplicate += s.batchReasks?.duplicate ?? 0;
    reasked.unparsable += s.batchReasks?.unparsable ?? 0;
  }
  return {
    ...(c
      ? {
          calibration: {
            labelBatchSize: c.labelBatchSize,
            calibrated: c.calibrated,
            reason: c.reason,
            ...(c.thresholds ? { thresholds: c.thresholds } : {}),
            table: c.table,
            usage: c.usage,
          },
        }
      : {}),
    ...(batched.length > 0
      ? {
          labelBatching: {
            labelBatchSizes: [...new Set(batched.map((s) => s.labelBatchSize ?? 1))].sort((a, b) => a - b),
            batchCalls: batched.reduce((n, s) => n + (s.batchCalls ?? 0), 0),
            reasked,
            unknownIds: batched.reduce((n, s) => n + (s.batchUnknownIds ?? 0), 0),
          },
        }
      : {}),
  };
}
