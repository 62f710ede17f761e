import { S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { planQueries, shardSpecSchema, type ShardSpec } from '../shared/query-plan';
import { s3RunStore, s3Uri, type RunStore } from '../shared/run-store';
import { runKeys } from '../shared/runs';
import { envTypes, logger, parseInput, readEnvironment, runIdField, tracer } from './common';

/**
 * Plan: splits the run into shards (target × domain × phrasing, with surplus) and writes the plan to
 * `runs/<runId>/shards/plan.json` once. A retried or redriven Plan returns the stored plan, so shards already
 * generated keep meaning what they meant. Input `{ runId }`; result at `$.plan` (its `shards` feed the Map).
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

const s3 = tracer.captureAWSv3Client(new S3Client({}));

const environment = () =>
  readEnvironment({
    BUCKET_NAME: envTypes.text,
    EXAMPLE_COUNT: envTypes.int(1, 1_000_000),
    TEST_EXAMPLE_COUNT: envTypes.int(0, 1_000_000),
    QUERIES_PER_SHARD: envTypes.int(1, 100_000),
    GENERATION_SURPLUS: envTypes.number(0, 100),
  });

export async function plan(event: unknown, store?: RunStore, now: () => Date = () => new Date()): Promise<PlanResult> {
  const env = environment();
  const { runId, ...counts } = parseInput(runAndCountsInput, event, 'Plan');
  const runStore = store ?? s3RunStore(s3, env.BUCKET_NAME);
  const key = runKeys(runId).shardPlan;
  const planned = planQueries({
    exampleCount: counts.exampleCount ?? env.EXAMPLE_COUNT,
    testExampleCount: counts.testExampleCount ?? env.TEST_EXAMPLE_COUNT,
    queriesPerShard: env.QUERIES_PER_SHARD,
    generationSurplus: env.GENERATION_SURPLUS,
  });
  const fresh: StoredPlan = {
    runId,
    createdAt: now().toISOString(),
    targetRecords: planned.targetRecords,
    plannedQueries: planned.plannedQueries,
    shards: [...planned.shards],
    queriesPerShard: env.QUERIES_PER_SHARD,
    generationSurplus: env.GENERATION_SURPLUS,
  };
  const wrote = await runStore.writeOnce(key, JSON.stringify(fresh, null, 2) + '\n', 'application/json');
  const stored: StoredPlan = wrote ? fresh : await readPlan(runStore, runId);
  logger.info(wrote ? 'plan written' : 'plan already stored', { key, shards: stored.shards.length });
  return {
    runId,
    bucket: runStore.bucket,
    planKey: key,
    targetRecords: stored.targetRecords,
    plannedQueries: stored.plannedQueries,
    shardCount: stored.shards.length,
    shards: stored.shards,
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

export const handler = async (event: unknown): Promise<PlanResult> => plan(event);
