/**
 * The canary's limits that need no decision: which execution statuses abandon it, which errors of its AWS calls are
 * transient, and whether its window still fits before the execution's timeout.
 */

/** The execution statuses after which the canary steps no longer run: Abandon canary drops the execution's canary. */
export const ABANDONING_STATUSES = ['ABORTED', 'TIMED_OUT', 'FAILED'] as const;

/**
 * Transient errors of the canary's CloudWatch and SSM calls, rethrown by the handlers under their SDK names and retried
 * by the state machine with backoff: CloudWatch's `Throttling` and `InternalServiceFault`, SSM's
 * `ThrottlingException`, `TooManyUpdates` (PutParameter on one parameter too often) and `InternalServerError`.
 */
export const CANARY_TRANSIENT_ERRORS = [
  'Throttling',
  'InternalServiceFault',
  'ThrottlingException',
  'TooManyUpdates',
  'InternalServerError',
] as const;

/**
 * Why a canary must not start this late in the execution, or undefined. A canary cut short by the execution's timeout
 * (or a stop) would leave the candidate answering with nothing watching it, so Start canary refuses unless the whole
 * window and a check interval to spare fit before the deadline.
 */
export function canaryTimeProblem(input: {
  readonly executionStart: Date;
  readonly now: Date;
  readonly timeoutMinutes: number;
  readonly canaryMinutes: number;
  readonly checkMinutes: number;
}): string | undefined {
  const deadline = input.executionStart.getTime() + input.timeoutMinutes * 60_000;
  const leftMinutes = (deadline - input.now.getTime()) / 60_000;
  const needed = input.canaryMinutes + 2 * input.checkMinutes;
  if (leftMinutes >= needed) return undefined;
  return (
    `only ${Math.max(0, Math.floor(leftMinutes))} min are left before the execution times out, and the canary needs ` +
    `${needed} (its longest window, max(canaryMinutes, canaryMaxMinutes), ${input.canaryMinutes} + 2 × ` +
    `canaryCheckMinutes ${input.checkMinutes}): the candidate ` +
    'passed the gate but is not put on live traffic. Raise pipelineTimeoutHours, or lower canaryMaxMinutes, and deploy; ' +
    "then start a run with --reuse-model <this run's custom model ARN> to canary it without training again"
  );
}
