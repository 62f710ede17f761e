/** `npm run cost -- --examples 10000 --queries-per-month 10000000`: prints what a run and routing cost. */
import * as path from 'node:path';
import { projectContext, UsageError } from '../lib/cli/args';
import { runCost } from '../lib/cli/cost';

try {
  const result = runCost(process.argv.slice(2), projectContext(path.resolve(__dirname, '..')));
  console.log('help' in result ? result.help : result.text);
} catch (error) {
  if (!(error instanceof UsageError)) throw error;
  console.error(error.message);
  process.exitCode = 2;
}
