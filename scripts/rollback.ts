/** `npm run rollback -- --env <envName>`: restores the previous active model (see lib/ops/rollback.ts). */
import { SSMClient } from '@aws-sdk/client-ssm';
import { runCommand } from '../lib/cli/errors';
import { runRollback } from '../lib/ops/rollback';

void runCommand('npm run rollback', async () => {
  console.log(await runRollback(process.argv.slice(2), (region) => new SSMClient(region ? { region } : {})));
  return 0;
}).then((code) => {
  process.exitCode = code;
});
