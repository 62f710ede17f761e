/**
 * `npm run pipeline -- start --env <envName> [--examples N] [--run-id ID]`
 * `npm run pipeline -- watch <runId> [--env <envName>] [--interval S]`
 * `npm run pipeline -- list [--env <envName>] [--max N]`
 * `npm run pipeline -- status|promote|rollback --env <envName>` (a canary's operators: lib/cli/canary-command.ts)
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import { runCommand } from '../lib/cli/errors';
import { runPipelineCli } from '../lib/cli/pipeline-command';

void runCommand('npm run pipeline', () =>
  runPipelineCli(process.argv.slice(2), (region) => {
    const config = region ? { region } : {};
    return {
      cfn: new CloudFormationClient(config),
      sfn: new SFNClient(config),
      s3: new S3Client(config),
      ssm: new SSMClient(config),
      out: (line) => console.log(line),
    };
  }),
).then((code) => {
  process.exitCode = code;
});
