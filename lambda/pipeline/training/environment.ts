import { defineEnvironment, envTypes, variable } from '../../core/environment';

/** The training stage's functions (set by lib/constructs/pipeline/stages/training.ts). */

export const START_DISTILLATION_ENVIRONMENT = defineEnvironment({
  envName: variable('ENV_NAME', envTypes.text),
  customizationRoleArn: variable('CUSTOMIZATION_ROLE_ARN', envTypes.text),
  studentModelId: variable('STUDENT_MODEL_ID', envTypes.text),
  teacherModelId: variable('TEACHER_MODEL_ID', envTypes.text),
  maxResponseLengthForInference: variable('MAX_RESPONSE_LENGTH_FOR_INFERENCE', envTypes.int(1)),
  datasetKeyArn: variable('DATASET_KEY_ARN', envTypes.text),
});

/** Check distillation reads nothing from its environment (the job ARN comes in its input). */
export const CHECK_DISTILLATION_ENVIRONMENT = defineEnvironment({});
