import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { CANARY_TRANSIENT_ERRORS } from '../../../lambda/pipeline/rollout/canary-decision';
import type { AppConfig } from '../../config';
import { apiStackName, CANARY_CHECKS, canaryAlarmName } from '../../naming';
import type { Function } from '../function';
import { allow } from './bedrock-roles';
import { invokeStep, type FailurePath } from './steps';

/** The slice of config the canary needs. */
export type CanaryConfig = Pick<
  AppConfig,
  'envName' | 'canaryShare' | 'canaryMinutes' | 'canaryCheckMinutes' | 'pipelineTimeoutHours'
>;

/** The state names of the canary (stable: tests and dashboards refer to them). */
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

/** How long a run may spend in its canary: the window plus one check interval (the check that ends it). */
export const canaryDuration = (config: CanaryConfig): Duration =>
  config.canaryShare > 0 ? Duration.minutes(config.canaryMinutes + config.canaryCheckMinutes) : Duration.minutes(0);

/** The state machine's timeout: the run's own hours, plus the canary's duration when there is one. */
export const executionTimeout = (config: CanaryConfig): Duration =>
  Duration.minutes(config.pipelineTimeoutHours * 60).plus(canaryDuration(config));

export interface CanaryStageProps {
  readonly config: CanaryConfig;
  readonly failure: FailurePath;
  /** The active-model SSM parameter the canary writes (lib/naming.ts activeModelParameterName). */
  readonly activeModelParameterName: string;
  /** Creates a pipeline function (the training stages' factory, so the state machine's invoke grants cover it). */
  readonly newFunction: (
    name: string,
    entry: string,
    description: string,
    environment: Record<string, string>,
  ) => Function;
  /** Where a run with nothing promoted yet goes: today's direct promotion (it writes `$.promotion`). */
  readonly promoteDirectly: sfn.IChainable;
}

/**
 * The run's last stage after the Gate passed, when `canaryShare` > 0:
 *
 *   Start canary ─► Canary started? ─► Wait for canary ─► Check canary ─► Canary done? ─► Canary ended
 *                        │ (nothing promoted)  ▲                              │ (no)
 *                        ▼                     └──────────────────────────────┘
 *                   promoteDirectly
 *
 * Reads `$.deployment` (deploymentArn, modelArn), `$.evaluation.student`, `$.evaluationStatus.judge` and the
 * execution name (the run id). Writes `$.canary` (CanaryStarted), `$.canaryCheck` (CanaryCheck, the last check) and,
 * at its end, `$.promotion` (PromotionResult with `canary`), as Promote does: Report reads only `$.promotion`.
 * lambda/pipeline/state.ts holds the types.
 *
 * Errors: a missing canary alarm (CanaryAlarmsMissing: Start canary refuses before any traffic moves), another run's
 * live canary, and exhausted retries of CloudWatch/SSM throttling go to the notify-and-fail path; a failed Check
 * canary first goes through Abandon canary, which rolls the candidate back (`$.canaryCheck`) so nothing answers
 * unwatched. The loop is bounded by the canary itself: every check at or after `canaryMinutes` ends it
 * (canaryDecision), so it takes at most canaryDuration(config), which the state machine's timeout adds to
 * pipelineTimeoutHours.
 */
export class CanaryStage extends sfn.StateMachineFragment {
  readonly startState: sfn.State;
  readonly endStates: sfn.INextable[];
  readonly startFunction: Function;
  readonly checkFunction: Function;

  constructor(scope: Construct, id: string, props: CanaryStageProps) {
    super(scope, id);
    const { config, failure } = props;
    const stack = Stack.of(this);
    const alarmNames = CANARY_CHECKS.map((check) => canaryAlarmName(config.envName, check));
    const environment = {
      ACTIVE_MODEL_PARAMETER_NAME: props.activeModelParameterName,
      CANARY_ALARM_NAMES: alarmNames.join(','),
      API_STACK_NAME: apiStackName(config.envName),
    };
    this.startFunction = props.newFunction(
      'StartCanary',
      'rollout/start-canary',
      'Puts the gated candidate beside the incumbent at canaryShare',
      {
        ...environment,
        CANARY_SHARE: String(config.canaryShare),
        CANARY_MINUTES: String(config.canaryMinutes),
        CANARY_CHECK_MINUTES: String(config.canaryCheckMinutes),
        EXECUTION_TIMEOUT_MINUTES: String(executionTimeout(config).toMinutes()),
      },
    );
    this.checkFunction = props.newFunction(
      'CheckCanary',
      'rollout/check-canary',
      'Reads the canary alarms; promotes, rolls back or waits',
      { ...environment, CANARY_MINUTES: String(config.canaryMinutes) },
    );
    const parameterArn = stack.formatArn({
      service: 'ssm',
      resource: 'parameter',
      resourceName: props.activeModelParameterName.replace(/^\//, ''),
    });
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
    for (const f of [this.startFunction, this.checkFunction]) {
      allow(f, f.function, { actions: ['ssm:GetParameter', 'ssm:PutParameter'], resources: [parameterArn] });
      allow(f, f.function, { actions: ['cloudwatch:DescribeAlarms'], resources: alarmArns });
    }
    // Check canary also reads the alarms' state history: one that fired and cleared between two checks still counts.
    allow(this.checkFunction, this.checkFunction.function, {
      actions: ['cloudwatch:DescribeAlarmHistory'],
      resources: alarmArns,
    });

    const step = (
      name: string,
      f: Function,
      resultKey: string,
      payload: Record<string, unknown>,
      /** False: the caller routes the errors itself. */
      caught = true,
    ) => {
      const task = invokeStep(this, name, {
        fn: f.function,
        resultKey,
        payload: sfn.TaskInput.fromObject(payload),
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
    const start = step(C.startCanary, this.startFunction, 'canary', {
      runId,
      executionStartTime: sfn.JsonPath.executionStartTime,
      deploymentArn: sfn.JsonPath.stringAt('$.deployment.deploymentArn'),
      modelArn: sfn.JsonPath.stringAt('$.deployment.modelArn'),
      student: sfn.JsonPath.objectAt('$.evaluation.student'),
      judge: sfn.JsonPath.objectAt('$.evaluationStatus.judge'),
      studentPromptVersion: sfn.JsonPath.stringAt('$.evaluation.studentPromptVersion'),
    });
    const wait = new sfn.Wait(this, C.waitCanary, {
      time: sfn.WaitTime.duration(Duration.minutes(config.canaryCheckMinutes)),
    });
    const checkPayload = {
      runId,
      deploymentArn: sfn.JsonPath.stringAt('$.deployment.deploymentArn'),
      canary: sfn.JsonPath.objectAt('$.canary'),
    };
    // A check that fails for good must not leave the candidate answering unwatched: Abandon canary takes it out of
    // live traffic (unless an operator already changed the parameter), then the run notifies and fails with the cause.
    const check = step(C.checkCanary, this.checkFunction, 'canaryCheck', checkPayload, false);
    const abandon = step(
      C.abandonCanary,
      this.checkFunction,
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
        .otherwise(props.promoteDirectly),
    );
    wait
      .next(check)
      .next(
        new sfn.Choice(this, C.doneChoice)
          .when(sfn.Condition.booleanEquals('$.canaryCheck.done', true), ended)
          .otherwise(wait),
      );
    this.startState = start;
    this.endStates = [ended];
  }
}
