import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { Source } from './contract';
import type { RequestLog } from './http';
import { LATENCY_BY_SOURCE, METRIC, type RouterTelemetry } from './router';

/** The router's telemetry on Powertools: EMF metrics and structured logs, warnings once per container. */
export function powertoolsTelemetry(logger: Logger, metrics: Metrics): RouterTelemetry & RequestLog {
  const warned = new Set<string>();
  return {
    count(name, value = 1) {
      metrics.addMetric(name, MetricUnit.Count, value);
    },
    latency(source: Source, ms: number) {
      metrics.addMetric(METRIC.latency, MetricUnit.Milliseconds, ms);
      metrics.addMetric(LATENCY_BY_SOURCE[source], MetricUnit.Milliseconds, ms);
    },
    warnOnce(key, message, details) {
      if (warned.has(key)) return;
      warned.add(key);
      logger.warn(message, { ...details, loggedOncePerContainer: true });
    },
    debug(message, details) {
      logger.debug(message, details);
    },
    info(message, details) {
      logger.info(message, details);
    },
    error(message, details) {
      logger.error(message, details);
    },
  };
}
