import { tsx } from '../helpers/child-process';

/**
 * `npm run erase-queries` as a user runs it, without AWS: flags are checked before any call, a bad one is one line
 * on stderr with nothing on stdout and exit code 2; valid flags reach AWS and fail on the missing Region (exit 1).
 */
const SCRIPT = 'scripts/erase-queries.ts';
const TIMEOUT = 60_000;

describe('npm run erase-queries (child process, no AWS)', () => {
  it(
    '--help prints the usage and exits 0',
    async () => {
      const { code, stdout, stderr } = await tsx(SCRIPT, ['--help']);
      expect(code).toBe(0);
      expect(stderr).toBe('');
      expect(stdout).toMatch(/^Usage: npm run erase-queries -- --env <envName> \(--contains <text> \| --query-hash/);
      expect(stdout).toContain('--dry-run');
    },
    TIMEOUT,
  );

  it.each([
    [['--contains', 'jane'], /^--env is required/],
    [['--env', 'dev'], /^say what to erase: --contains <text>, --query-hash <sha256> or --before <YYYY-MM-DD>/],
    [
      ['--env', 'dev', '--contains', 'a', '--before', '2026-11-01'],
      /^give one of --contains, --query-hash, --before, not --contains and --before/,
    ],
    [['--env', 'dev', '--query-hash', 'abc'], /^--query-hash: "abc" is not a query hash: 64 lowercase hex digits/],
    [['--env', 'dev', '--before', '2026-02-30'], /^--before: "2026-02-30" is not a day: use YYYY-MM-DD/],
    [['--env', 'dev', '--contians', 'x'], /^unknown flag --contians — did you mean --contains\?/],
  ])(
    '%j: one error on stderr, nothing on stdout, exit 2',
    async (args, message) => {
      const { code, stdout, stderr } = await tsx(SCRIPT, args);
      expect(code).toBe(2);
      expect(stdout).toBe('');
      expect(stderr).toMatch(message);
      expect(stderr).toContain('Run npm run erase-queries -- --help for the usage.');
    },
    TIMEOUT,
  );

  it(
    'valid flags without AWS: the missing Region, exit 1, nothing on stdout',
    async () => {
      const { code, stdout, stderr } = await tsx(SCRIPT, ['--env', 'dev', '--contains', 'jane', '--dry-run']);
      expect(code).toBe(1);
      expect(stdout).toBe('');
      expect(stderr).toMatch(/^No AWS Region given\./);
    },
    TIMEOUT,
  );
});
