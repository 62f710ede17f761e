import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { SendMessageCommand, SQSClient, SQSServiceException, type SendMessageCommandOutput } from '@aws-sdk/client-sqs';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { METRIC } from '../../lambda/router/router';
import { parseRouterSettings, routerEnvironment, type RouterSettings } from '../../lambda/router/settings';
import { SHADOW_HANDOFF_TIMEOUT_MS } from '../../lambda/router/shadow';
import { buildRouterHandler } from '../../lambda/router/wiring';
import { parseShadowMessage, queryBucket } from '../../lambda/core/shadow';
import { converseReply } from '../helpers/aws-mocks';
import { AUDIO, DEPLOYMENT, PROMOTED, ROUTER_SETTINGS } from '../helpers/router-fixtures';
import { seededRandom } from '../helpers/simulated-teacher';

const bedrockMock = mockClient(BedrockRuntimeClient);
const ssmMock = mockClient(SSMClient);
const sqsMock = mockClient(SQSClient);

const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/intent-router-test-shadow';
const sent = (): SendMessageCommandOutput => ({
  $metadata: { httpStatusCode: 200, requestId: 'sqs-1' },
  MessageId: '5fea7756-0ea4-451a-a703-a558b933e274',
  MD5OfMessageBody: 'e99a18c428cb38d5f260853678922e03',
});
const event = (body: unknown, path = '/v1/route') => ({
  resource: path,
  path,
  httpMethod: 'POST',
  headers: { 'Content-Type': 'application/json' },
  isBase64Encoded: false,
  body: JSON.stringify(body),
  requestContext: { requestId: 'api-req-1' },
});

function build(sampleRate: number, random?: () => number, overrides: Partial<RouterSettings> = {}) {
  const logger = new Logger({ serviceName: 'intent-router' });
  const warn = jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
  const info = jest.spyOn(logger, 'info').mockImplementation(() => undefined);
  jest.spyOn(logger, 'debug').mockImplementation(() => undefined);
  const metrics = new Metrics({ namespace: 'Test', serviceName: 'intent-router' });
  const addMetric = jest.spyOn(metrics, 'addMetric');
  const settings: RouterSettings = {
    ...ROUTER_SETTINGS,
    ...overrides,
    ...(sampleRate > 0 ? { shadow: { sampleRate, queueUrl: QUEUE_URL } } : {}),
  };
  const handler = buildRouterHandler({
    settings,
    bedrock: new BedrockRuntimeClient({ region: 'us-east-1' }),
    parameters: new SSMProvider({ awsSdkV3Client: new SSMClient({ region: 'us-east-1' }) }),
    ...(sampleRate > 0 ? { sqs: new SQSClient({ region: 'us-east-1', maxAttempts: 1 }) } : {}),
    ...(random ? { random } : {}),
    logger,
    metrics,
    flush: () => metrics.clearMetrics(),
  });
  const counted = (name: string) =>
    addMetric.mock.calls.filter(([metric]) => metric === name).reduce((sum, [, , value]) => sum + Number(value), 0);
  return { handler, counted, warn, info };
}

const bodies = () =>
  sqsMock.commandCalls(SendMessageCommand).map((call) => {
    const parsed = parseShadowMessage(call.args[0].input.MessageBody ?? '');
    if (!parsed.ok) throw new Error(parsed.reason);
    return parsed.message;
  });

beforeEach(() => {
  bedrockMock.reset();
  ssmMock.reset();
  sqsMock.reset();
  ssmMock.on(GetParameterCommand).resolves({
    $metadata: { httpStatusCode: 200 },
    Parameter: { Name: ROUTER_SETTINGS.activeModelParameter, Type: 'String', Value: PROMOTED, Version: 3 },
  });
  bedrockMock.on(ConverseCommand).resolves(converseReply(AUDIO, { inputTokens: 41, outputTokens: 23 }));
  sqsMock.on(SendMessageCommand).resolves(sent());
});

describe('shadow sampling: how many', () => {
  it('samples the configured share of many distinct queries (seeded draws, within 4 standard errors)', async () => {
    const rate = 0.05;
    const n = 4000;
    const { handler, counted } = build(rate, seededRandom(11));
    for (let i = 0; i < n; i++) await handler(event({ query: `distinct query ${i}` }));
    const sampled = sqsMock.commandCalls(SendMessageCommand).length;
    const se = Math.sqrt(n * rate * (1 - rate));
    expect(Math.abs(sampled - n * rate)).toBeLessThan(4 * se);
    expect(counted(METRIC.shadowHandoffs)).toBe(sampled);
    expect(counted(METRIC.shadowHandoffFailures)).toBe(0);
  });

  it('samples with Math.random by default, at the configured share', async () => {
    const rate = 0.2;
    const n = 1500;
    const { handler } = build(rate);
    for (let i = 0; i < n; i++) await handler(event({ query: `another query ${i}` }));
    const sampled = sqsMock.commandCalls(SendMessageCommand).length;
    expect(Math.abs(sampled - n * rate)).toBeLessThan(5 * Math.sqrt(n * rate * (1 - rate)));
  });

  it('rate 0: no SQS client is needed and no SQS call is made', async () => {
    const { handler } = build(0);
    for (let i = 0; i < 50; i++) await handler(event({ query: `q ${i}` }));
    expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(0);
  });

  it('an unsampled request makes no SQS call', async () => {
    const { handler } = build(0.5, () => 0.9);
    const result = await handler(event({ query: 'dog barking loudly' }));
    expect(result.statusCode).toBe(200);
    expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(0);
  });
});

describe('shadow sampling: what leaves the router', () => {
  it('sends the query, the answer (weights, source, model, prompt version, cached) and a timestamp', async () => {
    const { handler } = build(1);
    await handler(event({ query: '  dog barking loudly ' }));
    await handler(event({ query: 'dog barking loudly' })); // a cache hit: sampled too, source "cache"
    expect(sqsMock).toHaveReceivedCommandWith(SendMessageCommand, { QueueUrl: QUEUE_URL });
    const [first, second] = bodies();
    expect(first?.samples).toEqual([
      {
        query: 'dog barking loudly',
        answer: {
          weights: { visual: 0.3, audio: 0.6, transcription: 0, metadata: 0.1 },
          dominant: 'audio',
          source: 'student',
          model: DEPLOYMENT,
          promptVersion: 'student-v1',
          cached: false,
        },
        at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
      },
    ]);
    expect(second?.samples[0]?.answer).toMatchObject({ source: 'cache', cached: true, model: DEPLOYMENT });
  });

  it('default answers are sampled and reported apart', async () => {
    bedrockMock.on(ConverseCommand).resolves(converseReply('no json here'));
    const { handler } = build(1);
    await handler(event({ query: 'something odd' }));
    expect(bodies()[0]?.samples[0]?.answer).toMatchObject({
      source: 'default',
      model: 'default-weights',
      promptVersion: 'none',
    });
  });

  it('a batch request hands off at most one message, holding every sampled query', async () => {
    const { handler } = build(1);
    await handler(event({ queries: ['a cat', 'a dog', 'a bird'] }, '/v1/route/batch'));
    expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(1);
    expect(bodies()[0]?.samples.map((s) => s.query)).toEqual(['a cat', 'a dog', 'a bird']);
  });

  it('never logs the query in plain text unless logQueries is on', async () => {
    sqsMock.on(SendMessageCommand).rejects(new Error('boom'));
    for (const logQueries of [false, true]) {
      const { handler, warn, info } = build(1, undefined, { logQueries });
      await handler(event({ query: 'secret person name' }));
      const logged = JSON.stringify([...warn.mock.calls, ...info.mock.calls]);
      expect(logged.includes('secret person name')).toBe(logQueries);
    }
  });
});

describe('shadow hand-off failures change nothing for the caller', () => {
  const baseline = async () => {
    const { handler } = build(0);
    const result = await handler(event({ query: 'dog barking loudly' }));
    return { statusCode: result.statusCode, body: { ...JSON.parse(result.body), latencyMs: 0 } };
  };

  it('an SQS error: same status and body, counted, warned once', async () => {
    const expected = await baseline();
    sqsMock.on(SendMessageCommand).rejects(
      new SQSServiceException({
        name: 'KmsAccessDenied',
        $fault: 'client',
        message: 'The ciphertext refers to a customer master key that does not exist',
        $metadata: { httpStatusCode: 400 },
      }),
    );
    const { handler, counted, warn } = build(1);
    const first = await handler(event({ query: 'dog barking loudly' }));
    expect({ statusCode: first.statusCode, body: { ...JSON.parse(first.body), latencyMs: 0 } }).toEqual(expected);
    const second = await handler(event({ query: 'a second query' }));
    expect(second.statusCode).toBe(200);
    expect(counted(METRIC.shadowHandoffFailures)).toBe(2);
    expect(counted(METRIC.shadowHandoffs)).toBe(0);
    expect(warn.mock.calls.filter(([m]) => String(m).includes('shadow queue'))).toHaveLength(1);
  });

  it('a hung SendMessage: the handler returns within the hand-off timeout, same reply, counted as failed', async () => {
    const expected = await baseline();
    sqsMock.on(SendMessageCommand).callsFake(() => new Promise(() => undefined)); // never settles
    const { handler, counted } = build(1);
    const started = performance.now();
    const result = await handler(event({ query: 'dog barking loudly' }));
    const took = performance.now() - started;
    expect({ statusCode: result.statusCode, body: { ...JSON.parse(result.body), latencyMs: 0 } }).toEqual(expected);
    expect(took).toBeLessThan(SHADOW_HANDOFF_TIMEOUT_MS + 250);
    expect(counted(METRIC.shadowHandoffFailures)).toBe(1);
  });
});

describe('router settings for shadow sampling', () => {
  const env = routerEnvironment({ ...ROUTER_SETTINGS, shadow: { sampleRate: 0.005, queueUrl: QUEUE_URL } });
  it('round-trips through the environment', () => {
    expect(parseRouterSettings(env).shadow).toEqual({
      sampleRate: 0.005,
      queueUrl: QUEUE_URL,
      canarySampleRate: 0.005,
    });
    expect(parseRouterSettings({ ...env, SHADOW_SAMPLE_RATE: '0' }).shadow).toBeUndefined();
  });
  it('refuses a rate above 0 without a queue URL, and a rate out of range, naming the variable', () => {
    const { SHADOW_QUEUE_URL: _, ...noUrl } = env;
    expect(() => parseRouterSettings(noUrl)).toThrow(/SHADOW_QUEUE_URL .*SHADOW_SAMPLE_RATE/);
    expect(() => parseRouterSettings({ ...env, SHADOW_SAMPLE_RATE: '1.5' })).toThrow(/SHADOW_SAMPLE_RATE.*0 to 1/);
  });
  it("carries the canary candidate's rate, never below the base rate", () => {
    const withCanary = routerEnvironment({
      ...ROUTER_SETTINGS,
      shadow: { sampleRate: 0.005, queueUrl: QUEUE_URL, canarySampleRate: 0.05 },
    });
    expect(parseRouterSettings(withCanary).shadow?.canarySampleRate).toBe(0.05);
    expect(parseRouterSettings({ ...withCanary, SHADOW_CANARY_SAMPLE_RATE: '0.001' }).shadow?.canarySampleRate).toBe(
      0.005,
    );
    expect(() => parseRouterSettings({ ...withCanary, SHADOW_CANARY_SAMPLE_RATE: '2' })).toThrow(
      /SHADOW_CANARY_SAMPLE_RATE.*0 to 1/,
    );
  });
});

describe('queryBucket (deterministic split by query)', () => {
  it('is stable per query, in [0, 1), and spreads distinct queries evenly', () => {
    expect(queryBucket('dog barking loudly')).toBe(queryBucket('dog barking loudly'));
    const values = Array.from({ length: 10000 }, (_, i) => queryBucket(`query number ${i}`));
    expect(values.every((v) => v >= 0 && v < 1)).toBe(true);
    const below = values.filter((v) => v < 0.1).length;
    expect(Math.abs(below - 1000)).toBeLessThan(4 * Math.sqrt(10000 * 0.1 * 0.9));
  });
});
