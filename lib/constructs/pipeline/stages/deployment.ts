import { Duration } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import {
  CHECK_DEPLOYMENT_ENVIRONMENT,
  DEPLOY_STUDENT_ENVIRONMENT,
} from '../../../../lambda/pipeline/deployment/environment';
import type { Function } from '../../function';
import { allow, allowDatasetKey, bedrockArn } from '../bedrock-roles';
import { invokeStep, PipelineStage, type StageProps } from '../steps';
import { RUNTIME_IDS } from './training';

/** State names (stable: tests, local-run overrides and dashboards refer to them). */
export const DEPLOYMENT_STATES = {
  deployStudent: 'Deploy student',
  waitDeployment: 'Wait for deployment',
  checkDeployment: 'Check deployment',
  deploymentChoice: 'Deployment active?',
  deploymentFailed: 'Deployment failed',
} as const;
const S = DEPLOYMENT_STATES;

export interface DeploymentStageProps extends StageProps<'envName' | 'deploymentPollMinutes'> {
  /** Where an Active deployment goes: the evaluation stage. */
  readonly next: sfn.IChainable;
}

/**
 * The candidate's custom model, deployed on demand (as the router will call it), inside the Candidates map.
 *
 *   Deploy student ─► Wait for deployment ─► Check deployment ─► Deployment active? (loop) ─► next
 *
 * Reads `$.trainingStatus.outputModelArn`, `$.candidate.name` and the execution name (the run id). Writes `$.deployment` (deploymentArn,
 * deploymentName, modelArn, reused; named and tagged after the run and the candidate; a retry or an earlier run's
 * deployment of the same model is reused) and `$.deploymentStatus` (status, failureMessage).
 *
 * Errors: a Failed deployment leaves by the failure route as DeploymentFailed with Bedrock's failure message; the
 * steps' own errors (e.g. the deployment quota) go to the failure route after Lambda and Bedrock transient errors are
 * retried. The poll loop is bounded by the state machine's timeout.
 */
export class DeploymentStage extends PipelineStage {
  readonly startState: sfn.State;
  readonly endStates: sfn.INextable[] = [];
  readonly functions: { readonly deployStudent: Function; readonly checkDeployment: Function };

  constructor(scope: Construct, id: string, props: DeploymentStageProps) {
    super(scope, id);
    const { config, dataset, failure } = props;
    const customModelArns = bedrockArn(this, 'custom-model', '*');
    const deploymentArns = bedrockArn(this, 'custom-model-deployment', '*');

    const deploy = props.functions.add(
      'DeployStudent',
      'deployment/deploy-student',
      'Deploys a candidate’s custom model on demand (idempotent)',
      DEPLOY_STUDENT_ENVIRONMENT.values({ envName: config.envName }),
    );
    allow(deploy, deploy.function, {
      actions: ['bedrock:CreateCustomModelDeployment'],
      resources: [customModelArns, deploymentArns],
      wildcardReason: `${RUNTIME_IDS} The deployment ARN ends in an id Bedrock assigns.`,
    });
    allow(deploy, deploy.function, {
      actions: ['bedrock:TagResource', 'bedrock:ListTagsForResource'],
      resources: [deploymentArns],
      wildcardReason:
        `${RUNTIME_IDS} Tags are set on the deployment at creation; they are read to reuse only a deployment ` +
        'of this environment.',
    });
    allow(deploy, deploy.function, {
      actions: ['bedrock:ListCustomModelDeployments'],
      resources: ['*'],
      wildcardReason: 'ListCustomModelDeployments supports no resource-level permissions (Resource must be *).',
    });
    allowDatasetKey(deploy, dataset, 'bedrock'); // the model is encrypted with the dataset key

    const check = props.functions.add(
      'CheckDeployment',
      'deployment/check-deployment',
      'Polls the student’s deployment',
      CHECK_DEPLOYMENT_ENVIRONMENT.values({}),
    );
    allow(check, check.function, {
      actions: ['bedrock:GetCustomModelDeployment'],
      resources: [deploymentArns],
      wildcardReason: RUNTIME_IDS,
    });
    this.functions = { deployStudent: deploy, checkDeployment: check };

    const deployStep = invokeStep(this, S.deployStudent, {
      fn: deploy.function,
      resultKey: 'deployment',
      payload: sfn.TaskInput.fromObject({
        runId: sfn.JsonPath.executionName,
        modelArn: sfn.JsonPath.stringAt('$.trainingStatus.outputModelArn'),
        candidate: sfn.JsonPath.stringAt('$.candidate.name'),
      }),
      failure,
    });
    const wait = new sfn.Wait(this, S.waitDeployment, {
      time: sfn.WaitTime.duration(Duration.minutes(config.deploymentPollMinutes)),
    });
    const checkStep = invokeStep(this, S.checkDeployment, {
      fn: check.function,
      resultKey: 'deploymentStatus',
      payload: sfn.TaskInput.fromObject({ deploymentArn: sfn.JsonPath.stringAt('$.deployment.deploymentArn') }),
      failure,
    });
    deployStep
      .next(wait)
      .next(checkStep)
      .next(
        new sfn.Choice(this, S.deploymentChoice)
          .when(sfn.Condition.stringEquals('$.deploymentStatus.status', 'Active'), props.next)
          .when(
            sfn.Condition.stringEquals('$.deploymentStatus.status', 'Failed'),
            failure.failWith(S.deploymentFailed, 'Deployment', 'DeploymentFailed', '$.deploymentStatus.failureMessage'),
          )
          .otherwise(wait),
      );
    this.startState = deployStep;
  }
}
