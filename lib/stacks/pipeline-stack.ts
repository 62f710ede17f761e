import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import type { AppConfig } from '../config';
import { DatasetBucket } from '../constructs/dataset-bucket';
import { Notifications } from '../constructs/notifications';
import { DistillationPipeline } from '../constructs/pipeline/state-machine';
import { ShadowLoop } from '../constructs/shadow-loop';
import { OUTPUTS } from '../naming';

export interface PipelineStackProps extends StackProps {
  readonly config: AppConfig;
}

/** The distillation pipeline: dataset bucket, Bedrock service roles, pipeline Lambdas, state machine, notifications. */
export class PipelineStack extends Stack {
  readonly dataset: DatasetBucket;
  readonly notifications: Notifications;
  readonly pipeline: DistillationPipeline;
  readonly shadow: ShadowLoop;

  constructor(scope: Construct, id: string, props: PipelineStackProps) {
    super(scope, id, props);
    const { config } = props;

    this.dataset = new DatasetBucket(this, 'Dataset', {
      retainData: config.retainData,
      logRetentionDays: config.logRetentionDays,
      productionDataRetentionDays: config.productionDataRetentionDays,
    });
    this.notifications = new Notifications(this, 'Notifications', { email: config.notificationEmail });
    // Preflight → generation → distillation → deployment → evaluation → gate → rollout → report, one fragment each.
    this.pipeline = new DistillationPipeline(this, 'Pipeline', {
      config,
      dataset: this.dataset,
      notifications: this.notifications,
    });
    // The production loop: the router's sampled queries are labelled by the teacher, measured and kept (issue 11).
    this.shadow = new ShadowLoop(this, 'Shadow', {
      config,
      dataset: this.dataset,
      topic: this.notifications.topic,
    });

    new CfnOutput(this, OUTPUTS.datasetBucketName, {
      value: this.dataset.bucket.bucketName,
      description: 'Bucket holding every run under runs/<runId>/',
    });
    new CfnOutput(this, OUTPUTS.notificationTopicArn, {
      value: this.notifications.topic.topicArn,
      description: 'SNS topic for run results, failures and alarms',
    });
    new CfnOutput(this, OUTPUTS.stateMachineArn, {
      value: this.pipeline.stateMachine.stateMachineArn,
      description: 'The pipeline state machine: start an execution named after the run id',
    });
  }
}
