import './training-env-setup';
import { CreateEvaluationJobCommand, StopEvaluationJobCommand } from '@aws-sdk/client-bedrock';
import { BedrockRuntimeClient, ConverseCommand, type ConverseCommandInput } from '@aws-sdk/client-bedrock-runtime';
import { mockClient } from 'aws-sdk-client-mock';
import { toRecord } from '../../lambda/core/dataset-record';
import { resourceTags } from '../../lambda/core/job-names';
import { LIVE_QUERIES_TAGGING } from '../../lambda/core/production-records';
import { runKeys } from '../../lambda/core/runs';
import { CURRENT_STUDENT_FORMAT, studentFormatOfPrompt } from '../../lambda/core/student-format';
import { checkEvaluation } from '../../lambda/pipeline/evaluation/check-evaluation';
import { evaluate, type EvaluateInput } from '../../lambda/pipeline/evaluation/evaluate';
import { evaluationKeys } from '../../lambda/pipeline/evaluation/evaluation';
import { converseReply, InMemoryS3, requestTexts } from '../helpers/aws-mocks';
import { addListing, FakeBedrock, type FakeBedrockOptions } from './fake-bedrock';
import { BUCKET, TRAINING_ENV, THREE_QUERIES, label } from './training-env';

/**
 * The reference models (the baseline and the incumbent) of a run with candidates: answered and judged once per run,
 * shared by every candidate, so that each candidate's gate compares against the very same answers and judge scores.
 */

const RUN = 'run-1';
const BASELINE = TRAINING_ENV.BASELINE_MODEL_ID;
const DEPLOYMENT = (n: string) => `arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/${n}`;
const INCUMBENT_ARN = DEPLOYMENT('incumbent0001');
const TEST_SET = THREE_QUERIES;
const TEST_KEY = runKeys(RUN).test;
const PRODUCTION_KEY = runKeys(RUN).productionTest;

let s3: InMemoryS3;
let bedrock: FakeBedrock;
const runtime = mockClient(BedrockRuntimeClient);
/** Baseline calls so far; after the first held-out set's worth it answers otherwise, as a model that varies would. */
let baselineCalls = 0;
/** Run before a baseline call answers (the race test writes the other candidate's answers there). */
let beforeBaselineAnswers: (() => void) | undefined;

beforeEach(() => {
  s3 = new InMemoryS3();
  addListing(s3);
  runtime.reset();
  baselineCalls = 0;
  beforeBaselineAnswers = undefined;
  s3.set(BUCKET, TEST_KEY, TEST_SET.map(([q, w]) => JSON.stringify(toRecord(q, w))).join('\n'));
  runtime.on(ConverseCommand).callsFake(async (input: ConverseCommandInput) => {
    const { system, user } = requestTexts(input);
    const found = TEST_SET.find(([q]) => q === user)?.[1] ?? label(0.25, 0.25, 0.25, 0.25);
    if (input.modelId !== BASELINE) return converseReply(studentFormatOfPrompt(system)?.render(found) ?? '');
    baselineCalls++;
    beforeBaselineAnswers?.();
    // The first time it is asked the baseline agrees with the teacher; asked again, it says transcription.
    return converseReply(JSON.stringify(baselineCalls <= TEST_SET.length ? found : label(0, 0, 1, 0)));
  });
});
afterEach(() => {
  s3.restore();
  bedrock.restore();
});

const setUp = (options: FakeBedrockOptions = {}) => {
  bedrock = new FakeBedrock(s3, options);
};

const candidateInput = (name: string, extra: Partial<EvaluateInput> = {}): EvaluateInput => ({
  runId: RUN,
  bucket: BUCKET,
  testKey: TEST_KEY,
  deploymentArn: DEPLOYMENT(`${name}0001`),
  candidate: { name, promptVersion: CURRENT_STUDENT_FORMAT.promptVersion },
  incumbent: {
    present: true,
    deploymentArn: INCUMBENT_ARN,
    runId: 'run-0',
    studentPromptVersion: CURRENT_STUDENT_FORMAT.promptVersion,
  },
  ...extra,
});

const asked = (modelId: string) =>
  runtime.commandCalls(ConverseCommand).filter((c) => c.args[0].input.modelId === modelId);
const referenceKey = (model: 'baseline' | 'incumbent') => runKeys(RUN).evaluation.reference(model);

describe('evaluate: the baseline and the incumbent answered and judged once per run, shared by its candidates', () => {
  it('asks each reference model once per query and starts its judge job once, for two candidates', async () => {
    setUp();
    const first = await evaluate(candidateInput('ft-micro'));
    const second = await evaluate(candidateInput('distill-micro'));

    // Each candidate answered through its own deployment; the baseline and the incumbent once per query in all.
    expect(asked(DEPLOYMENT('ft-micro0001'))).toHaveLength(TEST_SET.length);
    expect(asked(DEPLOYMENT('distill-micro0001'))).toHaveLength(TEST_SET.length);
    expect(asked(BASELINE)).toHaveLength(TEST_SET.length);
    expect(asked(INCUMBENT_ARN)).toHaveLength(TEST_SET.length);

    // The second candidate measured the very answers the first stored (a second asking would have disagreed).
    expect(second.baseline).toEqual(first.baseline);
    expect(second.baseline.dominantAgreement).toBe(1);
    expect(second.incumbent).toEqual(first.incumbent);
    expect(second.paired?.baseline).toEqual(first.paired?.baseline);

    // One judge job per reference model, named and tagged after the run; one student job per candidate.
    expect(second.jobs.baseline).toEqual(first.jobs.baseline);
    expect(second.jobs.incumbent).toEqual(first.jobs.incumbent);
    expect(second.jobs.student.jobArn).not.toBe(first.jobs.student.jobArn);
    expect(bedrock.evaluationJobs.map((j) => j.request.jobName)).toEqual([
      'ir-dev-run-1--ft-micro-eval-student',
      'ir-dev-run-1-eval-baseline',
      'ir-dev-run-1-eval-incumbent',
      'ir-dev-run-1--distill-micro-eval-student',
    ]);
    const baselineJob = bedrock.evaluationJobs[1]?.request;
    expect(baselineJob).toMatchObject({
      clientRequestToken: 'ir-dev-run-1-eval-baseline',
      outputDataConfig: { s3Uri: `s3://${BUCKET}/runs/run-1/evaluation/output/` },
      jobTags: resourceTags('dev', RUN),
    });
    expect(baselineJob?.evaluationConfig?.automated?.datasetMetricConfigs?.[0]?.dataset?.datasetLocation?.s3Uri).toBe(
      `s3://${BUCKET}/runs/run-1/evaluation/datasets/baseline.jsonl`,
    );
    // Both candidates asked for it, with the same token: Bedrock answers the second with the same job.
    const baselineCreates = bedrock.mock
      .commandCalls(CreateEvaluationJobCommand)
      .filter((c) => c.args[0].input.jobName === 'ir-dev-run-1-eval-baseline');
    expect(baselineCreates).toHaveLength(2);

    // The run-level files: the reference answers and the reference judge datasets, written once.
    const writes = (key: string) => s3.puts.filter((p) => p.key === key);
    for (const model of ['baseline', 'incumbent'] as const) {
      expect(writes(referenceKey(model)).map((p) => p.ifNoneMatch)).toEqual(['*']);
      expect(writes(evaluationKeys(RUN).dataset(model)).map((p) => p.ifNoneMatch)).toEqual(['*', '*']);
      expect(s3.get(BUCKET, evaluationKeys(RUN, 'ft-micro').dataset(model))).toBeUndefined();
    }
    // Each candidate keeps its copy of every model's answers (the report reads them): the same replies.
    const replies = (candidate: string) =>
      (s3.get(BUCKET, evaluationKeys(RUN, candidate).answers('baseline')) ?? '')
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { reply: string }).reply);
    expect(replies('distill-micro')).toEqual(replies('ft-micro'));
    expect(replies('ft-micro')).toHaveLength(TEST_SET.length);
  });

  it('uses the stored answers when another candidate wrote them first (both answered, the second write lost)', async () => {
    setUp();
    const first = await evaluate(candidateInput('ft-micro'));
    const stored = s3.get(BUCKET, referenceKey('baseline')) ?? '';
    // Rewind to the moment both candidates had found no reference answers: the first writes its own while the second
    // is asking the baseline.
    s3.objects.delete(`${BUCKET}/${referenceKey('baseline')}`);
    beforeBaselineAnswers = () => s3.set(BUCKET, referenceKey('baseline'), stored);

    const second = await evaluate(candidateInput('distill-micro'));
    expect(asked(BASELINE)).toHaveLength(2 * TEST_SET.length);
    expect(s3.get(BUCKET, referenceKey('baseline'))).toBe(stored);
    // Its own answers (all transcription) lost the race: its metrics and pairing are the stored answers'.
    expect(second.baseline).toEqual(first.baseline);
    expect(second.paired?.baseline).toEqual(first.paired?.baseline);
    expect(second.jobs.baseline).toEqual(first.jobs.baseline);
  });

  it('finds the reference judge job the other candidate started when Bedrock answers its create with a conflict', async () => {
    setUp({ duplicateEvaluationCreate: 'conflict' });
    const first = await evaluate(candidateInput('ft-micro'));
    const second = await evaluate(candidateInput('distill-micro'));
    expect(second.jobs.baseline).toEqual(first.jobs.baseline);
    expect(second.jobs.incumbent).toEqual(first.jobs.incumbent);
    expect(bedrock.evaluationJobs).toHaveLength(4);
  });

  it('tags the reference answers and datasets on live queries to expire with them', async () => {
    setUp();
    s3.set(BUCKET, PRODUCTION_KEY, TEST_SET.map(([q, w]) => JSON.stringify(toRecord(q, w))).join('\n'));
    const result = await evaluate(
      candidateInput('ft-micro', { assemble: { productionTestKey: PRODUCTION_KEY, liveQueryKeys: [PRODUCTION_KEY] } }),
    );
    expect(result.baseline.queries).toBe(2 * TEST_SET.length);
    for (const model of ['baseline', 'incumbent'] as const) {
      expect(s3.tagsOf(BUCKET, referenceKey(model))).toBe(LIVE_QUERIES_TAGGING);
      expect(s3.tagsOf(BUCKET, evaluationKeys(RUN).dataset(model))).toBe(LIVE_QUERIES_TAGGING);
    }
  });

  it('refuses stored reference answers that are not for this run’s held-out sets, naming the key and the fix', async () => {
    setUp();
    s3.set(
      BUCKET,
      referenceKey('baseline'),
      JSON.stringify({
        model: 'baseline',
        modelId: BASELINE,
        promptVersion: 'teacher',
        answers: [{ reply: '{}', latencyMs: 1, inputTokens: 1, outputTokens: 1 }],
      }),
    );
    await expect(evaluate(candidateInput('ft-micro'))).rejects.toThrow(
      /runs\/run-1\/evaluation\/reference\/baseline\.json holds 1 answers? .*3 held-out queries.*start a new run/,
    );
  });

  it('writes no run-level reference for a run without candidates (as before)', async () => {
    setUp();
    const { candidate: _candidate, ...withoutCandidate } = candidateInput('ft-micro');
    const result = await evaluate(withoutCandidate);
    expect(s3.keys(BUCKET).filter((k) => k.includes('/reference/'))).toEqual([]);
    expect(result.jobs.baseline.jobName).toBe('ir-dev-run-1-eval-baseline');
    expect(s3.get(BUCKET, evaluationKeys(RUN).dataset('baseline'))).toBeDefined();
  });
});

describe('check-evaluation: the shared judge jobs of the reference models', () => {
  it('reads the reference models’ scores from the run’s output prefix, the candidate’s from its own', async () => {
    setUp({ judgeResults: { student: [1, 0.5], baseline: [0.5, 0.5], incumbent: [0.75, 0.75] } });
    const results = [await evaluate(candidateInput('ft-micro')), await evaluate(candidateInput('distill-micro'))];
    for (const [i, candidate] of ['ft-micro', 'distill-micro'].entries()) {
      const input = { runId: RUN, bucket: BUCKET, jobs: results[i]?.jobs, candidate };
      let status = await checkEvaluation(input);
      while (status.status === 'InProgress') status = await checkEvaluation(input);
      expect(status).toMatchObject({
        status: 'Completed',
        judge: { student: { mean: 4 }, baseline: { mean: 3 }, incumbent: { mean: 4 } },
      });
    }
    const outputs = s3.keys(BUCKET).filter((k) => k.includes('/output/'));
    expect(outputs.filter((k) => k.startsWith('runs/run-1/evaluation/output/ir-dev-run-1-eval-'))).toHaveLength(2);
  });

  it('leaves the shared judge jobs running when only its candidate’s job failed: the others still need them', async () => {
    setUp({ evaluationStatusesByModel: { student: ['Failed'], baseline: ['InProgress'], incumbent: ['InProgress'] } });
    const { jobs } = await evaluate(candidateInput('ft-micro'));
    const result = await checkEvaluation({ runId: RUN, bucket: BUCKET, jobs, candidate: 'ft-micro' });
    expect(result).toMatchObject({ status: 'Failed', stopped: [] });
    expect(bedrock.mock.commandCalls(StopEvaluationJobCommand)).toHaveLength(0);
  });
});
