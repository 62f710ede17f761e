import { Duration, Stack, Validations, type CfnElement } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct, type IConstruct } from 'constructs';
import type { AppConfig } from '../../config';
import type { DatasetBucket } from '../dataset-bucket';
import { Function } from '../function';
import { RETRYABLE_ERRORS } from '../../../lambda/core/bedrock';

/**
 * The state machine's building blocks, shared by every pipeline stage so that all steps behave the same:
 * results in a namespace of their own (`$.<step>`), retries that name specific errors with backoff, and every
 * failure caught into one notify-and-fail path that carries the step and the cause.
 */

/** Lambda service faults worth retrying (never the function's own errors, which are named below). */
export const LAMBDA_SERVICE_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
  'Lambda.ClientExecutionTimeoutException',
];

/** Bedrock's transient errors, rethrown by handlers under their SDK names (see lambda/core/bedrock.ts). */
export const BEDROCK_TRANSIENT_ERRORS = [...RETRYABLE_ERRORS];

/**
 * Where a stage's failures go: the run's notify-and-fail path (FailurePath), or, inside the Candidates map, the path
 * that drops one candidate and lets the others go on (CandidateFailurePath).
 */
export interface FailureRoute {
  /** A state that records `step` as failed with the given error and cause, then leaves by this route. */
  failWith(id: string, step: string, error: string, causePath: string): sfn.IChainable;
  /** Routes every error of `task` to this route, recording `step` and the error's cause. */
  catchInto<T extends sfn.TaskStateBase | sfn.Map | sfn.DistributedMap | sfn.Parallel>(task: T, step: string): T;
}

/**
 * A failure route that records the failed step at `$.failure` (`{step, error, cause}`), then leaves by `exit`: the
 * run's notification, or a candidate's drop. A recording state is named after its step (`<step> failed`).
 */
abstract class RecordedFailureRoute extends Construct implements FailureRoute {
  protected abstract get exit(): sfn.IChainable;

  failWith(id: string, step: string, error: string, causePath: string): sfn.IChainable {
    return new sfn.Pass(this, id, {
      parameters: { step, error, 'cause.$': causePath },
      resultPath: '$.failure',
    }).next(this.exit);
  }

  catchInto<T extends sfn.TaskStateBase | sfn.Map | sfn.DistributedMap | sfn.Parallel>(task: T, step: string): T {
    const record = new sfn.Pass(this, `${step} failed`, {
      parameters: { step, 'error.$': '$.caught.Error', 'cause.$': '$.caught.Cause' },
      resultPath: '$.failure',
    });
    record.next(this.exit);
    task.addCatch(record, { errors: [sfn.Errors.ALL], resultPath: '$.caught' });
    return task;
  }
}

export interface FailurePathProps {
  readonly topic: sns.ITopic;
}

/**
 * One notify-and-fail path for the whole state machine. `catchInto(task, step)` routes any error of `task` to a Pass
 * that records `{step, error, cause}` at `$.failure`, then an SNS notification with the cause, then a Fail state whose
 * error and cause are the step's.
 */
export class FailurePath extends RecordedFailureRoute {
  readonly notify: tasks.SnsPublish;
  readonly fail: sfn.Fail;

  constructor(scope: Construct, id: string, props: FailurePathProps) {
    super(scope, id);
    this.fail = new sfn.Fail(this, 'Run failed', {
      errorPath: '$.failure.error',
      causePath: '$.failure.cause',
    });
    this.notify = new tasks.SnsPublish(this, 'Notify failure', {
      topic: props.topic,
      // SNS refuses subjects over 100 characters and an execution name may have 80: the run id goes in the message.
      subject: sfn.JsonPath.format('Intent router run failed at {}', sfn.JsonPath.stringAt('$.failure.step')),
      message: sfn.TaskInput.fromObject({
        runId: sfn.JsonPath.executionName,
        status: 'FAILED',
        step: sfn.JsonPath.stringAt('$.failure.step'),
        error: sfn.JsonPath.stringAt('$.failure.error'),
        cause: sfn.JsonPath.stringAt('$.failure.cause'),
        execution: sfn.JsonPath.executionId,
      }),
      resultPath: sfn.JsonPath.DISCARD,
    });
    // A notification that cannot be sent must not hide the run's own failure.
    this.notify.addCatch(this.fail, { errors: [sfn.Errors.ALL], resultPath: sfn.JsonPath.DISCARD });
    this.notify.next(this.fail);
  }

  protected get exit(): sfn.IChainable {
    return this.notify;
  }
}

/**
 * The failure route of one candidate inside the Candidates map: a failed step is recorded at `$.failure` like on the
 * run's path, then the iteration ends with the candidate's outcome `{candidate, failure, deployment?}` instead of
 * failing the run — the other candidates go on, and Select candidate fails the run only when none is left. States
 * are named after the step (`<step> failed`), unique in the state machine because each step lives in one place.
 */
export class CandidateFailurePath extends RecordedFailureRoute {
  /** Where a recorded failure goes: the dropped outcome (with the deployment, when the candidate got that far). */
  readonly dropped: sfn.IChainable;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const outcome = (name: string, withDeployment: boolean) =>
      new sfn.Pass(this, name, {
        parameters: {
          'candidate.$': '$.candidate',
          'failure.$': '$.failure',
          ...(withDeployment ? { 'deployment.$': '$.deployment' } : {}),
        },
      });
    this.dropped = new sfn.Choice(this, 'Candidate deployed?')
      .when(sfn.Condition.isPresent('$.deployment.deploymentArn'), outcome('Drop the deployed candidate', true))
      .otherwise(outcome('Drop the candidate', false));
  }

  protected get exit(): sfn.IChainable {
    return this.dropped;
  }
}

export interface StageFunctionsProps {
  /** Powertools service name of the functions. */
  readonly serviceName: string;
  readonly logRetentionDays: number;
  /** Keep the functions' log groups when the stack is deleted (the app's `retainData`). */
  readonly retainLogs: boolean;
}

/**
 * Where pipeline functions live: a `Functions` scope whose functions share a service name and log retention. A
 * function's construct path names its log group, which is kept (retainData) and may not be replaced
 * (test/stateful/logical-ids.test.ts): a stage creates its functions in the home it is given, so the paths stay those
 * of before the stages were split (Pipeline/Functions/… for preflight and generation, Training/Functions/… after).
 */
export class StageFunctions extends Construct {
  constructor(
    scope: Construct,
    id: string,
    private readonly props: StageFunctionsProps,
  ) {
    super(scope, id);
  }

  /** `lambda/pipeline/<entry>.ts` as a house Function. */
  add(
    name: string,
    entry: string,
    description: string,
    environment: Record<string, string>,
    size: { readonly memorySize?: number; readonly timeout?: Duration } = {},
  ): Function {
    return new Function(this, name, {
      entry: `pipeline/${entry}.ts`,
      description,
      serviceName: this.props.serviceName,
      logRetentionDays: this.props.logRetentionDays,
      retainLogs: this.props.retainLogs,
      environment,
      ...size,
    });
  }
}

/** What every stage is given: its slice of the config, the dataset, the failure path, and where its functions live. */
export interface StageProps<K extends keyof AppConfig> {
  readonly config: Pick<AppConfig, K>;
  readonly dataset: DatasetBucket;
  /** Where every step's errors go: the run's notify-and-fail path, or a candidate's drop path inside the map. */
  readonly failure: FailureRoute;
  readonly functions: StageFunctions;
}

/**
 * A pipeline stage: a state-machine fragment that owns its functions, their grants, its states and their retries. The
 * state machine that runs it calls `acknowledgeGrants` once it exists, for what it is granted on the stage's behalf.
 */
export abstract class PipelineStage extends sfn.StateMachineFragment {
  /** The stage's functions, by step. */
  abstract readonly functions: Readonly<Record<string, Function>>;

  /** The `<function ARN>:*` resources LambdaInvoke grants the state machine for this stage's functions. */
  acknowledgeGrants(stateMachine: sfn.StateMachine): void {
    acknowledgeInvokeGrants(stateMachine, Object.values(this.functions));
  }
}

export interface InvokeStepProps {
  readonly fn: lambda.IFunction;
  /** The step's name in the definition and the namespace of its result (`$.<resultKey>`). */
  readonly resultKey: string;
  /** What the handler receives; default: the whole state. */
  readonly payload?: sfn.TaskInput;
  /**
   * Where errors go. Omit it only inside a Map's item processor, whose states cannot reach the failure path: there an
   * error fails the iteration, and the Map (which is caught) counts it against its tolerated failures.
   */
  readonly failure: FailureRoute | undefined;
  /** How long one invocation may take before States.Timeout (default: the function's own timeout applies). */
  readonly timeout?: Duration;
  /** Retry Bedrock throttling and transient faults surfaced by the handler (default true). */
  readonly retryBedrock?: boolean;
}

/**
 * A Lambda step: invokes the function with `payload`, puts what it returns at `$.<resultKey>`, retries Lambda service
 * faults and (by default) Bedrock's transient errors with jittered backoff, and catches everything else into the
 * failure path.
 */
export function invokeStep(scope: Construct, id: string, props: InvokeStepProps): tasks.LambdaInvoke {
  const task = new tasks.LambdaInvoke(scope, id, {
    lambdaFunction: props.fn,
    payload: props.payload,
    // The function's return value is the task's result: `$.<resultKey>` holds exactly what the handler returned.
    payloadResponseOnly: true,
    retryOnServiceExceptions: false,
    resultPath: `$.${props.resultKey}`,
    taskTimeout: props.timeout ? sfn.Timeout.duration(props.timeout) : undefined,
  });
  task.addRetry({
    errors: LAMBDA_SERVICE_ERRORS,
    interval: Duration.seconds(2),
    backoffRate: 2,
    maxAttempts: 6,
    jitterStrategy: sfn.JitterType.FULL,
  });
  if (props.retryBedrock ?? true) {
    task.addRetry({
      errors: BEDROCK_TRANSIENT_ERRORS,
      interval: Duration.seconds(10),
      backoffRate: 2,
      maxAttempts: 5,
      maxDelay: Duration.minutes(5),
      jitterStrategy: sfn.JitterType.FULL,
    });
  }
  return props.failure ? props.failure.catchInto(task, id) : task;
}

/**
 * LambdaInvoke grants the state machine the function and its versions (`<arn>:*`): acknowledged per function, so a
 * wildcard on anything else still fails cdk-nag.
 */
export function acknowledgeInvokeGrants(stateMachine: IConstruct, functions: readonly Function[]): void {
  const stack = Stack.of(stateMachine);
  for (const f of functions) {
    const logicalId = stack.getLogicalId(f.function.node.defaultChild as CfnElement);
    Validations.of(stateMachine).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>:*]`,
      reason: 'LambdaInvoke grants the function and its versions (<arn>:*); only this pipeline function is named.',
    });
  }
}
