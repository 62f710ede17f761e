import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { RUNTIME } from '../../lib/constructs/function';

/**
 * How the project's commands behave through npm and on which Node.js they are tested: a JSON command prints only JSON
 * with npm's standard -s, a failing one prints nothing on stdout; the app starts without a second npx; CI tests on
 * the Lambdas' Node.js major, and a supported Node.js prints no SDK end-of-life warning.
 */
const ROOT = path.resolve(__dirname, '..', '..');
const exec = promisify(execFile);
const TIMEOUT = 90_000;

/** No AWS at all, and none of npm's own configuration from the caller's environment. */
const ENV = {
  ...Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_') && !k.toLowerCase().startsWith('npm_config_')),
  ),
  AWS_CONFIG_FILE: path.join(ROOT, 'no-such-aws-config'),
  AWS_SHARED_CREDENTIALS_FILE: path.join(ROOT, 'no-such-aws-credentials'),
  AWS_EC2_METADATA_DISABLED: 'true',
};

async function run(file: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(file, args, { cwd: ROOT, env: ENV });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

const nodeMajor = (version: string) => Number(/^v?(\d+)/.exec(version)?.[1]);
const CI_NODE_MAJOR = Number(readFileSync(path.join(ROOT, '.nvmrc'), 'utf8').trim());

describe('through npm', () => {
  it.concurrent(
    '`npm run -s cost -- --json …` prints one JSON object with the three headline figures, nothing else',
    async () => {
      const result = await run('npm', [
        'run',
        '-s',
        'cost',
        '--',
        '--json',
        '--examples',
        '10000',
        '--queries-per-month',
        '10000000',
      ]);
      expect(result.code).toBe(0);
      const json = JSON.parse(result.stdout) as Record<string, unknown>;
      expect(Object.keys(json).slice(0, 3)).toEqual(['runUsd', 'studentPer1MQueriesUsd', 'servingPer1MQueriesUsd']);
      expect(result.stderr).not.toMatch(/npm (error|warn)/);
    },
    TIMEOUT,
  );

  it.concurrent(
    'a failing JSON command prints nothing on stdout (so `| jq` fails too), a short reason on stderr, exits non-zero',
    async () => {
      const result = await run('npm', ['run', '-s', 'cost', '--', '--json', '--examples', '5']);
      expect(result.code).not.toBe(0);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(/exampleCount .*--examples 5/);
      expect(result.stderr.trimEnd().split('\n').length).toBeLessThanOrEqual(2);
      expect(result.stderr).not.toMatch(/"error"|npm error|^ {4}at /m);
    },
    TIMEOUT,
  );

  it('npm is in its normal mode: no project setting turns on JSON output', async () => {
    const { stdout } = await exec('npm', ['config', 'get', 'json'], { cwd: ROOT, env: ENV });
    expect(stdout.trim()).toBe('false');
  });

  it.concurrent(
    'synth with a bad key prints nothing on stdout and one reason on stderr (the app starts without a second npx)',
    async () => {
      const app = (JSON.parse(readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')) as { app: string }).app;
      expect(app).not.toMatch(/\bnpx\b/);
      const result = await run(path.join(ROOT, 'node_modules', '.bin', 'cdk'), ['synth', '-c', 'exampleCount=5']);
      expect(result.code).not.toBe(0);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(/exampleCount \(given: "5"\): must be a whole number from 100 to 15000/);
      expect(result.stderr).not.toMatch(/"error"/);
    },
    TIMEOUT,
  );
});

describe('Node.js', () => {
  it('CI tests on the Lambdas’ Node.js major, which package.json supports (and Node 20, past its end of life, not)', () => {
    expect(RUNTIME.name).toBe(`nodejs${CI_NODE_MAJOR}.x`);
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
    const minimum = Number(/^>=(\d+)/.exec(pkg.engines.node)?.[1]);
    expect(minimum).toBe(22);
    expect(CI_NODE_MAJOR).toBeGreaterThanOrEqual(minimum);
    expect(readFileSync(path.join(ROOT, '.ci', 'run'), 'utf8')).toMatch(/node-linux-\$\{node_arch\}@\$\{NODE_MAJOR\}/);
  });

  const supported = nodeMajor(process.version) >= 22;
  (supported ? it : it.skip)(
    'an operator command on a supported Node.js prints no AWS SDK Node-version warning',
    async () => {
      const result = await run(path.join(ROOT, 'node_modules', '.bin', 'tsx'), [
        'scripts/rollback.ts',
        '--env',
        'dev',
        '--region',
        'us-east-1',
      ]);
      expect(result.stderr).toMatch(/No AWS credentials found/);
      expect(result.stderr).not.toMatch(/NodeVersionSupportWarning/);
    },
    TIMEOUT,
  );
  if (!supported) {
    it('runs on an unsupported Node.js: the SDK-warning check above needs Node.js ≥ 22 (.ci/run uses .nvmrc)', () => {
      expect(existsSync(path.join(ROOT, '.nvmrc'))).toBe(true);
    });
  }
});
