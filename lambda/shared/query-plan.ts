import { z } from 'zod';
import { MODALITIES } from './modality';

/**
 * How a run's queries are split into shards. Each shard asks the teacher for queries aimed at one target (a modality
 * or "mixed"), one domain and one phrasing, so that together the shards cover targets × domains × phrasings evenly.
 * The target is only what a query is written for: balance is measured later on the teacher's own labels.
 */

export const QUERY_TARGETS = [...MODALITIES, 'mixed'] as const;
export type QueryTarget = (typeof QUERY_TARGETS)[number];

export const DOMAINS = [
  'sports',
  'news',
  'film and TV',
  'music',
  'nature and wildlife',
  'education',
  'gaming',
  'cooking',
  'travel',
  'science and technology',
  'comedy',
  'fitness',
] as const;
export type Domain = (typeof DOMAINS)[number];

export const PHRASINGS = [
  'keywords',
  'natural sentence',
  'question',
  'named people or titles',
  'quoted speech',
  'sounds',
] as const;
export type Phrasing = (typeof PHRASINGS)[number];

/** The cells of targets × domains × phrasings (5 × 12 × 6 = 360). */
export const CELL_COUNT = QUERY_TARGETS.length * DOMAINS.length * PHRASINGS.length;

/**
 * The most shards one run may have: the shard list travels in the state machine's state (256 KiB per state) and every
 * shard's result comes back through the Distributed Map's output, so the list is kept well inside those limits.
 */
export const MAX_SHARDS = 500;

export interface ShardSpec {
  readonly index: number;
  readonly target: QueryTarget;
  readonly domain: Domain;
  readonly phrasing: Phrasing;
  /** Queries to write and label. */
  readonly count: number;
}

/** A shard as it travels through the state machine and the stored plan (validated where it is read). */
export const shardSpecSchema = z.object({
  index: z.number().int().min(0),
  target: z.enum(QUERY_TARGETS),
  domain: z.enum(DOMAINS),
  phrasing: z.enum(PHRASINGS),
  count: z.number().int().min(1),
});

export interface PlanInput {
  readonly exampleCount: number;
  readonly testExampleCount: number;
  readonly queriesPerShard: number;
  /** Extra share of queries on top of the target (0.35 = 35 % more). */
  readonly generationSurplus: number;
}

export interface QueryPlan {
  /** Records the run must end with: training plus held-out. */
  readonly targetRecords: number;
  /** Queries planned: the target plus the surplus, before duplicates, drops and rebalancing. */
  readonly plannedQueries: number;
  readonly shards: readonly ShardSpec[];
}

/**
 * The cell of shard `index`: consecutive shards differ in target and domain, and each block of 60 shards shifts the
 * phrasing, so the first 360 shards are all distinct cells (a bijection) and any prefix spreads evenly.
 */
export function cellOf(index: number): Pick<ShardSpec, 'target' | 'domain' | 'phrasing'> {
  const c = index % CELL_COUNT;
  const perBlock = QUERY_TARGETS.length * DOMAINS.length;
  const r = c % perBlock;
  const block = Math.floor(c / perBlock);
  return {
    target: QUERY_TARGETS[r % QUERY_TARGETS.length] as QueryTarget,
    domain: DOMAINS[Math.floor(r / QUERY_TARGETS.length)] as Domain,
    phrasing: PHRASINGS[(block + r) % PHRASINGS.length] as Phrasing,
  };
}

export class PlanError extends Error {
  override readonly name = 'PlanError';
}

/** Splits the run into shards of `queriesPerShard` (the last one takes the remainder). */
export function planQueries(input: PlanInput): QueryPlan {
  const targetRecords = input.exampleCount + input.testExampleCount;
  // Rounded first: 10,500 × 1.35 is 14175.000000000002 in floating point.
  const plannedQueries = Math.ceil(Number((targetRecords * (1 + input.generationSurplus)).toFixed(6)));
  const shardCount = Math.ceil(plannedQueries / input.queriesPerShard);
  if (shardCount > MAX_SHARDS) {
    const needed = Math.ceil(plannedQueries / MAX_SHARDS);
    throw new PlanError(
      `${plannedQueries} planned queries make ${shardCount} shards of ${input.queriesPerShard}; at most ${MAX_SHARDS} ` +
        `shards fit in the state machine's state: raise queriesPerShard to at least ${needed}.`,
    );
  }
  const shards = Array.from({ length: shardCount }, (_, index): ShardSpec => {
    const count = Math.min(input.queriesPerShard, plannedQueries - index * input.queriesPerShard);
    return { index, ...cellOf(index), count };
  });
  return { targetRecords, plannedQueries, shards };
}
