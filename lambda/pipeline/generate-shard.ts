import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { shardSpecSchema } from '../shared/query-plan';
import { s3RunStore, type RunStore } from '../shared/run-store';
import { generateShard, type Converse, type ShardOptions, type TeacherRetryPolicy } from '../shared/shard-generation';
import { envTypes, logger, metrics, parseInput, readEnvironment, runIdField, tracer } from './common';

/**
 * Generate (one Distributed Map iteration): the teacher writes and labels one shard's queries; the shard is stored at
 * `runs/<runId>/shards/shard-NNNNN.jsonl`, written once. A shard already stored is skipped (re-run, redrive).
 * Input `{ runId, shard }` (the Map's ItemSelector); result at `$.shard` of the iteration.
 */

/**
 * One retry layer for the teacher, chosen by `npm run bench:generate -- --compare` (docs/pipeline-generation.md): the
 * SDK's adaptive mode, whose client-side rate limiter slows the sending once Bedrock throttles, so waiting happens in
 * the client instead of as rejected calls. Our own withRetry is then off (policy `sdk`): the layers never multiply.
 */
export const TEACHER_CLIENT_CONFIG = { retryMode: 'adaptive', maxAttempts: 8 } as const;
export const TEACHER_RETRY: TeacherRetryPolicy = { layer: 'sdk' };

/** `$.shard` of a Map iteration: small on purpose (every iteration's output comes back through the Map). */
export interface ShardResult {
  readonly index: number;
  readonly key: string;
  readonly skipped: boolean;
  readonly planned: number;
  readonly labelled: number;
  readonly dropped: number;
}

const inputSchema = z.object({ runId: runIdField, shard: shardSpecSchema });

const s3 = tracer.captureAWSv3Client(new S3Client({}));
const bedrockRuntime = tracer.captureAWSv3Client(new BedrockRuntimeClient(TEACHER_CLIENT_CONFIG));
const converseWithClient: Converse = (input) => bedrockRuntime.send(new ConverseCommand(input));

const environment = () =>
  readEnvironment({
    BUCKET_NAME: envTypes.text,
    TEACHER_MODEL_ID: envTypes.text,
    INCLUDE_REASONING: envTypes.bool,
    LABEL_CONCURRENCY: envTypes.int(1, 64),
  });

export interface GenerateShardDependencies {
  readonly converse?: Converse;
  readonly store?: RunStore;
  readonly retry?: TeacherRetryPolicy;
  readonly sleep?: (ms: number) => Promise<void>;
}

export async function generateShardStep(event: unknown, deps: GenerateShardDependencies = {}): Promise<ShardResult> {
  const env = environment();
  const { runId, shard } = parseInput(inputSchema, event, 'Generate shard');
  const options: ShardOptions = {
    teacherModelId: env.TEACHER_MODEL_ID,
    includeReasoning: env.INCLUDE_REASONING,
    labelConcurrency: env.LABEL_CONCURRENCY,
    retry: deps.retry ?? TEACHER_RETRY,
  };
  const outcome = await generateShard(runId, shard, options, {
    converse: deps.converse ?? converseWithClient,
    store: deps.store ?? s3RunStore(s3, env.BUCKET_NAME),
    ...(deps.sleep ? { sleep: deps.sleep } : {}),
  });
  const { summary } = outcome;
  const dropped = Object.values(summary.dropped).reduce((s, n) => s + n, 0);
  logger.info(outcome.skipped ? 'shard already stored: skipped' : 'shard written', { key: outcome.key, summary });
  if (!outcome.skipped) {
    metrics.addMetric('QueriesLabelled', MetricUnit.Count, summary.labelled);
    metrics.addMetric('QueriesDropped', MetricUnit.Count, dropped);
    metrics.addMetric('TeacherCalls', MetricUnit.Count, summary.teacherCalls.writing + summary.teacherCalls.labelling);
    metrics.addMetric('TeacherRetries', MetricUnit.Count, summary.retries);
    metrics.addMetric('TeacherInputTokens', MetricUnit.Count, summary.usage.inputTokens);
    metrics.addMetric('TeacherOutputTokens', MetricUnit.Count, summary.usage.outputTokens);
    metrics.publishStoredMetrics();
  }
  return {
    index: shard.index,
    key: outcome.key,
    skipped: outcome.skipped,
    planned: summary.planned,
    labelled: summary.labelled,
    dropped,
  };
}

export const handler = async (event: unknown): Promise<ShardResult> => generateShardStep(event);
