/** `npm run cost -- --examples 10000 --queries-per-month 10000000`: prints what a run and routing cost. */
import { projectContext, PROJECT_ROOT } from '../lib/cli/args';
import { runCost } from '../lib/cli/cost';
import { runCommand } from '../lib/cli/errors';

void runCommand('npm run cost', async () => {
  const result = runCost(process.argv.slice(2), projectContext(PROJECT_ROOT));
  console.log('help' in result ? result.help : result.text);
  return 0;
}).then((code) => {
  process.exitCode = code;
});
