/**
 * `npm run pipeline -- start|watch|list|report|status|promote|rollback --env <envName> …` (lib/cli/pipeline-command.ts);
 * `npm run pipeline -- <command> --help` describes one command. Every command needs --env (or -c envName=…).
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
    // Built on first use: --help and a refused command line construct no SDK client (nor its start-up warnings).
    let cfn: CloudFormationClient | undefined;
    let sfn: SFNClient | undefined;
    let s3: S3Client | undefined;
    let ssm: SSMClient | undefined;
    return {
      get cfn() {
        return (cfn ??= new CloudFormationClient(config));
      },
      get sfn() {
        return (sfn ??= new SFNClient(config));
      },
      get s3() {
        return (s3 ??= new S3Client(config));
      },
      get ssm() {
        return (ssm ??= new SSMClient(config));
      },
      out: (line) => console.log(line),
    };
  }),
).then((code) => {
  process.exitCode = code;
});
