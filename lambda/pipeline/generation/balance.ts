import { MODALITIES } from '../../core/modality';

/**
 * The balance rule of a run's dataset, on the teacher's own labels: every dominant modality holds 25 % ± 2 points of
 * the training set, and the held-out set is as even over the modalities as that band allows. Plan sizes runs with it
 * (query-plan.ts: which run sizes can end balanced) and Assemble splits the labelled records with it (assembly.ts).
 */

export const TARGET_SHARE = 1 / MODALITIES.length;
/** How far (in percentage points) a modality's share of the training set may be from 25 %. */
export const BALANCE_TOLERANCE_POINTS = 2;

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
