/**
 * Where shadow-labelled production samples live in the dataset bucket, and how their keys are read back.
 *
 * Layout: `production/records/date=YYYY-MM-DD/<ISO time>-<id>.jsonl`, one object per labeller batch, written once
 * (the time is the batch's earliest sample, the id a hash of its message ids).
 * Each line is a `bedrock-conversation-2024` record made by `toRecord(query, teacherWeights)` (student prompt as system,
 * the query as the user turn, the teacher's label as the answer) and accepted by the same dataset validator as the
 * synthetic records, so a run can train on them as they are. The day partition lets a lifecycle rule
 * (`productionDataRetentionDays`) expire them and a run read only the days it asks for (`--since`).
 */

import { parseRecordLabel, recordParts, toRecord, type ConversationRecord } from './dataset-record';
import { validateRecord, type DatasetRule } from './dataset-validator';
import type { Weights } from './modality';

export const PRODUCTION_RECORDS_PREFIX = 'production/records/';

/**
 * The object tag of a run's copies of live queries (runs/<runId>/…: its production selection, its production test
 * slice, a training file that holds production records, evaluation answers on them). The dataset bucket expires
 * objects with this tag after productionDataRetentionDays, as it does production/records/: a lifecycle rule cannot
 * match runs/<id>/production/ by prefix. A writer sets it with PutObject's `Tagging` (LIVE_QUERIES_TAGGING), which
 * needs s3:PutObjectTagging besides s3:PutObject.
 */
export const LIVE_QUERIES_TAG = { key: 'intent-router:data', value: 'live-queries' } as const;
export const LIVE_QUERIES_TAGGING = `${LIVE_QUERIES_TAG.key}=${LIVE_QUERIES_TAG.value}`;

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** `YYYY-MM-DD` (UTC) of a date. */
export const dayOf = (date: Date): string => date.toISOString().slice(0, 10);

/** The prefix of one day's records. */
export function productionDayPrefix(day: string): string {
  if (!DAY.test(day) || Number.isNaN(Date.parse(`${day}T00:00:00Z`))) {
    throw new Error(`"${day}" is not a day: use YYYY-MM-DD, e.g. 2026-11-26`);
  }
  return `${PRODUCTION_RECORDS_PREFIX}date=${day}/`;
}

/**
 * The key of one labeller batch: `at` its earliest sample's time, `id` a hash of its message ids, so that a redelivered
 * batch lands on the same key (and the write-once store keeps the first copy).
 */
export function productionRecordsKey(at: Date, id: string): string {
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(id)) throw new Error(`batch id "${id}" must be 1-128 letters, digits, _ or -`);
  return `${productionDayPrefix(dayOf(at))}${at.toISOString().replace(/[:.]/g, '-')}-${id}.jsonl`;
}

/** The day a production records key belongs to, or undefined for a key outside the layout. */
export function dayOfKey(key: string): string | undefined {
  const match = /^production\/records\/date=(\d{4}-\d{2}-\d{2})\/[^/]+\.jsonl$/.exec(key);
  return match?.[1];
}

// --- writing and reading back (the shadow labeller and the drift function) ---------------------------------------

/** One shadow-labelled query: the query the router was asked and the teacher's label for it. */
export interface ProductionLabel {
  readonly query: string;
  readonly teacherWeights: Weights;
}

export interface ProductionRecordsFile {
  /** The JSONL text (one validated record a line, trailing newline); empty when no label made a valid record. */
  readonly text: string;
  readonly records: number;
  /** Labels left out because their record breaks a dataset rule (e.g. a live query holding a reserved string). */
  readonly rejected: readonly { readonly query: string; readonly rule: DatasetRule; readonly message: string }[];
}

/**
 * The records of one labeller batch, each made by `toRecord(query, teacherWeights)` and checked by the dataset
 * validator's `validateRecord`: a record a distillation job would refuse never lands in the bucket.
 */
export function productionRecordsFile(labels: readonly ProductionLabel[]): ProductionRecordsFile {
  const lines: string[] = [];
  const rejected: { query: string; rule: DatasetRule; message: string }[] = [];
  for (const { query, teacherWeights } of labels) {
    const record = toRecord(query, teacherWeights);
    const found = validateRecord(record);
    if (found) rejected.push({ query, ...found });
    else lines.push(JSON.stringify(record));
  }
  return { text: lines.length > 0 ? `${lines.join('\n')}\n` : '', records: lines.length, rejected };
}

/** The time of a labeller batch (its earliest sample), read back from its key (`…/2026-11-26T23-59-58-123Z-<id>.jsonl`). */
export function timeOfKey(key: string): Date | undefined {
  if (dayOfKey(key) === undefined) return undefined;
  const match = /\/(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})-(\d{2})-(\d{3})Z-[^/]+\.jsonl$/.exec(key);
  if (!match) return undefined;
  const [, day, h, m, s, ms] = match;
  const time = new Date(`${day}T${h}:${m}:${s}.${ms}Z`);
  return Number.isNaN(time.getTime()) ? undefined : time;
}

/** The day prefixes a window of `hours` ending at `end` touches, oldest first (24 h: yesterday's and today's). */
export function windowDayPrefixes(end: Date, hours: number): string[] {
  if (!(hours > 0)) throw new RangeError(`window hours must be > 0, got ${hours}`);
  const start = new Date(end.getTime() - hours * 3_600_000);
  const days: string[] = [];
  for (let t = Date.parse(`${dayOf(start)}T00:00:00Z`); t <= end.getTime(); t += 86_400_000) {
    days.push(productionDayPrefix(dayOf(new Date(t))));
  }
  return days;
}

// --- reading (a run that learns from production) ---------------------------------------------------------------

/** Every day from `since` to `until` (both YYYY-MM-DD, UTC, inclusive), oldest first: the partitions a run lists. */
export function daysBetween(since: string, until: string): string[] {
  productionDayPrefix(since);
  productionDayPrefix(until);
  const days: string[] = [];
  for (let t = Date.parse(`${since}T00:00:00Z`); t <= Date.parse(`${until}T00:00:00Z`); t += 86_400_000) {
    days.push(dayOf(new Date(t)));
  }
  return days;
}

/** One line of a production object: a usable labelled query, or the rule it breaks. */
export type ProductionLine =
  | { readonly ok: true; readonly query: string; readonly weights: Weights }
  | { readonly ok: false; readonly rule: string };

/**
 * The lines of one production object, each checked by the dataset validator (the same rules as a training record)
 * and its label parsed as weights. A line that is not JSON counts as `INVALID_JSON`, like the validator's own rule.
 */
export function readProductionLines(text: string): ProductionLine[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line): ProductionLine => {
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        return { ok: false, rule: 'INVALID_JSON' };
      }
      const problem = validateRecord(value);
      if (problem) return { ok: false, rule: problem.rule };
      const record = value as ConversationRecord;
      const { query } = recordParts(record);
      // Read in the format the record was written in (its system prompt says which): records kept from before a new
      // student format still teach, re-rendered in the run's format by Assemble.
      const parsed = parseRecordLabel(record);
      // An unlabelled record is valid for the validator (a prompt-only record) but teaches nothing.
      return parsed.ok ? { ok: true, query, weights: parsed.weights } : { ok: false, rule: 'BAD_LABEL' };
    });
}

/** A real calendar day in YYYY-MM-DD (2026-02-30 is not: Date.parse would roll it over to March). */
export const isDay = (text: string): boolean =>
  DAY.test(text) && !Number.isNaN(Date.parse(`${text}T00:00:00Z`)) && dayOf(new Date(`${text}T00:00:00Z`)) === text;

// --- reading a range of days within a time budget (Plan's selection) ---------------------------------------------

export interface DaysRead<T> {
  /** What each read day gave, oldest day first. */
  readonly days: readonly { readonly day: string; readonly items: readonly T[] }[];
  /** The oldest day read: `since` when every day was read, a later day when the budget ran out first. */
  readonly since?: string;
  /** Days of the range left unread (the oldest ones). */
  readonly skipped: number;
}

/**
 * Reads `days` (oldest first, as daysBetween gives them) newest day first, one day at a time, and starts no day once
 * `budgetMs` of `clock` has passed: a range of months of records cannot run a 5-minute function past its timeout.
 * The newest days are the ones kept (a selection prefers the newest records anyway); the newest day is always read.
 */
export async function readDaysWithin<T>(
  days: readonly string[],
  readDay: (day: string) => Promise<readonly T[]>,
  budgetMs: number,
  clock: () => number = Date.now,
): Promise<DaysRead<T>> {
  const started = clock();
  const read: { day: string; items: readonly T[] }[] = [];
  for (const day of [...days].reverse()) {
    if (read.length > 0 && clock() - started >= budgetMs) break;
    read.push({ day, items: await readDay(day) });
  }
  read.reverse();
  return { days: read, ...(read[0] ? { since: read[0].day } : {}), skipped: days.length - read.length };
}
