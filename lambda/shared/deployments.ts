import {
  ListCustomModelDeploymentsCommand,
  type BedrockClient,
  type CustomModelDeploymentSummary,
  type ListCustomModelDeploymentsRequest,
} from '@aws-sdk/client-bedrock';

/** Every on-demand deployment matching the filter, across pages (deploy step and clean-up command). */
export async function listDeployments(
  client: BedrockClient,
  filter: Omit<ListCustomModelDeploymentsRequest, 'nextToken'>,
): Promise<CustomModelDeploymentSummary[]> {
  const all: CustomModelDeploymentSummary[] = [];
  let nextToken: string | undefined;
  do {
    const page = await client.send(new ListCustomModelDeploymentsCommand({ ...filter, nextToken }));
    all.push(...(page.modelDeploymentSummaries ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return all;
}
