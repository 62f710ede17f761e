import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { SSMClient } from '@aws-sdk/client-ssm';
import * as z from 'zod';
import { readActiveModel } from '../../core/active-model';
import { canaryStart } from './canary-decision';
import { canaryTimeProblem } from './canary-limits';
import { activeModelValue } from './promotion';
import type { CanaryStarted } from './result';
import { readParameter, writeParameter } from '../../core/active-model-parameter';
import { CanaryRefused, clock, readCanaryAlarms } from './canary-aws';
import { lambdaHandler, logger, parseInput, tracer } from '../../core/runtime';
import { START_CANARY_ENVIRONMENT } from './environment';
import { promoteInput } from './promote';

const ssm = tracer.captureAWSv3Client(new SSMClient({}));
/** `$$.Execution.StartTime`, which the state machine passes so the canary can be fitted before its timeout. */
const executionStart = z.object({ executionStartTime: z.iso.datetime({ offset: true }) });
const cloudwatch = tracer.captureAWSv3Client(new CloudWatchClient({}));

/**
 * Puts the gated candidate beside the incumbent at `canaryShare` (the parameter's version-2 `canary`), after checking
 * that the alarms that will judge it exist. With nothing promoted it writes nothing and says so: the state machine
 * promotes directly. A retry that finds this run's canary already written writes nothing either.
 */
export async function startCanary(event: unknown): Promise<CanaryStarted> {
  const env = START_CANARY_ENVIRONMENT.read(process.env);
  const input = parseInput(promoteInput, event, 'Start canary');
  const now = clock.now();
  const current = await readParameter(ssm, env.activeModelParameterName);
  // The candidate's headline figures, exactly as a direct promotion would record them.
  const candidateValue = activeModelValue({ ...input, promotedAt: now.toISOString() });
  const start = canaryStart(
    readActiveModel(current.value),
    { ...input, studentPromptVersion: candidateValue.studentPromptVersion },
    candidateValue.metrics,
    env.canaryShare,
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
      timeoutMinutes: env.executionTimeoutMinutes,
      // The longest the canary may run: canaryMinutes, extended for lack of traffic up to canaryMaxMinutes.
      canaryMinutes: Math.max(env.canaryMinutes, env.canaryMaxMinutes),
      checkMinutes: env.canaryCheckMinutes,
    });
    if (tooLate) throw new CanaryRefused(`Start canary: ${tooLate}`);
  }

  // Before any traffic moves: a canary nobody watches must not start.
  await readCanaryAlarms(cloudwatch, env.canaryAlarmNames, env.apiStackName);
  const version =
    start.kind === 'already-started'
      ? (current.version ?? 0)
      : await writeParameter(ssm, env.activeModelParameterName, start.value);
  logger.info('canary started', { version, share: start.share, incumbent: start.incumbent });
  return {
    started: true,
    parameterName: env.activeModelParameterName,
    version,
    share: start.share,
    startedAt: start.startedAt,
    incumbent: start.incumbent,
    resumed: start.kind === 'already-started',
  };
}

export const handler = /* @__PURE__ */ lambdaHandler(startCanary);
