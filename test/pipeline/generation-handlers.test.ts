import {
  BedrockClient,
  GetFoundationModelCommand,
  ResourceNotFoundException,
  type GetFoundationModelCommandInput,
  type GetFoundationModelCommandOutput,
} from '@aws-sdk/client-bedrock';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { assemble } from '../../lambda/pipeline/generation/assemble';
import { logger, metrics } from '../../lambda/core/runtime';
import { plan } from '../../lambda/pipeline/generation/plan';
import { preflight } from '../../lambda/pipeline/preflight/preflight';
import { validateDataset } from '../../lambda/core/dataset-validator';
import { DEFAULT_PRICES } from '../../lambda/core/prices';
import { runKeys } from '../../lambda/core/runs';
import {
  parseShardFile,
  serialiseShard,
  type ShardExample,
  type ShardSummary,
} from '../../lambda/pipeline/generation/shard-generation';
import {
  CALIBRATION_VERSION,
  calibrationKey,
  type CalibrationRecord,
} from '../../lambda/pipeline/generation/calibration';
import { InMemoryS3 } from '../helpers/aws-mocks';
import { addListing } from './fake-bedrock';
import {
  parseRecordLabel,
  recordParts,
  systemText,
  toRecord,
  type ConversationRecord,
} from '../../lambda/core/dataset-record';
import { LIVE_QUERIES_TAGGING, productionRecordsKey } from '../../lambda/core/production-records';
import { STUDENT_FORMATS } from '../../lambda/core/student-format';

const BUCKET = 'dataset-bucket';
const RUN = 'run-42';
const keys = runKeys(RUN);

const bedrock = mockClient(BedrockClient);
// Preflight reads the active-model parameter (the incumbent); nothing is promoted in these tests.
const ssm = mockClient(SSMClient);
let s3: InMemoryS3;

beforeAll(() => {
  logger.setLogLevel('SILENT');
  jest.spyOn(metrics, 'publishStoredMetrics').mockReturnValue(metrics);
});
beforeEach(() => {
  bedrock.reset();
  ssm.reset();
  ssm.on(GetParameterCommand).resolves({ $metadata: {}, Parameter: { Value: 'none', Version: 1 } });
  s3 = new InMemoryS3();
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    BUCKET_NAME: BUCKET,
    TEACHER_MODEL_ID: 'us.amazon.nova-premier-v1:0',
    STUDENT_MODEL_ID: 'amazon.nova-micro-v1:0:128k',
    BASELINE_MODEL_ID: 'us.anthropic.claude-haiku-4-5-20251001-v1:0',
    JUDGE_MODEL_ID: 'us.meta.llama3-3-70b-instruct-v1:0',
    EXAMPLE_COUNT: '200',
    TEST_EXAMPLE_COUNT: '40',
    QUERIES_PER_SHARD: '50',
    GENERATION_SURPLUS: '0.35',
    MIN_GENERATION_SUCCESS_RATE: '0.9',
    INCLUDE_REASONING: 'false',
    PRICE_TABLE: JSON.stringify(DEFAULT_PRICES),
    PRODUCTION_HOLD_OUT_SHARE: '0.1',
    TRAINING_PROMPT_VERSIONS: JSON.stringify(['student-v2']),
    CANDIDATES: JSON.stringify([
      {
        name: 'distill-micro',
        method: 'distillation',
        baseModelId: 'amazon.nova-micro-v1:0:128k',
        promptVersion: 'student-v2',
      },
    ]),
    ACTIVE_MODEL_PARAMETER_NAME: '/intent-router/dev/active-model',
  });
});
afterEach(() => s3.restore());

/** A GetFoundationModel reply in the real shape. */
const foundationModel = (modelId: string, status: 'ACTIVE' | 'LEGACY'): GetFoundationModelCommandOutput => ({
  $metadata: { httpStatusCode: 200 },
  modelDetails: {
    modelArn: `arn:aws:bedrock:us-east-1::foundation-model/${modelId}`,
    modelId,
    modelName: modelId,
    providerName: 'Amazon',
    modelLifecycle: { status },
  },
});
/** The foundation models behind the baseline and judge profiles: ACTIVE unless a test says otherwise. */
const BASELINE_FM = 'anthropic.claude-haiku-4-5-20251001-v1:0';
const JUDGE_FM = 'meta.llama3-3-70b-instruct-v1:0';
const models = (given: Record<string, 'ACTIVE' | 'LEGACY' | 'MISSING'>) =>
  bedrock
    .on(GetFoundationModelCommand)
    .callsFake((input: GetFoundationModelCommandInput): GetFoundationModelCommandOutput => {
      const id = input.modelIdentifier ?? '';
      const statuses: Record<string, 'ACTIVE' | 'LEGACY' | 'MISSING'> = {
        [BASELINE_FM]: 'ACTIVE',
        [JUDGE_FM]: 'ACTIVE',
        ...given,
      };
      const status = statuses[id];
      if (status === undefined || status === 'MISSING')
        throw new ResourceNotFoundException({ message: `Model ${id} not found`, $metadata: {} });
      return foundationModel(id, status);
    });

/** What the state machine hands Preflight: the execution's name, id and start time (and its input). */
const EXECUTION_ID = `arn:aws:states:us-east-1:123456789012:execution:IntentRouter-dev-Pipeline:${RUN}`;
const started = (extra: Record<string, unknown> = {}) => ({
  runId: RUN,
  executionId: EXECUTION_ID,
  startTime: '2026-11-25T10:00:00.000Z',
  ...extra,
});

describe('Preflight', () => {
  it('passes when every model is ACTIVE, checking the foundation models behind the profiles and the 128k variant', async () => {
    models({ 'amazon.nova-premier-v1:0': 'ACTIVE', 'amazon.nova-micro-v1:0': 'ACTIVE' });
    const result = await preflight(started(), new BedrockClient({}));
    expect(result).toEqual({
      runId: RUN,
      region: 'us-east-1',
      teacher: {
        modelId: 'us.amazon.nova-premier-v1:0',
        foundationModelId: 'amazon.nova-premier-v1:0',
        status: 'ACTIVE',
      },
      student: {
        modelId: 'amazon.nova-micro-v1:0:128k',
        foundationModelId: 'amazon.nova-micro-v1:0',
        status: 'ACTIVE',
      },
      baseline: {
        modelId: 'us.anthropic.claude-haiku-4-5-20251001-v1:0',
        foundationModelId: BASELINE_FM,
        status: 'ACTIVE',
      },
      judge: { modelId: 'us.meta.llama3-3-70b-instruct-v1:0', foundationModelId: JUDGE_FM, status: 'ACTIVE' },
      exampleCount: 200,
      testExampleCount: 40,
      fromProduction: { enabled: false },
      incumbent: { present: false, reason: 'nothing is promoted yet' },
      owner: { key: `runs/${RUN}/owner.json`, executionId: EXECUTION_ID, firstClaim: true },
      // The run's candidates (CANDIDATES, issue 20) and the prompt versions they train with.
      candidates: JSON.parse(process.env.CANDIDATES ?? '[]'),
      promptVersions: ['student-v2'],
    });
    expect(bedrock.commandCalls(GetFoundationModelCommand).map((c) => c.args[0].input.modelIdentifier)).toEqual([
      'amazon.nova-premier-v1:0',
      'amazon.nova-micro-v1:0',
      BASELINE_FM,
      JUDGE_FM,
    ]);
  });

  it.each([
    [
      'baselineModelId',
      BASELINE_FM,
      'LEGACY',
      /baselineModelId "us.anthropic.claude-haiku-4-5-20251001-v1:0" \(foundation model anthropic.claude-haiku-4-5-20251001-v1:0\) is LEGACY, not ACTIVE\. Set baselineModelId/,
    ],
    [
      'judgeModelId',
      JUDGE_FM,
      'LEGACY',
      /judgeModelId "us.meta.llama3-3-70b-instruct-v1:0" .* is LEGACY, not ACTIVE\. Set judgeModelId/,
    ],
    [
      'judgeModelId',
      JUDGE_FM,
      'MISSING',
      /judgeModelId "us.meta.llama3-3-70b-instruct-v1:0": GetFoundationModel\(meta.llama3-3-70b-instruct-v1:0\) failed \(ResourceNotFoundException.*model access/,
    ],
  ] as const)(
    'stops before anything is spent when %s (%s) is %s, naming the config key',
    async (_key, id, status, message) => {
      models({ 'amazon.nova-premier-v1:0': 'ACTIVE', 'amazon.nova-micro-v1:0': 'ACTIVE', [id]: status });
      const run = preflight(started(), new BedrockClient({}));
      await expect(run).rejects.toMatchObject({ name: 'PreflightFailed' });
      await expect(run).rejects.toThrow(message);
      expect(s3.keys(BUCKET)).toEqual([]);
    },
  );

  describe('run id ownership (runs/<runId>/owner.json)', () => {
    const OWNER_KEY = `runs/${RUN}/owner.json`;
    beforeEach(() => models({ 'amazon.nova-premier-v1:0': 'ACTIVE', 'amazon.nova-micro-v1:0': 'ACTIVE' }));

    it('claims the run id once for the execution, with its id and start time', async () => {
      await preflight(started(), new BedrockClient({}));
      expect(JSON.parse(s3.get(BUCKET, OWNER_KEY) ?? '{}')).toEqual({
        runId: RUN,
        executionId: EXECUTION_ID,
        startTime: '2026-11-25T10:00:00.000Z',
      });
      expect(s3.puts.filter((p) => p.key === OWNER_KEY)).toEqual([
        { bucket: BUCKET, key: OWNER_KEY, ifNoneMatch: '*' },
      ]);
    });

    it('lets a retry or redrive of the same execution (same ARN, same start time) pass', async () => {
      await preflight(started(), new BedrockClient({}));
      const first = s3.get(BUCKET, OWNER_KEY);
      const again = await preflight(started(), new BedrockClient({}));
      expect(again.owner).toEqual({ key: OWNER_KEY, executionId: EXECUTION_ID, firstClaim: false });
      expect(s3.get(BUCKET, OWNER_KEY)).toBe(first);
    });

    it('refuses a new execution that reuses the name, and so the ARN, with another start time', async () => {
      await preflight(started(), new BedrockClient({}));
      const first = s3.get(BUCKET, OWNER_KEY);
      const reused = preflight(started({ startTime: '2027-03-01T08:00:00.000Z' }), new BedrockClient({}));
      await expect(reused).rejects.toThrow(
        new RegExp(`run id "${RUN}" was already used by execution ${EXECUTION_ID} `),
      );
      expect(s3.get(BUCKET, OWNER_KEY)).toBe(first);
    });

    it('refuses a run id an earlier execution used, naming it and asking for a new run id', async () => {
      const earlier = { runId: RUN, executionId: `${EXECUTION_ID}-old`, startTime: '2026-08-01T09:00:00.000Z' };
      s3.set(BUCKET, OWNER_KEY, JSON.stringify(earlier));
      const run = preflight(started(), new BedrockClient({}));
      await expect(run).rejects.toMatchObject({ name: 'PreflightFailed' });
      await expect(run).rejects.toThrow(
        new RegExp(
          `run id "${RUN}" was already used by execution ${earlier.executionId} \\(started 2026-08-01T09:00:00.000Z\\).*` +
            'Choose a new run id',
        ),
      );
      expect(JSON.parse(s3.get(BUCKET, OWNER_KEY) ?? '{}')).toEqual(earlier);
    });

    it('refuses a run id whose owner record is unreadable', async () => {
      s3.set(BUCKET, OWNER_KEY, 'not json');
      await expect(preflight(started(), new BedrockClient({}))).rejects.toThrow(
        /run id "run-42" was already used by an earlier execution \(its owner record is unreadable\).*Choose a new run id/,
      );
    });

    it('needs the execution id from the state machine', async () => {
      await expect(preflight(started({ executionId: undefined }), new BedrockClient({}))).rejects.toMatchObject({
        name: 'InvalidInput',
        message: expect.stringMatching(/^Preflight: invalid input from the state machine: executionId/),
      });
    });
  });

  it('stops on a Legacy teacher, naming teacherModelId and the documented alternative', async () => {
    models({ 'amazon.nova-premier-v1:0': 'LEGACY', 'amazon.nova-micro-v1:0': 'ACTIVE' });
    const run = preflight(started(), new BedrockClient({}));
    await expect(run).rejects.toMatchObject({ name: 'PreflightFailed' });
    await expect(run).rejects.toThrow(
      /teacherModelId "us.amazon.nova-premier-v1:0" \(foundation model amazon.nova-premier-v1:0\) is LEGACY, not ACTIVE.*"us.amazon.nova-pro-v1:0"/,
    );
  });

  it('stops on a student that is not ACTIVE, naming studentModelId', async () => {
    models({ 'amazon.nova-premier-v1:0': 'ACTIVE', 'amazon.nova-micro-v1:0': 'LEGACY' });
    await expect(preflight(started(), new BedrockClient({}))).rejects.toThrow(
      /studentModelId "amazon.nova-micro-v1:0:128k"/,
    );
  });

  it('names the key when a model does not exist', async () => {
    process.env.TEACHER_MODEL_ID = 'us.amazon.nova-typo-v1:0';
    models({ 'amazon.nova-micro-v1:0': 'ACTIVE' });
    await expect(preflight(started(), new BedrockClient({}))).rejects.toThrow(
      /teacherModelId "us.amazon.nova-typo-v1:0": GetFoundationModel\(amazon.nova-typo-v1:0\) failed \(ResourceNotFoundException/,
    );
  });

  it('refuses a region without on-demand custom-model deployment', async () => {
    process.env.AWS_REGION = 'eu-west-1';
    await expect(preflight(started(), new BedrockClient({}))).rejects.toThrow(
      /region eu-west-1 .* us-east-1 or us-west-2/,
    );
  });

  it('refuses counts outside the Nova limits', async () => {
    process.env.EXAMPLE_COUNT = '20000';
    await expect(preflight(started(), new BedrockClient({}))).rejects.toThrow(
      /exampleCount \(configured\) 20000 is outside 100-15000: set exampleCount within it/,
    );
  });

  it('takes the example counts from the execution input when given there', async () => {
    models({ 'amazon.nova-premier-v1:0': 'ACTIVE', 'amazon.nova-micro-v1:0': 'ACTIVE' });
    const result = await preflight(
      started({ input: { exampleCount: 2000, testExampleCount: 100, other: 'ignored' } }),
      new BedrockClient({}),
    );
    expect(result).toMatchObject({ exampleCount: 2000, testExampleCount: 100 });
  });

  it.each([
    [
      { exampleCount: 50 },
      /exampleCount in the execution input 50 is outside 100-15000: start the run with a whole number/,
    ],
    [{ exampleCount: '2000' }, /exampleCount in the execution input is "2000", not a whole number/],
    [{ testExampleCount: 2000 }, /testExampleCount in the execution input 2000 is outside 1-1000/],
    [{ exampleCount: 100, testExampleCount: 100 }, /testExampleCount 100 must be smaller than exampleCount 100/],
  ])('refuses a bad count in the execution input %p, naming the field', async (input, message) => {
    models({ 'amazon.nova-premier-v1:0': 'ACTIVE', 'amazon.nova-micro-v1:0': 'ACTIVE' });
    await expect(preflight(started({ input }), new BedrockClient({}))).rejects.toThrow(message);
  });

  it.each([
    [
      { GENERATION_SURPLUS: '0' },
      {},
      /exampleCount 200 \+ testExampleCount 40 with generationSurplus 0 plan 240 queries; at least 267 are needed .* set generationSurplus to at least 0\.109/,
    ],
    [
      { QUERIES_PER_SHARD: '10' },
      { exampleCount: 15_000, testExampleCount: 1_000 },
      /plan 21600 queries in 2162 shards of at most 10; at most 500 shards .* raise queriesPerShard to at least 44/,
    ],
  ])(
    'refuses a run size that cannot end balanced or fit the state (%p, input %p) before any model call or claim',
    async (env, input, message) => {
      Object.assign(process.env, env);
      models({ 'amazon.nova-premier-v1:0': 'ACTIVE', 'amazon.nova-micro-v1:0': 'ACTIVE' });
      await expect(preflight(started({ input }), new BedrockClient({}))).rejects.toThrow(message);
      expect(bedrock.commandCalls(GetFoundationModelCommand)).toHaveLength(0);
      expect(s3.puts).toEqual([]);
    },
  );

  it('refuses an execution name that is not a run id, naming the rule', async () => {
    await expect(preflight(started({ runId: 'Run_1' }), new BedrockClient({}))).rejects.toThrow(
      /runId "Run_1" is invalid: use 1-40 lowercase letters, digits and single dashes/,
    );
  });

  it('names a missing environment variable', async () => {
    delete process.env.STUDENT_MODEL_ID;
    await expect(preflight(started(), new BedrockClient({}))).rejects.toThrow(
      /STUDENT_MODEL_ID: .*DistillationPipeline/,
    );
  });
});

describe('Plan', () => {
  it('writes the shard list once and returns it for the Map', async () => {
    const result = await plan({ runId: RUN }, undefined, () => new Date('2026-01-01T00:00:00Z'));
    expect(result).toMatchObject({
      runId: RUN,
      bucket: BUCKET,
      planKey: keys.shardPlan,
      targetRecords: 240,
      plannedQueries: 324,
      shardCount: 10,
    });
    expect(result.shards[0]).toEqual({ index: 0, target: 'visual', domain: 'sports', phrasing: 'keywords', count: 34 });
    expect(JSON.parse(s3.get(BUCKET, keys.shardPlan) ?? '{}')).toMatchObject({
      runId: RUN,
      plannedQueries: 324,
      queriesPerShard: 50,
    });
  });

  it('plans for the counts Preflight passed (an execution-input override) over the configured ones', async () => {
    const result = await plan({ runId: RUN, exampleCount: 400, testExampleCount: 60 });
    expect(result.targetRecords).toBe(460);
  });

  it('returns the stored plan on a retry, even when the configuration changed in between', async () => {
    await plan({ runId: RUN });
    process.env.QUERIES_PER_SHARD = '10';
    const again = await plan({ runId: RUN });
    expect(again.shardCount).toBe(10);
  });
});

const LABELS = [
  { visual: 0.7, audio: 0.1, transcription: 0.1, metadata: 0.1 },
  { visual: 0.1, audio: 0.7, transcription: 0.1, metadata: 0.1 },
  { visual: 0.1, audio: 0.1, transcription: 0.7, metadata: 0.1 },
  { visual: 0.1, audio: 0.1, transcription: 0.1, metadata: 0.7 },
];

/** Stores the plan and `written` of its shards, each fully labelled with balanced labels. */
async function storeShards(written: number) {
  const stored = await plan({ runId: RUN });
  for (const spec of stored.shards.slice(0, written)) {
    const examples: ShardExample[] = Array.from({ length: spec.count }, (_, i) => ({
      kind: 'example',
      query: `shard ${spec.index} query ${i}`,
      weights: LABELS[i % 4]!,
    }));
    const summary: ShardSummary = {
      kind: 'shard',
      index: spec.index,
      target: spec.target,
      domain: spec.domain,
      phrasing: spec.phrasing,
      teacherModelId: 'us.amazon.nova-premier-v1:0',
      promptVersions: {},
      planned: spec.count,
      written: spec.count,
      labelled: spec.count,
      dropped: { notWritten: 0, unparseableLabel: 0, teacherError: 0 },
      writerRejected: 0,
      writerUnparseable: 0,
      labelRetries: 0,
      teacherCalls: { writing: 2, labelling: spec.count },
      usage: { inputTokens: 10_000, outputTokens: 1_500 },
      retries: 0,
      durationMs: 1_000,
    };
    s3.set(BUCKET, keys.shard(spec.index), serialiseShard(summary, examples));
  }
  return stored;
}

describe('Assemble', () => {
  it('writes train, test and manifest once, and returns the AssembleResult', async () => {
    await storeShards(10);
    const putsBefore = s3.puts.length;
    const result = await assemble({ runId: RUN });
    const trainKey = keys.trainFor('student-v2');
    expect(result).toEqual({
      runId: RUN,
      bucket: BUCKET,
      trainKey,
      trainKeys: { 'student-v2': trainKey },
      testKey: keys.test,
      manifestKey: keys.manifest,
      trainCount: 200,
      testCount: 40,
      studentPromptVersion: 'student-v2',
      liveQueryKeys: [],
    });
    expect(validateDataset(s3.get(BUCKET, trainKey) ?? '')).toMatchObject({ ok: true, records: 200 });
    const manifest = JSON.parse(s3.get(BUCKET, keys.manifest) ?? '{}');
    expect(manifest.teacher.calls.total).toBe(10 * 2 + 324);
    // Written once each, conditionally (no run overwrites another's data), the manifest last: it marks completion.
    // Nothing here holds a live query: no tag.
    expect(s3.puts.slice(putsBefore)).toEqual([
      { bucket: BUCKET, key: trainKey, ifNoneMatch: '*' },
      { bucket: BUCKET, key: keys.test, ifNoneMatch: '*' },
      { bucket: BUCKET, key: keys.manifest, ifNoneMatch: '*' },
    ]);
  });

  it('records the run’s calibration and what batch labelling did in the manifest; a run without them has neither', async () => {
    const stored = await storeShards(10);
    const plain = await assemble({ runId: RUN });
    const without = JSON.parse(s3.get(BUCKET, plain.manifestKey) ?? '{}') as Record<string, unknown>;
    expect(without).not.toHaveProperty('calibration');
    expect(without).not.toHaveProperty('labelBatching');

    // The same shards labelled in batches of 10, with the calibration that chose it.
    const batched = 'run-43';
    const calibration: CalibrationRecord = {
      calibrationVersion: CALIBRATION_VERSION,
      runId: batched,
      createdAt: '2026-11-25T10:00:00.000Z',
      labelBatchSize: 10,
      calibrated: true,
      reason: '10 is the largest batch size with …',
      thresholds: { minAgreement: 0.95, maxWeightError: 0.03 },
      table: [1, 5, 10, 20].map((size) => ({
        size,
        queries: 100,
        calls: 100 / size,
        answered: 100,
        reasked: { missing: 0, duplicate: 0, unparsable: 0 },
        agreement: size === 20 ? 0.9 : 1,
        meanAbsoluteError: 0,
        inputTokensPerQuery: size === 1 ? 340 : 40,
        outputTokensPerQuery: 30,
      })),
      usage: { calls: 135, inputTokens: 60_000, outputTokens: 10_000 },
    };
    s3.set(BUCKET, calibrationKey(batched), JSON.stringify(calibration));
    s3.set(
      BUCKET,
      runKeys(batched).shardPlan,
      s3.get(BUCKET, keys.shardPlan)?.replace(`"${RUN}"`, `"${batched}"`) ?? '',
    );
    for (const spec of stored.shards) {
      const { summary, examples } = parseShardFile(s3.get(BUCKET, keys.shard(spec.index)) ?? '');
      const withBatches: ShardSummary = {
        ...summary,
        labelBatchSize: 10,
        batchCalls: 4,
        batchReasks: { missing: 1, duplicate: 0, unparsable: 2 },
        batchUnknownIds: 1,
      };
      s3.set(BUCKET, runKeys(batched).shard(spec.index), serialiseShard(withBatches, examples));
    }
    const result = await assemble({ runId: batched });
    const manifest = JSON.parse(s3.get(BUCKET, result.manifestKey) ?? '{}') as Record<string, unknown>;
    expect(manifest['calibration']).toEqual({
      labelBatchSize: 10,
      calibrated: true,
      reason: calibration.reason,
      thresholds: calibration.thresholds,
      table: calibration.table,
      usage: calibration.usage,
    });
    expect(manifest['labelBatching']).toEqual({
      labelBatchSizes: [10],
      batchCalls: 40,
      reasked: { missing: 10, duplicate: 0, unparsable: 20 },
      unknownIds: 10,
    });
  });

  it('returns the stored result when the manifest already exists (retry or redrive)', async () => {
    await storeShards(10);
    const first = await assemble({ runId: RUN });
    const putsBefore = s3.puts.length;
    expect(await assemble({ runId: RUN })).toEqual(first);
    expect(s3.puts.length).toBe(putsBefore);
  });

  it('finishes a half-written dataset after a crash, since it rebuilds the same files', async () => {
    await storeShards(10);
    await assemble({ runId: RUN });
    s3.objects.delete(`${BUCKET}/${keys.manifest}`);
    await expect(assemble({ runId: RUN })).resolves.toMatchObject({ trainCount: 200 });
  });

  it('never overwrites a file of the run with other content', async () => {
    await storeShards(10);
    s3.set(BUCKET, keys.trainFor('student-v2'), 'someone else\n');
    await expect(assemble({ runId: RUN })).rejects.toMatchObject({ name: 'DatasetConflict' });
    expect(s3.get(BUCKET, keys.trainFor('student-v2'))).toBe('someone else\n');
  });

  it('fails below minGenerationSuccessRate when shards are missing, with the numbers', async () => {
    await storeShards(7);
    await expect(assemble({ runId: RUN })).rejects.toMatchObject({
      name: 'GenerationBelowMinimum',
      message: expect.stringContaining('only 230 of 324 planned queries were labelled'),
    });
    expect(s3.get(BUCKET, keys.manifest)).toBeUndefined();
  });
});

const records = (text: string | undefined): ConversationRecord[] =>
  (text ?? '')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as ConversationRecord);

describe('Assemble: one training file per prompt version', () => {
  it('writes the same queries and labels in each version’s prompt and format, each valid, listed in the manifest', async () => {
    process.env.TRAINING_PROMPT_VERSIONS = JSON.stringify(['student-v1', 'student-v2', 'student-v1']);
    await storeShards(10);
    const result = await assemble({ runId: RUN });
    const [v1, v2] = [keys.trainFor('student-v1'), keys.trainFor('student-v2')];
    expect(result).toMatchObject({ trainKey: v1, trainKeys: { 'student-v1': v1, 'student-v2': v2 }, trainCount: 200 });
    const [first, second] = [records(s3.get(BUCKET, v1)), records(s3.get(BUCKET, v2))];
    expect(validateDataset(s3.get(BUCKET, v1) ?? '')).toMatchObject({ ok: true, records: 200 });
    expect(validateDataset(s3.get(BUCKET, v2) ?? '')).toMatchObject({ ok: true, records: 200 });
    expect(first.map((r) => recordParts(r).query)).toEqual(second.map((r) => recordParts(r).query));
    const weightsOf = (r: ConversationRecord) => {
      const label = parseRecordLabel(r);
      return label.ok ? label.weights : undefined;
    };
    expect(first.map(weightsOf)).toEqual(second.map(weightsOf));
    expect(new Set(first.map(systemText))).toEqual(new Set([STUDENT_FORMATS['student-v1'].prompt]));
    expect(new Set(second.map(systemText))).toEqual(new Set([STUDENT_FORMATS['student-v2'].prompt]));
    const manifest = JSON.parse(s3.get(BUCKET, keys.manifest) ?? '{}');
    expect(manifest.files.train).toMatchObject({ key: v1, records: 200 });
    expect(manifest.files.training).toEqual([
      expect.objectContaining({ promptVersion: 'student-v1', key: v1, records: 200 }),
      expect.objectContaining({ promptVersion: 'student-v2', key: v2, records: 200 }),
    ]);
    // A retry rebuilds the result from the manifest, both files included.
    expect(await assemble({ runId: RUN })).toEqual(result);
  });

  it('names the version when the candidates use one this release does not know', async () => {
    process.env.TRAINING_PROMPT_VERSIONS = JSON.stringify(['student-v9']);
    await storeShards(10);
    await expect(assemble({ runId: RUN })).rejects.toThrow(/student prompt version "student-v9" is unknown/);
  });
});

describe('copies of live queries (issue 19: productionDataRetentionDays)', () => {
  /** `perModality` shadow-labelled live queries of each modality on one day. */
  function seedProduction(perModality: number) {
    const lines = LABELS.flatMap((weights, m) =>
      Array.from({ length: perModality }, (_, i) => JSON.stringify(toRecord(`live query ${m} number ${i}`, weights))),
    );
    s3.set(BUCKET, productionRecordsKey(new Date('2026-11-24T08:00:00Z'), 'batch-a'), lines.join('\n') + '\n');
  }

  it('Plan writes the selection, and Assemble every file holding a production query, with the live-queries tag', async () => {
    addListing(s3);
    seedProduction(80);
    const planned = await plan(
      { runId: RUN, fromProduction: { enabled: true, since: '2026-11-24', until: '2026-11-25', max: 1000 } },
      undefined,
      () => new Date('2026-11-25T10:00:00Z'),
    );
    expect(planned.shardCount).toBe(0);
    expect(s3.tagsOf(BUCKET, keys.productionSelection)).toBe(LIVE_QUERIES_TAGGING);
    expect(s3.tagsOf(BUCKET, keys.shardPlan)).toBeUndefined();

    const result = await assemble({ runId: RUN });
    const live = [keys.trainFor('student-v2'), keys.test, keys.productionTest];
    expect(result.liveQueryKeys).toEqual(live);
    for (const key of live) expect([key, s3.tagsOf(BUCKET, key)]).toEqual([key, LIVE_QUERIES_TAGGING]);
    // The manifest counts and hashes; it quotes no query.
    expect(s3.get(BUCKET, keys.manifest)).not.toContain('live query');
    expect(s3.tagsOf(BUCKET, keys.manifest)).toBeUndefined();
  });
});
