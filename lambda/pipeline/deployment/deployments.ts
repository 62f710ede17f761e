import {
  ListTagsForResourceCommand,
  paginateListCustomModelDeployments,
  type BedrockClient,
  type CustomModelDeploymentSummary,
  type ListCustomModelDeploymentsRequest,
  type Tag,
} from '@aws-sdk/client-bedrock';
import { taggedForEnvironment } from '../../core/job-names';

/** Every on-demand deployment matching the filter, across pages (deploy step and clean-up command). */
export async function listDeployments(
  client: BedrockClient,
  filter: Omit<ListCustomModelDeploymentsRequest, 'nextToken'>,
): Promise<CustomModelDeploymentSummary[]> {
  const all: CustomModelDeploymentSummary[] = [];
  for await (const page of paginateListCustomModelDeployments({ client }, { ...filter })) {
    all.push(...(page.modelDeploymentSummaries ?? []));
  }
  return all;
}

/**
 * Whether the deployment was created by this project for `envName` (its Project and Environment tags). Tags rather
 * than the name prefix: `ir-dev-` also begins the names of environment `dev-b`'s deployments.
 */
export async function isEnvironmentDeployment(
  client: BedrockClient,
  deploymentArn: string,
  envName: string,
): Promise<boolean> {
  return taggedForEnvironment(await deploymentTags(client, deploymentArn), envName);
}

/** A deployment's tags (Project, Environment, RunId and, for a candidate's, Candidate: job-names.ts resourceTags). */
export async function deploymentTags(client: BedrockClient, deploymentArn: string): Promise<Tag[]> {
  const { tags = [] } = await client.send(new ListTagsForResourceCommand({ resourceARN: deploymentArn }));
  return tags;
}
