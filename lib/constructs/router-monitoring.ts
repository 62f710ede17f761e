import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { Variant } from '../../lambda/core/active-model';
import { LATENCY_BY_SOURCE, METRIC, VARIANT_DIMENSION, type MetricName } from '../../lambda/router/router';
import { SOURCES } from '../../lambda/router/contract';
import type { AppConfig } from '../config';
import { SHADOW_METRIC, SHADOW_SOURCES } from '../../lambda/core/shadow';
import { canaryAlarmName, shadowAlarmNames, stateMachineName, type CanaryCheck } from '../naming';
import { ROUTER_SERVICE_NAME, type RouterApiMetrics } from './router-api';
import { SHADOW_SERVICE_NAME } from './shadow-loop';

/** The namespace the house Function sets for Powertools metrics. */
export const METRICS_NAMESPACE = 'DistilledIntentRouter';

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

export interface RouterMonitoringProps {
  readonly config: AppConfig;
  /** The API's metrics, REST or HTTP API (RouterApi.metrics). */
  readonly api: RouterApiMetrics;
  readonly router: lambda.IFunction;
  readonly topic: sns.ITopic;
}

/** Alarms (to the router stack's topic) and one dashboard with the router's and the pipeline's key figures. */
export class RouterMonitoring extends Construct {
  readonly alarms: Record<
    'serverErrors' | 'fallbacks' | 'latencyP99' | 'modelAccess' | 'activeModelReads' | 'functionErrors',
    cloudwatch.Alarm
  > & { readonly shadowHandoffs?: cloudwatch.Alarm };
  /**
   * The canary's alarms, named canaryAlarmName(envName, check): the pipeline's canary step reads their state by name.
   * No alarm action: the pipeline rolls back and notifies (naming the alarm and its figures) itself.
   */
  readonly canaryAlarms: Record<CanaryCheck, cloudwatch.Alarm>;
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: RouterMonitoringProps) {
    super(scope, id);
    const { config, api, router } = props;
    const period = Duration.minutes(5);
    const routerMetric = (name: MetricName, statistic = 'Sum') =>
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName: name,
        dimensionsMap: { service: ROUTER_SERVICE_NAME },
        statistic,
        period,
      });

    const fallbackPercent = new cloudwatch.MathExpression({
      label: 'Fallback rate (%)',
      expression: 'IF(queries > 0, 100 * fallbacks / queries, 0)',
      usingMetrics: { fallbacks: routerMetric(METRIC.fallbacks), queries: routerMetric(METRIC.queries) },
      period,
    });
    const latencyP99 = routerMetric(METRIC.latency, 'p99');

    const notify = new actions.SnsAction(props.topic);
    const alarm = (alarmId: string, options: cloudwatch.AlarmProps) => {
      const created = new cloudwatch.Alarm(this, alarmId, {
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        ...options,
      });
      created.addAlarmAction(notify);
      return created;
    };
    // A REST API's 5XXError is 0 or 1 per request, so its average is the rate (as before); an HTTP API's 5xx is given
    // as the share of its request count, which holds whatever the metric's per-request values are.
    const serverErrorRate =
      api.kind === 'rest'
        ? api.metricServerError({ statistic: 'Average', period })
        : new cloudwatch.MathExpression({
            label: '5xx rate',
            expression: 'IF(requests > 0, errors / requests, 0)',
            usingMetrics: {
              errors: api.metricServerError({ statistic: 'Sum', period }),
              requests: api.metricCount({ statistic: 'Sum', period }),
            },
            period,
          });
    this.alarms = {
      serverErrors: alarm('ServerErrorRate', {
        metric: serverErrorRate,
        threshold: ALARM_THRESHOLDS.serverErrorRate,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        alarmDescription: 'More than 1% of router API requests answered 5xx (the router should never answer 5xx).',
      }),
      fallbacks: alarm('FallbackRate', {
        metric: fallbackPercent,
        threshold: ALARM_THRESHOLDS.fallbackPercent,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        alarmDescription: `More than ${ALARM_THRESHOLDS.fallbackPercent}% of queries fell back (student timed out, throttled or replied unusably).`,
      }),
      latencyP99: alarm('LatencyP99', {
        metric: latencyP99,
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

    const handoffFailurePercent = new cloudwatch.MathExpression({
      label: 'Shadow hand-off failures (%)',
      expression: 'IF(sent + failed > 0, 100 * failed / (sent + failed), 0)',
      usingMetrics: {
        sent: routerMetric(METRIC.shadowHandoffs),
        failed: routerMetric(METRIC.shadowHandoffFailures),
      },
      period,
    });
    if (config.shadowSampleRate > 0) {
      this.alarms = {
        ...this.alarms,
        shadowHandoffs: alarm('ShadowHandoffFailures', {
          metric: handoffFailurePercent,
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

    const stateMachineArn = Stack.of(this).formatArn({
      service: 'states',
      resource: 'stateMachine',
      resourceName: stateMachineName(config.envName),
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const pipelineMetric = (metricName: string) =>
      new cloudwatch.Metric({
        namespace: 'AWS/States',
        metricName,
        dimensionsMap: { StateMachineArn: stateMachineArn },
        statistic: 'Sum',
        period: Duration.hours(1),
      });

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `intent-router-${config.envName}`,
      defaultInterval: Duration.hours(24),
    });
    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown: `# Intent router (${config.envName})\n${api.kind === 'http' ? 'HTTP' : 'REST'} API \`${api.name}\`, budget ${config.latencyBudgetMs} ms. Alarms go to the router stack's topic.`,
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'API requests and errors',
        left: [api.metricCount({ period }), api.metricClientError({ period }), api.metricServerError({ period })],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Router latency (ms)',
        left: [routerMetric(METRIC.latency, 'p50'), latencyP99, api.metricLatency({ period, statistic: 'p99' })],
        leftAnnotations: [{ value: config.latencyBudgetMs, label: 'budget' }],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Answers by source',
        left: SOURCES.map((source) => routerMetric(LATENCY_BY_SOURCE[source], 'SampleCount').with({ label: source })),
        stacked: true,
        width: 8,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Latency p99 by source (ms)',
        left: SOURCES.map((source) => routerMetric(LATENCY_BY_SOURCE[source], 'p99').with({ label: source })),
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Degradation',
        left: [
          routerMetric(METRIC.fallbacks),
          routerMetric(METRIC.timeouts),
          routerMetric(METRIC.throttles),
          routerMetric(METRIC.invalidReplies),
          routerMetric(METRIC.accessErrors),
          routerMetric(METRIC.activeModelReadErrors),
        ],
        right: [fallbackPercent],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Cache and tokens',
        left: [routerMetric(METRIC.queries), routerMetric(METRIC.cacheHits)],
        right: [routerMetric(METRIC.inputTokens), routerMetric(METRIC.outputTokens)],
        width: 8,
      }),
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: Object.values(this.alarms), width: 8 }),
    );
    this.addShadowWidgets(config, routerMetric, handoffFailurePercent);
    this.canaryAlarms = this.addCanary(config);
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: `Pipeline runs (${stateMachineName(config.envName)})`,
        left: [
          pipelineMetric('ExecutionsStarted'),
          pipelineMetric('ExecutionsSucceeded'),
          pipelineMetric('ExecutionsFailed'),
          pipelineMetric('ExecutionsTimedOut'),
        ],
        width: 24,
      }),
    );
  }

  /**
   * The canary's four alarms, on the candidate variant only (the router's metrics under {service, Variant}, published
   * only while a canary runs, and the labeller's agreement under {service, Variant}), and a dashboard row per variant.
   * Missing data never breaches: outside a canary there is none, and the alarms rest in OK / INSUFFICIENT_DATA.
   */
  private addCanary(
    config: Pick<
      AppConfig,
      'envName' | 'latencyBudgetMs' | 'minDominantAgreement' | 'canaryMinutes' | 'canaryShadowMinSamples'
    >,
  ): Record<CanaryCheck, cloudwatch.Alarm> {
    const minute = Duration.minutes(1);
    const variantMetric = (name: MetricName, variant: Variant, statistic = 'Sum', period = minute) =>
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName: name,
        dimensionsMap: { service: ROUTER_SERVICE_NAME, [VARIANT_DIMENSION]: variant },
        statistic,
        period,
      });
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
      new cloudwatch.Alarm(this, `Canary${check}`, {
        ...definitions[check],
        alarmName: canaryAlarmName(config.envName, check),
      });
    const alarms: Record<CanaryCheck, cloudwatch.Alarm> = {
      InvalidReplies: alarm('InvalidReplies'),
      Fallbacks: alarm('Fallbacks'),
      LatencyP99: alarm('LatencyP99'),
      ShadowAgreement: alarm('ShadowAgreement'),
    };

    const variants: Variant[] = ['incumbent', 'candidate'];
    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown:
          '## Canary\nDuring a canary the candidate answers a share of queries (by query); these lines exist only ' +
          'then. Its alarms roll it back through the pipeline (`npm run pipeline -- status|promote|rollback`).',
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
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
    );
    this.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({ title: 'Canary alarms', alarms: Object.values(alarms), width: 24 }),
    );
    return alarms;
  }

  /**
   * The production loop next to the router's figures: the router's hand-offs (this stack), the labeller's quality
   * figures and the drift (emitted by the pipeline stack's functions under the same namespace), and the state of the
   * pipeline stack's loop alarms, found by their conventional names.
   */
  private addShadowWidgets(
    config: Pick<AppConfig, 'envName' | 'minDominantAgreement' | 'driftThreshold' | 'shadowSampleRate'>,
    routerMetric: (name: MetricName, statistic?: string) => cloudwatch.Metric,
    handoffFailurePercent: cloudwatch.MathExpression,
  ): void {
    const hour = Duration.hours(1);
    const shadow = (metricName: string, statistic: string, dims: Record<string, string> = {}) =>
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { service: SHADOW_SERVICE_NAME, ...dims },
        statistic,
        period: hour,
      });
    const bySource = (metricName: string, statistic: string) =>
      SHADOW_SOURCES.map((source) => shadow(metricName, statistic, { source }).with({ label: source }));
    const names = shadowAlarmNames(config.envName);
    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown:
          `## Production quality loop\nThe teacher labels ${config.shadowSampleRate * 100}% of live queries off the ` +
          'request path. Agreement is the share of samples where the answer and the teacher agree on the dominant ' +
          'modality (student line: the one alarmed); drift compares the last 24 h with the training set (0 = same, 1 = disjoint).',
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Shadow: dominant agreement with the teacher, by source',
        left: bySource(SHADOW_METRIC.agreement, 'Average'),
        leftAnnotations: [{ value: config.minDominantAgreement, label: 'minDominantAgreement' }],
        leftYAxis: { min: 0, max: 1 },
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Shadow: mean absolute weight error, by source',
        left: bySource(SHADOW_METRIC.weightError, 'Average'),
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Shadow: drift vs. training set (Jensen–Shannon)',
        left: [shadow(SHADOW_METRIC.drift, 'Maximum')],
        leftAnnotations: [{ value: config.driftThreshold, label: 'driftThreshold' }],
        right: [shadow(SHADOW_METRIC.driftSamples, 'Maximum')],
        width: 8,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Shadow: samples labelled and failures',
        left: [
          ...bySource(SHADOW_METRIC.labelled, 'Sum'),
          shadow(SHADOW_METRIC.failures, 'Sum').with({ label: 'label failures' }),
        ],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Shadow: teacher cost (USD per hour)',
        left: [shadow(SHADOW_METRIC.costUsd, 'Sum').with({ label: 'teacher cost' })],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Shadow: router hand-offs',
        left: [routerMetric(METRIC.shadowHandoffs), routerMetric(METRIC.shadowHandoffFailures)],
        right: [handoffFailurePercent],
        width: 8,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({
        title: 'Production loop alarms (pipeline stack)',
        alarms: [
          ...Object.values(names).map((name) => cloudwatch.Alarm.fromAlarmName(this, `Loop-${name}`, name)),
          ...(this.alarms.shadowHandoffs ? [this.alarms.shadowHandoffs] : []),
        ],
        width: 24,
      }),
    );
  }
}
