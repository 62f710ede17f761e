import './training-env-setup';
import { BedrockRuntimeClient, ConverseCommand, type ConverseCommandInput } from '@aws-sdk/client-bedrock-runtime';
import { mockClient } from 'aws-sdk-client-mock';
import { toRecord } from '../../lambda/core/dataset-record';
import { CURRENT_STUDENT_FORMAT, studentFormatOfPrompt } from '../../lambda/core/student-format';
import { checkEvaluation, pairWithIncumbent } from '../../lambda/pipeline/evaluation/check-evaluation';
import { evaluate } from '../../lambda/pipeline/evaluation/evaluate';
import { gate } from '../../lambda/pipeline/gate/gate';
import {
  evaluationKeys,
  JUDGE_METRIC_NAME,
  parseJudgeOutput,
  type JudgeOutput,
} from '../../lambda/pipeline/evaluation/evaluation';
import { converseReply, InMemoryS3, requestTexts } from '../helpers/aws-mocks';
import { addListing, FakeBedrock, type FakeBedrockOptions } from './fake-bedrock';
import { BUCKET, DEPLOYMENT_ARN, THREE_QUERIES } from './training-env';

/**
 * Check evaluation reading the judge jobs' per-prompt output and pairing the candidate with the incumbent; the Gate
 * comparing the pairs.
 */

const RUN = 'run-1';
const INCUMBENT_ARN = 'arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/incumbent0001';
const TEST_SET = THREE_QUERIES;

let s3: InMemoryS3;
let bedrock: FakeBedrock | undefined;
const runtime = mockClient(BedrockRuntimeClient);

beforeEach(() => {
  s3 = new InMemoryS3();
  addListing(s3);
  runtime.reset();
});
afterEach(() => {
  s3.restore();
  bedrock?.restore();
});

/** Evaluate with the candidate, the baseline and the incumbent answering: it starts their three judge jobs. */
async function startJobs(options: FakeBedrockOptions) {
  bedrock = new FakeBedrock(s3, options);
  s3.set(BUCKET, `runs/${RUN}/dataset/test.jsonl`, TEST_SET.map(([q, w]) => JSON.stringify(toRecord(q, w))).join('\n'));
  runtime
    .on(ConverseCommand)
    .callsFake(async (input: ConverseCommandInput) =>
      converseReply(
        studentFormatOfPrompt(requestTexts(input).system)
          ? '10 0 0 0'
          : '{"visual":1,"audio":0,"transcription":0,"metadata":0}',
      ),
    );
  const started = await evaluate({
    runId: RUN,
    bucket: BUCKET,
    testKey: `runs/${RUN}/dataset/test.jsonl`,
    deploymentArn: DEPLOYMENT_ARN,
    incumbent: {
      present: true,
      deploymentArn: INCUMBENT_ARN,
      runId: 'run-0',
      studentPromptVersion: CURRENT_STUDENT_FORMAT.promptVersion,
    },
  });
  return started.jobs;
}

describe('check-evaluation: the judge scores per prompt', () => {
  it('pairs the candidate’s judge scores with the incumbent’s by prompt, as counts of each difference', async () => {
    // Records in dataset order score 5, 4, 3 for the candidate and 4 each for the incumbent.
    const jobs = await startJobs({
      judgeEveryRecord: true,
      judgeResults: { student: [1, 0.75, 0.5], baseline: [0.75], incumbent: [0.75] },
    });
    const input = { runId: RUN, bucket: BUCKET, jobs };
    expect(await checkEvaluation(input)).toMatchObject({ status: 'InProgress' });
    const done = await checkEvaluation(input);

    expect(done).toMatchObject({
      status: 'Completed',
      judge: { student: { mean: 4, scored: 3 }, incumbent: { mean: 4, scored: 3 }, baseline: { mean: 4 } },
      judgePaired: {
        incumbent: {
          queries: 3,
          unpaired: { candidate: 0, other: 0 },
          drops: [
            { drop: -1, count: 1 },
            { drop: 0, count: 1 },
            { drop: 1, count: 1 },
          ],
        },
      },
    });
    expect(done.judgePaired?.note).toBeUndefined();
    // The judge jobs wrote their output in two files each, last record first: what was read and paired.
    const outputs = s3.keys(BUCKET).filter((k) => k.startsWith(`${evaluationKeys(RUN).outputPrefix}`));
    expect(outputs).toHaveLength(6);
  });

  it('pairs nothing without an incumbent', async () => {
    const jobs = await startJobs({ judgeEveryRecord: true });
    const { incumbent, ...withoutIncumbent } = jobs;
    expect(incumbent).toBeDefined();
    await checkEvaluation({ runId: RUN, bucket: BUCKET, jobs: withoutIncumbent });
    const done = await checkEvaluation({ runId: RUN, bucket: BUCKET, jobs: withoutIncumbent });
    expect(done.status).toBe('Completed');
    expect(done.judgePaired).toBeUndefined();
  });
});

describe('pairWithIncumbent: when the output cannot be paired, the Gate is told why', () => {
  const line = (prompt: string | undefined, result: number) =>
    JSON.stringify({
      automatedEvaluationResult: { scores: [{ metricName: JUDGE_METRIC_NAME, result }] },
      inputRecord: prompt === undefined ? {} : { prompt, referenceResponse: '{}' },
    });
  const output = (...lines: string[]): JudgeOutput =>
    parseJudgeOutput([{ key: 'k', body: lines.join('\n') }], JUDGE_METRIC_NAME);

  it('no prompt named in either job: a note, no pairing (the Gate compares the means)', () => {
    expect(pairWithIncumbent(output(line(undefined, 1), line(undefined, 0.5)), output(line(undefined, 0.75)))).toEqual({
      note:
        "no prompt was scored in both judge jobs: output records without inputRecord.prompt in the candidate's (2) " +
        "and the incumbent's (1) job",
    });
  });

  it('some records unnamed: the rest is paired, and the note says what was left out', () => {
    expect(pairWithIncumbent(output(line('a', 1), line(undefined, 0.5)), output(line('a', 0.75)))).toEqual({
      incumbent: { queries: 1, unpaired: { candidate: 0, other: 0 }, drops: [{ drop: -1, count: 1 }] },
      note: "left out of the pairing, output records without inputRecord.prompt: the candidate's (1)",
    });
  });
});

describe('gate: judge scores and weight error against the incumbent, paired', () => {
  const metrics = (modelId: string, meanAbsoluteErrorOverall: number) => ({
    modelId,
    queries: 200,
    dominantAgreement: 0.9,
    validReplyRate: 1,
    meanAbsoluteErrorOverall,
    latencyMs: { mean: 800 },
  });
  const judge = (mean: number) => ({ mean, scored: 200, unscored: 0, reportedScale: 'normalised' });
  const event = (extra: Record<string, unknown>) => ({
    evaluation: {
      student: metrics(DEPLOYMENT_ARN, 0.06),
      baseline: metrics('us.anthropic.claude-haiku-4-5-20251001-v1:0', 0.05),
      incumbent: metrics(INCUMBENT_ARN, 0.05),
      paired: {
        incumbent: {
          queries: 200,
          candidateOnly: 0,
          otherOnly: 0,
          errorDrops: Array.from({ length: 200 }, (_, i) => (i % 2 ? 0.05 : -0.03)),
        },
      },
    },
    judge: { student: judge(4.1), baseline: judge(4.2), incumbent: judge(4.15) },
    incumbent: { present: true, runId: 'run-0', deploymentArn: INCUMBENT_ARN },
    ...extra,
  });

  it('reads $.evaluationStatus.judgePaired and gates on the paired bootstrap of judge scores and weight error', async () => {
    const result = await gate(
      event({
        evaluationStatus: {
          status: 'Completed',
          judgePaired: {
            incumbent: {
              queries: 200,
              unpaired: { candidate: 0, other: 0 },
              drops: [
                { drop: -1, count: 20 },
                { drop: 0, count: 150 },
                { drop: 1, count: 30 },
              ],
            },
          },
        },
      }),
    );
    expect(result.statistics?.map((st) => [st.metric, st.test, st.queries, st.margin, st.verdict])).toEqual([
      ['judgeScore', 'paired-bootstrap', 200, 0.1, 'inconclusive'],
      ['dominantAgreement', 'mcnemar-exact', 200, 0.03, 'not-worse'],
      ['weightError', 'paired-bootstrap', 200, 0.02, 'not-worse'],
    ]);
    expect(result).toMatchObject({ verdict: 'inconclusive', failed: ['maxJudgeDropToIncumbent'] });
    expect(result.summary).toContain('maxJudgeDropToIncumbent inconclusive (drop 0.050');
  });

  it('without per-prompt judge scores (an older Check evaluation), compares the judge means and says so', async () => {
    const result = await gate(event({}));
    expect(result.statistics?.map((st) => st.metric)).toEqual(['dominantAgreement', 'weightError']);
    expect(result.checks.find((c) => c.name === 'maxJudgeDropToIncumbent')).toMatchObject({
      value: 0.05,
      passed: true,
      description: expect.stringContaining('the fixed drop on the means: this evaluation predates per-query pairing'),
    });
    const noted = await gate(
      event({ evaluationStatus: { judgePaired: { note: 'no prompt was scored in both judge jobs' } } }),
    );
    expect(noted.checks.find((c) => c.name === 'maxJudgeDropToIncumbent')?.description).toContain(
      'the fixed drop on the means: no prompt was scored in both judge jobs',
    );
  });

  it('without per-query pairing (an older Evaluate), compares the mean weight errors with the fixed rise', async () => {
    const { paired: _paired, ...unpaired } = event({}).evaluation;
    const result = await gate({ ...event({}), evaluation: { ...unpaired, student: metrics(DEPLOYMENT_ARN, 0.08) } });
    expect(result.failed).toEqual(['maxWeightErrorRiseToIncumbent']);
    expect(result.summary).toBe('rejected: maxWeightErrorRiseToIncumbent (0.03 > 0.02)');
  });
});
