import {
  BedrockClient,
  GetFoundationModelCommand,
  type GetFoundationModelCommandOutput,
} from '@aws-sdk/client-bedrock';
import { BedrockRuntimeClient, ConverseCommand, type ConverseCommandInput } from '@aws-sdk/client-bedrock-runtime';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { mockClient } from 'aws-sdk-client-mock';
import { parseConfig } from '../../lib/config';
import { DatasetBucket } from '../../lib/constructs/dataset-bucket';
import { Notifications } from '../../lib/constructs/notifications';
import { DistillationPipeline, GENERATION_STATES as S } from '../../lib/constructs/pipeline/state-machine';
import { handler as assembleHandler } from '../../lambda/pipeline/assemble';
import { handler as generateShardHandler } from '../../lambda/pipeline/generate-shard';
import { logger, metrics } from '../../lambda/pipeline/generation-common';
import { handler as planHandler } from '../../lambda/pipeline/plan';
import { handler as preflightHandler } from '../../lambda/pipeline/preflight';
import { validateDataset } from '../../lambda/shared/dataset-validator';
import { runKeys } from '../../lambda/shared/runs';
import { nagFindings, synth } from '../helpers/app';
import { InMemoryS3 } from '../helpers/aws-mocks';
import {
  allStates,
  lambdaEnvironment,
  lambdaTask,
  runLocally,
  snsPublishTask,
  stateMachineDefinition,
  validateDefinition,
} from '../helpers/local-sfn';
import { SimulatedTeacher } from '../helpers/simulated-teacher';

const SMALL = { exampleCount: 100, testExampleCount: 50, queriesPerShard: 10 };

describe('the pipeline state machine (synthesized)', () => {
  const { templates, stacks } = synth(SMALL);
  const template = templates.pipeline;
  const definition = stateMachineDefinition(template);
  const states = allStates(definition);

  it('is named after the environment, traced, logged at ALL to its own log group, bounded by pipelineTimeoutHours', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineName: 'IntentRouter-dev-Pipeline',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: Match.objectLike({ Level: 'ALL', IncludeExecutionData: true }),
    });
    expect(definition.TimeoutSeconds).toBe(24 * 3600);
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
    template.hasOutput('StateMachineArn', { Value: { Ref: Match.stringLikeRegexp('StateMachine') } });
  });

  it('chains Preflight → Plan → Generate → Assemble → done, the run id taken from the execution name', () => {
    expect(definition.StartAt).toBe(S.preflight);
    expect(states[S.preflight]).toMatchObject({ Next: S.plan, Parameters: { 'runId.$': '$$.Execution.Name' } });
    expect(states[S.plan]).toMatchObject({ Next: S.generate, ResultPath: '$.plan' });
    expect(states[S.generate]).toMatchObject({ Next: S.assemble });
    expect(states[S.assemble]).toMatchObject({ Next: S.done, ResultPath: '$.assemble' });
  });

  it('generates with a Distributed Map over the planned shards, bounded by the configuration', () => {
    expect(states[S.generate]).toMatchObject({
      Type: 'Map',
      ItemsPath: '$.plan.shards',
      ItemSelector: { 'runId.$': '$.plan.runId', 'shard.$': '$$.Map.Item.Value' },
      MaxConcurrency: 10,
      ToleratedFailurePercentage: 10,
      ResultPath: null,
      ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' } },
    });
    expect(states[S.generate]?.['ItemReader']).toBeUndefined();
    const custom = synth({ ...SMALL, generationConcurrency: 25, maxShardFailurePercent: 5 });
    expect(allStates(stateMachineDefinition(custom.templates.pipeline))[S.generate]).toMatchObject({
      MaxConcurrency: 25,
      ToleratedFailurePercentage: 5,
    });
  });

  it('retries the shard task on named Lambda and Bedrock transient errors, and lets its failures count in the Map', () => {
    const shard = states[S.generateShard];
    const retried = (shard?.Retry as { ErrorEquals: string[] }[]).flatMap((r) => r.ErrorEquals);
    expect(retried).toEqual(
      expect.arrayContaining(['Lambda.TooManyRequestsException', 'ThrottlingException', 'ServiceUnavailableException']),
    );
    expect(retried).not.toContain('States.ALL');
    expect(shard?.['Catch']).toBeUndefined();
  });

  it('routes every failure of a step to notify → Fail', () => {
    for (const step of [S.preflight, S.plan, S.generate, S.assemble]) {
      const catches = states[step]?.['Catch'] as { ErrorEquals: string[]; Next: string }[];
      expect(catches).toEqual([expect.objectContaining({ ErrorEquals: ['States.ALL'], Next: `${step} failed` })]);
      expect(states[`${step} failed`]).toMatchObject({ Type: 'Pass', Next: 'Notify failure' });
    }
    expect(states['Notify failure']).toMatchObject({ Resource: 'arn:aws:states:::sns:publish', Next: 'Run failed' });
    expect(states['Run failed']).toMatchObject({ Type: 'Fail', CausePath: '$.failure.cause' });
  });

  it('is valid Amazon States Language', () => {
    expect(validateDefinition(definition)).toEqual({ isValid: true, errors: '' });
  });

  it('passes the configuration to the functions as environment variables', () => {
    const env = lambdaEnvironment(template);
    expect(env).toMatchObject({
      TEACHER_MODEL_ID: 'us.amazon.nova-premier-v1:0',
      STUDENT_MODEL_ID: 'amazon.nova-micro-v1:0:128k',
      EXAMPLE_COUNT: '100',
      TEST_EXAMPLE_COUNT: '50',
      QUERIES_PER_SHARD: '10',
      LABEL_CONCURRENCY: '8',
      MIN_GENERATION_SUCCESS_RATE: '0.9',
      INCLUDE_REASONING: 'false',
    });
    expect(JSON.parse(env.PRICE_TABLE ?? '{}')).toHaveProperty(['amazon.nova-premier-v1:0']);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('one shard'),
      Timeout: 900,
    });
  });

  it('lets the generation function invoke only the teacher profile and its foundation models in the profile regions', () => {
    const statements = policyStatements(template, 'bedrock:InvokeModel');
    const resources = statements.flatMap((s) => [s.Resource].flat()).map((r) => JSON.stringify(r));
    expect(resources).toHaveLength(4);
    expect(resources.join()).toMatch(/inference-profile\/us\.amazon\.nova-premier-v1:0/);
    for (const region of ['us-east-1', 'us-east-2', 'us-west-2']) {
      expect(resources.join()).toContain(`:bedrock:${region}::foundation-model/amazon.nova-premier-v1:0`);
    }
    const preflight = policyStatements(template, 'bedrock:GetFoundationModel').flatMap((s) => [s.Resource].flat());
    expect(preflight.sort()).toEqual([
      'arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0',
      'arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-premier-v1:0',
    ]);
  });

  it('limits S3 object access to the run prefixes, with no wildcard action anywhere', () => {
    for (const action of ['s3:GetObject', 's3:PutObject']) {
      for (const statement of policyStatements(template, action)) {
        for (const resource of [statement.Resource].flat()) {
          expect(JSON.stringify(resource)).toMatch(/\/runs\/\*\/(shards|dataset)\//);
        }
      }
    }
    const actions = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p) =>
      (p.Properties.PolicyDocument.Statement as { Action: string | string[] }[]).flatMap((s) => [s.Action].flat()),
    );
    expect(actions.filter((a) => a.includes('*'))).toEqual([]);
  });

  it('leaves no unacknowledged cdk-nag finding', () => {
    expect(nagFindings(stacks.pipeline)).toEqual([]);
  });
});

describe('DistillationPipeline', () => {
  it('plugs later stages in after Assemble, handing them the failure path', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Plug', { env: { region: 'us-east-1' } });
    const config = parseConfig({ ...SMALL });
    const notifications = new Notifications(stack, 'Notifications', {});
    let received: unknown;
    const pipeline = new DistillationPipeline(stack, 'Pipeline', {
      config,
      dataset: new DatasetBucket(stack, 'Dataset', { retainData: true }),
      notifications,
      afterAssemble: (failure) => {
        received = failure;
        return new sfn.Pass(stack, 'Next stage');
      },
    });
    expect(received).toBe(pipeline.failure);
    const states = allStates(stateMachineDefinition(Template.fromStack(stack)));
    expect(states[S.assemble]).toMatchObject({ Next: 'Next stage' });
    expect(states[S.done]).toBeUndefined();
    expect(Object.keys(pipeline.functions)).toEqual(['preflight', 'plan', 'generateShard', 'assemble']);
  });
});

describe('the pipeline state machine, executed locally from Preflight to Assemble', () => {
  const { templates } = synth(SMALL);
  const definition = stateMachineDefinition(templates.pipeline);
  const environment = lambdaEnvironment(templates.pipeline);
  const bucket = environment.BUCKET_NAME ?? '';

  const bedrock = mockClient(BedrockClient);
  const runtime = mockClient(BedrockRuntimeClient);
  const sns = mockClient(SNSClient);
  let s3: InMemoryS3;
  let savedEnv: NodeJS.ProcessEnv;

  beforeAll(() => {
    logger.setLogLevel('SILENT');
    jest.spyOn(metrics, 'publishStoredMetrics').mockReturnValue(metrics);
  });
  beforeEach(() => {
    savedEnv = { ...process.env };
    Object.assign(process.env, environment, { AWS_REGION: 'us-east-1' });
    bedrock.reset();
    runtime.reset();
    sns.reset();
    sns.on(PublishCommand).resolves({ $metadata: { httpStatusCode: 200 }, MessageId: 'm-1' });
    s3 = new InMemoryS3();
    const teacher = new SimulatedTeacher();
    runtime.on(ConverseCommand).callsFake((input: ConverseCommandInput) => teacher.reply(input));
  });
  afterEach(() => {
    s3.restore();
    process.env = savedEnv;
  });

  const lifecycle = (teacher: 'ACTIVE' | 'LEGACY') =>
    bedrock
      .on(GetFoundationModelCommand)
      .callsFake((input: { modelIdentifier?: string }): GetFoundationModelCommandOutput => ({
        $metadata: { httpStatusCode: 200 },
        modelDetails: {
          modelArn: `arn:aws:bedrock:us-east-1::foundation-model/${input.modelIdentifier}`,
          modelId: input.modelIdentifier,
          modelLifecycle: { status: input.modelIdentifier === 'amazon.nova-premier-v1:0' ? teacher : 'ACTIVE' },
        },
      }));

  const tasks = () => ({
    [S.preflight]: lambdaTask(preflightHandler),
    [S.plan]: lambdaTask(planHandler),
    [S.generateShard]: lambdaTask(generateShardHandler),
    [S.assemble]: lambdaTask(assembleHandler),
    'Notify failure': snsPublishTask(new SNSClient({ region: 'us-east-1' })),
  });

  it('generates, assembles and validates a dataset end to end', async () => {
    lifecycle('ACTIVE');
    const result = await runLocally(definition, { executionName: 'run-local-1', tasks: tasks() });

    expect(result).toMatchObject({ status: 'SUCCEEDED' });
    const keys = runKeys('run-local-1');
    expect(result.output?.['assemble']).toEqual({
      runId: 'run-local-1',
      bucket,
      trainKey: keys.train,
      testKey: keys.test,
      manifestKey: keys.manifest,
      trainCount: 100,
      testCount: 50,
    });
    const plan = result.output?.['plan'] as { shardCount: number; plannedQueries: number };
    expect(plan).toMatchObject({ plannedQueries: 203, shardCount: 21 });
    expect(s3.keys(bucket).filter((k) => k.startsWith(keys.shardsPrefix + 'shard-'))).toHaveLength(21);
    expect(validateDataset(s3.get(bucket, keys.train) ?? '')).toMatchObject({ ok: true, records: 100 });
    const manifest = JSON.parse(s3.get(bucket, keys.manifest) ?? '{}');
    expect(manifest.generation).toMatchObject({ planned: 203, labelled: 203 });
    expect(manifest.teacher.calls.labelling).toBe(203);
    expect(sns.commandCalls(PublishCommand)).toHaveLength(0);
  });

  it('re-runs without calling the teacher again or rewriting anything', async () => {
    lifecycle('ACTIVE');
    await runLocally(definition, { executionName: 'run-local-2', tasks: tasks() });
    const before = new Map(s3.objects);
    runtime.resetHistory();
    const again = await runLocally(definition, { executionName: 'run-local-2', tasks: tasks() });
    expect(again.status).toBe('SUCCEEDED');
    expect(runtime.commandCalls(ConverseCommand)).toHaveLength(0);
    expect(s3.objects).toEqual(before);
  });

  it('stops at Preflight on a Legacy teacher: notifies with the cause, then fails with it', async () => {
    lifecycle('LEGACY');
    const result = await runLocally(definition, { executionName: 'run-legacy', tasks: tasks() });

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('PreflightFailed');
    // The cause is what Lambda reports for a function error: {"errorType","errorMessage"}.
    const cause = JSON.parse(result.cause ?? '{}');
    expect(cause.errorType).toBe('PreflightFailed');
    expect(cause.errorMessage).toMatch(
      /teacherModelId "us.amazon.nova-premier-v1:0".*LEGACY.*"us\.amazon\.nova-pro-v1:0"/,
    );
    expect(result.entered).toEqual([S.preflight, `${S.preflight} failed`, 'Notify failure', 'Run failed']);

    const publishes = sns.commandCalls(PublishCommand);
    expect(publishes).toHaveLength(1);
    const request = publishes[0]!.args[0].input;
    expect(request.TopicArn).toMatch(/^arn:aws:sns:us-east-1:\d{12}:/);
    expect(request.Subject).toBe('Intent router run run-legacy failed at Preflight');
    const message = JSON.parse(request.Message ?? '{}');
    expect(message).toMatchObject({
      runId: 'run-legacy',
      status: 'FAILED',
      step: 'Preflight',
      error: 'PreflightFailed',
    });
    expect(message.cause).toBe(result.cause);
    expect(runtime.commandCalls(ConverseCommand)).toHaveLength(0);
    expect(s3.keys(bucket)).toEqual([]);
  });
});

type Statement = { Action: string | string[]; Resource: unknown };
function policyStatements(template: Template, action: string): Statement[] {
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[])
    .filter((s) => [s.Action].flat().includes(action));
}
