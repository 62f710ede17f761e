import {
  BedrockClient,
  CreateCustomModelDeploymentCommand,
  type CustomModelDeploymentSummary,
} from '@aws-sdk/client-bedrock';
import { z } from 'zod';
import { listDeployments } from '../shared/deployments';
import { resourceTags, trainingNames } from '../shared/job-names';
import type { DeploymentStarted } from '../shared/training-contracts';
import { envTypes, errorName, logger, parseInput, readEnvironment, tracer } from './common';

const bedrock = tracer.captureAWSv3Client(new BedrockClient({}));

const environment = () => readEnvironment({ ENV_NAME: envTypes.text });

const CUSTOM_MODEL_ARN = /^arn:aws[a-z-]*:bedrock:[a-z0-9-]+:\d{12}:custom-model\/.+$/;

export const deployStudentInput = z.object({
  runId: z.string().min(1),
  modelArn: z
    .string()
    .regex(
      CUSTOM_MODEL_ARN,
      'must be a custom model ARN (arn:aws:bedrock:<region>:<account>:custom-model/…); check reuseModelArn in the execution input',
    ),
});

// An Active deployment first, then one still Creating; a Failed one is never reused.
const usable = (deployments: readonly CustomModelDeploymentSummary[]) =>
  deployments.find((d) => d.status === 'Active') ?? deployments.find((d) => d.status === 'Creating');

/**
 * Deploys the distilled model on demand, idempotently: an existing Active or Creating deployment of the same model is
 * reused (a retried step, a redrive, or a run that reuses another run's model); otherwise one is created under the
 * run's name and token, and a ConflictException resolves to the deployment of that name.
 */
export async function deployStudent(event: unknown): Promise<DeploymentStarted> {
  const { runId, modelArn } = parseInput(deployStudentInput, event, 'Deploy student');
  const envName = environment().ENV_NAME;
  const names = trainingNames(envName, runId);

  const existing = usable(await listDeployments(bedrock, { modelArnEquals: modelArn }));
  if (existing?.customModelDeploymentArn) {
    logger.info('reusing the existing deployment of the model', { deploymentArn: existing.customModelDeploymentArn });
    return {
      deploymentArn: existing.customModelDeploymentArn,
      deploymentName: existing.customModelDeploymentName ?? '',
      modelArn,
      reused: true,
    };
  }

  try {
    const out = await bedrock.send(
      new CreateCustomModelDeploymentCommand({
        modelDeploymentName: names.deploymentName,
        modelArn,
        description: `Distilled intent router student, run ${runId} (${envName})`,
        tags: resourceTags(envName, runId),
        clientRequestToken: names.deploymentToken,
      }),
    );
    if (!out.customModelDeploymentArn) throw new Error('CreateCustomModelDeployment returned no ARN');
    logger.info('deployment created', { deploymentArn: out.customModelDeploymentArn });
    return {
      deploymentArn: out.customModelDeploymentArn,
      deploymentName: names.deploymentName,
      modelArn,
      reused: false,
    };
  } catch (error) {
    if (errorName(error) !== 'ConflictException') throw error;
    const named = (await listDeployments(bedrock, { nameContains: names.deploymentName })).find(
      (d) => d.customModelDeploymentName === names.deploymentName,
    );
    if (!named?.customModelDeploymentArn || named.modelArn !== modelArn) {
      throw new Error(
        `a deployment named "${names.deploymentName}" exists for another model: ` +
          'delete it (npm run cleanup-deployments) or start the run under a new run id',
        { cause: error },
      );
    }
    return {
      deploymentArn: named.customModelDeploymentArn,
      deploymentName: names.deploymentName,
      modelArn,
      reused: true,
    };
  }
}

export const handler = deployStudent;
