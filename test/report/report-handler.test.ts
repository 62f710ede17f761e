import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { toRecord } from '../../lambda/core/dataset-record';
import { logger } from '../../lambda/core/runtime';
import { evaluationKeys } from '../../lambda/pipeline/evaluation/evaluation';
import { report } from '../../lambda/pipeline/report/report';
import type { RunReport } from '../../lambda/pipeline/report/run-report';
import { studentFormat } from '../../lambda/core/student-format';
import { InMemoryS3 } from '../helpers/aws-mocks';
import { FT, LITE, OUTCOMES, selectionOf } from './candidate-fixtures';

/**
 * The Report step of a run with candidates, as the state machine calls it (lib/constructs/pipeline/stages/report.ts):
 * the chosen candidate in the single-student fields, every outcome at `candidates`, the selection at `selection`;
 * S3 and SNS mocked at the SDK boundary.
 */

const RUN = 'run-1';
const BUCKET = 'dataset-bucket';
const TOPIC_ARN = 'arn:aws:sns:us-east-1:123456789012:topic';
const $metadata = { httpStatusCode: 200 };
const sns = mockClient(SNSClient);
let s3: InMemoryS3;
let savedEnv: NodeJS.ProcessEnv;

const weights = (visual: number, audio: number, transcription: number, metadata: number) => ({
  visual,
  audio,
  transcription,
  metadata,
});
const TEST_SET = [
  ['red car driving', weights(0.9, 0, 0, 0.1)],
  ['dog barking loudly', weights(0.3, 0.6, 0, 0.1)],
  ['Taylor Swift', weights(0.3, 0, 0.1, 0.6)],
] as const;
const V3 = studentFormat('student-v3');
/** Evaluate's answers file: each held-out query answered in the candidate's format (`wrong`: says visual). */
const answers = (wrong: readonly string[]) =>
  TEST_SET.map(([query, w]) =>
    JSON.stringify({
      query,
      reply: V3.render(wrong.includes(query) ? weights(1, 0, 0, 0) : w),
      latencyMs: 300,
      inputTokens: 14,
      outputTokens: 7,
      promptVersion: 'student-v3',
    }),
  ).join('\n');

/** The Report task's payload in a run with candidates (the chosen one is ft-micro, the winner). */
const payload = () => ({
  runId: RUN,
  bucket: BUCKET,
  assemble: {
    runId: RUN,
    bucket: BUCKET,
    trainKey: `runs/${RUN}/dataset/train-student-v3.jsonl`,
    trainKeys: { 'student-v3': `runs/${RUN}/dataset/train-student-v3.jsonl` },
    testKey: `runs/${RUN}/dataset/test.jsonl`,
    manifestKey: `runs/${RUN}/dataset/manifest.json`,
    trainCount: 9000,
    testCount: 3,
    liveQueryKeys: [],
  },
  distillation: { status: 'Completed', failureMessage: '', statusDetails: {}, ...FT.training },
  deployment: { ...FT.deployment, reused: false },
  evaluation: {
    ...FT.evaluation,
    baseline: { ...FT.evaluation.student, modelId: 'baseline', costPer1kQueriesUsd: 0.4 },
    metricsKey: `runs/${RUN}/ft-micro/evaluation/metrics.json`,
  },
  judge: { ...FT.evaluationStatus.judge, baseline: { ...FT.evaluationStatus.judge.student, mean: 4 } },
  gate: FT.gate,
  promotion: { promoted: true, parameterName: '/intent-router/dev/active-model', version: 3 },
  candidates: OUTCOMES,
  selection: { ...selectionOf(OUTCOMES), dropped: [{ name: 'lite-ft', ...LITE.failure }], runnersUpDeployments: [] },
});

beforeAll(() => logger.setLogLevel('SILENT'));
beforeEach(() => {
  savedEnv = { ...process.env };
  Object.assign(process.env, { JUDGE_MODEL_ID: 'us.meta.llama3-3-70b-instruct-v1:0', TOPIC_ARN });
  s3 = new InMemoryS3();
  sns.reset();
  sns.on(PublishCommand).resolves({ $metadata, MessageId: 'm-1' });
  s3.set(BUCKET, `runs/${RUN}/dataset/manifest.json`, JSON.stringify({ runId: RUN }));
  s3.set(BUCKET, `runs/${RUN}/dataset/test.jsonl`, TEST_SET.map(([q, w]) => JSON.stringify(toRecord(q, w))).join('\n'));
  // Each candidate answered in its own folder; the baseline answered beside the chosen one.
  const ft = evaluationKeys(RUN, 'ft-micro');
  s3.set(BUCKET, ft.answers('student'), answers([]));
  s3.set(BUCKET, ft.answers('baseline'), answers(['Taylor Swift']));
});
const putRunnerUpAnswers = () =>
  s3.set(BUCKET, evaluationKeys(RUN, 'distill-micro').answers('student'), answers(['dog barking loudly']));
afterEach(() => {
  s3.restore();
  process.env = savedEnv;
});

describe('Report in a run with candidates', () => {
  it('writes every candidate into report.json, draws each one’s charts from its own answers, and names the winner', async () => {
    putRunnerUpAnswers();
    const result = await report(payload());
    expect(result.outcome).toBe('PROMOTED');
    const json = JSON.parse(s3.get(BUCKET, `runs/${RUN}/report.json`) ?? '{}') as RunReport;
    expect(json.candidates?.map((c) => [c.name, c.status])).toEqual([
      ['ft-micro', 'evaluated'],
      ['distill-micro', 'evaluated'],
      ['lite-ft', 'dropped'],
    ]);
    expect(json.selection).toMatchObject({ winner: 'ft-micro', runnersUp: ['distill-micro'], dropped: ['lite-ft'] });

    const html = s3.get(BUCKET, `runs/${RUN}/report.html`) ?? '';
    // The chosen candidate's answers are read from its own folder: the single-student charts are drawn.
    expect(html).toContain('data-chart="confusion-student"');
    expect(html).toContain('data-chart="confusion-candidate-ft-micro"');
    expect(html).toContain('data-chart="confusion-candidate-distill-micro"');
    expect(html).toContain('distill-micro: dominant modality vs teacher (2 on the diagonal).');
    expect(html).toContain('ft-micro: dominant modality vs teacher (3 on the diagonal).');
    expect(s3.get(BUCKET, `runs/${RUN}/report.md`)).toContain('## Candidates');

    const published = sns.commandCalls(PublishCommand)[0]?.args[0].input;
    expect(published?.Subject).toBe('Intent router run run-1: PROMOTED, winner ft-micro');
    expect(published?.Message).toContain('Runners-up: distill-micro (rank 2');
    expect(published?.Message).toContain('Dropped: lite-ft at Check training: TrainingJobFailed');
  });

  it('still writes the report when a runner-up’s answers are missing: that block says so', async () => {
    await report(payload());
    const html = s3.get(BUCKET, `runs/${RUN}/report.html`) ?? '';
    expect(html).toContain('data-chart="confusion-candidate-ft-micro"');
    expect(html).toContain('distill-micro: its per-query answers were not found');
  });

  it('names the field when a candidate outcome is malformed', async () => {
    const [first, ...rest] = OUTCOMES;
    const broken = { ...payload(), candidates: [{ ...first, candidate: { method: 'fine-tuning' } }, ...rest] };
    await expect(report(broken)).rejects.toThrow(/Report: invalid input from the state machine: candidates\.0/);
    await expect(report({ ...payload(), selection: { winner: 'ft-micro' } })).rejects.toThrow(/selection\.reason/);
  });
});
