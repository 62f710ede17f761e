import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { SSMClient } from '@aws-sdk/client-ssm';
import * as z from 'zod';
import { readActiveModel } from '../../core/active-model';
import { canaryAbandon, canaryDecision, needsTraffic, type CanaryDecision } from './canary-decision';
import { readCanaryTraffic } from './canary-traffic';
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
  // The check's time, read once the alarms answered (a check that fails reading them has no time of its own).
  let checkedAt: Date | undefined;
  const nowOnce = () => (checkedAt ??= clock.now());
  const alarms = await readCanaryAlarms(cloudwatch, env.canaryAlarmNames, env.apiStackName, {
    since: startedAt,
    now: nowOnce,
  });
  const now = nowOnce();
  // The parameter is read after the alarms, so the decision rests on its latest value.
  const current = await readParameter(ssm, parameterName);
  const base = {
    alarms,
    parameter: readActiveModel(current.value),
    candidate,
    startedAt,
    now,
    minutes: env.canaryMinutes,
    requirements: {
      minQueries: env.canaryMinQueries,
      minShadowSamples: env.canaryShadowMinSamples,
      maxMinutes: Math.max(env.canaryMinutes, env.canaryMaxMinutes),
      inconclusive: env.canaryInconclusive,
    },
  };
  // Only a live, quiet canary past its window is judged on its traffic.
  const traffic = needsTraffic(base)
    ? await readCanaryTraffic(cloudwatch, env.canaryMetrics, startedAt, now)
    : undefined;
  const decision = canaryDecision({ ...base, traffic });
  return finish(
    parameterName,
    input,
    alarms,
    decision,
    current.version,
    traffic && { ...traffic, ...base.requirements },
  );
}

/** Writes what the decision says (never when an operator changed the parameter) and reports the check. */
async function finish(
  parameterName: string,
  input: z.output<typeof checkCanaryInput>,
  alarms: readonly AlarmReading[],
  decision: CanaryDecision,
  readVersion: number | undefined,
  traffic?: CanaryCheck['traffic'],
): Promise<CanaryCheck> {
  const version =
    decision.action === 'promote' || decision.action === 'rollback' || decision.action === 'inconclusive'
      ? await writeParameter(ssm, parameterName, decision.value)
      : (readVersion ?? 0);
  const result: CanaryCheck = {
    done: decision.action !== 'wait',
    ...(decision.action !== 'wait' ? { outcome: decision.outcome } : {}),
    promoted:
      decision.action === 'promote' ||
      ((decision.action === 'already-ended' || decision.action === 'inconclusive') && decision.promoted) ||
      (decision.action === 'ended-by-operator' && decision.outcome === 'promoted-by-operator'),
    parameterName,
    version,
    share: input.canary.share,
    startedAt: input.canary.startedAt,
    elapsedMinutes: Math.round(decision.elapsedMinutes * 10) / 10,
    incumbent: input.canary.incumbent,
    alarms,
    firing: decision.action === 'rollback' ? decision.firing.map((a) => a.name) : [],
    ...(traffic ? { traffic } : {}),
    summary: decision.summary,
  };
  logger.info('canary checked', { action: decision.action, summary: decision.summary, version });
  return result;
}

export const handler = /* @__PURE__ */ lambdaHandler(checkCanary);
