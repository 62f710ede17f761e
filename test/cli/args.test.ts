import { checkRegion, configFromFlags, flagHelp, parseArgs, UsageError, type FlagSpecs } from '../../lib/cli/args';
import { ConfigError, parseConfig } from '../../lib/config';

const SPECS = {
  env: { type: 'string', help: 'the environment' },
  region: { type: 'string', help: 'the Region', check: (v) => (v.includes('-') ? undefined : 'not a Region') },
  examples: { type: 'integer', min: 100, max: 15000, help: 'examples' },
  delete: { type: 'boolean', help: 'delete' },
} as const satisfies FlagSpecs;

describe('parseArgs (node:util parseArgs underneath)', () => {
  it('reads --name value, --name=value, booleans, -c/--context pairs and positionals', () => {
    const parsed = parseArgs(
      ['watch', '--env', 'qa', '--examples=2,000', '--delete', '-c', 'a=1', '--context', 'b=x=y', '-cc=3', 'run-1'],
      SPECS,
      { allowContext: true },
    );
    expect(parsed).toEqual({
      flags: { env: 'qa', examples: 2000, delete: true },
      positionals: ['watch', 'run-1'],
      context: { a: '1', b: 'x=y', c: '3' },
      help: false,
    });
  });

  it('takes -h and --help on every command, and --delete=false', () => {
    expect(parseArgs(['-h'], {}).help).toBe(true);
    expect(parseArgs(['--help'], SPECS).help).toBe(true);
    expect(parseArgs(['--delete=false'], SPECS).flags.delete).toBe(false);
    expect(parseArgs(['--', '--env'], SPECS).positionals).toEqual(['--env']);
  });

  it.each([
    [['--envv', 'qa'], /^unknown flag --envv — did you mean --env\? Known flags: --env, --region/],
    [['--Region', 'x'], /did you mean --region\?/],
    [['--zzzzzzzz'], /^unknown flag --zzzzzzzz\. Known flags: --env, /],
    [
      ['-c', 'a=1'],
      /^unknown flag -c: this command does not read the app's config, so it takes no -c key=value\. Known/,
    ],
    [['--context', 'a=1'], /^unknown flag --context: this command does not read the app's config/],
    [['--env'], /^--env needs a value: the environment/],
    [['--env', '--delete'], /^--env needs a value/],
    [['--env='], /^--env must not be empty/],
    [['--examples', '-5'], /^--examples must be a whole number from 100 to 15,000 \(examples\), got "-5"/],
    [['--examples', '1.5'], /must be a whole number/],
    [['--delete=maybe'], /^--delete takes no value/],
    [['--region', 'useast1'], /^--region: not a Region$/],
    [['--help=yes'], /^--help takes no value/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseArgs(argv, SPECS)).toThrow(UsageError);
    expect(() => parseArgs(argv, SPECS)).toThrow(message);
  });

  it('refuses a -c without key=value', () => {
    expect(() => parseArgs(['-c', 'envName'], {}, { allowContext: true })).toThrow(/^-c needs key=value/);
    expect(() => parseArgs(['-c'], {}, { allowContext: true })).toThrow(/^-c needs key=value/);
  });

  it('prints the flags with -c and -h in the help', () => {
    expect(flagHelp(SPECS, { allowContext: true }).split('\n')).toEqual([
      '  --env <string>             the environment',
      '  --region <string>          the Region',
      '  --examples <integer>       examples',
      '  --delete                   delete',
      '  -c, --context <key=value>  CDK context, as for cdk synth (e.g. -c envName=prod)',
      '  -h, --help                 show this help',
    ]);
  });
});

describe('configFromFlags', () => {
  it('layers project context, -c pairs and flag values, and names the flag behind a bad value', () => {
    const flags = (env: string | undefined) => ({ env: { key: 'envName' as const, value: env } });
    expect(configFromFlags({ envName: 'a' }, { envName: 'b' }, flags(undefined)).envName).toBe('b');
    expect(configFromFlags({ envName: 'a' }, {}, flags('c')).envName).toBe('c');
    expect(configFromFlags({ envName: 'a' }, { envName: 'b' }, flags('b')).envName).toBe('b');
    expect(() => configFromFlags({}, {}, flags('Prod!'))).toThrow(ConfigError);
    expect(() => configFromFlags({}, {}, flags('Prod!'))).toThrow(
      /envName \(given: "Prod!"\): .* \[from --env "Prod!"\]/,
    );
    expect(() => configFromFlags({}, { env_name: 'prod' }, flags(undefined))).toThrow(
      /unknown key "env_name" — did you mean "envName"\?/,
    );
  });

  it('refuses a flag and a -c pair that set one key to two values, naming both', () => {
    const flags = { env: { key: 'envName' as const, value: 'prod' } };
    expect(() => configFromFlags({}, { envName: 'dev' }, flags)).toThrow(UsageError);
    expect(() => configFromFlags({}, { envName: 'dev' }, flags)).toThrow(
      /^--env prod and -c envName=dev disagree: give the envName once \(--env or -c envName=…\)$/,
    );
  });
});

describe("checkRegion: the config's own region rule", () => {
  it.each([
    ['us-east-1', undefined],
    ['us-west-2', undefined],
    ['us-east', /^"us-east" must be an AWS region such as us-east-1$/],
    [
      'eu-west-1',
      /^"eu-west-1" has no on-demand custom-model deployment.*: use us-east-1 or us-west-2 \(--region us-east-1\)$/,
    ],
  ])('%s → %p', (region, problem) => {
    const found = checkRegion(region);
    if (problem === undefined) expect(found).toBeUndefined();
    else expect(found).toMatch(problem);
    // One rule: the app refuses at synth exactly what the flag refuses.
    if (problem === undefined) expect(() => parseConfig({ region })).not.toThrow();
    else expect(() => parseConfig({ region })).toThrow(ConfigError);
  });
});
