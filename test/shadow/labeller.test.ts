import {
  BedrockRuntimeClient,
  ConverseCommand,
  AccessDeniedException,
  type ConverseCommandInput,
} from '@aws-sdk/client-bedrock-runtime';
import { S3Client } from '@aws-sdk/client-s3';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { metrics } from '../../lambda/core/runtime';
import { labelShadowEvent, labellerHandler } from '../../lambda/shadow/labeller';
import { teacherBatchPrompt } from '../../lambda/core/batch-labelling';
import { labelBatchSizeReader } from '../../lambda/shadow/label-batch-size';
import { s3RunStore } from '../../lambda/core/run-store';
import { lambdaContext } from '../helpers/lambda-context';
import { validateDataset, HELD_OUT_LIMITS } from '../../lambda/core/dataset-validator';
import { DEFAULT_PRICES } from '../../lambda/core/prices';
import { dayOfKey } from '../../lambda/core/production-records';
import { teacherPrompt } from '../../lambda/core/teacher-prompt';
import { CURRENT_STUDENT_FORMAT } from '../../lambda/core/student-format';
import { encodeShadowMessage } from '../../lambda/core/shadow';
import { converseReply, InMemoryS3, requestTexts, throttling } from '../helpers/aws-mocks';
import { AUDIO, DEPLOYMENT, sample, sqsRecord } from './fixtures';

const BUCKET = 'dataset-bucket';
const TEACHER = 'us.amazon.nova-pro-v1:0';
const VISUAL = { visual: 0.9, audio: 0, transcription: 0, metadata: 0.1 };

const bedrockMock = mockClient(BedrockRuntimeClient);
let s3: InMemoryS3;

/** What Powertools would print, one EMF object per flush. */
let emf: Record<string, unknown>[] = [];
beforeAll(() => {
  process.env['BUCKET_NAME'] = BUCKET;
  process.env['TEACHER_MODEL_ID'] = TEACHER;
  process.env['PRICE_TABLE'] = JSON.stringify(DEFAULT_PRICES);
  process.env['SHADOW_LABEL_BATCH_SIZE'] = '1';
  process.env['ACTIVE_MODEL_PARAMETER_NAME'] = '/intent-router/test/active-model';
  process.env['REDACTION_GUARDRAIL_ID'] = 'none'; // redaction: test/shadow/redaction.test.ts
  jest.spyOn(metrics, 'publishStoredMetrics').mockImplementation(() => {
    emf.push({ ...metrics.serializeMetrics() });
    metrics.clearMetrics();
    metrics.clearDimensions();
    return metrics;
  });
});
beforeEach(() => {
  bedrockMock.reset();
  s3 = new InMemoryS3();
  emf = [];
});
afterEach(() => s3.restore());

const noSleep = async () => undefined;
const now = () => new Date('2026-11-26T10:05:00.000Z');
/** Metric values in the flushed EMF objects whose dimension sets include exactly `dims` (besides service). */
function values(name: string, dims: Record<string, string> = {}): number[] {
  const out: number[] = [];
  for (const blob of emf) {
    const aws = blob['_aws'] as { CloudWatchMetrics: { Dimensions: string[][] }[] };
    const sets = aws.CloudWatchMetrics[0]?.Dimensions ?? [];
    const wanted = ['service', ...Object.keys(dims)].sort().join(',');
    if (!sets.some((set) => [...set].sort().join(',') === wanted)) continue;
    if (Object.entries(dims).some(([k, v]) => blob[k] !== v)) continue;
    const v = blob[name];
    if (v === undefined) continue;
    out.push(...(Array.isArray(v) ? (v as number[]) : [v as number]));
  }
  return out;
}

describe('shadow labeller handler', () => {
  it('labels with the teacher prompt, writes validated records under the day prefix, and emits metrics per source and model', async () => {
    bedrockMock.on(ConverseCommand).callsFake(async (input) => {
      const { user } = requestTexts(input);
      return converseReply(JSON.stringify(user.includes('car') ? VISUAL : AUDIO), {
        inputTokens: 365,
        outputTokens: 30,
      });
    });
    const event: SQSEvent = {
      Records: [
        sqsRecord('m-1', encodeShadowMessage([sample('dog barking loudly'), sample('red car on a road')])),
        sqsRecord('m-2', encodeShadowMessage([sample('dog barking loudly', { source: 'cache', cached: true })])),
      ],
    };
    const result = await labelShadowEvent(event, { sleep: noSleep, now });
    expect(result).toEqual({ batchItemFailures: [] });

    const input = bedrockMock.commandCalls(ConverseCommand)[0]?.args[0].input;
    expect(input).toMatchObject({
      modelId: TEACHER,
      system: [{ text: teacherPrompt(false) }],
      inferenceConfig: { temperature: 0 },
    });
    const keys = s3.keys(BUCKET);
    expect(keys).toHaveLength(1);
    expect(dayOfKey(keys[0] ?? '')).toBe('2026-11-26');
    // Named after the earliest sample and the batch's messages, not the write time: a redelivery lands on it again.
    expect(keys[0]).toMatch(/^production\/records\/date=2026-11-26\/2026-11-26T10-00-00-000Z-[0-9a-f]{32}\.jsonl$/);
    const text = s3.get(BUCKET, keys[0] ?? '') ?? '';
    expect(validateDataset(text, HELD_OUT_LIMITS)).toEqual({ ok: true, records: 3, labelled: 3 });
    const first = JSON.parse(text.split('\n')[0] ?? '{}') as { system: { text: string }[] };
    expect(first.system[0]?.text).toBe(CURRENT_STUDENT_FORMAT.prompt);
    expect(s3.puts[0]?.ifNoneMatch).toBe('*');

    // Per sample, by source and by source + model: the student disagreed on the car query.
    expect(values('ShadowDominantAgreement', { source: 'student' }).sort()).toEqual([0, 1]);
    expect(values('ShadowDominantAgreement', { source: 'student', model: DEPLOYMENT }).sort()).toEqual([0, 1]);
    expect(values('ShadowDominantAgreement', { source: 'cache' })).toEqual([1]);
    expect(values('ShadowWeightError', { source: 'student' }).sort()).toEqual([0, 0.3]);
    expect(values('ShadowSamplesLabelled', { source: 'student' })).toEqual([2]);
    expect(values('ShadowSamplesLabelled')).toEqual([3]);
    expect(values('ShadowLabelFailures')).toEqual([0]);
    // 3 calls × (365 in, 30 out) at Nova Pro's price.
    const cost = values('ShadowTeacherCostUsd')[0] ?? NaN;
    expect(cost).toBeCloseTo((3 * (365 * 0.8 + 30 * 3.2)) / 1e6, 9);
  });

  it('reports agreement per canary variant (Variant dimension) for samples tagged with one, and none otherwise', async () => {
    bedrockMock.on(ConverseCommand).callsFake(async (input) => {
      const { user } = requestTexts(input);
      return converseReply(JSON.stringify(user.includes('car') ? VISUAL : AUDIO));
    });
    const event: SQSEvent = {
      Records: [
        sqsRecord(
          'm-1',
          encodeShadowMessage([
            sample('dog barking loudly', { variant: 'candidate' }),
            sample('red car on a road', { variant: 'candidate' }),
            sample('dog barking again', { variant: 'incumbent' }),
          ]),
        ),
      ],
    };
    await labelShadowEvent(event, { sleep: noSleep, now });
    // The fixture answers audio: the candidate disagreed on the car query.
    expect(values('ShadowDominantAgreement', { Variant: 'candidate' }).sort()).toEqual([0, 1]);
    expect(values('ShadowDominantAgreement', { Variant: 'incumbent' })).toEqual([1]);
    expect(values('ShadowDominantAgreement', { source: 'student' }).sort()).toEqual([0, 1, 1]);

    emf = [];
    await labelShadowEvent(
      { Records: [sqsRecord('m-2', encodeShadowMessage([sample('dog barking loudly')]))] },
      { sleep: noSleep, now },
    );
    expect(emf.some((blob) => 'Variant' in blob)).toBe(false);
  });

  it('drops a malformed message (no retry), labels the rest', async () => {
    bedrockMock.on(ConverseCommand).resolves(converseReply(JSON.stringify(AUDIO)));
    const event: SQSEvent = {
      Records: [
        sqsRecord('bad-json', 'not json'),
        sqsRecord('bad-shape', JSON.stringify({ version: 'shadow-v1', samples: [{ query: '' }] })),
        sqsRecord('good', encodeShadowMessage([sample('dog barking loudly')])),
      ],
    };
    const result = await labelShadowEvent(event, { sleep: noSleep, now });
    expect(result.batchItemFailures).toEqual([]);
    expect(values('ShadowMalformedMessages')).toEqual([2]);
    expect(values('ShadowLabelFailures')).toEqual([2]);
    expect(values('ShadowSamplesLabelled')).toEqual([1]);
    expect(s3.keys(BUCKET)).toHaveLength(1);
  });

  it('writes a redelivered batch once: the same messages land on the same key, written once', async () => {
    bedrockMock.on(ConverseCommand).resolves(converseReply(JSON.stringify(AUDIO)));
    const event: SQSEvent = {
      Records: [
        sqsRecord('m-1', encodeShadowMessage([sample('dog barking loudly')])),
        sqsRecord('m-2', encodeShadowMessage([sample('rain on a tin roof')])),
      ],
    };
    await labelShadowEvent(event, { sleep: noSleep, now });
    const later = () => new Date('2026-11-26T10:20:00.000Z');
    await labelShadowEvent({ Records: [...event.Records].reverse() }, { sleep: noSleep, now: later });
    expect(s3.keys(BUCKET)).toHaveLength(1);
    expect(s3.puts.map((p) => p.key)).toEqual([s3.keys(BUCKET)[0], s3.keys(BUCKET)[0]]);
  });

  it('retries teacher throttling with backoff, then reports only the still-throttled message as a batch item failure', async () => {
    let throttledCalls = 0;
    bedrockMock.on(ConverseCommand).callsFake(async (input) => {
      const { user } = requestTexts(input);
      if (user === 'always throttled') {
        throttledCalls++;
        throw throttling();
      }
      if (user === 'throttled once' && throttledCalls++ === 0) throw throttling();
      return converseReply(JSON.stringify(AUDIO));
    });
    const sleeps: number[] = [];
    const event: SQSEvent = {
      Records: [
        sqsRecord('m-ok', encodeShadowMessage([sample('throttled once')])),
        sqsRecord('m-throttled', encodeShadowMessage([sample('always throttled'), sample('fine query')])),
      ],
    };
    const result = await labelShadowEvent(event, {
      sleep: async (ms) => void sleeps.push(ms),
      now,
    });
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-throttled' }] });
    expect(sleeps.length).toBeGreaterThanOrEqual(4); // 1 for "throttled once", 3 for the 4 attempts of the other
    // Records and figures only from the message that succeeded whole (a redelivery must not count twice).
    const text = s3.get(BUCKET, s3.keys(BUCKET)[0] ?? '') ?? '';
    expect(text.split('\n').filter(Boolean)).toHaveLength(1);
    expect(text).toContain('throttled once');
    expect(values('ShadowSamplesLabelled')).toEqual([1]);
    expect(values('ShadowLabelFailures', { source: 'student' })).toEqual([2]);
  });

  it('a non-retryable teacher error (access denied) fails the message at once, for the DLQ', async () => {
    bedrockMock
      .on(ConverseCommand)
      .rejects(new AccessDeniedException({ message: 'no access', $metadata: { httpStatusCode: 403 } }));
    const result = await labelShadowEvent(
      { Records: [sqsRecord('m-1', encodeShadowMessage([sample('dog barking loudly')]))] },
      { sleep: noSleep, now },
    );
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'm-1' }]);
    expect(bedrockMock.commandCalls(ConverseCommand)).toHaveLength(1);
    expect(s3.keys(BUCKET)).toEqual([]);
  });

  it('invalid teacher output: retried once, then counted as a label failure, no record, message done', async () => {
    bedrockMock.on(ConverseCommand).resolves(converseReply('I think it is mostly audio.'));
    const result = await labelShadowEvent(
      { Records: [sqsRecord('m-1', encodeShadowMessage([sample('dog barking loudly')]))] },
      { sleep: noSleep, now },
    );
    expect(result.batchItemFailures).toEqual([]);
    expect(bedrockMock.commandCalls(ConverseCommand)).toHaveLength(2);
    expect(values('ShadowLabelFailures', { source: 'student' })).toEqual([1]);
    expect(s3.keys(BUCKET)).toEqual([]);
  });

  it('a live query that breaks a dataset rule is measured but never written as a record', async () => {
    bedrockMock.on(ConverseCommand).resolves(converseReply(JSON.stringify(AUDIO)));
    await labelShadowEvent(
      {
        Records: [
          sqsRecord('m-1', encodeShadowMessage([sample('System: linux boot sound'), sample('dog barking loudly')])),
        ],
      },
      { sleep: noSleep, now },
    );
    const text = s3.get(BUCKET, s3.keys(BUCKET)[0] ?? '') ?? '';
    expect(validateDataset(text, HELD_OUT_LIMITS)).toMatchObject({ ok: true, records: 1 });
    expect(values('ShadowSamplesLabelled')).toEqual([2]);
    expect(values('ShadowRecordsWritten')).toEqual([1]);
  });
});

describe('shadow labeller: agreement by who answered', () => {
  it('credits a cached student answer to the student (AnsweredBy=student), a cached fallback answer to the fallback', async () => {
    bedrockMock.on(ConverseCommand).resolves(converseReply(JSON.stringify(AUDIO)));
    const FALLBACK = 'us.amazon.nova-lite-v1:0';
    const event: SQSEvent = {
      Records: [
        sqsRecord(
          'm-1',
          encodeShadowMessage([
            sample('dog barking'),
            sample('cat purring', { source: 'cache', cached: true }),
            sample('bird song', {
              source: 'cache',
              cached: true,
              model: FALLBACK,
              weights: VISUAL,
              dominant: 'visual',
            }),
            sample('rain falling', { source: 'fallback-model', model: FALLBACK }),
          ]),
        ),
      ],
    };
    await labelShadowEvent(event, { sleep: noSleep, now });
    expect(values('ShadowDominantAgreement', { AnsweredBy: 'student' })).toEqual([1, 1]);
    expect(values('ShadowDominantAgreement', { AnsweredBy: 'fallback-model' })).toEqual([0, 1]);
    // The per-source breakdown still tells cache hits apart.
    expect(values('ShadowDominantAgreement', { source: 'cache' })).toEqual([1, 0]);
    expect(values('ShadowDominantAgreement', { source: 'student' })).toEqual([1]);
  });
});

describe('shadow labeller: deadline and batches', () => {
  const ssmMock = mockClient(SSMClient);
  const PARAMETER = '/intent-router/test/active-model';
  afterEach(() => {
    process.env['SHADOW_LABEL_BATCH_SIZE'] = '1';
    ssmMock.reset();
  });

  /** The teacher: a batch request gets `{"labels":[…]}` for its ids (less `omit`), a single one its weights. */
  const teacher = (omit: readonly string[] = []) =>
    bedrockMock.on(ConverseCommand).callsFake(async (input: ConverseCommandInput) => {
      const { user } = requestTexts(input);
      const weightsOf = (query: string) => (query.includes('car') ? VISUAL : AUDIO);
      const array = user.indexOf('\n[');
      if (array === -1) return converseReply(JSON.stringify(weightsOf(user)));
      const items = JSON.parse(user.slice(array + 1)) as { id: number; query: string }[];
      const labels = items.filter((i) => !omit.includes(i.query)).map((i) => ({ id: i.id, ...weightsOf(i.query) }));
      return converseReply(JSON.stringify({ labels }), { inputTokens: 900, outputTokens: 40 * labels.length });
    });

  it('near the function timeout starts nothing new: unstarted messages go back unbilled, not as failures', async () => {
    let remaining = 60_000;
    // Each teacher call takes 10 s of the invocation's time; the margin is 30 s.
    bedrockMock.on(ConverseCommand).callsFake(async () => {
      remaining -= 10_000;
      return converseReply(JSON.stringify(AUDIO));
    });
    const event: SQSEvent = {
      Records: Array.from({ length: 6 }, (_, i) =>
        sqsRecord(`m-${i + 1}`, encodeShadowMessage([sample(`dog barking ${i + 1}`)])),
      ),
    };
    const result = await labelShadowEvent(event, { sleep: noSleep, now, remainingMs: () => remaining });
    // Four calls start at once (60 s left); then 20 s are left, under the margin: m-5 and m-6 are not sent.
    expect(bedrockMock.commandCalls(ConverseCommand)).toHaveLength(4);
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-5' }, { itemIdentifier: 'm-6' }] });
    expect(values('ShadowLabelFailures')).toEqual([0]);
    expect(values('ShadowSamplesLabelled')).toEqual([4]);
    expect(s3.keys(BUCKET)).toHaveLength(1);
  });

  it('the handler reads the deadline from the Lambda context', async () => {
    bedrockMock.on(ConverseCommand).resolves(converseReply(JSON.stringify(AUDIO)));
    const event: SQSEvent = { Records: [sqsRecord('m-1', encodeShadowMessage([sample('dog barking')]))] };
    const late = { ...lambdaContext(), getRemainingTimeInMillis: () => 5_000 };
    const result = await labellerHandler({ sleep: noSleep, now })(event, late);
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-1' }] });
    expect(bedrockMock.commandCalls(ConverseCommand)).toHaveLength(0);
  });

  it('auto: labels in teacher calls of the promoted run’s calibrated batch size, re-asking what a reply left out', async () => {
    process.env['SHADOW_LABEL_BATCH_SIZE'] = 'auto';
    ssmMock.on(GetParameterCommand, { Name: PARAMETER }).resolves({
      $metadata: { httpStatusCode: 200 },
      Parameter: {
        Name: PARAMETER,
        Type: 'String',
        Version: 3,
        Value: JSON.stringify({
          deploymentArn: DEPLOYMENT,
          modelArn: 'arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-micro-v1:0:128k/abc',
          runId: 'run-9',
          promotedAt: '2026-11-20T00:00:00.000Z',
          studentPromptVersion: 'student-v1',
        }),
      },
    });
    s3.set(
      BUCKET,
      'runs/run-9/calibration.json',
      JSON.stringify({ calibrationVersion: 'calibration-v1', runId: 'run-9', labelBatchSize: 10, calibrated: true }),
    );
    teacher(['red car 3']);
    const queries = Array.from({ length: 12 }, (_, i) => (i % 3 === 0 ? `red car ${i}` : `dog barking ${i}`));
    const event: SQSEvent = {
      Records: [0, 5, 10].map((from, m) =>
        sqsRecord(`m-${m + 1}`, encodeShadowMessage(queries.slice(from, from + 5).map((q) => sample(q)))),
      ),
    };
    const result = await labelShadowEvent(event, { sleep: noSleep, now });
    expect(result).toEqual({ batchItemFailures: [] });
    const calls = bedrockMock.commandCalls(ConverseCommand).map((c) => requestTexts(c.args[0].input));
    // 12 queries at 10 a call: 2 batch calls, and "red car 3" (left out of the first reply) asked again alone.
    expect(calls).toHaveLength(3);
    expect(calls.filter((c) => c.system === teacherBatchPrompt(false))).toHaveLength(2);
    expect(calls.filter((c) => c.user === 'red car 3')).toHaveLength(1);
    expect(values('ShadowSamplesLabelled')).toEqual([12]);
    expect(values('ShadowLabelFailures')).toEqual([0]);
    expect(values('ShadowDominantAgreement', { source: 'student' })).toHaveLength(12);
  });

  it('a configured shadowLabelBatchSize is used as it is; nothing promoted under auto labels one query per call', async () => {
    const store = s3RunStore(new S3Client({}), BUCKET);
    const ssm = new SSMClient({});
    expect(await labelBatchSizeReader({ configured: 7, parameterName: PARAMETER, ssm, store })()).toEqual({
      size: 7,
      from: 'configured',
    });
    ssmMock.on(GetParameterCommand).resolves({
      $metadata: { httpStatusCode: 200 },
      Parameter: { Name: PARAMETER, Type: 'String', Value: 'none', Version: 1 },
    });
    expect(await labelBatchSizeReader({ configured: 'auto', parameterName: PARAMETER, ssm, store })()).toMatchObject({
      size: 1,
      from: 'default',
    });
  });
});
