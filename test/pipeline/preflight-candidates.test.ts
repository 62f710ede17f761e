import {
  BedrockClient,
  GetFoundationModelCommand,
  type GetFoundationModelCommandInput,
  type GetFoundationModelCommandOutput,
} from '@aws-sdk/client-bedrock';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { parseConfig } from '../../lib/config';
import { logger } from '../../lambda/core/runtime';
import { preflight, resolveRunCandidates } from '../../lambda/pipeline/preflight/preflight';
import { PREFLIGHT_ENVIRONMENT } from '../../lambda/pipeline/preflight/environment';
import { InMemoryS3 } from '../helpers/aws-mocks';

/** Preflight resolves the run's candidates: the configured list, the input's --candidates filter, a reused model. */

const BUCKET = 'dataset-bucket';
const RUN = 'run-42';
const DEFAULTS = parseConfig({}).candidates;
const LITE = { name: 'ft-lite', method: 'fine-tuning', baseModelId: 'amazon.nova-lite-v1:0:300k' } as const;
const CONFIGURED = [
  ...DEFAULTS,
  { ...LITE, promptVersion: 'student-v3', hyperParameters: { epochCount: 2, learningRate: 1e-5 } },
];

const bedrock = mockClient(BedrockClient);
const ssm = mockClient(SSMClient);
let s3: InMemoryS3;

beforeAll(() => logger.setLogLevel('SILENT'));
beforeEach(() => {
  bedrock.reset();
  ssm.reset();
  ssm.on(GetParameterCommand).resolves({ $metadata: {}, Parameter: { Value: 'none', Version: 1 } });
  // Every model ACTIVE, in the real response shape.
  bedrock
    .on(GetFoundationModelCommand)
    .callsFake((input: GetFoundationModelCommandInput): GetFoundationModelCommandOutput => ({
      $metadata: { httpStatusCode: 200 },
      modelDetails: {
        modelArn: `arn:aws:bedrock:us-east-1::foundation-model/${input.modelIdentifier}`,
        modelId: input.modelIdentifier,
        modelName: input.modelIdentifier,
        providerName: 'Amazon',
        modelLifecycle: { status: 'ACTIVE' },
      },
    }));
  s3 = new InMemoryS3();
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    ...PREFLIGHT_ENVIRONMENT.values({
      bucketName: BUCKET,
      teacherModelId: 'us.amazon.nova-pro-v1:0',
      studentModelId: 'amazon.nova-micro-v1:0:128k',
      baselineModelId: 'us.anthropic.claude-haiku-4-5-20251001-v1:0',
      judgeModelId: 'us.meta.llama3-3-70b-instruct-v1:0',
      queriesPerShard: 50,
      generationSurplus: 0.35,
      activeModelParameterName: '/intent-router/dev/active-model',
      exampleCount: 200,
      testExampleCount: 40,
      candidates: CONFIGURED,
    }),
  });
});
afterEach(() => s3.restore());

const started = (input: Record<string, unknown> = {}) => ({
  runId: RUN,
  executionId: `arn:aws:states:us-east-1:123456789012:execution:IntentRouter-dev-Pipeline:${RUN}`,
  startTime: '2026-11-25T10:00:00.000Z',
  input,
});

describe('Preflight: the run candidates', () => {
  it('returns the configured candidates in order, their prompt versions, and checks each base model once', async () => {
    const result = await preflight(started(), new BedrockClient({}));
    expect(result.candidates.map((c) => c.name)).toEqual(['ft-micro', 'distill-micro', 'ft-lite']);
    expect(result.candidates[0]).toEqual(DEFAULTS[0]);
    expect(result.promptVersions).toEqual(['student-v3', 'student-v2']);
    const checked = bedrock.commandCalls(GetFoundationModelCommand).map((c) => c.args[0].input.modelIdentifier);
    expect(checked.filter((id) => id === 'amazon.nova-micro-v1:0')).toHaveLength(1);
    expect(checked).toContain('amazon.nova-lite-v1:0');
  });

  it('keeps only the candidates the input names, in the configured order', async () => {
    const result = await preflight(started({ candidates: ['ft-lite', 'ft-micro'] }), new BedrockClient({}));
    expect(result.candidates.map((c) => c.name)).toEqual(['ft-micro', 'ft-lite']);
    expect(result.promptVersions).toEqual(['student-v3']);
  });

  it('refuses an unknown name before anything is spent, naming the known ones', async () => {
    const run = preflight(started({ candidates: ['ft-mikro'] }), new BedrockClient({}));
    await expect(run).rejects.toMatchObject({ name: 'PreflightFailed' });
    await expect(run).rejects.toThrow(
      /names "ft-mikro", which the configuration does not have: name some of ft-micro, distill-micro, ft-lite/,
    );
    expect(bedrock.commandCalls(GetFoundationModelCommand)).toHaveLength(0);
    expect(s3.keys(BUCKET)).toEqual([]);
  });

  it.each([
    [[], /give a non-empty list of candidate names/],
    ['ft-micro', /give a non-empty list of candidate names/],
    [['ft-micro', 'ft-micro'], /names "ft-micro" twice/],
  ])('refuses candidates %j in the input', async (candidates, message) => {
    await expect(preflight(started({ candidates }), new BedrockClient({}))).rejects.toThrow(message);
  });

  it('runs a reused model as the one candidate "given", in the current student prompt version', async () => {
    const arn = 'arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-micro-v1:0:128k/abc123';
    const result = await preflight(started({ reuseModelArn: arn }), new BedrockClient({}));
    expect(result.candidates).toEqual([
      {
        name: 'given',
        method: 'reused',
        baseModelId: 'amazon.nova-micro-v1:0:128k',
        promptVersion: 'student-v2',
        reusedModelArn: arn,
      },
    ]);
    expect(result.promptVersions).toEqual(['student-v2']);
    await expect(
      preflight(started({ reuseModelArn: arn, candidates: ['ft-micro'] }), new BedrockClient({})),
    ).rejects.toThrow(/candidates and reuseModelArn exclude each other/);
  });

  it('refuses in us-west-2 a candidate only us-east-1 can fine-tune, naming it and the ways out', async () => {
    process.env.AWS_REGION = 'us-west-2';
    const run = preflight(started(), new BedrockClient({}));
    await expect(run).rejects.toMatchObject({ name: 'PreflightFailed' });
    await expect(run).rejects.toThrow(
      /candidate "ft-micro": Bedrock has no fine-tuning of Nova Micro in us-west-2 \(only in us-east-1\): remove the candidate/,
    );
    // The distillation candidate alone trains there.
    const result = await preflight(started({ candidates: ['distill-micro'] }), new BedrockClient({}));
    expect(result.candidates.map((c) => c.name)).toEqual(['distill-micro']);
  });

  it('reads the configured list from its environment contract, and refuses an unset one as a deployment mistake', async () => {
    delete process.env.CANDIDATES;
    await expect(preflight(started(), new BedrockClient({}))).rejects.toThrow(/CANDIDATES: .*redeploy/);
  });
});

describe('resolveRunCandidates', () => {
  const base = { configured: DEFAULTS, names: undefined, reuseModelArn: undefined, region: 'us-east-1' };
  it('is the configured list when nothing filters it', () => {
    expect(resolveRunCandidates({ ...base, studentModelId: 'amazon.nova-micro-v1:0:128k' })).toEqual(DEFAULTS);
  });
});
