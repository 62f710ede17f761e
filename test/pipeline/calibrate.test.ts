import {
  AccessDeniedException,
  BedrockRuntimeClient,
  ConverseCommand,
  type ConverseCommandInput,
} from '@aws-sdk/client-bedrock-runtime';
import { mockClient } from 'aws-sdk-client-mock';
import { calibrate } from '../../lambda/pipeline/generation/calibrate';
import { logger, metrics } from '../../lambda/core/runtime';
import { teacherBatchPrompt } from '../../lambda/core/batch-labelling';
import { calibrationKey, parseCalibration } from '../../lambda/pipeline/generation/calibration';
import { calibrationQueries } from '../../lambda/pipeline/generation/calibration-queries';
import { InMemoryS3, requestTexts, throttling } from '../helpers/aws-mocks';
import { dominantWeights, faultsAtRate, SimulatedTeacher } from '../helpers/simulated-teacher';

const BUCKET = 'dataset-bucket';
const RUN = 'run-cal';
const NOW = () => new Date('2026-11-25T10:00:00.000Z');

let bedrock = mockClient(BedrockRuntimeClient);
let s3: InMemoryS3;

beforeAll(() => {
  logger.setLogLevel('SILENT');
  jest.spyOn(metrics, 'publishStoredMetrics').mockReturnValue(metrics);
});
beforeEach(() => {
  bedrock = mockClient(BedrockRuntimeClient);
  s3 = new InMemoryS3();
  Object.assign(process.env, {
    BUCKET_NAME: BUCKET,
    TEACHER_MODEL_ID: 'us.amazon.nova-pro-v1:0',
    INCLUDE_REASONING: 'false',
    LABEL_CONCURRENCY: '8',
    LABEL_BATCH_SIZE: 'auto',
    CALIBRATION_MIN_AGREEMENT: '0.95',
    CALIBRATION_MAX_WEIGHT_ERROR: '0.03',
  });
});
afterEach(() => {
  s3.restore();
  bedrock.restore();
});

/** The teacher answers through the mocked client with real Converse output shapes (usage and metrics included). */
const teacherAnswers = (teacher: SimulatedTeacher) =>
  bedrock.on(ConverseCommand).callsFake((input: ConverseCommandInput) => teacher.reply(input));
const converseCalls = () => bedrock.commandCalls(ConverseCommand).map((c) => c.args[0].input);
const batchSizesAsked = () =>
  converseCalls()
    .filter((i) => requestTexts(i).system === teacherBatchPrompt(false))
    .map((i) => (JSON.parse(requestTexts(i).user.split('\n')[1] ?? '[]') as unknown[]).length);
const storedRecord = () => parseCalibration(s3.get(BUCKET, calibrationKey(RUN)) ?? '', 'calibration.json');
const event = { runId: RUN, shardCount: 24 };

describe('Calibrate labelling handler', () => {
  it('labels the calibration set singly and in batches of 5, 10 and 20, and picks the largest size that agrees', async () => {
    const teacher = new SimulatedTeacher();
    teacherAnswers(teacher);

    const result = await calibrate(event, { now: NOW });

    expect(result).toMatchObject({ key: 'runs/run-cal/calibration.json', labelBatchSize: 20, calibrated: true });
    expect(result.reason).toMatch(/^20 is the largest batch size/);
    expect(result.table.map((r) => [r.size, r.queries, r.calls, r.agreement, r.meanAbsoluteError])).toEqual([
      [1, 100, 100, 1, 0],
      [5, 100, 20, 1, 0],
      [10, 100, 10, 1, 0],
      [20, 100, 5, 1, 0],
    ]);
    // 100 single labels, then 20 + 10 + 5 batch calls: every calibration query in every size.
    expect(teacher.calls).toMatchObject({ labelling: 100, batches: 35 });
    expect(batchSizesAsked().sort((a, b) => a - b)).toEqual([
      ...Array<number>(20).fill(5),
      ...Array<number>(10).fill(10),
      ...Array<number>(5).fill(20),
    ]);
    const singles = converseCalls().filter((i) => requestTexts(i).system !== teacherBatchPrompt(false));
    expect(singles.map((i) => requestTexts(i).user).sort()).toEqual([...calibrationQueries()].sort());
    // A batch reads the long prompt once: far fewer input tokens per query than one call per query.
    const [single, , , twenty] = result.table;
    expect(twenty?.inputTokensPerQuery).toBeLessThan((single?.inputTokensPerQuery ?? 0) / 5);

    // Stored once, conditionally, with what it cost; the state gets the table without the bookkeeping.
    expect(s3.puts).toEqual([{ bucket: BUCKET, key: 'runs/run-cal/calibration.json', ifNoneMatch: '*' }]);
    const record = storedRecord();
    expect(record).toMatchObject({
      calibrationVersion: 'calibration-v1',
      runId: RUN,
      createdAt: '2026-11-25T10:00:00.000Z',
      labelBatchSize: 20,
      calibrated: true,
      thresholds: { minAgreement: 0.95, maxWeightError: 0.03 },
      usage: { calls: 135 },
    });
    expect(record.table).toEqual(result.table);
  });

  it('picks a middle size when the largest batches disagree with the single labels', async () => {
    // Batches of 20 mislabel one query in ten (agreement 0.9 < 0.95); smaller batches agree.
    let n = 0;
    const teacher = new SimulatedTeacher({
      batchWeights: (_, single, size) => (size === 20 && n++ % 10 === 0 ? dominantWeights('metadata') : single),
    });
    teacherAnswers(teacher);

    const result = await calibrate(event, { now: NOW });

    expect(result.labelBatchSize).toBe(10);
    expect(result.table.find((r) => r.size === 20)).toMatchObject({ agreement: 0.9, answered: 100 });
  });

  it('falls back to one query per call when every size drops or spoils too many items', async () => {
    const teacher = new SimulatedTeacher({ batchItemFault: faultsAtRate(0.2, 7) });
    teacherAnswers(teacher);

    const result = await calibrate(event, { now: NOW });

    expect(result.labelBatchSize).toBe(1);
    expect(result.reason).toMatch(/^no batch size met/);
    for (const r of result.table.slice(1)) {
      const reasked = r.reasked.missing + r.reasked.duplicate + r.reasked.unparsable;
      expect(reasked).toBeGreaterThan(5);
      // Unanswered items count against agreement; the ones answered agree.
      expect(r.agreement).toBeCloseTo(r.answered / r.queries, 4);
      expect(r.meanAbsoluteError).toBe(0);
      // The re-asked items were labelled singly, each one more call.
      expect(r.calls).toBe(100 / r.size + reasked);
    }
  });

  it('reuses the stored calibration on a retry or redrive, calling nothing and writing nothing', async () => {
    teacherAnswers(new SimulatedTeacher());
    const first = await calibrate(event, { now: NOW });
    bedrock.resetHistory();
    const puts = s3.puts.length;

    const again = await calibrate(event, { now: () => new Date('2026-12-01T00:00:00.000Z') });

    expect(again).toEqual(first);
    expect(converseCalls()).toHaveLength(0);
    expect(s3.puts).toHaveLength(puts);
  });

  it('resumes from a calibration another attempt stored, even with other settings deployed since', async () => {
    teacherAnswers(new SimulatedTeacher());
    await calibrate(event, { now: NOW });
    const stored = s3.get(BUCKET, calibrationKey(RUN));
    bedrock.resetHistory();
    process.env.LABEL_BATCH_SIZE = '5';

    const resumed = await calibrate(event);

    expect(resumed.labelBatchSize).toBe(20);
    expect(converseCalls()).toHaveLength(0);
    expect(s3.get(BUCKET, calibrationKey(RUN))).toBe(stored);
  });

  it('uses a fixed labelBatchSize as it is, with no teacher call, and records that it did not calibrate', async () => {
    process.env.LABEL_BATCH_SIZE = '10';
    const result = await calibrate(event, { now: NOW });
    expect(result).toEqual({
      key: 'runs/run-cal/calibration.json',
      labelBatchSize: 10,
      calibrated: false,
      reason: 'labelBatchSize is fixed at 10 by the configuration: not calibrated',
      table: [],
    });
    expect(converseCalls()).toHaveLength(0);
    expect(storedRecord()).toMatchObject({ calibrated: false, labelBatchSize: 10, usage: { calls: 0 } });
  });

  it('does not calibrate a run that plans no synthetic query (production covers every quota)', async () => {
    const result = await calibrate({ runId: RUN, shardCount: 0 }, { now: NOW });
    expect(result).toMatchObject({ labelBatchSize: 1, calibrated: false });
    expect(converseCalls()).toHaveLength(0);
  });

  it('fails at once on a teacher error retrying cannot fix, writing nothing', async () => {
    bedrock
      .on(ConverseCommand)
      .rejects(new AccessDeniedException({ message: 'not authorized', $metadata: { httpStatusCode: 403 } }));
    await expect(calibrate(event)).rejects.toMatchObject({ name: 'AccessDeniedException' });
    expect(s3.keys(BUCKET)).toEqual([]);
    // Nothing new was started after the first failure (at most the calls already in flight).
    expect(converseCalls().length).toBeLessThanOrEqual(8);
  });

  it('fails with the transient error under its own name (for the state machine Retry), writing nothing', async () => {
    const teacher = new SimulatedTeacher();
    bedrock.on(ConverseCommand).callsFake((input: ConverseCommandInput) => {
      if (requestTexts(input).system === teacherBatchPrompt(false)) throw throttling();
      return teacher.reply(input);
    });
    await expect(calibrate(event)).rejects.toMatchObject({ name: 'ThrottlingException' });
    expect(s3.keys(BUCKET)).toEqual([]);
  });

  it('names a bad or missing environment variable', async () => {
    process.env.LABEL_BATCH_SIZE = 'many';
    await expect(calibrate(event)).rejects.toThrow(/LABEL_BATCH_SIZE: must be "auto" or a whole number from 1 to 25/);
    delete process.env.CALIBRATION_MIN_AGREEMENT;
    await expect(calibrate(event)).rejects.toThrow(/CALIBRATION_MIN_AGREEMENT/);
  });

  it('rejects malformed input from the state machine, naming the field', async () => {
    await expect(calibrate({ runId: RUN })).rejects.toThrow(
      /Calibrate labelling: invalid input from the state machine: shardCount/,
    );
  });
});
