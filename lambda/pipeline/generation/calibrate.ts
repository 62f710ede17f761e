import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { S3Client } from '@aws-sdk/client-s3';
import * as z from 'zod';
import { MAX_LABEL_BATCH_SIZE } from './batch-labelling';
import { calibrateLabelling } from './calibrate-labelling';
import type { CalibrationRow } from './calibration';
import { s3RunStore, type RunStore } from '../../core/run-store';
import type { Converse } from './shard-generation';
import { envTypes, logger, metrics, parseInput, readEnvironment, runIdField, tracer } from '../../core/runtime';
import { TEACHER_ENVIRONMENT, teacherConverse } from './teacher-client';

/**
 * Calibrate labelling (after Plan, before Generate): decides how many queries each teacher labelling call carries.
 * With `labelBatchSize=auto` the teacher labels the calibration set singly and in batches of 5, 10 and 20, and the
 * largest size whose answers match the single ones well enough (calibrationMinAgreement, calibrationMaxWeightError)
 * is chosen, else 1; a fixed `labelBatchSize` is used as it is, with no teacher call. Stored once at
 * `runs/<runId>/calibration.json` (a retry or redrive reuses it). Input `{ runId, shardCount }` (from `$.plan`; no
 * shard, no calibration); result at `$.calibration`, whose `labelBatchSize` the Map hands every shard.
 */

/** `$.calibration` */
export interface CalibrationResult {
  readonly key: string;
  readonly labelBatchSize: number;
  readonly calibrated: boolean;
  readonly reason: string;
  readonly table: readonly CalibrationRow[];
}

const inputSchema = z.object({ runId: runIdField, shardCount: z.number().int().min(0) });

const s3 = tracer.captureAWSv3Client(new S3Client({}));

const environment = () =>
  readEnvironment({
    ...TEACHER_ENVIRONMENT,
    LABEL_BATCH_SIZE: z.union([z.literal('auto'), envTypes.int(1, MAX_LABEL_BATCH_SIZE)], {
      error: `must be "auto" or a whole number from 1 to ${MAX_LABEL_BATCH_SIZE}`,
    }),
    CALIBRATION_MIN_AGREEMENT: envTypes.number(0, 1),
    CALIBRATION_MAX_WEIGHT_ERROR: envTypes.number(0, 1),
  });

export interface CalibrateDependencies {
  readonly converse?: Converse;
  readonly store?: RunStore;
  readonly now?: () => Date;
}

export async function calibrate(event: unknown, deps: CalibrateDependencies = {}): Promise<CalibrationResult> {
  const env = environment();
  const { runId, shardCount } = parseInput(inputSchema, event, 'Calibrate labelling');
  const outcome = await calibrateLabelling(
    runId,
    shardCount,
    {
      teacherModelId: env.TEACHER_MODEL_ID,
      includeReasoning: env.INCLUDE_REASONING,
      labelBatchSize: env.LABEL_BATCH_SIZE,
      thresholds: { minAgreement: env.CALIBRATION_MIN_AGREEMENT, maxWeightError: env.CALIBRATION_MAX_WEIGHT_ERROR },
      concurrency: env.LABEL_CONCURRENCY,
    },
    {
      converse: deps.converse ?? teacherConverse,
      store: deps.store ?? s3RunStore(s3, env.BUCKET_NAME),
      ...(deps.now ? { now: deps.now } : {}),
    },
  );
  const { record } = outcome;
  const result: CalibrationResult = {
    key: outcome.key,
    labelBatchSize: record.labelBatchSize,
    calibrated: record.calibrated,
    reason: record.reason,
    table: record.table,
  };
  logger.info(outcome.reused ? 'calibration already stored: reused' : 'calibration written', { ...result });
  if (!outcome.reused) {
    metrics.addMetric('LabelBatchSize', MetricUnit.Count, record.labelBatchSize);
    metrics.addMetric('CalibrationTeacherCalls', MetricUnit.Count, record.usage.calls);
    metrics.publishStoredMetrics();
  }
  return result;
}

export const handler = async (event: unknown): Promise<CalibrationResult> => calibrate(event);
