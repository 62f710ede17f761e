import { BedrockClient, GetCustomModelDeploymentCommand } from '@aws-sdk/client-bedrock';
import * as z from 'zod';
import type { DeploymentStatus } from './result';
import { lambdaHandler, logger, parseInput, tracer } from '../../core/runtime';

const bedrock = tracer.captureAWSv3Client(new BedrockClient({}));

export const checkDeploymentInput = z.object({ deploymentArn: z.string().min(1) });

/** Polls the deployment: Active → evaluate; Failed → notify and fail with `failureMessage`; Creating → wait. */
export async function checkDeployment(event: unknown): Promise<DeploymentStatus> {
  const { deploymentArn } = parseInput(checkDeploymentInput, event, 'Check deployment');
  const out = await bedrock.send(
    new GetCustomModelDeploymentCommand({ customModelDeploymentIdentifier: deploymentArn }),
  );
  const status = out.status ?? 'Unknown';
  logger.info('deployment status', { deploymentArn, status });
  return {
    status,
    deploymentArn,
    failureMessage: out.failureMessage ?? (status === 'Failed' ? 'deployment Failed without a message' : ''),
  };
}

export const handler = /* @__PURE__ */ lambdaHandler(checkDeployment);
