import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { SSMClient } from '@aws-sdk/client-ssm';
import * as z from 'zod';
import { readActiveModel } from '../../core/active-model';
import { canaryAbandon, canaryDecision, type CanaryDecision } from './canary-decision';
import type { CanaryCheck } from './result';
import type { AlarmReading } from './canary-decision';
import { readParameter, writeParameter } from '../../core/active-model-parameter';
import { clock, readCanaryAlarms } from './canary-aws';
import { lambdaHandler, logger, parseInput, tracer } from '../../core/runtime';
import { CHECK_CANARY_ENVIRONMENT } from './environment';

const ssm = tracer.captureAWSv3Client(new SSMClient({}));
const cloudwatch = tracer.captureAWSv3Client(new CloudWatchClient({}));

export const checkCanaryInput = z.object({
  runId: z.string().min(1),
  deploymentArn: z.string().min(1),
  /** `$.canary` as Start canary returned it. */
  canary: z.object({
    started: z.literal(true),
    share: z.number(),
    startedAt: z.iso.datetime(),
    incumbent: z.object({ runId: z.string(), deploymentArn: z.string() }),
  }),
  /** Set by the state machine when the check failed after its retries (`$.caught`): take the candidate out. */
  abandon: z.object({ Error: z.string(), Cause: z.string() }).optional(),
});

/**
 * Reads the canary's alarms and the parameter, and acts on canaryDecision: rolls back (the incumbent alone) on any
 * alarm, promotes the candidate after a quiet `canaryMinutes`, or leaves it running (`done: false`). A parameter that
 * no longer holds the candidate as the canary was changed by an operator: it is reported and never overwritten. With
 * `abandon` (the check failed for good) it only takes the candidate out of live traffic (canaryAbandon).
 */
export async function checkCanary(event: unknown): Promise<CanaryCheck> {
  const env = CHECK_CANARY_ENVIRONMENT.read(process.env);
  const input = parseInput(checkCanaryInput, event, 'Check canary');
  const candidate = { runId: input.runId, deploymentArn: input.deploymentArn };
  const startedAt = new Date(input.canary.startedAt);
  const parameterName = env.activeModelParameterName;
  if (input.abandon) {
    // The alarms may be what failed: the decision rests on the parameter alone.
    const current = await readParameter(ssm, parameterName);
    const why = `${input.abandon.Error}: ${input.abandon.Cause}`;
    const decision = canaryAbandon(readActiveModel(current.value), candidate, startedAt, clock.now(), why);
    return finish(parameterName, input, [], decision, current.version);
  }
  const alarms = await readCanaryAlarms(cloudwatch, env.canaryAlarmNames, env.apiStackName, startedAt);
  // The parameter is read after the alarms, so the decision rests on its latest value.
  const current = await readParameter(ssm, parameterName);
  const decision = canaryDecision({
    alarms,
    parameter: readActiveModel(current.value),
    candidate,
    startedAt,
    now: clock.now(),
    minutes: env.canaryMinutes,
  });
  return finish(parameterName, input, alarms, decision, current.version);
}

/** Writes what the decision says (never when an operator changed the parameter) and reports the check. */
async function finish(
  parameterName: string,
  input: z.output<typeof checkCanaryInput>,
  alarms: readonly AlarmReading[],
  decision: CanaryDecision,
  readVersion: number | undefined,
): Promise<CanaryCheck> {
  const version =
    decision.action === 'promote' || decision.action === 'rollback'
      ? await writeParameter(ssm, parameterName, decision.value)
      : (readVersion ?? 0);
  const result: CanaryCheck = {
    done: decision.action !== 'wait',
    ...(decision.action !== 'wait' ? { outcome: decision.outcome } : {}),
    promoted:
      decision.action === 'promote' ||
      (decision.action === 'ended-by-operator' && decision.outcome === 'promoted-by-operator'),
    parameterName,
    version,
    share: input.canary.share,
    startedAt: input.canary.startedAt,
    elapsedMinutes: Math.round(decision.elapsedMinutes * 10) / 10,
    incumbent: input.canary.incumbent,
    alarms,
    firing: decision.action === 'rollback' ? decision.firing.map((a) => a.name) : [],
    summary: decision.summary,
  };
  logger.info('canary checked', { action: decision.action, summary: decision.summary, version });
  return result;
}

export const handler = /* @__PURE__ */ lambdaHandler(checkCanary);
