import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import type { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { ActiveTarget, readRetryFor } from './active-target';
import { AnswerCache } from './cache';
import { createHttpHandler } from './http';
import { METRIC, Router } from './router';
import type { RouterSettings } from './settings';
import { ShadowHandoff, sqsShadowSend } from './shadow';
import { powertoolsTelemetry } from './telemetry';

export interface RouterDependencies {
  readonly settings: RouterSettings;
  readonly bedrock: BedrockRuntimeClient;
  readonly parameters: SSMProvider;
  /** The shadow queue's client; only used (and only needed) when settings.shadow is set. */
  readonly sqs?: SQSClient;
  /** The sampling draw, uniform in [0, 1) (tests inject a seeded one). */
  readonly random?: () => number;
  /** The wall clock that stamps shadow samples (tests fix it: a sample's time decides its record's day). */
  readonly clock?: () => Date;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Called at the end of each request (the deployed handler publishes the EMF metrics). */
  readonly flush: () => void;
}

/** The router's object graph, built once: the deployed handler and the handler tests both use it. */
export function buildRouterHandler({
  settings,
  bedrock,
  parameters,
  sqs,
  random,
  clock,
  logger,
  metrics,
  flush,
}: RouterDependencies) {
  const telemetry = powertoolsTelemetry(logger, metrics);
  if (settings.shadow && !sqs) throw new Error('shadow sampling is on (SHADOW_SAMPLE_RATE > 0) but no SQS client');
  const shadow =
    settings.shadow && sqs
      ? new ShadowHandoff({
          sampleRate: settings.shadow.sampleRate,
          ...(settings.shadow.canarySampleRate !== undefined
            ? { canarySampleRate: settings.shadow.canarySampleRate }
            : {}),
          send: sqsShadowSend(sqs, settings.shadow.queueUrl),
          telemetry,
          ...(random ? { random } : {}),
          ...(clock ? { clock } : {}),
        })
      : undefined;
  const router = new Router({
    bedrock,
    target: new ActiveTarget({
      read: () => parameters.get(settings.activeModelParameter, { maxAge: settings.parameterCacheTtlSeconds }),
      parameterName: settings.activeModelParameter,
      fallbackModelId: settings.fallbackModelId,
      retry: readRetryFor(settings.parameterCacheTtlSeconds),
      onReadError: () => telemetry.count(METRIC.activeModelReadErrors),
      warnOnce: telemetry.warnOnce,
    }),
    cache: new AnswerCache(settings.cacheSize, settings.cacheTtlSeconds),
    telemetry,
    latencyBudgetMs: settings.latencyBudgetMs,
    defaultWeights: settings.defaultWeights,
    maxTokens: settings.maxTokens,
  });
  return createHttpHandler({
    router,
    telemetry,
    log: telemetry,
    // The request's record first (service-only dimensions, as the existing alarms read it), then per variant.
    flush: () => {
      flush();
      telemetry.flushVariants(flush);
    },
    logQueries: settings.logQueries,
    ...(settings.routedLogSampleRate !== undefined ? { routedLogSampleRate: settings.routedLogSampleRate } : {}),
    corsAllowOrigins: settings.corsAllowOrigins,
    ...(shadow ? { shadow } : {}),
  });
}
