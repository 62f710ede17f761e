import { defineEnvironment, envTypes, variable } from '../../core/environment';

/** The training stage's functions (set by lib/constructs/pipeline/stages/training.ts). */

export const START_TRAINING_ENVIRONMENT = defineEnvironment({
  envName: variable('ENV_NAME', envTypes.text),
  /** The service role of DISTILLATION jobs (it may invoke the teacher). */
  customizationRoleArn: variable('CUSTOMIZATION_ROLE_ARN', envTypes.text),
  /** The service role of FINE_TUNING jobs (no model invocation: the job trains on the records as they are). */
  fineTuningRoleArn: variable('FINE_TUNING_ROLE_ARN', envTypes.text),
  /** The student of a run started without candidates (a single distillation). */
  studentModelId: variable('STUDENT_MODEL_ID', envTypes.text),
  teacherModelId: variable('TEACHER_MODEL_ID', envTypes.text),
  maxResponseLengthForInference: variable('MAX_RESPONSE_LENGTH_FOR_INFERENCE', envTypes.int(1)),
  datasetKeyArn: variable('DATASET_KEY_ARN', envTypes.text),
});

/** Check training reads nothing from its environment (the job ARN comes in its input). */
export const CHECK_TRAINING_ENVIRONMENT = defineEnvironment({});
