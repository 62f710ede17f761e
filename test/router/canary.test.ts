import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import { BedrockRuntimeClient, ConverseCommand, type ConverseCommandInput } from '@aws-sdk/client-bedrock-runtime';
import { SendMessageCommand, SQSClient, type SendMessageCommandOutput } from '@aws-sdk/client-sqs';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { normaliseQuery } from '../../lambda/core/query-key';
import { batchResponseSchema, routeResponseSchema } from '../../lambda/router/contract';
import { METRIC, VARIANT_DIMENSION } from '../../lambda/router/router';
import type { RouterSettings } from '../../lambda/router/settings';
import { buildRouterHandler } from '../../lambda/router/wiring';
import { activeModelFrom, withCanary, withoutCanary, type ActiveModel } from '../../lambda/core/active-model';
import { parseShadowMessage, queryBucket } from '../../lambda/core/shadow';
import { STUDENT_FORMATS } from '../../lambda/core/student-format';
import { AUDIO, DEPLOYMENT, METADATA, parameterReply, ROUTER_SETTINGS, studentReply } from '../helpers/router-fixtures';

/** The fixtures' promoted students were trained on student-v1 (JSON answers): they must keep working. */
const V1_PROMPT = STUDENT_FORMATS['student-v1'].prompt;

const bedrockMock = mockClient(BedrockRuntimeClient);
const ssmMock = mockClient(SSMClient);
const sqsMock = mockClient(SQSClient);

const INCUMBENT_ARN = DEPLOYMENT;
const CANDIDATE_ARN = 'arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/zzz999yyy888';
const INCUMBENT: ActiveModel = activeModelFrom({
  deploymentArn: INCUMBENT_ARN,
  modelArn: 'arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-micro-v1:0:128k/abc',
  runId: 'run-1',
  promotedAt: '2026-11-25T20:00:00.000Z',
  studentPromptVersion: 'student-v1',
  metrics: {},
});
const canaryOf = (share: number, studentPromptVersion = 'student-v1') =>
  withCanary(INCUMBENT, {
    deploymentArn: CANDIDATE_ARN,
    modelArn: 'arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-micro-v1:0:128k/def',
    runId: 'run-2',
    studentPromptVersion,
    share,
    startedAt: '2026-11-26T10:00:00.000Z',
    metrics: {},
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

/** One EMF record as Powertools serialises it: dimension values and metric values are top-level keys. */
type EmfRecord = ReturnType<Metrics['serializeMetrics']>;

/** The handler wired as in production; every flushed EMF record is kept (serialised by Powertools itself). */
function build(overrides: Partial<RouterSettings> = {}, sqs?: SQSClient, random: () => number = () => 0) {
  const logger = new Logger({ serviceName: 'intent-router', logLevel: 'DEBUG' });
  const warn = jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
  jest.spyOn(logger, 'info').mockImplementation(() => undefined);
  jest.spyOn(logger, 'debug').mockImplementation(() => undefined);
  const metrics = new Metrics({ namespace: 'Test', serviceName: 'intent-router' });
  const records: EmfRecord[] = [];
  const handler = buildRouterHandler({
    settings: { ...ROUTER_SETTINGS, ...overrides },
    bedrock: new BedrockRuntimeClient({ region: 'us-east-1' }),
    parameters: new SSMProvider({ awsSdkV3Client: new SSMClient({ region: 'us-east-1' }) }),
    ...(sqs ? { sqs, random } : {}),
    logger,
    metrics,
    flush: () => {
      if (metrics.hasStoredMetrics()) records.push(metrics.serializeMetrics());
      metrics.clearMetrics();
      metrics.clearDimensions();
    },
  });
  /** Sum of a metric's values over the records of one dimension set: service-only, or one Variant. */
  const sum = (name: string, variant?: 'incumbent' | 'candidate') =>
    records
      .filter((r) => r[VARIANT_DIMENSION] === variant)
      .map((r) => r[name])
      .flat()
      .reduce<number>((total, v) => total + (typeof v === 'number' ? v : 0), 0);
  /** The dimension sets each record declares (what CloudWatch aggregates it under). */
  const dimensionSets = () => records.map((r) => r._aws.CloudWatchMetrics[0]?.Dimensions ?? []);
  return { handler, records, sum, dimensionSets, warn };
}

/** Bedrock answers: the candidate deployment says audio, the incumbent metadata (so the answer tells who replied). */
function answerByDeployment() {
  bedrockMock
    .on(ConverseCommand)
    .callsFake((input: ConverseCommandInput) =>
      Promise.resolve(studentReply(input.modelId === CANDIDATE_ARN ? AUDIO : METADATA)),
    );
}

/** A query whose bucket (as the router computes it) falls on the wanted side of `share`. */
function queryIn(variant: 'incumbent' | 'candidate', share: number, prefix = 'q'): string {
  for (let i = 0; ; i++) {
    const query = `${prefix} ${i}`;
    if (queryBucket(normaliseQuery(query)) < share === (variant === 'candidate')) return query;
  }
}

beforeEach(() => {
  bedrockMock.reset();
  ssmMock.reset();
  sqsMock.reset();
});

describe('router canary: the split', () => {
  it.each([0.05, 0.1, 0.25])(
    'sends %p of 10,000 distinct queries to the candidate (within 1 point), with the student prompt',
    async (share) => {
      ssmMock.on(GetParameterCommand).resolves(parameterReply(JSON.stringify(canaryOf(share))));
      answerByDeployment();
      const { handler, sum } = build({ cacheSize: 0 });
      let candidate = 0;
      for (let batch = 0; batch < 400; batch++) {
        const queries = Array.from({ length: 25 }, (_, i) => `video search ${batch * 25 + i} clips`);
        const response = batchResponseSchema.parse(
          JSON.parse((await handler(event({ queries }, '/v1/route/batch'))).body),
        );
        candidate += response.results.filter((r) => r.model === CANDIDATE_ARN).length;
      }
      expect(Math.abs(candidate / 10_000 - share)).toBeLessThanOrEqual(0.01);
      const calls = bedrockMock.commandCalls(ConverseCommand).map((c) => c.args[0].input);
      expect(calls).toHaveLength(10_000);
      expect(calls.filter((c) => c.modelId === CANDIDATE_ARN)).toHaveLength(candidate);
      expect(new Set(calls.map((c) => c.system?.[0]?.text))).toEqual(new Set([V1_PROMPT]));
      // Per-variant metrics add up to the service-wide ones, which keep their own dimension set.
      expect(sum(METRIC.queries, 'candidate')).toBe(candidate);
      expect(sum(METRIC.queries, 'incumbent')).toBe(10_000 - candidate);
      expect(sum(METRIC.queries)).toBe(10_000);
    },
    60_000,
  );

  it('routes the same query (whatever its case and spacing) to the same variant every time', async () => {
    ssmMock.on(GetParameterCommand).resolves(parameterReply(JSON.stringify(canaryOf(0.3))));
    answerByDeployment();
    const { handler } = build({ cacheSize: 0 });
    for (const base of [queryIn('candidate', 0.3, 'cat'), queryIn('incumbent', 0.3, 'cat')]) {
      const spellings = [base, base.toUpperCase(), `  ${base.replace(' ', '   ')} `];
      const models = new Set<string>();
      for (let round = 0; round < 3; round++) {
        for (const query of spellings)
          models.add(routeResponseSchema.parse(JSON.parse((await handler(event({ query }))).body)).model);
      }
      expect(models.size).toBe(1);
    }
  });

  it('keeps a version-1 value (no schemaVersion, no canary) on the incumbent, with no per-variant record', async () => {
    const { schemaVersion: _v, ...v1 } = INCUMBENT;
    ssmMock.on(GetParameterCommand).resolves(parameterReply(JSON.stringify(v1)));
    answerByDeployment();
    const { handler, records, dimensionSets } = build();
    for (let i = 0; i < 50; i++) {
      expect(routeResponseSchema.parse(JSON.parse((await handler(event({ query: `q ${i}` }))).body)).model).toBe(
        INCUMBENT_ARN,
      );
    }
    expect(records.some((r) => VARIANT_DIMENSION in r)).toBe(false);
    expect(dimensionSets().flat()).toEqual(records.map(() => ['service']));
  });
});

describe('router canary: cache, metrics, refusals', () => {
  it("never serves one deployment's cached answer for another: a rollback re-asks the incumbent", async () => {
    const query = queryIn('candidate', 0.2);
    ssmMock
      .on(GetParameterCommand)
      .resolvesOnce(parameterReply(JSON.stringify(canaryOf(0.2))))
      .resolvesOnce(parameterReply(JSON.stringify(canaryOf(0.2))))
      .resolves(parameterReply(JSON.stringify(withoutCanary(canaryOf(0.2)))));
    answerByDeployment();
    const { handler } = build({ parameterCacheTtlSeconds: 0 });
    const routeOnce = async () => routeResponseSchema.parse(JSON.parse((await handler(event({ query }))).body));
    expect(await routeOnce()).toMatchObject({ model: CANDIDATE_ARN, source: 'student', dominant: 'audio' });
    expect(await routeOnce()).toMatchObject({ model: CANDIDATE_ARN, source: 'cache', dominant: 'audio' });
    // Rolled back: the same query now belongs to the incumbent, whose answer was never cached.
    expect(await routeOnce()).toMatchObject({ model: INCUMBENT_ARN, source: 'student', dominant: 'metadata' });
    expect(bedrockMock.commandCalls(ConverseCommand).map((c) => c.args[0].input.modelId)).toEqual([
      CANDIDATE_ARN,
      INCUMBENT_ARN,
    ]);
  });

  it('tags every per-query metric with the variant, in a record of its own; service-wide figures unchanged', async () => {
    ssmMock.on(GetParameterCommand).resolves(parameterReply(JSON.stringify(canaryOf(0.5))));
    // The candidate replies unusably: its InvalidReplies and Fallbacks must show under Variant=candidate only.
    bedrockMock
      .on(ConverseCommand)
      .callsFake((input: ConverseCommandInput) =>
        Promise.resolve(studentReply(input.modelId === CANDIDATE_ARN ? 'not json at all' : METADATA)),
      );
    const { handler, sum, dimensionSets, records } = build();
    const queries = [queryIn('candidate', 0.5, 'a'), queryIn('incumbent', 0.5, 'b'), queryIn('candidate', 0.5, 'c')];
    await handler(event({ queries }, '/v1/route/batch'));
    expect(dimensionSets()).toEqual([[['service']], [['service', 'Variant']], [['service', 'Variant']]]);
    expect(sum(METRIC.invalidReplies, 'candidate')).toBe(2);
    expect(sum(METRIC.invalidReplies, 'incumbent')).toBe(0);
    expect(sum(METRIC.invalidReplies)).toBe(2);
    expect(sum(METRIC.fallbacks, 'candidate')).toBe(2);
    expect(sum(METRIC.fallbacks, 'incumbent')).toBe(0);
    expect(sum(METRIC.queries, 'candidate')).toBe(2);
    expect(sum(METRIC.queries, 'incumbent')).toBe(1);
    // Latency per variant (what the canary's p99 alarm compares): one value per query of each variant.
    const latencies = (variant: 'incumbent' | 'candidate') =>
      records.filter((r) => r[VARIANT_DIMENSION] === variant).flatMap((r) => [r[METRIC.latency]].flat());
    expect(latencies('candidate')).toHaveLength(2);
    expect(latencies('incumbent')).toHaveLength(1);
  });

  it('serves the candidate share with the incumbent when its prompt version is unknown to the router, counted and warned once', async () => {
    ssmMock.on(GetParameterCommand).resolves(parameterReply(JSON.stringify(canaryOf(0.5, 'student-v0'))));
    answerByDeployment();
    const { handler, sum, warn } = build();
    const queries = [queryIn('candidate', 0.5, 'x'), queryIn('candidate', 0.5, 'y'), queryIn('incumbent', 0.5, 'z')];
    const response = batchResponseSchema.parse(JSON.parse((await handler(event({ queries }, '/v1/route/batch'))).body));
    expect(response.results.map((r) => r.model)).toEqual([INCUMBENT_ARN, INCUMBENT_ARN, INCUMBENT_ARN]);
    expect(bedrockMock.commandCalls(ConverseCommand, { modelId: CANDIDATE_ARN })).toHaveLength(0);
    expect(sum(METRIC.canaryRefused, 'candidate')).toBe(2);
    expect(sum(METRIC.canaryRefused, 'incumbent')).toBe(0);
    await handler(event({ queries }, '/v1/route/batch'));
    const refusals = warn.mock.calls.filter(([message]) => String(message).includes('canary.studentPromptVersion'));
    expect(refusals).toHaveLength(1);
    expect(String(refusals[0]?.[0])).toMatch(
      /"student-v0" is unknown to this release \(it knows student-v1, student-v2, student-v3, teacher-v1\).*rollback/,
    );
  });

  it("samples the candidate's queries at the canary rate, the incumbent's at the base rate", async () => {
    const sqs = new SQSClient({ region: 'us-east-1' });
    sqsMock.on(SendMessageCommand).resolves({
      $metadata: { httpStatusCode: 200, requestId: 'sqs-1' },
      MessageId: '5fea7756-0ea4-451a-a703-a558b933e274',
    });
    answerByDeployment();
    // Every draw is 0.5: above the base rate (0.1), below the canary rate (0.6).
    const shadow = {
      sampleRate: 0.1,
      canarySampleRate: 0.6,
      queueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/shadow',
    };
    const queries = [queryIn('candidate', 0.5, 'u'), queryIn('incumbent', 0.5, 'v')];
    ssmMock.on(GetParameterCommand).resolves(parameterReply(JSON.stringify(canaryOf(0.5))));
    await build({ shadow }, sqs, () => 0.5).handler(event({ queries }, '/v1/route/batch'));

    const bodies = sqsMock.commandCalls(SendMessageCommand).map((c) => c.args[0].input.MessageBody ?? '');
    const sampled = bodies.flatMap((b) => {
      const m = parseShadowMessage(b);
      return m.ok ? m.message.samples.map((x) => x.answer.variant) : [];
    });
    expect(sampled).toEqual(['candidate']);
  });

  it('tags each shadow sample with its variant during a canary, and adds no field without one', async () => {
    const sqs = new SQSClient({ region: 'us-east-1' });
    const sent: SendMessageCommandOutput = {
      $metadata: { httpStatusCode: 200, requestId: 'sqs-1' },
      MessageId: '5fea7756-0ea4-451a-a703-a558b933e274',
      MD5OfMessageBody: 'e99a18c428cb38d5f260853678922e03',
    };
    sqsMock.on(SendMessageCommand).resolves(sent);
    answerByDeployment();
    const shadow = { sampleRate: 1, queueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/shadow' };
    const queries = [queryIn('candidate', 0.5, 's'), queryIn('incumbent', 0.5, 't')];

    ssmMock.on(GetParameterCommand).resolves(parameterReply(JSON.stringify(canaryOf(0.5))));
    await build({ shadow }, sqs).handler(event({ queries }, '/v1/route/batch'));
    ssmMock.on(GetParameterCommand).resolves(parameterReply(JSON.stringify(INCUMBENT)));
    await build({ shadow }, sqs).handler(event({ queries }, '/v1/route/batch'));

    const messages = sqsMock
      .commandCalls(SendMessageCommand)
      .map((c) => parseShadowMessage(c.args[0].input.MessageBody ?? ''));
    const answers = messages.map((m) => (m.ok ? m.message.samples.map((s) => [s.answer.model, s.answer.variant]) : []));
    expect(answers).toEqual([
      [
        [CANDIDATE_ARN, 'candidate'],
        [INCUMBENT_ARN, 'incumbent'],
      ],
      [
        [INCUMBENT_ARN, undefined],
        [INCUMBENT_ARN, undefined],
      ],
    ]);
    expect(sqsMock.commandCalls(SendMessageCommand)[1]?.args[0].input.MessageBody).not.toContain('variant');
  });
});
