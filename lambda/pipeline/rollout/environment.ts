import { defineEnvironment, envTypes, variable } from '../../core/environment';

/** The rollout stage's functions (set by lib/constructs/pipeline/stages/rollout.ts). */

const activeModelParameterName = variable('ACTIVE_MODEL_PARAMETER_NAME', envTypes.text);

/** What both canary steps read: the alarms that judge the candidate (by name, comma-separated) and where they live. */
const CANARY = {
  activeModelParameterName,
  canaryAlarmNames: variable(
    'CANARY_ALARM_NAMES',
    envTypes.text.transform((names) => names.split(',')),
    (names) => names.join(','),
  ),
  apiStackName: variable('API_STACK_NAME', envTypes.text),
};

export const PROMOTE_ENVIRONMENT = defineEnvironment({ activeModelParameterName });

export const START_CANARY_ENVIRONMENT = defineEnvironment({
  ...CANARY,
  canaryShare: variable('CANARY_SHARE', envTypes.number(0, 0.5)),
  canaryMinutes: variable('CANARY_MINUTES', envTypes.int(1, 100_000)),
  canaryCheckMinutes: variable('CANARY_CHECK_MINUTES', envTypes.int(1, 1_000)),
  /** The state machine's timeout: the canary must fit before it. */
  executionTimeoutMinutes: variable('EXECUTION_TIMEOUT_MINUTES', envTypes.int(1, 1_000_000)),
});

export const CHECK_CANARY_ENVIRONMENT = defineEnvironment({
  ...CANARY,
  canaryMinutes: variable('CANARY_MINUTES', envTypes.int(1)),
});
