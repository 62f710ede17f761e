import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { SSMClient } from '@aws-sdk/client-ssm';
import * as z from 'zod';
import { readActiveModel } from '../../core/active-model';
import { canaryStart, canaryTimeProblem } from './canary-decision';
import { activeModelValue } from './promotion';
import type { CanaryStarted } from '../state';
import { readParameter, writeParameter } from '../../core/active-model-parameter';
import { CanaryRefused, clock, readCanaryAlarms } from './canary-aws';
import { envTypes, logger, parseInput, readEnvironment, tracer } from '../../core/runtime';
import { promoteInput } from './promote';

const ssm = tracer.captureAWSv3Client(new SSMClient({}));
/** `$$.Execution.StartTime`, which the state machine passes so the canary can be fitted before its timeout. */
const executionStart = z.object({ executionStartTime: z.iso.datetime({ offset: true }) });
const cloudwatch = tracer.captureAWSv3Client(new CloudWatchClient({}));

const environment = () =>
  readEnvironment({
    ACTIVE_MODEL_PARAMETER_NAME: envTypes.text,
    CANARY_SHARE: envTypes.number(0, 0.5),
    CANARY_MINUTES: envTypes.int(1, 100_000),
    CANARY_CHECK_MINUTES: envTypes.int(1, 1_000),
    /** The state machine's timeout: the canary must fit before it. */
    EXECUTION_TIMEOUT_MINUTES: envTypes.int(1, 1_000_000),
    CANARY_ALARM_NAMES: envTypes.text,
    API_STACK_NAME: envTypes.text,
  });

/**
 * Puts the gated candidate beside the incumbent at `canaryShare` (the parameter's version-2 `canary`), after checking
 * that the alarms that will judge it exist. With nothing promoted it writes nothing and says so: the state machine
 * promotes directly. A retry that finds this run's canary already written writes nothing either.
 */
export async function startCanary(event: unknown): Promise<CanaryStarted> {
  const env = environment();
  const input = parseInput(promoteInput, event, 'Start canary');
  const now = clock.now();
  const current = await readParameter(ssm, env.ACTIVE_MODEL_PARAMETER_NAME);
  // The candidate's headline figures, exactly as a direct promotion would record them.
  const candidateValue = activeModelValue({ ...input, promotedAt: now.toISOString() });
  const start = canaryStart(
    readActiveModel(current.value),
    { ...input, studentPromptVersion: candidateValue.studentPromptVersion },
    candidateValue.metrics,
    env.CANARY_SHARE,
    now,
  );
  if (start.kind === 'promote-directly') {
    logger.info('no incumbent: the candidate is promoted directly', { reason: start.reason });
    return { started: false, reason: start.reason };
  }
  if (start.kind === 'refuse') throw new CanaryRefused(`Start canary: ${start.reason}`);
  if (start.kind !== 'already-started') {
    const { executionStartTime } = parseInput(executionStart, event, 'Start canary');
    const tooLate = canaryTimeProblem({
      executionStart: new Date(executionStartTime),
      now,
      timeoutMinutes: env.EXECUTION_TIMEOUT_MINUTES,
      canaryMinutes: env.CANARY_MINUTES,
      checkMinutes: env.CANARY_CHECK_MINUTES,
    });
    if (tooLate) throw new CanaryRefused(`Start canary: ${tooLate}`);
  }

  // Before any traffic moves: a canary nobody watches must not start.
  await readCanaryAlarms(cloudwatch, env.CANARY_ALARM_NAMES.split(','), env.API_STACK_NAME);
  const version =
    start.kind === 'already-started'
      ? (current.version ?? 0)
      : await writeParameter(ssm, env.ACTIVE_MODEL_PARAMETER_NAME, start.value);
  logger.info('canary started', { version, share: start.share, incumbent: start.incumbent });
  return {
    started: true,
    parameterName: env.ACTIVE_MODEL_PARAMETER_NAME,
    version,
    share: start.share,
    startedAt: start.startedAt,
    incumbent: start.incumbent,
    resumed: start.kind === 'already-started',
  };
}

export const handler = startCanary;
