import { defineEnvironment, envTypes, variable } from '../../core/environment';

/** Report (set by lib/constructs/pipeline/stages/report.ts). */
export const REPORT_ENVIRONMENT = defineEnvironment({
  judgeModelId: variable('JUDGE_MODEL_ID', envTypes.text),
  topicArn: variable('TOPIC_ARN', envTypes.text),
});
