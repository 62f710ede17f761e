/** `npm run rollback -- --env <envName>`: restores the previous active model (see lib/ops/rollback.ts). */
import { SSMClient } from '@aws-sdk/client-ssm';
import { UsageError } from '../lib/cli/args';
import { RollbackRefused, runRollback } from '../lib/ops/rollback';

runRollback(process.argv.slice(2), (region) => new SSMClient(region ? { region } : {}))
  .then((text) => console.log(text))
  .catch((error: unknown) => {
    if (!(error instanceof UsageError || error instanceof RollbackRefused)) throw error;
    console.error(error.message);
    process.exitCode = error instanceof UsageError ? 2 : 1;
  });
