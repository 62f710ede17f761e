import {
  CreateCustomModelDeploymentCommand,
  CreateEvaluationJobCommand,
  CreateModelCustomizationJobCommand,
  DeleteCustomModelDeploymentCommand,
  GetFoundationModelCommand,
  type CustomModelDeploymentStatus,
  type ModelCustomizationJobStatus,
} from '@aws-sdk/client-bedrock';
import {
  BedrockRuntimeClient,
  ConverseCommand,
  type ConverseCommandInput,
  type ConverseCommandOutput,
} from '@aws-sdk/client-bedrock-runtime';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { C, G, T } from './states';
import { logger, metrics } from '../../lambda/core/runtime';
import { readActiveModel } from '../../lambda/core/active-model';
import { recordFormat, recordParts, type ConversationRecord } from '../../lambda/core/dataset-record';
import { validateDataset } from '../../lambda/core/dataset-validator';
import { runKeys } from '../../lambda/core/runs';
import { studentFormat } from '../../lambda/core/student-format';
import type { EvaluationStarted } from '../../lambda/pipeline/evaluation/result';
import type { RunReport } from '../../lambda/pipeline/report/run-report';
import type { SelectCandidateResult } from '../../lambda/pipeline/selection/select-candidate';
import { synth } from '../helpers/app';
import { InMemoryS3, requestTexts } from '../helpers/aws-mocks';
import {
  allStates,
  lambdaEnvironment,
  runLocally,
  stateMachineDefinition,
  type LocalRunOptions,
  type LocalRunResult,
} from '../helpers/local-sfn';
import { SimulatedTeacher } from '../helpers/simulated-teacher';
import { addListing, FakeBedrock, type FakeBedrockOptions } from './fake-bedrock';
import { pipelineTasks } from './pipeline-tasks';

/**
 * The REAL pipeline state machine (the pipeline stack's template, generation wired to the candidates) executed
 * locally from Preflight to Report with the default configuration, whose two candidates train side by side: every
 * Task runs its real Lambda handler, AWS is mocked at the SDK boundary (an in-memory S3 bucket, a simulated teacher,
 * Bedrock's control plane with judge jobs writing their result files, SSM, SNS), and waits and retry pauses take no
 * time.
 */

// Context as `cdk -c` passes it (strings): the smallest dataset the validator accepts, shards of 10 queries.
const { templates } = synth({ exampleCount: '100', testExampleCount: '50', queriesPerShard: '10' });
const definition = stateMachineDefinition(templates.pipeline);
const environment = lambdaEnvironment(templates.pipeline);
const BUCKET = environment.DATASET_BUCKET ?? '';
const TEACHER = environment.TEACHER_MODEL_ID ?? '';
const BASELINE = environment.BASELINE_MODEL_ID ?? '';
const PARAMETER = environment.ACTIVE_MODEL_PARAMETER_NAME ?? '';
const $metadata = { httpStatusCode: 200, requestId: 'e2e' };

/** The default candidates, in the configured order (lambda/core/candidates.ts): the Candidates map's items 0 and 1. */
const FT = 'ft-micro';
const DISTILL = 'distill-micro';
const PROMPT = { [FT]: 'student-v3', [DISTILL]: 'student-v2' } as const;

const runtime = mockClient(BedrockRuntimeClient);
const ssm = mockClient(SSMClient);
const sns = mockClient(SNSClient);
let s3: InMemoryS3;
let bedrock: FakeBedrock;
let savedEnv: NodeJS.ProcessEnv;

const tasks = pipelineTasks();

/** A custom model deployment answers as the student (the teacher, the baseline and the judge are foundation models). */
const isDeployment = (modelId: string | undefined) => (modelId ?? '').includes(':custom-model-deployment/');

beforeAll(() => {
  logger.setLogLevel('SILENT');
  jest.spyOn(metrics, 'publishStoredMetrics').mockReturnValue(metrics);
});
beforeEach(() => {
  savedEnv = { ...process.env };
  Object.assign(process.env, environment, { AWS_REGION: 'us-east-1' });
  s3 = new InMemoryS3();
  addListing(s3);
  // The teacher writes and labels; the students (through their deployments) and the baseline answer like it would.
  const teacher = new SimulatedTeacher();
  const answerer = new SimulatedTeacher();
  runtime.reset();
  runtime.on(ConverseCommand).callsFake(async (input: ConverseCommandInput): Promise<ConverseCommandOutput> => {
    if (input.modelId === TEACHER) return teacher.reply(input);
    const reply = await answerer.reply(input);
    if (!isDeployment(input.modelId)) return reply;
    // Bedrock bills the prompt it is sent (about 4 characters a token): a student asked with a shorter prompt uses
    // fewer input tokens, so equal students differ in cost per query.
    const { system, user } = requestTexts(input);
    const inputTokens = Math.ceil((system.length + user.length) / 4);
    const outputTokens = reply.usage?.outputTokens ?? 0;
    return { ...reply, usage: { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens } };
  });
  ssm.reset();
  ssm.on(GetParameterCommand).resolves({ $metadata, Parameter: { Name: PARAMETER, Value: 'none', Version: 1 } });
  ssm.on(PutParameterCommand).resolves({ $metadata, Version: 2 });
  sns.reset();
  sns.on(PublishCommand).resolves({ $metadata, MessageId: 'message-1' });
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
});

/** Bedrock's control plane, the model lifecycle Preflight reads included (FakeBedrock). */
function fakeBedrock(options: FakeBedrockOptions = {}): FakeBedrock {
  bedrock = new FakeBedrock(s3, options);
  return bedrock;
}

/** Each candidate's job, and each one's deployment, polled on its own script (so each iteration's path is known). */
const eachCandidate = (statuses: CustomModelDeploymentStatus[]) => ({ [FT]: [...statuses], [DISTILL]: [...statuses] });
const eachJob = (statuses: ModelCustomizationJobStatus[]) => ({
  FINE_TUNING: [...statuses],
  DISTILLATION: [...statuses],
});

const run = (executionName: string, input: LocalRunOptions['input'] = {}) =>
  runLocally(definition, { executionName, input, tasks });

/** States that run inside a Map's iterations (a shard of Generate, a candidate of Candidates). */
const ITERATION_STATES = new Set(
  Object.values(allStates(definition)).flatMap((s) =>
    s.Type === 'Map'
      ? Object.keys(allStates((s['ItemProcessor'] ?? s['Iterator']) as { States: Record<string, unknown> }))
      : [],
  ),
);
/** The top-level states entered, in order (the Maps' iterations left out). */
const path = (result: LocalRunResult) => result.entered.filter((s) => !ITERATION_STATES.has(s));
/** Each candidate's path through its iteration of the Candidates map, in the configured order. */
const candidatePaths = (result: LocalRunResult) => result.iterations[T.candidates] ?? [];

const conversesWith = (model: (modelId: string) => boolean) =>
  runtime.commandCalls(ConverseCommand).filter((c) => model(c.args[0].input.modelId ?? ''));
const publishes = () => sns.commandCalls(PublishCommand).map((c) => c.args[0].input);
const readReport = (runId: string) => JSON.parse(s3.get(BUCKET, runKeys(runId).reportJson) ?? '{}') as RunReport;
const creates = () => bedrock.mock.commandCalls(CreateModelCustomizationJobCommand).map((c) => c.args[0].input);
const deploymentOf = (candidate: string) =>
  bedrock.deployments.find((d) => d.customModelDeploymentName?.includes(candidate))?.customModelDeploymentArn;
const selectionOf = (result: LocalRunResult) => result.output?.['selection'] as SelectCandidateResult;
const records = (key: string) =>
  (s3.get(BUCKET, key) ?? '')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as ConversationRecord);

const GENERATION_PATH = [G.preflight, G.reuseDataset, G.plan, G.calibrate, G.generate, G.assemble];
const SELECTION_PATH = [T.candidates, T.selectCandidate, T.deleteRunnersUp, T.gateChoice];
// Nothing is promoted yet: the canary's start finds no incumbent and the winner is promoted directly.
const PROMOTION_PATH = [C.startCanary, C.startedChoice, T.promote, T.report];
const polls = (n: number, loop: readonly string[]) => Array.from({ length: n }, () => loop).flat();
const TRAINING = [
  T.reuseModelChoice,
  T.startTraining,
  ...polls(2, [T.waitTraining, T.checkTraining, T.trainingChoice]),
];
const DEPLOYMENT = [T.deployStudent, ...polls(2, [T.waitDeployment, T.checkDeployment, T.deploymentChoice])];
const EVALUATION = [T.evaluate, ...polls(2, [T.waitEvaluation, T.checkEvaluation, T.evaluationChoice])];
/** A candidate that went all the way: trained, deployed, evaluated (each polled twice), gated. */
const CANDIDATE_PATH = [...TRAINING, ...DEPLOYMENT, ...EVALUATION, T.gate, T.outcome];
/** How a candidate whose step failed leaves its iteration (CandidateFailurePath). */
const DROPPED = ['Candidate deployed?', 'Drop the candidate'];
const DROPPED_DEPLOYED = ['Candidate deployed?', 'Drop the deployed candidate'];

describe('the pipeline state machine, executed locally from start to end', () => {
  it('has a local handler for every Task state of the real definition', () => {
    const taskStates = Object.entries(allStates(definition))
      .filter(([, s]) => s.Type === 'Task')
      .map(([name]) => name);
    expect(taskStates.sort()).toEqual(Object.keys(tasks).sort());
  });

  it('happy path: one dataset, both default candidates trained side by side, the cheaper of two equals promoted, both reported', async () => {
    fakeBedrock({
      jobStatusesByType: eachJob(['InProgress', 'Completed']),
      deploymentStatusesByCandidate: eachCandidate(['Creating', 'Active']),
    });
    const result = await run('run-e2e');

    expect(result.status).toBe('SUCCEEDED');
    expect(path(result)).toEqual([...GENERATION_PATH, ...SELECTION_PATH, ...PROMOTION_PATH]);
    expect(candidatePaths(result)).toEqual([CANDIDATE_PATH, CANDIDATE_PATH]);
    // 203 queries: 43, 43, 42, 42 for the modalities and 33 mixed, in shards of at most 10.
    expect(result.entered.filter((s) => s === G.generateShard)).toHaveLength(5 + 5 + 5 + 5 + 4);
    expect(result.output?.['preflight']).toMatchObject({ candidates: [{ name: FT }, { name: DISTILL }] });

    // Generation: one labelled dataset, one training file per candidate's prompt version: the same queries and
    // labels in the same order, only the system prompt differs.
    const keys = runKeys('run-e2e');
    const trainV3 = keys.trainFor(PROMPT[FT]);
    const trainV2 = keys.trainFor(PROMPT[DISTILL]);
    expect(result.output?.['assemble']).toMatchObject({
      trainKey: trainV3,
      trainKeys: { [PROMPT[FT]]: trainV3, [PROMPT[DISTILL]]: trainV2 },
      trainCount: 100,
      testCount: 50,
    });
    for (const key of [trainV3, trainV2]) {
      expect(validateDataset(s3.get(BUCKET, key) ?? '')).toMatchObject({ ok: true, records: 100 });
    }
    expect(records(trainV3).map(recordParts)).toEqual(records(trainV2).map(recordParts));
    expect(new Set(records(trainV3).map((r) => recordFormat(r)?.promptVersion))).toEqual(new Set([PROMPT[FT]]));
    expect(new Set(records(trainV2).map((r) => recordFormat(r)?.promptVersion))).toEqual(new Set([PROMPT[DISTILL]]));
    // The teacher: one writing call per shard (24), the calibration (100 single labels, then 20 + 10 + 5 batches),
    // then one labelling call per shard — calibration chose batches of 20 and no shard holds more than 10 queries.
    // Two candidates cost the teacher nothing more: the dataset is labelled once.
    expect(result.output?.['calibration']).toMatchObject({ labelBatchSize: 20, calibrated: true });
    expect(conversesWith((m) => m === TEACHER)).toHaveLength(24 + (100 + 35) + 24);

    // Training: each candidate by its own method on its own file, into its own prefix, polled until Completed.
    expect(creates()).toHaveLength(2);
    expect(creates()).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          customizationType: 'FINE_TUNING',
          baseModelIdentifier: environment.STUDENT_MODEL_ID,
          roleArn: environment.FINE_TUNING_ROLE_ARN,
          hyperParameters: expect.objectContaining({ epochCount: expect.any(String) }),
          trainingDataConfig: { s3Uri: `s3://${BUCKET}/${trainV3}` },
          outputDataConfig: { s3Uri: `s3://${BUCKET}/runs/run-e2e/${FT}/training/` },
        }),
        expect.objectContaining({
          customizationType: 'DISTILLATION',
          baseModelIdentifier: environment.STUDENT_MODEL_ID,
          roleArn: environment.CUSTOMIZATION_ROLE_ARN,
          customizationConfig: {
            distillationConfig: { teacherModelConfig: expect.objectContaining({ teacherModelIdentifier: TEACHER }) },
          },
          trainingDataConfig: { s3Uri: `s3://${BUCKET}/${trainV2}` },
          outputDataConfig: { s3Uri: `s3://${BUCKET}/runs/run-e2e/${DISTILL}/training/` },
        }),
      ]),
    );
    const outcomes = result.output?.['candidates'] as { candidate: { name: string }; training: unknown }[];
    expect(outcomes.map((o) => o.candidate.name)).toEqual([FT, DISTILL]);
    for (const outcome of outcomes) {
      expect(outcome.training).toMatchObject({
        status: 'Completed',
        statusDetails: { trainingDetails: { status: 'Completed' } },
      });
    }
    // One deployment each, polled until Active.
    expect(bedrock.mock.commandCalls(CreateCustomModelDeploymentCommand)).toHaveLength(2);
    const ftDeployment = deploymentOf(FT) ?? '';
    const distillDeployment = deploymentOf(DISTILL) ?? '';
    expect(ftDeployment).not.toBe(distillDeployment);

    // Evaluation: every held-out query answered by each student's deployment, in its own prompt; each student's
    // answers judged in its own job, the baseline's in one job for the run.
    for (const [candidate, arn] of [
      [FT, ftDeployment],
      [DISTILL, distillDeployment],
    ] as const) {
      const asked = conversesWith((m) => m === arn).map((c) => requestTexts(c.args[0].input).system);
      expect(asked).toHaveLength(50);
      expect(new Set(asked)).toEqual(new Set([studentFormat(PROMPT[candidate]).prompt]));
    }
    // Both candidates reached Evaluate together here, so both asked the baseline (the race): the second one's write of
    // the run's reference answers lost, and it measured the first one's instead. One baseline judge job for both.
    expect(conversesWith((m) => m === BASELINE)).toHaveLength(2 * 50);
    const referenceKey = runKeys('run-e2e').evaluation.reference('baseline');
    expect(s3.puts.filter((p) => p.key === referenceKey).map((p) => p.ifNoneMatch)).toEqual(['*', '*']);
    const evaluations = (result.output?.['candidates'] as { evaluation: EvaluationStarted }[]).map((o) => o.evaluation);
    expect(evaluations).toHaveLength(2);
    expect(evaluations[1]?.baseline).toEqual(evaluations[0]?.baseline);
    expect(evaluations[1]?.jobs.baseline).toEqual(evaluations[0]?.jobs.baseline);
    expect(bedrock.mock.commandCalls(CreateEvaluationJobCommand)).toHaveLength(2 * 2);
    expect(bedrock.evaluationJobs.map((j) => j.request.jobName).sort()).toEqual([
      `ir-dev-run-e2e--${DISTILL}-eval-student`,
      `ir-dev-run-e2e--${FT}-eval-student`,
      'ir-dev-run-e2e-eval-baseline',
    ]);

    // Selection: both pass their gate with the same agreement and judge score; the fine-tuned student's minimal
    // prompt makes it cheaper per query, so it wins and the runner-up's deployment is deleted (its model is kept).
    const selection = selectionOf(result);
    expect(selection).toMatchObject({
      winner: FT,
      promote: true,
      ranking: [
        { name: FT, rank: 1, passed: true },
        { name: DISTILL, rank: 2, passed: true },
      ],
      dropped: [],
      runnersUpDeployments: [distillDeployment],
    });
    expect(selection.reason).toMatch(/^ft-micro wins: .*ft-micro costs \$[\d.]+ per 1M queries vs \$[\d.]+/);
    const [ftRank, distillRank] = selection.ranking;
    expect(ftRank?.costPer1MQueriesUsd).toBeLessThan(distillRank?.costPer1MQueriesUsd ?? 0);
    expect(selection.chosen?.candidate.name).toBe(FT);
    expect(result.output?.['runnersUp']).toEqual({ deleted: [distillDeployment], missing: [], refused: [] });
    expect(bedrock.mock.commandCalls(DeleteCustomModelDeploymentCommand).map((c) => c.args[0].input)).toEqual([
      { customModelDeploymentIdentifier: distillDeployment },
    ]);
    expect(bedrock.deletedDeployments).toEqual([distillDeployment]);

    // Promotion: the active-model parameter names the winner's deployment, model and prompt version.
    const puts = ssm.commandCalls(PutParameterCommand).map((c) => c.args[0].input);
    expect(puts).toHaveLength(1);
    expect(puts[0]).toMatchObject({ Name: PARAMETER, Type: 'String', Overwrite: true });
    expect(readActiveModel(puts[0]?.Value)).toEqual({
      state: 'promoted',
      model: {
        deploymentArn: ftDeployment,
        modelArn: (selection.chosen?.training as { outputModelArn: string }).outputModelArn,
        runId: 'run-e2e',
        promotedAt: expect.any(String),
        studentPromptVersion: PROMPT[FT],
        metrics: expect.objectContaining({ judgeScore: 4, dominantAgreement: 1, validReplyRate: 1 }),
      },
    });
    expect((selection.chosen?.training as { outputModelArn: string }).outputModelArn).toContain(FT);

    // Report: report.json and report.md in the run, every candidate side by side, the summary on the topic (the only
    // notification).
    const report = readReport('run-e2e');
    expect(report).toMatchObject({
      runId: 'run-e2e',
      outcome: 'PROMOTED',
      dataset: { trainCount: 100, testCount: 50, manifest: { runId: 'run-e2e' } },
      deployment: { deploymentArn: ftDeployment },
      promotion: { promoted: true, parameterName: PARAMETER, version: 2 },
      candidates: [
        { name: FT, status: 'evaluated', rank: 1, winner: true, chosen: true, promptVersion: PROMPT[FT] },
        { name: DISTILL, status: 'evaluated', rank: 2, winner: false, chosen: false, promptVersion: PROMPT[DISTILL] },
      ],
      selection: { winner: FT, chosen: FT, promote: true, runnersUp: [DISTILL], dropped: [] },
    });
    const markdown = s3.get(BUCKET, keys.reportMarkdown) ?? '';
    expect(markdown).toContain('# Intent router run `run-e2e`: PROMOTED');
    expect(markdown).toContain(FT);
    expect(markdown).toContain(DISTILL);
    expect(result.output?.['report']).toEqual({
      outcome: 'PROMOTED',
      reportJsonKey: keys.reportJson,
      reportMarkdownKey: keys.reportMarkdown,
      notified: true,
    });
    expect(publishes()).toEqual([
      {
        TopicArn: environment.TOPIC_ARN,
        Subject: `Intent router run run-e2e: PROMOTED, winner ${FT}`,
        Message: expect.stringContaining(`Report: s3://${BUCKET}/${keys.reportMarkdown}`),
      },
    ]);
    expect(publishes()[0]?.Message).toMatch(new RegExp(`^Winner: ${FT} .*\\n^Runners-up: ${DISTILL} `, 'm'));
  });

  it('one candidate’s training job Failed: it is dropped with its cause, the other is promoted and both are reported', async () => {
    const failureMessage = 'Data validation failed: 3 records exceed the maximum sequence length';
    fakeBedrock({
      jobStatusesByType: { FINE_TUNING: ['InProgress', 'Failed'], DISTILLATION: ['InProgress', 'Completed'] },
      jobFailureMessage: failureMessage,
      deploymentStatusesByCandidate: eachCandidate(['Creating', 'Active']),
    });
    const result = await run('run-one-failed');

    expect(result.status).toBe('SUCCEEDED');
    expect(path(result)).toEqual([...GENERATION_PATH, ...SELECTION_PATH, ...PROMOTION_PATH]);
    expect(candidatePaths(result)).toEqual([[...TRAINING, T.trainingFailed, ...DROPPED], CANDIDATE_PATH]);
    expect(selectionOf(result)).toMatchObject({
      winner: DISTILL,
      promote: true,
      dropped: [{ name: FT, step: 'Training', error: 'TrainingJobFailed', cause: failureMessage }],
      runnersUpDeployments: [],
    });
    // Only the surviving candidate was deployed and evaluated; nothing is left to delete.
    expect(bedrock.deployments.map((d) => d.customModelDeploymentArn)).toEqual([deploymentOf(DISTILL)]);
    expect(bedrock.mock.commandCalls(CreateEvaluationJobCommand)).toHaveLength(2);
    expect(bedrock.mock.commandCalls(DeleteCustomModelDeploymentCommand)).toHaveLength(0);
    const active = readActiveModel(ssm.commandCalls(PutParameterCommand)[0]?.args[0].input.Value);
    expect(active).toMatchObject({
      state: 'promoted',
      model: { deploymentArn: deploymentOf(DISTILL), studentPromptVersion: PROMPT[DISTILL] },
    });

    // The dropped candidate is in the report with where and why; no failure notification, only the run's summary.
    expect(readReport('run-one-failed')).toMatchObject({
      outcome: 'PROMOTED',
      candidates: [
        {
          name: FT,
          status: 'dropped',
          failure: { step: 'Training', error: 'TrainingJobFailed', cause: failureMessage },
        },
        { name: DISTILL, status: 'evaluated', winner: true },
      ],
      selection: { winner: DISTILL, dropped: [FT] },
    });
    expect(publishes()).toEqual([
      expect.objectContaining({
        Subject: `Intent router run run-one-failed: PROMOTED, winner ${DISTILL}`,
        Message: expect.stringContaining(`Dropped: ${FT} at Training: TrainingJobFailed: ${failureMessage}`),
      }),
    ]);
  });

  it('every candidate’s training job Failed: no candidate is left, so the run notifies with every cause and fails', async () => {
    const failureMessage = 'Data validation failed: 3 records exceed the maximum sequence length';
    fakeBedrock({ jobStatusesByType: eachJob(['InProgress', 'Failed']), jobFailureMessage: failureMessage });
    const result = await run('run-failed');

    expect(result).toMatchObject({ status: 'FAILED', error: 'NoCandidateLeft' });
    expect(result.cause).toBe(
      `every candidate failed before its gate: ${FT} at Training: TrainingJobFailed: ${failureMessage}; ` +
        `${DISTILL} at Training: TrainingJobFailed: ${failureMessage}`,
    );
    expect(path(result).slice(-7)).toEqual([
      T.candidates,
      T.selectCandidate,
      T.deleteRunnersUp,
      T.gateChoice,
      T.noCandidateLeft,
      'Notify failure',
      'Run failed',
    ]);
    const dropped = [...TRAINING, T.trainingFailed, ...DROPPED];
    expect(candidatePaths(result)).toEqual([dropped, dropped]);
    const sent = publishes();
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({
      TopicArn: environment.TOPIC_ARN,
      Subject: 'Intent router run failed at Select candidate',
    });
    expect(JSON.parse(sent[0]?.Message ?? '{}')).toEqual({
      runId: 'run-failed',
      status: 'FAILED',
      step: 'Select candidate',
      error: 'NoCandidateLeft',
      cause: result.cause,
      execution: expect.stringMatching(/:execution:.*:run-failed$/),
    });
    expect(bedrock.mock.commandCalls(CreateCustomModelDeploymentCommand)).toHaveLength(0);
    expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(0);
    expect(s3.get(BUCKET, runKeys('run-failed').reportJson)).toBeUndefined();
  });

  it('every candidate’s deployment Failed: notifies with the deployments’ failure messages, then fails with them', async () => {
    fakeBedrock({ deploymentStatusesByCandidate: eachCandidate(['Creating', 'Failed']) });
    const result = await run('run-undeployed');

    expect(result).toMatchObject({ status: 'FAILED', error: 'NoCandidateLeft' });
    for (const candidate of [FT, DISTILL]) {
      expect(result.cause).toContain(
        `${candidate} at Deployment: DeploymentFailed: Deployment failed: model not supported`,
      );
    }
    expect(path(result).slice(-6)).toEqual([
      T.selectCandidate,
      T.deleteRunnersUp,
      T.gateChoice,
      T.noCandidateLeft,
      'Notify failure',
      'Run failed',
    ]);
    // Nothing is left behind: the failed deployments are deleted before the run fails.
    expect(bedrock.mock.commandCalls(DeleteCustomModelDeploymentCommand)).toHaveLength(2);
    for (const iteration of candidatePaths(result)) {
      expect(iteration.slice(-4)).toEqual([T.deploymentChoice, T.deploymentFailed, ...DROPPED_DEPLOYED]);
      expect(iteration).not.toContain(T.evaluate);
    }
    expect(candidatePaths(result)).toHaveLength(2);
    expect(publishes().map((p) => [p.Subject, JSON.parse(p.Message ?? '{}').step])).toEqual([
      ['Intent router run failed at Select candidate', 'Select candidate'],
    ]);
    expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(0);
  });

  it('a throttled create and a create whose response was lost are retried into one training job per candidate', async () => {
    fakeBedrock({ throttleFirstCreates: 1, loseFirstCreateResponse: true });
    const result = await run('run-retried');

    expect(result.status).toBe('SUCCEEDED');
    // Throttled (nothing created), created with the response lost and asked again (answered with the job of the same
    // token), and the other candidate's create: four calls, two jobs.
    expect(bedrock.createCalls).toBe(4);
    expect(bedrock.jobs).toHaveLength(2);
    expect(bedrock.jobs.map((j) => j.jobName)).toEqual(
      expect.arrayContaining([expect.stringContaining(FT), expect.stringContaining(DISTILL)]),
    );
    // Every create of one job carries the same token: a retry can never start a second job.
    for (const job of bedrock.jobs) {
      const tokens = creates()
        .filter((c) => c.jobName === job.jobName)
        .map((c) => c.clientRequestToken);
      expect(new Set(tokens)).toEqual(new Set([job.token]));
    }
    const outcomes = result.output?.['candidates'] as { candidate: { name: string }; training: { jobArn: string } }[];
    expect(outcomes.map((o) => [o.candidate.name, o.training.jobArn])).toEqual(
      [FT, DISTILL].map((name) => [name, bedrock.jobs.find((j) => j.jobName.includes(name))?.jobArn]),
    );
    for (const iteration of candidatePaths(result)) {
      expect(iteration.filter((s) => s === T.startTraining)).toHaveLength(1);
    }
    expect(result.output?.['report']).toMatchObject({ outcome: 'PROMOTED' });
  });

  it('gate rejects both candidates: promotes nothing, and the report names the failed threshold of each', async () => {
    // The judge scores the students 3 of 5 (below minJudgeScore 4) and the baseline 5 (on the rubric: an all-1
    // result is ambiguous between the scales and refused).
    fakeBedrock({ judgeResults: { student: [0.5, 0.5], baseline: [5] } });
    const result = await run('run-rejected');

    expect(result.status).toBe('SUCCEEDED');
    expect(path(result).slice(-5)).toEqual([
      T.selectCandidate,
      T.deleteRunnersUp,
      T.gateChoice,
      T.skipPromotion,
      T.report,
    ]);
    expect(candidatePaths(result).map((p) => p.at(-1))).toEqual([T.outcome, T.outcome]);
    expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(0);
    expect(result.output?.['promotion']).toEqual({
      promoted: false,
      reason: `no candidate passed its gate (${FT}: rejected; ${DISTILL}: rejected)`,
    });
    // Nothing won: the best evaluated candidate is the one the report describes, the other's deployment is deleted.
    expect(selectionOf(result)).toMatchObject({ promote: false, chosen: { candidate: { name: FT } } });
    expect(selectionOf(result).winner).toBeUndefined();
    expect(result.output?.['runnersUp']).toMatchObject({ deleted: [deploymentOf(DISTILL)] });

    const report = readReport('run-rejected');
    expect(report.outcome).toBe('REJECTED');
    expect(report.gate.failed).toEqual(expect.arrayContaining(['minJudgeScore']));
    expect(report.gate.checks.find((c) => c.name === 'minJudgeScore')).toMatchObject({
      value: 3,
      threshold: 4,
      passed: false,
    });
    for (const name of [FT, DISTILL]) {
      expect(report.candidates?.find((c) => c.name === name)).toMatchObject({
        status: 'evaluated',
        winner: false,
        gate: { passed: false, verdict: 'rejected', failedChecks: expect.arrayContaining(['minJudgeScore']) },
      });
    }
    expect(report.selection).toMatchObject({ promote: false, chosen: FT });
    expect(report.selection?.winner).toBeUndefined();
    expect(s3.get(BUCKET, runKeys('run-rejected').reportMarkdown)).toContain('rejected: minJudgeScore (3 < 4)');
    expect(publishes()).toEqual([
      expect.objectContaining({
        Subject: 'Intent router run run-rejected: REJECTED, no candidate passed',
        Message: expect.stringContaining('Gate rejected: minJudgeScore (3 < 4)'),
      }),
    ]);
  });

  it('reuseDatasetFromRun: skips Plan, Generate and Assemble, trains each candidate on the earlier run’s file of its prompt version and reports', async () => {
    fakeBedrock();
    const earlier = await run('run-source');
    expect(earlier.status).toBe('SUCCEEDED');
    const source = runKeys('run-source');
    const sourceObjects = s3.keys(BUCKET).filter((k) => k.startsWith('runs/run-source/'));
    const sourceFiles = new Map(sourceObjects.map((k) => [k, s3.get(BUCKET, k)]));
    // A fresh control plane (its job and deployment poll scripts start over); S3 keeps the earlier run's files.
    bedrock.restore();
    fakeBedrock({
      jobStatusesByType: eachJob(['InProgress', 'Completed']),
      deploymentStatusesByCandidate: eachCandidate(['Creating', 'Active']),
    });
    runtime.resetHistory();
    sns.resetHistory();
    ssm.resetHistory();

    const result = await run('run-reuse', { reuseDatasetFromRun: 'run-source' });

    expect(result.status).toBe('SUCCEEDED');
    expect(path(result)).toEqual([G.preflight, G.reuseDataset, T.reuseDataset, ...SELECTION_PATH, ...PROMOTION_PATH]);
    expect(candidatePaths(result)).toEqual([CANDIDATE_PATH, CANDIDATE_PATH]);
    // Preflight still checked the models (teacher, student, baseline, judge); the teacher was not asked anything.
    expect(bedrock.mock.commandCalls(GetFoundationModelCommand)).toHaveLength(4);
    expect(conversesWith((m) => m === TEACHER)).toHaveLength(0);
    const reused = { [PROMPT[FT]]: source.trainFor(PROMPT[FT]), [PROMPT[DISTILL]]: source.trainFor(PROMPT[DISTILL]) };
    expect(result.output?.['assemble']).toMatchObject({
      runId: 'run-reuse',
      bucket: BUCKET,
      trainKey: reused[PROMPT[FT]],
      trainKeys: reused,
      testKey: source.test,
      manifestKey: source.manifest,
      trainCount: 100,
      testCount: 50,
      reusedFromRun: 'run-source',
    });
    for (const [candidate, type] of [
      [FT, 'FINE_TUNING'],
      [DISTILL, 'DISTILLATION'],
    ] as const) {
      expect(creates().find((c) => c.customizationType === type)).toMatchObject({
        trainingDataConfig: { s3Uri: `s3://${BUCKET}/${reused[PROMPT[candidate]]}` },
        outputDataConfig: { s3Uri: `s3://${BUCKET}/runs/run-reuse/${candidate}/training/` },
      });
    }

    // The new run writes no shards and, the earlier run having every prompt version's file and no incumbent to keep
    // out of its held-out set, nothing in its dataset folder but the reuse record; the earlier run's files are
    // untouched.
    const written = s3.keys(BUCKET).filter((k) => k.startsWith('runs/run-reuse/'));
    expect(written.filter((k) => /\/(shards|dataset)\//.test(k))).toEqual(['runs/run-reuse/dataset/reuse.json']);
    expect(written).toEqual(expect.arrayContaining([runKeys('run-reuse').reportJson]));
    expect(s3.keys(BUCKET).filter((k) => k.startsWith('runs/run-source/'))).toEqual(sourceObjects);
    for (const [key, text] of sourceFiles) expect(s3.get(BUCKET, key)).toBe(text);
    expect(readReport('run-reuse')).toMatchObject({
      runId: 'run-reuse',
      outcome: 'PROMOTED',
      dataset: { trainKey: reused[PROMPT[FT]], manifest: { runId: 'run-source' } },
      candidates: [{ name: FT }, { name: DISTILL }],
    });
    expect(publishes()).toEqual([
      expect.objectContaining({ Subject: `Intent router run run-reuse: PROMOTED, winner ${FT}` }),
    ]);
  });
});
