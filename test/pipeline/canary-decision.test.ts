import { readActiveModel, withCanary, type ActiveModel } from '../../lambda/core/active-model';
import {
  canaryAbandon,
  canaryDecision,
  canaryStart,
  missingAlarms,
  needsTraffic,
  type AlarmReading,
  type CanaryDecisionInput,
} from '../../lambda/pipeline/rollout/canary-decision';
import { canaryTimeProblem } from '../../lambda/pipeline/rollout/canary-limits';

const INCUMBENT_ARN = 'arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/incumbent001';
const CANDIDATE_ARN = 'arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/candidate001';
const STARTED = new Date('2026-11-26T10:00:00.000Z');
const minutesAfter = (m: number) => new Date(STARTED.getTime() + m * 60_000);

const INCUMBENT: ActiveModel = {
  deploymentArn: INCUMBENT_ARN,
  modelArn: 'arn:aws:bedrock:us-east-1:123456789012:custom-model/incumbent',
  runId: 'run-old',
  promotedAt: '2026-11-01T00:00:00.000Z',
  studentPromptVersion: 'student-v1',
  metrics: { judgeScore: 4.4 },
};
const CANDIDATE = {
  runId: 'run-new',
  deploymentArn: CANDIDATE_ARN,
  modelArn: 'arn:aws:bedrock:us-east-1:123456789012:custom-model/candidate',
  studentPromptVersion: 'student-v1',
};
const LIVE = withCanary(INCUMBENT, {
  ...CANDIDATE,
  share: 0.1,
  startedAt: STARTED.toISOString(),
  metrics: { judgeScore: 4.5 },
});

const alarm = (name: string, state: AlarmReading['state'], reason = `${name} is ${state}`): AlarmReading => ({
  name,
  state,
  reason,
});
const QUIET = [alarm('Canary-InvalidReplies', 'OK'), alarm('Canary-ShadowAgreement', 'INSUFFICIENT_DATA')];

const REQUIREMENTS = { minQueries: 300, minShadowSamples: 30, maxMinutes: 120, inconclusive: 'keepIncumbent' as const };
const BUSY = { queries: 1_200, shadowSamples: 64 };

const decide = (overrides: Partial<CanaryDecisionInput>) =>
  canaryDecision({
    alarms: QUIET,
    parameter: { state: 'promoted', model: LIVE },
    candidate: CANDIDATE,
    startedAt: STARTED,
    now: minutesAfter(10),
    minutes: 60,
    traffic: BUSY,
    requirements: REQUIREMENTS,
    ...overrides,
  });

describe('canaryDecision', () => {
  it('waits while the alarms are quiet (INSUFFICIENT_DATA included) and the window is not over', () => {
    expect(decide({})).toEqual({ action: 'wait', elapsedMinutes: 10, summary: '10 of 60 min, no alarm' });
  });

  it('promotes the candidate after a quiet window of canaryMinutes', () => {
    const decision = decide({ now: minutesAfter(60) });
    expect(decision).toMatchObject({ action: 'promote', outcome: 'promoted', elapsedMinutes: 60 });
    if (decision.action !== 'promote') throw new Error('expected promote');
    expect(decision.value).toMatchObject({
      deploymentArn: CANDIDATE_ARN,
      runId: 'run-new',
      promotedAt: minutesAfter(60).toISOString(),
      metrics: { judgeScore: 4.5 },
    });
    expect(decision.value.canary).toBeUndefined();
    expect(decision.summary).toBe(
      'promoted after 60 min of canary at 10 % with no alarm (Canary-InvalidReplies OK, Canary-ShadowAgreement INSUFFICIENT_DATA) and 1200 candidate queries (canaryMinQueries 300), 64 shadow samples (canaryShadowMinSamples 30)',
    );
  });

  it('rolls back on any alarm in ALARM, naming it with its figures, even before the window is over', () => {
    const reason = 'Threshold Crossed: 1 datapoint [0.07 (26/11/26 10:05:00)] was greater than the threshold (0.02).';
    const decision = decide({ alarms: [alarm('Canary-InvalidReplies', 'ALARM', reason), QUIET[1] as AlarmReading] });
    expect(decision).toMatchObject({ action: 'rollback', outcome: 'rolled-back', elapsedMinutes: 10 });
    if (decision.action !== 'rollback') throw new Error('expected rollback');
    expect(decision.value).toEqual({
      ...INCUMBENT,
      schemaVersion: 2,
      endedCanary: expect.objectContaining({ outcome: 'rolled-back' }),
    });
    expect(decision.firing.map((a) => a.name)).toEqual(['Canary-InvalidReplies']);
    expect(decision.summary).toBe(`rolled back after 10 min of canary at 10 %: Canary-InvalidReplies: ${reason}`);
  });

  it('an alarm at the end of the window still rolls back rather than promotes', () => {
    expect(decide({ now: minutesAfter(90), alarms: [alarm('Canary-LatencyP99', 'ALARM')] }).action).toBe('rollback');
  });

  it('reports an operator’s rollback and writes nothing, even when an alarm fires', () => {
    const decision = decide({
      parameter: { state: 'promoted', model: INCUMBENT },
      alarms: [alarm('Canary-Fallbacks', 'ALARM')],
    });
    expect(decision).toEqual({
      action: 'ended-by-operator',
      outcome: 'rolled-back-by-operator',
      elapsedMinutes: 10,
      summary: `an operator ended the canary after 10 min: the parameter now holds run run-old (${INCUMBENT_ARN}), left as it is`,
    });
  });

  it('reports an operator’s early promotion of the candidate', () => {
    const promoted: ActiveModel = { ...INCUMBENT, deploymentArn: CANDIDATE_ARN, runId: 'run-new' };
    expect(decide({ parameter: { state: 'promoted', model: promoted } })).toMatchObject({
      action: 'ended-by-operator',
      outcome: 'promoted-by-operator',
    });
  });

  it.each([
    ['nothing promoted', { state: 'none' } as const, /holds nothing promoted/],
    ['an invalid value', readActiveModel('{"x":1}'), /holds an invalid value \(deploymentArn: is missing\)/],
    [
      'another run’s canary',
      {
        state: 'promoted',
        model: withCanary(INCUMBENT, {
          ...CANDIDATE,
          runId: 'run-other',
          share: 0.2,
          startedAt: STARTED.toISOString(),
        }),
      } as const,
      /with a canary of run run-other/,
    ],
  ])('treats %s in the parameter as the operator’s and leaves it', (_, parameter, summary) => {
    const decision = decide({ parameter });
    expect(decision).toMatchObject({ action: 'ended-by-operator', outcome: 'rolled-back-by-operator' });
    expect(decision.summary).toMatch(summary);
  });
});

describe('canaryStart', () => {
  const start = (current: Parameters<typeof canaryStart>[0]) =>
    canaryStart(current, CANDIDATE, { judgeScore: 4.5 }, 0.1, STARTED);

  it('with nothing promoted, promotes directly', () => {
    expect(start({ state: 'none' })).toEqual({ kind: 'promote-directly', reason: 'nothing is promoted yet' });
    expect(start(readActiveModel('not json'))).toMatchObject({
      kind: 'promote-directly',
      reason: expect.stringContaining('the value is not JSON'),
    });
  });

  it('puts the candidate beside the incumbent at the share', () => {
    expect(start({ state: 'promoted', model: INCUMBENT })).toEqual({
      kind: 'start',
      value: LIVE,
      incumbent: { runId: 'run-old', deploymentArn: INCUMBENT_ARN },
      share: 0.1,
      startedAt: STARTED.toISOString(),
    });
  });

  it('a retry finds its own canary already written', () => {
    expect(start({ state: 'promoted', model: LIVE })).toMatchObject({ kind: 'already-started', value: LIVE });
  });

  it('refuses to overwrite another run’s live canary or to canary the promoted model itself', () => {
    const other = withCanary(INCUMBENT, {
      ...CANDIDATE,
      runId: 'run-other',
      share: 0.2,
      startedAt: STARTED.toISOString(),
    });
    expect(start({ state: 'promoted', model: other })).toMatchObject({
      kind: 'refuse',
      reason: expect.stringMatching(/a canary of run run-other .* end it first/),
    });
    const self: ActiveModel = { ...INCUMBENT, deploymentArn: CANDIDATE_ARN, runId: 'run-new' };
    expect(start({ state: 'promoted', model: self })).toMatchObject({ kind: 'refuse' });
  });
});

describe('missingAlarms', () => {
  it('names the expected alarms DescribeAlarms did not return, in order', () => {
    expect(missingAlarms(['a', 'b', 'c'], [alarm('b', 'OK')])).toEqual(['a', 'c']);
    expect(missingAlarms(['a'], [alarm('a', 'ALARM')])).toEqual([]);
  });
});

describe('canaryAbandon', () => {
  it('rolls the candidate back when it is still the canary, saying why', () => {
    const decision = canaryAbandon(
      { state: 'promoted', model: LIVE },
      CANDIDATE,
      STARTED,
      minutesAfter(20),
      'Throttling: Rate exceeded',
    );
    expect(decision).toMatchObject({ action: 'rollback', outcome: 'rolled-back', firing: [], elapsedMinutes: 20 });
    if (decision.action !== 'rollback') throw new Error('expected rollback');
    expect(decision.value).toEqual({
      ...INCUMBENT,
      schemaVersion: 2,
      endedCanary: expect.objectContaining({ outcome: 'rolled-back' }),
    });
    expect(decision.summary).toBe(
      'rolled back after 20 min because the canary could no longer be checked: Throttling: Rate exceeded',
    );
  });

  it('leaves a value an operator wrote', () => {
    expect(
      canaryAbandon({ state: 'promoted', model: INCUMBENT }, CANDIDATE, STARTED, minutesAfter(20), 'x'),
    ).toMatchObject({
      action: 'ended-by-operator',
      outcome: 'rolled-back-by-operator',
    });
  });
});

describe('canaryTimeProblem', () => {
  const start = new Date('2026-11-26T00:00:00.000Z');
  const input = (minutesIn: number) => ({
    executionStart: start,
    now: new Date(start.getTime() + minutesIn * 60_000),
    timeoutMinutes: 120,
    canaryMinutes: 60,
    checkMinutes: 5,
  });

  it('lets a canary start while the window and a check to spare fit before the timeout', () => {
    expect(canaryTimeProblem(input(0))).toBeUndefined();
    expect(canaryTimeProblem(input(50))).toBeUndefined(); // 70 left, 70 needed
  });

  it('refuses when they do not, naming the minutes and the keys to change', () => {
    expect(canaryTimeProblem(input(51))).toMatch(
      /^only 69 min are left before the execution times out, and the canary needs 70 \(its longest window, max\(canaryMinutes, canaryMaxMinutes\), 60 \+ 2 × canaryCheckMinutes 5\).*Raise pipelineTimeoutHours/,
    );
    expect(canaryTimeProblem(input(200))).toMatch(/^only 0 min are left/);
  });
});

describe('canaryDecision: silence is not health', () => {
  const SILENT = { queries: 40, shadowSamples: 3 };

  it('extends a quiet window that saw too few candidate queries, saying how many', () => {
    const decision = decide({ now: minutesAfter(60), traffic: SILENT });
    expect(decision).toMatchObject({ action: 'wait', elapsedMinutes: 60 });
    expect(decision.summary).toContain('only 40 candidate queries (canaryMinQueries 300), 3 shadow samples');
    expect(decision.summary).toContain('extended, up to canaryMaxMinutes 120');
  });

  it('counts no reading as no traffic', () => {
    expect(decide({ now: minutesAfter(60), traffic: undefined })).toMatchObject({ action: 'wait' });
  });

  it('promotes once both minimums are met, within the extension', () => {
    const decision = decide({ now: minutesAfter(85), traffic: { queries: 300, shadowSamples: 30 } });
    expect(decision).toMatchObject({ action: 'promote', outcome: 'promoted' });
    expect(decision.summary).toContain('300 candidate queries (canaryMinQueries 300), 30 shadow samples');
  });

  it('ends inconclusive at canaryMaxMinutes and keeps the incumbent', () => {
    const decision = decide({ now: minutesAfter(120), traffic: SILENT });
    expect(decision).toMatchObject({ action: 'inconclusive', outcome: 'inconclusive', promoted: false });
    if (decision.action !== 'inconclusive') throw new Error('expected inconclusive');
    expect(decision.value.canary).toBeUndefined();
    expect(decision.value.deploymentArn).toBe(LIVE.deploymentArn);
    expect(decision.value.endedCanary).toMatchObject({ outcome: 'inconclusive' });
    expect(decision.summary).toContain('inconclusive after 120 min');
    expect(decision.summary).toContain('the incumbent is kept');
  });

  it('with canaryInconclusive promote, promotes the candidate at canaryMaxMinutes all the same', () => {
    const decision = decide({
      now: minutesAfter(120),
      traffic: SILENT,
      requirements: { ...REQUIREMENTS, inconclusive: 'promote' },
    });
    expect(decision).toMatchObject({ action: 'inconclusive', promoted: true });
    if (decision.action !== 'inconclusive') throw new Error('expected inconclusive');
    expect(decision.value.deploymentArn).toBe(CANDIDATE.deploymentArn);
  });

  it('an alarm still rolls back a silent canary', () => {
    expect(
      decide({ now: minutesAfter(90), traffic: SILENT, alarms: [alarm('Canary-Fallbacks', 'ALARM')] }),
    ).toMatchObject({
      action: 'rollback',
    });
  });

  it('needs the traffic only for a live, quiet canary past its window', () => {
    const base = {
      alarms: QUIET,
      parameter: { state: 'promoted', model: LIVE } as const,
      candidate: CANDIDATE,
      startedAt: STARTED,
      minutes: 60,
      requirements: REQUIREMENTS,
    };
    expect(needsTraffic({ ...base, now: minutesAfter(30) })).toBe(false);
    expect(needsTraffic({ ...base, now: minutesAfter(60) })).toBe(true);
    expect(needsTraffic({ ...base, now: minutesAfter(60), alarms: [alarm('Canary-Fallbacks', 'ALARM')] })).toBe(false);
  });
});
