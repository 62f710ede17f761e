import * as z from 'zod';
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
  /** How long the alarms must stay quiet (config canaryMinutes, 5-1,440). */
  canaryMinutes: variable('CANARY_MINUTES', envTypes.int(1, 100_000)),
  /**
   * The longest window, extended for lack of traffic: max(canaryMinutes, canaryMaxMinutes), which the construct always
   * sets (canaryLongestMinutes). Start canary fits it before the execution's timeout; Check canary ends the canary
   * "inconclusive" there.
   */
  canaryMaxMinutes: variable('CANARY_MAX_MINUTES', envTypes.int(1, 100_000)),
};

export const PROMOTE_ENVIRONMENT = defineEnvironment({ activeModelParameterName });

export const START_CANARY_ENVIRONMENT = defineEnvironment({
  ...CANARY,
  canaryShare: variable('CANARY_SHARE', envTypes.number(0, 0.5)),
  canaryCheckMinutes: variable('CANARY_CHECK_MINUTES', envTypes.int(1, 1_000)),
  /** The state machine's timeout: the canary must fit before it. */
  executionTimeoutMinutes: variable('EXECUTION_TIMEOUT_MINUTES', envTypes.int(1, 1_000_000)),
});

/** A CloudWatch metric by namespace, name and dimensions. */
const metricSchema = z.object({ metricName: z.string().min(1), dimensions: z.record(z.string(), z.string()) });

/** Where the candidate's traffic is counted: the router's queries and the labeller's agreement samples, candidate only. */
export const canaryMetricsSchema = z.object({
  namespace: z.string().min(1),
  queries: metricSchema,
  shadowSamples: metricSchema,
});
export type CanaryMetrics = z.output<typeof canaryMetricsSchema>;

export const CANARY_INCONCLUSIVE = ['keepIncumbent', 'promote'] as const;

export const CHECK_CANARY_ENVIRONMENT = defineEnvironment({
  ...CANARY,
  canaryMinQueries: variable('CANARY_MIN_QUERIES', envTypes.int(0)),
  canaryShadowMinSamples: variable('CANARY_SHADOW_MIN_SAMPLES', envTypes.int(0)),
  canaryInconclusive: variable(
    'CANARY_INCONCLUSIVE',
    z.enum(CANARY_INCONCLUSIVE, `must be one of ${CANARY_INCONCLUSIVE.join(', ')}`),
  ),
  canaryMetrics: variable('CANARY_METRICS', envTypes.json(canaryMetricsSchema), (m) => JSON.stringify(m)),
});

/** Abandon canary (the EventBridge rule on the state machine's ABORTED, TIMED_OUT and FAILED executions). */
export const ABANDON_CANARY_ENVIRONMENT = defineEnvironment({
  activeModelParameterName,
  /** The pipeline's notifications topic. */
  topicArn: variable('TOPIC_ARN', envTypes.text),
});
