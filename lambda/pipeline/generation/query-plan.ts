import * as z from 'zod';
import { splitFeasible } from './balance';
import { MODALITIES } from '../../core/modality';

/**
 * How a run's queries are split into shards. Each shard asks the teacher for queries aimed at one target (a modality
 * or "mixed"), one domain and one phrasing. The queries are first split over the targets — in proportion, whatever
 * the shard count — then each target's queries into shards that walk its domains × phrasings. The target is only what
 * a query is written for: balance is measured later on the teacher's own labels, so the plan gives every modality
 * enough queries of its own to fill its quota even when the teacher loses or mislabels some (LABEL_LOSS_ONE_IN).
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

/**
 * The plan's allowance for the teacher: of the queries written for a modality, up to 1 in LABEL_LOSS_ONE_IN (rounded
 * up) may come back lost (duplicate, invalid, unlabelled) or labelled as another modality; queries written for
 * "mixed" may be labelled anything or lost. Within it, every run size the plan accepts ends with exactly exampleCount
 * training records in the band and testExampleCount held out (test/shared/run-size.property.test.ts).
 */
export const LABEL_LOSS_ONE_IN = 10;

/** Labels of its own modality that `queries` written for it are sure to give within the allowance. */
export const guaranteedLabels = (queries: number): number => queries - Math.ceil(queries / LABEL_LOSS_ONE_IN);

/** The fewest queries for which guaranteedLabels reaches `labels`. */
export const queriesForLabels = (labels: number): number => labels + Math.ceil(labels / (LABEL_LOSS_ONE_IN - 1));

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
  /** Queries per target, in QUERY_TARGETS order (they sum to plannedQueries). */
  readonly queriesByTarget: Readonly<Record<QueryTarget, number>>;
  readonly shards: readonly ShardSpec[];
}

const sum = (values: readonly number[]): number => values.reduce((s, v) => s + v, 0);

/** `total` split into `parts` counts that differ by at most one, the larger ones first. */
export function evenSplit(total: number, parts: number): number[] {
  const base = Math.floor(total / parts);
  return Array.from({ length: parts }, (_, i) => base + (i < total - base * parts ? 1 : 0));
}

/** Cells per target: domains × phrasings. */
const CELLS_PER_TARGET = DOMAINS.length * PHRASINGS.length;

/**
 * The cell of the `round`-th shard of target `targetIndex`. Over 72 rounds a target meets all 72 domain × phrasing
 * cells once; within a round the five targets take five consecutive domains (5 is prime to 12), so any prefix of the
 * plan spreads over domains and phrasings.
 */
export function cellFor(targetIndex: number, round: number): Pick<ShardSpec, 'target' | 'domain' | 'phrasing'> {
  const r = round % CELLS_PER_TARGET;
  const block = Math.floor(r / DOMAINS.length);
  return {
    target: QUERY_TARGETS[targetIndex % QUERY_TARGETS.length] as QueryTarget,
    domain: DOMAINS[(QUERY_TARGETS.length * r + targetIndex) % DOMAINS.length] as Domain,
    phrasing: PHRASINGS[(r + block + targetIndex) % PHRASINGS.length] as Phrasing,
  };
}

/** The cell of shard `index` when every target has as many shards (rounds of five): the first 360 are distinct. */
export const cellOf = (index: number): Pick<ShardSpec, 'target' | 'domain' | 'phrasing'> =>
  cellFor(index % QUERY_TARGETS.length, Math.floor(index / QUERY_TARGETS.length));

export class PlanError extends Error {
  override readonly name = 'PlanError';
}

/** ceil((exampleCount + testExampleCount) × (1 + generationSurplus)): the queries a run plans. */
export const plannedQueriesOf = (input: PlanInput): number =>
  // Rounded first: 10,500 × 1.35 is 14175.000000000002 in floating point.
  Math.ceil(Number(((input.exampleCount + input.testExampleCount) * (1 + input.generationSurplus)).toFixed(6)));

/**
 * `records` labels over the four modalities, three of them on a multiple of LABEL_LOSS_ONE_IN - 1 (whose queries then
 * waste nothing to rounding), as even as that allows: their queries sum to exactly queriesForLabels(records).
 */
function alignedLabels(records: number): number[] {
  const step = LABEL_LOSS_ONE_IN - 1;
  const base = step * Math.floor(records / (MODALITIES.length * step));
  const options = [base - step, base, base + step, base + 2 * step].filter((n) => n >= 0);
  const spread = (xs: readonly number[]) => Math.max(...xs) - Math.min(...xs);
  let best = [0, 0, 0, records];
  for (const a of options)
    for (const b of options)
      for (const c of options) {
        const fourth = records - a - b - c;
        if (fourth >= 0 && spread([a, b, c, fourth]) < spread(best)) best = [a, b, c, fourth];
      }
  return best;
}

/**
 * Queries per target (QUERY_TARGETS order) such that, within the allowance, the four modalities' own labels can fill
 * exampleCount training records in the band plus testExampleCount held out; undefined when no split can. Tried in
 * order: a fifth each; the modalities raised to the even quota they need, mixed taking the rest; the cheapest split
 * (alignedLabels), which needs exactly minimumPlannedQueries and leaves mixed what is over.
 */
function targetCountsFor(input: PlanInput, planned: number): number[] | undefined {
  const records = input.exampleCount + input.testExampleCount;
  const candidates: number[][] = [
    evenSplit(planned, QUERY_TARGETS.length).slice(0, MODALITIES.length),
    evenSplit(records, MODALITIES.length).map(queriesForLabels),
    alignedLabels(records).map(queriesForLabels),
  ];
  for (const modalities of candidates) {
    const mixed = planned - sum(modalities);
    const labels = modalities.map(guaranteedLabels);
    if (mixed >= 0 && splitFeasible(labels, input.exampleCount, input.testExampleCount)) return [...modalities, mixed];
  }
  return undefined;
}

/**
 * The fewest planned queries that can end balanced within the allowance: `n` queries guarantee at most
 * guaranteedLabels(n) own labels however they are split over the modalities, and E + T are needed.
 */
export const minimumPlannedQueries = (input: Pick<PlanInput, 'exampleCount' | 'testExampleCount'>): number =>
  queriesForLabels(input.exampleCount + input.testExampleCount);

const shardCountFor = (counts: readonly number[], queriesPerShard: number): number =>
  sum(counts.map((c) => Math.ceil(c / queriesPerShard)));

/** The smallest generationSurplus with 3 decimals that plans at least `queries` queries. */
function surplusFor(input: PlanInput, queries: number): number {
  const records = input.exampleCount + input.testExampleCount;
  const plans = (thousandths: number) =>
    plannedQueriesOf({ ...input, generationSurplus: thousandths / 1000 }) >= queries;
  // ceil(records × (1 + s)) ≥ queries once records × (1 + s) > queries − 1: start there, then settle on the boundary.
  let thousandths = Math.max(0, Math.floor(((queries - 1 - records) / records) * 1000));
  while (!plans(thousandths)) thousandths++;
  while (thousandths > 0 && plans(thousandths - 1)) thousandths--;
  return thousandths / 1000;
}

/** The run's target counts, or why it cannot end in a balanced dataset. */
function sizePlan(input: PlanInput): { planned: number; counts: number[] } | { problem: string } {
  const planned = plannedQueriesOf(input);
  const sizes =
    `exampleCount ${input.exampleCount} + testExampleCount ${input.testExampleCount} with generationSurplus ` +
    `${input.generationSurplus} plan ${planned} queries`;
  const counts = targetCountsFor(input, planned);
  if (!counts) {
    const needed = minimumPlannedQueries(input);
    return {
      problem:
        `${sizes}; at least ${needed} are needed for every modality to fill its quota when the teacher loses or ` +
        `mislabels 1 in ${LABEL_LOSS_ONE_IN} of its queries: set generationSurplus to at least ` +
        `${surplusFor(input, needed)}.`,
    };
  }
  const shards = shardCountFor(counts, input.queriesPerShard);
  if (shards > MAX_SHARDS) {
    // The fewest queries per shard that fit (shardCountFor falls as it grows; max(counts) gives ≤ 5 shards).
    let low = input.queriesPerShard + 1;
    let high = Math.max(...counts);
    while (low < high) {
      const mid = Math.floor((low + high) / 2);
      if (shardCountFor(counts, mid) <= MAX_SHARDS) high = mid;
      else low = mid + 1;
    }
    return {
      problem:
        `${sizes} in ${shards} shards of at most ${input.queriesPerShard}; at most ${MAX_SHARDS} shards fit in the ` +
        `state machine's state: raise queriesPerShard to at least ${low}.`,
    };
  }
  return { planned, counts };
}

/**
 * Why this run size cannot end in a balanced dataset (the keys, the numbers and the fix), or undefined when it can.
 * Expects counts within Nova's limits and testExampleCount < exampleCount (checked before it). Preflight calls it
 * before any teacher call, the config at synth, and planQueries throws its message.
 */
export function runSizeProblem(input: PlanInput): string | undefined {
  const result = sizePlan(input);
  return 'problem' in result ? result.problem : undefined;
}

/**
 * Splits the run into shards: the queries over the targets (targetCountsFor), each target's into the fewest shards of
 * at most queriesPerShard (sizes differing by at most one), interleaved round by round so that any prefix of the plan
 * (and any run of failed shards) spreads over the targets. Throws PlanError with runSizeProblem's message.
 */
export function planQueries(input: PlanInput): QueryPlan {
  const result = sizePlan(input);
  if ('problem' in result) throw new PlanError(result.problem);
  return planFromCounts(input, result.counts);
}

/** The shards of per-target query counts (QUERY_TARGETS order), interleaved round by round. */
function planFromCounts(input: PlanInput, counts: readonly number[]): QueryPlan {
  const planned = sum(counts);
  const sizes = counts.map((c) => evenSplit(c, Math.ceil(c / input.queriesPerShard)));
  const rounds = Math.max(0, ...sizes.map((s) => s.length));
  const shards: ShardSpec[] = [];
  for (let round = 0; round < rounds; round++) {
    sizes.forEach((targetSizes, targetIndex) => {
      const count = targetSizes[round];
      if (count !== undefined) shards.push({ index: shards.length, ...cellFor(targetIndex, round), count });
    });
  }
  const queriesByTarget = Object.fromEntries(QUERY_TARGETS.map((t, i) => [t, counts[i] ?? 0])) as Record<
    QueryTarget,
    number
  >;
  return {
    targetRecords: input.exampleCount + input.testExampleCount,
    plannedQueries: planned,
    queriesByTarget,
    shards,
  };
}

/**
 * The labels each modality still needs from the teacher when a run starts from production: its even quota of
 * exampleCount + testExampleCount (MODALITIES order; evenSplit quotas always admit the balanced split) less the
 * production records that can fill it (`production`, per dominant modality, the held-out slice already taken out).
 */
export function shortfallLabels(
  input: Pick<PlanInput, 'exampleCount' | 'testExampleCount'>,
  production: readonly number[],
) {
  return evenSplit(input.exampleCount + input.testExampleCount, MODALITIES.length).map((quota, i) =>
    Math.max(0, quota - (production[i] ?? 0)),
  );
}

/**
 * The plan of a run that starts from production records: synthetic queries only for what each modality is short of
 * its quota, each modality's shortfall n planned as the larger of queriesForLabels(n) (the teacher-mislabel
 * allowance: n own labels are guaranteed even when 1 in LABEL_LOSS_ONE_IN is lost or mislabelled) and n × (1 +
 * generationSurplus); no "mixed" target (production brings live phrasing). No shard at all when production covers
 * every quota. With no production record at all it is the synthetic-only plan (planQueries), unchanged.
 */
export function planShortfall(input: PlanInput, production: readonly number[]): QueryPlan {
  if (production.every((p) => p <= 0)) return planQueries(input);
  const counts = [
    ...shortfallLabels(input, production).map((n) =>
      n === 0 ? 0 : Math.max(queriesForLabels(n), Math.ceil(Number((n * (1 + input.generationSurplus)).toFixed(6)))),
    ),
    0,
  ];
  const plan = planFromCounts(input, counts);
  if (plan.shards.length > MAX_SHARDS) {
    throw new PlanError(
      `the synthetic top-up of ${plan.plannedQueries} queries needs ${plan.shards.length} shards of at most ` +
        `${input.queriesPerShard}; at most ${MAX_SHARDS} fit in the state machine's state: raise queriesPerShard.`,
    );
  }
  return plan;
}
