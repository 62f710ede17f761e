import {
  DescribeAlarmHistoryCommand,
  DescribeAlarmsCommand,
  type CloudWatchClient,
  type MetricAlarm,
  type StateValue,
} from '@aws-sdk/client-cloudwatch';
import { missingAlarms, type AlarmReading, type AlarmState } from './canary-decision';

/** The canary steps' CloudWatch calls (Start canary, Check canary): DescribeAlarms by name, the alarms' history. */

/** The time the canary steps see (one place, so tests can move it without faking timers under the SDK). */
export const clock = { now: (): Date => new Date() };

/** Thrown when a canary alarm does not exist: the Api stack of this release creates them. */
export class CanaryAlarmsMissing extends Error {
  override readonly name = 'CanaryAlarmsMissing';
}

/** Thrown when the parameter holds a canary the run must not overwrite (another run's, or nothing to canary). */
export class CanaryRefused extends Error {
  override readonly name = 'CanaryRefused';
}

const STATES: readonly AlarmState[] = ['OK', 'ALARM', 'INSUFFICIENT_DATA'];
const alarmState = (value: StateValue | undefined): AlarmState =>
  STATES.find((s) => s === value) ?? 'INSUFFICIENT_DATA';

/**
 * The named metric alarms' states; throws CanaryAlarmsMissing naming every alarm that does not exist. Metric alarms
 * only: DescribeAlarms returns composite alarms only to a permission scoped to `*`
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarms.html), and the canary's role is
 * scoped to its four alarm ARNs.
 */
export async function readCanaryAlarms(
  cloudwatch: CloudWatchClient,
  names: readonly string[],
  apiStackName: string,
  /** During a canary: its start, and the time of this check (for stale alarms and the history since the start). */
  window?: { readonly since: Date; readonly now: () => Date },
): Promise<AlarmReading[]> {
  const since = window?.since;
  // At most 100 names per call; the canary has four.
  const out = await cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: [...names], AlarmTypes: ['MetricAlarm'] }));
  const readings: AlarmReading[] = (out.MetricAlarms ?? []).map((a) => {
    const reading: AlarmReading = {
      name: a.AlarmName ?? '',
      state: alarmState(a.StateValue),
      reason: a.StateReason ?? '',
      ...(a.StateUpdatedTimestamp ? { updatedAt: a.StateUpdatedTimestamp.toISOString() } : {}),
    };
    const stale = window ? staleAlarm(a, reading, window.since, window.now()) : undefined;
    return stale ? { ...reading, stale } : reading;
  });
  const missing = missingAlarms(names, readings);
  if (missing.length > 0) {
    throw new CanaryAlarmsMissing(
      `the canary metric alarm(s) ${missing.join(', ')} do not exist: deploy the Api stack of this release ` +
        `(npx cdk deploy ${apiStackName}) so that the candidate is watched, then redrive the run`,
    );
  }
  const ordered = names.flatMap((n) => readings.filter((r) => r.name === n));
  if (!since) return ordered;
  // An alarm that fired and cleared between two checks still counts: a 3-minute burst between 5-minute checks must
  // not be promoted as "no alarm". Its history since the canary started tells.
  return Promise.all(ordered.map(async (r) => (r.state === 'ALARM' ? r : firedSince(cloudwatch, r, since))));
}

/** The seconds an alarm's evaluation looks back: EvaluationPeriods × its period (a metric-math alarm's longest). */
export function evaluationWindowSeconds(alarm: MetricAlarm): number {
  const periods = [alarm.Period, ...(alarm.Metrics ?? []).map((m) => m.MetricStat?.Period ?? m.Period)].filter(
    (p): p is number => p !== undefined && p > 0,
  );
  return (alarm.EvaluationPeriods ?? 1) * Math.max(60, ...periods);
}

/**
 * Why an ALARM is a previous canary's, or undefined when it judges this canary. The rule: an alarm whose state last
 * changed (StateTransitionedTimestamp, else StateUpdatedTimestamp) before this canary started entered ALARM on
 * earlier data. Until the canary has run for the alarm's evaluation window (EvaluationPeriods × period), its state
 * still rests on that data, so it is stale and does not roll back. Once the window has passed, every datapoint it
 * evaluates is this canary's: the canary alarms treat missing data as not breaching, so an alarm still in ALARM then is
 * breached by this candidate and counts. An ALARM entered since the start is never stale (nor is one found in the
 * history since the start: firedSince).
 */
export function staleAlarm(alarm: MetricAlarm, reading: AlarmReading, since: Date, now: Date): string | undefined {
  const changed = alarm.StateTransitionedTimestamp ?? alarm.StateUpdatedTimestamp;
  if (reading.state !== 'ALARM' || !changed || changed.getTime() >= since.getTime()) return undefined;
  const windowSeconds = evaluationWindowSeconds(alarm);
  const seenSeconds = (now.getTime() - since.getTime()) / 1000;
  if (seenSeconds >= windowSeconds) return undefined;
  return (
    `in ALARM since ${changed.toISOString()}, before this canary started (${since.toISOString()}): it judges this ` +
    `canary once its ${windowSeconds / 60}-min evaluation window has seen this canary's data alone`
  );
}

/** The reading as ALARM when the alarm went into ALARM at any time since `since` (its state-update history). */
async function firedSince(cloudwatch: CloudWatchClient, reading: AlarmReading, since: Date): Promise<AlarmReading> {
  const out = await cloudwatch.send(
    new DescribeAlarmHistoryCommand({
      AlarmName: reading.name,
      AlarmTypes: ['MetricAlarm'],
      HistoryItemType: 'StateUpdate',
      StartDate: since,
      ScanBy: 'TimestampDescending',
      MaxRecords: 100,
    }),
  );
  for (const item of out.AlarmHistoryItems ?? []) {
    const change = stateChange(item.HistoryData);
    if (change?.newState === 'ALARM') {
      const at = item.Timestamp?.toISOString() ?? 'an earlier minute';
      return { ...reading, state: 'ALARM', reason: `in ALARM at ${at}, since cleared: ${change.reason}` };
    }
  }
  return reading;
}

/** The new state and its reason from a StateUpdate history item's HistoryData (JSON), or undefined. */
export function stateChange(historyData: string | undefined): { newState: string; reason: string } | undefined {
  try {
    const data: unknown = JSON.parse(historyData ?? '');
    const newState = typeof data === 'object' && data !== null ? Reflect.get(data, 'newState') : undefined;
    const value = typeof newState === 'object' && newState !== null ? Reflect.get(newState, 'stateValue') : undefined;
    const reason = typeof newState === 'object' && newState !== null ? Reflect.get(newState, 'stateReason') : undefined;
    return typeof value === 'string'
      ? { newState: value, reason: typeof reason === 'string' ? reason : '' }
      : undefined;
  } catch {
    return undefined;
  }
}
