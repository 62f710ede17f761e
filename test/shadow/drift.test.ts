import { ListObjectsV2Command, type ListObjectsV2CommandInput } from '@aws-sdk/client-s3';
import { GetParameterCommand, ParameterNotFound, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import * as fc from 'fast-check';
import { metrics } from '../../lambda/core/runtime';
import { driftHandler } from '../../lambda/shadow/drift';
import {
  countDominants,
  driftBaselineKey,
  driftOf,
  jensenShannon,
  type Distribution,
} from '../../lambda/shadow/drift-figures';
import { configFields } from '../../lib/config/schema';
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
  /** The default driftThreshold (lib/config/schema.ts): what the drift alarm compares the figure with. */
  const THRESHOLD = configFields.parse({}).driftThreshold;
  const ssmMock = mockClient(SSMClient);
  let s3: InMemoryS3;
  let emf: Record<string, unknown>[] = [];
  let clock = new Date('2026-11-26T12:00:00.000Z');
  // Through the handler (as the schedule invokes it), so that the metrics are those its middleware flushes.
  const drift = () => driftHandler({ now: () => clock })({}, lambdaContext());
  const promoted = (runId: string, promotedAt = '2026-11-20T00:00:00.000Z') =>
    JSON.stringify({
      deploymentArn: 'arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/abc123def456',
      modelArn: 'arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-micro-v1:0:128k/abc',
      runId,
      promotedAt,
      studentPromptVersion: 'student-v1',
    });
  const parameter = (value: string) =>
    ssmMock.on(GetParameterCommand, { Name: PARAMETER }).resolves({
      $metadata: { httpStatusCode: 200 },
      Parameter: { Name: PARAMETER, Type: 'String', Value: value, Version: 4 },
    });
  const W = {
    visual: { visual: 0.9, audio: 0, transcription: 0, metadata: 0.1 },
    audio: { visual: 0.3, audio: 0.6, transcription: 0, metadata: 0.1 },
    transcription: { visual: 0.1, audio: 0, transcription: 0.8, metadata: 0.1 },
    metadata: { visual: 0.3, audio: 0, transcription: 0.1, metadata: 0.6 },
  };
  type Mix = Record<keyof typeof W, number>;
  const SKEWED: Mix = { visual: 60, audio: 20, transcription: 10, metadata: 10 };
  const SHIFTED: Mix = { visual: 20, audio: 60, transcription: 10, metadata: 10 };
  const labelsOf = (mix: Mix) =>
    (Object.keys(mix) as (keyof typeof W)[]).flatMap((m) => Array.from({ length: mix[m] }, () => m));
  /** The summary line of a production selection (Plan's shape), then one record line. */
  const selection = (selected: Mix, overMax = 0) =>
    [
      {
        kind: 'selection',
        runId: 'run-prod',
        since: '2026-11-01',
        until: '2026-11-19',
        max: 5000,
        holdOutShare: 0.1,
        objects: 40,
        considered: 120,
        invalid: {},
        duplicates: 0,
        overMax,
        selected: 100,
        heldOut: 10,
        byModality: { selected, heldOut: { visual: 6, audio: 2, transcription: 1, metadata: 1 } },
      },
      { kind: 'record', query: 'red car', weights: W.visual, heldOut: false, key: 'production/records/x.jsonl' },
    ]
      .map((line) => JSON.stringify(line))
      .join('\n') + '\n';

  beforeAll(() => {
    process.env['BUCKET_NAME'] = BUCKET;
    process.env['ACTIVE_MODEL_PARAMETER_NAME'] = PARAMETER;
    process.env['DRIFT_BASELINE_MIN_SAMPLES'] = '50';
    jest.spyOn(metrics, 'publishStoredMetrics').mockImplementation(() => {
      emf.push({ ...metrics.serializeMetrics() });
      metrics.clearMetrics();
      return metrics;
    });
  });
  beforeEach(() => {
    emf = [];
    clock = new Date('2026-11-26T12:00:00.000Z');
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
    // The training set Assemble evened out: no longer what drift is measured against.
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

  it('measures the last 24 h of teacher labels against the production selection’s live mix', async () => {
    parameter(promoted('run-7'));
    s3.set(
      BUCKET,
      'runs/run-7/production/selection.jsonl',
      selection({ visual: 3, audio: 1, transcription: 0, metadata: 0 }),
    );
    write('2026-11-25T13:00:00.000Z', 'y1', ['visual', 'audio']); // yesterday, inside the window
    write('2026-11-26T11:00:00.000Z', 't1', ['visual', 'visual']); // today
    write('2026-11-25T11:00:00.000Z', 'old', ['audio', 'audio', 'audio']); // 25 h ago: outside
    const result = await drift();
    expect(result).toMatchObject({
      runId: 'run-7',
      samples: 4,
      objects: 2,
      baseline: 'production-selection',
      baselineSource: `s3://${BUCKET}/runs/run-7/production/selection.jsonl (2026-11-01..2026-11-19)`,
    });
    expect(result.divergence).toBeCloseTo(0, 12);
    expect(emf).toHaveLength(1);
    expect(emf[0]?.['ShadowDrift']).toBeCloseTo(0, 12);
    expect(emf[0]?.['ShadowDriftSamples']).toBe(4);
  });

  it('a steady skewed mix does not alarm, a real shift does (production-selection baseline)', async () => {
    // Against the evened training set the same steady mix would sit at the threshold (the old baseline's fault).
    expect(jensenShannon(SKEWED, { visual: 1, audio: 1, transcription: 1, metadata: 1 })).toBeGreaterThan(0.09);
    parameter(promoted('run-7'));
    s3.set(BUCKET, 'runs/run-7/production/selection.jsonl', selection(SKEWED));
    write('2026-11-26T11:00:00.000Z', 'steady', labelsOf(SKEWED));
    const steady = await drift();
    expect(steady.baseline).toBe('production-selection');
    expect(steady.divergence).toBeLessThan(THRESHOLD / 10);

    // A day later the live mix has moved.
    clock = new Date('2026-11-27T12:00:00.000Z');
    write('2026-11-27T11:30:00.000Z', 'shift', labelsOf(SHIFTED));
    const shifted = await drift();
    expect(shifted).toMatchObject({ baseline: 'production-selection', samples: 100 });
    expect(shifted.divergence).toBeGreaterThan(THRESHOLD);
  });

  it('a synthetic-only run: the first full window after promotion becomes the baseline, stored once', async () => {
    parameter(promoted('run-7', '2026-11-26T00:00:00.000Z'));
    // The window (2026-11-25T12:00..2026-11-26T12:00) starts before the promotion: not the model's traffic yet.
    write('2026-11-26T11:00:00.000Z', 'd1', labelsOf(SKEWED));
    const early = await drift();
    expect(early.divergence).toBeUndefined();
    expect(early.baseline).toBeUndefined();
    expect(emf[0]?.['ShadowDrift']).toBeUndefined();
    expect(s3.get(BUCKET, driftBaselineKey('run-7'))).toBeUndefined();

    // A day later the window is all after the promotion: it is the baseline, and drift is 0 against it.
    clock = new Date('2026-11-27T01:00:00.000Z');
    write('2026-11-26T13:00:00.000Z', 'd2', labelsOf(SKEWED));
    const first = await drift();
    expect(first).toMatchObject({ baseline: 'first-window', baselineWritten: true, divergence: 0 });
    const stored: unknown = JSON.parse(s3.get(BUCKET, driftBaselineKey('run-7')) ?? '');
    expect(stored).toMatchObject({ kind: 'first-window', runId: 'run-7', samples: 200 });

    // The same steady mix stays quiet; a real shift alarms, and the baseline is not rewritten.
    clock = new Date('2026-11-28T01:00:00.000Z');
    write('2026-11-27T13:00:00.000Z', 'd3', labelsOf(SKEWED));
    const steady = await drift();
    expect(steady).toMatchObject({ baseline: 'first-window' });
    expect(steady.baselineWritten).toBeUndefined();
    expect(steady.divergence).toBeLessThan(THRESHOLD / 10);
    clock = new Date('2026-11-29T01:00:00.000Z');
    write('2026-11-28T13:00:00.000Z', 'd4', labelsOf(SHIFTED));
    const shifted = await drift();
    expect(shifted.divergence).toBeGreaterThan(THRESHOLD);
    expect(JSON.parse(s3.get(BUCKET, driftBaselineKey('run-7')) ?? '')).toEqual(stored);
  });

  it('a capped selection is not the live mix: the first window is the baseline; too few samples wait', async () => {
    parameter(promoted('run-7', '2026-11-25T00:00:00.000Z'));
    s3.set(BUCKET, 'runs/run-7/production/selection.jsonl', selection(SKEWED, 900));
    write('2026-11-26T11:00:00.000Z', 'few', ['visual', 'audio']); // under DRIFT_BASELINE_MIN_SAMPLES
    expect((await drift()).baseline).toBeUndefined();
    write('2026-11-26T11:10:00.000Z', 'many', labelsOf(SHIFTED));
    expect(await drift()).toMatchObject({ baseline: 'first-window', baselineWritten: true, samples: 102 });
  });

  it('nothing promoted: publishes the sample count only', async () => {
    parameter('none');
    write('2026-11-26T11:00:00.000Z', 't1', ['visual']);
    const result = await drift();
    expect(result.divergence).toBeUndefined();
    expect(emf[0]?.['ShadowDrift']).toBeUndefined();
    expect(emf[0]?.['ShadowDriftSamples']).toBe(1);
  });

  it('a missing parameter or baseline is not an error: no divergence, logged', async () => {
    ssmMock.on(GetParameterCommand).rejects(new ParameterNotFound({ message: 'not found', $metadata: {} }));
    expect((await drift()).divergence).toBeUndefined();
    parameter(promoted('run-without-baseline'));
    write('2026-11-26T11:00:00.000Z', 't1', ['visual']);
    expect(await drift()).toMatchObject({ runId: 'run-without-baseline', samples: 1 });
  });
});
