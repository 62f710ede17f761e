import { App, Stack, Validations } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { parseConfig, type AppConfig } from '../../lib/config';
import { DatasetBucket } from '../../lib/constructs/dataset-bucket';
import { Notifications } from '../../lib/constructs/notifications';
import { laterStages } from '../../lib/constructs/pipeline/state-machine';
import { reuseDatasetStep } from '../../lib/constructs/pipeline/stages/generation';
import { acknowledgeInvokeGrants, FailurePath } from '../../lib/constructs/pipeline/steps';
import { Construct } from 'constructs';

/**
 * A small stack that mounts the stages after the dataset (training … report) the way the pipeline does, under
 * `Training`: a dataset bucket, the notifications topic, a failure path, and a minimal chain (a Pass standing in for
 * Assemble, and the generation stage's Reuse dataset step) into a state machine.
 */
export function buildTrainingStack(context: Record<string, unknown> = {}) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const config: AppConfig = parseConfig(context);
  const stack = new Stack(app, 'TrainingTest', { env: { account: '123456789012', region: 'us-east-1' } });
  const dataset = new DatasetBucket(stack, 'Dataset', { retainData: true });
  const notifications = new Notifications(stack, 'Notifications', {});
  const failure = new FailurePath(stack, 'Failure', { topic: notifications.topic });
  const scope = new Construct(stack, 'Training');
  const later = laterStages(scope, { config, dataset, failure, topic: notifications.topic });
  const reuse = reuseDatasetStep(scope, { dataset, failure, functions: later.functions });
  reuse.step.next(later.candidates);
  const assemble = new sfn.Pass(stack, 'Assemble', { resultPath: sfn.JsonPath.DISCARD });
  const start = new sfn.Choice(stack, 'Reuse a dataset?')
    .when(sfn.Condition.isPresent('$.reuseDatasetFromRun'), reuse.step)
    .otherwise(assemble.next(later.candidates));
  const stateMachine = new sfn.StateMachine(stack, 'StateMachine', {
    definitionBody: sfn.DefinitionBody.fromChainable(start),
    tracingEnabled: true,
    logs: { destination: new logs.LogGroup(stack, 'Logs'), level: sfn.LogLevel.ALL },
  });
  for (const stage of Object.values(later.stages)) stage.acknowledgeGrants(stateMachine);
  acknowledgeInvokeGrants(stateMachine, [reuse.function]);
  // The failure path's SNS task (not part of the fragment) is granted the topic key by the CDK with a wildcard action.
  Validations.of(stateMachine).acknowledge({
    id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
    reason: 'Test stack: SnsPublish grants GenerateDataKey* on the topic key.',
  });
  Validations.of(stateMachine).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason: 'Test stack: X-Ray tracing of the state machine has no resource-level permissions.',
  });
  return { app, stack, config, dataset, notifications, failure, later, reuse, stateMachine };
}

export interface Definition {
  readonly StartAt: string;
  readonly States: Record<string, Record<string, unknown>>;
}

/** The state machine's definition with the template's intrinsics (function ARNs, topic) resolved to placeholders. */
export function renderedDefinition(template: Template): Definition {
  const resources = template.toJSON().Resources as Record<
    string,
    { Type: string; Properties: Record<string, unknown> }
  >;
  const sm = Object.values(resources).find((r) => r.Type === 'AWS::StepFunctions::StateMachine');
  const join = sm?.Properties['DefinitionString'] as { 'Fn::Join': [string, unknown[]] };
  const text = join['Fn::Join'][1]
    .map((part) => {
      if (typeof part === 'string') return part;
      const getAtt = (part as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt'];
      if (getAtt) return `arn:aws:lambda:us-east-1:123456789012:function:${getAtt[0]}`;
      const ref = (part as { Ref?: string }).Ref;
      return `arn:aws:sns:us-east-1:123456789012:${ref ?? 'unknown'}`;
    })
    .join('');
  return JSON.parse(text) as Definition;
}
