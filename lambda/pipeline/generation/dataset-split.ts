import { toRecord, type ConversationRecord } from '../../core/dataset-record';
import { TRAINING_LIMITS, validateRecord } from '../../core/dataset-validator';
import { dominantModality, MODALITIES, type Modality, type Weights } from '../../core/modality';
import { BALANCE_TOLERANCE_POINTS, splitCounts } from './balance';
import { sha256 } from './dataset-manifest';
import { normalisedQuery } from './query-writing';
import type { ShardExample } from './shard-generation';

/**
 * Which labelled records become the run's training and held-out sets (Assemble, assembly.ts): the distinct records the
 * validator accepts, production first, then rebalanced on the teacher's labels (balance.ts) into sets that share no
 * (normalised) query. Pure.
 */

/** Thrown when the labels cannot give the training set Nova's minimum in the band: nothing is written. */
export class TooFewBalancedRecords extends Error {
  override readonly name = 'TooFewBalancedRecords';
}

/** Thrown when a file Assemble built breaks the dataset validator (a bug, never written). */
export class InvalidDataset extends Error {
  override readonly name = 'InvalidDataset';
}

/** A production record as Plan selected it (production-selection.ts), its held-out slice marked. */
export interface ProductionRecord {
  readonly query: string;
  readonly weights: Weights;
  readonly heldOut: boolean;
}

export interface Candidate {
  readonly source: 'production' | 'synthetic';
  readonly query: string;
  readonly weights: Weights;
  readonly dominant: Modality;
  readonly record: ConversationRecord;
  /** Stable pseudo-random order, so selection spreads over shards (domains, phrasings) and is reproducible. */
  readonly order: string;
  /** The incumbent trained on this (normalised) query: it may train the candidate, never be held out. */
  readonly incumbentTrained?: true;
}

export const byOrder = (a: Candidate, b: Candidate) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0);

/** Planned queries lost, per reason: planned = labelled + Σ (generation); then the records the validator refuses. */
export type Drops = Record<string, number>;

export const drop = (drops: Drops, reason: string, n = 1) => {
  if (n > 0) drops[reason] = (drops[reason] ?? 0) + n;
};

/** The distinct, valid records, and how many of each source were refused on the way. */
export interface Candidates {
  /** Production (not held out) first, then synthetic, in shard order. */
  readonly candidates: readonly Candidate[];
  /** Production's held-out slice: never trains, and no synthetic copy of it may either. */
  readonly productionHeldOut: Candidate[];
  readonly duplicates: { readonly exact: number; readonly normalised: number };
  readonly productionCounts: { readonly invalid: number; readonly duplicates: number };
  /** Production's held-out records the incumbent trained on, moved to the candidates (0 without an incumbent). */
  readonly productionHeldOutExcluded: number;
}

/**
 * Assemble step 2: production first (its held-out slice reserved, the rest the first candidates of every quota), then the
 * synthetic examples: exact and normalised duplicates go (the first occurrence, in shard order, stays), then the
 * records the validator refuses (dropped as `invalid:<rule>`).
 */
export function selectCandidates(
  input: {
    readonly runId: string;
    readonly includeReasoning: boolean;
    readonly production?: { readonly records: readonly ProductionRecord[] };
    /** The incumbent's training queries, normalised (normalisedQuery): never held out. */
    readonly incumbentTraining?: ReadonlySet<string>;
  },
  examples: readonly ShardExample[],
  drops: Drops,
): Candidates {
  const trainedByIncumbent = (key: string) =>
    input.incumbentTraining?.has(key) ? { incumbentTrained: true as const } : {};
  let productionHeldOutExcluded = 0;
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
      ...trainedByIncumbent(key),
    };
    // The incumbent trained on it: judged on it, the incumbent would look better than it is. It may still train.
    if (r.heldOut && candidate.incumbentTrained) productionHeldOutExcluded++;
    (r.heldOut && !candidate.incumbentTrained ? productionHeldOut : candidates).push(candidate);
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
      drop(drops, `invalid:${problem.rule}`);
      continue;
    }
    candidates.push({
      source: 'synthetic',
      query: example.query,
      weights: example.weights,
      dominant: dominantModality(example.weights),
      record,
      order: sha256(`${input.runId}\n${key}`),
      ...trainedByIncumbent(key),
    });
  }
  return { candidates, productionHeldOut, duplicates, productionCounts, productionHeldOutExcluded };
}

/** The training and held-out records, in stable order (modalities interleaved, so any prefix is balanced too). */
export interface Sets {
  /** The candidates per dominant modality (MODALITIES order), in stable order. */
  readonly byModality: readonly (readonly Candidate[])[];
  readonly train: readonly Candidate[];
  readonly test: readonly Candidate[];
}

/**
 * Assemble step 3: rebalance on the teacher's labels — counts per dominant modality for both sets (splitCounts), then the
 * records. Per modality, the held-out set takes synthetic records first and training takes production first: a run
 * learns from production, and a synthetic-only run splits exactly as before (test first in stable order, then
 * training). Throws `belowMinimum()` when the sets come out short, TooFewBalancedRecords under Nova's minimum, and
 * InvalidDataset when a held-out query would train.
 */
export function splitSets(
  input: { readonly exampleCount: number; readonly testExampleCount: number },
  { candidates, productionHeldOut }: Candidates,
  belowMinimum: () => Error | undefined,
): Sets {
  const byModality = MODALITIES.map((m) => candidates.filter((c) => c.dominant === m).sort(byOrder));
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
  const test: Candidate[] = [];
  const train: Candidate[] = [];
  byModality.forEach((group, i) => {
    // The held-out draw skips the incumbent's training queries (they may still train): a modality with too few others
    // holds out fewer records.
    const heldOutable = group.filter((c) => !c.incumbentTrained);
    const synthetic = heldOutable.filter((c) => c.source === 'synthetic');
    const production = heldOutable.filter((c) => c.source === 'production');
    const t = testCounts[i] ?? 0;
    const heldOut = [
      ...synthetic.slice(0, t),
      ...production.slice(Math.max(0, production.length - Math.max(0, t - synthetic.length))),
    ];
    test.push(...heldOut);
    const taken = new Set(heldOut);
    const all = [...group.filter((c) => c.source === 'production'), ...group.filter((c) => c.source === 'synthetic')];
    train.push(...all.filter((c) => !taken.has(c)).slice(0, trainCounts[i] ?? 0));
  });
  // Guard, not a rule: a held-out query (either file) in the training file would make the evaluation meaningless.
  const heldOutQueries = new Set([...test, ...productionHeldOut].map((c) => normalisedQuery(c.query)));
  const leaked = train.find((c) => heldOutQueries.has(normalisedQuery(c.query)));
  if (leaked) throw new InvalidDataset(`held-out query "${leaked.query}" is in the training file`);
  return { byModality, train: train.sort(byOrder), test: test.sort(byOrder) };
}
