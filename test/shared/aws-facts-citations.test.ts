import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

/**
 * The project stands on its own: code, comments and messages cite the AWS facts in docs/aws-facts.md, never a file
 * outside the repository, and every section they cite exists.
 */

const ROOT = path.join(__dirname, '..', '..');
const SCANNED = ['bin', 'lib', 'lambda', 'scripts', 'test', 'docs', 'README.md'];
const SKIPPED = new Set(['node_modules', 'cdk.out', '.git']);
const TEXT = /\.(ts|js|mjs|md|json)$/;

function files(entry: string): string[] {
  const full = path.join(ROOT, entry);
  let names: string[];
  try {
    names = readdirSync(full);
  } catch {
    return TEXT.test(entry) ? [entry] : [];
  }
  return names.filter((n) => !SKIPPED.has(n)).flatMap((n) => files(path.join(entry, n)));
}

const sources = SCANNED.flatMap(files).filter((f) => f !== path.join('test', 'shared', 'aws-facts-citations.test.ts'));
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

describe('AWS fact citations', () => {
  it('finds the files it scans', () => {
    expect(sources).toEqual(expect.arrayContaining([path.join('lambda', 'core', 'dataset-validator.ts')]));
  });

  it('cites no file outside the repository (shared/reference/…)', () => {
    // By path, or by the wording that stands for it ("UNVERIFIED in the reference"): the facts live in docs/aws-facts.md.
    const outside = sources.filter((f) =>
      /shared\/reference\/|reference\/bedrock\.md|\bin the reference\b|\bthe reference says\b/i.test(read(f)),
    );
    expect(outside).toEqual([]);
  });

  it('cites only sections docs/aws-facts.md has', () => {
    const sections = new Set(
      [...read(path.join('docs', 'aws-facts.md')).matchAll(/^## (\d+)\. /gm)].map((m) => Number(m[1])),
    );
    const cited: string[] = [];
    for (const file of sources) {
      for (const match of read(file).matchAll(/aws-facts\.md((?:[ ,–-]*§\d+)+)/g)) {
        for (const n of match[1]!.matchAll(/§(\d+)/g)) cited.push(`${file} §${n[1]}`);
      }
    }
    expect(cited.length).toBeGreaterThan(5);
    expect(cited.filter((c) => !sections.has(Number(c.split('§')[1])))).toEqual([]);
  });
});
