import { CreateEvaluationJobCommand, CreateModelCustomizationJobCommand } from '@aws-sdk/client-bedrock';
import { BedrockRuntimeClient, ConverseCommand, type ConverseCommandInput } from '@aws-sdk/client-bedrock-runtime';
import {
  CloudWatchClient,
  DescribeAlarmHistoryCommand,
  DescribeAlarmsCommand,
  type DescribeAlarmsCommandInput,
} from '@aws-sdk/client-cloudwatch';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { logger, metrics } from '../../lambda/core/runtime';
import { productionTestKey } from '../../lambda/pipeline/generation/assembly';
import type { DatasetManifest } from '../../lambda/pipeline/generation/dataset-manifest';
import { toRecord } from '../../lambda/core/dataset-record';
import { validateDataset } from '../../lambda/core/dataset-validator';
import { MODALITIES, type Modality } from '../../lambda/core/modality';
import { LIVE_QUERIES_TAGGING, productionRecordsKey } from '../../lambda/core/production-records';
import { productionSelectionKey } from '../../lambda/pipeline/generation/production-selection';
import { STUDENT_FORMATS, studentFormat, studentFormatOfPrompt } from '../../lambda/core/student-format';
import { planQueries } from '../../lambda/pipeline/generation/query-plan';
import { normalisedQuery } from '../../lambda/pipeline/generation/query-writing';
import type { EvaluationStarted } from '../../lambda/pipeline/evaluation/result';
import type { RunReport } from '../../lambda/pipeline/report/run-report';
import type { SelectCandidateResult } from '../../lambda/pipeline/selection/select-candidate';
import { runKeys } from '../../lambda/core/runs';
import { G } from './states';
import { synth } from '../helpers/app';
import { converseReply, InMemoryS3, requestTexts } from '../helpers/aws-mocks';
import {
  lambdaEnvironment,
  runLocally,
  stateMachineDefinition,
  type LocalRunOptions,
  type LocalRunResult,
} from '../helpers/local-sfn';
import { dominantWeights, SimulatedTeacher } from '../helpers/simulated-teacher';
import { addListing, FakeBedrock, type FakeBedrockOptions } from './fake-bedrock';
import { pipelineTasks } from './pipeline-tasks';

/**
 * A run started with `fromProduction`, executed locally end to end through the REAL synthesized state machine and the
 * real handlers: shadow-labelled production records sit in the in-memory dataset bucket under their day partitions;
 * Plan selects them and plans synthetic generation only for what a modality is short of; Assemble takes them first
 * and writes one training file per prompt version; the two default candidates (fine-tuning, Bedrock distillation)
 * train side by side, and for each one Evaluate answers and judges it on the same held-out sets beside the baseline
 * and — when one is promoted — the incumbent, which are answered and judged once per run and shared by the candidates;
 * each candidate's Gate compares it with both; Select candidate picks the winner.
 */

const { templates } = synth({ exampleCount: '100', testExampleCount: '50', queriesPerShard: '10' });
const definition = stateMachineDefinition(templates.pipeline);
const environment = lambdaEnvironment(templates.pipeline);
const BUCKET = environment.DATASET_BUCKET ?? '';
const TEACHER = environment.TEACHER_MODEL_ID ?? '';
const BASELINE = environment.BASELINE_MODEL_ID ?? '';
const PARAMETER = environment.ACTIVE_MODEL_PARAMETER_NAME ?? '';
const $metadata = { httpStatusCode: 200, requestId: 'e2e' };
const START = '2026-11-26T10:00:00.000Z';
const INCUMBENT_ARN = 'arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/incumbent001';

const runtime = mockClient(BedrockRuntimeClient);
const ssm = mockClient(SSMClient);
const sns = mockClient(SNSClient);
const cloudwatch = mockClient(CloudWatchClient);
let s3: InMemoryS3;
let bedrock: FakeBedrock;
let savedEnv: NodeJS.ProcessEnv;

const tasks = pipelineTasks();

/** The word the simulated answerers read a query's modality from (test/helpers/simulated-teacher.ts). */
const KEYWORD: Record<Modality, string> = {
  visual: 'scene',
  audio: 'sound',
  transcription: 'dialogue',
  metadata: 'title',
};

/** One labeller batch in the shared layout: `toRecord(query, teacherWeights)` per line. */
function putProduction(day: string, id: string, lines: readonly string[]) {
  s3.set(BUCKET, productionRecordsKey(new Date(`${day}T08:00:00Z`), id), lines.join('\n') + '\n');
}
const recordLine = (query: string, modality: Modality) => JSON.stringify(toRecord(query, dominantWeights(modality)));

/** `perModality` live queries of each given modality, spread over two days, plus duplicates and broken lines. */
function seedProduction(modalities: readonly Modality[], perModality: number) {
  const lines = (half: 0 | 1) =>
    modalities.flatMap((m) =>
      Array.from({ length: perModality }, (_, i) => i)
        .filter((i) => i % 2 === half)
        .map((i) => recordLine(`live ${KEYWORD[m]} clip ${i}`, m)),
    );
  putProduction('2026-11-24', 'batch-a', lines(0));
  putProduction('2026-11-25', 'batch-b', [
    ...lines(1),
    // A normalised duplicate of a record of the day before, and two lines the validator refuses.
    recordLine(`LIVE ${KEYWORD[modalities[0] ?? 'visual']} clip 0!`, modalities[0] ?? 'visual'),
    '{not json',
    JSON.stringify({ schemaVersion: 'bedrock-conversation-2024', messages: [{ role: 'assistant', content: [] }] }),
  ]);
  // A day before `since`: never read.
  putProduction('2026-10-01', 'batch-old', [recordLine('old scene clip', 'visual')]);
}

function promoted(deploymentArn: string) {
  return JSON.stringify({
    deploymentArn,
    modelArn: 'arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-micro-v1:0:128k/incumbent',
    runId: 'run-earlier',
    promotedAt: '2026-11-01T00:00:00.000Z',
    // Promoted before the compact format: it keeps being asked, and read, in student-v1.
    studentPromptVersion: 'student-v1',
    metrics: { judgeScore: 4.5 },
  });
}

/**
 * The answerers: the teacher writes and labels; the baseline and the incumbent answer as the teacher would; each
 * candidate (a deployment of this run) too, but gets every `candidateMissEvery`-th of its own queries' dominant
 * modality wrong.
 */
let teacher: SimulatedTeacher;
function answerers(candidateMissEvery?: number) {
  teacher = new SimulatedTeacher();
  const answerer = new SimulatedTeacher();
  const candidateCalls = new Map<string, number>();
  runtime.reset();
  runtime.on(ConverseCommand).callsFake((input: ConverseCommandInput) => {
    if (input.modelId === TEACHER) return teacher.reply(input);
    const modelId = input.modelId ?? '';
    const calls = (candidateCalls.get(modelId) ?? 0) + 1;
    candidateCalls.set(modelId, calls);
    const isCandidate = modelId.includes(':custom-model-deployment/dep');
    const reply = answerer.reply(input);
    if (isCandidate && candidateMissEvery && calls % candidateMissEvery === 0) {
      const { system, user } = requestTexts(input);
      const wrong: Modality = user.includes(KEYWORD.visual) ? 'audio' : 'visual';
      // Wrong, but in the format it is asked in (a miss, not an invalid reply), and billed as a right answer is.
      const format = studentFormatOfPrompt(system);
      const text = format ? format.render(dominantWeights(wrong)) : JSON.stringify(dominantWeights(wrong));
      return converseReply(text, {
        inputTokens: reply.usage?.inputTokens ?? 0,
        outputTokens: reply.usage?.outputTokens ?? 0,
      });
    }
    return reply;
  });
}

beforeAll(() => {
  logger.setLogLevel('SILENT');
  jest.spyOn(metrics, 'publishStoredMetrics').mockReturnValue(metrics);
});
beforeEach(() => {
  savedEnv = { ...process.env };
  Object.assign(process.env, environment, { AWS_REGION: 'us-east-1' });
  s3 = new InMemoryS3();
  addListing(s3);
  answerers();
  ssm.reset();
  ssm.on(GetParameterCommand).resolves({ $metadata, Parameter: { Name: PARAMETER, Value: 'none', Version: 1 } });
  ssm.on(PutParameterCommand).resolves({ $metadata, Version: 2 });
  sns.reset();
  sns.on(PublishCommand).resolves({ $metadata, MessageId: 'message-1' });
  cloudwatch.reset();
  // No alarm changed state between two checks unless a test's DescribeAlarms says so (Check canary reads the history).
  cloudwatch.on(DescribeAlarmHistoryCommand).resolves({ $metadata, AlarmHistoryItems: [] });
});
afterEach(() => {
  s3.restore();
  bedrock?.restore();
  process.env = savedEnv;
});
afterAll(() => {
  runtime.restore();
  ssm.restore();
  sns.restore();
  cloudwatch.restore();
});

function fakeBedrock(options: FakeBedrockOptions = {}): FakeBedrock {
  bedrock = new FakeBedrock(s3, options);
  return bedrock;
}

const run = (executionName: string, input: LocalRunOptions['input']) =>
  runLocally(definition, { executionName, input, tasks, startTime: START });

/** One candidate's outcome as the Candidates map leaves it (lib/constructs/pipeline/stages/candidates.ts). */
interface CandidateOutcome {
  readonly candidate: { readonly name: string; readonly method: string; readonly promptVersion: string };
  readonly deployment: { readonly deploymentArn: string };
  readonly gate: RunReport['gate'];
}
/** The evaluated candidates, in the configured order: the default two, fine-tuning first. */
const outcomesOf = (result: LocalRunResult) => (result.output?.['candidates'] ?? []) as CandidateOutcome[];
const selectionOf = (result: LocalRunResult) => result.output?.['selection'] as SelectCandidateResult;
/** The chosen candidate (the winner, or the best evaluated one when none passed): the one the report describes. */
function chosenOutcome(result: LocalRunResult): CandidateOutcome {
  const name = selectionOf(result).chosen?.candidate.name;
  const chosen = outcomesOf(result).find((o) => o.candidate.name === name);
  if (!chosen) throw new Error(`no chosen candidate among the outcomes: ${selectionOf(result).reason}`);
  return chosen;
}
const chosenGate = (result: LocalRunResult) => chosenOutcome(result).gate;

const teacherCalls = () => runtime.commandCalls(ConverseCommand).filter((c) => c.args[0].input.modelId === TEACHER);
const callsTo = (modelId: string) =>
  runtime.commandCalls(ConverseCommand).filter((c) => c.args[0].input.modelId === modelId);
const manifestOf = (runId: string) => JSON.parse(s3.get(BUCKET, runKeys(runId).manifest) ?? '{}') as DatasetManifest;
const queriesOf = (jsonl: string | undefined) =>
  (jsonl ?? '')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) =>
      normalisedQuery(
        (JSON.parse(l) as { messages: { content: { text: string }[] }[] }).messages[0]?.content[0]?.text ?? '',
      ),
    );

describe('a run started with fromProduction, executed locally end to end', () => {
  it('production covers every quota: no shard, no teacher call; production trains first and its slice is held out', async () => {
    seedProduction(MODALITIES, 55);
    fakeBedrock();
    const result = await run('run-prod-all', { fromProduction: { since: '2026-11-20' } });

    expect(result.status).toBe('SUCCEEDED');
    expect(result.output?.['preflight']).toMatchObject({
      fromProduction: { enabled: true, since: '2026-11-20', until: '2026-11-26' },
      incumbent: { present: false, reason: 'nothing is promoted yet' },
    });
    // 220 distinct valid records, 22 held out (10 %): the 198 left cover 100 + 50 records in every modality.
    expect(result.output?.['plan']).toMatchObject({
      shardCount: 0,
      plannedQueries: 0,
      production: { selected: 220, heldOut: 22 },
    });
    expect(result.entered).not.toContain(G.generateShard);
    // The synthetic-only run of this size would ask the teacher 203 labels (and write them): all saved.
    expect(
      planQueries({ exampleCount: 100, testExampleCount: 50, queriesPerShard: 10, generationSurplus: 0.35 })
        .plannedQueries,
    ).toBe(203);
    // Nothing to label, so nothing calibrated either.
    expect(teacherCalls()).toHaveLength(0);
    expect(result.output?.['calibration']).toMatchObject({ labelBatchSize: 1, calibrated: false });

    const keys = runKeys('run-prod-all');
    const assembled = result.output?.['assemble'] as { trainKey: string; trainKeys: Record<string, string> };
    const train = s3.get(BUCKET, assembled.trainKey);
    const test = s3.get(BUCKET, keys.test);
    const heldOut = s3.get(BUCKET, productionTestKey('run-prod-all'));
    expect(validateDataset(train ?? '')).toMatchObject({ ok: true, records: 100 });
    // One training file per candidate's prompt version: the same 100 queries, each asked with its version's prompt.
    expect(Object.keys(assembled.trainKeys).sort()).toEqual(['student-v2', 'student-v3']);
    for (const [version, key] of Object.entries(assembled.trainKeys)) {
      const text = s3.get(BUCKET, key) ?? '';
      expect(validateDataset(text)).toMatchObject({ ok: true, records: 100 });
      expect(queriesOf(text)).toEqual(queriesOf(train));
      expect(text).toContain(JSON.stringify(studentFormat(version).prompt));
    }
    expect(result.output?.['assemble']).toMatchObject({
      trainCount: 100,
      testCount: 50,
      productionTestKey: productionTestKey('run-prod-all'),
      productionTestCount: 22,
    });
    // No held-out query (either file) trains.
    const trained = new Set(queriesOf(train));
    expect([...queriesOf(test), ...queriesOf(heldOut)].filter((q) => trained.has(q))).toEqual([]);
    expect(queriesOf(heldOut)).toHaveLength(22);
    expect(manifestOf('run-prod-all').sources).toEqual({
      synthetic: { train: 0, test: 0, considered: 0, duplicates: 0, invalid: 0, unused: 0 },
      production: {
        train: 100,
        test: 72,
        heldOutSlice: 22,
        considered: 223,
        duplicates: 1,
        invalid: 2,
        unused: 48,
        since: '2026-11-20',
        until: '2026-11-26',
        selectionKey: productionSelectionKey('run-prod-all'),
        // No placeholder of the labeller's redaction in these queries.
        redacted: {},
      },
    });
    // The old day was never read; the selection is stored once for the run.
    expect(s3.get(BUCKET, productionSelectionKey('run-prod-all'))).not.toContain('old scene clip');

    // Both default candidates trained, each on its own prompt version's file.
    const jobs = bedrock.mock.commandCalls(CreateModelCustomizationJobCommand).map((c) => c.args[0].input);
    expect(jobs.map((j) => [j.customizationType, j.trainingDataConfig?.s3Uri]).sort()).toEqual([
      ['DISTILLATION', `s3://${BUCKET}/${assembled.trainKeys['student-v2']}`],
      ['FINE_TUNING', `s3://${BUCKET}/${assembled.trainKeys['student-v3']}`],
    ]);
    // Each candidate answered both held-out sets (50 + 22) with its own prompt. Both reached Evaluate together here, so
    // both asked the baseline (the race): the second one's write of the run's reference answers lost, and it measured
    // the first one's instead. A judge job per candidate and one for the baseline, shared; no incumbent job.
    const outcomes = outcomesOf(result);
    expect(outcomes.map((o) => [o.candidate.name, o.gate.passed])).toEqual([
      ['ft-micro', true],
      ['distill-micro', true],
    ]);
    for (const { candidate, deployment } of outcomes) {
      const calls = callsTo(deployment.deploymentArn);
      expect(calls).toHaveLength(72);
      const prompt = studentFormat(candidate.promptVersion).prompt;
      expect(calls.every((c) => requestTexts(c.args[0].input).system === prompt)).toBe(true);
    }
    expect(callsTo(BASELINE)).toHaveLength(2 * 72);
    const evaluations = (result.output?.['candidates'] as { evaluation: EvaluationStarted }[]).map((o) => o.evaluation);
    expect(evaluations[1]?.baseline).toEqual(evaluations[0]?.baseline);
    expect(bedrock.mock.commandCalls(CreateEvaluationJobCommand)).toHaveLength(2 * outcomes.length);
    expect(bedrock.evaluationJobs.map((j) => j.request.jobName).sort()).toEqual([
      'ir-dev-run-prod-all--distill-micro-eval-student',
      'ir-dev-run-prod-all--ft-micro-eval-student',
      'ir-dev-run-prod-all-eval-baseline',
    ]);
    // As good as each other, the fine-tuned candidate costs less per query: it wins and is promoted.
    expect(selectionOf(result)).toMatchObject({ winner: 'ft-micro', promote: true });
    expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(1);

    // Every copy of live queries under the run expires with the records (productionDataRetentionDays) by its tag:
    // the selection, each training file, both held-out files, the answers on production's slice and the run's
    // reference answers and judge dataset of the baseline; not the manifest.
    const productionAnswers = s3
      .keys(BUCKET)
      .filter((k) => k.startsWith(keys.prefix) && k.includes('/answers/production/'));
    expect(productionAnswers.length).toBeGreaterThan(0);
    const live = [
      productionSelectionKey('run-prod-all'),
      ...Object.values(assembled.trainKeys),
      keys.test,
      productionTestKey('run-prod-all'),
      ...productionAnswers,
      keys.evaluation.reference('baseline'),
      keys.evaluation.dataset('baseline'),
    ];
    expect(live.filter((k) => s3.tagsOf(BUCKET, k) !== LIVE_QUERIES_TAGGING)).toEqual([]);
    expect(s3.tagsOf(BUCKET, keys.manifest)).toBeUndefined();
  });

  it('production covers two modalities: synthetic shards only for the two that are short', async () => {
    seedProduction(['visual', 'audio'], 60);
    fakeBedrock();
    const result = await run('run-prod-half', { fromProduction: true });

    expect(result.status).toBe('SUCCEEDED');
    const plan = JSON.parse(s3.get(BUCKET, runKeys('run-prod-half').shardPlan) ?? '{}') as {
      shards: { target: string; count: number }[];
      production: { shortfallByModality: Record<Modality, number> };
    };
    expect(new Set(plan.shards.map((s) => s.target))).toEqual(new Set(['transcription', 'metadata']));
    expect(plan.production.shortfallByModality).toEqual({ visual: 0, audio: 0, transcription: 37, metadata: 37 });
    // 37 labels each, planned as max(37 + ceil(37/9), ceil(37 × 1.35)) = 50 queries: 100 labels instead of 203.
    expect(plan.shards.reduce((n, s) => n + s.count, 0)).toBe(100);
    // The calibration labels its 100 queries singly and in 35 batches; then each shard of 10 is one batch call.
    expect(manifestOf('run-prod-half').generation).toMatchObject({ planned: 100, labelled: 100 });
    expect(teacher.calls).toMatchObject({ labelling: 100, batches: 35 + 10 });

    const sources = manifestOf('run-prod-half').sources;
    // Visual and audio training records are all production; transcription and metadata synthetic.
    expect(manifestOf('run-prod-half').counts.train.total).toBe(100);
    expect(sources?.production).toMatchObject({ train: 50, heldOutSlice: 12 });
    expect(sources?.synthetic).toMatchObject({ train: 50 });
  });

  it('gate against the incumbent: rejects a candidate worse than the promoted student, promotes nothing', async () => {
    seedProduction(MODALITIES, 55);
    ssm
      .on(GetParameterCommand)
      .resolves({ $metadata, Parameter: { Name: PARAMETER, Value: promoted(INCUMBENT_ARN), Version: 7 } });
    // Each candidate misses 1 query in 10 (agreement 0.9, above minDominantAgreement 0.85) and the judge rates it 4.2;
    // the incumbent agrees on every query and is rated 4.6 (every prompt judged, as Bedrock does).
    answerers(10);
    fakeBedrock({ judgeEveryRecord: true, judgeResults: { student: [0.8, 0.8], baseline: [0.75], incumbent: [0.9] } });
    const result = await run('run-prod-worse', { fromProduction: { since: '2026-11-20', max: 400 } });

    expect(result.status).toBe('SUCCEEDED');
    expect(result.output?.['preflight']).toMatchObject({
      incumbent: { present: true, deploymentArn: INCUMBENT_ARN, runId: 'run-earlier' },
    });
    // The incumbent answered the same 72 held-out queries once for the run, through its deployment, with its own
    // (student-v1) prompt; each candidate with its own prompt version's.
    const outcomes = outcomesOf(result);
    expect(outcomes.map((o) => o.candidate.name)).toEqual(['ft-micro', 'distill-micro']);
    const incumbentCalls = callsTo(INCUMBENT_ARN);
    expect(incumbentCalls).toHaveLength(72);
    expect(
      incumbentCalls.every((c) => requestTexts(c.args[0].input).system === STUDENT_FORMATS['student-v1'].prompt),
    ).toBe(true);
    for (const { candidate, deployment } of outcomes) {
      const calls = callsTo(deployment.deploymentArn);
      expect(calls).toHaveLength(72);
      const prompt = studentFormat(candidate.promptVersion).prompt;
      expect(calls.every((c) => requestTexts(c.args[0].input).system === prompt)).toBe(true);
    }
    // Judge jobs: one per candidate, and the baseline's and the incumbent's once for the run.
    expect(bedrock.mock.commandCalls(CreateEvaluationJobCommand)).toHaveLength(3 * outcomes.length);
    expect(bedrock.evaluationJobs).toHaveLength(outcomes.length + 2);

    // Each candidate's gate, paired on the same 72 queries: 7 only the incumbent got right, none only the candidate
    // (McNemar p = 1/128); the judge rated every one of the 72 prompts 0.4 lower than the incumbent's.
    for (const { gate } of outcomes) {
      expect(gate.passed).toBe(false);
      expect(gate.failed).toEqual([
        'maxJudgeDropToIncumbent',
        'maxAgreementDropToIncumbent',
        'maxWeightErrorRiseToIncumbent',
      ]);
      expect(gate.verdict).toBe('rejected');
      expect(gate.summary).toContain('maxJudgeDropToIncumbent (0.4 > 0.1)');
      expect(gate.statistics?.find((st) => st.metric === 'judgeScore')).toMatchObject({
        test: 'paired-bootstrap',
        queries: 72,
        observedDrop: 0.4,
        verdict: 'worse',
      });
      expect(gate.statistics?.find((st) => st.metric === 'dominantAgreement')).toMatchObject({
        discordant: { candidateOnly: 0, otherOnly: 7 },
        pValue: 0.0078125,
        verdict: 'worse',
      });
      expect(
        gate.checks
          .filter((c) => c.name === 'minDominantAgreement' || c.name === 'minJudgeScore')
          .every((c) => c.passed),
      ).toBe(true);
    }
    // Neither passed: nothing is promoted, and the selection says so (the best evaluated one is the report's).
    expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(0);
    const selection = selectionOf(result);
    expect(selection.winner).toBeUndefined();
    expect(selection).toMatchObject({ promote: false, chosen: { candidate: { name: 'ft-micro' } } });
    expect(selection.runnersUpDeployments).toEqual([outcomes[1]?.deployment.deploymentArn]);
    expect(result.output?.['promotion']).toEqual({
      promoted: false,
      reason: 'no candidate passed its gate (ft-micro: rejected; distill-micro: rejected)',
    });

    // The report shows both candidates with their gate; the comparison tables are the chosen one's.
    const report = JSON.parse(s3.get(BUCKET, runKeys('run-prod-worse').reportJson) ?? '{}') as RunReport;
    expect(report.outcome).toBe('REJECTED');
    expect(report.candidates?.map((c) => [c.name, c.status === 'evaluated' && c.gate.verdict])).toEqual([
      ['ft-micro', 'rejected'],
      ['distill-micro', 'rejected'],
    ]);
    expect(report.selection).toMatchObject({ chosen: 'ft-micro', promote: false, runnersUp: [] });
    const markdown = s3.get(BUCKET, runKeys('run-prod-worse').reportMarkdown) ?? '';
    expect(markdown).toContain('## Candidate, incumbent and baseline (same held-out sets)');
    expect(markdown).toContain('Held-out queries: 50 in the test set and 22 in production');
    expect(markdown).toMatch(
      new RegExp(`\\| incumbent \\(\`${INCUMBENT_ARN}\`, run \`run-earlier\`\\) \\| 4\\.60 \\| 100\\.0 %`),
    );
    expect(markdown).toMatch(/\| candidate \(`[^`]+`\) \| 4\.20 \| 90\.3 %/);
    expect(sns.commandCalls(PublishCommand)[0]?.args[0].input.Subject).toBe(
      'Intent router run run-prod-worse: REJECTED, no candidate passed',
    );
  });

  it('the incumbent is never judged on queries it trained on: its training queries are in neither held-out set', async () => {
    seedProduction(MODALITIES, 55);
    // The incumbent's run trained on the first 20 live queries of every modality (from overlapping days), some written
    // differently: they match once normalised.
    const incumbentTrained = MODALITIES.flatMap((m) =>
      Array.from({ length: 20 }, (_, i) =>
        i % 3 === 0 ? `LIVE ${KEYWORD[m]} clip ${i}.` : `live ${KEYWORD[m]} clip ${i}`,
      ),
    );
    const earlier = runKeys('run-earlier');
    s3.set(
      BUCKET,
      earlier.train,
      incumbentTrained.map((q, i) => recordLine(q, MODALITIES[i % 4] ?? 'visual')).join('\n') + '\n',
    );
    s3.set(
      BUCKET,
      earlier.manifest,
      JSON.stringify({
        runId: 'run-earlier',
        promptVersions: { student: 'student-v1' },
        files: { train: { key: earlier.train, records: 80 }, test: { key: earlier.test, records: 50 } },
      }),
    );
    ssm
      .on(GetParameterCommand)
      .resolves({ $metadata, Parameter: { Name: PARAMETER, Value: promoted(INCUMBENT_ARN), Version: 7 } });
    answerers(10);
    fakeBedrock({ judgeResults: { student: [0.8, 0.8], baseline: [0.75], incumbent: [0.9] } });
    const result = await run('run-prod-overlap', { fromProduction: { since: '2026-11-20' } });

    expect(result.status).toBe('SUCCEEDED');
    const keys = runKeys('run-prod-overlap');
    const trainedByIncumbent = new Set(incumbentTrained.map(normalisedQuery));
    const test = queriesOf(s3.get(BUCKET, keys.test));
    const heldOut = queriesOf(s3.get(BUCKET, productionTestKey('run-prod-overlap')));
    expect(test.length).toBe(50);
    expect(heldOut.length).toBeGreaterThan(0);
    expect([...test, ...heldOut].filter((q) => trainedByIncumbent.has(q))).toEqual([]);
    // They may still train the candidate; the manifest says how many each draw left out.
    const exclusion = manifestOf('run-prod-overlap').incumbentExclusion;
    expect(exclusion).toMatchObject({ runId: 'run-earlier', trainingQueries: 80 });
    expect(exclusion?.excludedFromTest).toBe(80);
    expect(exclusion?.excludedFromProductionHeldOut).toBeGreaterThan(0);
    expect(exclusion?.note).toBeUndefined();
    // The incumbent answered exactly the held-out queries, none of which it trained on, once for the run.
    expect(outcomesOf(result)).toHaveLength(2);
    const asked = callsTo(INCUMBENT_ARN).map((c) => normalisedQuery(requestTexts(c.args[0].input).user));
    expect(asked).toHaveLength(test.length + heldOut.length);
    expect(new Set(asked)).toEqual(new Set([...test, ...heldOut]));
  });

  it('a run that reuses a dataset holds out none of the incumbent’s training queries either', async () => {
    // The incumbent's run trained on 8 of the reused run's held-out queries (written differently: normalised alike).
    const earlier = runKeys('run-earlier');
    const heldOut = MODALITIES.flatMap((m) => Array.from({ length: 10 }, (_, i) => `held ${KEYWORD[m]} clip ${i}`));
    const trainQueries = MODALITIES.flatMap((m) =>
      Array.from({ length: 30 }, (_, i) => `reused ${KEYWORD[m]} clip ${i}`),
    );
    const lines = (queries: readonly string[]) =>
      queries.map((q, i) => recordLine(q, MODALITIES[i % 4] ?? 'visual')).join('\n') + '\n';
    const source = runKeys('run-source');
    s3.set(BUCKET, source.train, lines(trainQueries));
    s3.set(BUCKET, source.test, lines(heldOut));
    const trainedByIncumbent = heldOut.filter((_, i) => i % 5 === 0).map((q) => q.toUpperCase() + '!');
    s3.set(BUCKET, earlier.train, lines([...trainedByIncumbent, ...trainQueries]));
    s3.set(
      BUCKET,
      earlier.manifest,
      JSON.stringify({
        runId: 'run-earlier',
        promptVersions: { student: 'student-v1' },
        files: { train: { key: earlier.train, records: 128 }, test: { key: earlier.test, records: 50 } },
      }),
    );
    ssm
      .on(GetParameterCommand)
      .resolves({ $metadata, Parameter: { Name: PARAMETER, Value: promoted(INCUMBENT_ARN), Version: 7 } });
    fakeBedrock({ judgeResults: { student: [0.8, 0.8], baseline: [0.75], incumbent: [0.8] } });
    const result = await run('run-reuse-fair', { reuseDatasetFromRun: 'run-source' });

    expect(result.status).toBe('SUCCEEDED');
    const keys = runKeys('run-reuse-fair');
    expect(result.output?.['assemble']).toMatchObject({
      testKey: keys.test,
      testCount: 32,
      reusedFromRun: 'run-source',
      incumbentExclusion: { runId: 'run-earlier', excludedFromTest: 8, trainingFile: earlier.train },
    });
    const judged = queriesOf(s3.get(BUCKET, keys.test));
    const trained = new Set(trainedByIncumbent.map(normalisedQuery));
    expect(judged).toHaveLength(32);
    expect(judged.filter((q) => trained.has(q))).toEqual([]);
    // Both candidates trained on the reused records: the distillation on the reused file (student-v2), the
    // fine-tuning on this run's student-v3 rendering of it.
    const jobs = bedrock.mock.commandCalls(CreateModelCustomizationJobCommand).map((c) => c.args[0].input);
    expect(jobs.map((j) => [j.customizationType, j.trainingDataConfig?.s3Uri]).sort()).toEqual([
      ['DISTILLATION', `s3://${BUCKET}/${source.train}`],
      ['FINE_TUNING', `s3://${BUCKET}/${keys.trainFor('student-v3')}`],
    ]);
    // Each candidate, and the incumbent once for the run, answered only those 32; the reused run's own file is
    // unchanged.
    const outcomes = outcomesOf(result);
    expect(outcomes).toHaveLength(2);
    for (const { deployment } of outcomes) expect(callsTo(deployment.deploymentArn)).toHaveLength(32);
    const asked = callsTo(INCUMBENT_ARN).map((c) => normalisedQuery(requestTexts(c.args[0].input).user));
    expect(asked).toHaveLength(32);
    expect(new Set(asked)).toEqual(new Set(judged));
    expect(queriesOf(s3.get(BUCKET, source.test))).toHaveLength(40);
  });

  it('gate against the incumbent: too few held-out queries to tell is inconclusive and keeps the incumbent', async () => {
    seedProduction(MODALITIES, 55);
    ssm
      .on(GetParameterCommand)
      .resolves({ $metadata, Parameter: { Name: PARAMETER, Value: promoted(INCUMBENT_ARN), Version: 7 } });
    // Each candidate misses 2 of the 72 held-out queries the incumbent gets right (97.2 % against 100 %): a drop of
    // 0.028, within the 0.03 margin, but 2 discordant pairs cannot show it is not worse (nor its weight error, 0.008
    // higher, within the 0.02 margin). The judge rates both alike, prompt by prompt.
    answerers(36);
    fakeBedrock({ judgeEveryRecord: true, judgeResults: { student: [0.8, 0.8], baseline: [0.75], incumbent: [0.8] } });
    const result = await run('run-prod-unsure', { fromProduction: { since: '2026-11-20' } });

    expect(result.status).toBe('SUCCEEDED');
    const outcomes = outcomesOf(result);
    expect(outcomes.map((o) => o.candidate.name)).toEqual(['ft-micro', 'distill-micro']);
    for (const { gate } of outcomes) {
      expect(gate).toMatchObject({
        passed: false,
        verdict: 'inconclusive',
        failed: ['maxAgreementDropToIncumbent', 'maxWeightErrorRiseToIncumbent'],
      });
      expect(gate.summary).toContain('inconclusive: the incumbent is kept');
      expect(gate.statistics?.map((st) => [st.metric, st.queries, st.verdict])).toEqual([
        ['judgeScore', 72, 'not-worse'],
        ['dominantAgreement', 72, 'inconclusive'],
        ['weightError', 72, 'inconclusive'],
      ]);
    }
    const gate = chosenGate(result);
    const agreement = gate.statistics?.find((st) => st.metric === 'dominantAgreement');
    expect(agreement).toMatchObject({
      test: 'mcnemar-exact',
      queries: 72,
      discordant: { candidateOnly: 0, otherOnly: 2 },
      verdict: 'inconclusive',
      pValue: 0.25,
    });
    expect(agreement?.queriesToDecide).toBeGreaterThan(72);
    // Neither candidate passed: nothing is promoted or canaried, the incumbent stays.
    expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(0);
    expect(selectionOf(result)).toMatchObject({ promote: false });
    expect(result.output?.['promotion']).toEqual({
      promoted: false,
      reason: 'no candidate passed its gate (ft-micro: inconclusive; distill-micro: inconclusive)',
    });
    const markdown = s3.get(BUCKET, runKeys('run-prod-unsure').reportMarkdown) ?? '';
    expect(markdown).toContain('Verdict: **inconclusive**');
    expect(markdown).toContain('### Paired comparison with the incumbent (same held-out queries)');
    expect(markdown).toMatch(
      new RegExp(
        `\\| dominant agreement \\| mcnemar-exact .*\\| 72 \\| .*\\| inconclusive \\| ${agreement?.queriesToDecide} \\|`,
      ),
    );
    const html = s3.get(BUCKET, runKeys('run-prod-unsure').reportHtml) ?? '';
    expect(html).toContain('data-verdict="inconclusive"');
  });

  it('gate against the incumbent: a candidate as good as the incumbent goes on to its canary', async () => {
    seedProduction(MODALITIES, 55);
    // The parameter still holds the incumbent alone at every read: an operator ended the canary (canary-e2e.test.ts
    // runs the canary itself).
    ssm
      .on(GetParameterCommand)
      .resolves({ $metadata, Parameter: { Name: PARAMETER, Value: promoted(INCUMBENT_ARN), Version: 7 } });
    cloudwatch.on(DescribeAlarmsCommand).callsFake((input: DescribeAlarmsCommandInput) => ({
      $metadata,
      MetricAlarms: (input.AlarmNames ?? []).map((name) => ({
        AlarmName: name,
        StateValue: 'OK',
        StateReason: 'quiet',
      })),
    }));
    fakeBedrock({ judgeEveryRecord: true, judgeResults: { student: [0.8, 0.8], baseline: [0.75], incumbent: [0.8] } });
    const result = await run('run-prod-better', { fromProduction: true });

    expect(result.status).toBe('SUCCEEDED');
    // Both candidates pass against the incumbent; the winner (as good, cheaper) alone goes on to the canary.
    expect(outcomesOf(result).map((o) => [o.candidate.name, o.gate.passed, o.gate.failed])).toEqual([
      ['ft-micro', true, []],
      ['distill-micro', true, []],
    ]);
    expect(selectionOf(result)).toMatchObject({ winner: 'ft-micro', promote: true });
    const checks = chosenGate(result).checks;
    expect(checks.find((c) => c.name === 'maxJudgeDropToIncumbent')).toMatchObject({
      value: 0,
      passed: true,
      paired: { verdict: 'not-worse' },
    });
    expect(checks.find((c) => c.name === 'maxAgreementDropToIncumbent')).toMatchObject({ value: 0, passed: true });
    // Start canary wrote the candidate beside the incumbent; the check found it gone and wrote nothing over it.
    expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(1);
    const written = JSON.parse(String(ssm.commandCalls(PutParameterCommand)[0]?.args[0].input.Value)) as {
      canary?: { deploymentArn: string; studentPromptVersion: string };
    };
    expect(written.canary).toMatchObject({
      deploymentArn: chosenOutcome(result).deployment.deploymentArn,
      studentPromptVersion: 'student-v3',
    });
    expect(result.output?.['canary']).toMatchObject({ started: true, share: 0.1 });
    expect(result.output?.['promotion']).toMatchObject({ canary: { outcome: 'rolled-back-by-operator' } });
    expect(s3.get(BUCKET, runKeys('run-prod-better').reportMarkdown)).toContain('| incumbent (');
  });
});
