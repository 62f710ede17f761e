import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import {
  GetParameterCommand,
  GetParameterHistoryCommand,
  ParameterNotFound,
  PutParameterCommand,
  SSMClient,
  type GetParameterCommandOutput,
  type GetParameterHistoryCommandOutput,
  type PutParameterCommandOutput,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { UsageError } from '../../lib/cli/args';
import { CanaryCommandRefused } from '../../lib/cli/canary-command';
import { OperatorError } from '../../lib/cli/errors';
import { runPipelineCli } from '../../lib/cli/pipeline-command';
import { PIPELINE_USAGE } from '../../lib/cli/pipeline-subcommands';
import type { PipelineCliDeps } from '../../lib/cli/pipeline';
import { runRollback } from '../../lib/ops/rollback';
import {
  activeModelFrom,
  promoteCanary,
  readActiveModel,
  withCanary,
  type ActiveModel,
} from '../../lambda/core/active-model';

const REGION = 'us-east-1';
const NAME = '/intent-router/qa/active-model';
const META = { httpStatusCode: 200, requestId: 'ssm-1', attempts: 1, totalRetryDelay: 0 };
const ssm = mockClient(SSMClient);

const INCUMBENT: ActiveModel = activeModelFrom({
  deploymentArn: 'arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/abc123def456',
  modelArn: 'arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-micro-v1:0:128k/abc',
  runId: 'run-1',
  promotedAt: '2026-11-20T09:00:00.000Z',
  studentPromptVersion: 'student-v1',
  metrics: { judgeScore: 4.1 },
});
const CANARY = withCanary(INCUMBENT, {
  deploymentArn: 'arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/zzz999yyy888',
  modelArn: 'arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-micro-v1:0:128k/def',
  runId: 'run-2',
  studentPromptVersion: 'student-v1',
  share: 0.1,
  startedAt: '2026-11-26T13:30:00.000Z',
  metrics: { judgeScore: 4.3 },
});

const parameter = (value: string, version: number): GetParameterCommandOutput => ({
  $metadata: META,
  Parameter: {
    Name: NAME,
    Type: 'String',
    Value: value,
    Version: version,
    DataType: 'text',
    ARN: `arn:aws:ssm:${REGION}:123456789012:parameter${NAME}`,
    LastModifiedDate: new Date('2026-11-26T13:30:00Z'),
  },
});
const put = (version: number): PutParameterCommandOutput => ({ $metadata: META, Version: version, Tier: 'Standard' });
const history = (...values: string[]): GetParameterHistoryCommandOutput => ({
  $metadata: META,
  Parameters: values.map((Value, i) => ({
    Name: NAME,
    Type: 'String',
    Value,
    Version: i + 1,
    LastModifiedDate: new Date(Date.UTC(2026, 10, 20 + i)),
    DataType: 'text',
  })),
});

let lines: string[] = [];
const deps = (): PipelineCliDeps => ({
  cfn: new CloudFormationClient({ region: REGION }),
  sfn: new SFNClient({ region: REGION }),
  s3: new S3Client({ region: REGION }),
  ssm: new SSMClient({ region: REGION }),
  out: (line) => lines.push(line),
  now: () => new Date('2026-11-26T13:42:00.000Z'),
});
const run = (...argv: string[]) => runPipelineCli(argv, deps, {});
/** The value the command wrote, read back with the router's own reader. */
const written = () => {
  const input = ssm.commandCalls(PutParameterCommand)[0]?.args[0].input;
  expect(input).toMatchObject({ Name: NAME, Type: 'String', Overwrite: true });
  const read = readActiveModel(input?.Value);
  if (read.state !== 'promoted') throw new Error(`wrote ${read.state}`);
  return read.model;
};

beforeEach(() => {
  ssm.reset();
  lines = [];
});

describe('npm run pipeline -- status', () => {
  it('shows the incumbent, the candidate with its share and since when', async () => {
    ssm.on(GetParameterCommand, { Name: NAME }).resolves(parameter(JSON.stringify(CANARY), 7));
    expect(await run('status', '--env', 'qa')).toBe(0);
    expect(lines).toEqual([
      `${NAME} (version 7)`,
      `incumbent: run run-1, ${INCUMBENT.deploymentArn}, promoted 2026-11-20T09:00:00.000Z (148 h 42 min ago)`,
      `candidate: run run-2, ${CANARY.canary?.deploymentArn}, 10% of queries since 2026-11-26T13:30:00.000Z (12 min ago)`,
      'incumbent share: 90%',
    ]);
    expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(0);
  });

  it('says when no canary is running, and when nothing is promoted', async () => {
    ssm
      .on(GetParameterCommand)
      .resolvesOnce(parameter(JSON.stringify(INCUMBENT), 3))
      .resolves(parameter('none', 1));
    await run('status', '--env', 'qa');
    expect(lines.at(-1)).toBe('canary: none (the incumbent answers all traffic)');
    await run('status', '--env', 'qa');
    expect(lines.at(-1)).toMatch(/^nothing promoted/);
  });
});

describe('npm run pipeline -- promote', () => {
  it('ends the canary early: the candidate becomes the one model, promoted now', async () => {
    ssm.on(GetParameterCommand).resolves(parameter(JSON.stringify(CANARY), 7));
    ssm.on(PutParameterCommand).resolves(put(8));
    expect(await run('promote', '--env', 'qa')).toBe(0);
    const model = written();
    expect(model).toMatchObject({
      deploymentArn: CANARY.canary?.deploymentArn,
      runId: 'run-2',
      promotedAt: '2026-11-26T13:42:00.000Z',
      metrics: { judgeScore: 4.3 },
    });
    expect(model.canary).toBeUndefined();
    expect(lines.join('\n')).toMatch(
      /promoting candidate run run-2 .* over incumbent run run-1\. Written as version 8/,
    );
  });

  it('refuses clearly when there is no canary, writing nothing', async () => {
    ssm.on(GetParameterCommand).resolves(parameter(JSON.stringify(INCUMBENT), 3));
    const attempt = run('promote', '--env', 'qa');
    await expect(attempt).rejects.toThrow(CanaryCommandRefused);
    await expect(run('promote', '--env', 'qa')).rejects.toThrow(
      `Cannot promote: there is no canary in ${NAME} (it names run run-1 only). See npm run pipeline -- status --env qa`,
    );
    expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(0);
  });

  it('changes nothing with --dry-run', async () => {
    ssm.on(GetParameterCommand).resolves(parameter(JSON.stringify(CANARY), 7));
    await run('promote', '--env', 'qa', '--dry-run');
    expect(lines.at(-1)).toMatch(/\(dry run: nothing changed\)\.$/);
    expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(0);
  });
});

describe('rollback mid-canary (npm run pipeline -- rollback, npm run rollback)', () => {
  it('drops the candidate and keeps the incumbent as it was, without reading the history', async () => {
    ssm.on(GetParameterCommand).resolves(parameter(JSON.stringify(CANARY), 7));
    ssm.on(PutParameterCommand).resolves(put(8));
    expect(await run('rollback', '--env', 'qa')).toBe(0);
    expect(written()).toEqual({ ...INCUMBENT, schemaVersion: 2 });
    expect(ssm.commandCalls(GetParameterHistoryCommand)).toHaveLength(0);
    expect(lines.at(-1)).toMatch(/runs a canary \(candidate run run-2.*dropping the candidate, incumbent run run-1/);
  });

  it('npm run rollback does the same mid-canary', async () => {
    ssm.on(GetParameterCommand).resolves(parameter(JSON.stringify(CANARY), 7));
    ssm.on(PutParameterCommand).resolves(put(8));
    await runRollback(['--env', 'qa', '--region', REGION], (region) => new SSMClient({ region: region ?? REGION }), {});
    expect(written()).toEqual({ ...INCUMBENT, schemaVersion: 2 });
  });

  it('with no canary, restores the previous model from the history, never restarting a past canary', async () => {
    const promoted = promoteCanary(CANARY, new Date('2026-11-26T14:00:00.000Z'));
    ssm.on(GetParameterCommand).resolves(parameter(JSON.stringify(promoted), 3));
    ssm
      .on(GetParameterHistoryCommand)
      .resolves(history(JSON.stringify(INCUMBENT), JSON.stringify(CANARY), JSON.stringify(promoted)));
    ssm.on(PutParameterCommand).resolves(put(4));
    await run('rollback', '--env', 'qa');
    expect(written()).toEqual({ ...INCUMBENT, schemaVersion: 2 });
    expect(lines.at(-1)).toMatch(
      /restoring version 2, run run-1 .* without its canary candidate\. Written as version 4/,
    );
  });
});

describe('canary commands: flags before any AWS call', () => {
  it.each([
    [['promote'], /--env is required/],
    [['rollback'], /--env is required/],
    [['status'], /--env is required/],
    [['promote', '--env', 'qa', '--allow-none'], /--allow-none does not apply to "promote"/],
    [['status', '--env', 'qa', '--dry-run'], /--dry-run does not apply to "status"/],
    [['rollback', '--env', 'qa', 'now'], /unexpected argument "now"/],
  ])('%j is refused', async (argv, message) => {
    await expect(run(...argv)).rejects.toThrow(UsageError);
    await expect(run(...argv)).rejects.toThrow(message);
    expect(ssm.calls()).toHaveLength(0);
  });

  it('lists the commands in --help', async () => {
    expect(await run('--help')).toBe(0);
    expect(lines).toEqual([PIPELINE_USAGE]);
    expect(PIPELINE_USAGE).toMatch(
      /pipeline -- status --env[^]*pipeline -- promote --env[^]*pipeline -- rollback --env/,
    );
  });

  it('names the missing parameter and the Region', async () => {
    ssm.on(GetParameterCommand).rejects(new ParameterNotFound({ message: '', $metadata: { httpStatusCode: 400 } }));
    await expect(run('status', '--env', 'qa')).rejects.toThrow(OperatorError);
    await expect(run('status', '--env', 'qa')).rejects.toThrow(`Parameter ${NAME} not found in us-east-1`);
  });
});
