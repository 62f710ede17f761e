import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { Variant } from '../../lambda/core/active-model';
import { METRIC, VARIANT_DIMENSION, type MetricName } from '../../lambda/router/router';
import { ROUTER_SERVICE_NAME, type RouterApiMetrics } from './router-api';

/** The namespace the house Function sets for Powertools metrics. */
export const METRICS_NAMESPACE = 'DistilledIntentRouter';

/** The router's figures that both its alarms and its dashboard show, over 5-minute periods. */
export interface RouterFigures {
  readonly period: Duration;
  /** One of the router's Powertools metrics (under {service}). */
  readonly routerMetric: (name: MetricName, statistic?: string) => cloudwatch.Metric;
  readonly fallbackPercent: cloudwatch.MathExpression;
  readonly latencyP99: cloudwatch.Metric;
  /** The share of API requests answered 5xx, whichever kind of API. */
  readonly serverErrorRate: cloudwatch.IMetric;
  readonly handoffFailurePercent: cloudwatch.MathExpression;
}

export function routerFigures(api: RouterApiMetrics): RouterFigures {
  const period = Duration.minutes(5);
  const routerMetric = (name: MetricName, statistic = 'Sum') =>
    new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName: name,
      dimensionsMap: { service: ROUTER_SERVICE_NAME },
      statistic,
      period,
    });
  return {
    period,
    routerMetric,
    fallbackPercent: new cloudwatch.MathExpression({
      label: 'Fallback rate (%)',
      expression: 'IF(queries > 0, 100 * fallbacks / queries, 0)',
      usingMetrics: { fallbacks: routerMetric(METRIC.fallbacks), queries: routerMetric(METRIC.queries) },
      period,
    }),
    latencyP99: routerMetric(METRIC.latency, 'p99'),
    // A REST API's 5XXError is 0 or 1 per request, so its average is the rate (as before); an HTTP API's 5xx is given
    // as the share of its request count, which holds whatever the metric's per-request values are.
    serverErrorRate:
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
          }),
    handoffFailurePercent: new cloudwatch.MathExpression({
      label: 'Shadow hand-off failures (%)',
      expression: 'IF(sent + failed > 0, 100 * failed / (sent + failed), 0)',
      usingMetrics: {
        sent: routerMetric(METRIC.shadowHandoffs),
        failed: routerMetric(METRIC.shadowHandoffFailures),
      },
      period,
    }),
  };
}

/** One of the router's metrics for one variant (published only while a canary runs), by 1-minute periods by default. */
export const variantMetric = (name: MetricName, variant: Variant, statistic = 'Sum', period = Duration.minutes(1)) =>
  new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName: name,
    dimensionsMap: { service: ROUTER_SERVICE_NAME, [VARIANT_DIMENSION]: variant },
    statistic,
    period,
  });
