import { createHash } from 'node:crypto';
import * as z from 'zod';
import { dominantModality, MODALITIES, modalityRecord, type Modality, type Weights } from '../../core/modality';
import { dayOf, isDay, readProductionLines } from '../../core/production-records';
import { normalisedQuery } from './query-writing';
import { runKeys } from '../../core/runs';

/**
 * Which production records a run learns from (`fromProduction`): read in the layout of production-records.ts, each
 * line validated like a training record, deduplicated by normalised query, capped at `max` (newest first, as even over
 * the dominant modalities as the records allow), and a stratified share held out as production's own test set. Plan
 * stores the selection once under the run (selectionKey), so a retry, a redrive and Assemble all see the same records.
 */

/** Days read when the execution input names no `since`. */
export const DEFAULT_PRODUCTION_DAYS = 30;
/** The oldest `since` a run accepts, in days before its start: one List call per day. */
export const MAX_PRODUCTION_DAYS = 366;
/**
 * The most records a run may take (`max`), and the default: every record of the days asked for, so that the held-out
 * slice and the quotas both come from all of them (Plan has the memory for 100,000 short records).
 */
export const MAX_PRODUCTION_RECORDS = 100_000;

/** `runs/<runId>/production/selection.jsonl`: line 1 the summary, then one line per selected record. */
export const productionSelectionKey = (runId: string) => runKeys(runId).productionSelection;

/** What the execution input asks for, as Preflight checked it (`$.preflight.fromProduction`). */
export type ProductionRequest =
  | { readonly enabled: false }
  | { readonly enabled: true; readonly since: string; readonly until: string; readonly max: number };

export class InvalidProductionRequest extends Error {
  override readonly name = 'InvalidProductionRequest';
}

/**
 * The execution input's `fromProduction` (`true`, or `{since?, max?}`), checked against the run's start: a bad value
 * throws naming the field and the fix. Without `max`, every record of the days counts (up to MAX_PRODUCTION_RECORDS).
 */
export function productionRequest(value: unknown, startTime: string): ProductionRequest {
  const defaultMax = MAX_PRODUCTION_RECORDS;
  if (value === undefined || value === false) return { enabled: false };
  const until = dayOf(new Date(Number.isNaN(Date.parse(startTime)) ? Date.now() : Date.parse(startTime)));
  const earliest = dayOf(new Date(Date.parse(`${until}T00:00:00Z`) - MAX_PRODUCTION_DAYS * 86_400_000));
  const fallbackSince = dayOf(new Date(Date.parse(`${until}T00:00:00Z`) - DEFAULT_PRODUCTION_DAYS * 86_400_000));
  if (value === true) return { enabled: true, since: fallbackSince, until, max: defaultMax };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidProductionRequest(
      `fromProduction in the execution input is ${JSON.stringify(value)}: use true or {"since": "YYYY-MM-DD", "max": N}.`,
    );
  }
  const { since, max, ...rest } = value as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) {
    throw new InvalidProductionRequest(
      `fromProduction.${unknown[0]} is not an option: fromProduction takes only "since" and "max".`,
    );
  }
  let day = fallbackSince;
  if (since !== undefined) {
    if (!isDay(String(since))) {
      throw new InvalidProductionRequest(
        `fromProduction.since is ${JSON.stringify(since)}, not a day: use YYYY-MM-DD (UTC), e.g. "${fallbackSince}".`,
      );
    }
    day = String(since);
    if (typeof since !== 'string' || day > until || day < earliest) {
      throw new InvalidProductionRequest(
        `fromProduction.since "${day}" is outside ${earliest} to ${until} (the run's start day, at most ` +
          `${MAX_PRODUCTION_DAYS} days back): start the run with a day in that range.`,
      );
    }
  }
  if (
    max !== undefined &&
    (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > MAX_PRODUCTION_RECORDS)
  ) {
    throw new InvalidProductionRequest(
      `fromProduction.max is ${JSON.stringify(max)}: use a whole number from 1 to ${MAX_PRODUCTION_RECORDS}.`,
    );
  }
  return { enabled: true, since: day, until, max: typeof max === 'number' ? max : defaultMax };
}

const modalityCounts = z.object(modalityRecord(() => z.number().int().min(0)));
const weightsSchema = z.object(modalityRecord(() => z.number().min(0).max(1)));

export const selectionSummarySchema = z.object({
  kind: z.literal('selection'),
  runId: z.string(),
  since: z.string(),
  until: z.string(),
  max: z.number().int(),
  holdOutShare: z.number(),
  /** Objects listed under the day prefixes. */
  objects: z.number().int(),
  /** Non-empty lines read. */
  considered: z.number().int(),
  /** Lines refused, by the dataset validator's rule. */
  invalid: z.record(z.string(), z.number().int()),
  /** Lines whose normalised query an earlier line already had (the first, oldest, is kept). */
  duplicates: z.number().int(),
  /** Distinct valid records left out by `max`. */
  overMax: z.number().int(),
  selected: z.number().int(),
  heldOut: z.number().int(),
  byModality: z.object({ selected: modalityCounts, heldOut: modalityCounts }),
});
export type SelectionSummary = z.output<typeof selectionSummarySchema>;

const selectedRecordSchema = z.object({
  kind: z.literal('record'),
  query: z.string().min(1),
  weights: weightsSchema,
  /** Production's own held-out slice: never trains. */
  heldOut: z.boolean(),
  /** The production object it came from. */
  key: z.string(),
});
export type SelectedRecord = z.output<typeof selectedRecordSchema>;

export interface ProductionSelection {
  readonly summary: SelectionSummary;
  readonly records: readonly SelectedRecord[];
}

export interface SelectionOptions {
  readonly runId: string;
  readonly since: string;
  readonly until: string;
  readonly max: number;
  readonly holdOutShare: number;
  /** The most records the held-out slice may have (an evaluation job judges at most 1,000 prompts with the test set). */
  readonly heldOutCap: number;
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
const zero = (): Record<Modality, number> => modalityRecord(() => 0);
const sum = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0);

/** `total` split over `counts` in proportion (largest remainders), so a stratified sample keeps the live mix. */
export function proportional(counts: readonly number[], total: number): number[] {
  const all = sum(counts);
  if (all === 0 || total <= 0) return counts.map(() => 0);
  const exact = counts.map((c) => (c * Math.min(total, all)) / all);
  const out = exact.map(Math.floor);
  const order = exact.map((x, i) => [x - Math.floor(x), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (let k = 0; sum(out) < Math.min(total, all); k++) {
    const i = order[k % order.length]?.[1] ?? 0;
    if ((out[i] ?? 0) < (counts[i] ?? 0)) out[i] = (out[i] ?? 0) + 1;
  }
  return out;
}

/** The most equal split of `total` over classes holding `available` each (each gets the same level, or all it has). */
function evenCap(available: readonly number[], total: number): number[] {
  if (sum(available) <= total) return [...available];
  let level = 0;
  while (sum(available.map((a) => Math.min(a, level + 1))) <= total) level++;
  const out = available.map((a) => Math.min(a, level));
  for (let i = 0; i < out.length && sum(out) < total; i++) {
    if ((available[i] ?? 0) > (out[i] ?? 0)) out[i] = (out[i] ?? 0) + 1;
  }
  return out;
}

/**
 * The run's selection from the production objects of its days (any order: they are read in key order, i.e. by day
 * and time). Pure and deterministic for the same objects and options.
 */
export function selectProduction(
  objects: readonly { readonly key: string; readonly text: string }[],
  options: SelectionOptions,
): ProductionSelection {
  const invalid: Record<string, number> = {};
  const seen = new Set<string>();
  let considered = 0;
  let duplicates = 0;
  const byModality = MODALITIES.map(
    () => [] as { query: string; weights: Weights; key: string; line: number; normal: string }[],
  );
  const sorted = [...objects].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  for (const object of sorted) {
    readProductionLines(object.text).forEach((line, index) => {
      considered++;
      if (!line.ok) {
        invalid[line.rule] = (invalid[line.rule] ?? 0) + 1;
        return;
      }
      const normal = normalisedQuery(line.query);
      if (seen.has(normal)) {
        duplicates++;
        return;
      }
      seen.add(normal);
      byModality[MODALITIES.indexOf(dominantModality(line.weights))]?.push({
        query: line.query,
        weights: line.weights,
        key: object.key,
        line: index,
        normal,
      });
    });
  }
  // Over `max`: the newest records of each modality, as even over the modalities as they allow (balance needs it).
  const available = byModality.map((g) => g.length);
  const taken = evenCap(available, options.max);
  const kept = byModality.map((group, i) =>
    [...group].sort((a, b) => (a.key === b.key ? b.line - a.line : a.key < b.key ? 1 : -1)).slice(0, taken[i] ?? 0),
  );
  // The held-out slice: the share of the selection, in proportion to the live mix, picked by a hash of run and query
  // so that it spreads over the days.
  const heldOutTotal = Math.min(Math.round(options.holdOutShare * sum(taken)), options.heldOutCap);
  const heldOutCounts = proportional(taken, heldOutTotal);
  const records: SelectedRecord[] = [];
  const counts = { selected: zero(), heldOut: zero() };
  MODALITIES.forEach((modality, i) => {
    const group = kept[i] ?? [];
    const heldOut = new Set(
      [...group]
        .sort((a, b) => (sha256(`${options.runId}\n${a.normal}`) < sha256(`${options.runId}\n${b.normal}`) ? -1 : 1))
        .slice(0, heldOutCounts[i] ?? 0)
        .map((r) => r.normal),
    );
    counts.selected[modality] = group.length;
    counts.heldOut[modality] = heldOut.size;
    for (const r of group) {
      records.push({ kind: 'record', query: r.query, weights: r.weights, heldOut: heldOut.has(r.normal), key: r.key });
    }
  });
  return {
    summary: {
      kind: 'selection',
      runId: options.runId,
      since: options.since,
      until: options.until,
      max: options.max,
      holdOutShare: options.holdOutShare,
      objects: objects.length,
      considered,
      invalid,
      duplicates,
      overMax: sum(available) - sum(taken),
      selected: sum(taken),
      heldOut: sum(heldOutCounts),
      byModality: counts,
    },
    records,
  };
}

/** Records per dominant modality (MODALITIES order) that can fill the run's quotas: the selection less its held-out slice. */
export const quotaRecordsByModality = (summary: SelectionSummary): number[] =>
  MODALITIES.map((m) => summary.byModality.selected[m] - summary.byModality.heldOut[m]);

export const selectionText = (selection: ProductionSelection): string =>
  [selection.summary, ...selection.records].map((line) => JSON.stringify(line)).join('\n') + '\n';

export class InvalidSelection extends Error {
  override readonly name = 'InvalidSelection';
}

/** Parses a stored selection (Plan's file); the error names the line. */
export function parseSelection(text: string, where: string): ProductionSelection {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const parse = <T extends z.ZodType>(schema: T, line: string | undefined, n: number): z.output<T> => {
    let value: unknown;
    try {
      value = JSON.parse(line ?? '');
    } catch {
      throw new InvalidSelection(`${where} line ${n} is not JSON`);
    }
    const result = schema.safeParse(value);
    if (!result.success) throw new InvalidSelection(`${where} line ${n}: ${result.error.message}`);
    return result.data;
  };
  const summary = parse(selectionSummarySchema, lines[0], 1);
  const records = lines.slice(1).map((line, i) => parse(selectedRecordSchema, line, i + 2));
  if (records.length !== summary.selected) {
    throw new InvalidSelection(`${where} holds ${records.length} records, its summary says ${summary.selected}`);
  }
  return { summary, records };
}
