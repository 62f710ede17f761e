import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import * as z from 'zod/mini';
import {
  ROUTE_PATH,
  type BatchResponse,
  type ErrorCode,
  type ErrorResponse,
  type RouteResponse,
  type RouteResult,
} from './contract';
import { parseRequest } from './request';
import { METRIC, type Router, type RouterTelemetry } from './router';
import type { ShadowHandoff } from './shadow';

export interface RequestLog {
  info(message: string, details: Record<string, unknown>): void;
  error(message: string, details: Record<string, unknown>): void;
}

export interface HttpHandlerOptions {
  readonly router: Pick<Router, 'route'>;
  readonly telemetry: RouterTelemetry;
  readonly log: RequestLog;
  /** Publishes the request's metrics (called once per invocation, whatever happened). */
  readonly flush: () => void;
  /** Log the query text (off by default: queries may hold personal data). */
  readonly logQueries: boolean;
  /**
   * Share of answered requests whose "routed" line is logged, (0-1]; absent: every one. Each request already has its
   * access log line and its metrics: the line is for reading what the router did, and a sample shows that.
   */
  readonly routedLogSampleRate?: number;
  /** Uniform in [0, 1): the routed-line draw (injected by tests). */
  readonly random?: () => number;
  /** Origins allowed by CORS; empty: no CORS headers. */
  readonly corsAllowOrigins: readonly string[];
  /** Shadow sampling (absent: off). Offered the answers, then settled before the handler returns. */
  readonly shadow?: Pick<ShadowHandoff, 'offer' | 'settle'>;
  readonly now?: () => number;
}

const NOT_A_REQUEST = {
  ok: false,
  status: 400,
  code: 'INVALID_REQUEST',
  message: `the event is not an API Gateway proxy request: send POST ${ROUTE_PATH} through the API`,
} as const;

/**
 * The parts of an API Gateway proxy event the handler reads. The function can also be invoked directly with anything,
 * so the event is checked rather than trusted; a missing field is read as API Gateway would leave it.
 */
const proxyEventSchema = z.object({
  httpMethod: z.optional(z.string()),
  resource: z.optional(z.nullable(z.string())),
  path: z.optional(z.string()),
  headers: z.optional(z.nullable(z.record(z.string(), z.optional(z.string())))),
  body: z.optional(z.nullable(z.string())),
  isBase64Encoded: z.optional(z.nullable(z.boolean())),
  requestContext: z.optional(z.nullable(z.object({ requestId: z.optional(z.string()) }))),
});

/** Takes `unknown`: a direct invocation may send anything, and a malformed event must still get a 4xx. */
export type HttpHandler = (event: unknown, context?: Pick<Context, 'awsRequestId'>) => Promise<APIGatewayProxyResult>;

/**
 * The API's Lambda proxy handler: validate, route, answer. A client's mistake is a 4xx with a JSON error naming the
 * field; routing itself never fails (it degrades to the default weights), so nothing a client sends yields a 5xx.
 */
export function createHttpHandler(options: HttpHandlerOptions): HttpHandler {
  const now = options.now ?? (() => performance.now());
  const random = options.random ?? Math.random;
  const routedLogSampleRate = options.routedLogSampleRate ?? 1;
  return async (rawEvent, context) => {
    const startedAt = now();
    const parsed = proxyEventSchema.safeParse(rawEvent);
    const event = parsed.success ? parsed.data : undefined;
    const requestId = event?.requestContext?.requestId || context?.awsRequestId || 'unknown';
    const headers = corsHeaders(options.corsAllowOrigins, event?.headers);
    try {
      let request: ReturnType<typeof parseRequest>;
      try {
        request = event
          ? parseRequest({
              httpMethod: event.httpMethod ?? '',
              resource: event.resource ?? '',
              path: event.path ?? '',
              headers: event.headers ?? {},
              body: event.body ?? null,
              isBase64Encoded: event.isBase64Encoded ?? false,
            })
          : NOT_A_REQUEST;
      } catch {
        request = NOT_A_REQUEST; // parseRequest does not throw; this guard keeps a malformed event a client error
      }
      if (!request.ok) {
        options.telemetry.count(METRIC.clientErrors);
        options.log.info('request refused', {
          requestId,
          status: request.status,
          code: request.code,
          reason: request.message,
        });
        return errorResponse(request.status, request.code, request.message, headers);
      }
      const { results, variants, promptVersions } = await options.router.route(request.queries, startedAt);
      // Started now, not awaited: the send runs while the reply is built and is settled in `finally`.
      options.shadow?.offer(request.queries, results, promptVersions, variants);
      const latencyMs = Math.max(0, Math.round(now() - startedAt));
      // No draw at a rate of 1: the line is always written and injected random sequences stay the caller's.
      if (routedLogSampleRate >= 1 || random() < routedLogSampleRate) {
        options.log.info('routed', {
          requestId,
          kind: request.kind,
          count: results.length,
          sources: results.map((r) => r.source),
          ...(variants ? { variants } : {}),
          latencyMs,
          ...(options.logQueries ? { queries: request.queries } : {}),
        });
      }
      if (request.kind === 'single') {
        const result = results[0] as RouteResult;
        const body: RouteResponse = { ...result, requestId };
        return json(200, body, headers);
      }
      const body: BatchResponse = { results, latencyMs, requestId };
      return json(200, body, headers);
    } catch (error) {
      // Unreachable by design (routing degrades instead of throwing): if it happens it is our bug, not the client's.
      options.log.error('unexpected failure', {
        requestId,
        error: error instanceof Error ? error.stack : String(error),
      });
      return errorResponse(500, 'INTERNAL_ERROR', `internal error: quote request id ${requestId}`, headers);
    } finally {
      // Bounded (SHADOW_HANDOFF_TIMEOUT_MS) and never throws; its outcome is counted in the metrics flushed next.
      await options.shadow?.settle();
      options.flush();
    }
  };
}

function json(statusCode: number, body: unknown, headers: Record<string, string>): APIGatewayProxyResult {
  return { statusCode, headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) };
}

function errorResponse(
  status: number,
  code: ErrorCode | 'INTERNAL_ERROR',
  message: string,
  headers: Record<string, string>,
): APIGatewayProxyResult {
  const body: ErrorResponse = { error: { code, message } };
  return json(status, body, headers);
}

/** CORS response headers: `*`, or the request's origin when it is one of the allowed ones. */
function corsHeaders(
  allowed: readonly string[],
  requestHeaders: APIGatewayProxyEvent['headers'] | null | undefined,
): Record<string, string> {
  if (allowed.length === 0) return {};
  if (allowed.includes('*')) return { 'Access-Control-Allow-Origin': '*' };
  const origin = Object.entries(requestHeaders ?? {}).find(([k]) => k.toLowerCase() === 'origin')?.[1];
  return origin && allowed.includes(origin)
    ? { 'Access-Control-Allow-Origin': origin, Vary: 'Origin' }
    : { Vary: 'Origin' };
}
