import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { parseConfig, type AppConfig } from '../../lib/config';
import { DatasetBucket } from '../../lib/constructs/dataset-bucket';
import { Notifications } from '../../lib/constructs/notifications';
import { generationFunctions, pipelineStateMachine } from '../../lib/constructs/pipeline/state-machine';
import { GenerationStage } from '../../lib/constructs/pipeline/stages/generation';
import { PreflightStage } from '../../lib/constructs/pipeline/stages/preflight';
import { FailurePath, StageFunctions } from '../../lib/constructs/pipeline/steps';
import { CDK_JSON_CONTEXT } from '../helpers/app';
import { G } from './states';

export interface GenerationMount {
  /** What follows the generation stage (after Assemble and Reuse dataset); default: a Succeed, "Dataset ready". */
  readonly next?: (scope: Construct) => sfn.IChainable;
  /** Offer the "Reuse a dataset?" branch, as the pipeline does (default: generation always runs). */
  readonly reuse?: boolean;
}

/**
 * A small stack that mounts the first two stages on their own, as the pipeline does but without the later stages: a
 * dataset bucket, the notifications topic, and under `Pipeline` the failure path, Preflight and the generation stage
 * in the pipeline's own state machine (name, timeout, logs), ending at "Dataset ready" unless `next` is given. The app
 * has cdk.json's feature flags, as the real one does; bundling is skipped.
 */
export function buildGenerationStack(context: Record<string, unknown> = {}, mount: GenerationMount = {}) {
  const app = new App({ context: { ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [] } });
  const config: AppConfig = parseConfig(context);
  const stack = new Stack(app, 'GenerationTest', { env: { region: 'us-east-1' } });
  const dataset = new DatasetBucket(stack, 'Dataset', { retainData: true });
  const notifications = new Notifications(stack, 'Notifications', {});
  const scope = new Construct(stack, 'Pipeline');
  const failure = new FailurePath(scope, 'Failure', { topic: notifications.topic });
  const functions = generationFunctions(scope, config);
  const preflight = new PreflightStage(scope, 'Preflight', { config, dataset, failure, functions });
  const reuseFunctions = new StageFunctions(new Construct(stack, 'Training'), 'Functions', {
    serviceName: 'intent-router-pipeline',
    logRetentionDays: config.logRetentionDays,
    retainLogs: config.retainData,
  });
  const generation = new GenerationStage(scope, 'Generation', {
    config,
    dataset,
    failure,
    functions,
    ...(mount.reuse ? { reuse: { functions: reuseFunctions } } : {}),
  });
  const definition = sfn.Chain.start(preflight)
    .next(generation)
    .next(mount.next?.(scope) ?? new sfn.Succeed(scope, G.done));
  const { stateMachine } = pipelineStateMachine(scope, {
    config,
    notifications,
    definition,
    stages: [preflight, generation],
  });
  const pipeline = { failure, stateMachine, functions: { ...preflight.functions, ...generation.functions } };
  return { app, stack, config, dataset, notifications, pipeline, template: Template.fromStack(stack) };
}
