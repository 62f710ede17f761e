import {
  promoteCanary,
  withCanary,
  withEndedCanary,
  withoutCanary,
  type ActiveModel,
  type ActiveModelRead,
  type EndedCanary,
} from '../../core/active-model';
import { describeTraffic, enoughTraffic, type CanaryRequirements, type CanaryTraffic } from './canary-traffic';

/**
 * The run's canary, decided without AWS: whether a gated candidate starts as a canary beside the incumbent, and at each
 * check whether it is promoted, rolled back, left running, or was already ended by an operator. The handlers
 * (lambda/pipeline/rollout/start-canary.ts, check-canary.ts) only read the alarms and the parameter and write what is decided.
 */

/** CloudWatch's alarm states (`StateValue` of DescribeAlarms). */
export type AlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

/** One canary alarm as DescribeAlarms reported it; `reason` is CloudWatch's StateReason, which carries the figures. */
export interface AlarmReading {
  readonly name: string;
  readonly state: AlarmState;
  readonly reason: string;
  readonly updatedAt?: string;
  /**
   * Set when the alarm is in ALARM since before this canary started and its evaluation window has not yet seen this
   * canary's data alone: a previous canary's alarm, which does not judge this one (why, in words).
   */
  readonly stale?: string;
}

/** How a canary ended. */
export type CanaryOutcome =
  'promoted' | 'rolled-back' | 'inconclusive' | 'promoted-by-operator' | 'rolled-back-by-operator';

/** The run's candidate as the canary names it. */
export interface CanaryCandidate {
  readonly runId: string;
  readonly deploymentArn: string;
}

/** The expected alarm names that DescribeAlarms did not return (the Api stack creates them). */
export function missingAlarms(expected: readonly string[], found: readonly AlarmReading[]): string[] {
  const names = new Set(found.map((a) => a.name));
  return expected.filter((n) => !names.has(n));
}

/** The value holding the canary, whom it stands beside, its share and when it started. */
interface StartedCanary {
  readonly value: ActiveModel;
  readonly incumbent: CanaryCandidate;
  readonly share: number;
  readonly startedAt: string;
}

export type CanaryStart =
  /** Nothing (valid) is promoted: the candidate is promoted at once, as before canaries. */
  | { readonly kind: 'promote-directly'; readonly reason: string }
  /** The value to write: the incumbent as it is, the candidate at its share. */
  | ({ readonly kind: 'start' } & StartedCanary)
  /** The parameter already holds this run's canary (a retried step): nothing to write. */
  | ({ readonly kind: 'already-started' } & StartedCanary)
  /** Another canary is live: overwriting it would end an operator's or another run's canary unseen. */
  | { readonly kind: 'refuse'; readonly reason: string };

/**
 * What the canary's start does with the parameter as it reads now. The incumbent is whoever the parameter names at this
 * moment (not at Preflight): an operator's rollback in between is kept.
 */
export function canaryStart(
  current: ActiveModelRead,
  candidate: CanaryCandidate & { readonly modelArn: string; readonly studentPromptVersion: string },
  metrics: Readonly<Record<string, number>>,
  share: number,
  at: Date,
): CanaryStart {
  if (current.state === 'none') return { kind: 'promote-directly', reason: 'nothing is promoted yet' };
  if (current.state === 'invalid') {
    return {
      kind: 'promote-directly',
      reason: `the parameter holds no valid model (${current.reason}), so no incumbent can serve beside a canary`,
    };
  }
  const { model } = current;
  const incumbent = { runId: model.runId, deploymentArn: model.deploymentArn };
  if (model.canary) {
    if (model.canary.runId === candidate.runId && model.canary.deploymentArn === candidate.deploymentArn) {
      const { share: liveShare, startedAt } = model.canary;
      return { kind: 'already-started', value: model, incumbent, share: liveShare, startedAt };
    }
    return {
      kind: 'refuse',
      reason:
        `a canary of run ${model.canary.runId} (${model.canary.deploymentArn}) is live since ${model.canary.startedAt}:` +
        ' end it first (npm run pipeline -- promote|rollback --env <env>), then redrive this run',
    };
  }
  if (model.runId === candidate.runId && model.deploymentArn === candidate.deploymentArn) {
    return { kind: 'refuse', reason: `run ${candidate.runId} is already the promoted model: nothing to canary` };
  }
  const value = withCanary(model, {
    deploymentArn: candidate.deploymentArn,
    modelArn: candidate.modelArn,
    runId: candidate.runId,
    studentPromptVersion: candidate.studentPromptVersion,
    share,
    startedAt: at.toISOString(),
    metrics: { ...metrics },
  });
  return { kind: 'start', value, incumbent, share, startedAt: at.toISOString() };
}

export type CanaryDecision =
  | { readonly action: 'wait'; readonly elapsedMinutes: number; readonly summary: string }
  | {
      readonly action: 'promote';
      readonly outcome: 'promoted';
      readonly value: ActiveModel;
      readonly elapsedMinutes: number;
      readonly summary: string;
    }
  | {
      readonly action: 'rollback';
      readonly outcome: 'rolled-back';
      readonly value: ActiveModel;
      readonly firing: readonly AlarmReading[];
      readonly elapsedMinutes: number;
      readonly summary: string;
    }
  /**
   * canaryMaxMinutes passed without canaryMinQueries candidate queries or canaryShadowMinSamples shadow samples: the
   * incumbent is kept (canaryInconclusive keepIncumbent) or the candidate promoted anyway (promote).
   */
  | {
      readonly action: 'inconclusive';
      readonly outcome: 'inconclusive';
      readonly promoted: boolean;
      readonly value: ActiveModel;
      readonly elapsedMinutes: number;
      readonly summary: string;
    }
  /** An earlier attempt of this check (or Abandon canary) already ended the canary: its write is reported as its own. */
  | {
      readonly action: 'already-ended';
      readonly outcome: 'promoted' | 'rolled-back' | 'inconclusive';
      readonly promoted: boolean;
      readonly elapsedMinutes: number;
      readonly summary: string;
    }
  /** The candidate is no longer in the parameter as a canary: an operator ended it; nothing is written. */
  | {
      readonly action: 'ended-by-operator';
      readonly outcome: 'promoted-by-operator' | 'rolled-back-by-operator';
      readonly elapsedMinutes: number;
      readonly summary: string;
    };

export interface CanaryDecisionInput {
  readonly alarms: readonly AlarmReading[];
  readonly parameter: ActiveModelRead;
  readonly candidate: CanaryCandidate;
  readonly startedAt: Date;
  readonly now: Date;
  /** canaryMinutes: how long the alarms must stay quiet. */
  readonly minutes: number;
  /** The candidate's traffic since the start; read once the window is over (undefined: no evidence, counted as none). */
  readonly traffic?: CanaryTraffic;
  readonly requirements: CanaryRequirements;
}

/** Whether the check needs the candidate's traffic: the canary is live, no alarm fires, and its window is over. */
export function needsTraffic(input: Omit<CanaryDecisionInput, 'traffic'>): boolean {
  return (
    liveCanary(input.parameter, input.candidate) !== undefined &&
    !input.alarms.some((a) => a.state === 'ALARM' && a.stale === undefined) &&
    minutesBetween(input.startedAt, input.now) >= input.minutes
  );
}

const describeFiring = (a: AlarmReading) => `${a.name}: ${a.reason}`;

/** The canary's share as people write it (10 %, 2.5 %). */
const percentOf = (model: ActiveModel) => `${Number(((model.canary?.share ?? 0) * 100).toFixed(1))} %`;
const minutesBetween = (from: Date, to: Date) => Math.max(0, (to.getTime() - from.getTime()) / 60_000);
const sameCandidate = (m: CanaryCandidate | undefined, candidate: CanaryCandidate) =>
  m !== undefined && m.runId === candidate.runId && m.deploymentArn === candidate.deploymentArn;

/** The parameter's model when it still holds this candidate as its canary (the run may write it), else undefined. */
function liveCanary(parameter: ActiveModelRead, candidate: CanaryCandidate): ActiveModel | undefined {
  return parameter.state === 'promoted' && sameCandidate(parameter.model.canary, candidate)
    ? parameter.model
    : undefined;
}

/** How this run's canary ended when the parameter records that the pipeline ended it (after `startedAt`), else undefined. */
function endedByThisRun(
  parameter: ActiveModelRead,
  candidate: CanaryCandidate,
  startedAt: Date,
): EndedCanary | undefined {
  const ended = parameter.state === 'promoted' ? parameter.model.endedCanary : undefined;
  return ended && sameCandidate(ended, candidate) && Date.parse(ended.endedAt) >= startedAt.getTime()
    ? ended
    : undefined;
}

/** The record the pipeline writes with the value that ends this candidate's canary. */
const ending = (candidate: CanaryCandidate, outcome: EndedCanary['outcome'], at: Date): EndedCanary => ({
  runId: candidate.runId,
  deploymentArn: candidate.deploymentArn,
  outcome,
  endedAt: at.toISOString(),
});

/** The canary is no longer live: ended by an earlier attempt of the pipeline's own steps, or by an operator. */
function notLive(
  parameter: ActiveModelRead,
  candidate: CanaryCandidate,
  startedAt: Date,
  elapsedMinutes: number,
): Extract<CanaryDecision, { action: 'ended-by-operator' | 'already-ended' }> {
  const ended = endedByThisRun(parameter, candidate, startedAt);
  if (!ended) return endedByOperator(parameter, candidate, elapsedMinutes);
  const outcome = ended.outcome === 'abandoned' ? 'rolled-back' : ended.outcome;
  return {
    action: 'already-ended',
    outcome,
    promoted: parameter.state === 'promoted' && sameCandidate(parameter.model, candidate),
    elapsedMinutes,
    summary: `${outcome} at ${ended.endedAt} by an earlier attempt of this run's canary steps (its own write, kept)`,
  };
}

/** The candidate is no longer the canary: an operator promoted it (it is the one model) or ended the canary. */
function endedByOperator(
  parameter: ActiveModelRead,
  candidate: CanaryCandidate,
  elapsedMinutes: number,
): Extract<CanaryDecision, { action: 'ended-by-operator' }> {
  const promotedByOperator = parameter.state === 'promoted' && sameCandidate(parameter.model, candidate);
  const holds =
    parameter.state === 'promoted'
      ? `run ${parameter.model.runId} (${parameter.model.deploymentArn})` +
        (parameter.model.canary ? ` with a canary of run ${parameter.model.canary.runId}` : '')
      : parameter.state === 'none'
        ? 'nothing promoted'
        : `an invalid value (${parameter.reason})`;
  return {
    action: 'ended-by-operator',
    outcome: promotedByOperator ? 'promoted-by-operator' : 'rolled-back-by-operator',
    elapsedMinutes,
    summary: promotedByOperator
      ? `an operator promoted the candidate after ${elapsedMinutes.toFixed(0)} min of canary`
      : `an operator ended the canary after ${elapsedMinutes.toFixed(0)} min: the parameter now holds ${holds}, ` +
        'left as it is',
  };
}

/**
 * One check of a live canary. The operator comes first (a parameter that no longer holds this candidate as the canary
 * is never overwritten), then any alarm in ALARM rolls back, then a quiet window of `minutes` promotes. Every check at
 * or after `minutes` ends the canary, which bounds the loop by the canary's own duration. INSUFFICIENT_DATA is not a
 * failure: the shadow-agreement alarm has no data until enough samples exist.
 */
export function canaryDecision(input: CanaryDecisionInput): CanaryDecision {
  const elapsedMinutes = minutesBetween(input.startedAt, input.now);
  const model = liveCanary(input.parameter, input.candidate);
  if (!model) return notLive(input.parameter, input.candidate, input.startedAt, elapsedMinutes);

  // A stale ALARM (a previous canary's, not yet re-evaluated on this canary's data alone) does not judge this one.
  const firing = input.alarms.filter((a) => a.state === 'ALARM' && a.stale === undefined);
  if (firing.length > 0) {
    return {
      action: 'rollback',
      outcome: 'rolled-back',
      value: withEndedCanary(withoutCanary(model), ending(input.candidate, 'rolled-back', input.now)),
      firing,
      elapsedMinutes,
      summary:
        `rolled back after ${elapsedMinutes.toFixed(0)} min of canary at ${percentOf(model)}: ` +
        firing.map(describeFiring).join('; '),
    };
  }
  const req = input.requirements;
  const maxMinutes = Math.max(input.minutes, req.maxMinutes);
  const traffic = input.traffic ?? { queries: 0, shadowSamples: 0 };
  const figures = describeTraffic(traffic, req);
  if (elapsedMinutes >= input.minutes && !enoughTraffic(traffic, req)) {
    if (elapsedMinutes < maxMinutes) {
      return {
        action: 'wait',
        elapsedMinutes,
        summary:
          `${elapsedMinutes.toFixed(0)} min, no alarm, but only ${figures}: the window is extended, up to ` +
          `canaryMaxMinutes ${maxMinutes}`,
      };
    }
    const promoted = req.inconclusive === 'promote';
    const ended = ending(input.candidate, 'inconclusive', input.now);
    return {
      action: 'inconclusive',
      outcome: 'inconclusive',
      promoted,
      value: withEndedCanary(promoted ? promoteCanary(model, input.now) : withoutCanary(model), ended),
      elapsedMinutes,
      summary:
        `inconclusive after ${elapsedMinutes.toFixed(0)} min of canary at ${percentOf(model)} (canaryMaxMinutes ` +
        `${maxMinutes}): no alarm, but only ${figures}; ` +
        (promoted ? 'the candidate is promoted anyway (canaryInconclusive promote)' : 'the incumbent is kept'),
    };
  }
  if (elapsedMinutes >= input.minutes) {
    return {
      action: 'promote',
      outcome: 'promoted',
      value: withEndedCanary(promoteCanary(model, input.now), ending(input.candidate, 'promoted', input.now)),
      elapsedMinutes,
      summary:
        `promoted after ${elapsedMinutes.toFixed(0)} min of canary at ${percentOf(model)} with ` +
        `no alarm (${input.alarms.map((a) => `${a.name} ${a.state}`).join(', ')}) and ${figures}`,
    };
  }
  return {
    action: 'wait',
    elapsedMinutes,
    summary: `${elapsedMinutes.toFixed(0)} of ${input.minutes} min, no alarm`,
  };
}

/**
 * When the canary cannot be watched any more (Check canary failed after its retries): the candidate is taken out of
 * live traffic rather than left answering unwatched, unless an operator already changed the parameter.
 */
export function canaryAbandon(
  parameter: ActiveModelRead,
  candidate: CanaryCandidate,
  startedAt: Date,
  now: Date,
  why: string,
): Extract<CanaryDecision, { action: 'rollback' | 'ended-by-operator' | 'already-ended' }> {
  const elapsedMinutes = minutesBetween(startedAt, now);
  const model = liveCanary(parameter, candidate);
  if (!model) return notLive(parameter, candidate, startedAt, elapsedMinutes);
  return {
    action: 'rollback',
    outcome: 'rolled-back',
    value: withEndedCanary(withoutCanary(model), ending(candidate, 'rolled-back', now)),
    firing: [],
    elapsedMinutes,
    summary: `rolled back after ${elapsedMinutes.toFixed(0)} min because the canary could no longer be checked: ${why}`,
  };
}
