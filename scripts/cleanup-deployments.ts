/** `npm run cleanup-deployments -- --env <envName> [--delete]`: lists (and deletes) deployments no longer needed. */
import { BedrockClient } from '@aws-sdk/client-bedrock';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import { runCommand } from '../lib/cli/errors';
import { runCleanup } from '../lib/ops/cleanup-deployments';

void runCommand('npm run cleanup-deployments', async () => {
  const { text, exitCode } = await runCleanup(process.argv.slice(2), (region) => {
    const config = region ? { region } : {};
    return {
      bedrock: new BedrockClient(config),
      ssm: new SSMClient(config),
      cfn: new CloudFormationClient(config),
      sfn: new SFNClient(config),
    };
  });
  console.log(text);
  return exitCode;
}).then((code) => {
  process.exitCode = code;
});
