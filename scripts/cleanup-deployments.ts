/** `npm run cleanup-deployments -- --env <envName> [--delete]`: lists (and deletes) superseded deployments. */
import { BedrockClient } from '@aws-sdk/client-bedrock';
import { SSMClient } from '@aws-sdk/client-ssm';
import { UsageError } from '../lib/cli/args';
import { runCleanup } from '../lib/ops/cleanup-deployments';

runCleanup(process.argv.slice(2), (region) => ({
  bedrock: new BedrockClient(region ? { region } : {}),
  ssm: new SSMClient(region ? { region } : {}),
}))
  .then((text) => console.log(text))
  .catch((error: unknown) => {
    if (!(error instanceof UsageError)) throw error;
    console.error(error.message);
    process.exitCode = 2;
  });
