import {
  BedrockClient,
  CreateCustomModelDeploymentCommand,
  type CustomModelDeploymentSummary,
} from '@aws-sdk/client-bedrock';
import * as z from 'zod';
import { CANDIDATE_NAME_PATTERN } from '../../core/candidates';
import { isEnvironmentDeployment, listDeployments } from './deployments';
import { resourceTags, trainingNames } from '../../core/job-names';
import type { DeploymentStarted } from './result';
import { lambdaHandler, logger, parseInput, tracer } from '../../core/runtime';
import { DEPLOY_STUDENT_ENVIRONMENT } from './environment';

const bedrock = tracer.captureAWSv3Client(new BedrockClient({}));

const CUSTOM_MODEL_ARN = /^arn:aws[a-z-]*:bedrock:[a-z0-9-]+:\d{12}:custom-model\/.+$/;

export const deployStudentInput = z.object({
  runId: z.string().min(1),
  /** The candidate whose model this is (absent for a run without candidates): it names and tags the deployment. */
  candidate: z.string().regex(CANDIDATE_NAME_PATTERN, 'must be the candidate’s name').optional(),
  modelArn: z
    .string()
    .regex(
      CUSTOM_MODEL_ARN,
      'must be a custom model ARN (arn:aws:bedrock:<region>:<account>:custom-model/…); check reuseModelArn in the execution input',
    ),
});

/** The deployment's name is the run's, but it cannot serve this run: the message says what to do. */
export class DeploymentNameTaken extends Error {
  override readonly name = 'DeploymentNameTaken';
}

const USABLE = new Set(['Active', 'Creating']);
const isUsable = (d: CustomModelDeploymentSummary) => USABLE.has(d.status ?? '');

const started = (d: CustomModelDeploymentSummary, modelArn: string, reused: boolean): DeploymentStarted => ({
  deploymentArn: d.customModelDeploymentArn ?? '',
  deploymentName: d.customModelDeploymentName ?? '',
  modelArn,
  reused,
});

/**
 * Deploys a candidate's custom model on demand, idempotently, without relying on a create error (the SDK declares no
 * ConflictException for CreateCustomModelDeployment):
 * 1. a deployment with exactly the run's (candidate's) name is this run's own (a retried step, a redrive): reused when it serves the
 *    same model and is Active or Creating; refused with what to do when it is Failed or serves another model;
 * 2. otherwise an Active (else Creating) deployment of the same model that this environment created (by its tags) is
 *    reused — a run that reuses another run's model; another environment's deployment is never adopted, so neither
 *    environment promotes, nor cleans up, what the other serves;
 * 3. otherwise one is created under the run's name and token.
 */
export async function deployStudent(event: unknown): Promise<DeploymentStarted> {
  const { runId, modelArn, candidate } = parseInput(deployStudentInput, event, 'Deploy student');
  const envName = DEPLOY_STUDENT_ENVIRONMENT.read(process.env).envName;
  const names = trainingNames(envName, runId, candidate);

  const own = (await listDeployments(bedrock, { nameContains: names.deploymentName })).find(
    (d) => d.customModelDeploymentName === names.deploymentName,
  );
  if (own) {
    const problem =
      own.modelArn !== modelArn
        ? `serves another model (${own.modelArn ?? 'unknown'}), not ${modelArn}`
        : !isUsable(own)
          ? `is ${own.status ?? 'in an unknown state'}`
          : undefined;
    if (problem) {
      throw new DeploymentNameTaken(
        `the deployment named "${names.deploymentName}" (${own.customModelDeploymentArn ?? 'no ARN'}) ${problem}: ` +
          `delete it (npm run cleanup-deployments -- --env ${envName} --delete, or DeleteCustomModelDeployment) and ` +
          'redrive the execution, or start the run under a new run id.',
      );
    }
    logger.info('found the run’s own deployment', { deploymentArn: own.customModelDeploymentArn, status: own.status });
    return started(own, modelArn, true);
  }

  const sameModel = (await listDeployments(bedrock, { modelArnEquals: modelArn })).filter(isUsable);
  const byPreference = [
    ...sameModel.filter((d) => d.status === 'Active'),
    ...sameModel.filter((d) => d.status !== 'Active'),
  ];
  for (const candidate of byPreference) {
    const arn = candidate.customModelDeploymentArn;
    if (arn && (await isEnvironmentDeployment(bedrock, arn, envName))) {
      logger.info('reusing this environment’s deployment of the model', { deploymentArn: arn });
      return started(candidate, modelArn, true);
    }
  }

  const out = await bedrock.send(
    new CreateCustomModelDeploymentCommand({
      modelDeploymentName: names.deploymentName,
      modelArn,
      description: `Intent router student, run ${runId}${candidate ? `, candidate ${candidate}` : ''} (${envName})`,
      tags: resourceTags(envName, runId, candidate),
      clientRequestToken: names.deploymentToken,
    }),
  );
  if (!out.customModelDeploymentArn) throw new Error('CreateCustomModelDeployment returned no ARN');
  logger.info('deployment created', { deploymentArn: out.customModelDeploymentArn });
  return { deploymentArn: out.customModelDeploymentArn, deploymentName: names.deploymentName, modelArn, reused: false };
}

export const handler = /* @__PURE__ */ lambdaHandler(deployStudent);
