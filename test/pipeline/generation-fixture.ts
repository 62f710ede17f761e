import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { parseConfig, type AppConfig } from '../../lib/config';
import { DatasetBucket } from '../../lib/constructs/dataset-bucket';
import { Notifications } from '../../lib/constructs/notifications';
import { DistillationPipeline, type DistillationPipelineProps } from '../../lib/constructs/pipeline/state-machine';
import { CDK_JSON_CONTEXT } from '../helpers/app';

/**
 * A small stack that mounts the generation stage on its own, as the pipeline stack does but without the training
 * stages: a dataset bucket, the notifications topic and the `DistillationPipeline` construct with its own failure
 * path, ending at "Dataset ready" unless `afterAssemble` / `reuseDataset` are given. The app has cdk.json's feature
 * flags, as the real one does; bundling is skipped.
 */
export function buildGenerationStack(
  context: Record<string, unknown> = {},
  plug: (stack: Stack) => Pick<DistillationPipelineProps, 'afterAssemble' | 'reuseDataset'> = () => ({}),
) {
  const app = new App({ context: { ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [] } });
  const config: AppConfig = parseConfig(context);
  const stack = new Stack(app, 'GenerationTest', { env: { region: 'us-east-1' } });
  const dataset = new DatasetBucket(stack, 'Dataset', { retainData: true });
  const notifications = new Notifications(stack, 'Notifications', {});
  const pipeline = new DistillationPipeline(stack, 'Pipeline', { config, dataset, notifications, ...plug(stack) });
  return { app, stack, config, dataset, notifications, pipeline, template: Template.fromStack(stack) };
}
