import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { parseConfig } from '../../lib/config';
import type { PipelineCliDeps } from '../../lib/cli/pipeline';
import { candidateNames, checkCandidateNames, startRun } from '../../lib/cli/start-command';
import { tsx } from '../helpers/child-process';

/** `npm run pipeline -- start --candidates NAME[,NAME]`: checked before any AWS call, passed as execution input. */

const STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:IntentRouter-qa-Pipeline';
const sfn = mockClient(SFNClient);
const cfn = mockClient(CloudFormationClient);
const lines: string[] = [];
const deps = (): PipelineCliDeps => ({
  cfn: new CloudFormationClient({ region: 'us-east-1' }),
  sfn: new SFNClient({ region: 'us-east-1' }),
  s3: new S3Client({ region: 'us-east-1' }),
  ssm: new SSMClient({ region: 'us-east-1' }),
  out: (line) => lines.push(line),
  now: () => new Date('2026-11-25T14:03:07.123Z'),
  sleep: async () => undefined,
});
const CONFIGURED = parseConfig({}).candidates.map((c) => c.name);

beforeEach(() => {
  sfn.reset();
  cfn.reset();
  lines.length = 0;
  cfn.on(DescribeStacksCommand).resolves({
    $metadata: {},
    Stacks: [
      {
        StackName: 'IntentRouter-qa-Pipeline',
        CreationTime: new Date(0),
        StackStatus: 'UPDATE_COMPLETE',
        Outputs: [
          { OutputKey: 'StateMachineArn', OutputValue: STATE_MACHINE_ARN },
          { OutputKey: 'DatasetBucketName', OutputValue: 'intentrouter-qa-pipeline-datasetbucket-abc' },
        ],
      },
    ],
  });
  sfn.on(StartExecutionCommand).resolves({
    $metadata: {},
    executionArn: `${STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:run-a`,
    startDate: new Date(0),
  });
});

describe('start --candidates', () => {
  it('puts the named candidates in the execution input and says so', async () => {
    await startRun(deps(), {
      envName: 'qa',
      runId: 'run-a',
      candidates: ['ft-micro'],
      configuredCandidates: CONFIGURED,
    });
    expect(JSON.parse(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input.input ?? '{}')).toEqual({
      candidates: ['ft-micro'],
    });
    expect(lines[0]).toBe('Started run run-a, candidates ft-micro');
  });

  it.each([
    [
      { candidates: ['ft-mikro'], configuredCandidates: CONFIGURED },
      /^--candidates: "ft-mikro" is not among the configured candidates \(ft-micro, distill-micro\)/,
    ],
    [
      {
        candidates: ['ft-micro'],
        configuredCandidates: CONFIGURED,
        reuseModelArn: 'arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-micro-v1:0:128k/abc123',
      },
      /^--candidates: the model given with --reuse-model is the run's only candidate/,
    ],
  ])('refuses %p before any AWS call', async (options, message) => {
    await expect(startRun(deps(), { envName: 'qa', runId: 'run-a', ...options })).rejects.toThrow(message);
    expect(cfn.commandCalls(DescribeStacksCommand)).toHaveLength(0);
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('checks the names on their own: the candidate pattern, each once', () => {
    expect(candidateNames('ft-micro, distill-micro')).toEqual(['ft-micro', 'distill-micro']);
    expect(checkCandidateNames('ft-micro,distill-micro')).toBeUndefined();
    expect(checkCandidateNames('ft-micro,')).toMatch(/"" is not a candidate name/);
    expect(checkCandidateNames('FT')).toMatch(/"FT" is not a candidate name: give configured names/);
    expect(checkCandidateNames('a,a')).toMatch(/"a" is named twice/);
  });

  it('refuses a bad --candidates value as a child process without AWS credentials, naming the flag', async () => {
    const result = await tsx('scripts/pipeline.ts', ['start', '--env', 'qa', '--candidates', 'ft-micro,FT']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--candidates: "FT" is not a candidate name/);
    expect(result.stderr).not.toMatch(/credential/i);
  }, 60_000);

  it('documents --candidates in start --help', async () => {
    const result = await tsx('scripts/pipeline.ts', ['start', '--help']);
    expect(result.stdout).toMatch(/--candidates <string> +train only these configured candidates/);
  }, 60_000);
});
