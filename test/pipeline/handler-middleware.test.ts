import type { CalibrationResult } from '../../lambda/pipeline/generation/calibrate';
import type { LambdaHandler } from '../../lambda/core/runtime';
import { InMemoryS3 } from '../helpers/aws-mocks';
import { lambdaContext } from '../helpers/lambda-context';

/**
 * The Powertools middleware every step's handler runs behind (lambda/core/runtime.ts `lambdaHandler`), seen from
 * outside as Lambda would see it: the structured log lines and EMF records the handler prints. Calibrate labelling
 * with a fixed batch size (no teacher call) records two metrics when it writes its result and none when it reuses it.
 */

const BUCKET = 'dataset-bucket';
const EVENT = { runId: 'run-middleware', shardCount: 4 };

let handler: LambdaHandler<unknown, CalibrationResult>;
let s3: InMemoryS3;

beforeAll(async () => {
  // Before the handler's module loads: Logger and Metrics read these when they are created.
  Object.assign(process.env, {
    POWERTOOLS_SERVICE_NAME: 'pipeline',
    POWERTOOLS_METRICS_NAMESPACE: 'DistilledIntentRouter',
    POWERTOOLS_LOG_LEVEL: 'INFO',
    // As Lambda sets it for an on-demand function: without it Powertools reports no cold start at all.
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    BUCKET_NAME: BUCKET,
    TEACHER_MODEL_ID: 'us.amazon.nova-pro-v1:0',
    INCLUDE_REASONING: 'false',
    LABEL_CONCURRENCY: '8',
    LABEL_BATCH_SIZE: '10',
    CALIBRATION_MIN_AGREEMENT: '0.95',
    CALIBRATION_MAX_WEIGHT_ERROR: '0.03',
  });
  ({ handler } = await import('../../lambda/pipeline/generation/calibrate'));
  s3 = new InMemoryS3();
});
afterAll(() => s3.restore());

/**
 * Calls the handler and returns what it printed: stdout's JSON lines (logs and EMF) and stderr's text, but for Node's
 * process warnings (`(node:<pid>) Warning: …`, such as the SDK's about the Node version running the tests).
 */
async function invoke(requestId: string): Promise<{ stdout: Record<string, unknown>[]; stderr: string[] }> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout.push(String(chunk));
    return true;
  });
  const err = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr.push(String(chunk));
    return true;
  });
  try {
    await handler(EVENT, lambdaContext({ awsRequestId: requestId, functionName: 'Calibrate' }));
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
  const lines = stdout.flatMap((chunk) => chunk.split('\n')).filter((line) => line.trim() !== '');
  return {
    stdout: lines.map((line) => JSON.parse(line) as Record<string, unknown>),
    stderr: stderr.filter((chunk) => !chunk.startsWith('(node:')),
  };
}

const logLines = (printed: Record<string, unknown>[]) => printed.filter((line) => 'message' in line);
const emfRecords = (printed: Record<string, unknown>[]) => printed.filter((line) => '_aws' in line);

it('logs with the request id and cold start, and flushes the metrics once per invocation that records any', async () => {
  const first = await invoke('request-1');
  expect(logLines(first.stdout)).toEqual([
    expect.objectContaining({
      message: 'calibration written',
      function_request_id: 'request-1',
      function_name: 'Calibrate',
      cold_start: true,
      service: 'pipeline',
    }),
  ]);
  const [record, ...more] = emfRecords(first.stdout);
  expect(more).toEqual([]);
  expect(record).toMatchObject({
    LabelBatchSize: 10,
    CalibrationTeacherCalls: 0,
    service: 'pipeline',
    _aws: { CloudWatchMetrics: [expect.objectContaining({ Namespace: 'DistilledIntentRouter' })] },
  });
  expect(first.stderr).toEqual([]);

  // A retry finds the stored calibration: a warm start, no metric recorded, so nothing flushed and nothing warned
  // (Powertools warns "No application metrics to publish" on an empty flush).
  const second = await invoke('request-2');
  expect(logLines(second.stdout)).toEqual([
    expect.objectContaining({
      message: 'calibration already stored: reused',
      function_request_id: 'request-2',
      cold_start: false,
    }),
  ]);
  expect(emfRecords(second.stdout)).toEqual([]);
  expect(second.stderr).toEqual([]);
});
