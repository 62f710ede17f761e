import type { SSMClient } from '@aws-sdk/client-ssm';
import * as z from 'zod';
import { readActiveModel } from '../core/active-model';
import { readParameter } from '../core/active-model-parameter';
import { MAX_LABEL_BATCH_SIZE } from '../core/batch-labelling';
import type { RunStore } from '../core/run-store';
import { runKeys } from '../core/runs';

/**
 * How many queries the shadow labeller puts in one teacher call. A number (shadowLabelBatchSize 1-25) is used as it
 * is; `auto` takes the promoted run's calibrated size (`labelBatchSize` of runs/<runId>/calibration.json, written once
 * by its Calibrate step: the largest batch whose labels matched the teacher's single labels), so production is labelled
 * as the run that serves was. Nothing promoted, or no readable calibration: 1 (one query per call), and why.
 */

/** The part of a calibration record (lambda/pipeline/generation/calibration.ts) the labeller reads. */
const calibrationSchema = z.object({
  labelBatchSize: z.number().int().min(1).max(MAX_LABEL_BATCH_SIZE),
  calibrated: z.boolean(),
});

export interface LabelBatchSize {
  readonly size: number;
  /** `configured`, `calibrated` (runs/<runId>/calibration.json) or `default` (1: nothing to read it from). */
  readonly from: 'configured' | 'calibrated' | 'default';
  readonly runId?: string;
  readonly reason?: string;
}

/** How long an `auto` size read from the promoted run is reused before the parameter is read again. */
export const BATCH_SIZE_CACHE_MS = 5 * 60_000;

export interface LabelBatchSizeSource {
  readonly configured: 'auto' | number;
  readonly parameterName: string;
  readonly ssm: SSMClient;
  readonly store: RunStore;
}

async function readBatchSize(source: LabelBatchSizeSource): Promise<LabelBatchSize> {
  if (source.configured !== 'auto') return { size: source.configured, from: 'configured' };
  const read = readActiveModel((await readParameter(source.ssm, source.parameterName)).value);
  if (read.state !== 'promoted') return { size: 1, from: 'default', reason: `no promoted run (${read.state})` };
  const { runId } = read.model;
  const key = runKeys(runId).calibration;
  const text = await source.store.read(key);
  let json: unknown;
  try {
    json = text === undefined ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  const parsed = calibrationSchema.safeParse(json);
  if (!parsed.success) return { size: 1, from: 'default', runId, reason: `${key} is missing or unreadable` };
  return { size: parsed.data.labelBatchSize, from: 'calibrated', runId };
}

/** A reader of the batch size that reads the promoted run at most once per BATCH_SIZE_CACHE_MS. */
export function labelBatchSizeReader(source: LabelBatchSizeSource, now: () => number = Date.now) {
  let cached: { readonly at: number; readonly value: LabelBatchSize } | undefined;
  return async (): Promise<LabelBatchSize> => {
    const at = now();
    if (cached && at - cached.at < BATCH_SIZE_CACHE_MS) return cached.value;
    try {
      const value = await readBatchSize(source);
      cached = { at, value };
      return value;
    } catch (error) {
      // A failed read (SSM or S3 throttling) does not fail the batch: one query per call this time, read again next.
      const reason = `the promoted run could not be read: ${error instanceof Error ? error.name : 'Error'}`;
      return { size: 1, from: 'default', reason };
    }
  };
}
