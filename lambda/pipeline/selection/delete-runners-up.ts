import { BedrockClient, DeleteCustomModelDeploymentCommand } from '@aws-sdk/client-bedrock';
import * as z from 'zod';
import { errorName, lambdaHandler, logger, parseInput, tracer } from '../../core/runtime';
import { isEnvironmentDeployment } from '../deployment/deployments';
import { DELETE_RUNNERS_UP_ENVIRONMENT } from './environment';

const bedrock = tracer.captureAWSv3Client(new BedrockClient({}));

export const deleteRunnersUpInput = z.object({ deploymentArns: z.array(z.string().min(1)) });

export interface DeleteRunnersUpResult {
  readonly deleted: readonly string[];
  /** Already gone (a retried step, or someone ran clean-up first). */
  readonly missing: readonly string[];
  /** Not tagged for this environment: never deleted by a run. */
  readonly refused: readonly string[];
}

/**
 * Deletes the on-demand deployments of the candidates that were not chosen: whether an idle deployment costs anything
 * is UNVERIFIED (docs/aws-facts.md §4), and nothing will call them. Their custom models stay (tagged with the run and the candidate) so a runner-up can be deployed again with
 * `--reuse-model`. Idempotent: a deployment already gone is reported, not an error.
 */
export async function deleteRunnersUp(event: unknown): Promise<DeleteRunnersUpResult> {
  const { envName } = DELETE_RUNNERS_UP_ENVIRONMENT.read(process.env);
  const { deploymentArns } = parseInput(deleteRunnersUpInput, event, 'Delete runners-up');
  const deleted: string[] = [];
  const missing: string[] = [];
  const refused: string[] = [];
  for (const arn of deploymentArns) {
    try {
      if (!(await isEnvironmentDeployment(bedrock, arn, envName))) {
        refused.push(arn);
        continue;
      }
      await bedrock.send(new DeleteCustomModelDeploymentCommand({ customModelDeploymentIdentifier: arn }));
      deleted.push(arn);
    } catch (error) {
      if (errorName(error) !== 'ResourceNotFoundException') throw error;
      missing.push(arn);
    }
  }
  logger.info('runners-up deployments deleted', { deleted, missing, refused });
  return { deleted, missing, refused };
}

export const handler = /* @__PURE__ */ lambdaHandler(deleteRunnersUp);
