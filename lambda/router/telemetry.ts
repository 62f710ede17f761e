import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { Variant } from '../core/active-model';
import type { Source } from './contract';
import type { RequestLog } from './http';
import { LATENCY_BY_SOURCE, METRIC, VARIANT_DIMENSION, type MetricName, type RouterTelemetry } from './router';

/** The router's telemetry plus what publishes the per-variant metrics a request recorded (none without a canary). */
export interface PowertoolsTelemetry extends RouterTelemetry, RequestLog {
  /**
   * After the request's own EMF record is published: one record per variant the request saw, under
   * {service, Variant}, each published with `publish`. Nothing is done (or buffered) when no canary is running.
   */
  flushVariants(publish: () => void): void;
}

type Unit = (typeof MetricUnit)[keyof typeof MetricUnit];
type Recorded = [name: MetricName, unit: Unit, value: number];

/** The router's telemetry on Powertools: EMF metrics and structured logs, warnings once per container. */
export function powertoolsTelemetry(logger: Logger, metrics: Metrics): PowertoolsTelemetry {
  const warned = new Set<string>();
  // Per-variant values wait for the end of the request: one EMF record cannot hold a metric under two Variant values
  // (a batch can hold queries of both variants), and the service-only record must stay as the alarms know it.
  const byVariant = new Map<Variant, Recorded[]>();
  const record = (variant: Variant, entry: Recorded) => {
    const list = byVariant.get(variant);
    if (list) list.push(entry);
    else byVariant.set(variant, [entry]);
  };
  return {
    count(name, value = 1, variant) {
      metrics.addMetric(name, MetricUnit.Count, value);
      if (variant) record(variant, [name, MetricUnit.Count, value]);
    },
    latency(source: Source, ms: number, variant) {
      metrics.addMetric(METRIC.latency, MetricUnit.Milliseconds, ms);
      metrics.addMetric(LATENCY_BY_SOURCE[source], MetricUnit.Milliseconds, ms);
      if (variant) {
        record(variant, [METRIC.latency, MetricUnit.Milliseconds, ms]);
        record(variant, [LATENCY_BY_SOURCE[source], MetricUnit.Milliseconds, ms]);
      }
    },
    flushVariants(publish) {
      if (byVariant.size === 0) return;
      for (const [variant, entries] of byVariant) {
        metrics.addDimension(VARIANT_DIMENSION, variant);
        for (const [name, unit, value] of entries) metrics.addMetric(name, unit, value);
        publish();
      }
      byVariant.clear();
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
