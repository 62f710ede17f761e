import { defineEnvironment, envTypes, priceTableEnv, variable } from '../../core/environment';

/** The evaluation stage's functions (set by lib/constructs/pipeline/stages/evaluation.ts). */

export const EVALUATE_ENVIRONMENT = defineEnvironment({
  envName: variable('ENV_NAME', envTypes.text),
  studentModelId: variable('STUDENT_MODEL_ID', envTypes.text),
  baselineModelId: variable('BASELINE_MODEL_ID', envTypes.text),
  judgeModelId: variable('JUDGE_MODEL_ID', envTypes.text),
  evaluationRoleArn: variable('EVALUATION_ROLE_ARN', envTypes.text),
  evaluationConcurrency: variable('EVALUATION_CONCURRENCY', envTypes.int(1)),
  priceTable: variable('PRICE_TABLE', priceTableEnv, JSON.stringify),
  datasetKeyArn: variable('DATASET_KEY_ARN', envTypes.text),
});

/** Check evaluation reads nothing from its environment (the jobs come in its input). */
export const CHECK_EVALUATION_ENVIRONMENT = defineEnvironment({});
