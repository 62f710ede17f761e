import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CloudFormationClient,
  CloudFormationServiceException,
  DescribeStacksCommand,
} from '@aws-sdk/client-cloudformation';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { downloadReport } from '../../lib/cli/report-command';
import { OUTPUTS, pipelineStackName } from '../../lib/naming';
import { InMemoryS3 } from '../helpers/aws-mocks';

const REGION = 'us-east-1';
const BUCKET = 'intentrouter-dev-dataset-bucket';
const $metadata = { httpStatusCode: 200, requestId: 'req-1' };
const HTML = '<!doctype html><html><body><p data-outcome="PROMOTED">PROMOTED</p></body></html>\n';

const cfn = mockClient(CloudFormationClient);
let s3: InMemoryS3;
let dir: string;
let lines: string[];

beforeEach(() => {
  cfn.reset();
  cfn.on(DescribeStacksCommand, { StackName: pipelineStackName('dev') }).resolves({
    $metadata,
    Stacks: [
      {
        StackName: pipelineStackName('dev'),
        CreationTime: new Date('2026-11-20T09:00:00Z'),
        StackStatus: 'CREATE_COMPLETE',
        Outputs: [
          { OutputKey: OUTPUTS.stateMachineArn, OutputValue: `arn:aws:states:${REGION}:123456789012:stateMachine:sm` },
          { OutputKey: OUTPUTS.datasetBucketName, OutputValue: BUCKET },
        ],
      },
    ],
  });
  s3 = new InMemoryS3();
  dir = mkdtempSync(join(tmpdir(), 'report-command-'));
  lines = [];
});
afterEach(() => {
  s3.restore();
  rmSync(dir, { recursive: true, force: true });
});
afterAll(() => cfn.restore());

const deps = (openFile?: (file: string) => Promise<boolean>) => ({
  cfn: new CloudFormationClient({ region: REGION }),
  s3: new S3Client({ region: REGION }),
  out: (line: string) => lines.push(line),
  ...(openFile ? { openFile } : {}),
});

describe('npm run pipeline -- report <runId>', () => {
  it('downloads runs/<runId>/report.html from the environment’s dataset bucket', async () => {
    s3.set(BUCKET, 'runs/run-7/report.html', HTML);
    const result = await downloadReport({ runId: 'run-7', envName: 'dev', outputDir: dir }, deps());

    expect(s3.mock.commandCalls(GetObjectCommand).map((c) => c.args[0].input)).toEqual([
      { Bucket: BUCKET, Key: 'runs/run-7/report.html' },
    ]);
    expect(result).toEqual({
      file: join(dir, 'report-run-7.html'),
      bucket: BUCKET,
      key: 'runs/run-7/report.html',
      opened: false,
    });
    expect(readFileSync(result.file, 'utf8')).toBe(HTML);
    expect(lines).toEqual([`Report of run run-7 written to ${result.file}`]);
  });

  it('--open hands the file to the browser opener, and says so when there is none', async () => {
    s3.set(BUCKET, 'runs/run-7/report.html', HTML);
    const opened: string[] = [];
    const withBrowser = await downloadReport(
      { runId: 'run-7', envName: 'dev', outputDir: dir, open: true },
      deps(async (file) => {
        opened.push(file);
        return true;
      }),
    );
    expect(opened).toEqual([withBrowser.file]);
    expect(withBrowser.opened).toBe(true);
    expect(lines.at(-1)).toBe('Opened in the default browser.');

    const headless = await downloadReport(
      { runId: 'run-7', envName: 'dev', outputDir: dir, open: true },
      deps(async () => false),
    );
    expect(headless.opened).toBe(false);
    expect(lines.at(-1)).toBe(`No browser to open it here: open ${headless.file} yourself.`);
  });

  it('names the run and what to do when the run has no HTML report', async () => {
    await expect(downloadReport({ runId: 'run-8', envName: 'dev', outputDir: dir }, deps())).rejects.toMatchObject({
      name: 'PipelineCliError',
      message: expect.stringContaining(`run "run-8" has no HTML report (s3://${BUCKET}/runs/run-8/report.html)`),
    });
  });

  it('refuses an invalid run id before any AWS call', async () => {
    await expect(downloadReport({ runId: 'Run_8', envName: 'dev', outputDir: dir }, deps())).rejects.toThrow(
      /runId "Run_8" is invalid/,
    );
    expect(cfn.calls()).toHaveLength(0);
  });

  it('says which stack is missing when the environment is not deployed', async () => {
    cfn.reset();
    cfn.on(DescribeStacksCommand).rejects(
      new CloudFormationServiceException({
        name: 'ValidationError',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
        message: `Stack with id ${pipelineStackName('prod')} does not exist`,
      }),
    );
    await expect(downloadReport({ runId: 'run-7', envName: 'prod', outputDir: dir }, deps())).rejects.toThrow(
      `stack "${pipelineStackName('prod')}" does not exist`,
    );
    expect(s3.mock.commandCalls(GetObjectCommand)).toHaveLength(0);
  });
});
