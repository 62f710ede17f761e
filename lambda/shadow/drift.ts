import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { SSMClient } from '@aws-sdk/client-ssm';
import * as z from 'zod';
import { lambdaHandler, logger, metrics, tracer } from '../core/runtime';
import { DRIFT_ENVIRONMENT } from './environment';
import { readActiveModel } from '../core/active-model';
import { readParameter } from '../core/active-model-parameter';
import { DRIFT_WINDOW_HOURS, driftOf, type DriftFigure } from './drift-figures';
import { dominantModality, MODALITIES, type Modality } from '../core/modality';
import { readProductionLines, timeOfKey, windowDayPrefixes } from '../core/production-records';
import { s3RunStore, type RunStore } from '../core/run-store';
import { SHADOW_METRIC } from '../core/shadow';
import { runKeys } from '../core/runs';

/**
 * The scheduled drift function (EventBridge, hourly): the dominant-modality distribution of the last
 * DRIFT_WINDOW_HOURS of shadow-labelled traffic (teacher labels) against the promoted run's training distribution
 * (`counts.train.shares` of runs/<runId>/dataset/manifest.json), as one Jensen–Shannon divergence, plus the window's
 * sample count. Nothing promoted, or no manifest: only the sample count is published (and why is logged).
 */

const s3 = tracer.captureAWSv3Client(new S3Client({}));
const ssm = tracer.captureAWSv3Client(new SSMClient({}));

const sharesSchema = z.object(
  Object.fromEntries(MODALITIES.map((m) => [m, z.number().min(0)])) as Record<Modality, z.ZodNumber>,
);
const manifestSchema = z.object({ counts: z.object({ train: z.object({ shares: sharesSchema }) }) });

export interface DriftDependencies {
  readonly s3?: S3Client;
  readonly ssm?: SSMClient;
  readonly store?: RunStore;
  readonly now?: () => Date;
}

export interface DriftResult extends DriftFigure {
  readonly runId?: string;
  readonly windowStart: string;
  readonly windowEnd: string;
  readonly objects: number;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined; // reported as a manifest without counts.train.shares
  }
}

async function listKeys(client: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }),
    );
    for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

async function promotedRunId(client: SSMClient, name: string): Promise<string | undefined> {
  const { value } = await readParameter(client, name);
  if (value === undefined) {
    logger.warn(`the active-model parameter ${name} does not exist: deploy the Api stack`, { parameter: name });
    return undefined;
  }
  const read = readActiveModel(value);
  if (read.state === 'promoted') return read.model.runId;
  logger.info('no promoted student: drift is not measured', { parameter: name, state: read.state });
  return undefined;
}

export async function measureDrift(deps: DriftDependencies = {}): Promise<DriftResult> {
  const env = DRIFT_ENVIRONMENT.read(process.env);
  const s3Client = deps.s3 ?? s3;
  const store = deps.store ?? s3RunStore(s3Client, env.bucketName);
  const end = (deps.now ?? (() => new Date()))();
  const start = new Date(end.getTime() - DRIFT_WINDOW_HOURS * 3_600_000);

  const runId = await promotedRunId(deps.ssm ?? ssm, env.activeModelParameterName);
  let trainShares: Record<Modality, number> | undefined;
  if (runId) {
    const key = runKeys(runId).manifest;
    const text = await store.read(key);
    const parsed = text === undefined ? undefined : manifestSchema.safeParse(parseJson(text));
    if (parsed?.success) trainShares = parsed.data.counts.train.shares;
    else
      logger.warn(
        `s3://${env.bucketName}/${key} is missing or has no counts.train.shares: drift is not measured for ${runId} ` +
          '(a run trained on a reused dataset keeps its manifest under the earlier run)',
      );
  }

  const keys = (
    await Promise.all(windowDayPrefixes(end, DRIFT_WINDOW_HOURS).map((p) => listKeys(s3Client, env.bucketName, p)))
  )
    .flat()
    .filter((key) => {
      const at = timeOfKey(key);
      return at !== undefined && at > start && at <= end;
    });
  const dominants: Modality[] = [];
  for (const key of keys) {
    const text = await store.read(key);
    for (const line of readProductionLines(text ?? '')) if (line.ok) dominants.push(dominantModality(line.weights));
  }
  const figure = driftOf(trainShares, dominants);
  if (figure.divergence !== undefined) metrics.addMetric(SHADOW_METRIC.drift, MetricUnit.NoUnit, figure.divergence);
  metrics.addMetric(SHADOW_METRIC.driftSamples, MetricUnit.Count, figure.samples);
  const result: DriftResult = {
    ...figure,
    ...(runId ? { runId } : {}),
    windowStart: start.toISOString(),
    windowEnd: end.toISOString(),
    objects: keys.length,
  };
  logger.info('drift measured', { ...result });
  return result;
}

/** The scheduled function's handler over measureDrift with `deps` (the tests' clock and clients). */
export const driftHandler = (deps: DriftDependencies = {}) =>
  lambdaHandler((_event: unknown) => measureDrift(deps), { metrics: true });

export const handler = /* @__PURE__ */ driftHandler();
