import {
  GetParameterCommand,
  GetParameterHistoryCommand,
  ParameterNotFound,
  PutParameterCommand,
  SSMClient,
  type GetParameterHistoryCommandInput,
  type GetParameterHistoryCommandOutput,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { UsageError } from '../../lib/cli/args';
import { OperatorError } from '../../lib/cli/errors';
import { ConfigError } from '../../lib/config';
import { parameterHistory, ROLLBACK_HELP, runRollback } from '../../lib/ops/rollback';

const $metadata = { httpStatusCode: 200, requestId: 'r' };
const ssm = mockClient(SSMClient);
const client = (region = 'us-east-1') => new SSMClient({ region });
beforeEach(() => ssm.reset());

describe('npm run rollback (operator errors)', () => {
  it('says which parameter is missing in which Region, and how to fix it', async () => {
    // GetParameter (is a canary running?) is the first call: it meets the missing parameter.
    ssm.on(GetParameterCommand).rejects(new ParameterNotFound({ message: '', $metadata: { httpStatusCode: 400 } }));
    const attempt = runRollback(['--env', 'prod', '--region', 'us-west-2'], client, {});
    await expect(attempt).rejects.toThrow(OperatorError);
    await expect(runRollback(['--env', 'prod', '--region', 'us-west-2'], client, {})).rejects.toThrow(
      'Parameter /intent-router/prod/active-model not found in us-west-2: environment "prod" has no Api stack there.',
    );
  });

  it('talks to --region, else the region set in the CDK context, else the SDK’s own chain', async () => {
    // GetParameter (is a canary running?) is the first call: it meets the missing parameter.
    ssm.on(GetParameterCommand).rejects(new ParameterNotFound({ message: '', $metadata: { httpStatusCode: 400 } }));
    const asked: (string | undefined)[] = [];
    const factory = (region?: string) => {
      asked.push(region);
      return client(region ?? 'eu-west-1');
    };
    const attempt = (argv: string[], base: Record<string, unknown>) =>
      runRollback(argv, factory, base).catch((error: unknown) => (error instanceof Error ? error.message : ''));
    expect(await attempt(['--env', 'dev', '-c', 'region=us-west-2'], {})).toMatch(/ not found in us-west-2:/);
    expect(await attempt(['--env', 'dev'], { region: 'us-west-2' })).toMatch(/ not found in us-west-2:/);
    expect(await attempt(['--env', 'dev', '--region', 'us-east-1'], { region: 'us-west-2' })).toMatch(
      / not found in us-east-1:/,
    );
    expect(await attempt(['--env', 'dev'], {})).toMatch(/ not found in eu-west-1:/);
    expect(asked).toEqual(['us-west-2', 'us-west-2', 'us-east-1', undefined]);
  });

  it('checks flags and context before any AWS call', async () => {
    await expect(runRollback(['--env', 'dev', '-c', 'EnvName=prod'], client, {})).rejects.toThrow(ConfigError);
    await expect(runRollback(['--env', 'dev', '--region', 'Virginia'], client, {})).rejects.toThrow(
      /^--region: "Virginia" must be an AWS region such as us-east-1/,
    );
    await expect(runRollback(['--env', 'dev', 'now'], client, {})).rejects.toThrow(UsageError);
    expect(ssm.calls()).toHaveLength(0);
  });

  it('prints its help for -h and --help', async () => {
    expect(await runRollback(['-h'], client, {})).toBe(ROLLBACK_HELP);
    expect(ROLLBACK_HELP).toMatch(/^Usage: npm run rollback -- --env <envName>[^]*-h, --help +show this help$/);
    expect(ssm.calls()).toHaveLength(0);
  });

  it('reads every page of the history through the SDK paginator', async () => {
    ssm
      .on(GetParameterHistoryCommand)
      .callsFake(async (input: GetParameterHistoryCommandInput): Promise<GetParameterHistoryCommandOutput> => {
        const page = Number(input.NextToken ?? 0);
        return {
          $metadata,
          Parameters: [{ Version: page + 1, Value: 'none' }],
          ...(page < 2 ? { NextToken: String(page + 1) } : {}),
        };
      });
    expect(await parameterHistory(client(), '/intent-router/dev/active-model')).toEqual([
      { version: 1, value: 'none' },
      { version: 2, value: 'none' },
      { version: 3, value: 'none' },
    ]);
    expect(ssm.commandCalls(GetParameterHistoryCommand)).toHaveLength(3);
    expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(0);
  });
});
