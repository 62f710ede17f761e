import { UsageError } from '../../lib/cli/args';
import { runCost } from '../../lib/cli/cost';

const run = (...argv: string[]) => {
  const result = runCost(argv, {});
  if ('help' in result) throw new Error('help was not asked for');
  return result;
};

describe('npm run cost', () => {
  it('estimates for the flags given, over the configured defaults', () => {
    const { estimate, text } = run('--examples', '10000', '--queries-per-month', '10000000');
    expect(text).toMatch(
      /^## Cost estimate: 10,000 training \+ 500 held-out examples, 10,000,000 routed queries\/month/,
    );
    expect(estimate.routing.queriesPerMonth).toBe(10_000_000);
    expect(estimate.stages.find((s) => s.stage === 'generation')?.lines[1]?.calls).toBe(14175);
  });

  it('accepts --flag=value, digit separators, a boolean flag and distillation rates', () => {
    const plain = run('--examples=2000').estimate;
    const other = run('--examples=2,000', '--reasoning', '--training-per-1k', '0.002', '--epochs', '3').estimate;
    expect(other.stages[0]?.lines[1]?.calls).toBe(plain.stages[0]?.lines[1]?.calls);
    expect(other.stages[1]?.lines[1]?.item).toBe('training (3 epochs)');
    expect(other.runUsd).toBeGreaterThan(plain.runUsd);
  });

  it('takes price overrides as CDK context, like the app', () => {
    const cheap = run(
      '-c',
      'teacherModelId=us.amazon.nova-premier-v1:0',
      '--context=prices={"amazon.nova-premier-v1:0":{"inputPer1M":0,"outputPer1M":0}}',
    ).estimate;
    expect(cheap.stages[0]?.usd).toBe(0);
  });

  it.each([
    [['--exampels', '10'], /unknown flag --exampels — did you mean --examples\?/],
    [['--examples', 'ten'], /--examples must be a whole number .*got "ten"/],
    [
      ['--examples', '50'],
      /exampleCount \(given: 50\): must be a whole number from 100 to 15000 \[from --examples 50\]/,
    ],
    [['--examples', '200'], /testExampleCount: must be smaller than exampleCount \[from --examples 200\]/],
    [['--queries-per-month'], /--queries-per-month needs a value/],
    [['--queries-per-month', '-5'], /--queries-per-month must be a whole number of at least 0/],
    [['--reasoning=maybe'], /--reasoning takes no value/],
    [['--judge', 'acme.judge-v1:0'], /no price for model "acme\.judge-v1:0"/],
    [['10000'], /unexpected argument "10000"/],
  ])('rejects %j with a message naming the flag', (argv, message) => {
    expect(() => runCost(argv, {})).toThrow(UsageError);
    expect(() => runCost(argv, {})).toThrow(message);
  });

  it('prints help', () => {
    const result = runCost(['--help'], {});
    expect('help' in result && result.help).toMatch(/--queries-per-month <integer>/);
  });
});
