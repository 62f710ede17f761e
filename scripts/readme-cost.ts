/**
 * `npm run docs:cost -- [--write]`: the README's cost block from `npm run cost` (test/cli/cost.test.ts keeps them in
 * step). Prints the block by default; --write puts it into README.md, formatted by prettier.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as prettier from 'prettier';
import { flagHelp, parseArgs, projectContext, PROJECT_ROOT, UsageError, type FlagSpecs } from '../lib/cli/args';
import { README_COST_END, readmeCostBlock, withReadmeCostBlock } from '../lib/cli/cost';
import { runCommand } from '../lib/cli/errors';

const FLAGS = {
  write: { type: 'boolean', help: 'write the block into README.md (formatted by prettier) instead of printing it' },
} as const satisfies FlagSpecs;

const USAGE = `Usage: npm run docs:cost -- [--write]

Prints the README's generated cost block (the output of npm run cost with the default configuration).

${flagHelp(FLAGS)}`;

void runCommand('npm run docs:cost', async () => {
  const { flags, positionals, help } = parseArgs(process.argv.slice(2), FLAGS);
  if (help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const file = join(PROJECT_ROOT, 'README.md');
  const updated = withReadmeCostBlock(readFileSync(file, 'utf8'), readmeCostBlock(projectContext(PROJECT_ROOT)));
  const options = (await prettier.resolveConfig(file)) ?? {};
  const formatted = await prettier.format(updated, { ...options, filepath: file });
  if (!flags.write) {
    const begin = formatted.indexOf('<!-- cost:begin');
    const end = formatted.indexOf(README_COST_END);
    console.log(formatted.slice(begin, end + README_COST_END.length));
    return 0;
  }
  writeFileSync(file, formatted);
  console.error(`updated the cost block of ${file}`);
  return 0;
}).then((code) => {
  process.exitCode = code;
});
