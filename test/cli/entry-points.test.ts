import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';

/**
 * The operator commands run as a user runs them — a child process through tsx, as `npm run <command>` does — on a
 * machine without AWS credentials or a Region: each fails with one or two lines saying what is missing and how to
 * give it (never a stack trace), with a non-zero exit code; a bad flag fails before any AWS call; --help works.
 */

const ROOT = path.resolve(__dirname, '..', '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');
const run = promisify(execFile);

/** The environment minus anything AWS: no keys, no profile, no Region, no config files, no instance metadata. */
const NO_AWS = {
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_') && k !== 'DEBUG')),
  AWS_CONFIG_FILE: path.join(ROOT, 'no-such-aws-config'),
  AWS_SHARED_CREDENTIALS_FILE: path.join(ROOT, 'no-such-aws-credentials'),
  AWS_EC2_METADATA_DISABLED: 'true',
  // On Node 20 the SDK prints a multi-line notice that it will need Node 22 from 2027; it is not the command's output.
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};

async function command(script: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(TSX, [`scripts/${script}.ts`, ...args], { cwd: ROOT, env: NO_AWS });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

const TIMEOUT = 60_000;

describe('operator commands without AWS credentials or Region (child processes)', () => {
  it.concurrent.each<[string, string[], number, RegExp]>([
    ['rollback', ['--env', 'dev'], 1, /^No AWS Region given\.\nPass --region <region> .*AWS_REGION=us-east-1/],
    [
      'rollback',
      ['--env', 'dev', '--region', 'us-east-1'],
      1,
      /^No AWS credentials found \(Could not load credentials from any providers\)\.\nRun aws configure/,
    ],
    ['cleanup-deployments', ['--env', 'dev', '--region', 'us-east-1'], 1, /^No AWS credentials found/],
    [
      'pipeline',
      ['start', '--env', 'dev', '--region', 'us-east-1', '--reuse-model', 'garbage'],
      2,
      /^--reuse-model: "garbage" is not a custom model ARN .*\nRun npm run pipeline -- --help for the usage\.$/,
    ],
    ['rollback', ['--envv', 'dev'], 2, /^unknown flag --envv — did you mean --env\?/],
    [
      'iam-report',
      ['-c', 'EnvName=prod'],
      2,
      /^Invalid configuration \(CDK context\):\n {2}- unknown key "EnvName" — did you mean "envName"\?/,
    ],
  ])(
    '%s %j exits %i with what to do',
    async (script, args, code, message) => {
      const result = await command(script, ...args);
      expect(result.stderr.trimEnd()).toMatch(message);
      expect(result.stderr.trimEnd().split('\n').length).toBeLessThanOrEqual(2);
      expect(result.stderr).not.toMatch(/^ {4}at /m);
      expect(result.code).toBe(code);
    },
    TIMEOUT,
  );

  it.concurrent(
    '`npm run cost -- --json` prints one JSON object with runUsd and the student per 1M queries, matching the markdown',
    async () => {
      const args = ['--examples', '10000', '--queries-per-month', '10000000'];
      // Through npm itself, exactly as the README has it: its run-script banner must not reach stdout (.npmrc).
      const [json, markdown] = await Promise.all([
        run('npm', ['run', 'cost', '--', '--json', ...args], { cwd: ROOT, env: NO_AWS }),
        command('cost', ...args),
      ]);
      const parsed = JSON.parse(json.stdout) as { runUsd: number; studentPer1MQueriesUsd: number };
      expect(markdown.stdout).toContain(`**One run: $${parsed.runUsd.toFixed(2)}**`);
      const studentRow = /\| student +\| [^|]+\| [^|]+\| \$([\d.,]+) /.exec(markdown.stdout);
      expect(Number(studentRow?.[1])).toBeCloseTo(parsed.studentPer1MQueriesUsd, 1);
    },
    TIMEOUT,
  );

  it.concurrent.each([
    ['pipeline', '--help'],
    ['rollback', '--help'],
    ['cleanup-deployments', '-h'],
    ['iam-report', '--help'],
    ['cost', '--help'],
    ['validate-dataset', '-h'],
  ])(
    '%s %s prints the usage and exits 0',
    async (script, flag) => {
      const result = await command(script, flag);
      expect(result).toMatchObject({ code: 0, stderr: '' });
      expect(result.stdout).toMatch(/^Usage:/);
      expect(result.stdout).toMatch(/-h, --help +show this help\n/);
    },
    TIMEOUT,
  );
});
