import { CreateModelCustomizationJobCommand } from '@aws-sdk/client-bedrock';
import { BedrockRuntimeClient, ConverseCommand, type ConverseCommandInput } from '@aws-sdk/client-bedrock-runtime';
import {
  CloudWatchClient,
  DescribeAlarmHistoryCommand,
  DescribeAlarmsCommand,
  GetMetricDataCommand,
  type GetMetricDataCommandInput,
  type GetMetricDataCommandOutput,
  type DescribeAlarmsCommandInput,
  type DescribeAlarmsCommandOutput,
  type StateValue,
} from '@aws-sdk/client-cloudwatch';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import {
  GetParameterCommand,
  PutParameterCommand,
  SSMClient,
  type GetParameterCommandOutput,
  type PutParameterCommandInput,
  type PutParameterCommandOutput,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { handler as abandonCanaryHandler } from '../../lambda/pipeline/rollout/abandon-canary';
import { clock } from '../../lambda/pipeline/rollout/canary-aws';
import { logger, metrics } from '../../lambda/core/runtime';
import { readActiveModel, type ActiveModel } from '../../lambda/core/active-model';
import { toRecord } from '../../lambda/core/dataset-record';
import { MODALITIES } from '../../lambda/core/modality';
import { productionRecordsKey } from '../../lambda/core/production-records';
import { CURRENT_STUDENT_PROMPT_VERSION } from '../../lambda/core/student-format';
import type { RunReport } from '../../lambda/pipeline/report/run-report';
import type { SelectCandidateResult } from '../../lambda/pipeline/selection/select-candidate';
import { runKeys } from '../../lambda/core/runs';
import { C } from './states';
import { T } from './states';
import { synth } from '../helpers/app';
import { InMemoryS3 } from '../helpers/aws-mocks';
import {
  lambdaEnvironment,
  lambdaTask,
  runLocally,
  stateMachineDefinition,
  type LocalRunResult,
} from '../helpers/local-sfn';
import { dominantWeights, SimulatedTeacher } from '../helpers/simulated-teacher';
import { addListing, FakeBedrock } from './fake-bedrock';
import { pipelineTasks } from './pipeline-tasks';

/**
 * The canary, executed locally through the REAL synthesized pipeline state machine and the real handlers: a run from
 * production records (no generation) trains the two default candidates side by side, both pass the gate against a
 * promoted incumbent and the selection's winner (the fine-tuned one: as good, cheaper per query) answers `canaryShare`
 * of live traffic while Check canary reads the four canary alarms (CloudWatch mocked at the SDK boundary with
 * DescribeAlarms' real response shape) and the active-model parameter (an SSM mock that keeps its value and versions).
 * The canary steps' clock advances canaryCheckMinutes per read; waits take no time.
 */

const { templates } = synth({ exampleCount: '100', testExampleCount: '50', queriesPerShard: '10' });
const definition = stateMachineDefinition(templates.pipeline);
const environment = lambdaEnvironment(templates.pipeline);
const BUCKET = environment.DATASET_BUCKET ?? '';
const PARAMETER = environment.ACTIVE_MODEL_PARAMETER_NAME ?? '';
const ALARMS = (environment.CANARY_ALARM_NAMES ?? '').split(',');
const [INVALID_REPLIES = '', FALLBACKS = '', LATENCY = '', AGREEMENT = ''] = ALARMS;
const $metadata = { httpStatusCode: 200, requestId: 'canary-e2e' };
// Every time of these runs is counted from the real clock at load (the local execution starts then), never a fixed
// day: the canary starts at STARTED, production records are a day older, the incumbent was promoted 25 days before.
const DAY = 86_400_000;
const STARTED = Math.floor(Date.now() / 60_000) * 60_000;
const INCUMBENT: ActiveModel = {
  deploymentArn: 'arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/incumbent001',
  modelArn: 'arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-micro-v1:0:128k/incumbent',
  runId: 'run-earlier',
  promotedAt: new Date(STARTED - 25 * DAY).toISOString(),
  studentPromptVersion: CURRENT_STUDENT_PROMPT_VERSION,
  metrics: { judgeScore: 4.2 },
};

const runtime = mockClient(BedrockRuntimeClient);
const ssm = mockClient(SSMClient);
const sns = mockClient(SNSClient);
const cloudwatch = mockClient(CloudWatchClient);
let s3: InMemoryS3;
let bedrock: FakeBedrock;
let savedEnv: NodeJS.ProcessEnv;

const tasks = pipelineTasks();

/** The active-model parameter: GetParameter reads what PutParameter last wrote, each write a new version. */
class FakeParameter {
  readonly values: string[] = [];
  /** Called before each GetParameter with the count of reads so far: an operator can change the value here. */
  beforeRead: (reads: number) => void = () => undefined;
  private reads = 0;
  constructor(initial: string) {
    this.values.push(initial);
    ssm.on(GetParameterCommand).callsFake(async (): Promise<GetParameterCommandOutput> => {
      this.beforeRead(++this.reads);
      return {
        $metadata,
        Parameter: { Name: PARAMETER, Type: 'String', Value: this.current, Version: this.values.length },
      };
    });
    ssm
      .on(PutParameterCommand)
      .callsFake(async (input: PutParameterCommandInput): Promise<PutParameterCommandOutput> => {
        this.values.push(input.Value ?? '');
        return { $metadata, Version: this.values.length, Tier: 'Standard' };
      });
  }
  get current(): string {
    return this.values.at(-1) ?? '';
  }
  /** An operator's write (e.g. `npm run pipeline -- rollback`), outside the run. */
  operatorWrites(value: string) {
    this.values.push(value);
  }
}

/** DescribeAlarms as CloudWatch answers it: the named metric alarms, each in the state `stateAt(name, read)`. */
function alarms(stateAt: (name: string, read: number) => StateValue, reasonOf: (name: string) => string) {
  let reads = 0;
  cloudwatch
    .on(DescribeAlarmsCommand)
    .callsFake(async (input: DescribeAlarmsCommandInput): Promise<DescribeAlarmsCommandOutput> => {
      reads += 1;
      return {
        $metadata,
        MetricAlarms: (input.AlarmNames ?? []).map((name) => {
          const state = stateAt(name, reads);
          return {
            AlarmName: name,
            AlarmArn: `arn:aws:cloudwatch:us-east-1:123456789012:alarm:${name}`,
            StateValue: state,
            StateReason:
              state === 'ALARM' ? reasonOf(name) : 'Threshold Crossed: no datapoints were breaching the threshold',
            StateUpdatedTimestamp: new Date(STARTED),
            ActionsEnabled: true,
            Namespace: 'IntentRouter',
            MetricName: name,
            EvaluationPeriods: 1,
            Threshold: 0.02,
            ComparisonOperator: 'GreaterThanThreshold',
          };
        }),
        CompositeAlarms: [],
      };
    });
}

/** GetMetricData as CloudWatch answers it: per-minute datapoints of the candidate's queries and shadow samples. */
function traffic(queriesPerMinute: number, samplesPerMinute: number) {
  cloudwatch
    .on(GetMetricDataCommand)
    .callsFake(async (input: GetMetricDataCommandInput): Promise<GetMetricDataCommandOutput> => {
      const from = input.StartTime?.getTime() ?? 0;
      const minutes = Math.floor(((input.EndTime?.getTime() ?? from) - from) / 60_000);
      const timestamps = Array.from({ length: minutes }, (_, i) => new Date(from + i * 60_000));
      return {
        $metadata,
        MetricDataResults: (input.MetricDataQueries ?? []).map((q) => ({
          Id: q.Id,
          Label: q.MetricStat?.Metric?.MetricName,
          StatusCode: 'Complete',
          Timestamps: timestamps,
          Values: timestamps.map(() => (q.Id === 'queries' ? queriesPerMinute : samplesPerMinute)),
        })),
        Messages: [],
      };
    });
}

/** Production records covering every quota: Plan generates nothing, the run goes straight to training. */
function seedProduction() {
  const word = { visual: 'scene', audio: 'sound', transcription: 'dialogue', metadata: 'title' } as const;
  const lines = MODALITIES.flatMap((m) =>
    Array.from({ length: 55 }, (_, i) => JSON.stringify(toRecord(`live ${word[m]} clip ${i}`, dominantWeights(m)))),
  );
  s3.set(BUCKET, productionRecordsKey(new Date(STARTED - DAY), 'batch-a'), lines.join('\n') + '\n');
}

beforeAll(() => {
  logger.setLogLevel('SILENT');
  jest.spyOn(metrics, 'publishStoredMetrics').mockReturnValue(metrics);
});
beforeEach(() => {
  savedEnv = { ...process.env };
  Object.assign(process.env, environment, { AWS_REGION: 'us-east-1' });
  s3 = new InMemoryS3();
  addListing(s3);
  seedProduction();
  const answerer = new SimulatedTeacher();
  runtime.reset();
  runtime.on(ConverseCommand).callsFake((input: ConverseCommandInput) => answerer.reply(input));
  ssm.reset();
  sns.reset();
  sns.on(PublishCommand).resolves({ $metadata, MessageId: 'message-1' });
  cloudwatch.reset();
  // No alarm changed state between two checks unless a test's DescribeAlarms says so (Check canary reads the history).
  cloudwatch.on(DescribeAlarmHistoryCommand).resolves({ $metadata, AlarmHistoryItems: [] });
  // A busy candidate unless a test says otherwise: 20 queries and 1 shadow sample a minute.
  traffic(20, 1);
  bedrock = new FakeBedrock(s3, { judgeResults: { student: [0.8, 0.8], baseline: [0.75], incumbent: [0.8] } });
  // Start canary reads the clock once, then each check: canaryCheckMinutes (5) later than the one before.
  let reads = 0;
  jest.spyOn(clock, 'now').mockImplementation(() => new Date(STARTED + 5 * 60_000 * reads++));
});
afterEach(() => {
  s3.restore();
  bedrock.restore();
  process.env = savedEnv;
  jest.restoreAllMocks();
  jest.spyOn(metrics, 'publishStoredMetrics').mockReturnValue(metrics);
});
afterAll(() => {
  runtime.restore();
  ssm.restore();
  sns.restore();
  cloudwatch.restore();
});

const run = (runId: string) => runLocally(definition, { executionName: runId, input: { fromProduction: true }, tasks });
const checks = (result: LocalRunResult) => result.entered.filter((s) => s === C.checkCanary).length;
const readReport = (runId: string) => JSON.parse(s3.get(BUCKET, runKeys(runId).reportJson) ?? '{}') as RunReport;
const selectionOf = (result: LocalRunResult) => result.output?.['selection'] as SelectCandidateResult;
/** The winner's deployment: the one the canary puts on live traffic. */
function winnerDeployment(result: LocalRunResult): string {
  const { chosen, reason } = selectionOf(result);
  if (!chosen) throw new Error(`no candidate was chosen: ${reason}`);
  return chosen.deployment.deploymentArn;
}
const published = () => sns.commandCalls(PublishCommand).map((c) => c.args[0].input);
const modelOf = (value: string | undefined) => {
  const read = readActiveModel(value);
  if (read.state !== 'promoted') throw new Error(`expected a model, got ${read.state}`);
  return read.model;
};

describe('the canary, executed locally through the synthesized state machine', () => {
  it('promotes the candidate after a quiet canaryMinutes window', async () => {
    const parameter = new FakeParameter(JSON.stringify(INCUMBENT));
    alarms(
      (name) => (name === AGREEMENT ? 'INSUFFICIENT_DATA' : 'OK'),
      () => '',
    );
    const result = await run('run-canary-quiet');

    expect(result.status).toBe('SUCCEEDED');
    expect(result.entered.slice(result.entered.indexOf(T.gateChoice))).toEqual([
      T.gateChoice,
      C.startCanary,
      C.startedChoice,
      ...Array.from({ length: 12 }, () => [C.waitCanary, C.checkCanary, C.doneChoice]).flat(),
      C.canaryEnded,
      T.report,
    ]);
    // 60 minutes in checks of 5: the 12th check finds the window over.
    expect(checks(result)).toBe(12);
    // Both default candidates trained side by side and passed their gate; as good as each other within sampling
    // error, the fine-tuned one's minimal prompt costs less per query: it alone goes on, the other's deployment is
    // deleted (its model kept).
    const customizations = bedrock.mock.commandCalls(CreateModelCustomizationJobCommand).map((c) => c.args[0].input);
    expect(customizations.map((c) => c.customizationType).sort()).toEqual(['DISTILLATION', 'FINE_TUNING']);
    expect(bedrock.deployments).toHaveLength(2);
    expect(selectionOf(result)).toMatchObject({
      winner: 'ft-micro',
      promote: true,
      ranking: [
        { name: 'ft-micro', rank: 1, passed: true },
        { name: 'distill-micro', rank: 2, passed: true },
      ],
    });
    expect(selectionOf(result).ranking[1]?.why).toMatch(
      /^as good as ft-micro within sampling error, but ft-micro costs/,
    );
    const deploymentArn = winnerDeployment(result);
    const runnerUp = bedrock.deployments.find((d) => d.customModelDeploymentArn !== deploymentArn);
    expect(result.output?.['runnersUp']).toEqual({
      deleted: [runnerUp?.customModelDeploymentArn],
      missing: [],
      refused: [],
    });
    // Version 2: the winner beside the incumbent at 10 %, asked with its own prompt version; version 3: it alone.
    expect(parameter.values).toHaveLength(3);
    expect(modelOf(parameter.values[1])).toMatchObject({
      deploymentArn: INCUMBENT.deploymentArn,
      canary: {
        deploymentArn,
        runId: 'run-canary-quiet',
        share: 0.1,
        startedAt: new Date(STARTED).toISOString(),
        studentPromptVersion: 'student-v3',
      },
    });
    const promoted = modelOf(parameter.current);
    expect(promoted).toMatchObject({ deploymentArn, runId: 'run-canary-quiet', studentPromptVersion: 'student-v3' });
    expect(promoted.canary).toBeUndefined();
    expect(result.output?.['promotion']).toMatchObject({
      promoted: true,
      version: 3,
      canary: { outcome: 'promoted', elapsedMinutes: 60, share: 0.1, firing: [] },
    });

    const report = readReport('run-canary-quiet');
    expect(report.outcome).toBe('PROMOTED');
    // The report shows every candidate, the winner marked; the notification names the winner and the runner-up.
    expect(report.candidates?.map((c) => [c.name, c.status, c.status === 'evaluated' && c.winner])).toEqual([
      ['ft-micro', 'evaluated', true],
      ['distill-micro', 'evaluated', false],
    ]);
    expect(report.selection).toMatchObject({ winner: 'ft-micro', runnersUp: ['distill-micro'], dropped: [] });
    expect(s3.get(BUCKET, runKeys('run-canary-quiet').reportMarkdown)).toContain('## Canary');
    expect(published()[0]?.Subject).toBe('Intent router run run-canary-quiet: PROMOTED, winner ft-micro');
    expect(published()[0]?.Message).toContain('Winner: ft-micro (fine-tuning, student-v3)');
    expect(published()[0]?.Message).toContain('Runners-up: distill-micro (rank 2');
    expect(published()[0]?.Message).toContain('after 60 min of canary at 10 %');
  });

  it('rolls back to the incumbent when an alarm fires, and the notification names the alarm and its figures', async () => {
    const parameter = new FakeParameter(JSON.stringify(INCUMBENT));
    const reason =
      'Threshold Crossed: 1 out of the last 1 datapoints [0.0731 (26/11/26 12:10:00)] was greater than the threshold ' +
      '(0.02) (minimum 1 datapoint for OK -> ALARM transition).';
    // Quiet at the first check (and at Start canary's read), the invalid-reply alarm fires at the second check.
    alarms(
      (name, read) => (name === INVALID_REPLIES && read >= 3 ? 'ALARM' : 'OK'),
      () => reason,
    );
    const result = await run('run-canary-alarm');

    expect(result.status).toBe('SUCCEEDED');
    expect(checks(result)).toBe(2);
    expect(parameter.values).toHaveLength(3);
    // The incumbent alone again, as it was.
    expect(modelOf(parameter.current)).toEqual({
      ...INCUMBENT,
      schemaVersion: 2,
      endedCanary: expect.objectContaining({ outcome: 'rolled-back' }),
    });
    expect(result.output?.['promotion']).toMatchObject({
      promoted: false,
      canary: { outcome: 'rolled-back', firing: [INVALID_REPLIES], elapsedMinutes: 10 },
    });
    expect(readReport('run-canary-alarm').outcome).toBe('ROLLED_BACK');
    const [notification] = published();
    expect(notification?.Subject).toBe('Intent router run run-canary-alarm: ROLLED_BACK, winner ft-micro');
    expect(notification?.Message).toContain(`${INVALID_REPLIES}: ${reason}`);
    expect(notification?.Message).not.toContain(FALLBACKS + ':');
    expect(s3.get(BUCKET, runKeys('run-canary-alarm').reportMarkdown)).toContain(reason);
  });

  it('a mid-canary manual rollback ends the run without overwriting the operator’s value', async () => {
    const parameter = new FakeParameter(JSON.stringify(INCUMBENT));
    // An alarm is firing too: the operator's value still wins, nothing is written over it.
    alarms(
      (name, read) => (name === LATENCY && read >= 3 ? 'ALARM' : 'OK'),
      () => 'p99 above the incumbent',
    );
    const operatorValue = JSON.stringify({ ...INCUMBENT, schemaVersion: 2 });
    let canaryReads = 0;
    parameter.beforeRead = () => {
      // Preflight and Start canary read first; the operator rolls back before the second check reads.
      if (modelOf(parameter.current).canary && ++canaryReads === 2) parameter.operatorWrites(operatorValue);
    };
    const result = await run('run-canary-operator');

    expect(result.status).toBe('SUCCEEDED');
    expect(checks(result)).toBe(2);
    // Version 1: incumbent; 2: the canary (the run); 3: the operator's rollback; nothing after it.
    expect(parameter.values).toHaveLength(3);
    expect(parameter.current).toBe(operatorValue);
    expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(1);
    expect(result.output?.['promotion']).toMatchObject({
      promoted: false,
      version: 3,
      canary: { outcome: 'rolled-back-by-operator', firing: [] },
    });
    expect(published()[0]?.Subject).toBe('Intent router run run-canary-operator: ROLLED_BACK, winner ft-micro');
  });

  it('first run (nothing promoted): the candidate is promoted directly, no alarm is read', async () => {
    const parameter = new FakeParameter('none');
    const result = await run('run-canary-first');

    expect(result.status).toBe('SUCCEEDED');
    expect(result.entered.slice(-4)).toEqual([C.startCanary, C.startedChoice, T.promote, T.report]);
    expect(cloudwatch.commandCalls(DescribeAlarmsCommand)).toHaveLength(0);
    // The winner, asked with its own prompt version (the router and the shadow loop read it from the parameter).
    expect(modelOf(parameter.current)).toMatchObject({
      runId: 'run-canary-first',
      deploymentArn: winnerDeployment(result),
      studentPromptVersion: 'student-v3',
    });
    expect(result.output?.['canary']).toEqual({ started: false, reason: 'nothing is promoted yet' });
  });

  it('a missing canary alarm fails the run before any traffic moves, naming the alarm and the fix', async () => {
    const parameter = new FakeParameter(JSON.stringify(INCUMBENT));
    cloudwatch.on(DescribeAlarmsCommand).resolves({ $metadata, MetricAlarms: [], CompositeAlarms: [] });
    const result = await run('run-canary-no-alarms');

    expect(result).toMatchObject({ status: 'FAILED', error: 'CanaryAlarmsMissing' });
    expect(result.cause).toContain(`${INVALID_REPLIES}, ${FALLBACKS}, ${LATENCY}, ${AGREEMENT} do not exist`);
    expect(parameter.values).toHaveLength(1);
    const [notification] = published();
    expect(notification?.Subject).toBe('Intent router run failed at Start canary');
    expect(notification?.Message).toContain('npx cdk deploy IntentRouter-dev-Api');
  });
});

describe('a canary that can no longer be checked', () => {
  it('takes the candidate out of live traffic, then notifies and fails with the cause', async () => {
    const parameter = new FakeParameter(JSON.stringify(INCUMBENT));
    // The alarms exist when the canary starts and at the first check; then someone deletes the Api stack's alarms.
    let reads = 0;
    cloudwatch.on(DescribeAlarmsCommand).callsFake(async (input: DescribeAlarmsCommandInput) => ({
      $metadata,
      MetricAlarms:
        ++reads <= 2
          ? (input.AlarmNames ?? []).map((name) => ({ AlarmName: name, StateValue: 'OK', StateReason: 'quiet' }))
          : [],
    }));
    const result = await run('run-canary-lost');

    expect(result).toMatchObject({ status: 'FAILED', error: 'CanaryAlarmsMissing' });
    expect(result.entered.slice(-5)).toEqual([
      C.checkCanary,
      C.abandonCanary,
      C.canaryAbandoned,
      'Notify failure',
      'Run failed',
    ]);
    // Version 2 the canary, version 3 the incumbent alone again.
    expect(parameter.values).toHaveLength(3);
    expect(modelOf(parameter.current)).toEqual({
      ...INCUMBENT,
      schemaVersion: 2,
      endedCanary: expect.objectContaining({ outcome: 'rolled-back' }),
    });
    const [notification] = published();
    expect(notification?.Subject).toBe('Intent router run failed at Check canary');
    expect(notification?.Message).toContain(`${INVALID_REPLIES}, ${FALLBACKS}, ${LATENCY}, ${AGREEMENT} do not exist`);
    expect(notification?.Message).toContain('rolled back after 10 min because the canary could no longer be checked');
  });

  it('leaves an operator’s value alone when the check fails after the operator ended the canary', async () => {
    const parameter = new FakeParameter(JSON.stringify(INCUMBENT));
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'Throttling' });
    let reads = 0;
    cloudwatch.on(DescribeAlarmsCommand).callsFake(async (input: DescribeAlarmsCommandInput) => {
      if (++reads === 1) {
        return {
          $metadata,
          MetricAlarms: (input.AlarmNames ?? []).map((name) => ({ AlarmName: name, StateValue: 'OK' })),
        };
      }
      // CloudWatch throttles every check (retried 6 times by the state machine), and meanwhile the operator promotes.
      if (modelOf(parameter.current).canary) parameter.operatorWrites(JSON.stringify({ ...INCUMBENT, runId: 'run-x' }));
      throw throttled;
    });
    const result = await run('run-canary-throttled');

    expect(result).toMatchObject({ status: 'FAILED', error: 'Throttling' });
    expect(reads).toBe(1 + 7);
    expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(1);
    expect(modelOf(parameter.current).runId).toBe('run-x');
    expect(published()[0]?.Message).toContain('an operator ended the canary');
  });
});

describe('canaryShare=0', () => {
  const plain = synth({ exampleCount: '100', testExampleCount: '50', queriesPerShard: '10', canaryShare: '0' });
  const plainDefinition = stateMachineDefinition(plain.templates.pipeline);

  it('keeps today’s behaviour: a passed gate promotes directly over the incumbent, no canary state, no alarm read', async () => {
    const parameter = new FakeParameter(JSON.stringify(INCUMBENT));
    const result = await runLocally(plainDefinition, {
      executionName: 'run-no-canary',
      input: { fromProduction: true },
      tasks,
    });

    expect(result.status).toBe('SUCCEEDED');
    expect(result.entered.slice(-3)).toEqual([T.gateChoice, T.promote, T.report]);
    expect(result.entered.filter((s) => (Object.values(C) as string[]).includes(s))).toEqual([]);
    expect(cloudwatch.commandCalls(DescribeAlarmsCommand)).toHaveLength(0);
    expect(parameter.values).toHaveLength(2);
    expect(modelOf(parameter.current)).toMatchObject({
      runId: 'run-no-canary',
      deploymentArn: winnerDeployment(result),
    });
    expect(modelOf(parameter.current).canary).toBeUndefined();
    expect(readReport('run-no-canary').outcome).toBe('PROMOTED');
    // The state machine's timeout is pipelineTimeoutHours alone.
    expect(plainDefinition.TimeoutSeconds).toBe(24 * 3600);
  });
});

describe('an execution that ends mid-canary (stopped, failed, timed out)', () => {
  it('leaves its candidate live, and the execution-ended rule’s Abandon canary drops it and notifies', async () => {
    const parameter = new FakeParameter(JSON.stringify(INCUMBENT));
    // The alarms exist at Start canary; then the role loses CloudWatch (not retried) and Abandon canary's own Lambda
    // fails too: the execution FAILS with the candidate still on live traffic, the case only the rule can undo.
    let reads = 0;
    cloudwatch.on(DescribeAlarmsCommand).callsFake(async (input: DescribeAlarmsCommandInput) => {
      if (++reads === 1) {
        return {
          $metadata,
          MetricAlarms: (input.AlarmNames ?? []).map((name) => ({ AlarmName: name, StateValue: 'OK' })),
        };
      }
      throw Object.assign(new Error('not authorized to perform cloudwatch:DescribeAlarms'), {
        name: 'AccessDenied',
      });
    });
    const lambdaFailed = async () => {
      throw Object.assign(new Error('Lambda is unable to start the function'), { name: 'Lambda.Unknown' });
    };
    const result = await runLocally(definition, {
      executionName: 'run-canary-stopped',
      input: { fromProduction: true },
      tasks: { ...tasks, [C.abandonCanary]: lambdaFailed },
    });
    expect(result).toMatchObject({ status: 'FAILED' });
    expect(result.entered).toContain(C.abandonFailed);
    expect(modelOf(parameter.current).canary).toMatchObject({ runId: 'run-canary-stopped' });
    sns.resetHistory();

    // What EventBridge delivers for the failed execution, through the synthesized rule's pattern, to the real handler.
    const rules = Object.values(templates.pipeline.findResources('AWS::Events::Rule')).filter(
      (r) => r['Properties'].EventPattern?.['detail-type']?.[0] === 'Step Functions Execution Status Change',
    );
    expect(rules).toHaveLength(1);
    const pattern = rules[0]?.['Properties'].EventPattern;
    const event = {
      version: '0',
      id: 'e-1',
      'detail-type': 'Step Functions Execution Status Change',
      source: 'aws.states',
      account: '123456789012',
      time: new Date(STARTED + 20 * 60_000).toISOString(),
      region: 'us-east-1',
      resources: ['arn:aws:states:us-east-1:123456789012:execution:IntentRouter-dev-Pipeline:run-canary-stopped'],
      detail: {
        executionArn: 'arn:aws:states:us-east-1:123456789012:execution:IntentRouter-dev-Pipeline:run-canary-stopped',
        stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:IntentRouter-dev-Pipeline',
        name: 'run-canary-stopped',
        status: 'FAILED',
        startDate: STARTED - 3 * 3600_000,
        stopDate: STARTED + 20 * 60_000,
        input: '{"fromProduction":true}',
        output: null,
        error: result.error ?? null,
        cause: result.cause ?? null,
      },
    };
    expect(pattern).toMatchObject({ source: [event.source], 'detail-type': [event['detail-type']] });
    expect(pattern.detail.status).toContain(event.detail.status);
    const abandoned = await lambdaTask(abandonCanaryHandler)(event);
    expect(abandoned).toMatchObject({ runId: 'run-canary-stopped', action: 'abandoned', status: 'FAILED' });
    expect(modelOf(parameter.current)).toEqual({
      ...INCUMBENT,
      schemaVersion: 2,
      endedCanary: expect.objectContaining({ runId: 'run-canary-stopped', outcome: 'abandoned' }),
    });
    const [notification] = published();
    expect(notification?.Subject).toBe('Intent router canary abandoned: execution FAILED');
    expect(notification?.Message).toContain('run-canary-stopped');
    // A second delivery (EventBridge delivers at least once) changes nothing.
    const writes = parameter.values.length;
    expect(await lambdaTask(abandonCanaryHandler)(event)).toMatchObject({ action: 'untouched' });
    expect(parameter.values).toHaveLength(writes);
  });
});

describe('an ALARM left from a previous canary (stale)', () => {
  /**
   * DescribeAlarms with the agreement alarm in ALARM since 40 min before this canary started (a previous canary's),
   * evaluated over 3 periods of 5 min; from DescribeAlarms read `clearsAtRead` (if any) CloudWatch has re-evaluated it
   * on this canary's data alone and it is OK. Read 1 is Start canary's, read n + 1 the check at 5 × n min.
   */
  function staleAgreementAlarm(clearsAtRead?: number) {
    let reads = 0;
    const previousCanary = new Date(STARTED - 40 * 60_000);
    cloudwatch
      .on(DescribeAlarmsCommand)
      .callsFake(async (input: DescribeAlarmsCommandInput): Promise<DescribeAlarmsCommandOutput> => {
        reads += 1;
        const cleared = clearsAtRead !== undefined && reads >= clearsAtRead;
        return {
          $metadata,
          MetricAlarms: (input.AlarmNames ?? []).map((name) => {
            const firing = name === AGREEMENT && !cleared;
            const changed = name === AGREEMENT && cleared ? new Date(STARTED + 15 * 60_000) : previousCanary;
            return {
              AlarmName: name,
              AlarmArn: `arn:aws:cloudwatch:us-east-1:123456789012:alarm:${name}`,
              StateValue: firing ? 'ALARM' : 'OK',
              StateReason: firing
                ? 'Threshold Crossed: 3 out of the last 3 datapoints were less than the threshold (0.85).'
                : 'Threshold Crossed: no datapoints were breaching the threshold',
              StateUpdatedTimestamp: changed,
              StateTransitionedTimestamp: changed,
              ActionsEnabled: true,
              Namespace: 'IntentRouter',
              MetricName: name,
              Period: 300,
              EvaluationPeriods: 3,
              Threshold: 0.85,
              ComparisonOperator: 'LessThanThreshold',
            };
          }),
          CompositeAlarms: [],
        };
      });
  }

  it('does not roll back this canary before its evaluation window has seen this canary alone', async () => {
    const parameter = new FakeParameter(JSON.stringify(INCUMBENT));
    // Still in ALARM at the checks at 5 and 10 min; re-evaluated on this canary's data, OK from the check at 15 min.
    staleAgreementAlarm(4);
    const result = await run('run-canary-stale');

    expect(result.status).toBe('SUCCEEDED');
    expect(checks(result)).toBe(12);
    expect(modelOf(parameter.current)).toMatchObject({
      deploymentArn: winnerDeployment(result),
      runId: 'run-canary-stale',
    });
    expect(result.output?.['promotion']).toMatchObject({
      promoted: true,
      canary: { outcome: 'promoted', elapsedMinutes: 60, firing: [] },
    });
    expect(readReport('run-canary-stale').outcome).toBe('PROMOTED');
  });

  it('rolls back once the window has seen only this canary’s data and the alarm still holds', async () => {
    const parameter = new FakeParameter(JSON.stringify(INCUMBENT));
    staleAgreementAlarm();
    const result = await run('run-canary-still-alarm');

    expect(result.status).toBe('SUCCEEDED');
    // Stale at 5 and 10 min; at 15 min (3 periods of 5) it judges this canary.
    expect(checks(result)).toBe(3);
    expect(modelOf(parameter.current)).toEqual({
      ...INCUMBENT,
      schemaVersion: 2,
      endedCanary: expect.objectContaining({ runId: 'run-canary-still-alarm', outcome: 'rolled-back' }),
    });
    expect(result.output?.['promotion']).toMatchObject({
      promoted: false,
      canary: { outcome: 'rolled-back', firing: [AGREEMENT], elapsedMinutes: 15 },
    });
  });
});

describe('a silent canary (silence is not health)', () => {
  it('is extended past canaryMinutes, then ends inconclusive at canaryMaxMinutes and keeps the incumbent', async () => {
    const parameter = new FakeParameter(JSON.stringify(INCUMBENT));
    alarms(
      (name) => (name === AGREEMENT ? 'INSUFFICIENT_DATA' : 'OK'),
      () => '',
    );
    // Two candidate queries a minute and no shadow sample: every alarm stays quiet on so little.
    traffic(2, 0);
    const result = await run('run-canary-silent');

    expect(result.status).toBe('SUCCEEDED');
    // 180 minutes (canaryMaxMinutes) in checks of 5: extended at the 12th check, ended at the 36th.
    expect(checks(result)).toBe(36);
    expect(parameter.values).toHaveLength(3);
    expect(modelOf(parameter.current)).toEqual({
      ...INCUMBENT,
      schemaVersion: 2,
      endedCanary: expect.objectContaining({ runId: 'run-canary-silent', outcome: 'inconclusive' }),
    });
    expect(result.output?.['promotion']).toMatchObject({
      promoted: false,
      canary: {
        outcome: 'inconclusive',
        elapsedMinutes: 180,
        traffic: { queries: 360, shadowSamples: 0, minQueries: 300, minShadowSamples: 30, maxMinutes: 180 },
      },
    });
    const [notification] = published();
    // Its own outcome, not a rollback: no alarm fired.
    expect(readReport('run-canary-silent').outcome).toBe('CANARY_INCONCLUSIVE');
    expect(notification?.Subject).toBe('Intent router run run-canary-silent: CANARY_INCONCLUSIVE, winner ft-micro');
    expect(notification?.Message).toContain('Canary inconclusive: the incumbent (run run-earlier) is kept.');
    expect(notification?.Message).toContain('inconclusive after 180 min of canary at 10 %');
    expect(notification?.Message).toContain('only 360 candidate queries (canaryMinQueries 300), 0 shadow samples');
    expect(s3.get(BUCKET, runKeys('run-canary-silent').reportMarkdown)).toContain('the incumbent is kept');
  });

  it('with enough traffic arriving late, is promoted within the extension', async () => {
    const parameter = new FakeParameter(JSON.stringify(INCUMBENT));
    alarms(
      () => 'OK',
      () => '',
    );
    // 4 queries and 0.25 samples a minute: 300 queries at 75 minutes, 30 samples at 120.
    traffic(4, 0.25);
    const result = await run('run-canary-late');

    expect(result.status).toBe('SUCCEEDED');
    expect(checks(result)).toBe(24);
    expect(modelOf(parameter.current)).toMatchObject({ runId: 'run-canary-late' });
    expect(result.output?.['promotion']).toMatchObject({
      promoted: true,
      canary: { outcome: 'promoted', elapsedMinutes: 120, traffic: { queries: 480, shadowSamples: 30 } },
    });
  });
});
