import { readFileSync } from 'node:fs';
import {
  describeValidation,
  HELD_OUT_LIMITS,
  TRAINING_LIMITS,
  validateDataset,
} from '../lambda/shared/dataset-validator';

/**
 * `npm run validate-dataset -- <file.jsonl> [--held-out]`: checks a dataset with the pipeline's own validator.
 * Exit 0 with a one-line summary when valid; exit 1 with the first offending line and the rule it breaks otherwise
 * (exit 2 for a usage error). `--held-out` applies the evaluation limit (at most 1,000 records) instead of Nova's
 * training limits (100-15,000).
 */
const args = process.argv.slice(2);
const heldOut = args.includes('--held-out');
const files = args.filter((a) => a !== '--held-out');
if (files.length !== 1 || files[0]?.startsWith('-')) {
  console.error('usage: npm run validate-dataset -- <file.jsonl> [--held-out]');
  process.exit(2);
}
const file = files[0] as string;
let text: string;
try {
  text = readFileSync(file, 'utf8');
} catch (error) {
  console.error(`${file}: cannot read (${(error as Error).message})`);
  process.exit(2);
}
const result = validateDataset(text, heldOut ? HELD_OUT_LIMITS : TRAINING_LIMITS);
const line = describeValidation(file, result);
if (result.ok) console.log(line);
else console.error(line);
process.exit(result.ok ? 0 : 1);
