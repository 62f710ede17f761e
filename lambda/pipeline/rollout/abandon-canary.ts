import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';
import * as z from 'zod';
import {
  readActiveModel,
  withEndedCanary,
  withoutCanary,
  type ActiveModel,
  type ActiveModelRead,
} from '../../core/active-model';
import { readParameter, writeParameterOver } from '../../core/active-model-parameter';
import { lambdaHandler, logger, parseInput, tracer } from '../../core/runtime';
import { ABANDONING_STATUSES } from './canary-limits';
import { ABANDON_CANARY_ENVIRONMENT } from './environment';

const ssm = tracer.captureAWSv3Client(new SSMClient({}));
const sns = tracer.captureAWSv3Client(new SNSClient({}));

/**
 * EventBridge's "Step Functions Execution Status Change" event, as the rule on this state machine delivers it
 * (https://docs.aws.amazon.com/step-functions/latest/dg/cw-events.html): `name` is the execution's name, the run id;
 * `startDate` and `stopDate` are epoch milliseconds.
 */
export const executionStatusChange = z.object({
  source: z.literal('aws.states'),
  'detail-type': z.literal('Step Functions Execution Status Change'),
  detail: z.object({
    executionArn: z.string().min(1),
    stateMachineArn: z.string().min(1),
    name: z.string().min(1),
    status: z.enum(ABANDONING_STATUSES),
    startDate: z.number(),
    stopDate: z.number().nullish(),
    error: z.string().nullish(),
    cause: z.string().nullish(),
  }),
});
export type ExecutionStatusChange = z.output<typeof executionStatusChange>;

export type AbandonDecision =
  | { readonly action: 'abandon'; readonly value: ActiveModel; readonly summary: string }
  | { readonly action: 'untouched'; readonly summary: string };

/**
 * What an execution that ended abnormally leaves to undo: its own canary, and only that. The parameter must still name
 * a canary of this run (`canary.runId` is the execution's name) that started during this execution (at or after its
 * start); anything else (no canary, another run's, a value an operator wrote) is left as it is.
 */
export function abandonDecision(
  parameter: ActiveModelRead,
  execution: ExecutionStatusChange['detail'],
): AbandonDecision {
  if (parameter.state !== 'promoted') {
    const holds = parameter.state === 'none' ? 'nothing promoted' : 'an invalid value';
    return { action: 'untouched', summary: `the parameter holds ${holds}: left as it is` };
  }
  const { canary } = parameter.model;
  if (!canary || canary.runId !== execution.name || Date.parse(canary.startedAt) < execution.startDate) {
    const holds = canary
      ? `a canary of run ${canary.runId} started ${canary.startedAt}`
      : `run ${parameter.model.runId} alone`;
    return {
      action: 'untouched',
      summary: `the parameter holds ${holds}, not a canary of this execution: left as it is`,
    };
  }
  const minutes = execution.stopDate ? Math.max(0, (execution.stopDate - Date.parse(canary.startedAt)) / 60_000) : 0;
  return {
    action: 'abandon',
    value: withEndedCanary(withoutCanary(parameter.model), {
      runId: canary.runId,
      deploymentArn: canary.deploymentArn,
      outcome: 'abandoned',
      endedAt: new Date(execution.stopDate ?? Date.now()).toISOString(),
    }),
    summary:
      `the execution ended ${execution.status} after ${minutes.toFixed(0)} min of canary at ` +
      `${Number((canary.share * 100).toFixed(1))} %: the candidate (${canary.deploymentArn}) is taken out of live ` +
      `traffic, run ${parameter.model.runId} answers alone`,
  };
}

export interface AbandonResult {
  readonly runId: string;
  readonly status: string;
  readonly action: 'abandoned' | 'untouched' | 'conflict';
  readonly version?: number;
  readonly summary: string;
}

/**
 * Abandons the canary of a stopped, failed or timed-out execution (the state machine's own steps cannot: they are no
 * longer running), writing the incumbent alone over the version it read, then notifies the pipeline's topic.
 * Idempotent: a second delivery finds no canary of the run and writes nothing.
 */
export async function abandonCanary(event: unknown): Promise<AbandonResult> {
  const env = ABANDON_CANARY_ENVIRONMENT.read(process.env);
  const { detail } = parseInput(executionStatusChange, event, 'Abandon canary');
  const current = await readParameter(ssm, env.activeModelParameterName);
  const decision = abandonDecision(readActiveModel(current.value), detail);
  const base = { runId: detail.name, status: detail.status };
  if (decision.action === 'untouched') {
    logger.info('no canary of this execution to abandon', { ...base, summary: decision.summary });
    return { ...base, action: 'untouched', summary: decision.summary };
  }
  const write = await writeParameterOver(ssm, env.activeModelParameterName, decision.value, current.version ?? 0);
  const result: AbandonResult = write.written
    ? { ...base, action: 'abandoned', version: write.version, summary: decision.summary }
    : { ...base, action: 'conflict', version: write.version, summary: `nothing abandoned: ${write.reason}` };
  await sns.send(
    new PublishCommand({
      TopicArn: env.topicArn,
      // SNS refuses subjects over 100 characters; the run id (up to 80) is in the message.
      Subject: `Intent router canary abandoned: execution ${detail.status}`,
      Message: JSON.stringify(
        {
          runId: detail.name,
          status: detail.status,
          canary: result.action,
          summary: result.summary,
          parameter: env.activeModelParameterName,
          version: result.version,
          error: detail.error ?? undefined,
          cause: detail.cause ?? undefined,
          execution: detail.executionArn,
        },
        null,
        2,
      ),
    }),
  );
  logger.info('canary abandoned', { ...result });
  return result;
}

export const handler = /* @__PURE__ */ lambdaHandler(abandonCanary);
