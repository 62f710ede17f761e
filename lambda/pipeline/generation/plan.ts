import { paginateListObjectsV2, S3Client } from '@aws-sdk/client-s3';
import * as z from 'zod';
import { mapWithConcurrency } from '../../core/concurrency';
import { MAX_EVALUATION_PROMPTS } from '../../core/dataset-validator';
import { MODALITIES } from '../../core/modality';
import { daysBetween, LIVE_QUERIES_TAGGING, productionDayPrefix, readDaysWithin } from '../../core/production-records';
import {
  parseSelection,
  productionSelectionKey,
  quotaRecordsByModality,
  selectionText,
  selectProduction,
  type ProductionSelection,
} from './production-selection';
import { planQueries, planShortfall, shortfallLabels, shardSpecSchema, type ShardSpec } from './query-plan';
import { readExisting, s3RunStore, s3Uri, type RunStore } from '../../core/run-store';
import { runKeys } from '../../core/runs';
import { lambdaHandler, logger, parseInput, runIdField, tracer } from '../../core/runtime';
import { PLAN_ENVIRONMENT } from './environment';

/**
 * Plan: splits the run into shards (target × domain × phrasing, with surplus) and writes the plan to
 * `runs/<runId>/shards/plan.json` once. A retried or redriven Plan returns the stored plan, so shards already
 * generated keep meaning what they meant. Input `{ runId, exampleCount?, testExampleCount?, fromProduction? }`; result
 * at `$.plan` (its `shards` feed the Map).
 *
 * A run from production (`fromProduction.enabled`) first selects the production records of its days (listed under
 * production/records/date=…/, validated, deduplicated, capped, a stratified slice held out) and stores the selection
 * once at `runs/<runId>/production/selection.jsonl`; a retry reads the stored one, so records that arrive later never
 * change a run. The plan then asks the teacher only for what each modality is short of its quota (planShortfall).
 */

/** `runs/<runId>/shards/plan.json` */
export const storedPlanSchema = z.object({
  runId: z.string(),
  createdAt: z.string(),
  targetRecords: z.number().int(),
  plannedQueries: z.number().int(),
  queriesPerShard: z.number().int(),
  generationSurplus: z.number(),
  shards: z.array(shardSpecSchema),
  /** Runs from production: the stored selection and what it covers. */
  production: z
    .object({
      selectionKey: z.string(),
      selected: z.number().int(),
      heldOut: z.number().int(),
      /** Records per modality that fill quotas (the held-out slice excluded), and the labels still asked of the teacher. */
      quotaRecordsByModality: z.record(z.string(), z.number().int()),
      shortfallByModality: z.record(z.string(), z.number().int()),
    })
    .optional(),
});
export type StoredPlan = z.output<typeof storedPlanSchema>;

/** `$.plan` */
export interface PlanResult {
  readonly runId: string;
  readonly bucket: string;
  readonly planKey: string;
  readonly targetRecords: number;
  readonly plannedQueries: number;
  readonly shardCount: number;
  /** The Distributed Map's items. */
  readonly shards: readonly ShardSpec[];
  /** Runs from production: production records selected and held out (the rest fill quotas first). */
  readonly production?: { readonly selected: number; readonly heldOut: number };
}

/**
 * Plan's and Assemble's input (RUN_AND_COUNTS in the state machine): counts come from Preflight (configured or
 * overridden by the execution input); the configured ones otherwise.
 */
export const runAndCountsInput = z.object({
  runId: runIdField,
  exampleCount: z.number().int().positive().optional(),
  testExampleCount: z.number().int().positive().optional(),
});

/** `$.preflight.fromProduction` as Preflight checked it. */
const fromProductionInput = z.discriminatedUnion('enabled', [
  z.object({ enabled: z.literal(false) }),
  z.object({ enabled: z.literal(true), since: z.string(), until: z.string(), max: z.number().int().positive() }),
]);
const planInput = runAndCountsInput.extend({ fromProduction: fromProductionInput.optional() });

/** Production objects read at once. */
const READ_CONCURRENCY = 16;
/**
 * How long Plan may spend reading production days (its function times out after 5 minutes): days are read newest
 * first, and once this has passed no older day is started; the selection's `since` then names the oldest day read.
 */
export const PRODUCTION_READ_BUDGET_MS = 180_000;

const s3 = tracer.captureAWSv3Client(new S3Client({}));

/** Keys of the production objects of one day (all pages, through the SDK paginator). */
async function listDay(bucket: string, day: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const page of paginateListObjectsV2(
    { client: s3 },
    { Bucket: bucket, Prefix: productionDayPrefix(day) },
  )) {
    for (const object of page.Contents ?? []) if (object.Key?.endsWith('.jsonl')) keys.push(object.Key);
  }
  return keys;
}

/** The run's production selection: the stored one (retry, redrive), else read from the days' objects and stored once. */
async function productionSelection(
  store: RunStore,
  runId: string,
  request: { since: string; until: string; max: number },
  holdOutShare: number,
  testExampleCount: number,
  budget: ProductionReadBudget,
): Promise<ProductionSelection> {
  const key = productionSelectionKey(runId);
  const stored = await store.read(key);
  if (stored !== undefined) return parseSelection(stored, s3Uri(store.bucket, key));
  const days = daysBetween(request.since, request.until);
  const read = await readDaysWithin(
    days,
    async (day) =>
      mapWithConcurrency(await listDay(store.bucket, day), READ_CONCURRENCY, async (k) => ({
        key: k,
        text: await readExisting(
          store,
          k,
          'it was listed a moment ago (expired by the lifecycle rule?): retry the run',
        ),
      })),
    budget.ms,
    budget.clock,
  );
  const since = read.since ?? request.since;
  if (read.skipped > 0) {
    logger.warn(
      `read ${read.days.length} of ${days.length} production days within ${budget.ms / 1000} s: the selection ` +
        `starts at ${since} instead of ${request.since} (start the run with a later --since to choose the days)`,
      { runId, since, requestedSince: request.since, skippedDays: read.skipped },
    );
  }
  const objects = read.days.flatMap((d) => d.items);
  const selection = selectProduction(objects, {
    runId,
    ...request,
    since,
    holdOutShare,
    // The held-out slice and the test set are judged together: an evaluation job takes at most 1,000 prompts.
    heldOutCap: Math.max(0, MAX_EVALUATION_PROMPTS - testExampleCount),
  });
  // Live queries: the copy expires with the records it was read from (productionDataRetentionDays).
  if (await store.writeOnce(key, selectionText(selection), undefined, LIVE_QUERIES_TAGGING)) return selection;
  // A racing attempt stored its selection first: that one is the run's.
  return parseSelection(
    await readExisting(store, key, 'it was just written: retry the step'),
    s3Uri(store.bucket, key),
  );
}

/** Plan's time for reading production days, and its clock (tests fix both). */
export interface ProductionReadBudget {
  readonly ms: number;
  readonly clock?: () => number;
}

export async function plan(
  event: unknown,
  store?: RunStore,
  now: () => Date = () => new Date(),
  readBudget: ProductionReadBudget = { ms: PRODUCTION_READ_BUDGET_MS },
): Promise<PlanResult> {
  const env = PLAN_ENVIRONMENT.read(process.env);
  const { runId, fromProduction, ...counts } = parseInput(planInput, event, 'Plan');
  const runStore = store ?? s3RunStore(s3, env.bucketName);
  const key = runKeys(runId).shardPlan;
  const sizes = {
    exampleCount: counts.exampleCount ?? env.exampleCount,
    testExampleCount: counts.testExampleCount ?? env.testExampleCount,
    queriesPerShard: env.queriesPerShard,
    generationSurplus: env.generationSurplus,
  };
  const selection = fromProduction?.enabled
    ? await productionSelection(
        runStore,
        runId,
        fromProduction,
        env.productionHoldOutShare,
        sizes.testExampleCount,
        readBudget,
      )
    : undefined;
  const quotaRecords = selection ? quotaRecordsByModality(selection.summary) : undefined;
  const planned = quotaRecords ? planShortfall(sizes, quotaRecords) : planQueries(sizes);
  const byModality = (values: readonly number[]) => Object.fromEntries(MODALITIES.map((m, i) => [m, values[i] ?? 0]));
  const fresh: StoredPlan = {
    runId,
    createdAt: now().toISOString(),
    targetRecords: planned.targetRecords,
    plannedQueries: planned.plannedQueries,
    shards: [...planned.shards],
    queriesPerShard: env.queriesPerShard,
    generationSurplus: env.generationSurplus,
    ...(selection && quotaRecords
      ? {
          production: {
            selectionKey: productionSelectionKey(runId),
            selected: selection.summary.selected,
            heldOut: selection.summary.heldOut,
            quotaRecordsByModality: byModality(quotaRecords),
            shortfallByModality: byModality(shortfallLabels(sizes, quotaRecords)),
          },
        }
      : {}),
  };
  const wrote = await runStore.writeOnce(key, JSON.stringify(fresh, null, 2) + '\n', 'application/json');
  const stored: StoredPlan = wrote ? fresh : await readPlan(runStore, runId);
  logger.info(wrote ? 'plan written' : 'plan already stored', {
    key,
    shards: stored.shards.length,
    production: stored.production,
  });
  return {
    runId,
    bucket: runStore.bucket,
    planKey: key,
    targetRecords: stored.targetRecords,
    plannedQueries: stored.plannedQueries,
    shardCount: stored.shards.length,
    shards: stored.shards,
    ...(stored.production
      ? { production: { selected: stored.production.selected, heldOut: stored.production.heldOut } }
      : {}),
  };
}

/** The run's stored plan (Plan and Assemble read the same file). */
export async function readPlan(store: RunStore, runId: string): Promise<StoredPlan> {
  const key = runKeys(runId).shardPlan;
  const text = await store.read(key);
  if (text === undefined)
    throw new InvalidPlan(`${s3Uri(store.bucket, key)} does not exist: the Plan step must run first`);
  const parsed = storedPlanSchema.safeParse(JSON.parse(text));
  if (!parsed.success)
    throw new InvalidPlan(`${s3Uri(store.bucket, key)} is not a valid plan: ${parsed.error.message}`);
  return parsed.data;
}

export class InvalidPlan extends Error {
  override readonly name = 'InvalidPlan';
}

export const handler = /* @__PURE__ */ lambdaHandler(plan);
