import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { TOKEN_COUNTS_FILE } from '../../scripts/token-counts';
import { gitStatus, npmRun, ROOT, tsx, type Outcome } from '../helpers/child-process';

/**
 * Every package.json script that takes arguments answers `--help` with a short usage and does nothing else: no
 * benchmark run, no file written (`git status` is the same afterwards), no AWS call, nothing on stderr.
 */

/** Scripts that wrap a tool with its own help (or take no arguments of ours). */
const NOT_OURS = new Set(['build', 'lint', 'format', 'typecheck', 'test', 'synth', 'cdk']);
const scripts = Object.keys(
  (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts,
).filter((name) => !NOT_OURS.has(name));

const TIMEOUT = 180_000;

describe('npm run -s <script> -- --help, for every script that takes arguments (child processes, no AWS)', () => {
  const results = new Map<string, Outcome>();
  let before = '';
  let after = '';

  beforeAll(async () => {
    before = await gitStatus();
    // Two at a time: each is a tsx process, and the CI machine has two cores.
    const queue = [...scripts];
    const worker = async () => {
      for (let script = queue.shift(); script !== undefined; script = queue.shift()) {
        results.set(script, await npmRun(script, ['--help']));
      }
    };
    await Promise.all([worker(), worker()]);
    after = await gitStatus();
  }, TIMEOUT);

  it('covers the scripts the issue names', () => {
    expect(scripts).toEqual(
      expect.arrayContaining([
        'pipeline',
        'rollback',
        'cleanup-deployments',
        'iam-report',
        'cost',
        'bench:router',
        'bench:generate',
        'validate-dataset',
        'token-counts',
        'docs:cost',
      ]),
    );
  });

  it.each(scripts)('%s --help prints a short usage on stdout, exits 0 and nothing on stderr', (script) => {
    const result = results.get(script);
    expect(result).toBeDefined();
    expect(result?.stderr).toBe('');
    expect(result?.stdout).toMatch(/^Usage:/);
    expect(result?.stdout.trimEnd().split('\n').length).toBeLessThan(40);
    expect(result?.code).toBe(0);
  });

  it('changes nothing in the working tree (git status is the same)', () => {
    expect(after).toBe(before);
  });
});

describe('npm run token-counts: a generator prints, and writes only with --write, formatted as lint wants', () => {
  it('prints the module exactly as the repository keeps it (prettier-formatted), and writes nothing', async () => {
    const mtime = statSync(TOKEN_COUNTS_FILE).mtimeMs;
    const result = await tsx('scripts/token-counts.ts', []);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toBe(readFileSync(TOKEN_COUNTS_FILE, 'utf8'));
    expect(statSync(TOKEN_COUNTS_FILE).mtimeMs).toBe(mtime);
  }, 60_000);

  it('formats what it would write with the project prettier config (prettier --check agrees)', async () => {
    const text = await tsx('scripts/token-counts.ts', []);
    const prettier = path.join(ROOT, 'node_modules', '.bin', 'prettier');
    const checked = spawnSync(prettier, ['--check', '--stdin-filepath', TOKEN_COUNTS_FILE], {
      cwd: ROOT,
      input: text.stdout,
      encoding: 'utf8',
    });
    expect(checked.status).toBe(0);
  }, 60_000);
});
