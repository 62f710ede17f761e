import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import {
  AccessDeniedException,
  BedrockRuntimeClient,
  ConverseCommand,
  ResourceNotFoundException,
  ThrottlingException,
  type ConverseCommandInput,
} from '@aws-sdk/client-bedrock-runtime';
import { GetParameterCommand, InternalServerError, ParameterNotFound, SSMClient } from '@aws-sdk/client-ssm';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { HttpHandlerOptions, HttpRequest } from '@smithy/types';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import {
  batchResponseSchema,
  DEFAULT_MODEL,
  errorResponseSchema,
  routeResponseSchema,
} from '../../lambda/router/contract';
import { READ_RETRY_INITIAL_MS, READ_RETRY_MAX_MS, readRetryFor } from '../../lambda/router/active-target';
import {
  BUDGET_SHARE_BEFORE_FALLBACK,
  LATENCY_BY_SOURCE,
  METRIC,
  MIN_CALL_MS,
  timeBeforeFallback,
} from '../../lambda/router/router';
import type { RouterSettings } from '../../lambda/router/settings';
import { buildRouterHandler } from '../../lambda/router/wiring';
import { teacherPrompt } from '../../lambda/core/teacher-prompt';
import { STUDENT_FORMATS } from '../../lambda/core/student-format';
import {
  AUDIO,
  DEPLOYMENT,
  METADATA,
  PARAMETER,
  parameterReply,
  PROMOTED,
  ROUTER_SETTINGS,
  studentReply,
} from '../helpers/router-fixtures';

/** The fixtures' promoted students were trained on student-v1 (JSON answers): they must keep working. */
const V1_PROMPT = STUDENT_FORMATS['student-v1'].prompt;

const bedrockMock = mockClient(BedrockRuntimeClient);
const ssmMock = mockClient(SSMClient);

const FALLBACK = 'us.anthropic.claude-haiku-4-5-20251001-v1:0';
const DEFAULT_WEIGHTS = ROUTER_SETTINGS.defaultWeights;
const SETTINGS: RouterSettings = { ...ROUTER_SETTINGS, latencyBudgetMs: 400 };

const meta = { $metadata: { httpStatusCode: 400, requestId: 'err-1' } };

const event = (body: unknown, path = '/v1/route'): APIGatewayProxyEvent =>
  ({
    resource: path,
    path,
    httpMethod: 'POST',
    headers: { 'Content-Type': 'application/json' },
    multiValueHeaders: {},
    isBase64Encoded: false,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    pathParameters: null,
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    stageVariables: null,
    requestContext: { requestId: 'api-req-1' } as APIGatewayProxyEvent['requestContext'],
  }) satisfies APIGatewayProxyEvent;

const queryOf = (input: ConverseCommandInput) => input.messages?.[0]?.content?.[0]?.text ?? '';
const delay = <T>(ms: number, value: T) => new Promise<T>((resolve) => setTimeout(() => resolve(value), ms));

/** The handler wired by the same buildRouterHandler as handler.ts, on fresh clients (mocked at the SDK boundary) and spied Powertools. */
function build(overrides: Partial<RouterSettings> = {}) {
  const settings = { ...SETTINGS, ...overrides };
  const logger = new Logger({ serviceName: 'intent-router', logLevel: 'DEBUG' });
  const warn = jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
  jest.spyOn(logger, 'info').mockImplementation(() => undefined);
  jest.spyOn(logger, 'debug').mockImplementation(() => undefined);
  const metrics = new Metrics({ namespace: 'Test', serviceName: 'intent-router' });
  const addMetric = jest.spyOn(metrics, 'addMetric');
  const handler = buildRouterHandler({
    settings,
    bedrock: new BedrockRuntimeClient({ region: 'us-east-1' }),
    parameters: new SSMProvider({ awsSdkV3Client: new SSMClient({ region: 'us-east-1' }) }),
    logger,
    metrics,
    flush: () => metrics.clearMetrics(),
  });
  const counted = (name: string) =>
    addMetric.mock.calls.filter(([metric]) => metric === name).reduce((sum, [, , value]) => sum + Number(value), 0);
  return { handler, warn, addMetric, counted, logger };
}

const body = (result: APIGatewayProxyResult) => JSON.parse(result.body) as Record<string, unknown>;
const routed = (result: APIGatewayProxyResult) => routeResponseSchema.parse(JSON.parse(result.body));

beforeEach(() => {
  bedrockMock.reset();
  ssmMock.reset();
});

describe('router handler: happy path', () => {
  it('answers with the promoted student, sending the student prompt at temperature 0', async () => {
    ssmMock.on(GetParameterCommand, { Name: PARAMETER }).resolves(parameterReply(PROMOTED));
    bedrockMock.on(ConverseCommand).resolves(studentReply(AUDIO));
    const { handler, counted } = build();

    const result = await handler(event({ query: '  dog barking loudly ' }), { awsRequestId: 'lambda-1' });

    expect(result.statusCode).toBe(200);
    expect(result.headers).toMatchObject({ 'Content-Type': 'application/json' });
    expect(routed(result)).toEqual({
      weights: { visual: 0.3, audio: 0.6, transcription: 0, metadata: 0.1 },
      dominant: 'audio',
      model: DEPLOYMENT,
      source: 'student',
      latencyMs: expect.any(Number),
      requestId: 'api-req-1',
    });
    const input = bedrockMock.commandCalls(ConverseCommand)[0]?.args[0].input;
    expect(input).toEqual({
      modelId: DEPLOYMENT,
      system: [{ text: V1_PROMPT }],
      messages: [{ role: 'user', content: [{ text: 'dog barking loudly' }] }],
      inferenceConfig: { maxTokens: 80, temperature: 0 },
    });
    expect(counted(METRIC.queries)).toBe(1);
    expect(counted(LATENCY_BY_SOURCE.student)).toBe(routed(result).latencyMs);
    expect(counted(LATENCY_BY_SOURCE.default)).toBe(0);
    expect(counted(METRIC.inputTokens)).toBe(41);
    expect(counted(METRIC.outputTokens)).toBe(23);
    expect(counted(METRIC.fallbacks)).toBe(0);
  });

  it('asks a student-v2 model in its compact format: its prompt, a 10-token budget, the same API reply', async () => {
    const promotedV2 = PROMOTED.replace('student-v1', 'student-v2');
    ssmMock.on(GetParameterCommand, { Name: PARAMETER }).resolves(parameterReply(promotedV2));
    bedrockMock.on(ConverseCommand).resolves(studentReply('3 6 0 1'));
    const { handler } = build();

    const result = await handler(event({ query: 'dog barking loudly' }), { awsRequestId: 'lambda-1' });

    expect(routed(result)).toEqual({
      weights: { visual: 0.3, audio: 0.6, transcription: 0, metadata: 0.1 },
      dominant: 'audio',
      model: DEPLOYMENT,
      source: 'student',
      latencyMs: expect.any(Number),
      requestId: 'api-req-1',
    });
    expect(bedrockMock.commandCalls(ConverseCommand)[0]?.args[0].input).toMatchObject({
      system: [{ text: STUDENT_FORMATS['student-v2'].prompt }],
      inferenceConfig: { maxTokens: 10, temperature: 0 },
    });
  });

  it.each([
    ['JSON from a student-v2 model', '{"visual":0.3,"audio":0.6,"transcription":0,"metadata":0.1}'],
    ['prose before the numbers', 'The weights are 3 6 0 1'],
    ['tenths that do not sum to 10', '3 6 0 2'],
  ])('falls back when a student-v2 model answers %s (counted as an invalid reply)', async (_case, text) => {
    ssmMock
      .on(GetParameterCommand, { Name: PARAMETER })
      .resolves(parameterReply(PROMOTED.replace('student-v1', 'student-v2')));
    bedrockMock.on(ConverseCommand, { modelId: DEPLOYMENT }).resolves(studentReply(text));
    bedrockMock.on(ConverseCommand, { modelId: FALLBACK }).resolves(studentReply(METADATA));
    const { handler, counted } = build({ fallbackModelId: FALLBACK });

    const result = await handler(event({ query: 'dog barking loudly' }), { awsRequestId: 'lambda-1' });

    expect(routed(result)).toMatchObject({ source: 'fallback-model', model: FALLBACK });
    expect(counted(METRIC.invalidReplies)).toBe(1);
    // The fallback model is asked with the teacher prompt and its own (configured) budget.
    expect(bedrockMock.commandCalls(ConverseCommand, { modelId: FALLBACK })[0]?.args[0].input).toMatchObject({
      inferenceConfig: { maxTokens: 80 },
    });
  });

  it('reads the parameter once per TTL, not per request', async () => {
    ssmMock.on(GetParameterCommand).resolves(parameterReply(PROMOTED));
    bedrockMock.on(ConverseCommand).resolves(studentReply(AUDIO));
    const { handler } = build();
    await handler(event({ query: 'one' }));
    await handler(event({ query: 'two' }));
    expect(ssmMock.commandCalls(GetParameterCommand)).toHaveLength(1);
  });

  it('does not log the query unless logQueries is on', async () => {
    ssmMock.on(GetParameterCommand).resolves(parameterReply(PROMOTED));
    bedrockMock.on(ConverseCommand).resolves(studentReply(AUDIO));
    for (const logQueries of [false, true]) {
      const { handler, logger } = build({ logQueries });
      const info = jest.spyOn(logger, 'info').mockImplementation(() => undefined);
      await handler(event({ query: 'secret person name' }));
      expect(JSON.stringify(info.mock.calls).includes('secret person name')).toBe(logQueries);
    }
  });
});

describe('router handler: bad input is a 400 naming the field, never a 5xx', () => {
  it.each([
    ['missing query', {}, /"query" is missing/],
    ['empty query', { query: '' }, /"query" is invalid/],
    ['too long query', { query: 'x'.repeat(513) }, /"query" is invalid \(got 513 characters\)/],
    ['non-string query', { query: 12 }, /"query" is invalid \(got a number\)/],
    ['invalid JSON', '{"query":', /not valid JSON/],
    ['unknown field', { query: 'a', model: 'x' }, /unknown field "model"/],
  ])('%s', async (_name, payload, message) => {
    const { handler, counted } = build();
    const result = await handler(event(payload));
    expect(result.statusCode).toBe(400);
    const error = errorResponseSchema.parse(body(result)).error;
    expect(error.message).toMatch(message);
    expect(counted(METRIC.clientErrors)).toBe(1);
    expect(bedrockMock.calls()).toHaveLength(0);
  });

  it('wrong content type', async () => {
    const { handler } = build();
    const result = await handler({ ...event({ query: 'a' }), headers: { 'content-type': 'text/plain' } });
    expect(result.statusCode).toBe(400);
    expect(body(result)).toEqual({ error: { code: 'UNSUPPORTED_CONTENT_TYPE', message: expect.any(String) } });
  });

  it('too many batch items', async () => {
    const { handler } = build();
    const result = await handler(event({ queries: Array.from({ length: 26 }, (_, i) => `q${i}`) }, '/v1/route/batch'));
    expect(result.statusCode).toBe(400);
    expect(errorResponseSchema.parse(body(result)).error.message).toMatch(/"queries" is invalid.*1-25/);
  });

  it.each([
    ['null', null],
    ['a string', 'hello'],
    ['an empty object', {}],
    ['an array', []],
    ['an object with wrongly typed fields', { httpMethod: 42, resource: '/v1/route', body: { query: 'a' } }],
  ])('an event that is %s, as from a direct invocation', async (_name, raw) => {
    const { handler } = build();
    const result = await handler(raw);
    expect(result.statusCode).toBeGreaterThanOrEqual(400);
    expect(result.statusCode).toBeLessThan(500);
    errorResponseSchema.parse(body(result));
  });
});

describe('router handler: untrusted model replies', () => {
  beforeEach(() => ssmMock.on(GetParameterCommand).resolves(parameterReply(PROMOTED)));

  it('accepts a reply wrapped in prose and code fences', async () => {
    bedrockMock
      .on(ConverseCommand)
      .resolves(studentReply(`Sure! Here are the weights:\n\`\`\`json\n${METADATA}\n\`\`\`\nHope it helps.`));
    const { handler } = build();
    expect(routed(await handler(event({ query: 'Taylor Swift' })))).toMatchObject({
      source: 'student',
      dominant: 'metadata',
    });
  });

  it.each([
    ['malformed', 'visual: high, audio: low'],
    ['missing a key', '{"visual":0.5,"audio":0.5,"transcription":0}'],
    ['out of range', '{"visual":1.4,"audio":-0.4,"transcription":0,"metadata":0}'],
    ['not summing to 1', '{"visual":0.9,"audio":0.9,"transcription":0,"metadata":0}'],
    ['empty', ''],
  ])('falls back to the default on a %s reply, counting it', async (_name, text) => {
    bedrockMock.on(ConverseCommand).resolves(studentReply(text));
    const { handler, counted } = build();
    const result = routed(await handler(event({ query: 'q' })));
    expect(result).toMatchObject({
      source: 'default',
      model: DEFAULT_MODEL,
      weights: DEFAULT_WEIGHTS,
      dominant: 'visual',
    });
    expect(counted(METRIC.invalidReplies)).toBe(1);
    expect(counted(METRIC.fallbacks)).toBe(1);
    expect(counted(METRIC.inputTokens)).toBe(41); // the unusable reply was still billed
  });

  it('asks the fallback model, with the teacher prompt, when the student replies unusably', async () => {
    bedrockMock.on(ConverseCommand, { modelId: DEPLOYMENT }).resolves(studentReply('no idea'));
    bedrockMock.on(ConverseCommand, { modelId: FALLBACK }).resolves(studentReply(METADATA));
    const { handler } = build({ fallbackModelId: FALLBACK });
    expect(routed(await handler(event({ query: 'Taylor Swift' })))).toMatchObject({
      source: 'fallback-model',
      model: FALLBACK,
    });
    const fallbackCall = bedrockMock.commandCalls(ConverseCommand, { modelId: FALLBACK })[0];
    expect(fallbackCall?.args[0].input.system).toEqual([{ text: teacherPrompt() }]);
  });
});

describe('router handler: latency budget, throttling and faults', () => {
  beforeEach(() => ssmMock.on(GetParameterCommand).resolves(parameterReply(PROMOTED)));

  it('answers with the default within the budget when the student is too slow', async () => {
    bedrockMock.on(ConverseCommand).callsFake(() => delay(3000, studentReply(AUDIO)));
    const { handler, counted } = build({ latencyBudgetMs: 300 });
    const started = Date.now();
    const result = routed(await handler(event({ query: 'slow one' })));
    const elapsed = Date.now() - started;
    expect(result.source).toBe('default');
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(300 + 150); // the budget, plus timer slack
    expect(counted(METRIC.timeouts)).toBe(1);
  });

  it('gives the fallback model what is left of the budget, then the default', async () => {
    ssmMock.on(GetParameterCommand).resolves(parameterReply('none'));
    bedrockMock.on(ConverseCommand, { modelId: FALLBACK }).callsFake(() => delay(3000, studentReply(AUDIO)));
    const { handler } = build({ latencyBudgetMs: 250, fallbackModelId: FALLBACK });
    const started = Date.now();
    const result = routed(await handler(event({ query: 'slow fallback' })));
    expect(result.source).toBe('default');
    expect(Date.now() - started).toBeLessThan(250 + 150);
  });

  it('gives a hanging student only its share, so the fallback model answers within the budget', async () => {
    // A budget wide enough that the fallback's 30 ms fit in what is left even on a loaded machine (CI runs on 2 cores).
    const budget = 1200;
    bedrockMock.on(ConverseCommand, { modelId: DEPLOYMENT }).callsFake(() => delay(5000, studentReply(AUDIO)));
    bedrockMock.on(ConverseCommand, { modelId: FALLBACK }).callsFake(() => delay(30, studentReply(METADATA)));
    const { handler, counted } = build({ latencyBudgetMs: budget, fallbackModelId: FALLBACK });
    const started = Date.now();
    const result = routed(await handler(event({ query: 'student hangs' })));
    const elapsed = Date.now() - started;
    expect(result).toMatchObject({ source: 'fallback-model', model: FALLBACK, dominant: 'metadata' });
    // The student was cut at its share of the budget (not at once), then the fallback model answered in time.
    expect(elapsed).toBeGreaterThanOrEqual(budget * BUDGET_SHARE_BEFORE_FALLBACK + 30 - 10);
    expect(elapsed).toBeLessThan(budget);
    expect(result.latencyMs).toBeLessThan(budget);
    expect(counted(METRIC.timeouts)).toBe(1);
    expect(counted(METRIC.fallbacks)).toBe(1);
    expect(counted(LATENCY_BY_SOURCE['fallback-model'])).toBe(result.latencyMs);
  });

  it('answers the default within the budget when the student and the fallback model both hang', async () => {
    bedrockMock.on(ConverseCommand).callsFake(() => delay(3000, studentReply(AUDIO)));
    const { handler, counted } = build({ latencyBudgetMs: 400, fallbackModelId: FALLBACK });
    const started = Date.now();
    const result = routed(await handler(event({ query: 'everything hangs' })));
    const elapsed = Date.now() - started;
    expect(result).toMatchObject({ source: 'default', model: DEFAULT_MODEL });
    expect(bedrockMock.commandCalls(ConverseCommand).map((c) => c.args[0].input.modelId)).toEqual([
      DEPLOYMENT,
      FALLBACK,
    ]);
    expect(elapsed).toBeGreaterThanOrEqual(390); // each model had its time…
    expect(elapsed).toBeLessThan(400 + 150); // …and together no more than the budget, plus timer slack
    expect(counted(METRIC.timeouts)).toBe(2);
  });

  it('splits what is left: a share before the fallback model, at least one call for it', () => {
    expect(timeBeforeFallback(1500)).toBe(1500 * BUDGET_SHARE_BEFORE_FALLBACK);
    expect(timeBeforeFallback(400)).toBe(240);
    expect(timeBeforeFallback(110)).toBe(110 - MIN_CALL_MS); // 60 % would leave the fallback model less than a call
    expect(timeBeforeFallback(90)).toBe(MIN_CALL_MS); // never less than a call for the model itself
    expect(BUDGET_SHARE_BEFORE_FALLBACK).toBeGreaterThan(0.5);
    expect(BUDGET_SHARE_BEFORE_FALLBACK).toBeLessThan(1);
  });

  it('passes an abort signal the SDK uses to cancel the HTTP request at the deadline', async () => {
    const seen: { aborted?: boolean } = {};
    const bedrock = new BedrockRuntimeClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
      requestHandler: {
        handle: (_request: HttpRequest, options?: HttpHandlerOptions) =>
          new Promise((_resolve, reject) => {
            const signal = options?.abortSignal;
            if (signal)
              signal.onabort = () => {
                seen.aborted = true;
                reject(Object.assign(new Error('Request aborted'), { name: 'AbortError' }));
              };
          }),
      },
    });
    bedrockMock.restore();
    try {
      const { askModel } = await import('../../lambda/router/model-call');
      const started = Date.now();
      const outcome = await askModel(
        bedrock,
        { modelId: DEPLOYMENT, system: 's', query: 'q', maxTokens: 16, format: STUDENT_FORMATS['student-v1'] },
        120,
      );
      expect(outcome).toMatchObject({ ok: false, failure: 'timeout' });
      expect(Date.now() - started).toBeLessThan(120 + 150);
      expect(seen.aborted).toBe(true);
    } finally {
      bedrockMock.reset();
    }
  });

  it('falls back to the fallback model when the student is throttled', async () => {
    bedrockMock
      .on(ConverseCommand, { modelId: DEPLOYMENT })
      .rejects(new ThrottlingException({ message: 'Too many requests, please wait before trying again.', ...meta }));
    bedrockMock.on(ConverseCommand, { modelId: FALLBACK }).resolves(studentReply(AUDIO));
    const { handler, counted } = build({ fallbackModelId: FALLBACK });
    expect(routed(await handler(event({ query: 'q' })))).toMatchObject({ source: 'fallback-model', dominant: 'audio' });
    expect(counted(METRIC.throttles)).toBe(1);
    expect(counted(METRIC.fallbacks)).toBe(1);
  });

  it('answers the default when throttled and no fallback model is configured', async () => {
    bedrockMock.on(ConverseCommand).rejects(new ThrottlingException({ message: 'Too many requests', ...meta }));
    const { handler } = build();
    expect(routed(await handler(event({ query: 'q' }))).source).toBe('default');
  });

  const accessErrors = [
    [
      'AccessDenied',
      () => new AccessDeniedException({ message: 'not authorized to perform bedrock:InvokeModel', ...meta }),
    ],
    ['ResourceNotFound', () => new ResourceNotFoundException({ message: 'deployment not found', ...meta })],
  ] as const;

  it.each(accessErrors)(
    '%s on the student: the fallback model answers, an error metric, logged once per container',
    async (_name, error) => {
      bedrockMock.on(ConverseCommand, { modelId: DEPLOYMENT }).rejects(error());
      bedrockMock.on(ConverseCommand, { modelId: FALLBACK }).resolves(studentReply(AUDIO));
      const { handler, counted, warn } = build({ fallbackModelId: FALLBACK });
      for (const query of ['first', 'second', 'third']) {
        expect(routed(await handler(event({ query })))).toMatchObject({ source: 'fallback-model', dominant: 'audio' });
      }
      expect(counted(METRIC.accessErrors)).toBe(3);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(warn.mock.calls[0]?.[0]).toMatch(new RegExp(`cannot invoke ${DEPLOYMENT}.*IAM`));
    },
  );

  it.each(accessErrors)(
    '%s on every model: the default weights, one error metric per model call, each logged once',
    async (_name, error) => {
      bedrockMock.on(ConverseCommand).rejects(error());
      const { handler, counted, warn } = build({ fallbackModelId: FALLBACK });
      for (const query of ['first', 'second', 'third']) {
        expect(routed(await handler(event({ query })))).toMatchObject({ source: 'default', weights: DEFAULT_WEIGHTS });
      }
      expect(counted(METRIC.accessErrors)).toBe(6);
      expect(warn).toHaveBeenCalledTimes(2); // once for the student, once for the fallback model
    },
  );
});

describe('router handler: the active-model parameter', () => {
  it('serves the fallback model (teacher prompt) before any promotion', async () => {
    ssmMock.on(GetParameterCommand).resolves(parameterReply('none'));
    bedrockMock.on(ConverseCommand).resolves(studentReply(AUDIO));
    const { handler, counted } = build({ fallbackModelId: FALLBACK });
    expect(routed(await handler(event({ query: 'q' })))).toMatchObject({ source: 'fallback-model', model: FALLBACK });
    expect(bedrockMock.commandCalls(ConverseCommand)[0]?.args[0].input.system).toEqual([{ text: teacherPrompt() }]);
    expect(counted(METRIC.fallbacks)).toBe(0); // planned, not a degradation
  });

  it('serves the default weights when the parameter is missing, counts it, asks SSM again only after a backoff, warns once', async () => {
    ssmMock.on(GetParameterCommand).rejects(new ParameterNotFound({ message: 'Parameter not found', ...meta }));
    const { handler, warn, counted } = build();
    for (const query of ['a', 'b']) {
      expect(routed(await handler(event({ query })))).toMatchObject({ source: 'default', model: DEFAULT_MODEL });
    }
    expect(ssmMock.commandCalls(GetParameterCommand)).toHaveLength(1);
    expect(counted(METRIC.activeModelReadErrors)).toBe(1);
    expect(bedrockMock.calls()).toHaveLength(0);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]?.[0]).toMatch(
      /cannot read the active-model parameter .* \(ParameterNotFound\): nothing read yet, serving default-weights/,
    );
  });

  it.each([
    ['not JSON', '{oops'],
    ['a JSON value without a deployment', '{"runId":"x"}'],
    ['a model trained with another student prompt', PROMOTED.replace('student-v1', 'student-v0')],
  ])('treats %s as nothing promoted, logging it once', async (_name, value) => {
    ssmMock.on(GetParameterCommand).resolves(parameterReply(value));
    bedrockMock.on(ConverseCommand).resolves(studentReply(AUDIO));
    const { handler, warn } = build({ fallbackModelId: FALLBACK, parameterCacheTtlSeconds: 0 });
    for (const query of ['a', 'b']) {
      expect(routed(await handler(event({ query })))).toMatchObject({ source: 'fallback-model' });
    }
    expect(ssmMock.commandCalls(GetParameterCommand)).toHaveLength(2); // TTL 0: read every time…
    expect(warn).toHaveBeenCalledTimes(1); // …but logged once
    expect(warn.mock.calls[0]?.[0]).toMatch(/holds an invalid value/);
  });
});

describe('router handler: SSM faults and bursts (stale-while-error, backoff, single-flight)', () => {
  // Only Date is faked (Powertools' parameter cache and the router's retry clock read it); timers stay real.
  const clock = {
    at: Date.UTC(2026, 10, 26, 9, 0, 0),
    advance(ms: number) {
      this.at += ms;
      jest.setSystemTime(this.at);
    },
  };
  beforeEach(() => {
    jest.useFakeTimers({
      now: clock.at,
      doNotFake: [
        'hrtime',
        'nextTick',
        'performance',
        'queueMicrotask',
        'setImmediate',
        'clearImmediate',
        'setInterval',
        'clearInterval',
        'setTimeout',
        'clearTimeout',
      ],
    });
    bedrockMock.on(ConverseCommand).resolves(studentReply(AUDIO));
  });
  afterEach(() => jest.useRealTimers());

  const ssmDown = () => new InternalServerError({ message: 'Internal error', ...meta });
  const TTL_MS = SETTINGS.parameterCacheTtlSeconds * 1000;

  it('keeps serving the promoted student when a refresh fails after the TTL, counts the error, retries after a backoff', async () => {
    ssmMock
      .on(GetParameterCommand)
      .resolvesOnce(parameterReply(PROMOTED))
      .rejectsOnce(ssmDown())
      .resolves(parameterReply(PROMOTED.replace('abc123def456', 'fed654cba321')));
    const { handler, counted, warn } = build({ fallbackModelId: FALLBACK });
    expect(routed(await handler(event({ query: 'one' })))).toMatchObject({ source: 'student', model: DEPLOYMENT });

    clock.advance(TTL_MS + 1); // the cached value expires; the refresh fails
    expect(routed(await handler(event({ query: 'two' })))).toMatchObject({ source: 'student', model: DEPLOYMENT });
    expect(counted(METRIC.activeModelReadErrors)).toBe(1);
    expect(counted(METRIC.fallbacks)).toBe(0);
    expect(warn.mock.calls[0]?.[0]).toMatch(
      /\(InternalServerError\): still serving the last value read .*abc123def456; retrying after 1000 ms/,
    );

    clock.advance(READ_RETRY_INITIAL_MS - 1); // within the backoff: no SSM call, still the last good value
    expect(routed(await handler(event({ query: 'three' })))).toMatchObject({ source: 'student', model: DEPLOYMENT });
    expect(ssmMock).toHaveReceivedCommandTimes(GetParameterCommand, 2);

    clock.advance(1); // the backoff is over, not the whole TTL: the retry reads the newly promoted value
    expect(routed(await handler(event({ query: 'four' })))).toMatchObject({
      source: 'student',
      model: DEPLOYMENT.replace('abc123def456', 'fed654cba321'),
    });
    expect(ssmMock).toHaveReceivedCommandTimes(GetParameterCommand, 3);
    expect(counted(METRIC.activeModelReadErrors)).toBe(1);
  });

  it('on a cold container with SSM failing, serves the fallback (as before), counts it, and retries within seconds', async () => {
    ssmMock.on(GetParameterCommand).rejectsOnce(ssmDown()).resolves(parameterReply(PROMOTED));
    const { handler, counted, warn } = build({ fallbackModelId: FALLBACK });
    expect(routed(await handler(event({ query: 'one' })))).toMatchObject({ source: 'fallback-model', model: FALLBACK });
    expect(counted(METRIC.activeModelReadErrors)).toBe(1);
    expect(warn.mock.calls[0]?.[0]).toMatch(/\(InternalServerError\): nothing read yet, serving us\.anthropic/);

    clock.advance(READ_RETRY_INITIAL_MS);
    expect(routed(await handler(event({ query: 'two' })))).toMatchObject({ source: 'student', model: DEPLOYMENT });
    expect(ssmMock).toHaveReceivedCommandTimes(GetParameterCommand, 2);
  });

  it('backs off exponentially while SSM stays down, up to a minute, counting every failed read', async () => {
    ssmMock.on(GetParameterCommand).resolvesOnce(parameterReply(PROMOTED)).rejects(ssmDown());
    const { handler, counted } = build({ parameterCacheTtlSeconds: 300 });
    await handler(event({ query: 'warm' }));
    clock.advance(300_000 + 1);
    const waits: number[] = [];
    let last = clock.at;
    for (let step = 0; step < 2000; step++) {
      const calls = ssmMock.commandCalls(GetParameterCommand).length;
      expect(routed(await handler(event({ query: `q${step % 3}` }))).source).not.toBe('default');
      if (ssmMock.commandCalls(GetParameterCommand).length > calls) {
        waits.push(clock.at - last);
        last = clock.at;
      }
      if (waits.length === 9) break;
      clock.advance(250);
    }
    // The first failure comes with the expiry; then 1 s, 2 s, 4 s … capped at READ_RETRY_MAX_MS (60 s), not the TTL.
    expect(waits.slice(1)).toEqual([1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000]);
    expect(counted(METRIC.activeModelReadErrors)).toBe(9);
  });

  it('retries no later than the TTL when the TTL is shorter than the cap, and at least after a second', () => {
    expect(readRetryFor(60)).toEqual({ initialMs: 1000, maxMs: READ_RETRY_MAX_MS });
    expect(readRetryFor(3600)).toEqual({ initialMs: 1000, maxMs: READ_RETRY_MAX_MS });
    expect(readRetryFor(10)).toEqual({ initialMs: 1000, maxMs: 10_000 });
    expect(readRetryFor(0)).toEqual({ initialMs: 1000, maxMs: READ_RETRY_INITIAL_MS });
  });

  it('answers a burst of concurrent requests on a cold container from one GetParameter call', async () => {
    ssmMock.on(GetParameterCommand).callsFake(() => delay(30, parameterReply(PROMOTED)));
    const { handler } = build();
    const queries = Array.from({ length: 25 }, (_, i) => `burst query ${i}`);
    const answers = await Promise.all(queries.map((query) => handler(event({ query }))));
    expect(ssmMock).toHaveReceivedCommandTimes(GetParameterCommand, 1);
    expect(answers.map((answer) => routed(answer).model)).toEqual(queries.map(() => DEPLOYMENT));
    expect(answers.every((answer) => routed(answer).source === 'student')).toBe(true);
  });

  it('shares one failed read in a burst too: one call, one error counted, all answered by the fallback', async () => {
    ssmMock.on(GetParameterCommand).callsFake(() => delay(30, undefined).then(() => Promise.reject(ssmDown())));
    const { handler, counted } = build({ fallbackModelId: FALLBACK });
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => handler(event({ query: `q${i}` }))));
    expect(ssmMock).toHaveReceivedCommandTimes(GetParameterCommand, 1);
    expect(counted(METRIC.activeModelReadErrors)).toBe(1);
    expect(answers.map((answer) => routed(answer).source)).toEqual(Array(10).fill('fallback-model'));
  });
});

describe('router handler: cache and batch', () => {
  beforeEach(() => ssmMock.on(GetParameterCommand).resolves(parameterReply(PROMOTED)));

  it('answers a repeat (after normalising) from the cache', async () => {
    bedrockMock.on(ConverseCommand).resolves(studentReply(AUDIO));
    const { handler, counted } = build();
    const first = routed(await handler(event({ query: 'Dog barking loudly' })));
    const second = routed(await handler(event({ query: '  dog   BARKING loudly ' })));
    expect(first.source).toBe('student');
    expect(second).toMatchObject({ source: 'cache', model: DEPLOYMENT, weights: first.weights });
    expect(bedrockMock.commandCalls(ConverseCommand)).toHaveLength(1);
    expect(counted(METRIC.cacheHits)).toBe(1);
  });

  it('never caches the default answer, and can be turned off', async () => {
    bedrockMock
      .on(ConverseCommand)
      .rejectsOnce(new ThrottlingException({ message: 'slow down', ...meta }))
      .resolves(studentReply(AUDIO));
    const { handler } = build();
    expect(routed(await handler(event({ query: 'x' }))).source).toBe('default');
    expect(routed(await handler(event({ query: 'x' }))).source).toBe('student');

    const off = build({ cacheSize: 0 });
    await off.handler(event({ query: 'y' }));
    expect(routed(await off.handler(event({ query: 'y' }))).source).toBe('student');
  });

  it('answers a batch in order, concurrently, one call per distinct query', async () => {
    const delays: Record<string, number> = { first: 120, second: 60, third: 5 };
    bedrockMock.on(ConverseCommand).callsFake((input: ConverseCommandInput) => {
      const query = queryOf(input);
      return delay(delays[query] ?? 0, studentReply(query === 'second' ? METADATA : AUDIO));
    });
    const { handler } = build();
    const started = Date.now();
    const result = await handler(event({ queries: ['first', 'second', 'third', 'FIRST '] }, '/v1/route/batch'));
    const elapsed = Date.now() - started;
    expect(result.statusCode).toBe(200);
    const response = batchResponseSchema.parse(JSON.parse(result.body));
    expect(response.results.map((r) => r.dominant)).toEqual(['audio', 'metadata', 'audio', 'audio']);
    expect(response.requestId).toBe('api-req-1');
    expect(bedrockMock.commandCalls(ConverseCommand).map((c) => queryOf(c.args[0].input))).toEqual([
      'first',
      'second',
      'third',
    ]);
    expect(elapsed).toBeLessThan(120 + 60 + 5); // concurrent, not one after the other
  });
});

describe('the deployed handler module', () => {
  it('wires settings, clients and Powertools from the environment', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, {
      ACTIVE_MODEL_PARAMETER_NAME: PARAMETER,
      PARAMETER_CACHE_TTL_SECONDS: '60',
      LATENCY_BUDGET_MS: '1500',
      DEFAULT_WEIGHTS: JSON.stringify(DEFAULT_WEIGHTS),
      CACHE_SIZE: '10',
      CACHE_TTL_SECONDS: '60',
      LOG_QUERIES: 'false',
      MAX_TOKENS: '64',
      AWS_REGION: 'us-east-1',
      POWERTOOLS_METRICS_DISABLED: 'true',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
    });
    try {
      ssmMock.on(GetParameterCommand).resolves(parameterReply(PROMOTED));
      bedrockMock.on(ConverseCommand).resolves(studentReply(AUDIO));
      const mod = await import('../../lambda/router/handler');
      const result = await mod.handler(event({ query: 'dog barking' }), { awsRequestId: 'l-1' });
      expect(routed(result)).toMatchObject({ source: 'student', model: DEPLOYMENT });
      expect(bedrockMock.commandCalls(ConverseCommand)[0]?.args[0].input.inferenceConfig).toEqual({
        maxTokens: 64,
        temperature: 0,
      });
    } finally {
      process.env = saved;
    }
  });
});
