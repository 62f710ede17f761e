import * as z from 'zod';
import { defineEnvironment, envTypes, priceTableEnv, variable } from '../../core/environment';
import { MAX_LABEL_BATCH_SIZE } from '../../core/batch-labelling';

/**
 * The generation stage's functions (set by lib/constructs/pipeline/stages/generation.ts). Importable at synth: no SDK
 * client, no Powertools instance.
 */

/** What both teacher-calling steps read (Generate shard, Calibrate labelling): who labels, and how. */
const TEACHER = {
  bucketName: variable('BUCKET_NAME', envTypes.text),
  teacherModelId: variable('TEACHER_MODEL_ID', envTypes.text),
  includeReasoning: variable('INCLUDE_REASONING', envTypes.bool),
  labelConcurrency: variable('LABEL_CONCURRENCY', envTypes.int(1, 64)),
};

/** The run's example counts as configured (the execution input may override them). */
const COUNTS = {
  exampleCount: variable('EXAMPLE_COUNT', envTypes.int(1, 1_000_000)),
  testExampleCount: variable('TEST_EXAMPLE_COUNT', envTypes.int(0, 1_000_000)),
};

export const PLAN_ENVIRONMENT = defineEnvironment({
  bucketName: variable('BUCKET_NAME', envTypes.text),
  ...COUNTS,
  queriesPerShard: variable('QUERIES_PER_SHARD', envTypes.int(1, 100_000)),
  generationSurplus: variable('GENERATION_SURPLUS', envTypes.number(0, 100)),
  productionHoldOutShare: variable('PRODUCTION_HOLD_OUT_SHARE', envTypes.number(0, 1)),
});

export const CALIBRATE_ENVIRONMENT = defineEnvironment({
  ...TEACHER,
  labelBatchSize: variable(
    'LABEL_BATCH_SIZE',
    z.union([z.literal('auto'), envTypes.int(1, MAX_LABEL_BATCH_SIZE)], {
      error: `must be "auto" or a whole number from 1 to ${MAX_LABEL_BATCH_SIZE}`,
    }),
  ),
  calibrationMinAgreement: variable('CALIBRATION_MIN_AGREEMENT', envTypes.number(0, 1)),
  calibrationMaxWeightError: variable('CALIBRATION_MAX_WEIGHT_ERROR', envTypes.number(0, 1)),
});

export const GENERATE_SHARD_ENVIRONMENT = defineEnvironment(TEACHER);

/**
 * The distinct prompt versions of the run's candidates, in candidate order: one training file each (the first is the
 * one `$.assemble.trainKey` names).
 */
const TRAINING_PROMPT_VERSIONS = variable(
  'TRAINING_PROMPT_VERSIONS',
  envTypes.json(z.array(z.string().min(1)).min(1, 'must name at least one prompt version')),
  JSON.stringify,
);

export const ASSEMBLE_ENVIRONMENT = defineEnvironment({
  bucketName: variable('BUCKET_NAME', envTypes.text),
  teacherModelId: variable('TEACHER_MODEL_ID', envTypes.text),
  ...COUNTS,
  minGenerationSuccessRate: variable('MIN_GENERATION_SUCCESS_RATE', envTypes.number(0, 1)),
  includeReasoning: variable('INCLUDE_REASONING', envTypes.bool),
  priceTable: variable('PRICE_TABLE', priceTableEnv, JSON.stringify),
  trainingPromptVersions: TRAINING_PROMPT_VERSIONS,
});

export const REUSE_DATASET_ENVIRONMENT = defineEnvironment({
  bucketName: variable('DATASET_BUCKET', envTypes.text),
  trainingPromptVersions: TRAINING_PROMPT_VERSIONS,
});
