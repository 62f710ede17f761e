import { readFileSync } from 'node:fs';
import {
  describeValidation,
  HELD_OUT_LIMITS,
  TRAINING_LIMITS,
  validateDataset,
} from '../lambda/core/dataset-validator';
import { flagHelp, parseArgs, UsageError, type FlagSpecs } from '../lib/cli/args';
import { runCommand } from '../lib/cli/errors';

/**
 * `npm run validate-dataset -- <file.jsonl> [--held-out]`: checks a dataset with the pipeline's own validator.
 * Exit 0 with a one-line summary when valid; exit 1 with the first offending line and the rule it breaks otherwise
 * (exit 2 for a usage error). `--held-out` applies the evaluation limit (at most 1,000 records) instead of Nova's
 * training limits (100-15,000).
 */
const FLAGS = {
  'held-out': { type: 'boolean', help: 'a held-out (evaluation) set: at most 1,000 records, no training minimum' },
} as const satisfies FlagSpecs;
const USAGE = `Usage: npm run validate-dataset -- <file.jsonl> [--held-out]\n${flagHelp(FLAGS)}`;

void runCommand('npm run validate-dataset', async () => {
  const { flags, positionals, help } = parseArgs(process.argv.slice(2), FLAGS);
  if (help) {
    console.log(USAGE);
    return 0;
  }
  const [file, extra] = positionals;
  if (file === undefined) throw new UsageError('no dataset file given: npm run validate-dataset -- <file.jsonl>');
  if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}": give one file`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`${file}: cannot read (${error instanceof Error ? error.message : String(error)})`);
  }
  const result = validateDataset(text, flags['held-out'] ? HELD_OUT_LIMITS : TRAINING_LIMITS);
  const line = describeValidation(file, result);
  if (result.ok) console.log(line);
  else console.error(line);
  return result.ok ? 0 : 1;
}).then((code) => {
  process.exitCode = code;
});
