import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { metrics as pipelineMetrics } from '../../lambda/core/runtime';
import { labelShadowEvent } from '../../lambda/shadow/labeller';
import { METRIC } from '../../lambda/router/router';
import { buildRouterHandler } from '../../lambda/router/wiring';
import { HELD_OUT_LIMITS, validateDataset } from '../../lambda/core/dataset-validator';
import { DEFAULT_PRICES } from '../../lambda/core/prices';
import { PRODUCTION_RECORDS_PREFIX, readProductionLines } from '../../lambda/core/production-records';
import { CURRENT_STUDENT_FORMAT } from '../../lambda/core/student-format';
import { converseReply, InMemoryS3, requestTexts } from '../helpers/aws-mocks';
import { sqsRecord } from './fixtures';
import { DEPLOYMENT, ROUTER_SETTINGS } from '../helpers/router-fixtures';

/**
 * The production loop run locally, SDK mocked at the boundary only: the router answers sampled requests and hands
 * them off (SendMessage captured), the labeller handler gets an SQS event made of those bodies, the teacher labels
 * them, records land in an in-memory S3 and the quality metrics come out.
 */
const bedrockMock = mockClient(BedrockRuntimeClient);
const ssmMock = mockClient(SSMClient);
const sqsMock = mockClient(SQSClient);
const BUCKET = 'dataset-bucket';
const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/intent-router-test-shadow';

/** The student says audio for everything; the teacher says visual for "car" queries, audio otherwise. */
const STUDENT = { visual: 0.3, audio: 0.6, transcription: 0, metadata: 0.1 };
const TEACHER_VISUAL = { visual: 0.9, audio: 0, transcription: 0, metadata: 0.1 };
/** One fixed wall clock for the router (it stamps each sample) and the labeller: the record's day comes from it. */
const CLOCK = () => new Date('2026-11-26T10:00:00.000Z');

it('router sampling → hand-off → labeller → records in S3 → metrics', async () => {
  process.env['BUCKET_NAME'] = BUCKET;
  process.env['TEACHER_MODEL_ID'] = 'us.amazon.nova-pro-v1:0';
  process.env['PRICE_TABLE'] = JSON.stringify(DEFAULT_PRICES);
  process.env['SHADOW_LABEL_BATCH_SIZE'] = '1';
  process.env['ACTIVE_MODEL_PARAMETER_NAME'] = '/intent-router/test/active-model';
  process.env['REDACTION_GUARDRAIL_ID'] = 'none';
  const s3 = new InMemoryS3();
  ssmMock.on(GetParameterCommand).resolves({
    $metadata: { httpStatusCode: 200 },
    Parameter: {
      Name: '/intent-router/test/active-model',
      Type: 'String',
      Version: 2,
      Value: JSON.stringify({
        deploymentArn: DEPLOYMENT,
        modelArn: 'arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-micro-v1:0:128k/abc',
        runId: 'run-1',
        promotedAt: '2026-11-25T20:00:00.000Z',
        studentPromptVersion: 'student-v2',
      }),
    },
  });
  bedrockMock.on(ConverseCommand).callsFake(async (input) => {
    const { system, user } = requestTexts(input);
    // A student trained on student-v2 answers in tenths; the teacher in its own JSON.
    if (system === CURRENT_STUDENT_FORMAT.prompt) return converseReply('3 6 0 1', { inputTokens: 45, outputTokens: 7 });
    return converseReply(JSON.stringify(user.includes('car') ? TEACHER_VISUAL : STUDENT));
  });
  sqsMock.on(SendMessageCommand).resolves({ $metadata: { httpStatusCode: 200 }, MessageId: 'sqs-message-1' });

  // --- the router, sampling every query (rate 1) so the loop is fully exercised
  const routerMetrics = new Metrics({ namespace: 'Test', serviceName: 'intent-router' });
  const addMetric = jest.spyOn(routerMetrics, 'addMetric');
  const logger = new Logger({ serviceName: 'intent-router' });
  jest.spyOn(logger, 'info').mockImplementation(() => undefined);
  const router = buildRouterHandler({
    settings: { ...ROUTER_SETTINGS, shadow: { sampleRate: 1, queueUrl: QUEUE_URL } },
    bedrock: new BedrockRuntimeClient({ region: 'us-east-1' }),
    parameters: new SSMProvider({ awsSdkV3Client: new SSMClient({ region: 'us-east-1' }) }),
    sqs: new SQSClient({ region: 'us-east-1' }),
    clock: CLOCK,
    logger,
    metrics: routerMetrics,
    flush: () => routerMetrics.clearMetrics(),
  });
  const queries = ['dog barking loudly', 'red car on a coastal road', 'dog barking loudly', 'piano music'];
  for (const query of queries) {
    const result = await router({
      resource: '/v1/route',
      path: '/v1/route',
      httpMethod: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ query }),
      isBase64Encoded: false,
      requestContext: { requestId: `req-${query}` },
    });
    expect(result.statusCode).toBe(200);
  }
  const bodies = sqsMock.commandCalls(SendMessageCommand).map((c) => c.args[0].input.MessageBody ?? '');
  expect(bodies).toHaveLength(4);
  // Each sample says the format its answer came in, the cached repeat included.
  expect(bodies.every((b) => b.includes('"promptVersion":"student-v2"'))).toBe(true);
  expect(addMetric.mock.calls.filter(([name]) => name === METRIC.shadowHandoffs)).toHaveLength(4);

  // --- the labeller, on the SQS event those bodies make
  const emf: Record<string, unknown>[] = [];
  jest.spyOn(pipelineMetrics, 'publishStoredMetrics').mockImplementation(() => {
    emf.push({ ...pipelineMetrics.serializeMetrics() });
    pipelineMetrics.clearMetrics();
    pipelineMetrics.clearDimensions();
    return pipelineMetrics;
  });
  const event: SQSEvent = { Records: bodies.map((body, i) => sqsRecord(`msg-${i}`, body)) };
  const response = await labelShadowEvent(event, {
    sleep: async () => undefined,
    now: CLOCK,
  });
  expect(response.batchItemFailures).toEqual([]);

  // --- records: one validated object under the day prefix, the teacher's labels as answers
  const [key, ...others] = s3.keys(BUCKET);
  expect(others).toEqual([]);
  expect(key?.startsWith(`${PRODUCTION_RECORDS_PREFIX}date=2026-11-26/`)).toBe(true);
  const text = s3.get(BUCKET, key ?? '') ?? '';
  expect(validateDataset(text, HELD_OUT_LIMITS)).toEqual({ ok: true, records: 4, labelled: 4 });
  expect(readProductionLines(text).find((l) => l.ok && l.query.includes('car'))).toMatchObject({
    weights: TEACHER_VISUAL,
  });

  // --- metrics: the student disagreed on the car query only; the repeat was a cache hit, reported apart
  const agreement = (source: string) =>
    emf
      .filter((b) => b['source'] === source && b['ShadowDominantAgreement'] !== undefined)
      .flatMap((b) => [b['ShadowDominantAgreement']].flat());
  expect(agreement('student').sort()).toEqual([0, 1, 1]);
  expect(agreement('cache')).toEqual([1]);
  const total = emf.find((b) => b['source'] === undefined && b['ShadowSamplesLabelled'] !== undefined);
  expect(total).toMatchObject({ ShadowSamplesLabelled: 4, ShadowLabelFailures: 0, ShadowRecordsWritten: 4 });
  expect(Number(total?.['ShadowTeacherCostUsd'])).toBeGreaterThan(0);
  s3.restore();
});
