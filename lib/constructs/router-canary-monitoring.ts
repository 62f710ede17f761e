import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { Construct } from 'constructs';
import type { Variant } from '../../lambda/core/active-model';
import { SHADOW_METRIC } from '../../lambda/core/shadow';
import { METRIC, VARIANT_DIMENSION, type MetricName } from '../../lambda/router/router';
import type { AppConfig } from '../config';
import { canaryAlarmName, type CanaryCheck } from '../naming';
import { ALARM_THRESHOLDS } from './router-alarms';
import { METRICS_NAMESPACE, variantMetric } from './router-metrics';
import { SHADOW_SERVICE_NAME } from './shadow-loop';

export interface CanaryMonitoring {
  /**
   * The canary's alarms, named canaryAlarmName(envName, check): the pipeline's canary step reads their state by name.
   * No alarm action: the pipeline rolls back and notifies (naming the alarm and its figures) itself.
   */
  readonly alarms: Record<CanaryCheck, cloudwatch.Alarm>;
  /** The dashboard's canary rows: a heading, one graph per figure by variant, the alarms' state. */
  readonly rows: readonly (readonly cloudwatch.IWidget[])[];
}

type CanaryConfig = Pick<
  AppConfig,
  'envName' | 'latencyBudgetMs' | 'minDominantAgreement' | 'canaryMinutes' | 'canaryShadowMinSamples'
>;

/**
 * The canary's four alarms, on the candidate variant only (the router's metrics under {service, Variant}, published
 * only while a canary runs, and the labeller's agreement under {service, Variant}), and a dashboard row per variant.
 * Missing data never breaches: outside a canary there is none, and the alarms rest in OK / INSUFFICIENT_DATA. The
 * alarms are created in `scope` itself (the RouterMonitoring construct): their ids and names stay as they are.
 */
export function canaryMonitoring(scope: Construct, config: CanaryConfig): CanaryMonitoring {
  const figures = canaryFigures(config);
  const alarms = canaryAlarms(scope, config, figures);
  return { alarms, rows: canaryRows(config, figures, alarms) };
}

/** The figures the canary's alarms watch and its dashboard rows show, by variant. */
interface CanaryFigures {
  readonly rate: (
    label: string,
    metric: MetricName,
    variant: Variant,
    plusRefused?: boolean,
  ) => cloudwatch.MathExpression;
  readonly agreementOf: (variant: Variant, statistic: string, period?: Duration) => cloudwatch.Metric;
  readonly latencyGap: cloudwatch.MathExpression;
  readonly agreement: cloudwatch.MathExpression;
  /** How much slower than the incumbent's p99 the candidate's may be, in ms. */
  readonly marginMs: number;
}

function canaryFigures(config: CanaryConfig): CanaryFigures {
  const minute = Duration.minutes(1);
  // The whole canary window: shadow samples are sparse (shadowSampleRate × canaryShare of the traffic).
  const shadowWindow = Duration.minutes(config.canaryMinutes);
  const agreementOf = (variant: Variant, statistic: string, period = shadowWindow) =>
    new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName: SHADOW_METRIC.agreement,
      dimensionsMap: { service: SHADOW_SERVICE_NAME, [VARIANT_DIMENSION]: variant },
      statistic,
      period,
    });
  const t = ALARM_THRESHOLDS;
  // A percentage of the variant's queries; below canaryMinQueriesPerPeriod queries a minute counts as 0. Ids name
  // the variant and metric: a graph holding several of these must not reuse an id for another metric.
  const rate = (label: string, metric: MetricName, variant: Variant, plusRefused = false) => {
    const [m, queries, refused] = [metric, METRIC.queries, METRIC.canaryRefused].map((n) => `${variant}${n}`);
    return new cloudwatch.MathExpression({
      label,
      expression:
        `IF(${queries} >= ${t.canaryMinQueriesPerPeriod}, ` +
        `100 * (${m}${plusRefused ? ` + ${refused}` : ''}) / ${queries}, 0)`,
      usingMetrics: {
        [`${m}`]: variantMetric(metric, variant),
        [`${queries}`]: variantMetric(METRIC.queries, variant),
        ...(plusRefused ? { [`${refused}`]: variantMetric(METRIC.canaryRefused, variant) } : {}),
      },
      period: minute,
    });
  };
  const marginMs = Math.round(config.latencyBudgetMs * t.canaryLatencyMarginOfBudget);
  const latencyGap = new cloudwatch.MathExpression({
    label: 'Candidate p99 − incumbent p99 (ms)',
    expression: `IF(n >= ${t.canaryMinQueriesPerPeriod}, candidate - incumbent, 0)`,
    usingMetrics: {
      candidate: variantMetric(METRIC.latency, 'candidate', 'p99'),
      incumbent: variantMetric(METRIC.latency, 'incumbent', 'p99'),
      n: variantMetric(METRIC.latency, 'candidate', 'SampleCount'),
    },
    period: minute,
  });
  const agreement = new cloudwatch.MathExpression({
    label: 'Candidate shadow agreement',
    // 1 (never below the threshold) until enough samples exist.
    expression: `IF(n >= ${config.canaryShadowMinSamples}, agreement, 1)`,
    usingMetrics: {
      agreement: agreementOf('candidate', 'Average'),
      n: agreementOf('candidate', 'SampleCount'),
    },
    period: shadowWindow,
  });
  return { rate, agreementOf, latencyGap, agreement, marginMs };
}

function canaryAlarms(
  scope: Construct,
  config: CanaryConfig,
  figures: CanaryFigures,
): Record<CanaryCheck, cloudwatch.Alarm> {
  const { rate, latencyGap, agreement, marginMs } = figures;
  const t = ALARM_THRESHOLDS;
  const byMinute = {
    evaluationPeriods: t.canaryPeriods,
    datapointsToAlarm: t.canaryPeriods,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  };
  const during = 'During a canary, the candidate';
  const definitions: Record<CanaryCheck, cloudwatch.AlarmProps> = {
    InvalidReplies: {
      ...byMinute,
      metric: rate('Candidate invalid replies (%)', METRIC.invalidReplies, 'candidate'),
      threshold: t.canaryInvalidReplyPercent,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      alarmDescription: `${during} replied unusably to more than ${t.canaryInvalidReplyPercent}% of its queries in ${t.canaryPeriods} minutes in a row.`,
    },
    Fallbacks: {
      ...byMinute,
      metric: rate('Candidate fallbacks (%)', METRIC.fallbacks, 'candidate', true),
      threshold: t.canaryFallbackPercent,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      alarmDescription:
        `${during}'s queries fell back (timeout, throttle, invalid reply, or a prompt version the router refuses: ` +
        `CanaryRefused) more than ${t.canaryFallbackPercent}% of the time in ${t.canaryPeriods} minutes in a row.`,
    },
    LatencyP99: {
      ...byMinute,
      metric: latencyGap,
      threshold: marginMs,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      alarmDescription: `${during}'s p99 latency was more than ${marginMs} ms above the incumbent's in ${t.canaryPeriods} minutes in a row.`,
    },
    ShadowAgreement: {
      metric: agreement,
      threshold: config.minDominantAgreement,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription:
        `${during} agreed with the teacher on the dominant modality in fewer than ${config.minDominantAgreement * 100}% ` +
        `of at least ${config.canaryShadowMinSamples} shadow samples over the last ${config.canaryMinutes} minutes.`,
    },
  };
  const alarm = (check: CanaryCheck) =>
    new cloudwatch.Alarm(scope, `Canary${check}`, {
      ...definitions[check],
      alarmName: canaryAlarmName(config.envName, check),
    });
  const alarms: Record<CanaryCheck, cloudwatch.Alarm> = {
    InvalidReplies: alarm('InvalidReplies'),
    Fallbacks: alarm('Fallbacks'),
    LatencyP99: alarm('LatencyP99'),
    ShadowAgreement: alarm('ShadowAgreement'),
  };

  return alarms;
}

function canaryRows(
  config: CanaryConfig,
  figures: CanaryFigures,
  alarms: Record<CanaryCheck, cloudwatch.Alarm>,
): cloudwatch.IWidget[][] {
  const { rate, agreementOf, latencyGap, marginMs } = figures;
  const variants: Variant[] = ['incumbent', 'candidate'];
  return [
    [
      new cloudwatch.TextWidget({
        markdown:
          '## Canary\nDuring a canary the candidate answers a share of queries (by query); these lines exist only ' +
          'then. Its alarms roll it back through the pipeline (`npm run pipeline -- status|promote|rollback`).',
        width: 24,
        height: 2,
      }),
    ],
    [
      new cloudwatch.GraphWidget({
        title: 'Canary: queries by variant',
        left: variants.map((v) => variantMetric(METRIC.queries, v).with({ label: v })),
        width: 6,
      }),
      new cloudwatch.GraphWidget({
        title: 'Canary: latency p99 by variant (ms)',
        left: variants.map((v) => variantMetric(METRIC.latency, v, 'p99').with({ label: v })),
        right: [latencyGap],
        rightAnnotations: [{ value: marginMs, label: 'alarm margin' }],
        width: 6,
      }),
      new cloudwatch.GraphWidget({
        title: 'Canary: fallbacks and invalid replies by variant (%)',
        left: variants.flatMap((v) => [
          rate(`${v} fallbacks (%)`, METRIC.fallbacks, v, true),
          rate(`${v} invalid replies (%)`, METRIC.invalidReplies, v),
        ]),
        width: 6,
      }),
      new cloudwatch.GraphWidget({
        title: 'Canary: shadow agreement by variant',
        left: variants.map((v) => agreementOf(v, 'Average', Duration.minutes(5)).with({ label: v })),
        leftAnnotations: [{ value: config.minDominantAgreement, label: 'minDominantAgreement' }],
        leftYAxis: { min: 0, max: 1 },
        width: 6,
      }),
    ],
    [new cloudwatch.AlarmStatusWidget({ title: 'Canary alarms', alarms: Object.values(alarms), width: 24 })],
  ];
}
