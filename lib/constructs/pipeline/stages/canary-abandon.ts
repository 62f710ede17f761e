import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { ABANDONING_STATUSES } from '../../../../lambda/pipeline/rollout/canary-limits';
import { ABANDON_CANARY_ENVIRONMENT } from '../../../../lambda/pipeline/rollout/environment';
import { stateMachineName } from '../../../naming';
import type { Function } from '../../function';
import { allow, allowParameter } from '../bedrock-roles';
import type { StageFunctions } from '../steps';

export interface CanaryAbandonRuleProps {
  readonly envName: string;
  readonly parameterName: string;
  readonly topic: sns.ITopic;
  readonly functions: StageFunctions;
}

/**
 * A stopped, failed or timed-out execution mid-canary would leave its candidate on live traffic: its own steps no
 * longer run. An EventBridge rule on THIS state machine's ABORTED, TIMED_OUT and FAILED executions invokes Abandon
 * canary (lambda/pipeline/rollout/abandon-canary.ts), which drops that execution's canary from the active-model
 * parameter (only when the parameter still names it) and notifies the pipeline's topic.
 */
export class CanaryAbandonRule extends Construct {
  readonly function: Function;
  readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: CanaryAbandonRuleProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.function = props.functions.add(
      'AbandonCanary',
      'rollout/abandon-canary',
      "Drops a stopped, failed or timed-out execution's own canary",
      ABANDON_CANARY_ENVIRONMENT.values({
        activeModelParameterName: props.parameterName,
        topicArn: props.topic.topicArn,
      }),
    );
    allowParameter(this.function, props.parameterName, true);
    allow(this.function, this.function.function, { actions: ['sns:Publish'], resources: [props.topic.topicArn] });
    if (props.topic.masterKey) {
      allow(this.function, this.function.function, {
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: [props.topic.masterKey.keyArn],
      });
    }
    // The state machine is named after the environment (lib/naming.ts), so its ARN is known here without a reference
    // to it (which would make the stage depend on the machine that contains it).
    const stateMachineArn = stack.formatArn({
      service: 'states',
      resource: 'stateMachine',
      resourceName: stateMachineName(props.envName),
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    this.rule = new events.Rule(this, 'ExecutionEnded', {
      description: 'Abandons the canary of a stopped, failed or timed-out pipeline execution',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: { stateMachineArn: [stateMachineArn], status: [...ABANDONING_STATUSES] },
      },
      targets: [
        new targets.LambdaFunction(this.function.function, {
          retryAttempts: 8,
          maxEventAge: Duration.hours(2),
        }),
      ],
    });
  }
}
