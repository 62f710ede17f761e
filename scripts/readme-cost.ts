/** `npm run docs:cost`: regenerates the README's cost block from `npm run cost` (test/cli/cost.test.ts keeps them in step). */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as prettier from 'prettier';
import { projectContext, PROJECT_ROOT } from '../lib/cli/args';
import { readmeCostBlock, withReadmeCostBlock } from '../lib/cli/cost';

async function main() {
  const file = join(PROJECT_ROOT, 'README.md');
  const updated = withReadmeCostBlock(readFileSync(file, 'utf8'), readmeCostBlock(projectContext(PROJECT_ROOT)));
  const options = (await prettier.resolveConfig(file)) ?? {};
  writeFileSync(file, await prettier.format(updated, { ...options, filepath: file }));
  console.log(`updated the cost block of ${file}`);
}

void main();
