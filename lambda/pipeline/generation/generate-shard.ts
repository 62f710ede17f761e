import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { S3Client } from '@aws-sdk/client-s3';
import * as z from 'zod';
import { shardSpecSchema } from './query-plan';
import { s3RunStore, type RunStore } from '../../core/run-store';
import { generateShard, type ShardOptions } from './shard-generation';
import type { Converse } from '../../core/teacher-labelling';
import type { TeacherRetryPolicy } from './teacher-calls';
import { MAX_LABEL_BATCH_SIZE } from '../../core/batch-labelling';
import { lambdaHandler, logger, metrics, parseInput, runIdField, tracer } from '../../core/runtime';
import { GENERATE_SHARD_ENVIRONMENT } from './environment';
import { TEACHER_CLIENT_CONFIG, TEACHER_RETRY, teacherConverse } from './teacher-client';

/**
 * Generate (one Distributed Map iteration): the teacher writes and labels one shard's queries; the shard is stored at
 * `runs/<runId>/shards/shard-NNNNN.jsonl`, written once. A shard already stored is skipped (re-run, redrive).
 * Input `{ runId, shard, labelBatchSize? }` (the Map's ItemSelector; `labelBatchSize` from `$.calibration`, 1 when
 * absent); result at `$.shard` of the iteration.
 */

// One retry layer for the teacher (teacher-client.ts); re-exported for the benchmark and the tests.
export { TEACHER_CLIENT_CONFIG, TEACHER_RETRY };

/** `$.shard` of a Map iteration: small on purpose (every iteration's output comes back through the Map). */
export interface ShardResult {
  readonly index: number;
  readonly key: string;
  readonly skipped: boolean;
  readonly planned: number;
  readonly labelled: number;
  readonly dropped: number;
}

const inputSchema = z.object({
  runId: runIdField,
  shard: shardSpecSchema,
  labelBatchSize: z.number().int().min(1).max(MAX_LABEL_BATCH_SIZE).optional(),
});

const s3 = tracer.captureAWSv3Client(new S3Client({}));

export interface GenerateShardDependencies {
  readonly converse?: Converse;
  readonly store?: RunStore;
  readonly retry?: TeacherRetryPolicy;
  readonly sleep?: (ms: number) => Promise<void>;
}

export async function generateShardStep(event: unknown, deps: GenerateShardDependencies = {}): Promise<ShardResult> {
  const env = GENERATE_SHARD_ENVIRONMENT.read(process.env);
  const { runId, shard, labelBatchSize } = parseInput(inputSchema, event, 'Generate shard');
  const options: ShardOptions = {
    teacherModelId: env.teacherModelId,
    includeReasoning: env.includeReasoning,
    labelConcurrency: env.labelConcurrency,
    labelBatchSize: labelBatchSize ?? 1,
    retry: deps.retry ?? TEACHER_RETRY,
  };
  const outcome = await generateShard(runId, shard, options, {
    converse: deps.converse ?? teacherConverse,
    store: deps.store ?? s3RunStore(s3, env.bucketName),
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
    const reasks = summary.batchReasks;
    if (reasks)
      metrics.addMetric('LabelBatchReasks', MetricUnit.Count, reasks.missing + reasks.duplicate + reasks.unparsable);
    metrics.addMetric('TeacherInputTokens', MetricUnit.Count, summary.usage.inputTokens);
    metrics.addMetric('TeacherOutputTokens', MetricUnit.Count, summary.usage.outputTokens);
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

export const handler = /* @__PURE__ */ lambdaHandler(generateShardStep, { metrics: true });
