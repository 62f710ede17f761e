import type { ApiType } from '../config';

/**
 * The API's access log: one JSON line per request, never the body, with what an operator reads to answer "who called,
 * what, how did it go, how long did it take, and why did it fail": request id, time, method, route, status, latency
 * and integration (router) latency, the caller (its IAM ARN, or its API key), and the error type and message. Nothing
 * else: each field is paid for on every request (CloudWatch Logs ingestion), and the dropped ones (extended request
 * id, response length, source IP, X-Ray trace id, the principal's id, which the ARN names) are either in the router's
 * own logs and metrics or rarely read.
 * The keys are the same on both kinds of API where the value is, so one Logs Insights query reads either.
 */
export const ACCESS_LOG_FIELDS = {
  rest: {
    requestId: '$context.requestId',
    requestTime: '$context.requestTime',
    httpMethod: '$context.httpMethod',
    resourcePath: '$context.resourcePath',
    status: '$context.status',
    responseLatency: '$context.responseLatency',
    integrationLatency: '$context.integration.latency',
    userArn: '$context.identity.userArn',
    // The caller's identity under apiAuth=apiKey.
    apiKeyId: '$context.identity.apiKeyId',
    errorType: '$context.error.responseType',
    errorMessage: '$context.error.message',
    // Why the request validator refused a body (BAD_REQUEST_BODY).
    validationError: '$context.error.validationErrorString',
  },
  http: {
    requestId: '$context.requestId',
    requestTime: '$context.requestTime',
    httpMethod: '$context.httpMethod',
    // "POST /v1/route": the matched route ("-" when none matched).
    routeKey: '$context.routeKey',
    status: '$context.status',
    responseLatency: '$context.responseLatency',
    integrationLatency: '$context.integrationLatency',
    userArn: '$context.identity.userArn',
    errorType: '$context.error.responseType',
    errorMessage: '$context.error.message',
    // An HTTP API has no execution logs: a failed Lambda invocation (a 5xx) is explained here only.
    integrationError: '$context.integrationErrorMessage',
  },
} as const satisfies Record<ApiType, Record<string, string>>;

/** The access log format of `kind`, as the stage takes it. */
export const accessLogFormat = (kind: ApiType): string => JSON.stringify(ACCESS_LOG_FIELDS[kind]);
