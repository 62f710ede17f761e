import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { SSMClient } from '@aws-sdk/client-ssm';
import * as z from 'zod';
import { lambdaHandler, logger, metrics, tracer } from '../core/runtime';
import { DRIFT_ENVIRONMENT } from './environment';
import { readActiveModel } from '../core/active-model';
import { readParameter } from '../core/active-model-parameter';
import {
  DRIFT_WINDOW_HOURS,
  countDominants,
  driftAgainst,
  driftBaselineKey,
  type DriftBaseline,
  type DriftBaselineKind,
  type DriftFigure,
} from './drift-figures';
import { dominantModality, MODALITIES, type Modality } from '../core/modality';
import { readProductionLines, timeOfKey, windowDayPrefixes } from '../core/production-records';
import { s3RunStore, type RunStore } from '../core/run-store';
import { SHADOW_METRIC } from '../core/shadow';
import { runKeys } from '../core/runs';

/**
 * The scheduled drift function (EventBridge, hourly): the dominant-modality distribution of the last
 * DRIFT_WINDOW_HOURS of shadow-labelled traffic (teacher labels) against what live traffic looked like when the
 * promoted model was trained (DriftBaseline, drift-figures.ts): the production selection's counts for a run that
 * learned from production, else the first full window after promotion (stored once under
 * production/drift-baseline/<runId>.json by this function), as one Jensen–Shannon divergence, plus the window's
 * sample count. The log line names the baseline used. Nothing promoted, or no baseline yet: only the sample count is
 * published (and why is logged).
 */

const s3 = tracer.captureAWSv3Client(new S3Client({}));
const ssm = tracer.captureAWSv3Client(new SSMClient({}));

const countsSchema = z.object(
  Object.fromEntries(MODALITIES.map((m) => [m, z.number().min(0)])) as Record<Modality, z.ZodNumber>,
);
/** The fields of a production selection's summary (runs/<runId>/production/selection.jsonl, line 1) drift reads. */
const selectionSummarySchema = z.object({
  kind: z.literal('selection'),
  since: z.string(),
  until: z.string(),
  overMax: z.number().int().min(0),
  selected: z.number().int().min(0),
  byModality: z.object({ selected: countsSchema }),
});
const storedBaselineSchema = z.object({
  kind: z.literal('first-window'),
  runId: z.string(),
  counts: countsSchema,
  samples: z.number().int().min(1),
  source: z.string(),
});

export interface DriftDependencies {
  readonly s3?: S3Client;
  readonly ssm?: SSMClient;
  readonly store?: RunStore;
  readonly now?: () => Date;
}

export interface DriftResult extends DriftFigure {
  readonly runId?: string;
  /** Which baseline the divergence is against (absent: not measured). */
  readonly baseline?: DriftBaselineKind;
  /** Where the baseline comes from (the selection's key and days, or the stored window). */
  readonly baselineSource?: string;
  /** True when this call stored the first-window baseline. */
  readonly baselineWritten?: boolean;
  readonly windowStart: string;
  readonly windowEnd: string;
  readonly objects: number;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined; // reported as an unreadable file
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

async function promoted(
  client: SSMClient,
  name: string,
): Promise<{ readonly runId: string; readonly promotedAt: Date } | undefined> {
  const { value } = await readParameter(client, name);
  if (value === undefined) {
    logger.warn(`the active-model parameter ${name} does not exist: deploy the Api stack`, { parameter: name });
    return undefined;
  }
  const read = readActiveModel(value);
  if (read.state === 'promoted') return { runId: read.model.runId, promotedAt: new Date(read.model.promotedAt) };
  logger.info('no promoted student: drift is not measured', { parameter: name, state: read.state });
  return undefined;
}

/**
 * The promoted run's baseline when it exists already: its production selection's counts (a run that learned from
 * production and kept every record of its days), else the first window stored by an earlier call.
 */
async function storedBaseline(store: RunStore, bucket: string, runId: string): Promise<DriftBaseline | undefined> {
  const selectionKey = runKeys(runId).productionSelection;
  const selection = await store.read(selectionKey);
  if (selection !== undefined) {
    const summary = selectionSummarySchema.safeParse(parseJson(selection.split('\n', 1)[0] ?? ''));
    if (!summary.success) {
      logger.warn(`s3://${bucket}/${selectionKey} has no readable summary: the first window is the drift baseline`);
    } else if (summary.data.overMax > 0 || summary.data.selected === 0) {
      logger.info(
        `the production selection of ${runId} was capped by fromProduction.max (evened out by modality) or is ` +
          'empty: it is not the live mix, the first window after promotion is the drift baseline',
        { overMax: summary.data.overMax, selected: summary.data.selected },
      );
    } else {
      return {
        kind: 'production-selection',
        runId,
        counts: summary.data.byModality.selected,
        samples: summary.data.selected,
        source: `s3://${bucket}/${selectionKey} (${summary.data.since}..${summary.data.until})`,
      };
    }
  }
  const key = driftBaselineKey(runId);
  const text = await store.read(key);
  if (text === undefined) return undefined;
  const stored = storedBaselineSchema.safeParse(parseJson(text));
  if (stored.success && stored.data.runId === runId) return stored.data;
  logger.warn(`s3://${bucket}/${key} is not a drift baseline of ${runId}: drift is not measured (delete it to retake)`);
  return undefined;
}

export async function measureDrift(deps: DriftDependencies = {}): Promise<DriftResult> {
  const env = DRIFT_ENVIRONMENT.read(process.env);
  const s3Client = deps.s3 ?? s3;
  const store = deps.store ?? s3RunStore(s3Client, env.bucketName);
  const end = (deps.now ?? (() => new Date()))();
  const start = new Date(end.getTime() - DRIFT_WINDOW_HOURS * 3_600_000);

  const model = await promoted(deps.ssm ?? ssm, env.activeModelParameterName);
  const runId = model?.runId;
  let baseline = model ? await storedBaseline(store, env.bucketName, model.runId) : undefined;
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
  let baselineWritten = false;
  if (model && !baseline) {
    // A synthetic-only run: the first full window after promotion with enough samples becomes its baseline, once.
    const counts = countDominants(dominants);
    const full = start.getTime() >= model.promotedAt.getTime();
    if (full && dominants.length >= env.baselineMinSamples) {
      const candidate: DriftBaseline = {
        kind: 'first-window',
        runId: model.runId,
        counts,
        samples: dominants.length,
        source: `first window after promotion ${start.toISOString()}..${end.toISOString()}`,
      };
      const key = driftBaselineKey(model.runId);
      baselineWritten = await store.writeOnce(key, JSON.stringify(candidate, null, 2) + '\n', 'application/json');
      // Lost a race with another invocation: that one is the run's baseline.
      baseline = baselineWritten ? candidate : await storedBaseline(store, env.bucketName, model.runId);
    } else {
      logger.info('no drift baseline yet: waiting for the first full window after promotion with enough samples', {
        runId: model.runId,
        promotedAt: model.promotedAt.toISOString(),
        windowStart: start.toISOString(),
        samples: dominants.length,
        baselineMinSamples: env.baselineMinSamples,
      });
    }
  }
  const figure = driftAgainst(baseline, dominants);
  if (figure.divergence !== undefined) metrics.addMetric(SHADOW_METRIC.drift, MetricUnit.NoUnit, figure.divergence);
  metrics.addMetric(SHADOW_METRIC.driftSamples, MetricUnit.Count, figure.samples);
  const result: DriftResult = {
    ...figure,
    ...(runId ? { runId } : {}),
    ...(baseline ? { baselineSource: baseline.source } : {}),
    ...(baselineWritten ? { baselineWritten } : {}),
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
