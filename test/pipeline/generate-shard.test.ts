import {
  AccessDeniedException,
  BedrockRuntimeClient,
  ConverseCommand,
  ThrottlingException,
  type ConverseCommandInput,
} from '@aws-sdk/client-bedrock-runtime';
import { mockClient } from 'aws-sdk-client-mock';
import { logger, metrics } from '../../lambda/core/runtime';
import { generateShardStep, TEACHER_CLIENT_CONFIG } from '../../lambda/pipeline/generation/generate-shard';
import { teacherBatchPrompt } from '../../lambda/core/batch-labelling';
import { teacherPrompt } from '../../lambda/core/teacher-prompt';
import type { ShardSpec } from '../../lambda/pipeline/generation/query-plan';
import { QUERY_WRITER_SYSTEM_PROMPT } from '../../lambda/pipeline/generation/query-writing';
import { runKeys } from '../../lambda/core/runs';
import { parseShardFile, serialiseShard } from '../../lambda/pipeline/generation/shard-generation';
import { InMemoryS3, requestTexts, throttling } from '../helpers/aws-mocks';
import { converseHttpStub } from '../helpers/bedrock-http-stub';
import { SimulatedTeacher, type BatchItemFault } from '../helpers/simulated-teacher';

const BUCKET = 'dataset-bucket';
const RUN = 'run-7';
const shard: ShardSpec = { index: 3, target: 'audio', domain: 'cooking', phrasing: 'sounds', count: 10 };
const noWait = { sleep: async () => undefined };

let bedrock = mockClient(BedrockRuntimeClient);
let s3: InMemoryS3;

beforeAll(() => {
  logger.setLogLevel('SILENT');
  jest.spyOn(metrics, 'publishStoredMetrics').mockReturnValue(metrics);
});

beforeEach(() => {
  bedrock = mockClient(BedrockRuntimeClient);
  s3 = new InMemoryS3();
  process.env.BUCKET_NAME = BUCKET;
  process.env.TEACHER_MODEL_ID = 'us.amazon.nova-premier-v1:0';
  process.env.INCLUDE_REASONING = 'false';
  process.env.LABEL_CONCURRENCY = '4';
});
afterEach(() => {
  s3.restore();
  bedrock.restore();
});

const stored = () => {
  const text = s3.get(BUCKET, runKeys(RUN).shard(3));
  if (text === undefined) throw new Error('shard not written');
  return parseShardFile(text);
};
const isLabelRequest = (input: ConverseCommandInput) => requestTexts(input).system !== QUERY_WRITER_SYSTEM_PROMPT;
const isBatchRequest = (input: ConverseCommandInput) => requestTexts(input).system === teacherBatchPrompt(false);
const labelRequests = () =>
  bedrock
    .commandCalls(ConverseCommand)
    .map((c) => c.args[0].input)
    .filter(isLabelRequest);

/**
 * The deployed SDK client configuration over an HTTP stub (below the SDK, so its own retry strategy runs;
 * aws-sdk-client-mock would bypass it): the first `times` requests that `throttle` picks get a 429, the rest the
 * simulated teacher's reply.
 */
function throttlingClient(
  teacher: SimulatedTeacher,
  throttle: (input: ConverseCommandInput) => boolean,
  times: number,
): { client: BedrockRuntimeClient; throttled: () => number } {
  let throttled = 0;
  const client = new BedrockRuntimeClient({
    ...TEACHER_CLIENT_CONFIG,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    requestHandler: converseHttpStub((input) => {
      if (throttle(input) && throttled < times) {
        throttled++;
        return { throttle: true };
      }
      return { output: teacher.reply(input) };
    }),
  });
  return { client, throttled: () => throttled };
}

describe('Generate shard handler', () => {
  it('writes and labels the shard, and stores it once under the run and shard key', async () => {
    const teacher = new SimulatedTeacher();
    bedrock.on(ConverseCommand).callsFake((input: ConverseCommandInput) => teacher.reply(input));

    const result = await generateShardStep({ runId: RUN, shard }, noWait);

    expect(result).toEqual({
      index: 3,
      key: 'runs/run-7/shards/shard-00003.jsonl',
      skipped: false,
      planned: 10,
      labelled: 10,
      dropped: 0,
    });
    const { summary, examples } = stored();
    expect(examples).toHaveLength(10);
    expect(examples[0]).toMatchObject({ kind: 'example', weights: { audio: 0.7 } });
    expect(summary).toMatchObject({
      planned: 10,
      written: 10,
      labelled: 10,
      teacherCalls: { writing: 1, labelling: 10 },
      retries: 0,
    });
    // Usage comes from the Converse replies: one writing call (160 in / 120 out) and ten labels (330 / 28 each).
    expect(summary.usage).toEqual({ inputTokens: 160 + 10 * 330, outputTokens: 120 + 10 * 28 });
    expect(s3.puts).toEqual([{ bucket: BUCKET, key: 'runs/run-7/shards/shard-00003.jsonl', ifNoneMatch: '*' }]);

    const labelCalls = bedrock
      .commandCalls(ConverseCommand)
      .map((c) => c.args[0].input)
      .filter(isLabelRequest);
    expect(labelCalls[0]).toMatchObject({
      modelId: 'us.amazon.nova-premier-v1:0',
      inferenceConfig: { temperature: 0, maxTokens: 80 },
    });
  });

  it('backs off on throttling with the deployed SDK client configuration (adaptive), then succeeds', async () => {
    // Below the SDK (its HTTP handler), so the SDK's own retry strategy runs; aws-sdk-client-mock would bypass it.
    bedrock.restore();
    const teacher = new SimulatedTeacher();
    const { client, throttled } = throttlingClient(teacher, isLabelRequest, 3);
    const result = await generateShardStep(
      { runId: RUN, shard },
      { converse: (input) => client.send(new ConverseCommand(input)) },
    );
    expect(throttled()).toBe(3);
    expect(result).toMatchObject({ labelled: 10, dropped: 0 });
    expect(stored().summary.retries).toBe(3);
    expect(stored().summary.teacherCalls).toEqual({ writing: 1, labelling: 10 });
  });

  it('backs off with our own retry layer when it is the chosen one (jittered, counted)', async () => {
    const teacher = new SimulatedTeacher();
    let throttled = 0;
    bedrock.on(ConverseCommand).callsFake((input: ConverseCommandInput) => {
      if (isLabelRequest(input) && throttled < 3) {
        throttled++;
        throw throttling();
      }
      return teacher.reply(input);
    });
    const delays: number[] = [];
    const result = await generateShardStep(
      { runId: RUN, shard },
      {
        retry: { layer: 'client', maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 1000 },
        sleep: async (ms) => void delays.push(ms),
      },
    );
    expect(result).toMatchObject({ labelled: 10, dropped: 0 });
    expect(stored().summary.retries).toBe(3);
    expect(delays).toHaveLength(3);
  });

  it('retries an unparseable label once, then drops the query and counts it', async () => {
    // "moment 2" never parses; "moment 5" fails once and then parses.
    const teacher = new SimulatedTeacher({
      badLabel: (query, attempt) => query.endsWith('moment 2') || (query.endsWith('moment 5') && attempt === 1),
    });
    bedrock.on(ConverseCommand).callsFake((input: ConverseCommandInput) => teacher.reply(input));

    const result = await generateShardStep({ runId: RUN, shard }, noWait);

    expect(result).toMatchObject({ planned: 10, labelled: 9, dropped: 1 });
    const { summary, examples } = stored();
    expect(summary.dropped).toEqual({ notWritten: 0, unparseableLabel: 1, teacherError: 0 });
    expect(summary.labelRetries).toBe(2);
    expect(summary.teacherCalls.labelling).toBe(12);
    expect(examples.map((e) => e.query)).not.toContain('cooking sound moment 2');
    const retried = bedrock
      .commandCalls(ConverseCommand)
      .map((c) => c.args[0].input)
      .filter((i) => requestTexts(i).user === 'cooking sound moment 5');
    expect(retried.map((i) => i.inferenceConfig?.temperature)).toEqual([0, 0.3]);
  });

  it('skips a shard already in S3 without calling the teacher', async () => {
    const teacher = new SimulatedTeacher();
    bedrock.on(ConverseCommand).callsFake((input: ConverseCommandInput) => teacher.reply(input));
    await generateShardStep({ runId: RUN, shard }, noWait);
    const first = s3.get(BUCKET, runKeys(RUN).shard(3));
    bedrock.resetHistory();

    const again = await generateShardStep({ runId: RUN, shard }, noWait);

    expect(again).toMatchObject({ skipped: true, labelled: 10 });
    expect(bedrock.commandCalls(ConverseCommand)).toHaveLength(0);
    expect(s3.get(BUCKET, runKeys(RUN).shard(3))).toBe(first);
  });

  it('keeps the file another attempt wrote first (conditional write lost)', async () => {
    const teacher = new SimulatedTeacher();
    const winner = serialiseShard(foreignSummary(), []);
    bedrock.on(ConverseCommand).callsFake((input: ConverseCommandInput) => {
      // The other attempt lands while this one is labelling.
      if (isLabelRequest(input) && s3.get(BUCKET, runKeys(RUN).shard(3)) === undefined)
        s3.set(BUCKET, runKeys(RUN).shard(3), winner);
      return teacher.reply(input);
    });
    const result = await generateShardStep({ runId: RUN, shard }, noWait);
    expect(result).toMatchObject({ skipped: true, labelled: 0 });
    expect(s3.get(BUCKET, runKeys(RUN).shard(3))).toBe(winner);
  });

  it('fails the shard at once on an error retrying cannot fix, writing nothing', async () => {
    bedrock
      .on(ConverseCommand)
      .rejects(new AccessDeniedException({ message: 'not authorized', $metadata: { httpStatusCode: 403 } }));
    await expect(generateShardStep({ runId: RUN, shard }, noWait)).rejects.toMatchObject({
      name: 'AccessDeniedException',
    });
    expect(s3.keys(BUCKET)).toEqual([]);
  });

  it('fails with the throttling error (for the Map Retry) when throttling costs most of the shard', async () => {
    const teacher = new SimulatedTeacher();
    bedrock.on(ConverseCommand).callsFake((input: ConverseCommandInput) => {
      if (isLabelRequest(input)) throw throttling();
      return teacher.reply(input);
    });
    await expect(generateShardStep({ runId: RUN, shard }, noWait)).rejects.toBeInstanceOf(ThrottlingException);
    expect(s3.keys(BUCKET)).toEqual([]);
  });

  it('names the environment variable that is missing', async () => {
    delete process.env.TEACHER_MODEL_ID;
    await expect(generateShardStep({ runId: RUN, shard })).rejects.toThrow(/TEACHER_MODEL_ID/);
  });

  it('rejects a malformed shard from the state machine, naming the field', async () => {
    await expect(generateShardStep({ runId: RUN, shard: { ...shard, target: 'smell' } })).rejects.toThrow(
      /Generate shard: invalid input from the state machine: shard\.target/,
    );
  });
});

describe('Generate shard handler, labelling in batches', () => {
  it('with labelBatchSize 1 sends exactly the single-query requests of the unbatched path, one per query', async () => {
    const requestsOf = async (event: Record<string, unknown>, runId: string) => {
      bedrock.reset();
      const teacher = new SimulatedTeacher();
      bedrock.on(ConverseCommand).callsFake((input: ConverseCommandInput) => teacher.reply(input));
      await generateShardStep({ runId, shard, ...event }, noWait);
      return labelRequests().sort((a, b) => requestTexts(a).user.localeCompare(requestTexts(b).user));
    };
    const unbatched = await requestsOf({}, 'run-unbatched');
    const sizeOne = await requestsOf({ labelBatchSize: 1 }, 'run-size-one');

    expect(sizeOne).toEqual(unbatched);
    expect(JSON.stringify(sizeOne)).toBe(JSON.stringify(unbatched));
    expect(sizeOne).toHaveLength(10);
    for (const request of sizeOne) {
      expect(request).toEqual({
        modelId: 'us.amazon.nova-premier-v1:0',
        system: [{ text: teacherPrompt(false) }],
        messages: [{ role: 'user', content: [{ text: requestTexts(request).user }] }],
        inferenceConfig: { temperature: 0, maxTokens: 80 },
      });
    }
    const summary = parseShardFile(s3.get(BUCKET, runKeys('run-size-one').shard(3)) ?? '').summary;
    expect(summary).toMatchObject({ labelBatchSize: 1, batchCalls: 0, teacherCalls: { labelling: 10 } });
    expect(summary.promptVersions).not.toHaveProperty('teacherBatch');
  });

  it('labels labelBatchSize queries per call, re-asks the malformed items singly and accounts for every query', async () => {
    const faults: Record<string, BatchItemFault> = {
      'cooking sound moment 2': 'missing',
      'cooking sound moment 6': 'duplicate',
      'cooking sound moment 9': 'unparsable',
    };
    const teacher = new SimulatedTeacher({ batchItemFault: (query) => faults[query] });
    bedrock.on(ConverseCommand).callsFake((input: ConverseCommandInput) => teacher.reply(input));

    const result = await generateShardStep({ runId: RUN, shard, labelBatchSize: 4 }, noWait);

    expect(result).toMatchObject({ planned: 10, labelled: 10, dropped: 0 });
    const { summary, examples } = stored();
    // 10 queries in batches of 4, 4 and 2; then the three bad items asked again, one by one.
    expect(summary).toMatchObject({
      labelBatchSize: 4,
      batchCalls: 3,
      batchReasks: { missing: 1, duplicate: 1, unparsable: 1 },
      batchUnknownIds: 0,
      teacherCalls: { writing: 1, labelling: 6 },
      labelRetries: 0,
    });
    expect(summary.planned).toBe(summary.labelled + Object.values(summary.dropped).reduce((s, n) => s + n, 0));
    expect(summary.promptVersions).toMatchObject({ teacherBatch: 'teacher-batch-v1' });
    expect(
      labelRequests()
        .filter(isBatchRequest)
        .map((r) => r.inferenceConfig),
    ).toEqual([
      { temperature: 0, maxTokens: 16 + 4 * 40 },
      { temperature: 0, maxTokens: 16 + 4 * 40 },
      { temperature: 0, maxTokens: 16 + 2 * 40 },
    ]);
    expect(
      labelRequests()
        .filter((r) => !isBatchRequest(r))
        .map((r) => requestTexts(r).user)
        .sort(),
    ).toEqual(Object.keys(faults).sort());
    // Every query labelled once, in the written order, the duplicated one by its single label (audio), not a guess.
    expect(examples.map((e) => e.query)).toEqual(Array.from({ length: 10 }, (_, i) => `cooking sound moment ${i + 1}`));
    expect(examples.every((e) => e.weights.audio === 0.7)).toBe(true);
    // Batch usage comes from the replies too: 1 writing call + 3 batches + 3 single labels (330 in each).
    expect(summary.usage.inputTokens).toBeGreaterThan(160 + 3 * 330);
  });

  it('labels in batches through the deployed SDK client: real Converse bodies, throttled batch calls retried', async () => {
    bedrock.restore();
    const teacher = new SimulatedTeacher({
      batchItemFault: (query) => (query.endsWith('moment 3') ? 'missing' : undefined),
    });
    const { client, throttled } = throttlingClient(teacher, isBatchRequest, 2);
    const result = await generateShardStep(
      { runId: RUN, shard, labelBatchSize: 5 },
      { converse: (input) => client.send(new ConverseCommand(input)) },
    );
    expect(result).toMatchObject({ labelled: 10, dropped: 0 });
    expect(stored().summary).toMatchObject({
      retries: 2,
      batchCalls: 2,
      batchReasks: { missing: 1, duplicate: 0, unparsable: 0 },
      teacherCalls: { writing: 1, labelling: 3 },
    });
    expect(teacher.calls).toMatchObject({ batches: 2, labelling: 1 });
    expect(throttled()).toBe(2);
  });

  it('keeps at most labelConcurrency batch calls in flight', async () => {
    process.env.LABEL_CONCURRENCY = '2';
    const teacher = new SimulatedTeacher();
    let inFlight = 0;
    let most = 0;
    bedrock.on(ConverseCommand).callsFake(async (input: ConverseCommandInput) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight--;
      return teacher.reply(input);
    });
    await generateShardStep({ runId: RUN, shard: { ...shard, count: 25 } }, { ...noWait });
    expect(most).toBe(2);
    most = 0;
    await generateShardStep({ runId: 'run-8', shard: { ...shard, count: 25 }, labelBatchSize: 5 }, noWait);
    expect(most).toBe(2);
    expect(teacher.calls.batches).toBe(5);
  });

  it('drops every query of a batch call that ends in a transient error as teacherError, and goes on', async () => {
    const teacher = new SimulatedTeacher();
    let batches = 0;
    bedrock.on(ConverseCommand).callsFake((input: ConverseCommandInput) => {
      if (isBatchRequest(input) && batches++ === 0) throw throttling();
      return teacher.reply(input);
    });
    const result = await generateShardStep({ runId: RUN, shard, labelBatchSize: 5 }, noWait);
    expect(result).toMatchObject({ planned: 10, labelled: 5, dropped: 5 });
    expect(stored().summary.dropped).toEqual({ notWritten: 0, unparseableLabel: 0, teacherError: 5 });
    // Calls are counted when answered (what is billed): the failed batch call in neither count.
    expect(stored().summary).toMatchObject({ batchCalls: 1, teacherCalls: { labelling: 1 } });
  });

  it('fails with the throttling error when failed batch calls cost more than half of the shard', async () => {
    const teacher = new SimulatedTeacher();
    bedrock.on(ConverseCommand).callsFake((input: ConverseCommandInput) => {
      if (isBatchRequest(input)) throw throttling();
      return teacher.reply(input);
    });
    await expect(generateShardStep({ runId: RUN, shard, labelBatchSize: 5 }, noWait)).rejects.toBeInstanceOf(
      ThrottlingException,
    );
    expect(s3.keys(BUCKET)).toEqual([]);
  });

  it('fails at once on an error of a batch call retrying cannot fix, writing nothing', async () => {
    const teacher = new SimulatedTeacher();
    bedrock.on(ConverseCommand).callsFake((input: ConverseCommandInput) => {
      if (isBatchRequest(input)) throw new AccessDeniedException({ message: 'no', $metadata: {} });
      return teacher.reply(input);
    });
    await expect(generateShardStep({ runId: RUN, shard, labelBatchSize: 5 }, noWait)).rejects.toMatchObject({
      name: 'AccessDeniedException',
    });
    expect(s3.keys(BUCKET)).toEqual([]);
  });

  it('reads shard summaries stored before batching (no batch fields)', () => {
    const { summary } = parseShardFile(serialiseShard(foreignSummary(), []));
    expect(summary.labelBatchSize).toBeUndefined();
    expect(summary.batchReasks).toBeUndefined();
  });

  it('rejects a batch size beyond the maximum, naming the field', async () => {
    await expect(generateShardStep({ runId: RUN, shard, labelBatchSize: 26 })).rejects.toThrow(
      /Generate shard: invalid input from the state machine: labelBatchSize/,
    );
  });
});

/** A stored summary for a shard produced by someone else (same shape as ours). */
function foreignSummary() {
  return {
    kind: 'shard' as const,
    index: 3,
    target: 'audio',
    domain: 'cooking',
    phrasing: 'sounds',
    teacherModelId: 'us.amazon.nova-premier-v1:0',
    promptVersions: {},
    planned: 10,
    written: 0,
    labelled: 0,
    dropped: { notWritten: 10, unparseableLabel: 0, teacherError: 0 },
    writerRejected: 0,
    writerUnparseable: 0,
    labelRetries: 0,
    teacherCalls: { writing: 1, labelling: 0 },
    usage: { inputTokens: 1, outputTokens: 1 },
    retries: 0,
    durationMs: 1,
  };
}
