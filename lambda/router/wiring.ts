import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import type { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { ActiveTarget, readRetryFor } from './active-target';
import { AnswerCache } from './cache';
import { createHttpHandler } from './http';
import { METRIC, Router } from './router';
import type { RouterSettings } from './settings';
import { powertoolsTelemetry } from './telemetry';

export interface RouterDependencies {
  readonly settings: RouterSettings;
  readonly bedrock: BedrockRuntimeClient;
  readonly parameters: SSMProvider;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Called at the end of each request (the deployed handler publishes the EMF metrics). */
  readonly flush: () => void;
}

/** The router's object graph, built once: the deployed handler and the handler tests both use it. */
export function buildRouterHandler({ settings, bedrock, parameters, logger, metrics, flush }: RouterDependencies) {
  const telemetry = powertoolsTelemetry(logger, metrics);
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
    flush,
    logQueries: settings.logQueries,
    corsAllowOrigins: settings.corsAllowOrigins,
  });
}
