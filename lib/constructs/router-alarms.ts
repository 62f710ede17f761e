import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { METRIC } from '../../lambda/router/router';
import type { AppConfig } from '../config';
import type { RouterFigures } from './router-metrics';

/** Alarm thresholds: a degraded router still answers, so these say "look", not "down". */
export const ALARM_THRESHOLDS = {
  /** Share of API requests answered 5xx (a REST API's 5XXError average; an HTTP API's 5xx sum over its Count). */
  serverErrorRate: 0.01,
  /** Percent of queries answered by a fallback (fallback model or default) because the planned model failed. */
  fallbackPercent: 20,
  /**
   * Consecutive 5-minute periods with a failed read of the active-model parameter before the alarm fires. A transient
   * SSM fault is absorbed (the router serves the last good value and retries within a minute: READ_RETRY_MAX_MS), so
   * only a fault that persists this long (15 minutes) is worth a look.
   */
  activeModelReadErrorPeriods: 3,
  /** Percent of sampled requests whose hand-off to the shadow queue failed or timed out (the reply never changes). */
  shadowHandoffFailurePercent: 5,
  /**
   * The canary's alarms (candidate variant only) look at 1-minute periods and fire when 3 in a row breach: a bad
   * candidate is rolled back within minutes, one noisy minute is not enough. Stricter than the steady-state figures
   * above: the candidate must be no worse than a healthy incumbent, and rolling it back costs nothing.
   */
  canaryInvalidReplyPercent: 5,
  canaryFallbackPercent: 10,
  /** Candidate p99 minus incumbent p99, as a share of the latency budget (0.2 of 1,500 ms: 300 ms slower). */
  canaryLatencyMarginOfBudget: 0.2,
  /** Candidate queries a 1-minute period needs before its rates count (2 of 3 queries failing says little). */
  canaryMinQueriesPerPeriod: 10,
  canaryPeriods: 3,
} as const;

/** The router's steady-state alarms; shadowHandoffs exists only while the production loop samples (shadowSampleRate > 0). */
export type RouterAlarms = Record<
  'serverErrors' | 'fallbacks' | 'latencyP99' | 'modelAccess' | 'activeModelReads' | 'functionErrors',
  cloudwatch.Alarm
> & { readonly shadowHandoffs?: cloudwatch.Alarm };

/**
 * The router's alarms, each notifying `topic`. Created in `scope` itself (the RouterMonitoring construct), so that their
 * construct ids, logical ids and names stay what operators know.
 */
export function routerAlarms(
  scope: Construct,
  props: {
    readonly config: Pick<AppConfig, 'latencyBudgetMs' | 'shadowSampleRate'>;
    readonly router: lambda.IFunction;
    readonly topic: sns.ITopic;
    readonly figures: RouterFigures;
  },
): RouterAlarms {
  const { config, router, figures } = props;
  const { period, routerMetric } = figures;
  const notify = new actions.SnsAction(props.topic);
  const alarm = (alarmId: string, options: cloudwatch.AlarmProps) => {
    const created = new cloudwatch.Alarm(scope, alarmId, {
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      ...options,
    });
    created.addAlarmAction(notify);
    return created;
  };
  const alarms: RouterAlarms = {
    serverErrors: alarm('ServerErrorRate', {
      metric: figures.serverErrorRate,
      threshold: ALARM_THRESHOLDS.serverErrorRate,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      alarmDescription: 'More than 1% of router API requests answered 5xx (the router should never answer 5xx).',
    }),
    fallbacks: alarm('FallbackRate', {
      metric: figures.fallbackPercent,
      threshold: ALARM_THRESHOLDS.fallbackPercent,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      alarmDescription: `More than ${ALARM_THRESHOLDS.fallbackPercent}% of queries fell back (student timed out, throttled or replied unusably).`,
    }),
    latencyP99: alarm('LatencyP99', {
      metric: figures.latencyP99,
      threshold: config.latencyBudgetMs,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      alarmDescription: `Router p99 latency reached the ${config.latencyBudgetMs} ms budget: queries are being answered by the default weights.`,
    }),
    modelAccess: alarm('ModelAccessErrors', {
      metric: routerMetric(METRIC.accessErrors),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      alarmDescription:
        'Bedrock refused the router (AccessDenied / ResourceNotFound): callers get the default weights. Check the promoted deployment, model access and the IAM policy.',
    }),
    activeModelReads: alarm('ActiveModelReadErrors', {
      metric: routerMetric(METRIC.activeModelReadErrors),
      threshold: 1,
      evaluationPeriods: ALARM_THRESHOLDS.activeModelReadErrorPeriods,
      datapointsToAlarm: ALARM_THRESHOLDS.activeModelReadErrorPeriods,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      alarmDescription:
        `The router has failed to read the active-model parameter in each of the last ${ALARM_THRESHOLDS.activeModelReadErrorPeriods} ` +
        `periods of ${period.toMinutes()} minutes: it serves the last value it read (or, in new containers, the fallback model or default weights). ` +
        "Check the parameter exists and the router's ssm:GetParameter permission, and SSM's health and throttling.",
    }),
    functionErrors: alarm('FunctionErrors', {
      metric: router.metricErrors({ period }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      alarmDescription: 'The router function failed (init error or crash).',
    }),
  };
  if (config.shadowSampleRate <= 0) return alarms;
  return {
    ...alarms,
    shadowHandoffs: alarm('ShadowHandoffFailures', {
      metric: figures.handoffFailurePercent,
      threshold: ALARM_THRESHOLDS.shadowHandoffFailurePercent,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      alarmDescription:
        `More than ${ALARM_THRESHOLDS.shadowHandoffFailurePercent}% of sampled queries could not be handed to the ` +
        'shadow queue (callers are not affected; quality measurement is). Check the queue exists (pipeline stack ' +
        "deployed), its KMS key, and the router's sqs:SendMessage permission; see the router's warnings.",
    }),
  };
}
