import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { S3Client } from '@aws-sdk/client-s3';
import * as z from 'zod';
import { calibrateLabelling } from './calibrate-labelling';
import type { CalibrationRow } from './calibration';
import { s3RunStore, type RunStore } from '../../core/run-store';
import type { Converse } from '../../core/teacher-labelling';
import { lambdaHandler, logger, metrics, parseInput, runIdField, tracer } from '../../core/runtime';
import { CALIBRATE_ENVIRONMENT } from './environment';
import { teacherConverse } from './teacher-client';

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

export interface CalibrateDependencies {
  readonly converse?: Converse;
  readonly store?: RunStore;
  readonly now?: () => Date;
}

export async function calibrate(event: unknown, deps: CalibrateDependencies = {}): Promise<CalibrationResult> {
  const env = CALIBRATE_ENVIRONMENT.read(process.env);
  const { runId, shardCount } = parseInput(inputSchema, event, 'Calibrate labelling');
  const outcome = await calibrateLabelling(
    runId,
    shardCount,
    {
      teacherModelId: env.teacherModelId,
      includeReasoning: env.includeReasoning,
      labelBatchSize: env.labelBatchSize,
      thresholds: { minAgreement: env.calibrationMinAgreement, maxWeightError: env.calibrationMaxWeightError },
      concurrency: env.labelConcurrency,
    },
    {
      converse: deps.converse ?? teacherConverse,
      store: deps.store ?? s3RunStore(s3, env.bucketName),
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
  }
  return result;
}

export const handler = /* @__PURE__ */ lambdaHandler(calibrate, { metrics: true });
