import * as z from 'zod/mini';
import { MODALITIES } from '../core/modality';

/**
 * The router API's contract, defined once: the Lambda validates requests with these schemas, the API construct
 * derives the API Gateway request/response models from them (`z.toJSONSchema`, draft-04) and a test keeps
 * docs/openapi.json in step with the same derived schemas.
 *
 * zod/mini, not classic zod: the same schemas and JSON Schema output, but a tree-shakable build that keeps ~400 KiB
 * (and ~25 ms of module loading) out of the router's cold start (npm run bench:router). Descriptions and titles are
 * registered in zod's global registry, which is where `z.toJSONSchema` reads them from.
 */

export const ROUTE_PATH = '/v1/route';
export const BATCH_PATH = '/v1/route/batch';

/**
 * Longest query accepted, in characters: Unicode code points, the unit zod's `maxLength` counts (and JSON Schema's:
 * RFC 7159 characters), so an emoji is one character although it is two UTF-16 code units. Messages measure a query
 * with queryLength, the same count.
 */
export const MAX_QUERY_LENGTH = 512;

/**
 * A query's length in the unit of MAX_QUERY_LENGTH: code points, as zod's maxLength counts them (a lone surrogate
 * counts one, as there). Not `z.util.codePointLength`: reaching into that namespace bundles all of zod's utils (~9 KiB).
 */
export const queryLength = (query: string): number => [...query].length;
/** Most queries in one batch request. */
export const MAX_BATCH_QUERIES = 25;

export const SOURCES = ['student', 'fallback-model', 'default', 'cache'] as const;
export type Source = (typeof SOURCES)[number];

/** The `model` of an answer given by the static default weights (no model was asked). */
export const DEFAULT_MODEL = 'default-weights';

/** Documents a schema: the description (and title) its JSON Schema carries. */
const documented = <T extends z.ZodMiniType>(schema: T, meta: { description: string; title?: string }): T => {
  z.globalRegistry.add(schema, meta);
  return schema;
};

/**
 * A query: at most MAX_QUERY_LENGTH characters and not blank; surrounding whitespace is trimmed before routing (the
 * length limit applies to the text as sent, so API Gateway's model and the Lambda agree on it).
 */
export const querySchema = documented(z.string().check(z.maxLength(MAX_QUERY_LENGTH), z.trim(), z.minLength(1)), {
  description: `The video search query: 1-${MAX_QUERY_LENGTH} characters, not blank (surrounding whitespace is ignored).`,
});

export const routeRequestSchema = documented(z.strictObject({ query: querySchema }), {
  title: 'RouteRequest',
  description: 'One query to route.',
});

export const batchRequestSchema = documented(
  z.strictObject({
    queries: documented(z.array(querySchema).check(z.minLength(1), z.maxLength(MAX_BATCH_QUERIES)), {
      description: `1-${MAX_BATCH_QUERIES} queries, answered in the same order.`,
    }),
  }),
  { title: 'BatchRouteRequest', description: 'Several queries to route at once.' },
);

const weight = z.number().check(z.minimum(0), z.maximum(1));
export const weightsSchema = documented(
  z.strictObject({ visual: weight, audio: weight, transcription: weight, metadata: weight }),
  { description: 'How much each modality should count: each in [0,1], summing to 1 (two decimals).' },
);

const requestIdSchema = documented(z.string(), {
  description: 'The request id (quote it when reporting a problem).',
});

const routeResultShape = {
  weights: weightsSchema,
  dominant: documented(z.enum(MODALITIES), { description: 'The modality with the largest weight.' }),
  model: documented(z.string(), {
    description: `The model that answered (deployment ARN or model id), or "${DEFAULT_MODEL}" for the static default.`,
  }),
  source: documented(z.enum(SOURCES), {
    description:
      'Who answered: the promoted student, the fallback model, the static default weights, or the cache (a repeat of a recent answer).',
  }),
  latencyMs: documented(z.int().check(z.minimum(0)), {
    description: 'Time the router spent on this query, in milliseconds.',
  }),
};

export const routeResultSchema = documented(z.strictObject(routeResultShape), {
  title: 'RouteResult',
  description: 'The routing weights for one query.',
});

export const routeResponseSchema = documented(z.strictObject({ ...routeResultShape, requestId: requestIdSchema }), {
  title: 'RouteResponse',
  description: 'The answer to POST /v1/route.',
});

export const batchResponseSchema = documented(
  z.strictObject({
    results: documented(z.array(routeResultSchema), {
      description: 'One result per query, in the order of the request.',
    }),
    latencyMs: documented(z.int().check(z.minimum(0)), {
      description: 'Time the router spent on the whole batch, in milliseconds.',
    }),
    requestId: requestIdSchema,
  }),
  { title: 'BatchRouteResponse', description: 'The answer to POST /v1/route/batch.' },
);

export const errorResponseSchema = documented(
  z.strictObject({
    error: z.strictObject({
      code: documented(z.string(), {
        description: 'Machine-readable error code, e.g. INVALID_REQUEST or THROTTLED.',
      }),
      message: documented(z.string(), {
        description: 'What was wrong and how to fix it; names the field at fault.',
      }),
    }),
  }),
  { title: 'Error', description: 'Every error of the API, from the Lambda or API Gateway.' },
);

export type RouteRequest = z.output<typeof routeRequestSchema>;
export type RouteResult = z.output<typeof routeResultSchema>;
export type RouteResponse = z.output<typeof routeResponseSchema>;
export type BatchResponse = z.output<typeof batchResponseSchema>;
export type ErrorResponse = z.output<typeof errorResponseSchema>;

/** Error codes the Lambda answers with (API Gateway's own use its response types, e.g. BAD_REQUEST_BODY). */
export type ErrorCode =
  'INVALID_JSON' | 'UNSUPPORTED_CONTENT_TYPE' | 'INVALID_REQUEST' | 'NOT_FOUND' | 'METHOD_NOT_ALLOWED';

/** The schemas the API publishes, by their component name (the OpenAPI document and the API Gateway models). */
export const PUBLISHED_SCHEMAS = {
  RouteRequest: routeRequestSchema,
  BatchRouteRequest: batchRequestSchema,
  RouteResponse: routeResponseSchema,
  BatchRouteResponse: batchResponseSchema,
  Error: errorResponseSchema,
} as const;
export type PublishedSchemaName = keyof typeof PUBLISHED_SCHEMAS;
