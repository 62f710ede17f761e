import {
  AccessDeniedException,
  type ConverseCommandInput,
  type ConverseCommandOutput,
} from '@aws-sdk/client-bedrock-runtime';
import { batchLabelMessage, teacherBatchPrompt } from '../../lambda/core/batch-labelling';
import { teacherPrompt } from '../../lambda/core/teacher-prompt';
import { labelBatch } from '../../lambda/core/label-batch';
import { labelQuery, type Converse } from '../../lambda/core/teacher-labelling';
import { converseReply, requestTexts, throttling } from '../helpers/aws-mocks';
import { dominantWeights, SimulatedTeacher, type BatchItemFault } from '../helpers/simulated-teacher';

const OPTIONS = { teacherModelId: 'us.amazon.nova-pro-v1:0', includeReasoning: false };
const QUERIES = [
  'cooking scene moment 1',
  'cooking sound moment 2',
  'cooking dialogue moment 3',
  'cooking title moment 4',
];

/** A Converse function that records its requests and answers them with `answer`. */
function recording(answer: (input: ConverseCommandInput) => ConverseCommandOutput) {
  const requests: ConverseCommandInput[] = [];
  const call: Converse = async (input) => {
    requests.push(input);
    return answer(input);
  };
  return { requests, call };
}
const isBatch = (input: ConverseCommandInput) => requestTexts(input).system === teacherBatchPrompt(false);
const singleRequest = (query: string, temperature: number): ConverseCommandInput => ({
  modelId: OPTIONS.teacherModelId,
  system: [{ text: teacherPrompt(false) }],
  messages: [{ role: 'user', content: [{ text: query }] }],
  inferenceConfig: { temperature, maxTokens: 80 },
});

describe('labelBatch', () => {
  it('labels the whole batch in one call (temperature 0, maxTokens sized to the batch), tied by id', async () => {
    const teacher = new SimulatedTeacher();
    const { requests, call } = recording((input) => teacher.reply(input));

    const result = await labelBatch(QUERIES, OPTIONS, call);

    expect(requests).toEqual([
      {
        modelId: OPTIONS.teacherModelId,
        system: [{ text: teacherBatchPrompt(false) }],
        messages: [{ role: 'user', content: [{ text: batchLabelMessage(QUERIES) }] }],
        inferenceConfig: { temperature: 0, maxTokens: 16 + 4 * 40 },
      },
    ]);
    expect(result).toMatchObject({ batchCalls: 1, reasked: [], unknownIds: 0 });
    expect(result.outcomes.map((o) => (o.ok ? o.example.query : o.reason))).toEqual(QUERIES);
    expect(result.outcomes.map((o) => o.ok && o.example.weights)).toEqual([
      dominantWeights('visual'),
      dominantWeights('audio'),
      dominantWeights('transcription'),
      dominantWeights('metadata'),
    ]);
  });

  it('re-asks exactly the missing, duplicated and unparsable items on their own, and uses nothing else of them', async () => {
    const faults = new Map<number, BatchItemFault>([
      [2, 'missing'],
      [3, 'duplicate'],
      [4, 'unparsable'],
    ]);
    const teacher = new SimulatedTeacher({ batchItemFault: (_, id) => faults.get(id) });
    const { requests, call } = recording((input) => teacher.reply(input));

    const result = await labelBatch(QUERIES, OPTIONS, call);

    expect(result.reasked).toEqual([
      { index: 1, kind: 'missing' },
      { index: 2, kind: 'duplicate' },
      { index: 3, kind: 'unparsable' },
    ]);
    // One batch call, then the three single-query requests, exactly as labelQuery sends them.
    expect(requests.filter(isBatch)).toHaveLength(1);
    expect(requests.filter((r) => !isBatch(r))).toEqual(QUERIES.slice(1).map((q) => singleRequest(q, 0)));
    // The duplicated item's batch answers (one of them "metadata") are discarded: the single label decides.
    expect(result.outcomes.map((o) => o.ok && o.example.weights)).toEqual([
      dominantWeights('visual'),
      dominantWeights('audio'),
      dominantWeights('transcription'),
      dominantWeights('metadata'),
    ]);
    expect(result.outcomes.every((o) => o.ok && !o.retried)).toBe(true);
  });

  it('re-asks every item when the reply cannot be read at all, and drops one whose single label fails twice', async () => {
    const { requests, call } = recording((input) => {
      if (isBatch(input)) return converseReply('I am sorry, I can only label one query at a time.');
      const query = requestTexts(input).user;
      return converseReply(query.endsWith('2') ? 'still prose' : JSON.stringify(dominantWeights('audio')));
    });

    const result = await labelBatch(QUERIES, OPTIONS, call);

    expect(result.reasked.map((r) => r.kind)).toEqual(['unparsable', 'unparsable', 'unparsable', 'unparsable']);
    expect(result.outcomes.map((o) => (o.ok ? 'ok' : o.reason))).toEqual(['ok', 'unparseableLabel', 'ok', 'ok']);
    // Query 2 had its single-label retry at the higher temperature.
    expect(
      requests.filter((r) => requestTexts(r).user === QUERIES[1]).map((r) => r.inferenceConfig?.temperature),
    ).toEqual([0, 0.3]);
  });

  it('counts reply items for ids that were not asked, and re-asks the whole misnumbered batch singly', async () => {
    const { call } = recording((input) =>
      isBatch(input)
        ? converseReply(
            JSON.stringify({
              labels: [1, 2, 7].map((id) => ({ id, ...dominantWeights('visual') })),
            }),
          )
        : converseReply(JSON.stringify(dominantWeights('visual'))),
    );
    const result = await labelBatch(QUERIES.slice(0, 2), OPTIONS, call);
    expect(result).toMatchObject({
      unknownIds: 1,
      reasked: [
        { index: 0, kind: 'unparsable' },
        { index: 1, kind: 'unparsable' },
      ],
    });
    expect(result.outcomes.every((o) => o.ok)).toBe(true);
  });

  it('labels a batch of one with the single-query request', async () => {
    const teacher = new SimulatedTeacher();
    const { requests, call } = recording((input) => teacher.reply(input));
    const result = await labelBatch([QUERIES[0] ?? ''], OPTIONS, call);
    expect(requests).toEqual([singleRequest(QUERIES[0] ?? '', 0)]);
    expect(result).toMatchObject({ batchCalls: 0, reasked: [] });
    expect(result.outcomes).toEqual([await labelQuery(QUERIES[0] ?? '', OPTIONS, call)]);
  });

  it('throws the error of the batch call (it decides for all its queries)', async () => {
    const { call } = recording(() => {
      throw throttling();
    });
    await expect(labelBatch(QUERIES, OPTIONS, call)).rejects.toMatchObject({ name: 'ThrottlingException' });
  });

  it('drops a re-asked query on a transient error and reports it; throws any other error of a re-ask', async () => {
    const teacher = new SimulatedTeacher({ batchItemFault: (_, id) => (id === 2 ? 'missing' : undefined) });
    const transient = recording((input) => {
      if (!isBatch(input)) throw throttling();
      return teacher.reply(input);
    });
    const result = await labelBatch(QUERIES, OPTIONS, transient.call);
    expect(result.outcomes[1]).toEqual({ ok: false, reason: 'teacherError', retried: false });
    expect(result.outcomes.filter((o) => o.ok)).toHaveLength(3);
    expect(result.transientError).toMatchObject({ name: 'ThrottlingException' });

    const fatal = recording((input) => {
      if (!isBatch(input)) throw new AccessDeniedException({ message: 'no', $metadata: {} });
      return teacher.reply(input);
    });
    await expect(labelBatch(QUERIES, OPTIONS, fatal.call)).rejects.toMatchObject({ name: 'AccessDeniedException' });
  });

  it('asks for and keeps a reasoning per item when reasoning is on', async () => {
    const { requests, call } = recording(() =>
      converseReply(
        JSON.stringify({
          labels: [
            { id: 1, ...dominantWeights('visual'), reasoning: 'A scene is seen.' },
            { id: 2, ...dominantWeights('audio'), reasoning: 'A sound is heard.' },
          ],
        }),
      ),
    );
    const result = await labelBatch(QUERIES.slice(0, 2), { ...OPTIONS, includeReasoning: true }, call);
    expect(requests[0]).toMatchObject({
      system: [{ text: teacherBatchPrompt(true) }],
      inferenceConfig: { maxTokens: 16 + 2 * 120 },
    });
    expect(result.outcomes.map((o) => o.ok && o.example.reasoning)).toEqual(['A scene is seen.', 'A sound is heard.']);
  });
});
