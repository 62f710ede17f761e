import './training-env-setup';
import {
  CloudWatchClient,
  DescribeAlarmHistoryCommand,
  DescribeAlarmsCommand,
  GetMetricDataCommand,
  type MetricAlarm,
} from '@aws-sdk/client-cloudwatch';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import {
  promoteCanary,
  readActiveModel,
  withCanary,
  withEndedCanary,
  withoutCanary,
  type ActiveModel,
} from '../../lambda/core/active-model';
import { clock } from '../../lambda/pipeline/rollout/canary-aws';
import { abandonCanary } from '../../lambda/pipeline/rollout/abandon-canary';
import { checkCanary } from '../../lambda/pipeline/rollout/check-canary';
import { startCanary } from '../../lambda/pipeline/rollout/start-canary';
import { DEPLOYMENT_ARN, MODEL_ARN, TRAINING_ENV } from './training-env';

const $metadata = { httpStatusCode: 200, requestId: 'r' };
const PARAMETER = TRAINING_ENV.ACTIVE_MODEL_PARAMETER_NAME;
const ALARMS = TRAINING_ENV.CANARY_ALARM_NAMES.split(',');
const INCUMBENT_ARN = 'arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/incumbent001';
const STARTED = '2026-11-26T10:00:00.000Z';
const at = (minutes: number) => new Date(Date.parse(STARTED) + minutes * 60_000);

// The canary handlers' tests read a 2-hour limit (the fixture's default is 3 hours).
Object.assign(process.env, { CANARY_MAX_MINUTES: '120' });
/** GetMetricData as CloudWatch answers it: the candidate's queries and shadow samples in 1-minute datapoints. */
const trafficIs = (queriesPerMinute: number, samplesPerMinute: number, minutes = 60) =>
  cloudwatch.on(GetMetricDataCommand).resolves({
    $metadata,
    MetricDataResults: [
      {
        Id: 'queries',
        Label: 'Queries',
        StatusCode: 'Complete',
        Timestamps: Array.from({ length: minutes }, (_, i) => at(i)),
        Values: Array.from({ length: minutes }, () => queriesPerMinute),
      },
      {
        Id: 'shadowSamples',
        Label: 'ShadowDominantAgreement',
        StatusCode: 'Complete',
        Timestamps: Array.from({ length: minutes }, (_, i) => at(i)),
        Values: Array.from({ length: minutes }, () => samplesPerMinute),
      },
    ],
    Messages: [],
  });

const ssm = mockClient(SSMClient);
const cloudwatch = mockClient(CloudWatchClient);

const INCUMBENT: ActiveModel = {
  deploymentArn: INCUMBENT_ARN,
  modelArn: 'arn:aws:bedrock:us-east-1:123456789012:custom-model/incumbent',
  runId: 'run-old',
  promotedAt: '2026-11-01T00:00:00.000Z',
  studentPromptVersion: 'student-v1',
  metrics: {},
};
const LIVE = withCanary(INCUMBENT, {
  deploymentArn: DEPLOYMENT_ARN,
  modelArn: MODEL_ARN,
  runId: 'run-1',
  studentPromptVersion: 'student-v1',
  share: 0.1,
  startedAt: STARTED,
});

/** A MetricAlarm as DescribeAlarms returns it. */
const metricAlarm = (
  name: string,
  state: 'OK' | 'ALARM' | 'INSUFFICIENT_DATA',
  reason = 'Threshold Crossed: no datapoints were breaching',
): MetricAlarm => ({
  AlarmName: name,
  AlarmArn: `arn:aws:cloudwatch:us-east-1:123456789012:alarm:${name}`,
  StateValue: state,
  StateReason: reason,
  StateUpdatedTimestamp: at(5),
  MetricName: 'InvalidReplies',
  Namespace: 'IntentRouter',
  ComparisonOperator: 'GreaterThanThreshold',
  Threshold: 0.02,
});
const alarmsAre = (states: Record<string, 'OK' | 'ALARM' | 'INSUFFICIENT_DATA'> = {}, reason?: string) =>
  cloudwatch.on(DescribeAlarmsCommand).resolves({
    $metadata,
    MetricAlarms: ALARMS.filter((n) => n in states || Object.keys(states).length === 0).map((n) =>
      metricAlarm(n, states[n] ?? 'OK', states[n] === 'ALARM' ? reason : undefined),
    ),
    CompositeAlarms: [],
  });
const parameterIs = (value: string, version = 7) =>
  ssm.on(GetParameterCommand).resolves({ $metadata, Parameter: { Name: PARAMETER, Value: value, Version: version } });

const STUDENT = {
  modelId: DEPLOYMENT_ARN,
  queries: 3,
  validReplies: 3,
  validReplyRate: 1,
  dominantAgreement: 0.9,
  meanAbsoluteError: { visual: 0, audio: 0, transcription: 0, metadata: 0 },
  meanAbsoluteErrorOverall: 0,
  latencyMs: { p50: 800, p95: 900, mean: 833 },
  meanInputTokens: 60,
  meanOutputTokens: 25,
  costPer1kQueriesUsd: 0.0056,
};
const judge = (mean: number) => ({ mean, scored: 3, unscored: 0, reportedScale: 'normalised' as const });
const START_INPUT = {
  runId: 'run-1',
  // The execution started an hour before the canary: 23 h 05 min of its 25 h 05 min timeout are left.
  executionStartTime: new Date(Date.parse(STARTED) - 60 * 60_000).toISOString(),
  deploymentArn: DEPLOYMENT_ARN,
  modelArn: MODEL_ARN,
  student: STUDENT,
  judge: { student: judge(4.1), baseline: judge(4.0) },
  studentPromptVersion: 'student-v2',
};
const CHECK_INPUT = {
  runId: 'run-1',
  deploymentArn: DEPLOYMENT_ARN,
  canary: {
    started: true,
    share: 0.1,
    startedAt: STARTED,
    incumbent: { runId: 'run-old', deploymentArn: INCUMBENT_ARN },
  },
};

beforeEach(() => {
  ssm.reset();
  cloudwatch.reset();
  ssm.on(PutParameterCommand).resolves({ $metadata, Version: 8, Tier: 'Standard' });
  // No alarm changed state since the canary started, unless a test says otherwise.
  cloudwatch.on(DescribeAlarmHistoryCommand).resolves({ $metadata, AlarmHistoryItems: [] });
  // A busy canary (20 candidate queries and 1 shadow sample a minute) unless a test says otherwise.
  trafficIs(20, 1);
  jest.spyOn(clock, 'now').mockReturnValue(at(0));
});
afterAll(() => {
  ssm.restore();
  cloudwatch.restore();
});
/** The record the pipeline's own write carries (see endedCanarySchema). */
const endedRecord = (outcome: string) =>
  expect.objectContaining({ runId: 'run-1', deploymentArn: DEPLOYMENT_ARN, outcome });
const written = () => readActiveModel(ssm.commandCalls(PutParameterCommand)[0]?.args[0].input.Value);

describe('startCanary', () => {
  it('puts the candidate beside the incumbent at canaryShare once its alarms exist', async () => {
    parameterIs(JSON.stringify(INCUMBENT));
    alarmsAre();
    expect(await startCanary(START_INPUT)).toEqual({
      started: true,
      parameterName: PARAMETER,
      version: 8,
      share: 0.1,
      startedAt: STARTED,
      incumbent: { runId: 'run-old', deploymentArn: INCUMBENT_ARN },
      resumed: false,
    });
    expect(cloudwatch.commandCalls(DescribeAlarmsCommand)[0]?.args[0].input.AlarmNames).toEqual(ALARMS);
    expect(ssm.commandCalls(PutParameterCommand)[0]?.args[0].input).toMatchObject({ Name: PARAMETER, Overwrite: true });
    expect(written()).toMatchObject({
      state: 'promoted',
      model: {
        schemaVersion: 2,
        deploymentArn: INCUMBENT_ARN,
        canary: {
          deploymentArn: DEPLOYMENT_ARN,
          runId: 'run-1',
          share: 0.1,
          metrics: { judgeScore: 4.1 },
          // The router asks the candidate in the format it was trained in, whatever the incumbent's.
          studentPromptVersion: 'student-v2',
        },
      },
    });
  });

  it('with nothing promoted writes nothing: the run promotes directly', async () => {
    parameterIs('none', 1);
    expect(await startCanary(START_INPUT)).toEqual({ started: false, reason: 'nothing is promoted yet' });
    expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(0);
    expect(cloudwatch.commandCalls(DescribeAlarmsCommand)).toHaveLength(0);
  });

  it('fails before any traffic moves when a canary alarm does not exist, naming it and the fix', async () => {
    parameterIs(JSON.stringify(INCUMBENT));
    alarmsAre({ [ALARMS[0] ?? '']: 'OK', [ALARMS[1] ?? '']: 'OK' });
    const failure = startCanary(START_INPUT);
    await expect(failure).rejects.toMatchObject({ name: 'CanaryAlarmsMissing' });
    await expect(failure).rejects.toThrow(
      `metric alarm(s) ${ALARMS[2]}, ${ALARMS[3]} do not exist: deploy the Api stack of this release (npx cdk deploy IntentRouter-dev-Api)`,
    );
    expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(0);
  });

  it('refuses to start a canary the execution would time out in, writing nothing', async () => {
    parameterIs(JSON.stringify(INCUMBENT));
    alarmsAre();
    // Started 24 h 30 min ago: 35 min left of the 25 h 05 min timeout, the canary needs max(60, 120) + 2 × 5.
    const late = {
      ...START_INPUT,
      executionStartTime: new Date(Date.parse(STARTED) - (24 * 60 + 30) * 60_000).toISOString(),
    };
    const run = startCanary(late);
    await expect(run).rejects.toMatchObject({ name: 'CanaryRefused' });
    await expect(startCanary(late)).rejects.toThrow(
      /only 35 min are left before the execution times out, and the canary needs 130 .*Raise pipelineTimeoutHours/,
    );
    expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(0);
  });

  it('a retry that finds its canary written writes nothing', async () => {
    parameterIs(JSON.stringify(LIVE), 8);
    alarmsAre();
    expect(await startCanary(START_INPUT)).toMatchObject({
      started: true,
      version: 8,
      resumed: true,
      startedAt: STARTED,
    });
    expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(0);
  });

  it('refuses to overwrite another run’s live canary', async () => {
    parameterIs(JSON.stringify({ ...LIVE, canary: { ...LIVE.canary, runId: 'run-other' } }));
    const refused = startCanary(START_INPUT);
    await expect(refused).rejects.toMatchObject({ name: 'CanaryRefused' });
    await expect(refused).rejects.toThrow(/a canary of run run-other .* end it first/);
    expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(0);
  });
});

describe('checkCanary', () => {
  it('leaves a quiet canary running before canaryMinutes', async () => {
    parameterIs(JSON.stringify(LIVE), 8);
    alarmsAre();
    jest.spyOn(clock, 'now').mockReturnValue(at(25));
    expect(await checkCanary(CHECK_INPUT)).toMatchObject({
      done: false,
      promoted: false,
      version: 8,
      elapsedMinutes: 25,
    });
    expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(0);
  });

  it('promotes the candidate after a quiet window', async () => {
    parameterIs(JSON.stringify(LIVE), 8);
    alarmsAre({
      [ALARMS[0] ?? '']: 'OK',
      [ALARMS[1] ?? '']: 'OK',
      [ALARMS[2] ?? '']: 'OK',
      [ALARMS[3] ?? '']: 'INSUFFICIENT_DATA',
    });
    jest.spyOn(clock, 'now').mockReturnValue(at(61));
    expect(await checkCanary(CHECK_INPUT)).toMatchObject({
      done: true,
      outcome: 'promoted',
      promoted: true,
      version: 8,
    });
    expect(written()).toMatchObject({ state: 'promoted', model: { deploymentArn: DEPLOYMENT_ARN, runId: 'run-1' } });
  });

  it('rolls back on an alarm, naming it and carrying its StateReason', async () => {
    parameterIs(JSON.stringify(LIVE), 8);
    const reason =
      'Threshold Crossed: 1 out of the last 1 datapoints [0.0731 (26/11/26 10:05:00)] was greater than the threshold (0.02).';
    alarmsAre(
      { [ALARMS[0] ?? '']: 'ALARM', [ALARMS[1] ?? '']: 'OK', [ALARMS[2] ?? '']: 'OK', [ALARMS[3] ?? '']: 'OK' },
      reason,
    );
    jest.spyOn(clock, 'now').mockReturnValue(at(15));
    const result = await checkCanary(CHECK_INPUT);
    expect(result).toMatchObject({ done: true, outcome: 'rolled-back', promoted: false, firing: [ALARMS[0]] });
    expect(result.summary).toContain(`${ALARMS[0]}: ${reason}`);
    expect(written()).toEqual({
      state: 'promoted',
      model: { ...INCUMBENT, schemaVersion: 2, endedCanary: endedRecord('rolled-back') },
    });
  });

  it('rolls back on an alarm that fired and cleared between two checks (its history since the canary started)', async () => {
    parameterIs(JSON.stringify(LIVE), 8);
    alarmsAre();
    const reason = 'Threshold Crossed: 3 out of the last 3 datapoints were greater than the threshold (0.05).';
    cloudwatch.on(DescribeAlarmHistoryCommand, { AlarmName: ALARMS[1] }).resolves({
      $metadata,
      AlarmHistoryItems: [
        {
          AlarmName: ALARMS[1],
          AlarmType: 'MetricAlarm',
          Timestamp: at(24),
          HistoryItemType: 'StateUpdate',
          HistorySummary: 'Alarm updated from ALARM to OK',
          HistoryData: JSON.stringify({
            version: '1.0',
            oldState: { stateValue: 'ALARM' },
            newState: { stateValue: 'OK', stateReason: 'recovered' },
          }),
        },
        {
          AlarmName: ALARMS[1],
          AlarmType: 'MetricAlarm',
          Timestamp: at(23),
          HistoryItemType: 'StateUpdate',
          HistorySummary: 'Alarm updated from OK to ALARM',
          HistoryData: JSON.stringify({
            version: '1.0',
            oldState: { stateValue: 'OK' },
            newState: { stateValue: 'ALARM', stateReason: reason },
          }),
        },
      ],
    });
    jest.spyOn(clock, 'now').mockReturnValue(at(61));
    const result = await checkCanary(CHECK_INPUT);
    expect(result).toMatchObject({ done: true, outcome: 'rolled-back', promoted: false, firing: [ALARMS[1]] });
    expect(result.summary).toContain(`since cleared: ${reason}`);
    const asked = cloudwatch.commandCalls(DescribeAlarmHistoryCommand).map((c) => c.args[0].input);
    expect(asked).toHaveLength(4);
    expect(asked[0]).toMatchObject({ HistoryItemType: 'StateUpdate', StartDate: new Date(STARTED) });
  });

  it('never overwrites a parameter an operator changed mid-canary', async () => {
    parameterIs(JSON.stringify(INCUMBENT), 9);
    alarmsAre({
      [ALARMS[0] ?? '']: 'ALARM',
      [ALARMS[1] ?? '']: 'OK',
      [ALARMS[2] ?? '']: 'OK',
      [ALARMS[3] ?? '']: 'OK',
    });
    expect(await checkCanary(CHECK_INPUT)).toMatchObject({
      done: true,
      outcome: 'rolled-back-by-operator',
      version: 9,
    });
    expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(0);
  });

  it('surfaces throttling under its SDK name for the state machine to retry', async () => {
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'Throttling' });
    cloudwatch.on(DescribeAlarmsCommand).rejects(throttled);
    await expect(checkCanary(CHECK_INPUT)).rejects.toMatchObject({ name: 'Throttling' });
  });

  it('abandoning a check rolls the live candidate back without reading the alarms', async () => {
    parameterIs(JSON.stringify(LIVE), 8);
    jest.spyOn(clock, 'now').mockReturnValue(at(30));
    const result = await checkCanary({ ...CHECK_INPUT, abandon: { Error: 'Throttling', Cause: 'Rate exceeded' } });
    expect(result).toMatchObject({ done: true, outcome: 'rolled-back', promoted: false, version: 8, alarms: [] });
    expect(result.summary).toContain('could no longer be checked: Throttling: Rate exceeded');
    expect(cloudwatch.commandCalls(DescribeAlarmsCommand)).toHaveLength(0);
    expect(written()).toEqual({
      state: 'promoted',
      model: { ...INCUMBENT, schemaVersion: 2, endedCanary: endedRecord('rolled-back') },
    });
  });
});

describe('abandonCanary (the rule on ABORTED, TIMED_OUT and FAILED executions)', () => {
  const sns = mockClient(SNSClient);
  beforeEach(() => {
    sns.reset();
    sns.on(PublishCommand).resolves({ $metadata, MessageId: 'm-1' });
  });
  afterAll(() => sns.restore());
  /** The event EventBridge delivers for an execution of the pipeline that ended `status`. */
  const ended = (status: 'ABORTED' | 'TIMED_OUT' | 'FAILED', name = 'run-1') => ({
    version: '0',
    id: '315c1398-40ff-a850-213b-158f73e60175',
    'detail-type': 'Step Functions Execution Status Change',
    source: 'aws.states',
    account: '123456789012',
    time: at(30).toISOString(),
    region: 'us-east-1',
    resources: [`arn:aws:states:us-east-1:123456789012:execution:IntentRouter-dev-Pipeline:${name}`],
    detail: {
      executionArn: `arn:aws:states:us-east-1:123456789012:execution:IntentRouter-dev-Pipeline:${name}`,
      stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:IntentRouter-dev-Pipeline',
      name,
      status,
      startDate: at(-120).getTime(),
      stopDate: at(30).getTime(),
      input: '{}',
      output: null,
      inputDetails: { included: true },
      outputDetails: null,
      error: status === 'FAILED' ? 'States.Runtime' : null,
      cause: status === 'FAILED' ? 'An error occurred while executing the state' : null,
    },
  });

  it.each(['ABORTED', 'TIMED_OUT', 'FAILED'] as const)(
    'an execution %s mid-canary: its canary is dropped (the incumbent alone) and the topic told',
    async (status) => {
      parameterIs(JSON.stringify(LIVE), 8);
      const result = await abandonCanary(ended(status));
      expect(result).toMatchObject({ runId: 'run-1', status, action: 'abandoned', version: 8 });
      expect(result.summary).toContain(`ended ${status} after 30 min of canary at 10 %`);
      expect(written()).toEqual({
        state: 'promoted',
        model: { ...INCUMBENT, schemaVersion: 2, endedCanary: endedRecord('abandoned') },
      });
      const [publish] = sns.commandCalls(PublishCommand).map((c) => c.args[0].input);
      expect(publish).toMatchObject({
        TopicArn: TRAINING_ENV.TOPIC_ARN,
        Subject: `Intent router canary abandoned: execution ${status}`,
      });
      expect(publish?.Message).toContain('"runId": "run-1"');
      expect(publish?.Message).toContain('"canary": "abandoned"');
    },
  );

  it.each([
    ['another run’s canary', JSON.stringify({ ...LIVE, canary: { ...LIVE.canary, runId: 'run-other' } })],
    ['no canary', JSON.stringify(INCUMBENT)],
    ['nothing promoted', 'none'],
    // Same run id, but started before this execution: not this execution's canary.
    [
      'a canary of an earlier execution of that name',
      JSON.stringify({ ...LIVE, canary: { ...LIVE.canary, startedAt: at(-180).toISOString() } }),
    ],
  ])('leaves %s untouched and says nothing', async (_, value) => {
    parameterIs(value, 8);
    expect(await abandonCanary(ended('ABORTED'))).toMatchObject({ action: 'untouched' });
    expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(0);
    expect(sns.commandCalls(PublishCommand)).toHaveLength(0);
  });

  it('is idempotent: a second delivery finds no canary of the run and writes nothing', async () => {
    let value = JSON.stringify(LIVE);
    let version = 8;
    ssm
      .on(GetParameterCommand)
      .callsFake(async () => ({ $metadata, Parameter: { Name: PARAMETER, Value: value, Version: version } }));
    ssm.on(PutParameterCommand).callsFake(async (input: { Value?: string }) => {
      value = input.Value ?? '';
      version += 1;
      return { $metadata, Version: version, Tier: 'Standard' };
    });
    expect(await abandonCanary(ended('FAILED'))).toMatchObject({ action: 'abandoned', version: 9 });
    expect(await abandonCanary(ended('FAILED'))).toMatchObject({ action: 'untouched' });
    expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(1);
    expect(sns.commandCalls(PublishCommand)).toHaveLength(1);
  });

  it('never overwrites an operator’s write that lands between its read and its write: their value is restored', async () => {
    const operatorValue = JSON.stringify({ ...INCUMBENT, runId: 'run-operator' });
    parameterIs(JSON.stringify(LIVE), 8);
    // The operator wrote version 9 meanwhile: ours became 10, and version 9 is written back as 11.
    ssm.on(GetParameterCommand, { Name: `${PARAMETER}:9` }).resolves({
      $metadata,
      Parameter: { Name: PARAMETER, Value: operatorValue, Version: 9 },
    });
    ssm
      .on(PutParameterCommand)
      .resolvesOnce({ $metadata, Version: 10, Tier: 'Standard' })
      .resolves({ $metadata, Version: 11, Tier: 'Standard' });
    const result = await abandonCanary(ended('ABORTED'));
    expect(result).toMatchObject({ action: 'conflict', version: 11 });
    expect(result.summary).toContain('version 9 was written by someone else after version 8 was read');
    const puts = ssm.commandCalls(PutParameterCommand).map((c) => c.args[0].input.Value);
    expect(puts).toHaveLength(2);
    expect(puts[1]).toBe(operatorValue);
    expect(sns.commandCalls(PublishCommand)).toHaveLength(1);
  });

  it('refuses an event that is not an execution status change', async () => {
    await expect(abandonCanary({ source: 'aws.states', detail: {} })).rejects.toMatchObject({ name: 'InvalidInput' });
  });
});

describe('checkCanary, retried or judged by a previous canary’s alarm', () => {
  const ENDED_PROMOTED = withEndedCanary(promoteCanary(LIVE, at(61)), {
    runId: 'run-1',
    deploymentArn: DEPLOYMENT_ARN,
    outcome: 'promoted',
    endedAt: at(61).toISOString(),
  });

  it('a retried check that finds its own promotion reports it as its own, writing nothing', async () => {
    parameterIs(JSON.stringify(ENDED_PROMOTED), 9);
    alarmsAre();
    jest.spyOn(clock, 'now').mockReturnValue(at(62));
    const result = await checkCanary(CHECK_INPUT);
    expect(result).toMatchObject({ done: true, outcome: 'promoted', promoted: true, version: 9 });
    expect(result.summary).toContain("by an earlier attempt of this run's canary steps");
    expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(0);
  });

  it('a retried check that finds its own rollback reports it as its own, not an operator’s', async () => {
    const rolledBack = withEndedCanary(withoutCanary(LIVE), {
      runId: 'run-1',
      deploymentArn: DEPLOYMENT_ARN,
      outcome: 'rolled-back',
      endedAt: at(15).toISOString(),
    });
    parameterIs(JSON.stringify(rolledBack), 9);
    alarmsAre();
    jest.spyOn(clock, 'now').mockReturnValue(at(16));
    expect(await checkCanary(CHECK_INPUT)).toMatchObject({ done: true, outcome: 'rolled-back', promoted: false });
    expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(0);
  });

  it('the first attempt records its write, so that a retry can recognise it', async () => {
    parameterIs(JSON.stringify(LIVE), 8);
    alarmsAre();
    jest.spyOn(clock, 'now').mockReturnValue(at(61));
    await checkCanary(CHECK_INPUT);
    expect(written()).toMatchObject({
      state: 'promoted',
      model: { runId: 'run-1', endedCanary: { runId: 'run-1', outcome: 'promoted', endedAt: at(61).toISOString() } },
    });
  });

  it('an operator’s promotion (no record of the pipeline’s) is still reported as the operator’s', async () => {
    parameterIs(JSON.stringify(promoteCanary(LIVE, at(20))), 9);
    alarmsAre();
    jest.spyOn(clock, 'now').mockReturnValue(at(25));
    expect(await checkCanary(CHECK_INPUT)).toMatchObject({ outcome: 'promoted-by-operator', promoted: true });
  });

  /** An alarm in ALARM since before the canary started (a previous canary's), evaluated over 3 periods of 5 min. */
  const staleAlarm = (): MetricAlarm => ({
    ...metricAlarm(ALARMS[3] ?? '', 'ALARM', 'Threshold Crossed: agreement 0.71 below 0.85'),
    StateUpdatedTimestamp: at(-40),
    StateTransitionedTimestamp: at(-40),
    Period: 300,
    EvaluationPeriods: 3,
  });
  const withStale = () =>
    cloudwatch.on(DescribeAlarmsCommand).resolves({
      $metadata,
      MetricAlarms: [...ALARMS.slice(0, 3).map((n) => metricAlarm(n, 'OK')), staleAlarm()],
      CompositeAlarms: [],
    });

  it('a previous canary’s ALARM does not roll back this one before its window has seen this canary alone', async () => {
    parameterIs(JSON.stringify(LIVE), 8);
    withStale();
    jest.spyOn(clock, 'now').mockReturnValue(at(10));
    const result = await checkCanary(CHECK_INPUT);
    expect(result).toMatchObject({ done: false, firing: [] });
    expect(result.alarms[3]).toMatchObject({ state: 'ALARM', stale: expect.stringContaining('before this canary') });
    expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(0);
  });

  it('an ALARM still held once its evaluation window has seen only this canary’s data rolls back', async () => {
    parameterIs(JSON.stringify(LIVE), 8);
    withStale();
    jest.spyOn(clock, 'now').mockReturnValue(at(15));
    expect(await checkCanary(CHECK_INPUT)).toMatchObject({ done: true, outcome: 'rolled-back', firing: [ALARMS[3]] });
  });
});

describe('checkCanary: silence is not health', () => {
  it('extends a quiet window with too few candidate queries, then ends inconclusive keeping the incumbent', async () => {
    parameterIs(JSON.stringify(LIVE), 8);
    alarmsAre();
    // A quiet hour: 30 candidate queries, no shadow sample.
    trafficIs(1, 0, 30);
    jest.spyOn(clock, 'now').mockReturnValue(at(65));
    const extended = await checkCanary(CHECK_INPUT);
    expect(extended).toMatchObject({ done: false, promoted: false, traffic: { queries: 30, minQueries: 300 } });
    expect(extended.summary).toContain('the window is extended, up to canaryMaxMinutes 120');
    expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(0);

    jest.spyOn(clock, 'now').mockReturnValue(at(120));
    const ended = await checkCanary(CHECK_INPUT);
    expect(ended).toMatchObject({
      done: true,
      outcome: 'inconclusive',
      promoted: false,
      version: 8,
      traffic: { queries: 30, shadowSamples: 0, minQueries: 300, minShadowSamples: 30, maxMinutes: 120 },
    });
    expect(ended.summary).toMatch(/inconclusive after 120 min .* only 30 candidate queries .* the incumbent is kept/);
    expect(written()).toEqual({
      state: 'promoted',
      model: { ...INCUMBENT, schemaVersion: 2, endedCanary: endedRecord('inconclusive') },
    });
    const asked = cloudwatch.commandCalls(GetMetricDataCommand)[0]?.args[0].input;
    expect(asked?.StartTime).toEqual(new Date(STARTED));
    expect(asked?.MetricDataQueries?.map((q) => [q.Id, q.MetricStat?.Metric?.MetricName, q.MetricStat?.Stat])).toEqual([
      ['queries', 'Queries', 'Sum'],
      ['shadowSamples', 'ShadowDominantAgreement', 'SampleCount'],
    ]);
    expect(asked?.MetricDataQueries?.[0]?.MetricStat?.Metric?.Dimensions).toContainEqual({
      Name: 'Variant',
      Value: 'candidate',
    });
  });

  it('promotes a quiet canary with enough candidate queries and shadow samples', async () => {
    parameterIs(JSON.stringify(LIVE), 8);
    alarmsAre();
    trafficIs(20, 1);
    jest.spyOn(clock, 'now').mockReturnValue(at(60));
    expect(await checkCanary(CHECK_INPUT)).toMatchObject({
      done: true,
      outcome: 'promoted',
      traffic: { queries: 1200, shadowSamples: 60 },
    });
  });

  it('reads no traffic before the window is over', async () => {
    parameterIs(JSON.stringify(LIVE), 8);
    alarmsAre();
    jest.spyOn(clock, 'now').mockReturnValue(at(30));
    await checkCanary(CHECK_INPUT);
    expect(cloudwatch.commandCalls(GetMetricDataCommand)).toHaveLength(0);
  });
});
