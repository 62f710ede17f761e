import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { Construct } from 'constructs';
import { SHADOW_ANSWERED_BY_DIMENSION, SHADOW_METRIC, SHADOW_SOURCES, type AnsweredBy } from '../../lambda/core/shadow';
import { SOURCES } from '../../lambda/router/contract';
import { LATENCY_BY_SOURCE, METRIC } from '../../lambda/router/router';
import type { AppConfig } from '../config';
import { shadowAlarmNames, stateMachineName } from '../naming';
import type { RouterAlarms } from './router-alarms';
import type { RouterApiMetrics } from './router-api';
import { METRICS_NAMESPACE, type RouterFigures } from './router-metrics';
import { SHADOW_SERVICE_NAME } from './shadow-loop';

export interface RouterDashboardProps {
  readonly config: Pick<
    AppConfig,
    'envName' | 'latencyBudgetMs' | 'minDominantAgreement' | 'driftThreshold' | 'shadowSampleRate'
  >;
  readonly api: RouterApiMetrics;
  readonly figures: RouterFigures;
  readonly alarms: RouterAlarms;
  /** The canary's rows (router-canary-monitoring.ts), shown between the production loop and the pipeline runs. */
  readonly canaryRows: readonly (readonly cloudwatch.IWidget[])[];
}

/**
 * The environment's one dashboard (`intent-router-<envName>`), created in `scope` (the RouterMonitoring construct): the
 * API and the router, the production quality loop, the canary, the pipeline's runs.
 */
export function routerDashboard(scope: Construct, props: RouterDashboardProps): cloudwatch.Dashboard {
  const { config, api, figures } = props;
  const { period, routerMetric, fallbackPercent, latencyP99 } = figures;
  const dashboard = new cloudwatch.Dashboard(scope, 'Dashboard', {
    dashboardName: `intent-router-${config.envName}`,
    defaultInterval: Duration.hours(24),
  });
  dashboard.addWidgets(
    new cloudwatch.TextWidget({
      markdown: `# Intent router (${config.envName})\n${api.kind === 'http' ? 'HTTP' : 'REST'} API \`${api.name}\`, budget ${config.latencyBudgetMs} ms. Alarms go to the router stack's topic.`,
      width: 24,
      height: 2,
    }),
  );
  dashboard.addWidgets(
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
  dashboard.addWidgets(
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
    new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: Object.values(props.alarms), width: 8 }),
  );
  addShadowRows(scope, dashboard, props);
  for (const row of props.canaryRows) dashboard.addWidgets(...row);
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: `Pipeline runs (${stateMachineName(config.envName)})`,
      left: [
        pipelineMetric(scope, config.envName, 'ExecutionsStarted'),
        pipelineMetric(scope, config.envName, 'ExecutionsSucceeded'),
        pipelineMetric(scope, config.envName, 'ExecutionsFailed'),
        pipelineMetric(scope, config.envName, 'ExecutionsTimedOut'),
      ],
      width: 24,
    }),
  );
  return dashboard;
}

/**
 * The production loop next to the router's figures: the router's hand-offs (this stack), the labeller's quality
 * figures and the drift (emitted by the pipeline stack's functions under the same namespace), and the state of the
 * pipeline stack's loop alarms, found by their conventional names.
 */
function addShadowRows(scope: Construct, dashboard: cloudwatch.Dashboard, props: RouterDashboardProps): void {
  const { config } = props;
  const { routerMetric, handoffFailurePercent } = props.figures;
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
  const answerers = Object.entries(ANSWERED_BY_LABELS);
  const names = shadowAlarmNames(config.envName);
  dashboard.addWidgets(
    new cloudwatch.TextWidget({
      markdown:
        `## Production quality loop\nThe teacher labels ${config.shadowSampleRate * 100}% of live queries off the ` +
        'request path. Agreement is the share of samples where the answer and the teacher agree on the dominant ' +
        'modality: by source, and by who answered (a cached answer counts as the model that gave it; the student ' +
        'line is the one alarmed). Drift compares the last 24 h with the live mix the promoted model was trained on ' +
        '(0 = same, 1 = disjoint).',
      width: 24,
      height: 2,
    }),
  );
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: 'Shadow: dominant agreement with the teacher, by source',
      left: bySource(SHADOW_METRIC.agreement, 'Average'),
      leftAnnotations: [{ value: config.minDominantAgreement, label: 'minDominantAgreement' }],
      leftYAxis: { min: 0, max: 1 },
      width: 8,
    }),
    new cloudwatch.GraphWidget({
      title: 'Shadow: dominant agreement with the teacher, by who answered',
      left: answerers.map(([by, label]) =>
        shadow(SHADOW_METRIC.agreement, 'Average', { [SHADOW_ANSWERED_BY_DIMENSION]: by }).with({ label }),
      ),
      leftAnnotations: [{ value: config.minDominantAgreement, label: 'minDominantAgreement' }],
      leftYAxis: { min: 0, max: 1 },
      width: 8,
    }),
    new cloudwatch.GraphWidget({
      title: 'Shadow: mean absolute weight error, by source',
      left: bySource(SHADOW_METRIC.weightError, 'Average'),
      width: 8,
    }),
  );
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: 'Shadow: drift vs. the live mix at training (Jensen–Shannon)',
      left: [shadow(SHADOW_METRIC.drift, 'Maximum')],
      leftAnnotations: [{ value: config.driftThreshold, label: 'driftThreshold' }],
      right: [shadow(SHADOW_METRIC.driftSamples, 'Maximum')],
      width: 6,
    }),
    new cloudwatch.GraphWidget({
      title: 'Shadow: samples labelled and failures',
      left: [
        ...bySource(SHADOW_METRIC.labelled, 'Sum'),
        shadow(SHADOW_METRIC.failures, 'Sum').with({ label: 'label failures' }),
      ],
      width: 6,
    }),
    new cloudwatch.GraphWidget({
      title: 'Shadow: teacher cost (USD per hour)',
      left: [shadow(SHADOW_METRIC.costUsd, 'Sum').with({ label: 'teacher cost' })],
      width: 6,
    }),
    new cloudwatch.GraphWidget({
      title: 'Shadow: router hand-offs',
      left: [routerMetric(METRIC.shadowHandoffs), routerMetric(METRIC.shadowHandoffFailures)],
      right: [handoffFailurePercent],
      width: 6,
    }),
  );
  dashboard.addWidgets(
    new cloudwatch.AlarmStatusWidget({
      title: 'Production loop alarms (pipeline stack)',
      alarms: [
        ...Object.values(names).map((name) => cloudwatch.Alarm.fromAlarmName(scope, `Loop-${name}`, name)),
        ...(props.alarms.shadowHandoffs ? [props.alarms.shadowHandoffs] : []),
      ],
      width: 24,
    }),
  );
}

/**
 * Who answered a shadow-labelled query (the labeller's AnsweredBy dimension, lambda/core/shadow.ts), as the dashboard
 * names it: a cached answer is credited to the model that gave it, so the student's line is what the agreement alarm
 * reads. A Record, so a new kind of answerer cannot be left off the graph.
 */
const ANSWERED_BY_LABELS: Readonly<Record<AnsweredBy, string>> = {
  student: 'student (fresh or cached; alarmed)',
  'fallback-model': 'fallback model',
  default: 'default weights',
};

/** A Step Functions metric of the environment's state machine (named by convention: the stacks share no exports). */
function pipelineMetric(scope: Construct, envName: string, metricName: string): cloudwatch.Metric {
  const stateMachineArn = Stack.of(scope).formatArn({
    service: 'states',
    resource: 'stateMachine',
    resourceName: stateMachineName(envName),
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
  return new cloudwatch.Metric({
    namespace: 'AWS/States',
    metricName,
    dimensionsMap: { StateMachineArn: stateMachineArn },
    statistic: 'Sum',
    period: Duration.hours(1),
  });
}
