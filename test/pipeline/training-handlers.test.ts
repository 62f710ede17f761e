import './training-env-setup';
import {
  ConflictException,
  CreateCustomModelDeploymentCommand,
  CreateEvaluationJobCommand,
  CreateModelCustomizationJobCommand,
  ListCustomModelDeploymentsCommand,
  StopEvaluationJobCommand,
  ThrottlingException,
  ValidationException,
  type CustomModelDeploymentSummary,
} from '@aws-sdk/client-bedrock';
import {
  BedrockRuntimeClient,
  ConverseCommand,
  ThrottlingException as RuntimeThrottlingException,
  type ConverseCommandInput,
  type ConverseCommandOutput,
} from '@aws-sdk/client-bedrock-runtime';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetParameterCommand, ParameterNotFound, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { readActiveModel } from '../../lambda/core/active-model';
import { toRecord } from '../../lambda/core/dataset-record';
import { evaluationKeys, type JudgeScore } from '../../lambda/pipeline/evaluation/evaluation';
import { teacherPrompt } from '../../lambda/core/teacher-prompt';
import { CURRENT_STUDENT_FORMAT, STUDENT_FORMATS, studentFormatOfPrompt } from '../../lambda/core/student-format';
import { checkDeployment } from '../../lambda/pipeline/deployment/check-deployment';
import { checkTraining } from '../../lambda/pipeline/training/check-training';
import { checkEvaluation } from '../../lambda/pipeline/evaluation/check-evaluation';
import { logger } from '../../lambda/core/runtime';
import { deployStudent } from '../../lambda/pipeline/deployment/deploy-student';
import { evaluate } from '../../lambda/pipeline/evaluation/evaluate';
import { gate } from '../../lambda/pipeline/gate/gate';
import { promote } from '../../lambda/pipeline/rollout/promote';
import { report } from '../../lambda/pipeline/report/report';
import { reuseDataset } from '../../lambda/pipeline/generation/reuse-dataset';
import { startTraining } from '../../lambda/pipeline/training/start-training';
import { converseReply, InMemoryS3, requestTexts, throttling } from '../helpers/aws-mocks';
import { addListing, FakeBedrock, type FakeBedrockOptions } from './fake-bedrock';
import { resourceTags } from '../../lambda/core/job-names';
import { BUCKET, DEPLOYMENT_ARN, MODEL_ARN, TRAINING_ENV, THREE_QUERIES } from './training-env';

const RUN = 'run-1';
/** What the state machine passes for a run without candidates: the Assemble result. */
const START_INPUT = {
  runId: RUN,
  assemble: { runId: RUN, bucket: BUCKET, trainKey: `runs/${RUN}/dataset/train.jsonl`, trainCount: 10000 },
};
const $metadata = { httpStatusCode: 200, requestId: 'r' };

let s3: InMemoryS3;
let bedrock: FakeBedrock;
const runtime = mockClient(BedrockRuntimeClient);
const ssm = mockClient(SSMClient);
const sns = mockClient(SNSClient);

function setUp(options: FakeBedrockOptions = {}) {
  bedrock?.restore();
  bedrock = new FakeBedrock(s3, options);
}

beforeEach(() => {
  s3 = new InMemoryS3();
  addListing(s3);
  setUp();
  runtime.reset();
  ssm.reset();
  sns.reset();
});
afterEach(() => {
  s3.restore();
  bedrock.restore();
});

const TEST_SET = THREE_QUERIES;
function putTestSet() {
  s3.set(BUCKET, `runs/${RUN}/dataset/test.jsonl`, TEST_SET.map(([q, w]) => JSON.stringify(toRecord(q, w))).join('\n'));
}

describe('start-training without candidates (a run’s single distillation)', () => {
  it('creates a DISTILLATION job with the student, the teacher config, the run’s data, key, names and tags', async () => {
    const result = await startTraining(START_INPUT);
    expect(result).toEqual({
      jobArn: expect.stringContaining(':model-customization-job/'),
      jobName: 'ir-dev-run-1-distillation',
      customModelName: 'ir-dev-run-1-student',
      customizationType: 'DISTILLATION',
      existing: false,
    });
    const input = bedrock.mock.commandCalls(CreateModelCustomizationJobCommand)[0]?.args[0].input;
    expect(input).toMatchObject({
      jobName: 'ir-dev-run-1-distillation',
      customModelName: 'ir-dev-run-1-student',
      clientRequestToken: 'ir-dev-run-1-distillation',
      roleArn: TRAINING_ENV.CUSTOMIZATION_ROLE_ARN,
      baseModelIdentifier: 'amazon.nova-micro-v1:0:128k',
      customizationType: 'DISTILLATION',
      customizationConfig: {
        distillationConfig: {
          teacherModelConfig: {
            teacherModelIdentifier: 'us.amazon.nova-premier-v1:0',
            maxResponseLengthForInference: 1000,
          },
        },
      },
      trainingDataConfig: { s3Uri: 's3://dataset-bucket/runs/run-1/dataset/train.jsonl' },
      outputDataConfig: { s3Uri: 's3://dataset-bucket/runs/run-1/distillation/' },
      customModelKmsKeyId: TRAINING_ENV.DATASET_KEY_ARN,
    });
    expect(input?.jobTags).toContainEqual({ key: 'RunId', value: RUN });
    expect(input?.customModelTags).toContainEqual({ key: 'Project', value: 'distilled-intent-router' });
  });

  it('does not start a second job when the create is retried after a lost response', async () => {
    setUp({ loseFirstCreateResponse: true });
    await expect(startTraining(START_INPUT)).rejects.toMatchObject({ name: 'InternalServerException' });
    const retried = await startTraining(START_INPUT);
    expect(bedrock.jobs).toHaveLength(1);
    expect(retried.jobArn).toBe(bedrock.jobs[0]?.jobArn);
  });

  it('resolves a ConflictException on retry to the job this run started', async () => {
    setUp({ duplicateCreate: 'conflict' });
    const first = await startTraining(START_INPUT);
    const second = await startTraining(START_INPUT);
    expect(second).toEqual({ ...first, existing: true });
    expect(bedrock.jobs).toHaveLength(1);
  });

  it('refuses a job of the same name that another run started', async () => {
    setUp({ duplicateCreate: 'conflict' });
    bedrock.jobs.push({
      jobName: 'ir-dev-run-1-distillation',
      jobArn: 'arn:aws:bedrock:us-east-1:123456789012:model-customization-job/x/other',
      token: 'someone-else',
      customModelName: 'x',
    });
    await expect(startTraining(START_INPUT)).rejects.toThrow(/was not started by run run-1/);
  });

  it('surfaces throttling under its SDK name for the state machine’s Retry', async () => {
    bedrock.mock
      .on(CreateModelCustomizationJobCommand)
      .rejects(new ThrottlingException({ message: 'Too many requests', $metadata: { httpStatusCode: 429 } }));
    await expect(startTraining(START_INPUT)).rejects.toMatchObject({ name: 'ThrottlingException' });
  });

  it('names the field when the state machine passes bad input', async () => {
    await expect(startTraining({ runId: RUN, assemble: { bucket: BUCKET } })).rejects.toThrow(
      /Start training: invalid input from the state machine: assemble\.trainKey/,
    );
  });
});

describe('start-training for a candidate', () => {
  const trainKeys = {
    'student-v3': `runs/${RUN}/dataset/train-student-v3.jsonl`,
    'teacher-v1': `runs/${RUN}/dataset/train-teacher-v1.jsonl`,
  };
  const assemble = { ...START_INPUT.assemble, trainKey: trainKeys['student-v3'], trainKeys };
  const fineTuning = {
    name: 'ft-micro',
    method: 'fine-tuning',
    baseModelId: 'amazon.nova-micro-v1:0:128k',
    promptVersion: 'student-v3',
    hyperParameters: { epochCount: 2, learningRate: 0.00001 },
  } as const;
  const distillation = {
    name: 'distill-micro',
    method: 'distillation',
    baseModelId: 'amazon.nova-micro-v1:0:128k',
    promptVersion: 'teacher-v1',
  } as const;
  const created = () => bedrock.mock.commandCalls(CreateModelCustomizationJobCommand).map((c) => c.args[0].input);

  it('creates a FINE_TUNING job: the candidate’s base model, role, training file, output, names, tags and hyperParameters as strings', async () => {
    const result = await startTraining({ runId: RUN, assemble, candidate: fineTuning });
    expect(result).toMatchObject({
      jobName: 'ir-dev-run-1--ft-micro-training',
      customModelName: 'ir-dev-run-1_ft-micro-student',
      customizationType: 'FINE_TUNING',
      candidate: 'ft-micro',
      existing: false,
    });
    const [input] = created();
    expect(input).toEqual({
      jobName: 'ir-dev-run-1--ft-micro-training',
      customModelName: 'ir-dev-run-1_ft-micro-student',
      clientRequestToken: 'ir-dev-run-1--ft-micro-training',
      roleArn: TRAINING_ENV.FINE_TUNING_ROLE_ARN,
      baseModelIdentifier: 'amazon.nova-micro-v1:0:128k',
      customizationType: 'FINE_TUNING',
      // Bedrock's map is string to string; warm-up by the Nova rule: 10,000 records / 640 ≈ 16.
      hyperParameters: { epochCount: '2', learningRate: '0.00001', learningRateWarmupSteps: '16' },
      trainingDataConfig: { s3Uri: 's3://dataset-bucket/runs/run-1/dataset/train-student-v3.jsonl' },
      outputDataConfig: { s3Uri: 's3://dataset-bucket/runs/run-1/ft-micro/training/' },
      customModelKmsKeyId: TRAINING_ENV.DATASET_KEY_ARN,
      jobTags: resourceTags('dev', RUN, 'ft-micro'),
      customModelTags: resourceTags('dev', RUN, 'ft-micro'),
    });
    expect(input?.customModelTags).toContainEqual({ key: 'Candidate', value: 'ft-micro' });
  });

  it.each([
    ['a given warm-up', 'amazon.nova-micro-v1:0:128k', 10000, 7, '7'],
    ['Lite’s rule (/ 160)', 'amazon.nova-lite-v1:0:300k', 10000, undefined, '63'],
    ['the rule within Bedrock’s 100', 'amazon.nova-lite-v1:0:300k', 20000, undefined, '100'],
    ['the rule for a small dataset', 'amazon.nova-micro-v1:0:128k', 200, undefined, '0'],
  ])('sends %s', async (_what, baseModelId, trainCount, learningRateWarmupSteps, expected) => {
    const candidate = {
      ...fineTuning,
      baseModelId,
      hyperParameters: { ...fineTuning.hyperParameters, learningRateWarmupSteps },
    };
    await startTraining({ runId: RUN, assemble: { ...assemble, trainCount }, candidate });
    expect(created()[0]?.hyperParameters?.['learningRateWarmupSteps']).toBe(expected);
  });

  it('names the setting when the warm-up rule cannot apply, before creating anything', async () => {
    const candidate = { ...fineTuning, baseModelId: 'amazon.nova-2-lite-v1:0' };
    await expect(startTraining({ runId: RUN, assemble, candidate })).rejects.toThrow(
      /candidate "ft-micro": no warm-up rule for base model amazon.nova-2-lite-v1:0 .* hyperParameters.learningRateWarmupSteps/,
    );
    const { trainCount: _omitted, ...withoutCount } = assemble;
    await expect(startTraining({ runId: RUN, assemble: withoutCount, candidate: fineTuning })).rejects.toThrow(
      /no trainCount .* set its hyperParameters.learningRateWarmupSteps/,
    );
    expect(created()).toEqual([]);
  });

  it('creates a DISTILLATION job as before, on the training file of the candidate’s prompt version', async () => {
    await startTraining({ runId: RUN, assemble, candidate: distillation });
    const [input] = created();
    expect(input).toMatchObject({
      jobName: 'ir-dev-run-1--distill-micro-training',
      roleArn: TRAINING_ENV.CUSTOMIZATION_ROLE_ARN,
      customizationType: 'DISTILLATION',
      customizationConfig: {
        distillationConfig: {
          teacherModelConfig: {
            teacherModelIdentifier: TRAINING_ENV.TEACHER_MODEL_ID,
            maxResponseLengthForInference: 1000,
          },
        },
      },
      trainingDataConfig: { s3Uri: 's3://dataset-bucket/runs/run-1/dataset/train-teacher-v1.jsonl' },
      outputDataConfig: { s3Uri: 's3://dataset-bucket/runs/run-1/distill-micro/training/' },
    });
    expect(input?.hyperParameters).toBeUndefined();
  });

  it('starts one job per candidate, and resolves each candidate’s retried create to its own job', async () => {
    setUp({ duplicateCreate: 'conflict' });
    const ft = await startTraining({ runId: RUN, assemble, candidate: fineTuning });
    const dist = await startTraining({ runId: RUN, assemble, candidate: distillation });
    expect(bedrock.jobs.map((j) => j.jobName)).toEqual([
      'ir-dev-run-1--ft-micro-training',
      'ir-dev-run-1--distill-micro-training',
    ]);
    expect(await startTraining({ runId: RUN, assemble, candidate: fineTuning })).toEqual({ ...ft, existing: true });
    expect(await startTraining({ runId: RUN, assemble, candidate: distillation })).toEqual({ ...dist, existing: true });
    expect(bedrock.jobs).toHaveLength(2);
  });

  it('refuses a candidate’s job name taken by a job another run started', async () => {
    setUp({ duplicateCreate: 'conflict' });
    bedrock.jobs.push({
      jobName: 'ir-dev-run-1--ft-micro-training',
      jobArn: 'arn:aws:bedrock:us-east-1:123456789012:model-customization-job/x/other',
      token: 'someone-else',
      customModelName: 'x',
    });
    await expect(startTraining({ runId: RUN, assemble, candidate: fineTuning })).rejects.toThrow(
      /"ir-dev-run-1--ft-micro-training" exists but was not started by run run-1/,
    );
  });

  it('never trains a candidate on another prompt version’s file, saying which versions exist', async () => {
    const candidate = { ...fineTuning, promptVersion: 'student-v9' };
    await expect(startTraining({ runId: RUN, assemble, candidate })).rejects.toThrow(
      /candidate "ft-micro" trains in prompt version "student-v9" but Assemble wrote training files for student-v3, teacher-v1 only/,
    );
    // A reused dataset from before one file per version: its single file serves only its own version.
    const single = { ...START_INPUT.assemble, studentPromptVersion: 'student-v2' };
    await expect(
      startTraining({ runId: RUN, assemble: single, candidate: { ...fineTuning, promptVersion: 'student-v3' } }),
    ).rejects.toThrow(/dataset's only training file \(runs\/run-1\/dataset\/train.jsonl\) is in "student-v2"/);
    expect(created()).toEqual([]);
    await startTraining({ runId: RUN, assemble: single, candidate: { ...fineTuning, promptVersion: 'student-v2' } });
    expect(created()[0]?.trainingDataConfig?.s3Uri).toBe('s3://dataset-bucket/runs/run-1/dataset/train.jsonl');
  });

  it('names the field of a bad candidate', async () => {
    await expect(
      startTraining({ runId: RUN, assemble, candidate: { ...fineTuning, method: 'continued-pre-training' } }),
    ).rejects.toThrow(/Start training: invalid input from the state machine: candidate\.method/);
    await expect(
      startTraining({
        runId: RUN,
        assemble,
        candidate: { ...fineTuning, hyperParameters: { epochCount: 9, learningRate: 0.00001 } },
      }),
    ).rejects.toThrow(/candidate\.hyperParameters\.epochCount/);
  });
});

describe('check-training', () => {
  it('reports the status with statusDetails as plain JSON, then the output model once Completed', async () => {
    const { jobArn } = await startTraining(START_INPUT);
    const running = await checkTraining({ jobArn });
    expect(running).toEqual({
      status: 'InProgress',
      jobArn,
      failureMessage: '',
      statusDetails: {
        validationDetails: {
          status: 'Completed',
          creationTime: '2026-11-25T10:00:00.000Z',
          lastModifiedTime: '2026-11-25T10:00:00.000Z',
        },
        dataProcessingDetails: {
          status: 'Completed',
          creationTime: '2026-11-25T10:00:00.000Z',
          lastModifiedTime: '2026-11-25T10:00:00.000Z',
        },
        trainingDetails: { status: 'InProgress' },
      },
    });
    const done = await checkTraining({ jobArn });
    expect(done.status).toBe('Completed');
    expect(done.outputModelArn).toMatch(/:custom-model\/.*ir-dev-run-1-student$/);
  });

  it('carries the failure message of a Failed job', async () => {
    setUp({ jobStatuses: ['Failed'], jobFailureMessage: 'Data validation failed: line 3 has no user turn' });
    const { jobArn } = await startTraining(START_INPUT);
    expect(await checkTraining({ jobArn })).toMatchObject({
      status: 'Failed',
      failureMessage: 'Data validation failed: line 3 has no user turn',
      statusDetails: { trainingDetails: { status: 'Failed' } },
    });
  });
});

describe('deploy-student and check-deployment', () => {
  it('creates a deployment named after the run, then reports Creating → Active', async () => {
    const deployed = await deployStudent({ runId: RUN, modelArn: MODEL_ARN });
    expect(deployed).toMatchObject({ deploymentName: 'ir-dev-run-1-student', modelArn: MODEL_ARN, reused: false });
    expect(bedrock.deployments[0]?.customModelDeploymentName).toBe('ir-dev-run-1-student');
    expect(await checkDeployment({ deploymentArn: deployed.deploymentArn })).toEqual({
      status: 'Creating',
      deploymentArn: deployed.deploymentArn,
      failureMessage: '',
    });
    expect((await checkDeployment({ deploymentArn: deployed.deploymentArn })).status).toBe('Active');
  });

  it('reuses an existing deployment of the same model instead of creating another', async () => {
    const first = await deployStudent({ runId: RUN, modelArn: MODEL_ARN });
    const again = await deployStudent({ runId: 'run-2', modelArn: MODEL_ARN });
    expect(again).toMatchObject({ deploymentArn: first.deploymentArn, reused: true });
    expect(bedrock.deployments).toHaveLength(1);
  });

  it('never reuses a Failed deployment', async () => {
    bedrock.deployments.push({
      customModelDeploymentArn: DEPLOYMENT_ARN,
      customModelDeploymentName: 'old',
      modelArn: MODEL_ARN,
      createdAt: new Date(),
      status: 'Failed',
    });
    expect((await deployStudent({ runId: RUN, modelArn: MODEL_ARN })).reused).toBe(false);
  });

  /** A deployment that exists before the step runs, tagged as the given environment's run (or untagged). */
  function existingDeployment(
    name: string,
    status: CustomModelDeploymentSummary['status'],
    options: { modelArn?: string; envName?: string; runId?: string } = {},
  ): string {
    const arn = `arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/x${bedrock.deployments.length}abcdefghij`;
    bedrock.deployments.push({
      customModelDeploymentArn: arn,
      customModelDeploymentName: name,
      modelArn: options.modelArn ?? MODEL_ARN,
      createdAt: new Date(),
      status,
    });
    bedrock.tags.set(arn, options.envName ? resourceTags(options.envName, options.runId ?? 'run-0') : []);
    return arn;
  }
  const creates = () => bedrock.mock.commandCalls(CreateCustomModelDeploymentCommand);

  it('finds the run’s own deployment by its exact name (across pages) before anything else, and creates none', async () => {
    setUp({ deploymentPageSize: 1 });
    existingDeployment('ir-dev-run-0-student', 'Active', { envName: 'dev' }); // same model, same environment
    existingDeployment('ir-dev-run-1-student-old', 'Active', { envName: 'dev', modelArn: `${MODEL_ARN}-other` });
    const own = existingDeployment('ir-dev-run-1-student', 'Creating', { envName: 'dev', runId: RUN });

    const retried = await deployStudent({ runId: RUN, modelArn: MODEL_ARN });

    expect(retried).toEqual({
      deploymentArn: own,
      deploymentName: 'ir-dev-run-1-student',
      modelArn: MODEL_ARN,
      reused: true,
    });
    expect(creates()).toHaveLength(0);
    // Two pages of one (the own deployment is on the second). The SDK paginator reuses one input object across
    // pages, so the recorded inputs all show the last token: count the calls rather than compare their tokens.
    const listed = bedrock.mock.commandCalls(ListCustomModelDeploymentsCommand).map((c) => c.args[0].input);
    expect(listed).toHaveLength(2);
    expect(listed.map((input) => input.nameContains)).toEqual(['ir-dev-run-1-student', 'ir-dev-run-1-student']);
  });

  it.each([
    ['Failed', {}, /"ir-dev-run-1-student" \(.*\) is Failed: delete it .*or start the run under a new run id/],
    [
      'Active',
      { modelArn: `${MODEL_ARN}-other` },
      /"ir-dev-run-1-student" .* serves another model \(.*-other\), not .*: delete it .*new run id/,
    ],
  ] as const)(
    'refuses the run’s own name when that deployment is %s %p, creating nothing',
    async (status, options, message) => {
      existingDeployment('ir-dev-run-1-student', status, { envName: 'dev', runId: RUN, ...options });
      const deploy = deployStudent({ runId: RUN, modelArn: MODEL_ARN });
      await expect(deploy).rejects.toMatchObject({ name: 'DeploymentNameTaken' });
      await expect(deploy).rejects.toThrow(message);
      expect(creates()).toHaveLength(0);
    },
  );

  it('never adopts another environment’s deployment of the same model, even one whose name starts like ours', async () => {
    existingDeployment('ir-prod-run-1-student', 'Active', { envName: 'prod', runId: RUN });
    existingDeployment('ir-dev-b-run-7-student', 'Active', { envName: 'dev-b', runId: 'run-7' });
    existingDeployment('someone-elses', 'Active');
    const deployed = await deployStudent({ runId: RUN, modelArn: MODEL_ARN });
    expect(deployed).toMatchObject({ deploymentName: 'ir-dev-run-1-student', reused: false });
    expect(creates()).toHaveLength(1);
    expect(creates()[0]?.args[0].input.tags).toEqual(resourceTags('dev', RUN));
  });

  it('names and tags a candidate’s deployment after the run and the candidate', async () => {
    const deployed = await deployStudent({ runId: RUN, modelArn: MODEL_ARN, candidate: 'ft-micro' });
    expect(deployed).toMatchObject({ deploymentName: 'ir-dev-run-1_ft-micro-student', reused: false });
    expect(creates()[0]?.args[0].input).toMatchObject({
      modelDeploymentName: 'ir-dev-run-1_ft-micro-student',
      clientRequestToken: 'ir-dev-run-1--ft-micro-deployment',
      tags: resourceTags('dev', RUN, 'ft-micro'),
    });
    // A retry finds the candidate's own deployment; the other candidate gets its own.
    expect(await deployStudent({ runId: RUN, modelArn: MODEL_ARN, candidate: 'ft-micro' })).toMatchObject({
      deploymentArn: deployed.deploymentArn,
      reused: true,
    });
    const other = `${MODEL_ARN}-distilled`;
    expect(await deployStudent({ runId: RUN, modelArn: other, candidate: 'distill-micro' })).toMatchObject({
      deploymentName: 'ir-dev-run-1_distill-micro-student',
      reused: false,
    });
    expect(creates()).toHaveLength(2);
  });

  it('reports a Failed deployment with its message', async () => {
    setUp({ deploymentStatuses: ['Failed'] });
    const { deploymentArn } = await deployStudent({ runId: RUN, modelArn: MODEL_ARN });
    expect(await checkDeployment({ deploymentArn })).toMatchObject({
      status: 'Failed',
      failureMessage: 'Deployment failed: model not supported',
    });
  });

  it('refuses a model ARN that is not a custom model, naming reuseModelArn', async () => {
    await expect(deployStudent({ runId: RUN, modelArn: 'amazon.nova-micro-v1:0' })).rejects.toThrow(
      /modelArn: must be a custom model ARN .* reuseModelArn/,
    );
  });
});

describe('evaluate', () => {
  const EVALUATE_INPUT = {
    runId: RUN,
    bucket: BUCKET,
    testKey: `runs/${RUN}/dataset/test.jsonl`,
    deploymentArn: DEPLOYMENT_ARN,
  };

  /** Every model answers the teacher's weights, in the format of the prompt it is asked with. */
  function answerLikeTheTeacher() {
    runtime.on(ConverseCommand).callsFake(async (input: ConverseCommandInput): Promise<ConverseCommandOutput> => {
      const { system, user } = requestTexts(input);
      const found = TEST_SET.find(([q]) => q === user);
      const format = studentFormatOfPrompt(system);
      const text = found && format ? format.render(found[1]) : JSON.stringify(found?.[1] ?? {});
      return converseReply(text, { inputTokens: 60, outputTokens: 25 });
    });
  }

  it('answers with both models, writes metrics and datasets under the run, and starts one judge job per model', async () => {
    putTestSet();
    answerLikeTheTeacher();
    const result = await evaluate(EVALUATE_INPUT);

    const calls = runtime.commandCalls(ConverseCommand).map((c) => c.args[0].input);
    expect(calls.filter((c) => c.modelId === DEPLOYMENT_ARN).map((c) => requestTexts(c).system)).toEqual(
      TEST_SET.map(() => CURRENT_STUDENT_FORMAT.prompt),
    );
    expect(
      calls.filter((c) => c.modelId === TRAINING_ENV.BASELINE_MODEL_ID).map((c) => requestTexts(c).system),
    ).toEqual(TEST_SET.map(() => teacherPrompt()));
    expect(result.student).toMatchObject({
      modelId: DEPLOYMENT_ARN,
      validReplyRate: 1,
      dominantAgreement: 1,
      queries: 3,
    });
    expect(result.student.costPer1kQueriesUsd).toBeCloseTo((1000 * (60 * 0.035 + 25 * 0.14)) / 1e6, 12);
    expect(result.baseline.costPer1kQueriesUsd).toBeCloseTo((1000 * (60 * 1 + 25 * 5)) / 1e6, 12);

    const keys = evaluationKeys(RUN);
    expect(s3.puts.at(-1)?.key).toBe(keys.metrics); // last: marks the answers complete
    const dataset = (s3.get(BUCKET, keys.dataset('student')) ?? '').trim().split('\n');
    expect(dataset).toHaveLength(3);
    expect(JSON.parse(dataset[0] ?? '{}')).toMatchObject({
      prompt: 'red car driving',
      modelResponses: [{ modelIdentifier: 'distilled-student' }],
    });

    const jobs = bedrock.mock.commandCalls(CreateEvaluationJobCommand).map((c) => c.args[0].input);
    expect(jobs.map((j) => j.jobName)).toEqual(['ir-dev-run-1-eval-student', 'ir-dev-run-1-eval-baseline']);
    expect(jobs[1]).toMatchObject({
      roleArn: TRAINING_ENV.EVALUATION_ROLE_ARN,
      outputDataConfig: { s3Uri: 's3://dataset-bucket/runs/run-1/evaluation/output/' },
      inferenceConfig: { models: [{ precomputedInferenceSource: { inferenceSourceIdentifier: 'baseline-router' } }] },
      evaluationConfig: {
        automated: {
          datasetMetricConfigs: [
            {
              dataset: {
                datasetLocation: { s3Uri: 's3://dataset-bucket/runs/run-1/evaluation/datasets/baseline.jsonl' },
              },
            },
          ],
          evaluatorModelConfig: { bedrockEvaluatorModels: [{ modelIdentifier: TRAINING_ENV.JUDGE_MODEL_ID }] },
          customMetricConfig: {
            evaluatorModelConfig: { bedrockEvaluatorModels: [{ modelIdentifier: TRAINING_ENV.JUDGE_MODEL_ID }] },
          },
        },
      },
    });
    expect(result.jobs.student.jobArn).toBe(bedrock.evaluationJobs[0]?.jobArn);
    expect(result.resumed).toBe(false);
  });

  it('returns the test set’s student prompt version, stores it with each answer, and shows the judge JSON', async () => {
    putTestSet();
    answerLikeTheTeacher();
    const result = await evaluate(EVALUATE_INPUT);
    expect(result.studentPromptVersion).toBe('student-v2');
    const keys = evaluationKeys(RUN);
    const answer = JSON.parse((s3.get(BUCKET, keys.answers('student')) ?? '').split('\n')[0] ?? '{}');
    expect(answer).toMatchObject({ reply: '9 0 0 1', promptVersion: 'student-v2' });
    const judged = JSON.parse((s3.get(BUCKET, keys.dataset('student')) ?? '').split('\n')[0] ?? '{}');
    expect(judged.modelResponses[0].response).toBe('{"visual":0.9,"audio":0,"transcription":0,"metadata":0.1}');
  });

  it('asks a student-v1 test set (a reused dataset) in student-v1', async () => {
    const v1 = STUDENT_FORMATS['student-v1'];
    s3.set(
      BUCKET,
      EVALUATE_INPUT.testKey,
      TEST_SET.map(([q, w]) => JSON.stringify(toRecord(q, w, undefined, v1))).join('\n'),
    );
    answerLikeTheTeacher();
    const result = await evaluate(EVALUATE_INPUT);
    const asked = runtime.commandCalls(ConverseCommand).map((c) => c.args[0].input);
    expect(new Set(asked.filter((c) => c.modelId === DEPLOYMENT_ARN).map((c) => requestTexts(c).system))).toEqual(
      new Set([v1.prompt]),
    );
    expect(result).toMatchObject({ studentPromptVersion: 'student-v1', student: { validReplyRate: 1 } });
  });

  it('refuses a test set in another version than the Assemble result names, naming both', async () => {
    putTestSet();
    answerLikeTheTeacher();
    await expect(
      evaluate({ ...EVALUATE_INPUT, assemble: { studentPromptVersion: 'student-v1' } }),
    ).rejects.toMatchObject({
      name: 'PromptVersionMismatch',
      message:
        'runs/run-1/dataset/test.jsonl is in student prompt version student-v2, the Assemble result in student-v1: ' +
        'the run must be assembled again (a dataset holds one student prompt version)',
    });
    expect(runtime.commandCalls(ConverseCommand)).toHaveLength(0);
  });

  it('stops the run when the candidate answers in another version than its test set (a reused student-v1 model)', async () => {
    putTestSet();
    // The deployment serves a model trained on student-v1: it answers JSON whatever prompt it is sent.
    runtime.on(ConverseCommand).callsFake(async (input: ConverseCommandInput): Promise<ConverseCommandOutput> => {
      const found = TEST_SET.find(([q]) => q === requestTexts(input).user);
      return converseReply(JSON.stringify(found?.[1] ?? {}), { inputTokens: 60, outputTokens: 25 });
    });
    await expect(evaluate(EVALUATE_INPUT)).rejects.toMatchObject({
      name: 'PromptVersionMismatch',
      message: expect.stringMatching(
        /^the candidate answers in student prompt version student-v1, but was asked in student-v2 \(runs\/run-1\/dataset\/test\.jsonl\): .*reuseDatasetFromRun/,
      ),
    });
    expect(bedrock.mock.commandCalls(CreateEvaluationJobCommand)).toHaveLength(0);
  });

  it('asks the incumbent in its own version, the candidate in the run’s', async () => {
    putTestSet();
    answerLikeTheTeacher();
    const incumbentArn = 'arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/incumbent0001';
    const result = await evaluate({
      ...EVALUATE_INPUT,
      incumbent: { present: true, deploymentArn: incumbentArn, runId: 'run-0', studentPromptVersion: 'student-v1' },
    });
    const asked = runtime.commandCalls(ConverseCommand).map((c) => c.args[0].input);
    const systems = (id: string) => new Set(asked.filter((c) => c.modelId === id).map((c) => requestTexts(c).system));
    expect(systems(incumbentArn)).toEqual(new Set([STUDENT_FORMATS['student-v1'].prompt]));
    expect(systems(DEPLOYMENT_ARN)).toEqual(new Set([CURRENT_STUDENT_FORMAT.prompt]));
    expect(result.incumbent).toMatchObject({ validReplyRate: 1, dominantAgreement: 1 });
  });

  it('resumes a retried step from the stored metrics and resolves judge jobs already started', async () => {
    putTestSet();
    answerLikeTheTeacher();
    const first = await evaluate(EVALUATE_INPUT);
    runtime.reset();
    const second = await evaluate(EVALUATE_INPUT);
    expect(runtime.commandCalls(ConverseCommand)).toHaveLength(0);
    expect(second).toEqual({ ...first, resumed: true });
    expect(bedrock.evaluationJobs).toHaveLength(2);
  });

  it('turns a refused judge job (ValidationException) into a message naming the task type sent and what to change', async () => {
    putTestSet();
    answerLikeTheTeacher();
    const refusal = 'The taskType General is not valid for this evaluation';
    bedrock.mock.on(CreateEvaluationJobCommand).rejects(new ValidationException({ message: refusal, $metadata }));
    const run = evaluate(EVALUATE_INPUT);
    await expect(run).rejects.toMatchObject({ name: 'EvaluationJobRejected' });
    await expect(run).rejects.toThrow(
      new RegExp(
        `refused "ir-dev-run-1-eval-student": ${refusal} — the request sent taskType "General" \\(UNVERIFIED.*` +
          'GENERAL_TASK_TYPE.*judgeModelId',
      ),
    );
  });

  it('surfaces throttling that outlasts its retries under the SDK name, after retrying every query', async () => {
    putTestSet();
    runtime.on(ConverseCommand).rejects(throttling());
    const maxAttempts = 2;
    const run = evaluate(EVALUATE_INPUT, { maxAttempts, sleep: async () => undefined });
    await expect(run).rejects.toBeInstanceOf(RuntimeThrottlingException);
    await expect(run).rejects.toMatchObject({ name: 'ThrottlingException', $metadata: { httpStatusCode: 429 } });
    // The student is asked first, all queries in flight at once: each is tried maxAttempts times, then the step fails
    // before the baseline is asked.
    const asked = runtime.commandCalls(ConverseCommand).map((c) => c.args[0].input);
    expect(asked.map((input) => `${input.modelId} ${requestTexts(input).user}`).sort()).toEqual(
      TEST_SET.flatMap(([query]) => Array.from({ length: maxAttempts }, () => `${DEPLOYMENT_ARN} ${query}`)).sort(),
    );
  });

  it('names the s3:// key of a missing test set and the step that writes it', async () => {
    await expect(evaluate(EVALUATE_INPUT)).rejects.toMatchObject({
      name: 'RunObjectMissing',
      message: expect.stringMatching(
        /^s3:\/\/dataset-bucket\/runs\/run-1\/dataset\/test\.jsonl does not exist; the Assemble .* step writes it$/,
      ),
    });
    expect(runtime.commandCalls(ConverseCommand)).toHaveLength(0);
  });

  it('refuses bad input with InvalidInput, naming the field', async () => {
    await expect(evaluate({ ...EVALUATE_INPUT, deploymentArn: '' })).rejects.toMatchObject({
      name: 'InvalidInput',
      message: expect.stringMatching(/^Evaluate: invalid input from the state machine: deploymentArn/),
    });
  });
});

describe('check-evaluation', () => {
  async function startJobs(options: FakeBedrockOptions) {
    setUp(options);
    putTestSet();
    runtime
      .on(ConverseCommand)
      .callsFake(async (input: ConverseCommandInput) =>
        converseReply(
          studentFormatOfPrompt(requestTexts(input).system)
            ? '10 0 0 0'
            : '{"visual":1,"audio":0,"transcription":0,"metadata":0}',
        ),
      );
    return (
      await evaluate({
        runId: RUN,
        bucket: BUCKET,
        testKey: `runs/${RUN}/dataset/test.jsonl`,
        deploymentArn: DEPLOYMENT_ARN,
      })
    ).jobs;
  }

  it('reports InProgress, then reads the judge scores from the listed output files once both completed', async () => {
    const jobs = await startJobs({ judgeResults: { student: [1, 0.75, 0.5], baseline: [0.75, 0.75] } });
    const input = { runId: RUN, bucket: BUCKET, jobs };
    expect(await checkEvaluation(input)).toEqual({
      status: 'InProgress',
      failureMessage: '',
      jobStatus: { student: 'InProgress', baseline: 'InProgress' },
    });
    const done = await checkEvaluation(input);
    expect(done.status).toBe('Completed');
    expect(done.judge).toEqual({
      student: { mean: 4, scored: 3, unscored: 0, reportedScale: 'normalised', histogram: [0, 0, 1, 1, 1] },
      baseline: { mean: 4, scored: 2, unscored: 0, reportedScale: 'normalised', histogram: [0, 0, 0, 2, 0] },
    });
  });

  it('fails with the jobs’ failure messages', async () => {
    const jobs = await startJobs({ evaluationStatuses: ['Failed'] });
    const result = await checkEvaluation({ runId: RUN, bucket: BUCKET, jobs });
    expect(result.status).toBe('Failed');
    expect(result.failureMessage).toContain(
      'student job ir-dev-run-1-eval-student Failed: The judge model is not available',
    );
    // Both ended: nothing left to stop.
    expect(bedrock.mock.commandCalls(StopEvaluationJobCommand)).toHaveLength(0);
  });

  it('stops the other judge job when one failed while it still runs, then fails as before', async () => {
    const jobs = await startJobs({ evaluationStatusesByModel: { student: ['Failed'], baseline: ['InProgress'] } });
    const result = await checkEvaluation({ runId: RUN, bucket: BUCKET, jobs });
    expect(result).toMatchObject({
      status: 'Failed',
      failureMessage: expect.stringContaining('student job ir-dev-run-1-eval-student Failed'),
      jobStatus: { student: 'Failed', baseline: 'InProgress' },
      stopped: ['baseline'],
    });
    expect(bedrock.mock.commandCalls(StopEvaluationJobCommand).map((c) => c.args[0].input)).toEqual([
      { jobIdentifier: jobs.baseline.jobArn },
    ]);
  });

  it('still fails with the judge’s cause when stopping the other job fails, and logs that', async () => {
    const warn = jest.spyOn(logger, 'warn');
    try {
      const jobs = await startJobs({
        evaluationStatusesByModel: { student: ['InProgress'], baseline: ['Stopped'] },
        stopEvaluationError: new ConflictException({ message: 'job is not in a stoppable state', $metadata }),
      });
      const result = await checkEvaluation({ runId: RUN, bucket: BUCKET, jobs });
      expect(result).toMatchObject({
        status: 'Failed',
        failureMessage: expect.stringContaining('baseline job ir-dev-run-1-eval-baseline Stopped'),
        stopped: [],
      });
      expect(bedrock.mock.commandCalls(StopEvaluationJobCommand)).toHaveLength(1);
      expect(warn).toHaveBeenCalledWith(
        'could not stop the judge job that was still running',
        expect.objectContaining({ model: 'student', jobArn: jobs.student.jobArn }),
      );
    } finally {
      warn.mockRestore();
    }
  });
});

const judge = (mean: number): JudgeScore => ({ mean, scored: 3, unscored: 0, reportedScale: 'normalised' });
const STUDENT_METRICS = {
  modelId: DEPLOYMENT_ARN,
  queries: 3,
  validReplies: 3,
  validReplyRate: 1,
  dominantAgreement: 0.9,
  meanAbsoluteError: { visual: 0, audio: 0, transcription: 0, metadata: 0 },
  meanAbsoluteErrorOverall: 0,
  latencyMs: { p50: 800, p95: 900, mean: 833 },
  meanInputTokens: 60,
  meanOutputTokens: 25,
  costPer1kQueriesUsd: 0.0056,
};

describe('gate', () => {
  const BASELINE_METRICS = {
    ...STUDENT_METRICS,
    modelId: TRAINING_ENV.BASELINE_MODEL_ID,
    latencyMs: { p50: 1, p95: 2, mean: 1741 },
  };
  const NO_INCUMBENT = { present: false, reason: 'nothing is promoted yet' } as const;
  const INCUMBENT = {
    present: true,
    runId: 'run-0',
    deploymentArn: 'arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/incumbent0001',
  } as const;
  const gateEvent = (studentScore: number, extra: Record<string, unknown> = {}) => ({
    evaluation: { student: STUDENT_METRICS, baseline: BASELINE_METRICS },
    judge: { student: judge(studentScore), baseline: judge(4.2) },
    incumbent: NO_INCUMBENT,
    ...extra,
  });

  it('applies the configured thresholds', async () => {
    const passed = await gate(gateEvent(4.1));
    expect(passed.passed).toBe(true);
    expect(passed.checks.map((c) => c.name)).not.toContain('maxJudgeDropToIncumbent');
    expect(passed.comparison).toEqual({
      models: [
        expect.objectContaining({ role: 'candidate', modelId: DEPLOYMENT_ARN, judgeScore: 4.1 }),
        expect.objectContaining({ role: 'baseline', judgeScore: 4.2, latencyMeanMs: 1741 }),
      ],
      incumbentNote: 'nothing is promoted yet',
      heldOut: { synthetic: 3, production: 0 },
    });
    const rejected = await gate(gateEvent(3.9));
    expect(rejected.failed).toEqual(['minJudgeScore', 'maxJudgeGapToBaseline']);
  });

  it('gates against the incumbent on the same held-out sets: a margin below it passes, more fails', async () => {
    const incumbentMetrics = { ...STUDENT_METRICS, modelId: INCUMBENT.deploymentArn, dominantAgreement: 0.92 };
    const against = (studentScore: number, incumbentScore: number, incumbentAgreement: number) =>
      gate(
        gateEvent(studentScore, {
          evaluation: {
            student: STUDENT_METRICS,
            baseline: BASELINE_METRICS,
            incumbent: { ...incumbentMetrics, dominantAgreement: incumbentAgreement },
          },
          judge: { student: judge(studentScore), baseline: judge(4.2), incumbent: judge(incumbentScore) },
          incumbent: INCUMBENT,
        }),
      );
    // 0.05 below on the judge, 0.02 below on agreement: within the margins (0.1, 0.03).
    const within = await against(4.15, 4.2, 0.92);
    expect(within.passed).toBe(true);
    expect(within.checks.find((c) => c.name === 'maxJudgeDropToIncumbent')).toMatchObject({
      value: 0.05,
      threshold: 0.1,
      comparison: '<=',
      passed: true,
    });
    expect(within.comparison?.models.map((m) => m.role)).toEqual(['candidate', 'incumbent', 'baseline']);
    expect(within.comparison?.models[1]).toMatchObject({ runId: 'run-0', judgeScore: 4.2, dominantAgreement: 0.92 });

    // Above every baseline threshold, but 0.3 judge points and 0.06 agreement below the incumbent.
    const worse = await against(4.1, 4.4, 0.96);
    expect(worse.passed).toBe(false);
    expect(worse.failed).toEqual(['maxJudgeDropToIncumbent', 'maxAgreementDropToIncumbent']);
    expect(worse.summary).toBe(
      'rejected: maxJudgeDropToIncumbent (0.3 > 0.1), maxAgreementDropToIncumbent (0.06 > 0.03)',
    );
  });

  it('refuses an incumbent Preflight found but Evaluate did not measure', async () => {
    await expect(gate(gateEvent(4.1, { incumbent: INCUMBENT }))).rejects.toThrow(
      /the incumbent \(run run-0\) has no metrics/,
    );
  });

  it.each([
    [undefined, /MIN_JUDGE_SCORE: must be set/],
    ['four', /MIN_JUDGE_SCORE: .*expected number/],
  ])('names a bad threshold variable (%p) and who sets it', async (value, message) => {
    const input = gateEvent(4.1);
    try {
      if (value === undefined) delete process.env.MIN_JUDGE_SCORE;
      else process.env.MIN_JUDGE_SCORE = value;
      const failure = gate(input);
      await expect(failure).rejects.toMatchObject({ name: 'ConfigurationError' });
      await expect(failure).rejects.toThrow(message);
      await expect(failure).rejects.toThrow(/set by the pipeline stack .*redeploy the pipeline stack/);
    } finally {
      process.env.MIN_JUDGE_SCORE = TRAINING_ENV.MIN_JUDGE_SCORE;
    }
  });
});

describe('promote', () => {
  const input = {
    runId: RUN,
    deploymentArn: DEPLOYMENT_ARN,
    modelArn: MODEL_ARN,
    student: STUDENT_METRICS,
    judge: { student: judge(4.1), baseline: judge(4.0) },
    studentPromptVersion: 'student-v2',
  };

  it('refuses a prompt version the router would not know, naming it', async () => {
    ssm.on(GetParameterCommand).resolves({ $metadata, Parameter: { Name: 'p', Value: 'none', Version: 1 } });
    await expect(promote({ ...input, studentPromptVersion: 'student-v9' })).rejects.toThrow(
      /student prompt version "student-v9" is unknown to this release \(it knows student-v1, student-v2, student-v3, teacher-v1\)/,
    );
    expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(0);
  });

  it('records student-v1 for an execution started before formats had versions (no studentPromptVersion given)', async () => {
    ssm.on(GetParameterCommand).resolves({ $metadata, Parameter: { Name: 'p', Value: 'none', Version: 1 } });
    ssm.on(PutParameterCommand).resolves({ $metadata, Version: 2, Tier: 'Standard' });
    const { studentPromptVersion: _given, ...older } = input;
    await promote(older);
    const read = readActiveModel(ssm.commandCalls(PutParameterCommand)[0]?.args[0].input.Value);
    expect(read.state === 'promoted' && read.model.studentPromptVersion).toBe('student-v1');
  });

  it('overwrites the parameter with the active-model JSON the router reads', async () => {
    ssm.on(GetParameterCommand).resolves({ $metadata, Parameter: { Name: 'p', Value: 'none', Version: 1 } });
    ssm.on(PutParameterCommand).resolves({ $metadata, Version: 2, Tier: 'Standard' });
    expect(await promote(input)).toEqual({
      promoted: true,
      parameterName: '/intent-router/dev/active-model',
      version: 2,
    });
    const put = ssm.commandCalls(PutParameterCommand)[0]?.args[0].input;
    expect(put).toMatchObject({ Name: '/intent-router/dev/active-model', Overwrite: true, Type: 'String' });
    const read = readActiveModel(put?.Value);
    expect(read.state).toBe('promoted');
    if (read.state === 'promoted') {
      expect(read.model).toMatchObject({
        deploymentArn: DEPLOYMENT_ARN,
        modelArn: MODEL_ARN,
        runId: RUN,
        studentPromptVersion: 'student-v2',
        metrics: { judgeScore: 4.1, baselineJudgeScore: 4, dominantAgreement: 0.9, latencyMeanMs: 833 },
      });
    }
  });

  it('writes nothing when a retry finds the parameter already naming this run’s deployment', async () => {
    const current = JSON.stringify({
      deploymentArn: DEPLOYMENT_ARN,
      modelArn: MODEL_ARN,
      runId: RUN,
      promotedAt: '2026-11-25T10:00:00.000Z',
      studentPromptVersion: 'student-v1',
      metrics: {},
    });
    ssm.on(GetParameterCommand).resolves({ $metadata, Parameter: { Name: 'p', Value: current, Version: 7 } });
    expect(await promote(input)).toEqual({
      promoted: true,
      parameterName: '/intent-router/dev/active-model',
      version: 7,
    });
    expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(0);
  });

  it('creates the parameter when it does not exist yet', async () => {
    ssm.on(GetParameterCommand).rejects(new ParameterNotFound({ message: 'not found', $metadata }));
    ssm.on(PutParameterCommand).resolves({ $metadata, Version: 1 });
    expect((await promote(input)).version).toBe(1);
  });
});

describe('report', () => {
  const reportInput = (promoted: boolean) => ({
    runId: RUN,
    bucket: BUCKET,
    assemble: {
      runId: RUN,
      bucket: BUCKET,
      trainKey: `runs/${RUN}/dataset/train.jsonl`,
      testKey: `runs/${RUN}/dataset/test.jsonl`,
      manifestKey: `runs/${RUN}/dataset/manifest.json`,
      trainCount: 9000,
      testCount: 3,
    },
    distillation: {
      status: 'Completed',
      jobArn: 'arn:job',
      outputModelArn: MODEL_ARN,
      failureMessage: '',
      statusDetails: {},
    },
    deployment: { deploymentArn: DEPLOYMENT_ARN, deploymentName: 'd', modelArn: MODEL_ARN, reused: false },
    evaluation: {
      student: STUDENT_METRICS,
      baseline: { ...STUDENT_METRICS, modelId: 'baseline', costPer1kQueriesUsd: 0.2 },
    },
    judge: { student: judge(promoted ? 4.1 : 3.2), baseline: judge(4.0) },
    gate: {
      passed: promoted,
      checks: [],
      failed: promoted ? [] : ['minJudgeScore'],
      summary: promoted ? 'passed' : 'rejected: minJudgeScore (3.2 < 4)',
    },
    promotion: promoted
      ? { promoted: true, parameterName: '/intent-router/dev/active-model', version: 2 }
      : { promoted: false, reason: 'x' },
  });

  it('writes report.json and report.md once, with the manifest figures, and notifies', async () => {
    s3.set(BUCKET, `runs/${RUN}/dataset/manifest.json`, JSON.stringify({ mixedShare: 0.1 }));
    sns.on(PublishCommand).resolves({ $metadata, MessageId: 'm-1' });
    const result = await report(reportInput(false));
    expect(result).toEqual({
      outcome: 'REJECTED',
      reportJsonKey: 'runs/run-1/report.json',
      reportMarkdownKey: 'runs/run-1/report.md',
      notified: true,
    });
    // Written once each, conditionally: a retried step cannot overwrite the report of this run.
    expect(s3.puts).toEqual([
      { bucket: BUCKET, key: 'runs/run-1/report.json', ifNoneMatch: '*' },
      { bucket: BUCKET, key: 'runs/run-1/report.md', ifNoneMatch: '*' },
      { bucket: BUCKET, key: 'runs/run-1/report.html', ifNoneMatch: '*' },
    ]);
    expect(JSON.parse(s3.get(BUCKET, 'runs/run-1/report.json') ?? '{}')).toMatchObject({
      outcome: 'REJECTED',
      dataset: { trainCount: 9000, manifest: { mixedShare: 0.1 } },
    });
    expect(s3.get(BUCKET, 'runs/run-1/report.md')).toContain('rejected: minJudgeScore (3.2 < 4)');
    const published = sns.commandCalls(PublishCommand)[0]?.args[0].input;
    expect(published).toMatchObject({ TopicArn: TRAINING_ENV.TOPIC_ARN, Subject: 'Intent router run run-1: REJECTED' });
  });

  it('keeps the first report when a retry finds it written', async () => {
    sns.on(PublishCommand).resolves({ $metadata, MessageId: 'm-1' });
    await report(reportInput(true));
    const firstJson = s3.get(BUCKET, 'runs/run-1/report.json');
    const again = await report({ ...reportInput(true), judge: { student: judge(5), baseline: judge(4) } });
    expect(again.outcome).toBe('PROMOTED');
    expect(s3.get(BUCKET, 'runs/run-1/report.json')).toBe(firstJson);
    expect(sns.commandCalls(PublishCommand)).toHaveLength(2);
  });
});

describe('reuse-dataset', () => {
  it('points the run at an earlier run’s train and test files', async () => {
    const lines = (queries: string[]) =>
      queries
        .map((q) => JSON.stringify(toRecord(q, { visual: 0.9, audio: 0, transcription: 0, metadata: 0.1 })))
        .join('\n') + '\n';
    s3.set(BUCKET, 'runs/run-0/dataset/train.jsonl', lines(['a red car', 'a blue boat', 'a green tree']));
    s3.set(BUCKET, 'runs/run-0/dataset/test.jsonl', lines(['a yellow bus']));
    expect(await reuseDataset({ runId: RUN, reuseDatasetFromRun: 'run-0' })).toEqual({
      runId: RUN,
      bucket: BUCKET,
      trainKey: 'runs/run-0/dataset/train.jsonl',
      trainKeys: { 'student-v2': 'runs/run-0/dataset/train.jsonl' },
      testKey: 'runs/run-0/dataset/test.jsonl',
      manifestKey: 'runs/run-0/dataset/manifest.json',
      trainCount: 3,
      testCount: 1,
      reusedFromRun: 'run-0',
      liveQueryKeys: [],
      reuseRecordKey: 'runs/run-1/dataset/reuse.json',
      studentPromptVersion: 'student-v2',
    });
  });

  it('says which run and file are missing', async () => {
    await expect(reuseDataset({ runId: RUN, reuseDatasetFromRun: 'run-9' })).rejects.toThrow(
      /reuseDatasetFromRun "run-9": s3:\/\/dataset-bucket\/runs\/run-9\/dataset\/train.jsonl does not exist/,
    );
    await expect(reuseDataset({ runId: RUN, reuseDatasetFromRun: 'Bad Run' })).rejects.toThrow(/reuseDatasetFromRun/);
  });
});
