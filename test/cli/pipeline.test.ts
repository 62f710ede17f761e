import {
  CloudFormationClient,
  CloudFormationServiceException,
  DescribeStacksCommand,
  type DescribeStacksCommandOutput,
} from '@aws-sdk/client-cloudformation';
import { S3Client } from '@aws-sdk/client-s3';
import { SSMClient } from '@aws-sdk/client-ssm';
import {
  DescribeExecutionCommand,
  DescribeMapRunCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  ListMapRunsCommand,
  SFNClient,
  StartExecutionCommand,
  type DescribeExecutionCommandOutput,
  type DescribeMapRunCommandOutput,
  type GetExecutionHistoryCommandInput,
  type GetExecutionHistoryCommandOutput,
  type HistoryEvent,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { UsageError } from '../../lib/cli/args';
import { OperatorError } from '../../lib/cli/errors';
import { ConfigError } from '../../lib/config';
import { listRuns } from '../../lib/cli/list-command';
import { PipelineCliError, type PipelineCliDeps } from '../../lib/cli/pipeline';
import { duration, jobStatus, progressLine } from '../../lib/cli/run-view';
import { defaultRunId, startRun } from '../../lib/cli/start-command';
import { watchRun } from '../../lib/cli/watch-command';
import { runPipelineCli } from '../../lib/cli/pipeline-command';
import { InMemoryS3 } from '../helpers/aws-mocks';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

const REGION = 'us-east-1';
const ACCOUNT = '123456789012';
const STACK = 'IntentRouter-qa-Pipeline';
const STATE_MACHINE_ARN = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:IntentRouter-qa-Pipeline`;
const EXECUTION_ARN = (runId: string) =>
  `arn:aws:states:${REGION}:${ACCOUNT}:execution:IntentRouter-qa-Pipeline:${runId}`;
const MAP_RUN_ARN = `arn:aws:states:${REGION}:${ACCOUNT}:mapRun:IntentRouter-qa-Pipeline/Generate:4c6a0b3e-8d0f-3b7f-9e55-0d1b5e8b1c2a`;
const BUCKET = 'intentrouter-qa-pipeline-datasetbucket1a2b3c-abcdef123456';
const META = { httpStatusCode: 200, requestId: 'req-1', attempts: 1, totalRetryDelay: 0 };

const cfn = mockClient(CloudFormationClient);
const sfn = mockClient(SFNClient);
let s3: InMemoryS3;
let lines: string[];

const stackOutput = (outputs: Record<string, string>): DescribeStacksCommandOutput => ({
  $metadata: META,
  Stacks: [
    {
      StackName: STACK,
      StackId: `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/${STACK}/0b1c2d3e-aaaa-bbbb-cccc-111122223333`,
      CreationTime: new Date('2026-11-20T09:00:00Z'),
      StackStatus: 'CREATE_COMPLETE',
      Outputs: Object.entries(outputs).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
    },
  ],
});

function deps(): PipelineCliDeps {
  return {
    cfn: new CloudFormationClient({ region: REGION }),
    sfn: new SFNClient({ region: REGION }),
    s3: new S3Client({ region: REGION }),
    ssm: new SSMClient({ region: REGION }),
    out: (line) => lines.push(line),
    now: () => new Date('2026-11-25T14:03:07.123Z'),
    sleep: async () => undefined,
  };
}

beforeEach(() => {
  cfn.reset();
  sfn.reset();
  s3 = new InMemoryS3();
  lines = [];
  cfn
    .on(DescribeStacksCommand, { StackName: STACK })
    .resolves(stackOutput({ StateMachineArn: STATE_MACHINE_ARN, DatasetBucketName: BUCKET }));
});
afterEach(() => s3.restore());

describe('start', () => {
  it('starts an execution named after the run, with the example count override as input', async () => {
    sfn.on(StartExecutionCommand).resolves({
      $metadata: META,
      executionArn: EXECUTION_ARN('run-a'),
      startDate: new Date(),
    });
    const started = await startRun(deps(), { envName: 'qa', runId: 'run-a', examples: 2000 });
    expect(started).toEqual({ runId: 'run-a', executionArn: EXECUTION_ARN('run-a') });
    expect(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input).toEqual({
      stateMachineArn: STATE_MACHINE_ARN,
      name: 'run-a',
      input: '{"exampleCount":2000}',
    });
    expect(lines).toEqual([
      'Started run run-a (2000 examples)',
      `  execution: ${EXECUTION_ARN('run-a')}`,
      '  watch it:  npm run pipeline -- watch run-a --env qa',
    ]);
  });

  it('passes the reuse inputs the state machine understands', async () => {
    sfn
      .on(StartExecutionCommand)
      .resolves({ $metadata: META, executionArn: EXECUTION_ARN('run-b'), startDate: new Date() });
    const model = 'arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-micro-v1:0:128k/abc123';
    await startRun(deps(), { envName: 'qa', runId: 'run-b', reuseDatasetFromRun: 'run-a', reuseModelArn: model });
    expect(JSON.parse(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input.input ?? '{}')).toEqual({
      reuseDatasetFromRun: 'run-a',
      reuseModelArn: model,
    });
  });

  it.each([
    [{ reuseDatasetFromRun: 'Run_A' }, /^--reuse-dataset: runId "Run_A" is invalid/],
    [
      { reuseModelArn: 'us.amazon.nova-micro-v1:0' },
      /^--reuse-model: "us.amazon.nova-micro-v1:0" is not a custom model ARN/,
    ],
  ])('refuses a bad reuse input %p before starting anything', async (options, message) => {
    await expect(startRun(deps(), { envName: 'qa', runId: 'run-c', ...options })).rejects.toThrow(message);
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('names the run run-YYYYMMDD-HHMMSS by default and passes no overrides without --examples', async () => {
    sfn
      .on(StartExecutionCommand)
      .resolves({ $metadata: META, executionArn: EXECUTION_ARN('x'), startDate: new Date() });
    const { runId } = await startRun(deps(), { envName: 'qa' });
    expect(runId).toBe('run-20261125-140307');
    expect(defaultRunId(new Date('2027-01-02T03:04:05Z'))).toBe('run-20270102-030405');
    expect(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input).toMatchObject({
      name: 'run-20261125-140307',
      input: '{}',
    });
  });

  it('rejects a run id the pipeline could not use, before calling AWS', async () => {
    await expect(startRun(deps(), { envName: 'qa', runId: 'Run_1' })).rejects.toThrow(
      /--run-id: runId "Run_1" is invalid/,
    );
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('refuses to reuse the name of an existing run', async () => {
    sfn
      .on(StartExecutionCommand)
      .rejects(new ExecutionAlreadyExists({ message: 'Execution Already Exists', $metadata: { httpStatusCode: 400 } }));
    await expect(startRun(deps(), { envName: 'qa', runId: 'run-a' })).rejects.toThrow(
      /a run named "run-a" already exists: runs never overwrite each other, so choose another --run-id/,
    );
  });

  it('says to deploy first when the stack does not exist', async () => {
    cfn.on(DescribeStacksCommand, { StackName: 'IntentRouter-prod-Pipeline' }).rejects(
      new CloudFormationServiceException({
        name: 'ValidationError',
        $fault: 'client',
        message: 'Stack with id IntentRouter-prod-Pipeline does not exist',
        $metadata: { httpStatusCode: 400 },
      }),
    );
    const attempt = startRun(deps(), { envName: 'prod', runId: 'run-a' });
    await expect(attempt).rejects.toThrow(PipelineCliError);
    await expect(startRun(deps(), { envName: 'prod', runId: 'run-a' })).rejects.toThrow(
      'stack "IntentRouter-prod-Pipeline" does not exist in us-east-1: deploy it first (npx cdk deploy --all -c envName=prod)',
    );
  });

  it('names the missing output of a stack deployed from an older version', async () => {
    cfn.on(DescribeStacksCommand, { StackName: STACK }).resolves(stackOutput({ DatasetBucketName: BUCKET }));
    await expect(startRun(deps(), { envName: 'qa', runId: 'run-a' })).rejects.toThrow(
      /has no output StateMachineArn: it was deployed from an older version/,
    );
  });
});

/** History events in the real shape, numbered in order. */
function history(...specs: [HistoryEvent['type'], Partial<HistoryEvent>?][]): HistoryEvent[] {
  const start = Date.parse('2026-11-25T14:03:08Z');
  return specs.map(([type, details], i) => ({
    id: i + 1,
    previousEventId: i,
    timestamp: new Date(start + i * 60_000),
    type,
    ...details,
  }));
}
const entered = (name: string) => ({ stateEnteredEventDetails: { name, input: '{}' } });
const exited = (name: string) => ({ stateExitedEventDetails: { name, output: '{}' } });
const lambdaOutput = (output: unknown) => ({ lambdaFunctionSucceededEventDetails: { output: JSON.stringify(output) } });

const EVENTS = history(
  ['ExecutionStarted', { executionStartedEventDetails: { input: '{}', roleArn: `arn:aws:iam::${ACCOUNT}:role/r` } }],
  ['TaskStateEntered', entered('Preflight')],
  ['LambdaFunctionScheduled', { lambdaFunctionScheduledEventDetails: { resource: 'arn:aws:lambda:fn' } }],
  ['LambdaFunctionStarted'],
  ['LambdaFunctionSucceeded', lambdaOutput({ teacher: 'ACTIVE' })],
  ['TaskStateExited', exited('Preflight')],
  ['MapStateEntered', entered('Generate')],
  ['MapStateStarted', { mapStateStartedEventDetails: { length: 0 } }],
  ['MapRunStarted', { mapRunStartedEventDetails: { mapRunArn: MAP_RUN_ARN } }],
  // 10 — second poll sees these
  ['MapRunSucceeded'],
  ['MapStateSucceeded'],
  ['MapStateExited', exited('Generate')],
  ['TaskStateEntered', entered('Check distillation')],
  [
    'LambdaFunctionFailed',
    { lambdaFunctionFailedEventDetails: { error: 'ThrottlingException', cause: 'Rate exceeded' } },
  ],
  [
    'LambdaFunctionSucceeded',
    lambdaOutput({
      status: 'InProgress',
      failureMessage: '',
      statusDetails: { trainingDetails: { status: 'InProgress' } },
    }),
  ],
  ['TaskStateExited', exited('Check distillation')],
  ['WaitStateEntered', entered('Wait for distillation')],
  ['TaskStateEntered', entered('Check distillation')],
  [
    'LambdaFunctionSucceeded',
    lambdaOutput({
      status: 'InProgress',
      failureMessage: '',
      statusDetails: { trainingDetails: { status: 'InProgress' } },
    }),
  ],
  // 20 — third poll
  ['TaskStateExited', exited('Check distillation')],
  ['TaskStateEntered', entered('Check distillation')],
  [
    'LambdaFunctionSucceeded',
    lambdaOutput({
      status: 'Completed',
      failureMessage: '',
      statusDetails: { trainingDetails: { status: 'Completed' } },
    }),
  ],
  ['TaskStateExited', exited('Check distillation')],
  ['ExecutionSucceeded', { executionSucceededEventDetails: { output: '{}' } }],
);

const execution = (
  status: DescribeExecutionCommandOutput['status'],
  extra: Partial<DescribeExecutionCommandOutput> = {},
) => ({
  $metadata: META,
  executionArn: EXECUTION_ARN('run-a'),
  stateMachineArn: STATE_MACHINE_ARN,
  name: 'run-a',
  status,
  startDate: new Date('2026-11-25T14:03:07Z'),
  ...(status === 'RUNNING' ? {} : { stopDate: new Date('2026-11-25T15:30:09Z') }),
  ...extra,
});

const mapRun = (succeeded: number, failed: number, running: number, status: DescribeMapRunCommandOutput['status']) => ({
  $metadata: META,
  mapRunArn: MAP_RUN_ARN,
  executionArn: EXECUTION_ARN('run-a'),
  status,
  startDate: new Date('2026-11-25T14:10:00Z'),
  maxConcurrency: 10,
  toleratedFailurePercentage: 10,
  toleratedFailureCount: 0,
  itemCounts: {
    pending: 40 - succeeded - failed - running,
    running,
    succeeded,
    failed,
    timedOut: 0,
    aborted: 0,
    total: 40,
    resultsWritten: succeeded,
  },
  executionCounts: {
    pending: 0,
    running,
    succeeded,
    failed,
    timedOut: 0,
    aborted: 0,
    total: 40,
    resultsWritten: succeeded,
  },
});

/**
 * GetExecutionHistory as Step Functions pages it: oldest first, or newest first with `reverseOrder`; `maxResults` per
 * page (100 by default) and a token while more remain. `events()` is the history as it stands at the time of the call.
 * Returns, per call, whether it read a first page and how many events it returned (recorded at the time of the call:
 * the SDK's paginator reuses one input object across pages).
 */
function historyService(events: () => readonly HistoryEvent[]): { firstPage: boolean; events: number }[] {
  const returned: { firstPage: boolean; events: number }[] = [];
  sfn
    .on(GetExecutionHistoryCommand)
    .callsFake(async (input: GetExecutionHistoryCommandInput): Promise<GetExecutionHistoryCommandOutput> => {
      const all = input.reverseOrder ? [...events()].reverse() : [...events()];
      const start = Number(input.nextToken ?? 0);
      const size = input.maxResults ?? 100;
      const page = all.slice(start, start + size);
      returned.push({ firstPage: input.nextToken === undefined, events: page.length });
      return {
        $metadata: META,
        events: page,
        ...(start + size < all.length ? { nextToken: String(start + size) } : {}),
      };
    });
  return returned;
}

/** DescribeExecution answers RUNNING `runningPolls` times, then SUCCEEDED; returns the number of polls so far. */
function pollsUntilSuccess(runningPolls: number): () => number {
  let polls = 0;
  sfn.on(DescribeExecutionCommand).callsFake(async () => {
    polls++;
    return execution(polls <= runningPolls ? 'RUNNING' : 'SUCCEEDED');
  });
  return () => polls;
}

describe('watch', () => {
  it('shows stages as they pass, the Map progress, job status changes, then the report', async () => {
    const polls = pollsUntilSuccess(2);
    // Each poll sees more of the history: 9, then 19, then all 24 events.
    const returned = historyService(() => EVENTS.slice(0, [9, 19, 24][polls() - 1] ?? 24));
    sfn.on(ListMapRunsCommand).resolves({
      $metadata: META,
      mapRuns: [
        {
          executionArn: EXECUTION_ARN('run-a'),
          mapRunArn: MAP_RUN_ARN,
          stateMachineArn: `${STATE_MACHINE_ARN}/Generate`,
          startDate: new Date('2026-11-25T14:10:00Z'),
        },
      ],
    });
    sfn
      .on(DescribeMapRunCommand)
      .resolvesOnce(mapRun(12, 1, 10, 'RUNNING'))
      .resolves(mapRun(38, 2, 0, 'SUCCEEDED'));
    s3.set(BUCKET, 'runs/run-a/report.md', '# Run run-a: PROMOTED\n\n| model | judge |\n| student | 4.1 |\n');

    const status = await watchRun(deps(), { envName: 'qa', runId: 'run-a', intervalSeconds: 1, historyPageSize: 4 });

    expect(status).toBe('SUCCEEDED');
    expect(lines).toEqual([
      '▶ Preflight',
      '✓ Preflight (4m 00s)',
      '▶ Generate',
      '  [##########--------------------] 13/40 shards · 12 succeeded · 1 failed · 10 running',
      '  [##############################] 40/40 shards · 38 succeeded · 2 failed · succeeded',
      '✓ Generate (5m 00s)',
      '▶ Check distillation',
      '  ! Check distillation attempt failed with ThrottlingException: Rate exceeded',
      '  Check distillation: InProgress (training InProgress)',
      '  Check distillation: Completed (training Completed)',
      '✓ Check distillation (10m 00s)',
      '',
      'Run run-a SUCCEEDED after 1h 27m 02s',
      `Report (s3://${BUCKET}/runs/run-a/report.md):`,
      '',
      '# Run run-a: PROMOTED',
      '',
      '| model | judge |',
      '| student | 4.1 |',
    ]);
    // A finished Map run is not described again.
    expect(sfn.commandCalls(DescribeMapRunCommand)).toHaveLength(2);
    // Newest first, pages of 4, stopping at the first event already shown: 9 new events (4+4+1), then 10 new
    // (4+4+4, the last page reaching back to event 8), then 5 new (4+4).
    expect(returned.map((r) => r.events)).toEqual([4, 4, 1, 4, 4, 4, 4, 4]);
    expect(returned.map((r) => r.firstPage)).toEqual([true, false, false, true, false, false, true, false]);
    expect(sfn.commandCalls(GetExecutionHistoryCommand)[0]?.args[0].input).toMatchObject({
      executionArn: EXECUTION_ARN('run-a'),
      reverseOrder: true,
      includeExecutionData: true,
      maxResults: 4,
    });
  });

  it('reads only the new events at each poll, however long the history already is', async () => {
    // A run already 3,000 events long, then 3 events (one poll of a job) between polls, 20 polls.
    const step = (n: number): [HistoryEvent['type'], Partial<HistoryEvent>][] => [
      ['TaskStateEntered', entered(`Step ${n}`)],
      ['LambdaFunctionSucceeded', lambdaOutput({ status: 'Completed', n })],
      ['TaskStateExited', exited(`Step ${n}`)],
    ];
    const all = history(...Array.from({ length: 1020 }, (_, n) => step(n)).flat());
    const polls = pollsUntilSuccess(20);
    const returned = historyService(() => all.slice(0, 3000 + 3 * (polls() - 1)));
    sfn.on(ListMapRunsCommand).resolves({ $metadata: META, mapRuns: [] });

    await watchRun(deps(), { envName: 'qa', runId: 'run-a', historyPageSize: 100 });

    const perPoll = returned.reduce<number[]>((acc, call) => {
      if (call.firstPage) acc.push(0);
      acc[acc.length - 1] = (acc.at(-1) ?? 0) + call.events;
      return acc;
    }, []);
    expect(perPoll).toHaveLength(21);
    expect(perPoll[0]).toBe(3000); // the first poll reads the history once
    // Every later poll: its 3 new events and the rest of that one page, not the 3,000 before them.
    for (const fetched of perPoll.slice(1)) expect(fetched).toBeLessThanOrEqual(3 + 100);
    // Each stage shown exactly once, in order.
    const shown = lines.filter((l) => l.startsWith('▶ '));
    expect(shown).toEqual(Array.from({ length: 1020 }, (_, n) => `▶ Step ${n}`));
  });

  it('prints the error and cause of a failed run and returns its status', async () => {
    sfn.on(DescribeExecutionCommand).resolves(
      execution('FAILED', {
        error: 'Generate',
        cause: 'only 61 % of the planned queries were labelled (minimum 90 %)',
      }),
    );
    sfn.on(GetExecutionHistoryCommand).resolves({
      $metadata: META,
      events: history(['TaskStateEntered', entered('Preflight')], ['FailStateEntered', entered('Run failed')]),
    });
    sfn.on(ListMapRunsCommand).resolves({ $metadata: META, mapRuns: [] });

    expect(await watchRun(deps(), { envName: 'qa', runId: 'run-a' })).toBe('FAILED');
    expect(lines.slice(-5)).toEqual([
      '✗ Run failed',
      '',
      'Run run-a FAILED after 1h 27m 02s',
      '  error: Generate',
      '  cause: only 61 % of the planned queries were labelled (minimum 90 %)',
    ]);
    expect(s3.mock.calls()).toHaveLength(0);
  });

  it('says so when the report is missing', async () => {
    sfn.on(DescribeExecutionCommand).resolves(execution('SUCCEEDED'));
    sfn.on(GetExecutionHistoryCommand).resolves({ $metadata: META, events: [] });
    sfn.on(ListMapRunsCommand).resolves({ $metadata: META, mapRuns: [] });
    await watchRun(deps(), { envName: 'qa', runId: 'run-a' });
    expect(lines.at(-1)).toBe(`No report at s3://${BUCKET}/runs/run-a/report.md (the run ended before writing one).`);
  });

  it('points to list when the run does not exist', async () => {
    sfn
      .on(DescribeExecutionCommand)
      .rejects(new ExecutionDoesNotExist({ message: 'Execution Does Not Exist', $metadata: { httpStatusCode: 400 } }));
    await expect(watchRun(deps(), { envName: 'qa', runId: 'run-zz' })).rejects.toThrow(
      'no run "run-zz" in IntentRouter-qa-Pipeline: list the runs with npm run pipeline -- list --env qa',
    );
  });
});

describe('list', () => {
  it('shows recent runs with status and duration, running ones so far', async () => {
    sfn.on(ListExecutionsCommand, { stateMachineArn: STATE_MACHINE_ARN, maxResults: 5 }).resolves({
      $metadata: META,
      executions: [
        {
          executionArn: EXECUTION_ARN('run-20261125-140000'),
          stateMachineArn: STATE_MACHINE_ARN,
          name: 'run-20261125-140000',
          status: 'RUNNING',
          startDate: new Date('2026-11-25T14:00:00Z'),
        },
        {
          executionArn: EXECUTION_ARN('run-a'),
          stateMachineArn: STATE_MACHINE_ARN,
          name: 'run-a',
          status: 'SUCCEEDED',
          startDate: new Date('2026-11-24T08:00:00Z'),
          stopDate: new Date('2026-11-24T10:15:30Z'),
        },
      ],
    });
    await listRuns(deps(), { envName: 'qa', max: 5 });
    expect(lines).toEqual([
      'run                  status     started (UTC)        duration',
      'run-20261125-140000  RUNNING    2026-11-25 14:00:00  3m 07s so far',
      'run-a                SUCCEEDED  2026-11-24 08:00:00  2h 15m 30s',
    ]);
  });

  it('says how to start when there is no run yet', async () => {
    sfn.on(ListExecutionsCommand).resolves({ $metadata: META, executions: [] });
    await listRuns(deps(), { envName: 'qa' });
    expect(lines).toEqual(['No runs yet. Start one: npm run pipeline -- start --env qa']);
  });
});

describe('npm run pipeline (arguments)', () => {
  const cli = (...argv: string[]) => runPipelineCli(argv, () => deps());

  it('starts with the flags given', async () => {
    sfn
      .on(StartExecutionCommand)
      .resolves({ $metadata: META, executionArn: EXECUTION_ARN('r1'), startDate: new Date() });
    expect(await cli('start', '--env', 'qa', '--examples', '5000', '--run-id', 'r1')).toBe(0);
    expect(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input.input).toBe('{"exampleCount":5000}');
  });

  it.each([
    [['--from-production'], true],
    [['--from-production', '--since', '2026-11-01'], { since: '2026-11-01' }],
    [['--from-production', '--max', '5,000', '--since=2026-10-30'], { since: '2026-10-30', max: 5000 }],
  ])('starts a run from production with %j', async (flags, fromProduction) => {
    sfn
      .on(StartExecutionCommand)
      .resolves({ $metadata: META, executionArn: EXECUTION_ARN('r2'), startDate: new Date() });
    expect(await cli('start', '--env', 'qa', '--run-id', 'r2', ...flags)).toBe(0);
    expect(JSON.parse(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input.input ?? '{}')).toEqual({
      fromProduction,
    });
    expect(lines[0]).toBe('Started run r2, learning from production records first');
  });

  it("downloads a run's report.html with the report subcommand", async () => {
    const html = '<!doctype html><title>run r3</title>';
    s3.set(BUCKET, 'runs/r3/report.html', html);
    const dir = mkdtempSync(path.join(tmpdir(), 'report-'));
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      expect(await cli('report', 'r3', '--env', 'qa')).toBe(0);
    } finally {
      process.chdir(cwd);
    }
    expect(readFileSync(path.join(dir, 'report-r3.html'), 'utf8')).toBe(html);
    expect(lines).toEqual([`Report of run r3 written to ${path.join(dir, 'report-r3.html')}`]);
  });

  it('exits 1 when the watched run did not succeed', async () => {
    sfn.on(DescribeExecutionCommand).resolves(execution('TIMED_OUT'));
    sfn.on(GetExecutionHistoryCommand).resolves({ $metadata: META, events: [] });
    sfn.on(ListMapRunsCommand).resolves({ $metadata: META, mapRuns: [] });
    expect(await cli('watch', 'run-a', '--env', 'qa')).toBe(1);
  });

  it.each([
    [[], /no command given/],
    [['launch'], /unknown command "launch"/],
    [['watch'], /watch needs the run id/],
    [['watch', 'Run_A'], /watch <runId>: runId "Run_A" is invalid/],
    [['start', '--examples', '50'], /--examples must be a whole number from 100 to 15,000/],
    [['start', '--exampels', '500'], /unknown flag --exampels — did you mean --examples\?/],
    [['list', '--examples', '500'], /--examples does not apply to "list"/],
    [['start', '--env'], /--env needs a value/],
    [['start', '--env', '--examples', '500'], /--env needs a value/],
    [['start', '--reuse-model', 'garbage'], /^--reuse-model: "garbage" is not a custom model ARN/],
    [['start', '--reuse-dataset', 'Run_A'], /^--reuse-dataset: runId "Run_A" is invalid/],
    [['list', '--region', 'us-east'], /^--region: "us-east" must be an AWS region such as us-east-1$/],
    [['start', '--from-production', '--since', '2026-02-30'], /^--since: "2026-02-30" is not a day: use YYYY-MM-DD/],
    [['start', '--from-production', '--since', 'yesterday'], /^--since: "yesterday" is not a day/],
    [['start', '--from-production', '--max', '0'], /--max must be a whole number from 1 to 100,000/],
    [['start', '--since', '2026-11-01'], /^--since applies to a run from production: add --from-production/],
    [['start', '--max', '10'], /^--max applies to a run from production: add --from-production/],
    [['start', '--from-production', '--reuse-dataset', 'run-a'], /--from-production and --reuse-dataset exclude/],
    [
      ['list', '--max', '5000'],
      /^--max must be a whole number from 1 to 1,000 \(how many recent runs to show; default 20\)/,
    ],
    [['watch', 'run-a', '--from-production'], /--from-production does not apply to "watch"/],
    [['report'], /report needs the run id/],
    [['report', 'Run_A'], /report <runId>: runId "Run_A" is invalid/],
    [['report', 'run-a', '--interval', '5'], /--interval does not apply to "report"/],
  ])('rejects %j with a clear message, before any AWS call', async (argv, message) => {
    await expect(cli(...argv)).rejects.toThrow(UsageError);
    await expect(cli(...argv)).rejects.toThrow(message);
    expect([...cfn.calls(), ...sfn.calls()]).toHaveLength(0);
  });

  it('reads the environment through the app config: -c envName works, an unknown key fails before any call', async () => {
    sfn.on(ListExecutionsCommand).resolves({ $metadata: META, executions: [] });
    expect(await cli('list', '-c', 'envName=qa')).toBe(0);
    expect(lines).toEqual(['No runs yet. Start one: npm run pipeline -- start --env qa']);
    await expect(cli('list', '-c', 'EnvName=qa')).rejects.toThrow(ConfigError);
    await expect(cli('list', '-c', 'EnvName=qa')).rejects.toThrow(/unknown key "EnvName" — did you mean "envName"\?/);
    expect(cfn.calls()).toHaveLength(1);
  });

  it.each([['--help'], ['-h'], ['help']])('prints the usage for %j', async (...argv) => {
    expect(await cli(...argv)).toBe(0);
    expect(lines.join('\n')).toMatch(/^Usage:\n {2}npm run pipeline -- start /);
    expect(lines.join('\n')).toMatch(/-h, --help +show this help$/);
    expect([...cfn.calls(), ...sfn.calls()]).toHaveLength(0);
  });

  it('turns an AWS access error into what to do, naming the Region', async () => {
    cfn.on(DescribeStacksCommand).rejects(
      new CloudFormationServiceException({
        name: 'AccessDenied',
        $fault: 'client',
        message: 'User: arn:aws:iam::123456789012:user/dev is not authorized to perform: cloudformation:DescribeStacks',
        $metadata: { httpStatusCode: 403 },
      }),
    );
    await expect(cli('list', '--env', 'qa')).rejects.toThrow(OperatorError);
    await expect(cli('list', '--env', 'qa')).rejects.toThrow(
      'Access denied in us-east-1: User: arn:aws:iam::123456789012:user/dev is not authorized to perform: ' +
        'cloudformation:DescribeStacks\nUse credentials whose IAM policy allows this action',
    );
  });
});

describe('formatting', () => {
  it('draws the progress bar from the item counts', () => {
    expect(
      progressLine(
        { total: 4, succeeded: 1, failed: 0, running: 2, pending: 1, timedOut: 0, aborted: 0, resultsWritten: 1 },
        'RUNNING',
        8,
      ),
    ).toBe('  [##------] 1/4 shards · 1 succeeded · 2 running');
    expect(
      progressLine(
        { total: 0, succeeded: 0, failed: 0, running: 0, pending: 0, timedOut: 0, aborted: 0, resultsWritten: 0 },
        'RUNNING',
        4,
      ),
    ).toBe('  [----] 0/0 shards · 0 succeeded');
  });

  it('reads job statuses from step results and ignores results without one', () => {
    expect(
      jobStatus(
        '{"status":"Failed","failureMessage":"bad data","statusDetails":{"validationDetails":{"status":"Failed"}}}',
      ),
    ).toBe('Failed (validation Failed) — bad data');
    expect(jobStatus('{"status":"InProgress","jobStatus":{"student":"Completed","baseline":"InProgress"}}')).toBe(
      'InProgress (student Completed, baseline InProgress)',
    );
    expect(jobStatus('{"teacher":"ACTIVE"}')).toBeUndefined();
    expect(jobStatus('not json')).toBeUndefined();
  });

  it('formats durations', () => {
    const at = (s: number) => new Date(Date.UTC(2026, 0, 1) + s * 1000);
    expect(duration(at(0), at(12))).toBe('12s');
    expect(duration(at(0), at(245))).toBe('4m 05s');
    expect(duration(at(0), at(3723))).toBe('1h 02m 03s');
    expect(duration(undefined, at(1))).toBe('');
  });
});
