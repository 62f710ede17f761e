import * as z from 'zod';
import { MAX_LABEL_BATCH_SIZE } from '../core/batch-labelling';
import { defineEnvironment, envTypes, priceTableEnv, variable } from '../core/environment';

/** The production loop's functions (set by lib/constructs/shadow-loop.ts). */

export const LABELLER_ENVIRONMENT = defineEnvironment({
  bucketName: variable('BUCKET_NAME', envTypes.text),
  teacherModelId: variable('TEACHER_MODEL_ID', envTypes.text),
  priceTable: variable('PRICE_TABLE', priceTableEnv, JSON.stringify),
  /** Queries per teacher call: "auto" (the promoted run's calibrated labelBatchSize) or 1-25 (shadowLabelBatchSize). */
  labelBatchSize: variable(
    'SHADOW_LABEL_BATCH_SIZE',
    z.union([z.literal('auto'), envTypes.int(1, MAX_LABEL_BATCH_SIZE)], {
      error: `must be "auto" or a whole number from 1 to ${MAX_LABEL_BATCH_SIZE}`,
    }),
  ),
  /** Where "auto" finds the promoted run (whose calibration.json holds its batch size). */
  activeModelParameterName: variable('ACTIVE_MODEL_PARAMETER_NAME', envTypes.text),
  /** The guardrail that masks personal data in each sample before it is labelled or stored, or "none" (redactPiiTypes). */
  redactionGuardrailId: variable('REDACTION_GUARDRAIL_ID', envTypes.text),
});

/** REDACTION_GUARDRAIL_ID when redaction is off (redactPiiTypes=none). */
export const NO_REDACTION = 'none';

export const DRIFT_ENVIRONMENT = defineEnvironment({
  bucketName: variable('BUCKET_NAME', envTypes.text),
  activeModelParameterName: variable('ACTIVE_MODEL_PARAMETER_NAME', envTypes.text),
  /** Samples a window needs before it may become a synthetic-only run's drift baseline (shadowMinSamples). */
  baselineMinSamples: variable('DRIFT_BASELINE_MIN_SAMPLES', envTypes.int(1), String),
});
