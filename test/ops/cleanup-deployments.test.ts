import {
  AccessDeniedException,
  BedrockClient,
  ConflictException,
  DeleteCustomModelCommand,
  DeleteCustomModelDeploymentCommand,
  ListCustomModelDeploymentsCommand,
  ListTagsForResourceCommand,
  type CustomModelDeploymentSummary,
  type DeleteCustomModelDeploymentCommandInput,
  type DeleteCustomModelDeploymentCommandOutput,
  type ListTagsForResourceCommandInput,
  type ListTagsForResourceCommandOutput,
} from '@aws-sdk/client-bedrock';
import {
  CloudFormationClient,
  CloudFormationServiceException,
  DescribeStacksCommand,
} from '@aws-sdk/client-cloudformation';
import {
  DescribeExecutionCommand,
  ListExecutionsCommand,
  SFNClient,
  type DescribeExecutionCommandInput,
  type DescribeExecutionCommandOutput,
} from '@aws-sdk/client-sfn';
import { GetParameterHistoryCommand, ParameterNotFound, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { OperatorError } from '../../lib/cli/errors';
import { cleanupDeployments, runCleanup, type CleanupClients } from '../../lib/ops/cleanup-deployments';
import { resourceTags, trainingNames } from '../../lambda/core/job-names';

const $metadata = { httpStatusCode: 200, requestId: 'r' };
const REGION = 'us-east-1';
const ACCOUNT = '123456789012';
const STATE_MACHINE_ARN = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:IntentRouter-dev-Pipeline`;
const dep = (id: string) => `arn:aws:bedrock:${REGION}:${ACCOUNT}:custom-model-deployment/${id.padEnd(12, '0')}`;
const modelArn = (run: string) =>
  `arn:aws:bedrock:${REGION}:${ACCOUNT}:custom-model/amazon.nova-micro-v1:0:128k/${run}`;
const value = (run: string, deployment: string) =>
  JSON.stringify({
    deploymentArn: dep(deployment),
    modelArn: modelArn(run),
    runId: run,
    promotedAt: '2026-11-25T10:00:00.000Z',
    studentPromptVersion: 'student-v1',
    metrics: { judgeScore: 4.1 },
  });
/** Deployments by id: run whose model it serves, environment tag, name (the run's deployment name by default). */
const DEPLOYMENTS: Record<string, { run: string; env: string; name?: string; candidate?: string }> = {
  a: { run: 'run-1', env: 'dev' },
  b: { run: 'run-2', env: 'dev' },
  c: { run: 'run-3', env: 'dev' },
  d: { run: 'run-4', env: 'prod' },
  e: { run: 'run-5', env: 'dev' },
  f: { run: 'run-6', env: 'dev' },
  // Candidates: run-8 has finished (ft-micro won and is active, distill-micro is its runner-up); run-9 is running.
  g: { run: 'run-8', env: 'dev', candidate: 'ft-micro' },
  h: { run: 'run-8', env: 'dev', candidate: 'distill-micro' },
  i: { run: 'run-9', env: 'dev', candidate: 'ft-micro' },
  j: { run: 'run-9', env: 'dev', candidate: 'distill-micro' },
};
/** The tags a run puts on its deployments (with the Candidate tag for a candidate's). */
const tagsOf = (id: string) => {
  const d = DEPLOYMENTS[id];
  return d ? resourceTags(d.env, d.run, d.candidate) : [];
};
const summary = (id: string): CustomModelDeploymentSummary => {
  const d = DEPLOYMENTS[id] ?? { run: 'run-x', env: 'dev' };
  return {
    customModelDeploymentArn: dep(id),
    customModelDeploymentName: d.name ?? trainingNames(d.env, d.run, d.candidate).deploymentName,
    modelArn: modelArn(d.candidate ? `${d.run}-${d.candidate}` : d.run),
    createdAt: new Date('2026-11-20T10:00:00Z'),
    status: 'Active',
  };
};

const bedrock = mockClient(BedrockClient);
const ssm = mockClient(SSMClient);
const cfn = mockClient(CloudFormationClient);
const sfn = mockClient(SFNClient);
const clients = (region = REGION): CleanupClients => ({
  bedrock: new BedrockClient({ region }),
  ssm: new SSMClient({ region }),
  cfn: new CloudFormationClient({ region }),
  sfn: new SFNClient({ region }),
});

/** Running executions of the dev state machine: run id → execution input. */
let running: Record<string, string>;

beforeEach(() => {
  for (const mock of [bedrock, ssm, cfn, sfn]) mock.reset();
  running = {};
  // History: run-1 then run-2 then run-3 promoted; run-3 active, run-2 what rollback restores.
  ssm.on(GetParameterHistoryCommand).resolves({
    $metadata,
    Parameters: [value('run-1', 'a'), value('run-2', 'b'), value('run-3', 'c')].map((v, i) => ({
      Name: '/intent-router/dev/active-model',
      Version: i + 1,
      Value: v,
    })),
  });
  bedrock
    .on(ListCustomModelDeploymentsCommand)
    .resolvesOnce({ $metadata, nextToken: 'p2', modelDeploymentSummaries: ['a', 'b', 'c'].map(summary) })
    .resolves({ $metadata, modelDeploymentSummaries: ['d', 'e', 'f'].map(summary) });
  bedrock
    .on(ListTagsForResourceCommand)
    .callsFake(async (input: ListTagsForResourceCommandInput): Promise<ListTagsForResourceCommandOutput> => {
      const id = Object.keys(DEPLOYMENTS).find((k) => dep(k) === input.resourceARN);
      return { $metadata, tags: id ? tagsOf(id) : [] };
    });
  bedrock.on(DeleteCustomModelDeploymentCommand).resolves({ $metadata });
  cfn.on(DescribeStacksCommand, { StackName: 'IntentRouter-dev-Pipeline' }).resolves({
    $metadata,
    Stacks: [
      {
        StackName: 'IntentRouter-dev-Pipeline',
        CreationTime: new Date('2026-11-01T00:00:00Z'),
        StackStatus: 'UPDATE_COMPLETE',
        Outputs: [{ OutputKey: 'StateMachineArn', OutputValue: STATE_MACHINE_ARN }],
      },
    ],
  });
  sfn
    .on(ListExecutionsCommand, { stateMachineArn: STATE_MACHINE_ARN, statusFilter: 'RUNNING' })
    .callsFake(async () => ({
      $metadata,
      executions: Object.keys(running).map((name) => ({
        executionArn: `arn:aws:states:${REGION}:${ACCOUNT}:execution:IntentRouter-dev-Pipeline:${name}`,
        stateMachineArn: STATE_MACHINE_ARN,
        name,
        status: 'RUNNING' as const,
        startDate: new Date('2026-11-25T09:00:00Z'),
      })),
    }));
  sfn
    .on(DescribeExecutionCommand)
    .callsFake(async (input: DescribeExecutionCommandInput): Promise<DescribeExecutionCommandOutput> => {
      const name = input.executionArn?.split(':').at(-1) ?? '';
      return {
        $metadata,
        executionArn: input.executionArn,
        stateMachineArn: STATE_MACHINE_ARN,
        name,
        status: 'RUNNING',
        startDate: new Date('2026-11-25T09:00:00Z'),
        input: running[name] ?? '{}',
      };
    });
});

const deleted = () =>
  bedrock.commandCalls(DeleteCustomModelDeploymentCommand).map((c) => c.args[0].input.customModelDeploymentIdentifier);

describe('npm run cleanup-deployments', () => {
  it('keeps the active deployment and the one rollback restores, saying why; lists only this environment’s', async () => {
    const result = await cleanupDeployments(clients(), { envName: 'dev' });
    const kept = result.deployments.filter((d) => d.outcome === 'kept');
    expect(kept.map((d) => [d.deployment.customModelDeploymentArn, d.outcome === 'kept' && d.reasons])).toEqual([
      [dep('b'), ['npm run rollback restores it (parameter version 2)']],
      [dep('c'), ['active (parameter version 3)']],
    ]);
    expect(
      result.deployments.filter((d) => d.outcome === 'superseded').map((d) => d.deployment.customModelDeploymentArn),
    ).toEqual([dep('a'), dep('e'), dep('f')]);
    expect(deleted()).toEqual([]);
  });

  it('keeps the deployment of a run still running, and any deployment of the model a running run reuses', async () => {
    // run-5 is being evaluated on its own deployment e; run-7 reuses run-6's model, served by deployment f.
    running = { 'run-5': '{}', 'run-7': JSON.stringify({ reuseModelArn: modelArn('run-6') }) };
    const { text, exitCode } = await runCleanup(['--env', 'dev', '--delete'], clients, {});
    expect(deleted()).toEqual([dep('a')]);
    expect(exitCode).toBe(0);
    expect(text.split('\n')).toEqual([
      'Deployments of environment dev (running runs: run-5, run-7):',
      `  deleted  ir-dev-run-1-student  Active  ${dep('a')}`,
      `  kept     ir-dev-run-2-student  Active  ${dep('b')} — npm run rollback restores it (parameter version 2)`,
      `  kept     ir-dev-run-3-student  Active  ${dep('c')} — active (parameter version 3)`,
      `  kept     ir-dev-run-5-student  Active  ${dep('e')} — run run-5 is running and deployed it`,
      `  kept     ir-dev-run-6-student  Active  ${dep('f')} — run run-7 is running and reuses its model`,
      '4 kept, 1 deleted, 0 failed.',
    ]);
  });

  it('knows candidates’ deployments by their tags: keeps a running run’s and the winner, deletes finished runners-up but never a model', async () => {
    bedrock
      .on(ListCustomModelDeploymentsCommand)
      .resolves({ $metadata, modelDeploymentSummaries: ['c', 'g', 'h', 'i', 'j'].map(summary) });
    // run-8's winner (g) was promoted after run-3 (c), which rollback would restore.
    ssm.on(GetParameterHistoryCommand).resolves({
      $metadata,
      Parameters: [value('run-3', 'c'), value('run-8', 'g')].map((v, i) => ({
        Name: '/intent-router/dev/active-model',
        Version: i + 1,
        Value: v,
      })),
    });
    running = { 'run-9': '{}' };

    const listed = await runCleanup(['--env', 'dev'], clients, {});
    expect(listed.text).toContain(
      `  unused   ir-dev-run-8_distill-micro-student  Active  ${dep('h')} (candidate distill-micro of finished run ` +
        'run-8; its model is kept) — delete with --delete',
    );
    expect(deleted()).toEqual([]);

    const { text, exitCode } = await runCleanup(['--env', 'dev', '--delete'], clients, {});
    expect(exitCode).toBe(0);
    expect(deleted()).toEqual([dep('h')]);
    expect(bedrock.commandCalls(DeleteCustomModelCommand)).toHaveLength(0);
    expect(text.split('\n')).toEqual([
      'Deployments of environment dev (running runs: run-9):',
      `  kept     ir-dev-run-3-student  Active  ${dep('c')} — npm run rollback restores it (parameter version 1)`,
      `  kept     ir-dev-run-8_ft-micro-student  Active  ${dep('g')} — active (parameter version 2)`,
      `  deleted  ir-dev-run-8_distill-micro-student  Active  ${dep('h')} (candidate distill-micro of finished run run-8; its model is kept)`,
      `  kept     ir-dev-run-9_ft-micro-student  Active  ${dep('i')} — run run-9 is running and deployed it for candidate ft-micro`,
      `  kept     ir-dev-run-9_distill-micro-student  Active  ${dep('j')} — run run-9 is running and deployed it for candidate distill-micro`,
      '4 kept, 1 deleted, 0 failed.',
    ]);
  });

  it('goes on after a failed deletion, reports each result truthfully and exits 1', async () => {
    bedrock
      .on(DeleteCustomModelDeploymentCommand)
      .callsFake(
        async (input: DeleteCustomModelDeploymentCommandInput): Promise<DeleteCustomModelDeploymentCommandOutput> => {
          if (input.customModelDeploymentIdentifier === dep('a')) {
            throw new ConflictException({
              message: 'The deployment is being updated',
              $metadata: { httpStatusCode: 409 },
            });
          }
          return { $metadata };
        },
      );
    const { text, exitCode } = await runCleanup(['--env', 'dev', '--delete'], clients, {});
    expect(deleted()).toEqual([dep('a'), dep('e'), dep('f')]);
    expect(exitCode).toBe(1);
    expect(text).toContain(
      `  FAILED   ir-dev-run-1-student  Active  ${dep('a')} — not deleted: ConflictException: The deployment is being updated`,
    );
    expect(text).toContain(`  deleted  ir-dev-run-5-student  Active  ${dep('e')}`);
    expect(text).not.toMatch(new RegExp(`deleted .*${dep('a')}`));
    expect(text.split('\n').at(-1)).toBe('2 kept, 2 deleted, 1 failed.');
  });

  it('names an access problem on deletion as the reason, without stopping', async () => {
    bedrock.on(DeleteCustomModelDeploymentCommand).rejects(
      new AccessDeniedException({
        message: 'User is not authorized to perform: bedrock:DeleteCustomModelDeployment',
        $metadata: { httpStatusCode: 403 },
      }),
    );
    const { text, exitCode } = await runCleanup(['--env', 'dev', '--delete'], clients, {});
    expect(exitCode).toBe(1);
    expect(text.match(/FAILED .* not deleted: Access denied: User is not authorized/g)).toHaveLength(3);
  });

  it('without a Pipeline stack in the Region no run can be running: says so and goes on', async () => {
    cfn.on(DescribeStacksCommand, { StackName: 'IntentRouter-dev-Pipeline' }).rejects(
      new CloudFormationServiceException({
        name: 'ValidationError',
        $fault: 'client',
        message: 'Stack with id IntentRouter-dev-Pipeline does not exist',
        $metadata: { httpStatusCode: 400 },
      }),
    );
    const { text } = await runCleanup(['--env', 'dev'], clients, {});
    expect(text.split('\n')[0]).toBe(
      'Deployments of environment dev (no IntentRouter-dev-Pipeline stack here, so no running run):',
    );
    expect(text.split('\n').at(-1)).toBe('2 kept, 3 unused (nothing changed without --delete).');
    expect(sfn.calls()).toHaveLength(0);
  });

  it('says which parameter is missing in which Region, and how to fix it', async () => {
    ssm
      .on(GetParameterHistoryCommand)
      .rejects(new ParameterNotFound({ message: '', $metadata: { httpStatusCode: 400 } }));
    const attempt = runCleanup(['--env', 'qa', '--region', 'us-west-2'], clients, {});
    await expect(attempt).rejects.toThrow(OperatorError);
    await expect(runCleanup(['--env', 'qa', '--region', 'us-west-2'], clients, {})).rejects.toThrow(
      'Parameter /intent-router/qa/active-model not found in us-west-2: environment "qa" has no Api stack there.\n' +
        'Check --env and --region (or AWS_REGION), or deploy it: npx cdk deploy --all -c envName=qa -c region=us-west-2',
    );
    expect(bedrock.calls()).toHaveLength(0);
  });

  it('checks the environment through the app config before any AWS call', async () => {
    await expect(runCleanup(['-c', 'EnvName=prod'], clients, {})).rejects.toThrow(/--env is required/);
    await expect(runCleanup(['--env', 'dev', '-c', 'EnvName=prod'], clients, {})).rejects.toThrow(
      /unknown key "EnvName" — did you mean "envName"\?/,
    );
    await expect(runCleanup(['--env', 'Dev!'], clients, {})).rejects.toThrow(/envName \(given: "Dev!"\).*\[from --env/);
    expect((await runCleanup(['-c', 'envName=dev'], clients, {})).exitCode).toBe(0);
    expect(ssm.commandCalls(GetParameterHistoryCommand)).toHaveLength(1);
  });
});
