import { Annotations, App, Tags, type Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { parseConfig, type AppConfig } from './config';
import { apiStackName, pipelineStackName, projectTags } from './naming';
import { ApiStack } from './stacks/api-stack';
import { PipelineStack } from './stacks/pipeline-stack';

/** Reads and validates the whole configuration from the app's CDK context (the only place context is read). */
export function loadConfig(app: App): AppConfig {
  return parseConfig(app.node.getAllContext() as Record<string, unknown>);
}

export interface Stacks {
  readonly pipeline: PipelineStack;
  readonly api: ApiStack;
}

/** Builds both stacks of one environment. Used by bin/app.ts and by the tests. */
export function createStacks(app: App, config: AppConfig): Stacks {
  const env = { account: config.account, region: config.region };
  const pipeline = new PipelineStack(app, pipelineStackName(config.envName), {
    env,
    config,
    description: `Distilled intent router (${config.envName}): teacher-to-student distillation pipeline`,
  });
  const api = new ApiStack(app, apiStackName(config.envName), {
    env,
    config,
    description: `Distilled intent router (${config.envName}): routing API serving the promoted student`,
  });
  for (const stack of [pipeline, api] as Stack[]) {
    for (const [key, value] of Object.entries(projectTags(config))) Tags.of(stack).add(key, value);
    if (config.permissionsBoundaryArn) {
      iam.PermissionsBoundary.of(stack).apply(
        iam.ManagedPolicy.fromManagedPolicyArn(stack, 'PermissionsBoundary', config.permissionsBoundaryArn),
      );
    }
  }
  // A default candidate the Region cannot train is left out, not refused: synth says so (cdk synth prints infos).
  for (const left of config.candidatesLeftOut) {
    Annotations.of(pipeline).addInfo(`left out of the default candidates: ${left.reason}`);
  }
  return { pipeline, api };
}
