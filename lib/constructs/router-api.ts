import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { routerEnvironment } from '../../lambda/router/settings';
import type { ApiType, AppConfig } from '../config';
import { Function } from './function';
import { grantRouterAccess, shadowQueueUrl } from './router-grants';
import { RouterHttpApi } from './router-http-api';
import { accountLoggingRole, routerRestApi } from './router-rest-api';

// Kept importable from here (test/destroy.test.ts, test/router/openapi.test.ts).
export { publishedJsonSchemas, STAGE_NAME } from './router-rest-api';

/** Powertools service name of the router: the `service` dimension of its metrics. */
export const ROUTER_SERVICE_NAME = 'intent-router';

/**
 * What the monitoring reads of either kind of API: RestApi and HttpApi both have these (their metric names differ:
 * 5XXError/4XXError on a REST API, 5xx/4xx on an HTTP API).
 */
export interface RouterApiMetrics {
  readonly kind: ApiType;
  /** The API's name, as the console lists it. */
  readonly name: string;
  metricCount(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
  metricClientError(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
  metricServerError(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
  metricLatency(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
}

export interface RouterApiProps {
  readonly config: AppConfig;
  /** The active-model parameter the router reads (and the pipeline's promote step writes). */
  readonly activeModel: ssm.IStringParameter;
}

/**
 * The routing API in front of the router Lambda, with least-privilege access to Bedrock and the active-model
 * parameter: an HTTP API (apiType=http: IAM auth, stage throttling, access logs) or a REST API (apiType=rest: IAM or
 * API-key auth, request models and validator, stage throttling, access and execution logs, X-Ray when routerTracing is
 * active).
 */
export class RouterApi extends Construct {
  readonly apiType: ApiType;
  /** Base URL of the API, ending in "/": POST <url>v1/route. */
  readonly url: string;
  readonly metrics: RouterApiMetrics;
  /** apiType=rest only. */
  readonly restApi?: apigw.RestApi;
  /** apiType=http only. */
  readonly httpApi?: RouterHttpApi;
  readonly router: Function;
  readonly accessLogs: logs.LogGroup;
  /** apiType=rest only: an HTTP API has no execution logs. */
  readonly executionLogs?: logs.LogGroup;
  readonly apiKey?: apigw.IApiKey;
  readonly usagePlan?: apigw.UsagePlan;

  constructor(scope: Construct, id: string, props: RouterApiProps) {
    super(scope, id);
    const { config } = props;

    this.router = new Function(this, 'Router', {
      entry: 'router/handler.ts',
      description: 'Routes video search queries to modality weights with the promoted student',
      serviceName: ROUTER_SERVICE_NAME,
      logRetentionDays: config.logRetentionDays,
      retainLogs: config.retainData,
      memorySize: config.routerMemoryMb,
      // PassThrough: traced when the caller's request is sampled, without Lambda's own 1 req/s + 5 % sampling.
      tracing: config.routerTracing === 'active' ? lambda.Tracing.ACTIVE : lambda.Tracing.PASS_THROUGH,
      platformLogs: config.routerPlatformLogs,
      // The budget bounds the model calls; the rest is slack for a cold start.
      timeout: Duration.seconds(Math.ceil(config.latencyBudgetMs / 1000) + 5),
      environment: routerEnvironment({
        activeModelParameter: props.activeModel.parameterName,
        parameterCacheTtlSeconds: config.parameterCacheTtlSeconds,
        latencyBudgetMs: config.latencyBudgetMs,
        fallbackModelId: config.fallbackModelId,
        defaultWeights: config.defaultWeights,
        cacheSize: config.cacheSize,
        cacheTtlSeconds: config.cacheTtlSeconds,
        logQueries: config.logQueries,
        routedLogSampleRate: config.routerLogSampleRate,
        maxTokens: config.routerMaxTokens,
        corsAllowOrigins: config.corsAllowOrigins,
        ...(config.shadowSampleRate > 0
          ? {
              shadow: {
                sampleRate: config.shadowSampleRate,
                queueUrl: shadowQueueUrl(Stack.of(this), config.envName),
                canarySampleRate: config.canaryShadowSampleRate,
              },
            }
          : {}),
      }),
    });
    grantRouterAccess(this.router.function, props);

    // Who called and how it went: kept with the rest of the environment's data when retainData is true.
    const logRemovalPolicy = config.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: config.logRetentionDays,
      removalPolicy: logRemovalPolicy,
    });
    this.apiType = config.apiType;
    if (config.apiType === 'http') {
      const http = new RouterHttpApi(this, 'HttpApi', {
        config,
        handler: this.router.function,
        accessLogs: this.accessLogs,
      });
      this.httpApi = http;
      this.url = http.url;
      this.metrics = {
        kind: 'http',
        name: http.api.httpApiName ?? `intent-router-${config.envName}`,
        ...metricsOf(http.api),
      };
      if (config.apiGatewayCloudWatchRole) accountLoggingRole(this);
      return;
    }

    const rest = routerRestApi(this, {
      config,
      handler: this.router.function,
      accessLogs: this.accessLogs,
      logRemovalPolicy,
    });
    this.restApi = rest.api;
    this.executionLogs = rest.executionLogs;
    if (rest.usagePlan) this.usagePlan = rest.usagePlan;
    if (rest.apiKey) this.apiKey = rest.apiKey;
    this.url = rest.api.url;
    this.metrics = { kind: 'rest', name: rest.api.restApiName, ...metricsOf(rest.api) };
  }
}

/** The API's metric methods, bound to it (RestApi and HttpApi have the same four). */
function metricsOf(api: Omit<RouterApiMetrics, 'kind' | 'name'>): Omit<RouterApiMetrics, 'kind' | 'name'> {
  return {
    metricCount: (props) => api.metricCount(props),
    metricClientError: (props) => api.metricClientError(props),
    metricServerError: (props) => api.metricServerError(props),
    metricLatency: (props) => api.metricLatency(props),
  };
}
