import './training-env-setup';
import {
  CloudWatchClient,
  DescribeAlarmHistoryCommand,
  DescribeAlarmsCommand,
  type MetricAlarm,
} from '@aws-sdk/client-cloudwatch';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { readActiveModel, withCanary, type ActiveModel } from '../../lambda/core/active-model';
import { clock } from '../../lambda/pipeline/rollout/canary-aws';
import { checkCanary } from '../../lambda/pipeline/rollout/check-canary';
import { startCanary } from '../../lambda/pipeline/rollout/start-canary';
import { DEPLOYMENT_ARN, MODEL_ARN, TRAINING_ENV } from './training-env';

const $metadata = { httpStatusCode: 200, requestId: 'r' };
const PARAMETER = TRAINING_ENV.ACTIVE_MODEL_PARAMETER_NAME;
const ALARMS = TRAINING_ENV.CANARY_ALARM_NAMES.split(',');
const INCUMBENT_ARN = 'arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/incumbent001';
const STARTED = '2026-11-26T10:00:00.000Z';
const at = (minutes: number) => new Date(Date.parse(STARTED) + minutes * 60_000);

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
  jest.spyOn(clock, 'now').mockReturnValue(at(0));
});
afterAll(() => {
  ssm.restore();
  cloudwatch.restore();
});
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
    // Started 24 h 30 min ago: 35 min left of the 25 h 05 min timeout, the canary needs 60 + 2 × 5.
    const late = {
      ...START_INPUT,
      executionStartTime: new Date(Date.parse(STARTED) - (24 * 60 + 30) * 60_000).toISOString(),
    };
    const run = startCanary(late);
    await expect(run).rejects.toMatchObject({ name: 'CanaryRefused' });
    await expect(startCanary(late)).rejects.toThrow(
      /only 35 min are left before the execution times out, and the canary needs 70 .*Raise pipelineTimeoutHours/,
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
    expect(written()).toEqual({ state: 'promoted', model: { ...INCUMBENT, schemaVersion: 2 } });
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
    expect(written()).toEqual({ state: 'promoted', model: { ...INCUMBENT, schemaVersion: 2 } });
  });
});
