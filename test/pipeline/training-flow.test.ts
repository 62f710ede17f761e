import './training-env-setup';
import { CreateModelCustomizationJobCommand } from '@aws-sdk/client-bedrock';
import {
  BedrockRuntimeClient,
  ConverseCommand,
  type ConverseCommandInput,
  type ConverseCommandOutput,
} from '@aws-sdk/client-bedrock-runtime';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { T as S } from './states';
import { toRecord } from '../../lambda/core/dataset-record';
import { handler as checkDeploymentHandler } from '../../lambda/pipeline/deployment/check-deployment';
import { handler as checkTrainingHandler } from '../../lambda/pipeline/training/check-training';
import { handler as checkEvaluationHandler } from '../../lambda/pipeline/evaluation/check-evaluation';
import { handler as deployStudentHandler } from '../../lambda/pipeline/deployment/deploy-student';
import { handler as evaluateHandler } from '../../lambda/pipeline/evaluation/evaluate';
import { handler as gateHandler } from '../../lambda/pipeline/gate/gate';
import { handler as promoteHandler } from '../../lambda/pipeline/rollout/promote';
import { handler as reportHandler } from '../../lambda/pipeline/report/report';
import { handler as reuseDatasetHandler } from '../../lambda/pipeline/generation/reuse-dataset';
import { handler as startTrainingHandler } from '../../lambda/pipeline/training/start-training';
import { handler as selectCandidateHandler } from '../../lambda/pipeline/selection/select-candidate';
import { handler as deleteRunnersUpHandler } from '../../lambda/pipeline/selection/delete-runners-up';
import { handler as checkCanaryHandler } from '../../lambda/pipeline/rollout/check-canary';
import { handler as startCanaryHandler } from '../../lambda/pipeline/rollout/start-canary';
import { C } from './states';
import { converseReply, InMemoryS3, requestTexts } from '../helpers/aws-mocks';
import {
  allStates,
  lambdaTask,
  runLocally,
  stateMachineDefinition,
  type LocalRunOptions,
  type TaskHandler,
} from '../helpers/local-sfn';
import { addListing, FakeBedrock, type FakeBedrockOptions } from './fake-bedrock';
import { buildTrainingStack } from './training-fixture';
import { BUCKET, MODEL_ARN } from './training-env';
import { studentFormatOfPrompt } from '../../lambda/core/student-format';

/**
 * The synthesized fragment executed locally from Assemble's result to the end: every Lambda task runs its real
 * handler, with AWS mocked at the SDK boundary; waits and retry pauses are skipped.
 */

const RUN = 'run-1';
const definition = stateMachineDefinition(buildTrainingStack().stack);
const $metadata = { httpStatusCode: 200, requestId: 'r' };

const runtime = mockClient(BedrockRuntimeClient);
const ssm = mockClient(SSMClient);
const sns = mockClient(SNSClient);
let s3: InMemoryS3;
let bedrock: FakeBedrock;
let notifications: Record<string, unknown>[];

const label = (v: number, a: number, t: number, m: number) => ({ visual: v, audio: a, transcription: t, metadata: m });
const TEST_SET = [
  ['red car driving', label(0.9, 0, 0, 0.1)],
  ['dog barking loudly', label(0.3, 0.6, 0, 0.1)],
  ['Taylor Swift', label(0.3, 0, 0.1, 0.6)],
  ['chef says add salt', label(0.2, 0, 0.7, 0.1)],
] as const;
const ASSEMBLE = {
  runId: RUN,
  bucket: BUCKET,
  trainKey: `runs/${RUN}/dataset/train-student-v2.jsonl`,
  trainKeys: {
    'student-v2': `runs/${RUN}/dataset/train-student-v2.jsonl`,
    'student-v3': `runs/${RUN}/dataset/train-student-v3.jsonl`,
  },
  testKey: `runs/${RUN}/dataset/test.jsonl`,
  manifestKey: `runs/${RUN}/dataset/manifest.json`,
  trainCount: 9000,
  testCount: TEST_SET.length,
};

function setUp(options: FakeBedrockOptions = {}) {
  s3 = new InMemoryS3();
  addListing(s3);
  bedrock = new FakeBedrock(s3, options);
  notifications = [];
  const lines = TEST_SET.map(([q, w]) => JSON.stringify(toRecord(q, w))).join('\n');
  s3.set(BUCKET, ASSEMBLE.testKey, lines);
  s3.set(BUCKET, ASSEMBLE.trainKey, lines);
  s3.set(BUCKET, ASSEMBLE.manifestKey, JSON.stringify({ mixedShare: 0.1 }));
  runtime.reset();
  runtime.on(ConverseCommand).callsFake(async (input: ConverseCommandInput): Promise<ConverseCommandOutput> => {
    const { system, user } = requestTexts(input);
    const found = TEST_SET.find(([q]) => q === user);
    // The student answers in the format of its prompt (the test set's, student-v2); the baseline in JSON.
    const format = studentFormatOfPrompt(system);
    const text = found && format ? format.render(found[1]) : JSON.stringify(found?.[1] ?? {});
    // Input tokens grow with the prompt (about 4 characters a token), so a shorter student prompt costs less.
    const inputTokens = Math.ceil((system.length + user.length) / 4);
    return converseReply(text, { inputTokens, outputTokens: format ? 7 : 25 });
  });
  ssm.reset();
  ssm.on(GetParameterCommand).resolves({ $metadata, Parameter: { Name: 'p', Value: 'none', Version: 1 } });
  ssm.on(PutParameterCommand).resolves({ $metadata, Version: 2 });
  sns.reset();
  sns.on(PublishCommand).resolves({ $metadata, MessageId: 'm' });
}
afterEach(() => {
  s3?.restore();
  bedrock?.restore();
});

const tasks = Object.entries(allStates(definition))
  .filter(([, s]) => s.Type === 'Task')
  .map(([name]) => name);

/** Every Task of the fragment runs its real handler, delivered the way Lambda delivers results and errors. */
const TASKS: Record<string, TaskHandler> = {
  [S.startTraining]: lambdaTask(startTrainingHandler),
  [S.checkTraining]: lambdaTask(checkTrainingHandler),
  [S.deployStudent]: lambdaTask(deployStudentHandler),
  [S.checkDeployment]: lambdaTask(checkDeploymentHandler),
  [S.evaluate]: lambdaTask(evaluateHandler),
  [S.checkEvaluation]: lambdaTask(checkEvaluationHandler),
  [S.gate]: lambdaTask(gateHandler),
  [S.selectCandidate]: lambdaTask(selectCandidateHandler),
  [S.deleteRunnersUp]: lambdaTask(deleteRunnersUpHandler),
  [S.promote]: lambdaTask(promoteHandler),
  [S.report]: lambdaTask(reportHandler),
  [S.reuseDataset]: lambdaTask(reuseDatasetHandler),
  [C.startCanary]: lambdaTask(startCanaryHandler),
  [C.checkCanary]: lambdaTask(checkCanaryHandler),
  [C.abandonCanary]: lambdaTask(checkCanaryHandler),
  'Notify failure': async (parameters: Record<string, unknown>) => {
    notifications.push(parameters);
    return {};
  },
};

// What Preflight puts in the state before the fragment: nothing promoted yet (the incumbent gate is tested end to end),
// and the run's candidates: one distillation in student-v2 unless a test trains both default candidates.
const DISTILL = {
  name: 'distill-micro',
  method: 'distillation',
  baseModelId: 'amazon.nova-micro-v1:0:128k',
  promptVersion: 'student-v2',
};
const FINE_TUNE = {
  name: 'ft-micro',
  method: 'fine-tuning',
  baseModelId: 'amazon.nova-micro-v1:0:128k',
  promptVersion: 'student-v3',
  hyperParameters: { epochCount: 2, learningRate: 0.00001 },
};
const preflight = (candidates: readonly object[] = [DISTILL]) => ({
  incumbent: { present: false, reason: 'nothing is promoted yet' },
  candidates,
});
const PREFLIGHT = preflight();
const run = (input: Record<string, unknown>) =>
  runLocally(definition, {
    executionName: RUN,
    input: JSON.parse(JSON.stringify({ preflight: PREFLIGHT, ...input })) as LocalRunOptions['input'],
    tasks: TASKS,
  });

/** Runs the fragment and expects it to succeed (a failure shows its error and cause): the execution's output. */
async function runToEnd(input: Record<string, unknown>): Promise<Record<string, unknown>> {
  const result = await run(input);
  expect({ status: result.status, error: result.error, cause: result.cause }).toEqual({ status: 'SUCCEEDED' });
  return result.output ?? {};
}

describe('the training fragment, executed locally', () => {
  it('lists a local handler for every Task state', () => {
    expect(tasks.sort()).toEqual(
      [
        S.startTraining,
        S.checkTraining,
        S.deployStudent,
        S.checkDeployment,
        S.evaluate,
        S.checkEvaluation,
        S.gate,
        S.selectCandidate,
        S.deleteRunnersUp,
        S.promote,
        S.report,
        S.reuseDataset,
        C.startCanary,
        C.checkCanary,
        C.abandonCanary,
        'Notify failure',
      ].sort(),
    );
  });

  it('happy path: trains, deploys, evaluates, selects, promotes and reports', async () => {
    setUp({
      jobStatuses: ['InProgress', 'InProgress', 'Completed'],
      judgeResults: { student: [0.8, 0.8], baseline: [0.75] },
    });
    const out = await runToEnd({ assemble: ASSEMBLE });
    const chosen = (out['selection'] as { chosen: Record<string, unknown> }).chosen;
    expect(chosen['training']).toMatchObject({
      status: 'Completed',
      statusDetails: { trainingDetails: { status: 'Completed' } },
    });
    expect(chosen['evaluationStatus']).toMatchObject({
      status: 'Completed',
      judge: { student: { mean: 4.2 }, baseline: { mean: 4 } },
    });
    expect(chosen['gate']).toMatchObject({ passed: true });
    expect(out['selection']).toMatchObject({ winner: 'distill-micro', promote: true, runnersUpDeployments: [] });
    expect(out['promotion']).toEqual({ promoted: true, parameterName: '/intent-router/dev/active-model', version: 2 });
    expect(out['report']).toMatchObject({ outcome: 'PROMOTED', reportJsonKey: 'runs/run-1/report.json' });
    expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(1);
    expect(s3.get(BUCKET, 'runs/run-1/report.md')).toContain('PROMOTED');
    expect(notifications).toEqual([]);
    expect(bedrock.jobs).toHaveLength(1);
  });

  it('the only candidate’s job Failed: no candidate is left, so the run notifies and fails with its cause', async () => {
    setUp({ jobStatuses: ['InProgress', 'Failed'], jobFailureMessage: 'Data validation failed: too few records' });
    expect(await run({ assemble: ASSEMBLE })).toMatchObject({ status: 'FAILED' });
    expect(notifications).toHaveLength(1);
    expect(notifications[0]?.['Message']).toMatchObject({
      status: 'FAILED',
      step: S.selectCandidate,
      error: 'NoCandidateLeft',
      cause: expect.stringContaining(
        'distill-micro at Training: TrainingJobFailed: Data validation failed: too few records',
      ),
    });
    expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(0);
  });

  it('the only candidate’s deployment Failed: notifies and fails with the deployment’s cause', async () => {
    setUp({ deploymentStatuses: ['Creating', 'Failed'] });
    expect(await run({ assemble: ASSEMBLE })).toMatchObject({
      status: 'FAILED',
      cause: expect.stringMatching(
        /distill-micro at Deployment: DeploymentFailed: Deployment failed: model not supported/,
      ),
    });
    expect(notifications[0]?.['Message']).toMatchObject({ step: S.selectCandidate, error: 'NoCandidateLeft' });
  });

  it('two candidates: both train side by side, the cheaper one that sampling error cannot separate wins', async () => {
    setUp({ judgeResults: { student: [0.8, 0.8], baseline: [0.75] } });
    const out = await runToEnd({ assemble: ASSEMBLE, preflight: preflight([FINE_TUNE, DISTILL]) });
    const types = bedrock.mock.commandCalls(CreateModelCustomizationJobCommand).map((c) => c.args[0].input);
    expect(types.map((t) => [t.customizationType, t.trainingDataConfig?.s3Uri])).toEqual(
      expect.arrayContaining([
        ['FINE_TUNING', `s3://${BUCKET}/runs/run-1/dataset/train-student-v3.jsonl`],
        ['DISTILLATION', `s3://${BUCKET}/runs/run-1/dataset/train-student-v2.jsonl`],
      ]),
    );
    expect(bedrock.deployments).toHaveLength(2);
    // The fine-tuned student's prompt is shorter: same agreement and judge score, lower cost per query.
    expect(out['selection']).toMatchObject({
      winner: 'ft-micro',
      promote: true,
      ranking: [
        { name: 'ft-micro', rank: 1 },
        { name: 'distill-micro', rank: 2 },
      ],
    });
    const runnerUp = bedrock.deployments.find((d) => d.customModelDeploymentName?.includes('distill-micro'));
    expect(out['runnersUp']).toEqual({ deleted: [runnerUp?.customModelDeploymentArn], missing: [], refused: [] });
    const active = JSON.parse(String(ssm.commandCalls(PutParameterCommand)[0]?.args[0].input.Value)) as {
      studentPromptVersion: string;
    };
    expect(active.studentPromptVersion).toBe('student-v3');
    expect(out['report']).toMatchObject({ outcome: 'PROMOTED' });
  });

  it('two candidates, one job fails: the other is evaluated and promoted, the failed one reported', async () => {
    setUp({
      jobStatusesByType: { FINE_TUNING: ['InProgress', 'Failed'] },
      jobFailureMessage: 'insufficient capacity',
    });
    const out = await runToEnd({ assemble: ASSEMBLE, preflight: preflight([FINE_TUNE, DISTILL]) });
    expect(out['selection']).toMatchObject({
      winner: 'distill-micro',
      dropped: [{ name: 'ft-micro', step: 'Training', error: 'TrainingJobFailed', cause: 'insufficient capacity' }],
    });
    expect(bedrock.deployments).toHaveLength(1);
    expect(out['report']).toMatchObject({ outcome: 'PROMOTED' });
    expect(notifications).toEqual([]);
  });

  it('two candidates, neither passes its gate: nothing is promoted and the report says why', async () => {
    setUp({ judgeResults: { student: [0.5, 0.5], baseline: [5] } });
    const out = await runToEnd({ assemble: ASSEMBLE, preflight: preflight([FINE_TUNE, DISTILL]) });
    expect(out['selection']).toMatchObject({ promote: false });
    expect(out['promotion']).toEqual({
      promoted: false,
      reason: 'no candidate passed its gate (ft-micro: rejected; distill-micro: rejected)',
    });
    expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(0);
    expect(out['report']).toMatchObject({ outcome: 'REJECTED' });
  });

  it('gate rejects: promotes nothing and the report says which threshold', async () => {
    // Student 3 of 5, baseline 5 (on the rubric: an all-1 result is ambiguous between the scales and refused).
    setUp({ judgeResults: { student: [0.5, 0.5], baseline: [5] } });
    const out = await runToEnd({ assemble: ASSEMBLE });
    expect(out['promotion']).toEqual({
      promoted: false,
      reason: 'no candidate passed its gate (distill-micro: rejected)',
    });
    expect(out['report']).toMatchObject({ outcome: 'REJECTED' });
    expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(0);
    expect(s3.get(BUCKET, 'runs/run-1/report.md')).toContain(
      'rejected: minJudgeScore (3 < 4), maxJudgeGapToBaseline (2 > 0.25)',
    );
  });

  it('ThrottlingException on create: retried by the state machine', async () => {
    setUp({ throttleFirstCreates: 2 });
    const out = await runToEnd({ assemble: ASSEMBLE });
    expect(bedrock.createCalls).toBe(3);
    expect(bedrock.jobs).toHaveLength(1);
    expect(out['report']).toMatchObject({ outcome: 'PROMOTED' });
  });

  it('a create retried after a lost response does not start a second job', async () => {
    setUp({ loseFirstCreateResponse: true });
    const out = await runToEnd({ assemble: ASSEMBLE });
    expect(bedrock.mock.commandCalls(CreateModelCustomizationJobCommand)).toHaveLength(2);
    expect(bedrock.jobs).toHaveLength(1);
    expect((out['selection'] as { chosen: { training: unknown } }).chosen.training).toMatchObject({
      jobArn: bedrock.jobs[0]?.jobArn,
    });
  });

  it('a given model (reuseModelArn): skips the training and deploys the given model', async () => {
    setUp();
    const given = { name: 'given', method: 'reused', baseModelId: DISTILL.baseModelId, promptVersion: 'student-v2' };
    const out = await runToEnd({
      assemble: ASSEMBLE,
      preflight: preflight([{ ...given, reusedModelArn: MODEL_ARN }]),
    });
    expect(bedrock.mock.commandCalls(CreateModelCustomizationJobCommand)).toHaveLength(0);
    expect((out['selection'] as { chosen: { deployment: unknown } }).chosen.deployment).toMatchObject({
      modelArn: MODEL_ARN,
    });
    expect(out['report']).toMatchObject({ outcome: 'PROMOTED' });
  });

  it('reuseDatasetFromRun: takes an earlier run’s dataset instead of generating one', async () => {
    setUp();
    const lines = TEST_SET.map(([q, w]) => JSON.stringify(toRecord(q, w))).join('\n');
    s3.set(BUCKET, 'runs/run-0/dataset/train.jsonl', lines);
    s3.set(BUCKET, 'runs/run-0/dataset/test.jsonl', lines);
    const out = await runToEnd({ reuseDatasetFromRun: 'run-0' });
    expect(out['assemble']).toMatchObject({ trainKey: 'runs/run-0/dataset/train.jsonl', testCount: 4 });
    const create = bedrock.mock.commandCalls(CreateModelCustomizationJobCommand)[0]?.args[0].input;
    expect(create?.trainingDataConfig?.s3Uri).toBe('s3://dataset-bucket/runs/run-0/dataset/train.jsonl');
    expect(create?.outputDataConfig?.s3Uri).toBe('s3://dataset-bucket/runs/run-1/distill-micro/training/');
  });
});
