import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { BATCH_PATH, errorResponseSchema, ROUTE_PATH } from '../../lambda/router/contract';
import { buildRouterHandler } from '../../lambda/router/wiring';
import { publishedJsonSchemas } from '../../lib/constructs/router-rest-api';
import { AUDIO, parameterReply, PROMOTED, ROUTER_SETTINGS, studentReply } from '../helpers/router-fixtures';

/**
 * The HTTP API has no request models: every body reaches the router. For each body the REST API's validator refused
 * (its request models, the published JSON Schemas), the router must answer what the API promises: 400 in the error
 * shape, without asking a model. The bodies are checked against the deployed schemas here, so a body the REST model
 * would let through cannot hide in the list.
 */

type JsonSchema = Record<string, unknown>;
/** The keywords the request models use; the checker below implements exactly these (draft-04 semantics). */
const KEYWORDS = new Set([
  '$schema',
  'title',
  'description',
  'type',
  'properties',
  'required',
  'additionalProperties',
  'minLength',
  'maxLength',
  'items',
  'minItems',
  'maxItems',
]);

function keywordsOf(schema: JsonSchema): string[] {
  return Object.entries(schema).flatMap(([key, value]) => [
    key,
    ...(key === 'properties'
      ? Object.values(value as Record<string, JsonSchema>).flatMap(keywordsOf)
      : key === 'items'
        ? keywordsOf(value as JsonSchema)
        : []),
  ]);
}

/** Whether `value` satisfies `schema` (the KEYWORDS subset; string lengths in code points, as JSON Schema counts). */
function accepts(schema: JsonSchema, value: unknown): boolean {
  const type = schema['type'];
  const typeOk =
    type === undefined ||
    (type === 'object' && typeof value === 'object' && value !== null && !Array.isArray(value)) ||
    (type === 'array' && Array.isArray(value)) ||
    (type === 'string' && typeof value === 'string');
  if (!typeOk) return false;
  if (typeof value === 'string') {
    const length = [...value].length;
    if (typeof schema['minLength'] === 'number' && length < schema['minLength']) return false;
    if (typeof schema['maxLength'] === 'number' && length > schema['maxLength']) return false;
  }
  if (Array.isArray(value)) {
    if (typeof schema['minItems'] === 'number' && value.length < schema['minItems']) return false;
    if (typeof schema['maxItems'] === 'number' && value.length > schema['maxItems']) return false;
    const items = schema['items'] as JsonSchema | undefined;
    if (items && !value.every((item) => accepts(items, item))) return false;
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const record = value as Record<string, unknown>;
    const properties = (schema['properties'] ?? {}) as Record<string, JsonSchema>;
    const required = (schema['required'] ?? []) as string[];
    if (!required.every((key) => key in record)) return false;
    if (schema['additionalProperties'] === false && Object.keys(record).some((key) => !(key in properties))) {
      return false;
    }
    for (const [key, sub] of Object.entries(properties)) if (key in record && !accepts(sub, record[key])) return false;
  }
  return true;
}

/** What the REST validator does with a body: JSON that the model accepts passes, anything else is refused. */
function restValidatorAccepts(schema: JsonSchema, body: string): boolean {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return false;
  }
  return accepts(schema, value);
}

/** The event an HTTP API sends a Lambda proxy integration in payload format 1.0 (lower-case headers, $default stage). */
const httpApiEvent = (path: string, body: string, headers: Record<string, string> = {}) => ({
  version: '1.0',
  resource: path,
  path,
  httpMethod: 'POST',
  headers: { 'content-type': 'application/json', host: 'abc123.execute-api.us-east-1.amazonaws.com', ...headers },
  multiValueHeaders: { 'content-type': ['application/json'] },
  queryStringParameters: null,
  multiValueQueryStringParameters: null,
  requestContext: {
    accountId: '123456789012',
    apiId: 'abc123',
    httpMethod: 'POST',
    path,
    protocol: 'HTTP/1.1',
    requestId: 'JKJaXmPLvHcESHA=',
    resourcePath: path,
    routeKey: `POST ${path}`,
    stage: '$default',
    identity: { caller: 'AROAEXAMPLE:search', userArn: 'arn:aws:sts::123456789012:assumed-role/search/s' },
  },
  pathParameters: null,
  stageVariables: null,
  body,
  isBase64Encoded: false,
});

const bedrockMock = mockClient(BedrockRuntimeClient);
const ssmMock = mockClient(SSMClient);

function build() {
  const logger = new Logger({ serviceName: 'intent-router', logLevel: 'SILENT' });
  const metrics = new Metrics({ namespace: 'Test', serviceName: 'intent-router' });
  return buildRouterHandler({
    settings: ROUTER_SETTINGS,
    bedrock: new BedrockRuntimeClient({ region: 'us-east-1' }),
    parameters: new SSMProvider({ awsSdkV3Client: new SSMClient({ region: 'us-east-1' }) }),
    logger,
    metrics,
    flush: () => metrics.clearMetrics(),
  });
}

beforeEach(() => {
  bedrockMock.reset();
  ssmMock.reset();
  ssmMock.on(GetParameterCommand).resolves(parameterReply(PROMOTED));
  bedrockMock.on(ConverseCommand).resolves(studentReply(AUDIO));
});

const long = 'a'.repeat(513);
const REFUSED: [string, string, string][] = [
  [ROUTE_PATH, 'no query', '{}'],
  [ROUTE_PATH, 'empty query', '{"query":""}'],
  [ROUTE_PATH, 'query of 513 characters', JSON.stringify({ query: long })],
  [ROUTE_PATH, 'query of 513 emoji', JSON.stringify({ query: '🐶'.repeat(513) })],
  [ROUTE_PATH, 'number query', '{"query":42}'],
  [ROUTE_PATH, 'null query', '{"query":null}'],
  [ROUTE_PATH, 'array query', '{"query":["a"]}'],
  [ROUTE_PATH, 'object query', '{"query":{"text":"a"}}'],
  [ROUTE_PATH, 'unknown field', '{"query":"a","limit":3}'],
  [ROUTE_PATH, 'array body', '["a"]'],
  [ROUTE_PATH, 'string body', '"dog barking"'],
  [ROUTE_PATH, 'null body', 'null'],
  [ROUTE_PATH, 'number body', '42'],
  [ROUTE_PATH, 'body that is not JSON', '{"query": "dog'],
  [ROUTE_PATH, 'empty body', ''],
  [ROUTE_PATH, 'the batch body', '{"queries":["a"]}'],
  [BATCH_PATH, 'no queries', '{}'],
  [BATCH_PATH, 'no query in the list', '{"queries":[]}'],
  [BATCH_PATH, '26 queries', JSON.stringify({ queries: Array.from({ length: 26 }, (_, i) => `q${i}`) })],
  [BATCH_PATH, 'queries not a list', '{"queries":"a"}'],
  [BATCH_PATH, 'a number in the list', '{"queries":["a",1]}'],
  [BATCH_PATH, 'an empty query in the list', '{"queries":["a",""]}'],
  [BATCH_PATH, 'a query of 513 characters in the list', JSON.stringify({ queries: ['a', long] })],
  [BATCH_PATH, 'unknown field', '{"queries":["a"],"x":1}'],
  [BATCH_PATH, 'array body', '[["a"]]'],
  [BATCH_PATH, 'body that is not JSON', 'queries=a'],
  [BATCH_PATH, 'the single body', '{"query":"a"}'],
];

describe('HTTP API: the router refuses what the REST request models refused', () => {
  const schemas = publishedJsonSchemas();
  const modelOf = (path: string) => (path === ROUTE_PATH ? schemas.RouteRequest : schemas.BatchRouteRequest);

  it('checks the models with every keyword they use', () => {
    for (const schema of [schemas.RouteRequest, schemas.BatchRouteRequest]) {
      expect(keywordsOf(schema).filter((k) => !KEYWORDS.has(k))).toEqual([]);
    }
  });

  it.each(REFUSED)(
    '%s, %s: refused by the model, and by the router with 400 in the error shape',
    async (path, _name, body) => {
      expect(restValidatorAccepts(modelOf(path), body)).toBe(false);
      const result = await build()(httpApiEvent(path, body), { awsRequestId: 'lambda-1' });
      expect(result.statusCode).toBe(400);
      expect(result.headers).toMatchObject({ 'Content-Type': 'application/json' });
      const error = errorResponseSchema.parse(JSON.parse(result.body));
      expect(['INVALID_REQUEST', 'INVALID_JSON']).toContain(error.error.code);
      expect(error.error.message.length).toBeGreaterThan(0);
      expect(bedrockMock.commandCalls(ConverseCommand)).toHaveLength(0);
    },
  );

  it.each([
    [ROUTE_PATH, '{"query":"dog barking loudly"}'],
    [ROUTE_PATH, JSON.stringify({ query: 'a'.repeat(512) })],
    [ROUTE_PATH, JSON.stringify({ query: '🐶'.repeat(512) })],
    [BATCH_PATH, JSON.stringify({ queries: Array.from({ length: 25 }, (_, i) => `query ${i}`) })],
  ])('%s: what the model accepts, the router answers (200)', async (path, body) => {
    expect(restValidatorAccepts(modelOf(path), body)).toBe(true);
    const result = await build()(httpApiEvent(path, body), { awsRequestId: 'lambda-1' });
    expect(result.statusCode).toBe(200);
  });

  it('reads a base64-encoded body and the request id of the HTTP API event', async () => {
    const body = Buffer.from('{"query":"dog barking loudly"}').toString('base64');
    const result = await build()({ ...httpApiEvent(ROUTE_PATH, body), isBase64Encoded: true }, { awsRequestId: 'x' });
    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body)).toMatchObject({ requestId: 'JKJaXmPLvHcESHA=', source: 'student' });
  });

  it('refuses a wrong content type with 400 UNSUPPORTED_CONTENT_TYPE', async () => {
    const event = httpApiEvent(ROUTE_PATH, 'query=dog', { 'content-type': 'application/x-www-form-urlencoded' });
    const result = await build()(event, { awsRequestId: 'x' });
    expect(result.statusCode).toBe(400);
    expect(errorResponseSchema.parse(JSON.parse(result.body)).error.code).toBe('UNSUPPORTED_CONTENT_TYPE');
  });
});
