import type { APIGatewayProxyEvent } from 'aws-lambda';
import type { core } from 'zod/mini';
import {
  BATCH_PATH,
  batchRequestSchema,
  MAX_BATCH_QUERIES,
  MAX_QUERY_LENGTH,
  queryLength,
  ROUTE_PATH,
  routeRequestSchema,
  type ErrorCode,
} from './contract';

export type ParsedRequest =
  | { readonly ok: true; readonly kind: 'single' | 'batch'; readonly queries: readonly string[] }
  | { readonly ok: false; readonly status: 400 | 404 | 405; readonly code: ErrorCode; readonly message: string };

type RequestEvent = Pick<
  APIGatewayProxyEvent,
  'httpMethod' | 'resource' | 'path' | 'headers' | 'body' | 'isBase64Encoded'
>;

const invalid = (code: ErrorCode, message: string): ParsedRequest => ({ ok: false, status: 400, code, message });

/**
 * Validates a request as it reaches the Lambda (API Gateway has validated the body already, but the function may be
 * invoked directly and is the last line): method, path, content type, JSON, then the body against the contract.
 * Anything wrong is a 400 (or 404/405 for an unknown route) whose message names the field and the fix; never a throw.
 */
export function parseRequest(event: RequestEvent): ParsedRequest {
  const route = event.resource || event.path;
  const kind = route === ROUTE_PATH ? 'single' : route === BATCH_PATH ? 'batch' : undefined;
  if (!kind) {
    return {
      ok: false,
      status: 404,
      code: 'NOT_FOUND',
      message: `no route ${JSON.stringify(route)}: use POST ${ROUTE_PATH} or POST ${BATCH_PATH}`,
    };
  }
  if (event.httpMethod !== 'POST') {
    return { ok: false, status: 405, code: 'METHOD_NOT_ALLOWED', message: `use POST ${route}` };
  }

  const contentType = headerValue(event.headers, 'content-type');
  // A missing content type is read as JSON, as API Gateway does.
  if (contentType !== undefined && !/^application\/json\s*(;|$)/i.test(contentType.trim())) {
    return invalid(
      'UNSUPPORTED_CONTENT_TYPE',
      `Content-Type ${JSON.stringify(contentType)} is not supported: send the body as JSON with "Content-Type: application/json"`,
    );
  }

  let text = event.body ?? '';
  if (event.isBase64Encoded) text = Buffer.from(text, 'base64').toString('utf8');
  if (text.trim() === '') return invalid('INVALID_REQUEST', `the body is empty: send ${example(kind)}`);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return invalid('INVALID_JSON', `the body is not valid JSON: send ${example(kind)}`);
  }

  if (kind === 'single') {
    const parsed = routeRequestSchema.safeParse(body);
    return parsed.success
      ? { ok: true, kind, queries: [parsed.data.query] }
      : invalid('INVALID_REQUEST', describe(parsed.error, kind, body));
  }
  const parsed = batchRequestSchema.safeParse(body);
  return parsed.success
    ? { ok: true, kind, queries: parsed.data.queries }
    : invalid('INVALID_REQUEST', describe(parsed.error, kind, body));
}

function headerValue(headers: APIGatewayProxyEvent['headers'] | null | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === name) return value ?? undefined;
  return undefined;
}

const example = (kind: 'single' | 'batch') =>
  kind === 'single' ? '{"query": "dog barking loudly"}' : '{"queries": ["dog barking loudly", "Taylor Swift"]}';

/** One message for the first problem, naming the field (`query`, `queries[3]`), what was sent and what is allowed. */
function describe(error: core.$ZodError, kind: 'single' | 'batch', body: unknown): string {
  const issue = error.issues[0];
  if (!issue) return `the body is invalid: send ${example(kind)}`;
  if (issue.path.length === 0) {
    if (issue.code === 'unrecognized_keys') {
      const keys = issue.keys.map((k) => JSON.stringify(k)).join(', ');
      return `unknown field${issue.keys.length > 1 ? 's' : ''} ${keys}: send only "${kind === 'single' ? 'query' : 'queries'}"`;
    }
    return `the body must be a JSON object: send ${example(kind)}`;
  }
  const field = issue.path.reduce<string>(
    (name, key) => (typeof key === 'number' ? `${name}[${key}]` : name ? `${name}.${String(key)}` : String(key)),
    '',
  );
  const rule =
    field === 'queries'
      ? `must be an array of 1-${MAX_BATCH_QUERIES} query strings`
      : `must be a string of 1-${MAX_QUERY_LENGTH} characters, not blank`;
  const value = valueAt(body, issue.path);
  if (value === undefined) return `"${field}" is missing: it ${rule}`;
  return `"${field}" is invalid (got ${describeValue(value)}): it ${rule}`;
}

function valueAt(body: unknown, path: readonly PropertyKey[]): unknown {
  let current = body;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return value.trim() === '' ? 'a blank string' : `${queryLength(value)} characters`;
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return value === null ? 'null' : `a ${typeof value}`;
}
