import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { NO_AWS, ROOT, tsx } from '../helpers/child-process';

/**
 * The operator commands run as a user runs them — a child process through tsx, as `npm run <command>` does — on a
 * machine without AWS credentials or a Region: each fails with one or two lines saying what is missing and how to
 * give it (never a stack trace), with a non-zero exit code; a bad flag fails before any AWS call; --help works.
 */

const run = promisify(execFile);
const command = (script: string, ...args: string[]) => tsx(`scripts/${script}.ts`, args);

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
      // Through npm itself, exactly as the README has it: -s keeps npm's run-script banner off stdout.
      const [json, markdown] = await Promise.all([
        run('npm', ['run', '-s', 'cost', '--', '--json', ...args], { cwd: ROOT, env: NO_AWS }),
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
