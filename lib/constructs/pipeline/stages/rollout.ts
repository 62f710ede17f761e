import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { CANARY_TRANSIENT_ERRORS } from '../../../../lambda/pipeline/rollout/canary-limits';
import {
  CHECK_CANARY_ENVIRONMENT,
  PROMOTE_ENVIRONMENT,
  START_CANARY_ENVIRONMENT,
} from '../../../../lambda/pipeline/rollout/environment';
import type { AppConfig } from '../../../config';
import { activeModelParameterName, apiStackName, CANARY_CHECKS, canaryAlarmName } from '../../../naming';
import { SHADOW_METRIC } from '../../../../lambda/core/shadow';
import { METRIC, VARIANT_DIMENSION } from '../../../../lambda/router/router';
import { ROUTER_SERVICE_NAME } from '../../router-api';
import { METRICS_NAMESPACE } from '../../router-metrics';
import { SHADOW_SERVICE_NAME } from '../../shadow-loop';
import type { Function } from '../../function';
import { allow, allowParameter } from '../bedrock-roles';
import { invokeStep, PipelineStage, type FailurePath, type StageProps } from '../steps';
import { CanaryAbandonRule } from './canary-abandon';

/** State names (stable: tests, local-run overrides and dashboards refer to them). */
export const ROLLOUT_STATES = { promote: 'Promote' } as const;

/** The canary's state names (stable: tests and dashboards refer to them). */
export const CANARY_STATES = {
  startCanary: 'Start canary',
  startedChoice: 'Canary started?',
  waitCanary: 'Wait for canary',
  checkCanary: 'Check canary',
  abandonCanary: 'Abandon canary',
  doneChoice: 'Canary done?',
  canaryEnded: 'Canary ended',
  canaryAbandoned: 'Check canary failed',
  abandonFailed: 'Check canary and its rollback failed',
} as const;
const C = CANARY_STATES;

/** The slice of config the canary's timing needs. */
export type CanaryConfig = Pick<
  AppConfig,
  'canaryShare' | 'canaryMinutes' | 'canaryMaxMinutes' | 'canaryCheckMinutes' | 'pipelineTimeoutHours'
>;

/** The canary's longest window: canaryMinutes, extended for lack of traffic up to canaryMaxMinutes. */
export const canaryLongestMinutes = (config: Pick<AppConfig, 'canaryMinutes' | 'canaryMaxMinutes'>) =>
  Math.max(config.canaryMinutes, config.canaryMaxMinutes);

/** How long a run may spend in its canary: the longest window plus one check interval (the check that ends it). */
export const canaryDuration = (config: CanaryConfig): Duration =>
  config.canaryShare > 0
    ? Duration.minutes(canaryLongestMinutes(config) + config.canaryCheckMinutes)
    : Duration.minutes(0);

/** The state machine's timeout: the run's own hours, plus the canary's duration when there is one. */
export const executionTimeout = (config: CanaryConfig): Duration =>
  Duration.minutes(config.pipelineTimeoutHours * 60).plus(canaryDuration(config));

export type RolloutStageProps = StageProps<
  | 'envName'
  | 'canaryShare'
  | 'canaryMinutes'
  | 'canaryMaxMinutes'
  | 'canaryMinQueries'
  | 'canaryShadowMinSamples'
  | 'canaryInconclusive'
  | 'canaryCheckMinutes'
  | 'pipelineTimeoutHours'
> & {
  /** The pipeline's notifications topic: Abandon canary reports there. */
  readonly topic: sns.ITopic;
  /** The run's notify-and-fail path (a failed abandon notifies through it). */
  readonly failure: FailurePath;
};

/**
 * The gated candidate goes live: promoted directly, or (`canaryShare` > 0) through a canary on live traffic.
 *
 *   Promote (end)                                                              (canaryShare = 0)
 *
 *   Start canary ─► Canary started? ─► Wait for canary ─► Check canary ─► Canary done? ─► Canary ended (end)
 *                        │ (nothing promoted yet)  ▲                            │ (no)
 *                        ▼                         └────────────────────────────┘
 *                     Promote (end)
 *
 * Reads the selected candidate at `$.selection.chosen`: its `deployment` (deploymentArn, modelArn),
 * `evaluation.student`, `evaluation.studentPromptVersion` and `evaluationStatus.judge`; and the execution name (the run id); writes the active-model parameter. Writes
 * `$.promotion` (PromotionResult; with `canary` when the canary decided), and with a canary `$.canary`
 * (CanaryStarted) and `$.canaryCheck` (CanaryCheck, the last check); lambda/pipeline/rollout/ holds the types.
 *
 * Errors: a missing canary alarm (CanaryAlarmsMissing: Start canary refuses before any traffic moves), another run's
 * live canary, and exhausted retries of CloudWatch/SSM throttling go to the notify-and-fail path; a failed Check canary
 * first goes through Abandon canary, which rolls the candidate back (`$.canaryCheck`) so nothing answers unwatched.
 * The canary loop is bounded by the canary itself: every check at or after `canaryMinutes` ends it (canaryDecision),
 * so it takes at most canaryDuration(config), which the state machine's timeout adds to pipelineTimeoutHours.
 */
export class RolloutStage extends PipelineStage {
  readonly startState: sfn.State;
  readonly endStates: sfn.INextable[];
  readonly functions: Readonly<Record<string, Function>>;
  /** With a canary: the function the execution-ended rule invokes (lib/constructs/pipeline/stages/canary-abandon.ts). */
  readonly abandonCanary?: Function;

  constructor(scope: Construct, id: string, props: RolloutStageProps) {
    super(scope, id);
    const parameterName = activeModelParameterName(props.config.envName);
    const promote = props.functions.add(
      'Promote',
      'rollout/promote',
      'Writes the active-model parameter',
      PROMOTE_ENVIRONMENT.values({ activeModelParameterName: parameterName }),
    );
    allowParameter(promote, parameterName, true);
    const promoteStep = invokeStep(this, ROLLOUT_STATES.promote, {
      fn: promote.function,
      resultKey: 'promotion',
      payload: sfn.TaskInput.fromObject({
        runId: sfn.JsonPath.executionName,
        deploymentArn: sfn.JsonPath.stringAt('$.selection.chosen.deployment.deploymentArn'),
        modelArn: sfn.JsonPath.stringAt('$.selection.chosen.deployment.modelArn'),
        student: sfn.JsonPath.objectAt('$.selection.chosen.evaluation.student'),
        judge: sfn.JsonPath.objectAt('$.selection.chosen.evaluationStatus.judge'),
        studentPromptVersion: sfn.JsonPath.stringAt('$.selection.chosen.evaluation.studentPromptVersion'),
      }),
      failure: props.failure,
    });
    if (props.config.canaryShare > 0) {
      const canary = this.canary(props, parameterName, promoteStep);
      this.startState = canary.start;
      this.endStates = [promoteStep, canary.ended];
      // Not invoked by the state machine (no invoke grant to acknowledge): the abandon rule's function.
      this.abandonCanary = canary.abandonCanary;
      this.functions = { promote, ...canary.functions };
    } else {
      this.startState = promoteStep;
      this.endStates = [promoteStep];
      this.functions = { promote };
    }
  }

  /** The canary's functions, grants and states; a run with nothing promoted yet goes on to `promoteDirectly`. */
  private canary(props: RolloutStageProps, parameterName: string, promoteDirectly: sfn.IChainable) {
    const { config, failure } = props;
    const stack = Stack.of(this);
    const alarmNames = CANARY_CHECKS.map((check) => canaryAlarmName(config.envName, check));
    const canary = {
      activeModelParameterName: parameterName,
      canaryAlarmNames: alarmNames,
      apiStackName: apiStackName(config.envName),
    };
    const startFunction = props.functions.add(
      'StartCanary',
      'rollout/start-canary',
      'Puts the gated candidate beside the incumbent at canaryShare',
      START_CANARY_ENVIRONMENT.values({
        ...canary,
        canaryShare: config.canaryShare,
        canaryMinutes: config.canaryMinutes,
        // The longest window must fit before the execution's timeout.
        canaryMaxMinutes: canaryLongestMinutes(config),
        canaryCheckMinutes: config.canaryCheckMinutes,
        executionTimeoutMinutes: executionTimeout(config).toMinutes(),
      }),
    );
    const checkFunction = props.functions.add(
      'CheckCanary',
      'rollout/check-canary',
      'Reads the canary alarms; promotes, rolls back or waits',
      CHECK_CANARY_ENVIRONMENT.values({
        ...canary,
        canaryMinutes: config.canaryMinutes,
        canaryMaxMinutes: canaryLongestMinutes(config),
        canaryMinQueries: config.canaryMinQueries,
        canaryShadowMinSamples: config.canaryShadowMinSamples,
        canaryInconclusive: config.canaryInconclusive,
        canaryMetrics: {
          namespace: METRICS_NAMESPACE,
          queries: {
            metricName: METRIC.queries,
            dimensions: { service: ROUTER_SERVICE_NAME, [VARIANT_DIMENSION]: 'candidate' },
          },
          shadowSamples: {
            metricName: SHADOW_METRIC.agreement,
            dimensions: { service: SHADOW_SERVICE_NAME, [VARIANT_DIMENSION]: 'candidate' },
          },
        },
      }),
    );
    // Alarm ARNs are known at synth (lib/naming.ts), and DescribeAlarms takes resource-level permissions on metric
    // alarms: no wildcard.
    const alarmArns = alarmNames.map((name) =>
      stack.formatArn({
        service: 'cloudwatch',
        resource: 'alarm',
        resourceName: name,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      }),
    );
    for (const f of [startFunction, checkFunction]) {
      allowParameter(f, parameterName, true);
      allow(f, f.function, { actions: ['cloudwatch:DescribeAlarms'], resources: alarmArns });
    }
    // Check canary also reads the alarms' state history: one that fired and cleared between two checks still counts.
    allow(checkFunction, checkFunction.function, {
      actions: ['cloudwatch:DescribeAlarmHistory'],
      resources: alarmArns,
    });
    // Silence is not health: Check canary counts the candidate's queries and shadow samples before promoting.
    allow(checkFunction, checkFunction.function, {
      actions: ['cloudwatch:GetMetricData'],
      resources: ['*'],
      wildcardReason:
        'cloudwatch:GetMetricData supports no resource-level permissions (Service Authorization Reference, Amazon ' +
        "CloudWatch: resource types column empty): Check canary reads only the candidate's Queries and " +
        'ShadowDominantAgreement sample count, and the action reads metrics, never alarms or dashboards.',
    });

    const step = (name: string, f: Function, resultKey: string, payload: Record<string, unknown>, caught = true) => {
      const task = invokeStep(this, name, {
        fn: f.function,
        resultKey,
        payload: sfn.TaskInput.fromObject(payload),
        // False: the caller routes the errors itself.
        failure: caught ? failure : undefined,
        retryBedrock: false,
      });
      task.addRetry({
        errors: [...CANARY_TRANSIENT_ERRORS],
        interval: Duration.seconds(5),
        backoffRate: 2,
        maxAttempts: 6,
        maxDelay: Duration.minutes(2),
        jitterStrategy: sfn.JitterType.FULL,
      });
      return task;
    };
    const runId = sfn.JsonPath.executionName;
    const start = step(C.startCanary, startFunction, 'canary', {
      runId,
      executionStartTime: sfn.JsonPath.executionStartTime,
      deploymentArn: sfn.JsonPath.stringAt('$.selection.chosen.deployment.deploymentArn'),
      modelArn: sfn.JsonPath.stringAt('$.selection.chosen.deployment.modelArn'),
      student: sfn.JsonPath.objectAt('$.selection.chosen.evaluation.student'),
      judge: sfn.JsonPath.objectAt('$.selection.chosen.evaluationStatus.judge'),
      studentPromptVersion: sfn.JsonPath.stringAt('$.selection.chosen.evaluation.studentPromptVersion'),
    });
    const wait = new sfn.Wait(this, C.waitCanary, {
      time: sfn.WaitTime.duration(Duration.minutes(config.canaryCheckMinutes)),
    });
    const checkPayload = {
      runId,
      deploymentArn: sfn.JsonPath.stringAt('$.selection.chosen.deployment.deploymentArn'),
      canary: sfn.JsonPath.objectAt('$.canary'),
    };
    // A check that fails for good must not leave the candidate answering unwatched: Abandon canary takes it out of
    // live traffic (unless an operator already changed the parameter), then the run notifies and fails with the cause.
    const check = step(C.checkCanary, checkFunction, 'canaryCheck', checkPayload, false);
    const abandon = step(
      C.abandonCanary,
      checkFunction,
      'canaryCheck',
      { ...checkPayload, abandon: sfn.JsonPath.objectAt('$.caught') },
      false,
    );
    const recordFailure = (id: string, cause: string) =>
      new sfn.Pass(this, id, {
        parameters: { step: C.checkCanary, 'error.$': '$.caught.Error', 'cause.$': cause },
        resultPath: '$.failure',
      }).next(failure.notify);
    check.addCatch(abandon, { errors: [sfn.Errors.ALL], resultPath: '$.caught' });
    abandon.addCatch(recordFailure(C.abandonFailed, '$.caught.Cause'), {
      errors: [sfn.Errors.ALL],
      resultPath: '$.abandonFailure',
    });
    abandon.next(
      recordFailure(C.canaryAbandoned, "States.Format('{} (then: {})', $.caught.Cause, $.canaryCheck.summary)"),
    );
    // `$.promotion` as Promote writes it, with the canary's figures: Report needs no second shape.
    const ended = new sfn.Pass(this, C.canaryEnded, {
      parameters: {
        'promoted.$': '$.canaryCheck.promoted',
        'parameterName.$': '$.canaryCheck.parameterName',
        'version.$': '$.canaryCheck.version',
        'reason.$': '$.canaryCheck.summary',
        'canary.$': '$.canaryCheck',
      },
      resultPath: '$.promotion',
    });
    start.next(
      new sfn.Choice(this, C.startedChoice)
        .when(sfn.Condition.booleanEquals('$.canary.started', true), wait)
        .otherwise(promoteDirectly),
    );
    wait
      .next(check)
      .next(
        new sfn.Choice(this, C.doneChoice)
          .when(sfn.Condition.booleanEquals('$.canaryCheck.done', true), ended)
          .otherwise(wait),
      );
    // An execution stopped, failed or timed out mid-canary: its own steps no longer run, a rule drops its canary.
    const abandonRule = new CanaryAbandonRule(this, 'AbandonCanary', {
      envName: config.envName,
      parameterName,
      topic: props.topic,
      functions: props.functions,
    });
    return {
      start,
      ended,
      functions: { startCanary: startFunction, checkCanary: checkFunction },
      abandonCanary: abandonRule.function,
    };
  }
}
