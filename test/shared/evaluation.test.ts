import { toRecord } from '../../lambda/core/dataset-record';
import { MAX_EVALUATION_PROMPTS } from '../../lambda/core/dataset-validator';
import {
  byoDatasetJsonl,
  EMPTY_REPLY_PLACEHOLDER,
  evaluationJobRequest,
  evaluationKeys,
  JUDGE_METRIC_NAME,
  judgeMetricDefinition,
  pairJudgeScores,
  parseJudgeOutput,
  parseJudgeScores,
  rejectedEvaluationJobMessage,
} from '../../lambda/pipeline/evaluation/evaluation';
import { computeMetrics, parseTestSet, percentile, type ModelAnswer } from '../../lambda/pipeline/evaluation/metrics';
import type { Weights } from '../../lambda/core/modality';
import { TEACHER_ANSWER_FORMAT } from '../../lambda/core/prompts';
import { CURRENT_STUDENT_FORMAT, STUDENT_FORMATS } from '../../lambda/core/student-format';

const w = (visual: number, audio: number, transcription: number, metadata: number): Weights => ({
  visual,
  audio,
  transcription,
  metadata,
});
const testJsonl = (labels: [string, Weights][]) =>
  labels.map(([q, weights]) => JSON.stringify(toRecord(q, weights))).join('\n') + '\n';

const CASES = parseTestSet(
  testJsonl([
    ['red car driving', w(0.9, 0, 0, 0.1)],
    ['dog barking loudly', w(0.3, 0.6, 0, 0.1)],
    ['Taylor Swift', w(0.3, 0, 0.1, 0.6)],
    ['chef says add salt', w(0.2, 0, 0.7, 0.1)],
  ]),
);
const answer = (reply: string, latencyMs: number, inputTokens = 100, outputTokens = 20): ModelAnswer => ({
  reply,
  latencyMs,
  inputTokens,
  outputTokens,
});

describe('parseTestSet', () => {
  it('reads the query, the teacher label and its dominant modality, in the format the records name', () => {
    expect(CASES).toHaveLength(4);
    expect(CASES[1]).toMatchObject({ query: 'dog barking loudly', dominant: 'audio', reference: w(0.3, 0.6, 0, 0.1) });
    expect(CASES[0]?.referenceText).toBe('9 0 0 1');
    expect(CASES.every((c) => c.promptVersion === 'student-v2')).toBe(true);
  });

  it('reads a test set written in student-v1 (a reused dataset) in its own format', () => {
    const v1 = JSON.stringify(toRecord('dog barking', w(0.3, 0.6, 0, 0.1), undefined, STUDENT_FORMATS['student-v1']));
    const [only] = parseTestSet(`${v1}\n`);
    expect(only).toMatchObject({ promptVersion: 'student-v1', reference: w(0.3, 0.6, 0, 0.1) });
    expect(JSON.parse(only?.referenceText ?? '')).toEqual(w(0.3, 0.6, 0, 0.1));
  });

  it('refuses a test set that mixes versions, naming both', () => {
    const v1 = JSON.stringify(toRecord('dog barking', w(0.3, 0.6, 0, 0.1), undefined, STUDENT_FORMATS['student-v1']));
    expect(() => parseTestSet(testJsonl([['red car', w(1, 0, 0, 0)]]) + v1 + '\n')).toThrow(
      /line 2 is in student prompt version student-v1, line 1 in student-v2/,
    );
  });

  it('refuses a record whose system prompt is no known student prompt', () => {
    const record = { ...toRecord('dog', w(0, 1, 0, 0)), system: [{ text: 'You are a helpful assistant.' }] };
    expect(() => parseTestSet(`${JSON.stringify(record)}\n`)).toThrow(
      /line 1: the teacher's label is invalid: .*student-v1, student-v2/,
    );
  });

  it('names the line of a record without a label or with an invalid one', () => {
    const noLabel = JSON.stringify(toRecord('query only'));
    expect(() => parseTestSet(`${noLabel}\n`, 'test.jsonl')).toThrow(/test.jsonl line 1 has no assistant turn/);
    const record = toRecord('x', w(1, 0, 0, 0));
    const invalid = {
      ...record,
      messages: [record.messages[0], { role: 'assistant', content: [{ text: '9 9 0 0' }] }],
    };
    const bad = testJsonl([['ok', w(1, 0, 0, 0)]]) + JSON.stringify(invalid) + '\n';
    expect(() => parseTestSet(bad)).toThrow(
      /line 2: the teacher's label is invalid: the tenths must sum to 10, got 18/,
    );
    expect(() => parseTestSet('not json\n')).toThrow(/line 1 is not JSON/);
  });

  it('refuses more prompts than one evaluation job judges', () => {
    const many = testJsonl(Array.from({ length: MAX_EVALUATION_PROMPTS + 1 }, (_, i) => [`q${i}`, w(1, 0, 0, 0)]));
    expect(() => parseTestSet(many)).toThrow(/at most 1000: lower testExampleCount/);
  });
});

describe('percentile', () => {
  it('uses the nearest rank', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 95)).toBe(95);
    expect(percentile([5, 1, 3], 50)).toBe(3);
    expect(percentile([], 95)).toBe(0);
  });
});

describe('computeMetrics', () => {
  // The baseline's JSON replies, read in the teacher prompt's format.
  const answers = [
    answer('{"visual":0.9,"audio":0,"transcription":0,"metadata":0.1}', 100), // exact
    answer('Sure! {"visual":0.5,"audio":0.4,"transcription":0,"metadata":0.1}', 200), // dominant wrong
    answer('no idea', 300), // invalid
    answer('{"visual":0.2,"audio":0,"transcription":0.6,"metadata":0.2}', 1000), // dominant right, off by 0.1
  ];
  const metrics = computeMetrics(CASES, answers, 'student', undefined, TEACHER_ANSWER_FORMAT);

  it('computes valid-reply rate and dominant agreement over all queries', () => {
    expect(metrics.queries).toBe(4);
    expect(metrics.validReplies).toBe(3);
    expect(metrics.validReplyRate).toBe(0.75);
    expect(metrics.dominantAgreement).toBe(0.5);
  });

  it('computes the mean absolute error per modality over valid replies', () => {
    // visual: |0.9-0.9|, |0.5-0.3|, |0.2-0.2| → 0.2/3; audio: 0, 0.2, 0 → 0.2/3; transcription 0,0,0.1; metadata 0,0,0.1
    expect(metrics.meanAbsoluteError.visual).toBeCloseTo(0.2 / 3, 6);
    expect(metrics.meanAbsoluteError.audio).toBeCloseTo(0.2 / 3, 6);
    expect(metrics.meanAbsoluteError.transcription).toBeCloseTo(0.1 / 3, 6);
    expect(metrics.meanAbsoluteError.metadata).toBeCloseTo(0.1 / 3, 6);
    expect(metrics.meanAbsoluteErrorOverall).toBeCloseTo(0.6 / 12, 6);
  });

  it('summarises client-side latency', () => {
    expect(metrics.latencyMs).toEqual({ p50: 200, p95: 1000, mean: 400 });
  });

  it('prices 1,000 queries from the mean token usage, or null without a price', () => {
    const priced = computeMetrics(
      CASES,
      answers,
      'student',
      { inputPer1M: 0.035, outputPer1M: 0.14 },
      TEACHER_ANSWER_FORMAT,
    );
    // 1,000 × (100 × 0.035 + 20 × 0.14) / 1e6
    expect(priced.costPer1kQueriesUsd).toBeCloseTo(0.0063, 10);
    expect(computeMetrics(CASES, answers, 'x', undefined, TEACHER_ANSWER_FORMAT).costPer1kQueriesUsd).toBeNull();
  });

  it('reports null errors when no reply is valid', () => {
    const none = computeMetrics(
      CASES,
      CASES.map(() => answer('', 1)),
      'x',
      undefined,
      CURRENT_STUDENT_FORMAT,
    );
    expect(none.validReplyRate).toBe(0);
    expect(none.meanAbsoluteError.visual).toBeNull();
    expect(none.meanAbsoluteErrorOverall).toBeNull();
  });

  it('refuses answers that do not match the cases', () => {
    expect(() => computeMetrics(CASES, answers.slice(1), 'x', undefined, TEACHER_ANSWER_FORMAT)).toThrow(
      /expected 4 answers/,
    );
  });

  it('reads each reply in the format of the prompt the model was asked with', () => {
    const tenths = ['9 0 0 1', '5 4 0 1', 'no idea', '2 0 6 2'].map((r, i) => answer(r, [100, 200, 300, 1000][i] ?? 0));
    const student = computeMetrics(CASES, tenths, 'student', undefined, CURRENT_STUDENT_FORMAT);
    expect(student).toMatchObject({ validReplies: 3, dominantAgreement: 0.5 });
    expect(student.meanAbsoluteErrorOverall).toBeCloseTo(metrics.meanAbsoluteErrorOverall ?? NaN, 10);
    // The same replies read as JSON are all invalid: the format decides, not a guess.
    expect(computeMetrics(CASES, tenths, 'student', undefined, TEACHER_ANSWER_FORMAT).validReplies).toBe(0);
  });
});

describe('bring-your-own-responses dataset', () => {
  it('writes one line per query with the reference, the category and the response under the source label', () => {
    const lines = byoDatasetJsonl(
      CASES,
      CASES.map((_, i) => answer(i === 2 ? '  ' : `reply ${i}`, 1)),
      'distilled-student',
      CURRENT_STUDENT_FORMAT,
    )
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(4);
    expect(lines[1]).toEqual({
      prompt: 'dog barking loudly',
      referenceResponse: '{"visual":0.3,"audio":0.6,"transcription":0,"metadata":0.1}',
      category: 'audio',
      modelResponses: [{ response: 'reply 1', modelIdentifier: 'distilled-student' }],
    });
    expect((lines[2]?.['modelResponses'] as { response: string }[])[0]?.response).toBe(EMPTY_REPLY_PLACEHOLDER);
  });

  it('shows the judge readable JSON weights for a compact reply, and an unparseable reply as it is', () => {
    const replies = ['9 0 0 1', '3 6 0 1\nbecause it barks', '{"visual":0.3}', '2 0 7 1'];
    const lines = byoDatasetJsonl(
      CASES,
      replies.map((r) => answer(r, 1)),
      'distilled-student',
      CURRENT_STUDENT_FORMAT,
    )
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { referenceResponse: string; modelResponses: { response: string }[] });
    expect(lines.map((l) => l.modelResponses[0]?.response)).toEqual([
      '{"visual":0.9,"audio":0,"transcription":0,"metadata":0.1}',
      '{"visual":0.3,"audio":0.6,"transcription":0,"metadata":0.1}',
      '{"visual":0.3}',
      '{"visual":0.2,"audio":0,"transcription":0.7,"metadata":0.1}',
    ]);
    expect(JSON.parse(lines[0]?.referenceResponse ?? '')).toEqual(w(0.9, 0, 0, 0.1));
  });
});

describe('the judge metric and job', () => {
  it('defines the 1–5 rubric within the documented limits', () => {
    const metric = judgeMetricDefinition();
    expect(metric.name).toBe(JUDGE_METRIC_NAME);
    expect(metric.instructions?.length).toBeLessThanOrEqual(5000);
    for (const placeholder of ['{{prompt}}', '{{prediction}}', '{{ground_truth}}']) {
      expect(metric.instructions).toContain(placeholder);
    }
    expect(metric.ratingScale?.map((r) => r.value?.floatValue)).toEqual([5, 4, 3, 2, 1]);
    for (const r of metric.ratingScale ?? []) expect(r.definition?.length).toBeLessThanOrEqual(100);
  });

  const judgeJob = () =>
    evaluationJobRequest({
      jobName: 'ir-dev-run-1-eval-student',
      clientRequestToken: 'ir-dev-run-1-eval-student',
      roleArn: 'arn:aws:iam::123456789012:role/eval',
      judgeModelId: 'us.meta.llama3-3-70b-instruct-v1:0',
      datasetS3Uri: 's3://b/runs/run-1/evaluation/datasets/student.jsonl',
      outputS3Uri: 's3://b/runs/run-1/evaluation/output/',
      inferenceSourceIdentifier: 'distilled-student',
      tags: [],
      description: 'd',
    });

  it('names the judge as the job’s evaluator model too (required for model-as-judge jobs), not only the metric’s', () => {
    const automated = judgeJob().evaluationConfig?.automated;
    expect(automated?.evaluatorModelConfig).toEqual({
      bedrockEvaluatorModels: [{ modelIdentifier: 'us.meta.llama3-3-70b-instruct-v1:0' }],
    });
    expect(automated?.customMetricConfig?.evaluatorModelConfig).toEqual(automated?.evaluatorModelConfig);
  });

  it('explains a refused judge job: the original message, the task type sent, and the keys and code to change', () => {
    const message = rejectedEvaluationJobMessage(judgeJob(), '1 validation error detected: Value at taskType failed');
    expect(message).toContain('CreateEvaluationJob refused "ir-dev-run-1-eval-student": 1 validation error detected');
    expect(message).toMatch(
      /taskType "General" \(UNVERIFIED .*change GENERAL_TASK_TYPE in lambda\/pipeline\/evaluation\/evaluation\.ts\)/,
    );
    expect(message).toContain('"us.meta.llama3-3-70b-instruct-v1:0"');
    expect(message).toMatch(/config key judgeModelId/);
    expect(message).toContain('evaluationConfig.automated.evaluatorModelConfig');
  });

  it('builds a judge job over precomputed responses with the custom metric listed', () => {
    const request = evaluationJobRequest({
      jobName: 'ir-dev-run-1-eval-student',
      clientRequestToken: 'ir-dev-run-1-eval-student',
      roleArn: 'arn:aws:iam::123456789012:role/eval',
      judgeModelId: 'us.meta.llama3-3-70b-instruct-v1:0',
      datasetS3Uri: 's3://b/runs/run-1/evaluation/datasets/student.jsonl',
      outputS3Uri: 's3://b/runs/run-1/evaluation/output/',
      inferenceSourceIdentifier: 'distilled-student',
      tags: [{ key: 'Project', value: 'p' }],
      description: 'd',
    });
    expect(request.applicationType).toBe('ModelEvaluation');
    const automated = request.evaluationConfig?.automated;
    expect(automated?.datasetMetricConfigs?.[0]).toMatchObject({
      taskType: 'General',
      metricNames: [JUDGE_METRIC_NAME],
      dataset: { datasetLocation: { s3Uri: 's3://b/runs/run-1/evaluation/datasets/student.jsonl' } },
    });
    expect(automated?.customMetricConfig?.evaluatorModelConfig?.bedrockEvaluatorModels).toEqual([
      { modelIdentifier: 'us.meta.llama3-3-70b-instruct-v1:0' },
    ]);
    expect(request.inferenceConfig?.models).toEqual([
      { precomputedInferenceSource: { inferenceSourceIdentifier: 'distilled-student' } },
    ]);
    expect(request.customerEncryptionKeyId).toBeUndefined();
  });

  it('keeps every evaluation file under the run', () => {
    const keys = evaluationKeys('run-1');
    expect([keys.metrics, keys.dataset('student'), keys.answers('baseline'), keys.outputPrefix]).toEqual([
      'runs/run-1/evaluation/metrics.json',
      'runs/run-1/evaluation/datasets/student.jsonl',
      'runs/run-1/evaluation/answers/baseline.jsonl',
      'runs/run-1/evaluation/output/',
    ]);
  });
});

describe('parseJudgeScores', () => {
  const line = (result: number | undefined, metricName = JUDGE_METRIC_NAME) =>
    JSON.stringify({
      automatedEvaluationResult: {
        scores: [
          { metricName: 'Builtin.Other', result: 0.1 },
          { metricName, ...(result === undefined ? {} : { result }), evaluatorDetails: [{ modelIdentifier: 'j' }] },
        ],
      },
      inputRecord: { prompt: 'q', referenceResponse: 'r' },
    });

  it('maps normalised 0–1 results back to the 1–5 rubric and averages across files', () => {
    const score = parseJudgeScores(
      [
        { key: 'a_output.jsonl', body: [line(1), line(0.75)].join('\n') + '\n' },
        { key: 'b_output.jsonl', body: line(0.5) },
      ],
      JUDGE_METRIC_NAME,
    );
    expect(score).toEqual({ mean: 4, scored: 3, unscored: 0, reportedScale: 'normalised', histogram: [0, 0, 1, 1, 1] });
  });

  it('takes results above 1 as already on the rubric, and counts records without a score', () => {
    const score = parseJudgeScores(
      [{ key: 'k', body: [line(5), line(3), line(undefined)].join('\n') }],
      JUDGE_METRIC_NAME,
    );
    expect(score).toEqual({ mean: 4, scored: 2, unscored: 1, reportedScale: 'rubric', histogram: [0, 0, 1, 0, 1] });
  });

  it('refuses to guess the scale when every score is exactly 1 (5/5 normalised, or 1/5 on the rubric)', () => {
    expect(() => parseJudgeScores([{ key: 'k', body: [line(1), line(1)].join('\n') }], JUDGE_METRIC_NAME)).toThrow(
      /every "WeightAccuracy" score is exactly 1/,
    );
  });

  it('accepts a prefixed metric name and fails clearly when no score is present', () => {
    expect(
      parseJudgeScores([{ key: 'k', body: line(0.25, `Custom.${JUDGE_METRIC_NAME}`) }], JUDGE_METRIC_NAME).mean,
    ).toBe(2);
    expect(() => parseJudgeScores([{ key: 'k', body: line(0.5, 'Other') }], JUDGE_METRIC_NAME)).toThrow(
      /no "WeightAccuracy" score in 1 evaluation output file\(s\) \(k\)/,
    );
    expect(() => parseJudgeScores([{ key: 'k', body: '{oops' }], JUDGE_METRIC_NAME)).toThrow(/k line 1 is not JSON/);
  });
});

describe('the judge output per prompt, paired across models', () => {
  /** An output record as Bedrock writes it: the scores, and `inputRecord`, a copy of the dataset record judged. */
  const judged = (prompt: string | undefined, result: number | undefined, referenceResponse = '{"visual":1}') =>
    JSON.stringify({
      automatedEvaluationResult: {
        scores: [{ metricName: JUDGE_METRIC_NAME, ...(result === undefined ? {} : { result }) }],
      },
      inputRecord: {
        ...(prompt === undefined ? {} : { prompt }),
        referenceResponse,
        category: 'visual',
        modelResponses: [{ response: '{}', modelIdentifier: 'distilled-student' }],
      },
    });
  const output = (...lines: string[]) => parseJudgeOutput([{ key: 'k', body: lines.join('\n') }], JUDGE_METRIC_NAME);

  it('keeps each scored prompt with its rubric score and reference; unscored records count in neither', () => {
    const out = output(judged('red car', 1), judged('dog barking', 0.5), judged('taylor swift', undefined));
    expect(out.prompts).toEqual([
      { prompt: 'red car', reference: '{"visual":1}', score: 5 },
      { prompt: 'dog barking', reference: '{"visual":1}', score: 3 },
    ]);
    expect(out).toMatchObject({ unidentified: 0, score: { mean: 4, scored: 2, unscored: 1 } });
  });

  it('counts scored records whose inputRecord names no prompt: they keep the mean but cannot be paired', () => {
    const out = output(judged(undefined, 1), judged('dog barking', 0.5));
    expect(out).toMatchObject({ unidentified: 1, score: { mean: 4, scored: 2 } });
    expect(out.prompts.map((p) => p.prompt)).toEqual(['dog barking']);
  });

  it('pairs by prompt and reference, not by position, and counts each score difference', () => {
    const candidate = output(judged('a', 1), judged('b', 0.75), judged('c', 0.5), judged('d', 0.5)).prompts;
    // Another order, one prompt only the other job scored, one only the candidate's.
    const other = output(judged('c', 0.75), judged('a', 0.75), judged('b', 0.75), judged('e', 1)).prompts;
    expect(pairJudgeScores(candidate, other)).toEqual({
      queries: 3,
      unpaired: { candidate: 1, other: 1 },
      drops: [
        { drop: -1, count: 1 },
        { drop: 0, count: 1 },
        { drop: 1, count: 1 },
      ],
    });
  });

  it('pairs a repeated query occurrence by occurrence, and keeps a query labelled twice apart by its reference', () => {
    const candidate = output(judged('a', 1), judged('a', 1), judged('b', 1, 'X'), judged('b', 0.5, 'Y')).prompts;
    const other = output(judged('a', 0.75), judged('a', 0.75), judged('b', 0.5, 'Y'), judged('b', 1, 'X')).prompts;
    expect(pairJudgeScores(candidate, other)).toEqual({
      queries: 4,
      unpaired: { candidate: 0, other: 0 },
      drops: [
        { drop: -1, count: 2 },
        { drop: 0, count: 2 },
      ],
    });
  });
});
