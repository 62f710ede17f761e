import { GetParameterCommand, GetParameterHistoryCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { UsageError } from '../../lib/cli/args';
import { RollbackRefused, runRollback } from '../../lib/ops/rollback';
import { deploymentsToKeep, planRollback, type ParameterVersion } from '../../lambda/pipeline/rollout/promotion';

const $metadata = { httpStatusCode: 200, requestId: 'r' };
const dep = (id: string) => `arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/${id.padEnd(12, '0')}`;
const model = (run: string, deployment: string, promotedAt = '2026-11-25T10:00:00.000Z') =>
  JSON.stringify({
    deploymentArn: dep(deployment),
    modelArn: `arn:aws:bedrock:us-east-1:123456789012:custom-model/x/${run}`,
    runId: run,
    promotedAt,
    studentPromptVersion: 'student-v1',
    metrics: { judgeScore: 4.1 },
  });
const history = (...values: string[]): ParameterVersion[] => values.map((value, i) => ({ version: i + 1, value }));

describe('planRollback', () => {
  it('restores the latest earlier value that names another model', () => {
    const plan = planRollback(history('none', model('run-1', 'a'), model('run-2', 'b')));
    expect(plan).toMatchObject({ ok: true, current: { version: 3 }, restore: { version: 2 } });
  });

  it('skips versions that repeat the current model (a re-promotion)', () => {
    const plan = planRollback(
      history(model('run-1', 'a'), model('run-2', 'b'), model('run-2', 'b', '2026-11-26T10:00:00.000Z')),
    );
    expect(plan).toMatchObject({ ok: true, restore: { version: 1 } });
  });

  it('refuses when nothing else was ever promoted', () => {
    expect(planRollback(history('none'))).toEqual({
      ok: false,
      reason: "nothing to roll back to: every version in the parameter's history (1) holds the current value",
    });
    expect(planRollback([])).toMatchObject({ ok: false, reason: 'the parameter has no history' });
  });

  it('refuses to restore "none" unless allowed', () => {
    const h = history('none', model('run-1', 'a'));
    expect(planRollback(h)).toMatchObject({ ok: false, reason: expect.stringContaining('--allow-none') });
    expect(planRollback(h, true)).toMatchObject({ ok: true, restore: { version: 1, value: 'none' } });
  });
});

describe('deploymentsToKeep', () => {
  it('keeps the active deployment and the one a rollback would restore', () => {
    const keep = deploymentsToKeep(history('none', model('run-1', 'a'), model('run-2', 'b'), model('run-3', 'c')));
    expect([...keep].sort()).toEqual([dep('b'), dep('c')].sort());
  });

  it('keeps the candidate of a live canary too', () => {
    const withCanary = JSON.stringify({
      ...(JSON.parse(model('run-3', 'c')) as object),
      schemaVersion: 2,
      canary: {
        deploymentArn: dep('d'),
        modelArn: 'arn:aws:bedrock:us-east-1:123456789012:custom-model/x/run-4',
        runId: 'run-4',
        studentPromptVersion: 'student-v1',
        share: 0.1,
        startedAt: '2026-11-26T10:00:00.000Z',
      },
    });
    const keep = deploymentsToKeep(history(model('run-1', 'a'), model('run-2', 'b'), model('run-3', 'c'), withCanary));
    expect([...keep].sort()).toEqual([dep('b'), dep('c'), dep('d')].sort());
  });
});

describe('npm run rollback', () => {
  const ssm = mockClient(SSMClient);
  beforeEach(() => {
    ssm.reset();
    // No canary runs (rollback reads the current value first): the parameter's history decides what is restored.
    ssm
      .on(GetParameterCommand)
      .resolves({ $metadata, Parameter: { Name: '/intent-router/dev/active-model', Value: 'none', Version: 1 } });
  });
  const client = () => new SSMClient({ region: 'us-east-1' });

  it('writes the previous value back with Overwrite', async () => {
    ssm.on(GetParameterHistoryCommand).resolves({
      $metadata,
      Parameters: history('none', model('run-1', 'a'), model('run-2', 'b')).map((v) => ({
        Name: '/intent-router/dev/active-model',
        Version: v.version,
        Value: v.value,
      })),
    });
    ssm.on(PutParameterCommand).resolves({ $metadata, Version: 4 });
    const text = await runRollback(['--env', 'dev'], client);
    expect(ssm.commandCalls(PutParameterCommand)[0]?.args[0].input).toEqual({
      Name: '/intent-router/dev/active-model',
      Value: model('run-1', 'a'),
      Type: 'String',
      Overwrite: true,
    });
    expect(text).toContain('restoring version 2, run run-1');
    expect(text).toContain('Written as version 4');
  });

  it('refuses clearly when there is nothing to roll back to, and changes nothing', async () => {
    ssm.on(GetParameterHistoryCommand).resolves({ $metadata, Parameters: [{ Version: 1, Value: 'none' }] });
    await expect(runRollback(['--env', 'dev'], client)).rejects.toThrow(RollbackRefused);
    await expect(runRollback(['--env', 'dev'], client)).rejects.toThrow(
      /Cannot roll back \/intent-router\/dev\/active-model: nothing to roll back to/,
    );
    expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(0);
  });

  it('reads every page of the history and honours --dry-run', async () => {
    ssm
      .on(GetParameterHistoryCommand)
      .resolvesOnce({ $metadata, NextToken: 't', Parameters: [{ Version: 1, Value: model('run-1', 'a') }] })
      .resolves({ $metadata, Parameters: [{ Version: 2, Value: model('run-2', 'b') }] });
    const text = await runRollback(['--env', 'dev', '--dry-run'], client);
    expect(text).toContain('restoring version 1');
    expect(text).toContain('dry run');
    expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(0);
  });

  it('asks for --env', async () => {
    await expect(runRollback([], client)).rejects.toThrow(UsageError);
    await expect(runRollback(['--envv', 'dev'], client)).rejects.toThrow(/did you mean --env/);
  });
});
