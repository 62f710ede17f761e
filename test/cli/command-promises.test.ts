import { tsx } from '../helpers/child-process';

/**
 * The promises every operator command keeps on a bad command line or config, as a user meets them: child processes
 * without AWS credentials or a Region (so a check that ran after an AWS call would fail differently). Each bad input
 * gives one line (two at most) on stderr naming the flag or key and the fix, nothing on stdout, no stack trace, and
 * exit code 2.
 */

const TIMEOUT = 60_000;
const WEIGHTS = '{"visual":1}';
/**
 * A --since two days after the clock the child process reads (the same real clock): in the future on any date, and in
 * any time zone, without assuming what today is. The in-process tests fix the clock to check the exact boundary.
 */
const FUTURE_DAY = new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 10);

describe('bad input fails before any AWS call, with the fix (child processes, no AWS)', () => {
  it.concurrent.each<[string, string[], RegExp]>([
    // --env: every command that spends money or changes live traffic needs it (pipeline: every subcommand).
    ['pipeline', ['start', '--region', 'us-east-1'], /^--env is required: name the environment "start" acts on/],
    ['pipeline', ['list', '--region', 'us-east-1'], /^--env is required: name the environment "list" acts on/],
    ['rollback', ['--region', 'us-east-1'], /^--env is required/],
    ['cleanup-deployments', ['--delete', '--region', 'us-east-1'], /^--env is required/],
    // Checks the README promises before any AWS call.
    [
      'pipeline',
      ['start', '--env', 'dev', '--from-production', '--since', FUTURE_DAY],
      new RegExp(`^--since ${FUTURE_DAY} is in the future \\(today is \\d{4}-\\d\\d-\\d\\d, UTC\\)`),
    ],
    [
      'pipeline',
      ['list', '--env', 'dev', '--region', 'eu-west-1'],
      /^--region: "eu-west-1" has no on-demand custom-model deployment.*use us-east-1 or us-west-2/,
    ],
    ['rollback', ['--env', 'dev', '--region', 'eu-west-1'], /^--region: "eu-west-1" has no on-demand custom-model/],
    ['pipeline', ['start', '--env', 'prod', '-c', 'envName=dev'], /^--env prod and -c envName=dev disagree/],
    ['rollback', ['--env', 'prod', '-c', 'envName=dev'], /^--env prod and -c envName=dev disagree/],
    ['cleanup-deployments', ['--env', 'prod', '-c', 'envName=dev'], /^--env prod and -c envName=dev disagree/],
    // -c only where the command reads the app's config.
    ['bench-generate', ['-c', 'envName=dev'], /^unknown flag -c: this command does not read the app's config/],
    ['bench-router', ['-c', 'envName=dev'], /^unknown flag -c: this command does not read the app's config/],
    ['token-counts', ['-c', 'envName=dev'], /^unknown flag -c: this command does not read the app's config/],
    ['validate-dataset', ['x.jsonl', '-c', 'a=b'], /^unknown flag -c: this command does not read the app's config/],
    ['bench-generate', ['--batch-size', '30'], /^--batch-size must be a whole number from 1 to 25/],
    // Config messages in the project's voice (the same parseConfig as cdk synth).
    [
      'iam-report',
      ['-c', `defaultWeights=${WEIGHTS}`],
      /^Invalid configuration \(CDK context\):\n {2}- defaultWeights \(given: '\{"visual":1\}'\): missing audio, transcription and metadata; give .* e\.g\. -c defaultWeights=/,
    ],
    [
      'iam-report',
      ['-c', 'prices={bad'],
      /^Invalid configuration \(CDK context\):\n {2}- prices \(given: "\{bad"\): is not valid JSON; give a JSON object .* e\.g\. -c prices='\{"amazon/,
    ],
    ['iam-report', ['-c', 'apiAuth=IAM'], /\n {2}- apiAuth \(given: "IAM"\): must be .* — did you mean "iam"\?$/],
    [
      'iam-report',
      ['-c', 'retainData=yes'],
      /\n {2}- retainData \(given: "yes"\): must be true or false \(-c retainData=true or -c retainData=false\)$/,
    ],
  ])(
    '%s %j: exit 2, one or two lines naming the fix',
    async (script, args, message) => {
      const result = await tsx(`scripts/${script}.ts`, args);
      expect(result.stderr.trimEnd()).toMatch(message);
      expect(result.stderr.trimEnd().split('\n').length).toBeLessThanOrEqual(2);
      expect(result.stderr).not.toMatch(/^ {4}at /m);
      expect(result.stdout).toBe('');
      expect(result.code).toBe(2);
    },
    TIMEOUT,
  );

  it.concurrent(
    'the app itself (cdk synth) words a bad -c the same way',
    async () => {
      // What `npx cdk synth -c apiAuth=IAM` hands the app: the context as CDK_CONTEXT_JSON.
      const result = await tsx('bin/app.ts', [], { CDK_CONTEXT_JSON: JSON.stringify({ apiAuth: 'IAM' }) });
      expect(result.stderr.trimEnd()).toBe(
        'Invalid configuration (CDK context):\n  - apiAuth (given: "IAM"): must be "iam" or "apiKey" — did you mean "iam"?',
      );
      expect(result.stdout).toBe('');
      expect(result.code).not.toBe(0);
    },
    TIMEOUT,
  );
});
