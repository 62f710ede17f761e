import { GetMetricDataCommand, type CloudWatchClient, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import type { CanaryMetrics } from './environment';

/**
 * Silence is not health: what the candidate was actually asked since its canary started. The candidate's rate alarms
 * stay OK under ~10 candidate queries a minute and its agreement alarm needs canaryShadowMinSamples, so a quiet window
 * promotes only with enough of both (canaryDecision).
 */

/** The candidate's queries (router `Queries`, Variant=candidate, Sum) and shadow samples (agreement SampleCount). */
export interface CanaryTraffic {
  readonly queries: number;
  readonly shadowSamples: number;
}

/** What a canary needs before promotion, how long it may wait for it, and what ends it without. */
export interface CanaryRequirements {
  readonly minQueries: number;
  readonly minShadowSamples: number;
  /** canaryMaxMinutes (never less than canaryMinutes). */
  readonly maxMinutes: number;
  readonly inconclusive: 'keepIncumbent' | 'promote';
}

/** True when the traffic meets both minimums. */
export const enoughTraffic = (traffic: CanaryTraffic, req: CanaryRequirements) =>
  traffic.queries >= req.minQueries && traffic.shadowSamples >= req.minShadowSamples;

/** The figures as the summary and report give them. */
export const describeTraffic = (traffic: CanaryTraffic | undefined, req: CanaryRequirements) =>
  `${traffic?.queries ?? 0} candidate queries (canaryMinQueries ${req.minQueries}), ` +
  `${traffic?.shadowSamples ?? 0} shadow samples (canaryShadowMinSamples ${req.minShadowSamples})`;

/**
 * Sums the candidate's queries and shadow samples from the canary's start (its minute) to `now`, by 1-minute periods,
 * with GetMetricData (paged by NextToken). A metric with no datapoint counts 0.
 */
export async function readCanaryTraffic(
  cloudwatch: CloudWatchClient,
  metrics: CanaryMetrics,
  since: Date,
  now: Date,
): Promise<CanaryTraffic> {
  const query = (id: string, metric: CanaryMetrics['queries'], stat: string): MetricDataQuery => ({
    Id: id,
    MetricStat: {
      Metric: {
        Namespace: metrics.namespace,
        MetricName: metric.metricName,
        Dimensions: Object.entries(metric.dimensions).map(([Name, Value]) => ({ Name, Value })),
      },
      Period: 60,
      Stat: stat,
    },
    ReturnData: true,
  });
  const start = new Date(Math.floor(since.getTime() / 60_000) * 60_000);
  const end = new Date(Math.max(now.getTime(), start.getTime() + 60_000));
  const totals = { queries: 0, shadowSamples: 0 };
  let nextToken: string | undefined;
  do {
    const out = await cloudwatch.send(
      new GetMetricDataCommand({
        MetricDataQueries: [
          query('queries', metrics.queries, 'Sum'),
          query('shadowSamples', metrics.shadowSamples, 'SampleCount'),
        ],
        StartTime: start,
        EndTime: end,
        ScanBy: 'TimestampAscending',
        NextToken: nextToken,
      }),
    );
    for (const result of out.MetricDataResults ?? []) {
      const sum = (result.Values ?? []).reduce((a, b) => a + b, 0);
      if (result.Id === 'queries') totals.queries += sum;
      if (result.Id === 'shadowSamples') totals.shadowSamples += sum;
    }
    nextToken = out.NextToken;
  } while (nextToken);
  return totals;
}
