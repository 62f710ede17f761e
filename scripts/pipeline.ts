/**
 * `npm run pipeline -- start --env <envName> [--examples N] [--run-id ID]`
 * `npm run pipeline -- watch <runId> [--env <envName>] [--interval S]`
 * `npm run pipeline -- list [--env <envName>] [--max N]`
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { UsageError } from '../lib/cli/args';
import { PipelineCliError, runPipelineCli } from '../lib/cli/pipeline-command';

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  try {
    return await runPipelineCli(argv, (region) => ({
      cfn: new CloudFormationClient({ region }),
      sfn: new SFNClient({ region }),
      s3: new S3Client({ region }),
      out: (line) => console.log(line),
    }));
  } catch (error) {
    if (error instanceof UsageError || error instanceof PipelineCliError) {
      console.error(error.message);
      return 2;
    }
    throw error;
  }
}

main().then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    // AWS errors (credentials, permissions) as one readable line.
    console.error(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
    process.exitCode = 1;
  },
);
