import type { AlarmReading, CanaryCandidate, CanaryOutcome } from './canary-decision';
import type { CanaryRequirements, CanaryTraffic } from './canary-traffic';

/**
 * What the rollout (canary and promotion) stage hands on through the state machine's state: each result sits at `$.<key>`
 * (lib/constructs/pipeline). Later stages import these types from here, never the reverse.
 */

/** `$.promotion` */
export interface PromotionResult {
  readonly promoted: boolean;
  readonly parameterName?: string;
  readonly version?: number;
  /** Why nothing was promoted (the gate's summary, or the canary's rollback). */
  readonly reason?: string;
  /** When the candidate went through a canary: how it ended and on which figures. */
  readonly canary?: CanaryCheck;
}

/**
 * `$.canary` (Start canary): the candidate put beside the incumbent at `share`, or `started: false` with the reason it
 * is promoted directly (nothing promoted yet).
 */
export type CanaryStarted =
  | {
      readonly started: true;
      readonly parameterName: string;
      readonly version: number;
      readonly share: number;
      readonly startedAt: string;
      readonly incumbent: CanaryCandidate;
      /** True when an earlier attempt had already written this canary. */
      readonly resumed: boolean;
    }
  | { readonly started: false; readonly reason: string };

/** `$.canaryCheck` (Check canary): the alarms and the parameter at the last check, and the outcome once it ended. */
export interface CanaryCheck {
  readonly done: boolean;
  /** Once done. */
  readonly outcome?: CanaryOutcome;
  /** True when the candidate is the active model at the end (by the check or by an operator). */
  readonly promoted: boolean;
  readonly parameterName: string;
  /** The parameter version written by the check, or read when nothing was written. */
  readonly version: number;
  readonly share: number;
  readonly startedAt: string;
  readonly elapsedMinutes: number;
  readonly incumbent: CanaryCandidate;
  readonly alarms: readonly AlarmReading[];
  /** The alarms in ALARM that rolled the candidate back (names). */
  readonly firing: readonly string[];
  /**
   * Once the window is over: the candidate's queries and shadow samples since the start, and what promotion needs
   * (canaryMinQueries, canaryShadowMinSamples, canaryMaxMinutes, canaryInconclusive).
   */
  readonly traffic?: CanaryTraffic & CanaryRequirements;
  readonly summary: string;
}
