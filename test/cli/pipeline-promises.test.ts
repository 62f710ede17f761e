import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { UsageError } from '../../lib/cli/args';
import type { PipelineCliDeps } from '../../lib/cli/pipeline';
import { runPipelineCli } from '../../lib/cli/pipeline-command';
import { PIPELINE_USAGE, subcommandUsage } from '../../lib/cli/pipeline-subcommands';
import { ConfigError } from '../../lib/config';

/**
 * What `npm run pipeline` promises before any AWS call: every subcommand names its environment, the checks the README
 * states (a future --since, a Region the app cannot be deployed to, a flag and a -c pair that disagree) refuse the
 * command with no SDK request sent, and each subcommand has its own --help.
 */

const REGION = 'us-east-1';
const STATE_MACHINE_ARN = `arn:aws:states:${REGION}:123456789012:stateMachine:IntentRouter-qa-Pipeline`;
const MODEL_ARN = `arn:aws:bedrock:${REGION}:123456789012:custom-model/amazon.nova-micro-v1:0:128k/abc123def456`;
const META = { httpStatusCode: 200, requestId: 'req-1', attempts: 1, totalRetryDelay: 0 };
/** The clock the commands read: "today" is 2026-11-25 (UTC). */
const NOW = new Date('2026-11-25T23:30:00.000Z');

const cfn = mockClient(CloudFormationClient);
const sfn = mockClient(SFNClient);
const s3 = mockClient(S3Client);
const ssm = mockClient(SSMClient);
const sdkCalls = () => [...cfn.calls(), ...sfn.calls(), ...s3.calls(), ...ssm.calls()];
let lines: string[];

/** Clients as the script builds them, in `region` (AWS_REGION's part), and no credentials anywhere. */
const clients =
  (fallbackRegion = REGION) =>
  (region: string | undefined): PipelineCliDeps => {
    const config = { region: region ?? fallbackRegion };
    return {
      cfn: new CloudFormationClient(config),
      sfn: new SFNClient(config),
      s3: new S3Client(config),
      ssm: new SSMClient(config),
      out: (line) => lines.push(line),
      now: () => NOW,
    };
  };
const cli = (...argv: string[]) => runPipelineCli(argv, clients(), {});

beforeEach(() => {
  for (const mock of [cfn, sfn, s3, ssm]) mock.reset();
  lines = [];
  cfn.on(DescribeStacksCommand).resolves({
    $metadata: META,
    Stacks: [
      {
        StackName: 'IntentRouter-qa-Pipeline',
        CreationTime: NOW,
        StackStatus: 'CREATE_COMPLETE',
        Outputs: [
          { OutputKey: 'StateMachineArn', OutputValue: STATE_MACHINE_ARN },
          { OutputKey: 'DatasetBucketName', OutputValue: 'bucket' },
        ],
      },
    ],
  });
  sfn.on(StartExecutionCommand).resolves({ $metadata: META, executionArn: `${STATE_MACHINE_ARN}:r1`, startDate: NOW });
});

const started = () => JSON.parse(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input.input ?? '{}') as unknown;

describe('one rule for --env: every pipeline command names its environment', () => {
  it.each([
    [['start', '--examples', '2000']],
    [['start', '--from-production']],
    [['watch', 'run-a']],
    [['list']],
    [['report', 'run-a']],
    [['status']],
    [['promote']],
    [['rollback', '--dry-run']],
  ])('%j without --env is refused before any AWS call', async (argv) => {
    await expect(cli(...argv)).rejects.toThrow(UsageError);
    await expect(cli(...argv)).rejects.toThrow(
      new RegExp(`^--env is required: name the environment "${argv[0]}" acts on \\(npm run pipeline -- ${argv[0]} `),
    );
    expect(sdkCalls()).toHaveLength(0);
  });

  it('takes -c envName=<envName> as the environment, as the rollback script does', async () => {
    expect(await cli('start', '-c', 'envName=qa', '--run-id', 'r1')).toBe(0);
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(1);
  });

  it('does not take the environment from cdk.json: a paid run is never started in a default environment', async () => {
    await expect(runPipelineCli(['start'], clients(), { envName: 'qa' })).rejects.toThrow(/^--env is required/);
    expect(sdkCalls()).toHaveLength(0);
  });

  it('documents the rule in the help of every subcommand', () => {
    expect(PIPELINE_USAGE).toMatch(/Every command needs --env \(or -c envName=<envName>\)/);
    for (const command of ['start', 'watch', 'list', 'report', 'status', 'promote', 'rollback'] as const) {
      expect(subcommandUsage(command)).toMatch(/--env <string> +the environment \(config envName\); required/);
    }
  });
});

describe('checks before any AWS call', () => {
  it.each([
    [
      ['--since', '2026-11-26'],
      /^--since 2026-11-26 is in the future \(today is 2026-11-25, UTC\): .*up to 2026-11-25$/,
    ],
    [['--since', '2099-01-01'], /^--since 2099-01-01 is in the future/],
  ])('refuses a --since in the future: %j', async (since, message) => {
    await expect(cli('start', '--env', 'qa', '--from-production', ...since)).rejects.toThrow(message);
    expect(sdkCalls()).toHaveLength(0);
  });

  it('takes --since today', async () => {
    expect(await cli('start', '--env', 'qa', '--run-id', 'r1', '--from-production', '--since', '2026-11-25')).toBe(0);
    expect(started()).toEqual({ fromProduction: { since: '2026-11-25' } });
  });

  it('re-evaluates a model on the dataset it was trained on with --reuse-dataset and --reuse-model, as its help says', async () => {
    expect(subcommandUsage('start')).toMatch(
      /--reuse-dataset with --reuse-model re-evaluates that model on the dataset it was trained on/,
    );
    expect(
      await cli('start', '--env', 'qa', '--run-id', 'r1', '--reuse-dataset', 'run-a', '--reuse-model', MODEL_ARN),
    ).toBe(0);
    expect(started()).toEqual({ reuseDatasetFromRun: 'run-a', reuseModelArn: MODEL_ARN });
  });

  it.each([
    [['list', '--env', 'qa', '--region', 'eu-west-1']],
    [['start', '--env', 'qa', '--region', 'eu-west-1']],
    [['status', '--env', 'qa', '--region', 'eu-west-1']],
  ])('refuses a --region the app refuses at synth (the config rule): %j', async (argv) => {
    await expect(cli(...argv)).rejects.toThrow(
      /^--region: "eu-west-1" has no on-demand custom-model deployment.*use us-east-1 or us-west-2 \(--region us-east-1\)$/,
    );
    expect(sdkCalls()).toHaveLength(0);
  });

  it('refuses -c region= the app refuses, and a Region from AWS_REGION the app refuses', async () => {
    await expect(cli('list', '--env', 'qa', '-c', 'region=eu-west-1')).rejects.toThrow(ConfigError);
    await expect(runPipelineCli(['list', '--env', 'qa'], clients('eu-west-1'), {})).rejects.toThrow(
      /^Region \(from AWS_REGION or your AWS profile\): "eu-west-1" has no on-demand custom-model deployment/,
    );
    expect(sdkCalls()).toHaveLength(0);
  });

  it.each([
    [['start', '--env', 'prod', '-c', 'envName=dev'], /^--env prod and -c envName=dev disagree: give the envName once/],
    [['promote', '--env', 'prod', '-c', 'envName=dev'], /^--env prod and -c envName=dev disagree/],
    [
      ['list', '--env', 'qa', '--region', 'us-west-2', '-c', 'region=us-east-1'],
      /^--region us-west-2 and -c region=us-east-1 disagree: give the region once/,
    ],
  ])('refuses a flag and a -c pair that disagree: %j', async (argv, message) => {
    await expect(cli(...argv)).rejects.toThrow(UsageError);
    await expect(cli(...argv)).rejects.toThrow(message);
    expect(sdkCalls()).toHaveLength(0);
  });

  it('accepts a flag and a -c pair that agree', async () => {
    expect(await cli('start', '--env', 'qa', '-c', 'envName=qa', '--run-id', 'r1')).toBe(0);
  });

  it.each([
    [['list', '--env', 'qa', '--max', '5000'], 'from 1 to 1,000', /production/],
    [['start', '--env', 'qa', '--from-production', '--max', '0'], 'from 1 to 100,000', /recent runs/],
  ])('says one range per message for --max: %j', async (argv, range, otherUse) => {
    const error: unknown = await cli(...argv).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    const message = error instanceof Error ? error.message : '';
    expect(message).toContain(`--max must be a whole number ${range}`);
    expect(message).not.toMatch(otherUse);
    expect(message.match(/ to [\d,]+/g)).toHaveLength(1);
  });
});

describe('npm run pipeline -- <subcommand> --help', () => {
  const OWN_FLAGS = {
    start: [
      '--examples',
      '--run-id',
      '--reuse-dataset',
      '--reuse-model',
      '--candidates',
      '--from-production',
      '--since',
      '--max',
    ],
    watch: ['--interval'],
    list: ['--max'],
    report: ['--open'],
    status: [],
    promote: ['--dry-run'],
    rollback: ['--dry-run', '--allow-none'],
  } as const;
  const EVERY_FLAG = [...new Set(Object.values(OWN_FLAGS).flat())];

  it.each(Object.entries(OWN_FLAGS))(
    '%s --help describes that subcommand: its flags and an example',
    async (command, own) => {
      expect(await cli(command, '--help')).toBe(0);
      const help = lines.join('\n');
      expect(help).not.toBe(PIPELINE_USAGE);
      expect(help).toMatch(new RegExp(`^Usage:\\n {2}npm run pipeline -- ${command} `));
      expect(help).toMatch(new RegExp(`\\nExample:\\n {2}npm run pipeline -- ${command} [^\\n]*--env \\w+`));
      const listed = [...help.matchAll(/^ {2}(--[a-z-]+)/gm)].map((m) => m[1]);
      expect(listed).toEqual(['--env', '--region', ...own]);
      for (const flag of EVERY_FLAG.filter((f) => !(own as readonly string[]).includes(f))) {
        expect(listed).not.toContain(flag);
      }
      expect(help.split('\n').length).toBeLessThan(40);
      expect(sdkCalls()).toHaveLength(0);
    },
  );

  it.each([[['status', '-h']], [['--help', 'status']], [['help', 'status']]])(
    'prints the subcommand help for %j too',
    async (argv) => {
      expect(await cli(...argv)).toBe(0);
      expect(lines.join('\n')).toBe(subcommandUsage('status'));
    },
  );

  it('points to the subcommand help when a flag does not apply', async () => {
    await expect(cli('status', '--env', 'qa', '--examples', '5')).rejects.toThrow(
      '--examples does not apply to "status" (npm run pipeline -- status --help)',
    );
  });

  it('keeps the overview short and lists every subcommand', () => {
    expect(PIPELINE_USAGE.split('\n').length).toBeLessThan(40);
    for (const command of Object.keys(OWN_FLAGS)) {
      expect(PIPELINE_USAGE).toContain(`npm run pipeline -- ${command} `);
    }
  });
});
