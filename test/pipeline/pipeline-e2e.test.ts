import {
  CreateCustomModelDeploymentCommand,
  CreateEvaluationJobCommand,
  CreateModelCustomizationJobCommand,
  GetFoundationModelCommand,
} from '@aws-sdk/client-bedrock';
import { BedrockRuntimeClient, ConverseCommand, type ConverseCommandInput } from '@aws-sdk/client-bedrock-runtime';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { G } from './states';
import { T } from './states';
import { logger, metrics } from '../../lambda/core/runtime';
import { C } from './states';
import { readActiveModel } from '../../lambda/core/active-model';
import { validateDataset } from '../../lambda/core/dataset-validator';
import { CURRENT_STUDENT_PROMPT_VERSION } from '../../lambda/core/student-format';
import type { RunReport } from '../../lambda/pipeline/report/run-report';
import { runKeys } from '../../lambda/core/runs';
import { synth } from '../helpers/app';
import { InMemoryS3 } from '../helpers/aws-mocks';
import {
  allStates,
  lambdaEnvironment,
  runLocally,
  stateMachineDefinition,
  type LocalRunOptions,
  type LocalRunResult,
} from '../helpers/local-sfn';
import { SimulatedTeacher } from '../helpers/simulated-teacher';
import { addListing, FakeBedrock, type FakeBedrockOptions } from './fake-bedrock';
import { pipelineTasks } from './pipeline-tasks';

/**
 * The REAL pipeline state machine (the pipeline stack's template, generation wired to the training stages) executed
 * locally from Preflight to Report: every Task runs its real Lambda handler, AWS is mocked at the SDK boundary (an
 * in-memory S3 bucket, a simulated teacher, Bedrock's control plane with judge jobs writing their result files, SSM,
 * SNS), and waits and retry pauses take no time.
 */

// Context as `cdk -c` passes it (strings): the smallest dataset the validator accepts, shards of 10 queries.
const { templates } = synth({ exampleCount: '100', testExampleCount: '50', queriesPerShard: '10' });
const definition = stateMachineDefinition(templates.pipeline);
const environment = lambdaEnvironment(templates.pipeline);
const BUCKET = environment.DATASET_BUCKET ?? '';
const TEACHER = environment.TEACHER_MODEL_ID ?? '';
const BASELINE = environment.BASELINE_MODEL_ID ?? '';
const PARAMETER = environment.ACTIVE_MODEL_PARAMETER_NAME ?? '';
const $metadata = { httpStatusCode: 200, requestId: 'e2e' };

const runtime = mockClient(BedrockRuntimeClient);
const ssm = mockClient(SSMClient);
const sns = mockClient(SNSClient);
let s3: InMemoryS3;
let bedrock: FakeBedrock;
let savedEnv: NodeJS.ProcessEnv;

const tasks = pipelineTasks();

beforeAll(() => {
  logger.setLogLevel('SILENT');
  jest.spyOn(metrics, 'publishStoredMetrics').mockReturnValue(metrics);
});
beforeEach(() => {
  savedEnv = { ...process.env };
  Object.assign(process.env, environment, { AWS_REGION: 'us-east-1' });
  s3 = new InMemoryS3();
  addListing(s3);
  // The teacher writes and labels; the student (through its deployment) and the baseline answer like it would.
  const teacher = new SimulatedTeacher();
  const answerer = new SimulatedTeacher();
  runtime.reset();
  runtime
    .on(ConverseCommand)
    .callsFake((input: ConverseCommandInput) => (input.modelId === TEACHER ? teacher : answerer).reply(input));
  ssm.reset();
  ssm.on(GetParameterCommand).resolves({ $metadata, Parameter: { Name: PARAMETER, Value: 'none', Version: 1 } });
  ssm.on(PutParameterCommand).resolves({ $metadata, Version: 2 });
  sns.reset();
  sns.on(PublishCommand).resolves({ $metadata, MessageId: 'message-1' });
});
afterEach(() => {
  s3.restore();
  bedrock?.restore();
  process.env = savedEnv;
});
afterAll(() => {
  runtime.restore();
  ssm.restore();
  sns.restore();
});

/** Bedrock's control plane, the model lifecycle Preflight reads included (FakeBedrock). */
function fakeBedrock(options: FakeBedrockOptions = {}): FakeBedrock {
  bedrock = new FakeBedrock(s3, options);
  return bedrock;
}

const run = (executionName: string, input: LocalRunOptions['input'] = {}) =>
  runLocally(definition, { executionName, input, tasks });

/** The top-level states entered, in order (the Map's iterations left out). */
const path = (result: LocalRunResult) => result.entered.filter((s) => s !== G.generateShard);

const conversesWith = (model: (modelId: string) => boolean) =>
  runtime.commandCalls(ConverseCommand).filter((c) => model(c.args[0].input.modelId ?? ''));
const publishes = () => sns.commandCalls(PublishCommand).map((c) => c.args[0].input);
const readReport = (runId: string) => JSON.parse(s3.get(BUCKET, runKeys(runId).reportJson) ?? '{}') as RunReport;

const GENERATION_PATH = [G.preflight, G.reuseDataset, G.plan, G.calibrate, G.generate, G.assemble];
const TRAINING_PATH = [
  T.reuseModelChoice,
  T.startDistillation,
  ...[T.waitDistillation, T.checkDistillation, T.distillationChoice],
  ...[T.waitDistillation, T.checkDistillation, T.distillationChoice],
  T.deployStudent,
  ...[T.waitDeployment, T.checkDeployment, T.deploymentChoice],
  ...[T.waitDeployment, T.checkDeployment, T.deploymentChoice],
  T.evaluate,
  ...[T.waitEvaluation, T.checkEvaluation, T.evaluationChoice],
  ...[T.waitEvaluation, T.checkEvaluation, T.evaluationChoice],
  T.gate,
  T.gateChoice,
  // Nothing is promoted yet: the canary's start finds no incumbent and the candidate is promoted directly.
  C.startCanary,
  C.startedChoice,
];

describe('the pipeline state machine, executed locally from start to end', () => {
  it('has a local handler for every Task state of the real definition', () => {
    const taskStates = Object.entries(allStates(definition))
      .filter(([, s]) => s.Type === 'Task')
      .map(([name]) => name);
    expect(taskStates.sort()).toEqual(Object.keys(tasks).sort());
  });

  it('happy path: generates, distils, deploys, evaluates, passes the gate, promotes and reports', async () => {
    fakeBedrock({ jobStatuses: ['InProgress', 'Completed'], deploymentStatuses: ['Creating', 'Active'] });
    const result = await run('run-e2e');

    expect(result.status).toBe('SUCCEEDED');
    expect(path(result)).toEqual([...GENERATION_PATH, ...TRAINING_PATH, T.promote, T.report]);
    // 203 queries: 43, 43, 42, 42 for the modalities and 33 mixed, in shards of at most 10.
    expect(result.entered.filter((s) => s === G.generateShard)).toHaveLength(5 + 5 + 5 + 5 + 4);

    // Generation: a valid dataset of the configured size, labelled by the teacher.
    const keys = runKeys('run-e2e');
    expect(result.output?.['assemble']).toMatchObject({ trainKey: keys.train, trainCount: 100, testCount: 50 });
    expect(validateDataset(s3.get(BUCKET, keys.train) ?? '')).toMatchObject({ ok: true, records: 100 });
    // The teacher: one writing call per shard (24), the calibration (100 single labels, then 20 + 10 + 5 batches),
    // then one labelling call per shard — calibration chose batches of 20 and no shard holds more than 10 queries.
    expect(result.output?.['calibration']).toMatchObject({ labelBatchSize: 20, calibrated: true });
    expect(conversesWith((m) => m === TEACHER)).toHaveLength(24 + (100 + 35) + 24);

    // Distillation of that dataset, polled until Completed; then the deployment, polled until Active.
    const create = bedrock.mock.commandCalls(CreateModelCustomizationJobCommand)[0]?.args[0].input;
    expect(create).toMatchObject({
      customizationType: 'DISTILLATION',
      baseModelIdentifier: environment.STUDENT_MODEL_ID,
      roleArn: environment.CUSTOMIZATION_ROLE_ARN,
      trainingDataConfig: { s3Uri: `s3://${BUCKET}/${keys.train}` },
      outputDataConfig: { s3Uri: `s3://${BUCKET}/runs/run-e2e/distillation/` },
    });
    expect(result.output?.['distillationStatus']).toMatchObject({
      status: 'Completed',
      statusDetails: { trainingDetails: { status: 'Completed' } },
    });
    expect(bedrock.mock.commandCalls(CreateCustomModelDeploymentCommand)).toHaveLength(1);
    expect(result.output?.['deploymentStatus']).toMatchObject({ status: 'Active' });

    // Evaluation: every held-out query answered by the student's deployment and the baseline, then judged.
    const deploymentArn = bedrock.deployments[0]?.customModelDeploymentArn ?? '';
    expect(conversesWith((m) => m === deploymentArn)).toHaveLength(50);
    expect(conversesWith((m) => m === BASELINE)).toHaveLength(50);
    expect(bedrock.mock.commandCalls(CreateEvaluationJobCommand)).toHaveLength(2);
    expect(result.output?.['gate']).toMatchObject({ passed: true, failed: [] });

    // Promotion: the active-model parameter names the run's deployment and model.
    const puts = ssm.commandCalls(PutParameterCommand).map((c) => c.args[0].input);
    expect(puts).toHaveLength(1);
    expect(puts[0]).toMatchObject({ Name: PARAMETER, Type: 'String', Overwrite: true });
    const active = readActiveModel(puts[0]?.Value);
    expect(active).toEqual({
      state: 'promoted',
      model: {
        deploymentArn,
        modelArn: (result.output?.['distillationStatus'] as { outputModelArn: string }).outputModelArn,
        runId: 'run-e2e',
        promotedAt: expect.any(String),
        studentPromptVersion: CURRENT_STUDENT_PROMPT_VERSION,
        metrics: expect.objectContaining({ judgeScore: 4, dominantAgreement: 1, validReplyRate: 1 }),
      },
    });

    // Report: report.json and report.md in the run, and the summary on the topic (the only notification).
    const report = readReport('run-e2e');
    expect(report).toMatchObject({
      runId: 'run-e2e',
      outcome: 'PROMOTED',
      dataset: { trainCount: 100, testCount: 50, manifest: { runId: 'run-e2e' } },
      promotion: { promoted: true, parameterName: PARAMETER, version: 2 },
    });
    expect(s3.get(BUCKET, keys.reportMarkdown)).toContain('# Intent router run `run-e2e`: PROMOTED');
    expect(result.output?.['report']).toEqual({
      outcome: 'PROMOTED',
      reportJsonKey: keys.reportJson,
      reportMarkdownKey: keys.reportMarkdown,
      notified: true,
    });
    expect(publishes()).toEqual([
      {
        TopicArn: environment.TOPIC_ARN,
        Subject: 'Intent router run run-e2e: PROMOTED',
        Message: expect.stringContaining(`Report: s3://${BUCKET}/${keys.reportMarkdown}`),
      },
    ]);
  });

  it('distillation Failed: notifies with the failure message, then fails with it', async () => {
    const failureMessage = 'Data validation failed: 3 records exceed the maximum sequence length';
    fakeBedrock({ jobStatuses: ['InProgress', 'Failed'], jobFailureMessage: failureMessage });
    const result = await run('run-failed');

    expect(result).toMatchObject({ status: 'FAILED', error: 'DistillationJobFailed', cause: failureMessage });
    expect(path(result).slice(-5)).toEqual([
      T.checkDistillation,
      T.distillationChoice,
      T.distillationFailed,
      'Notify failure',
      'Run failed',
    ]);
    const sent = publishes();
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({
      TopicArn: environment.TOPIC_ARN,
      Subject: 'Intent router run failed at Distillation',
    });
    expect(JSON.parse(sent[0]?.Message ?? '{}')).toEqual({
      runId: 'run-failed',
      status: 'FAILED',
      step: 'Distillation',
      error: 'DistillationJobFailed',
      cause: failureMessage,
      execution: expect.stringMatching(/:execution:.*:run-failed$/),
    });
    expect(bedrock.mock.commandCalls(CreateCustomModelDeploymentCommand)).toHaveLength(0);
    expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(0);
    expect(s3.get(BUCKET, runKeys('run-failed').reportJson)).toBeUndefined();
  });

  it('deployment Failed: notifies with the deployment’s failure message, then fails with it', async () => {
    fakeBedrock({ deploymentStatuses: ['Creating', 'Failed'] });
    const result = await run('run-undeployed');

    expect(result).toMatchObject({
      status: 'FAILED',
      error: 'DeploymentFailed',
      cause: 'Deployment failed: model not supported',
    });
    expect(path(result).slice(-4)).toEqual([T.deploymentChoice, T.deploymentFailed, 'Notify failure', 'Run failed']);
    expect(path(result)).not.toContain(T.evaluate);
    expect(publishes().map((p) => [p.Subject, JSON.parse(p.Message ?? '{}').step])).toEqual([
      ['Intent router run failed at Deployment', 'Deployment'],
    ]);
    expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(0);
  });

  it('a throttled create and a create whose response was lost are retried into one distillation job', async () => {
    fakeBedrock({ throttleFirstCreates: 1, loseFirstCreateResponse: true });
    const result = await run('run-retried');

    expect(result.status).toBe('SUCCEEDED');
    // Throttled (nothing created), created with the response lost, then answered with the job of the same token.
    expect(bedrock.createCalls).toBe(3);
    expect(bedrock.jobs).toHaveLength(1);
    expect(result.output?.['distillation']).toMatchObject({ jobArn: bedrock.jobs[0]?.jobArn });
    expect(path(result).filter((s) => s === T.startDistillation)).toHaveLength(1);
    expect(result.output?.['report']).toMatchObject({ outcome: 'PROMOTED' });
  });

  it('gate rejects: promotes nothing, and the report names the failed threshold', async () => {
    // The judge scores the student 3 of 5 (below minJudgeScore 4) and the baseline 5 (on the rubric: an all-1 result
    // is ambiguous between the scales and refused).
    fakeBedrock({ judgeResults: { student: [0.5, 0.5], baseline: [5] } });
    const result = await run('run-rejected');

    expect(result.status).toBe('SUCCEEDED');
    expect(path(result).slice(-3)).toEqual([T.gateChoice, T.skipPromotion, T.report]);
    expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(0);
    expect(result.output?.['promotion']).toEqual({
      promoted: false,
      reason: expect.stringContaining('minJudgeScore (3 < 4)'),
    });

    const report = readReport('run-rejected');
    expect(report.outcome).toBe('REJECTED');
    expect(report.gate.failed).toEqual(expect.arrayContaining(['minJudgeScore']));
    expect(report.gate.checks.find((c) => c.name === 'minJudgeScore')).toMatchObject({
      value: 3,
      threshold: 4,
      passed: false,
    });
    expect(s3.get(BUCKET, runKeys('run-rejected').reportMarkdown)).toContain(
      'was **not promoted**: rejected: minJudgeScore (3 < 4)',
    );
    expect(publishes()).toEqual([
      expect.objectContaining({
        Subject: 'Intent router run run-rejected: REJECTED',
        Message: expect.stringContaining('Not promoted. Gate rejected: minJudgeScore (3 < 4)'),
      }),
    ]);
  });

  it('reuseDatasetFromRun: skips Plan, Generate and Assemble, trains on the earlier run’s files and reports', async () => {
    fakeBedrock();
    const earlier = await run('run-source');
    expect(earlier.status).toBe('SUCCEEDED');
    const source = runKeys('run-source');
    const sourceObjects = s3.keys(BUCKET).filter((k) => k.startsWith('runs/run-source/'));
    const sourceFiles = new Map(sourceObjects.map((k) => [k, s3.get(BUCKET, k)]));
    // A fresh control plane (its job and deployment poll scripts start over); S3 keeps the earlier run's files.
    bedrock.restore();
    fakeBedrock();
    runtime.resetHistory();
    sns.resetHistory();
    ssm.resetHistory();

    const result = await run('run-reuse', { reuseDatasetFromRun: 'run-source' });

    expect(result.status).toBe('SUCCEEDED');
    expect(path(result)).toEqual([G.preflight, G.reuseDataset, T.reuseDataset, ...TRAINING_PATH, T.promote, T.report]);
    // Preflight still checked the models (teacher, student, baseline, judge); the teacher was not asked anything.
    expect(bedrock.mock.commandCalls(GetFoundationModelCommand)).toHaveLength(4);
    expect(conversesWith((m) => m === TEACHER)).toHaveLength(0);
    expect(result.output?.['assemble']).toEqual({
      runId: 'run-reuse',
      bucket: BUCKET,
      trainKey: source.train,
      testKey: source.test,
      manifestKey: source.manifest,
      trainCount: 100,
      testCount: 50,
      // Told by the reused records' system prompt.
      studentPromptVersion: 'student-v2',
      reusedFromRun: 'run-source',
    });
    const create = bedrock.mock.commandCalls(CreateModelCustomizationJobCommand)[0]?.args[0].input;
    expect(create?.trainingDataConfig?.s3Uri).toBe(`s3://${BUCKET}/${source.train}`);
    expect(create?.outputDataConfig?.s3Uri).toBe(`s3://${BUCKET}/runs/run-reuse/distillation/`);

    // The new run writes only its own evaluation and report; the earlier run's files are untouched.
    const written = s3.keys(BUCKET).filter((k) => k.startsWith('runs/run-reuse/'));
    expect(written.filter((k) => /\/(shards|dataset)\//.test(k))).toEqual([]);
    expect(written).toEqual(expect.arrayContaining([runKeys('run-reuse').reportJson]));
    expect(s3.keys(BUCKET).filter((k) => k.startsWith('runs/run-source/'))).toEqual(sourceObjects);
    for (const [key, text] of sourceFiles) expect(s3.get(BUCKET, key)).toBe(text);
    expect(readReport('run-reuse')).toMatchObject({
      runId: 'run-reuse',
      outcome: 'PROMOTED',
      dataset: { trainKey: source.train, manifest: { runId: 'run-source' } },
    });
    expect(publishes()).toEqual([expect.objectContaining({ Subject: 'Intent router run run-reuse: PROMOTED' })]);
  });
});
