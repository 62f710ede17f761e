import { ListObjectsV2Command, type ListObjectsV2CommandInput } from '@aws-sdk/client-s3';
import { GetParameterCommand, ParameterNotFound, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import * as fc from 'fast-check';
import { metrics } from '../../lambda/core/runtime';
import { driftHandler } from '../../lambda/shadow/drift';
import { countDominants, driftOf, jensenShannon, type Distribution } from '../../lambda/shadow/drift-figures';
import { MODALITIES } from '../../lambda/core/modality';
import {
  productionRecordsFile,
  productionRecordsKey,
  timeOfKey,
  windowDayPrefixes,
} from '../../lambda/core/production-records';
import { InMemoryS3 } from '../helpers/aws-mocks';
import { lambdaContext } from '../helpers/lambda-context';

const dist = fc
  .tuple(fc.nat(1000), fc.nat(1000), fc.nat(1000), fc.nat(1000))
  .filter((t) => t.some((n) => n > 0))
  .map(([visual, audio, transcription, metadata]): Distribution => ({ visual, audio, transcription, metadata }));

describe('Jensen–Shannon divergence', () => {
  it('is 0 for identical distributions (also when given as counts of another scale)', () => {
    fc.assert(
      fc.property(dist, fc.integer({ min: 1, max: 50 }), (p, k) => {
        const scaled = Object.fromEntries(MODALITIES.map((m) => [m, p[m] * k])) as Distribution;
        expect(jensenShannon(p, scaled)).toBeCloseTo(0, 12);
      }),
    );
  });
  it('is symmetric and within [0, 1], defined with empty bins', () => {
    fc.assert(
      fc.property(dist, dist, (p, q) => {
        const pq = jensenShannon(p, q) ?? NaN;
        expect(pq).toBeGreaterThanOrEqual(0);
        expect(pq).toBeLessThanOrEqual(1);
        expect(pq).toBeCloseTo(jensenShannon(q, p) ?? NaN, 12);
      }),
    );
  });
  it('is 1 for disjoint distributions and undefined without data', () => {
    const onlyVisual = { visual: 5, audio: 0, transcription: 0, metadata: 0 };
    const onlyAudio = { visual: 0, audio: 3, transcription: 0, metadata: 0 };
    expect(jensenShannon(onlyVisual, onlyAudio)).toBeCloseTo(1, 12);
    expect(jensenShannon(onlyVisual, { visual: 0, audio: 0, transcription: 0, metadata: 0 })).toBeUndefined();
    expect(() => jensenShannon({ ...onlyVisual, audio: -1 }, onlyAudio)).toThrow(/"audio" must be a finite count/);
  });
  it('matches a hand-computed value', () => {
    // P = (1/2, 1/2, 0, 0), Q = (1/2, 0, 1/2, 0): M = (1/2, 1/4, 1/4, 0); JS = ½·(½·0 + ½·1)·2 = 0.5 bits.
    expect(
      jensenShannon(
        { visual: 1, audio: 1, transcription: 0, metadata: 0 },
        { visual: 1, audio: 0, transcription: 1, metadata: 0 },
      ),
    ).toBeCloseTo(0.5, 12);
  });
  it('driftOf counts the live samples and reports no divergence without training shares', () => {
    expect(driftOf(undefined, ['audio', 'audio'])).toEqual({ samples: 2, live: countDominants(['audio', 'audio']) });
  });
});

describe('production record keys over a window', () => {
  it('reads the write time back from the key, and lists the days a 24 h window touches', () => {
    const at = new Date('2026-11-26T09:15:00.250Z');
    expect(timeOfKey(productionRecordsKey(at, 'm-1'))).toEqual(at);
    expect(windowDayPrefixes(at, 24)).toEqual([
      'production/records/date=2026-11-25/',
      'production/records/date=2026-11-26/',
    ]);
    expect(windowDayPrefixes(new Date('2026-11-26T00:00:00.000Z'), 24)).toEqual([
      'production/records/date=2026-11-25/',
      'production/records/date=2026-11-26/',
    ]);
  });
});

describe('drift function end to end (mocked S3 and SSM)', () => {
  const BUCKET = 'dataset-bucket';
  const PARAMETER = '/intent-router/test/active-model';
  const ssmMock = mockClient(SSMClient);
  let s3: InMemoryS3;
  let emf: Record<string, unknown>[] = [];
  const now = () => new Date('2026-11-26T12:00:00.000Z');
  // Through the handler (as the schedule invokes it), so that the metrics are those its middleware flushes.
  const drift = () => driftHandler({ now })({}, lambdaContext());
  const promoted = (runId: string) =>
    JSON.stringify({
      deploymentArn: 'arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/abc123def456',
      modelArn: 'arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-micro-v1:0:128k/abc',
      runId,
      promotedAt: '2026-11-20T00:00:00.000Z',
      studentPromptVersion: 'student-v1',
    });
  const W = {
    visual: { visual: 0.9, audio: 0, transcription: 0, metadata: 0.1 },
    audio: { visual: 0.3, audio: 0.6, transcription: 0, metadata: 0.1 },
  };

  beforeAll(() => {
    process.env['BUCKET_NAME'] = BUCKET;
    process.env['ACTIVE_MODEL_PARAMETER_NAME'] = PARAMETER;
    jest.spyOn(metrics, 'publishStoredMetrics').mockImplementation(() => {
      emf.push({ ...metrics.serializeMetrics() });
      metrics.clearMetrics();
      return metrics;
    });
  });
  beforeEach(() => {
    emf = [];
    ssmMock.reset();
    s3 = new InMemoryS3();
    // ListObjectsV2 over the in-memory bucket, one key per page to exercise the pagination.
    s3.mock.on(ListObjectsV2Command).callsFake(async (input: ListObjectsV2CommandInput) => {
      const keys = s3
        .keys(input.Bucket ?? '')
        .filter((k) => k.startsWith(input.Prefix ?? ''))
        .sort();
      const from = Number(input.ContinuationToken ?? 0);
      const page = keys.slice(from, from + 1);
      const more = from + 1 < keys.length;
      return {
        $metadata: { httpStatusCode: 200 },
        Contents: page.map((Key) => ({ Key, Size: 1 })),
        KeyCount: page.length,
        IsTruncated: more,
        ...(more ? { NextContinuationToken: String(from + 1) } : {}),
      };
    });
    s3.set(
      BUCKET,
      'runs/run-7/dataset/manifest.json',
      JSON.stringify({
        counts: { train: { shares: { visual: 0.25, audio: 0.25, transcription: 0.25, metadata: 0.25 } } },
      }),
    );
  });
  afterEach(() => s3.restore());

  const write = (at: string, id: string, labels: (keyof typeof W)[]) =>
    s3.set(
      BUCKET,
      productionRecordsKey(new Date(at), id),
      productionRecordsFile(labels.map((l, i) => ({ query: `${l} query ${id} ${i}`, teacherWeights: W[l] }))).text,
    );

  it('measures the last 24 h of teacher labels against the promoted run’s training shares', async () => {
    ssmMock.on(GetParameterCommand, { Name: PARAMETER }).resolves({
      $metadata: { httpStatusCode: 200 },
      Parameter: { Name: PARAMETER, Type: 'String', Value: promoted('run-7'), Version: 4 },
    });
    write('2026-11-25T13:00:00.000Z', 'y1', ['visual', 'audio']); // yesterday, inside the window
    write('2026-11-26T11:00:00.000Z', 't1', ['visual', 'visual']); // today
    write('2026-11-25T11:00:00.000Z', 'old', ['audio', 'audio', 'audio']); // 25 h ago: outside
    const result = await drift();
    const expected = jensenShannon(
      { visual: 3, audio: 1, transcription: 0, metadata: 0 },
      { visual: 0.25, audio: 0.25, transcription: 0.25, metadata: 0.25 },
    );
    expect(result).toMatchObject({ runId: 'run-7', samples: 4, objects: 2 });
    expect(result.divergence).toBeCloseTo(expected ?? NaN, 12);
    expect(emf).toHaveLength(1);
    expect(emf[0]?.['ShadowDrift']).toBeCloseTo(expected ?? NaN, 12);
    expect(emf[0]?.['ShadowDriftSamples']).toBe(4);
  });

  it('nothing promoted: publishes the sample count only', async () => {
    ssmMock.on(GetParameterCommand).resolves({
      $metadata: { httpStatusCode: 200 },
      Parameter: { Name: PARAMETER, Type: 'String', Value: 'none', Version: 1 },
    });
    write('2026-11-26T11:00:00.000Z', 't1', ['visual']);
    const result = await drift();
    expect(result.divergence).toBeUndefined();
    expect(emf[0]?.['ShadowDrift']).toBeUndefined();
    expect(emf[0]?.['ShadowDriftSamples']).toBe(1);
  });

  it('a missing parameter or manifest is not an error: no divergence, logged', async () => {
    ssmMock.on(GetParameterCommand).rejects(new ParameterNotFound({ message: 'not found', $metadata: {} }));
    expect((await drift()).divergence).toBeUndefined();
    ssmMock.on(GetParameterCommand).resolves({
      $metadata: { httpStatusCode: 200 },
      Parameter: { Name: PARAMETER, Type: 'String', Value: promoted('run-without-manifest'), Version: 5 },
    });
    write('2026-11-26T11:00:00.000Z', 't1', ['visual']);
    expect(await drift()).toMatchObject({ runId: 'run-without-manifest', samples: 1 });
  });
});
