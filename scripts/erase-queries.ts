/** `npm run erase-queries -- --env <envName> (--contains T | --query-hash H | --before DAY) [--dry-run]`: lib/ops/erase-queries.ts. */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { S3Client } from '@aws-sdk/client-s3';
import { runCommand } from '../lib/cli/errors';
import { runEraseQueries } from '../lib/ops/erase-queries';

void runCommand('npm run erase-queries', async () => {
  const { text, exitCode } = await runEraseQueries(process.argv.slice(2), (region) => {
    const config = region ? { region } : {};
    return { s3: new S3Client(config), cfn: new CloudFormationClient(config) };
  });
  console.log(text);
  return exitCode;
}).then((code) => {
  process.exitCode = code;
});
