import { defineEnvironment, envTypes, priceTableEnv, variable } from '../core/environment';

/** The production loop's functions (set by lib/constructs/shadow-loop.ts). */

export const LABELLER_ENVIRONMENT = defineEnvironment({
  bucketName: variable('BUCKET_NAME', envTypes.text),
  teacherModelId: variable('TEACHER_MODEL_ID', envTypes.text),
  priceTable: variable('PRICE_TABLE', priceTableEnv, JSON.stringify),
});

export const DRIFT_ENVIRONMENT = defineEnvironment({
  bucketName: variable('BUCKET_NAME', envTypes.text),
  activeModelParameterName: variable('ACTIVE_MODEL_PARAMETER_NAME', envTypes.text),
});
