import {
  BedrockClient,
  GetFoundationModelCommand,
  type GetFoundationModelCommandInput,
  type GetFoundationModelCommandOutput,
} from '@aws-sdk/client-bedrock';
import { BedrockRuntimeClient, ConverseCommand, type ConverseCommandInput } from '@aws-sdk/client-bedrock-runtime';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetParameterCommand, ParameterNotFound, SSMClient } from '@aws-sdk/client-ssm';
import { Stack, type CfnElement } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { mockClient } from 'aws-sdk-client-mock';
import type { Function } from '../../lib/constructs/function';
import { G as S } from './states';
import { T } from './states';
import { logger, metrics } from '../../lambda/core/runtime';
import type { DatasetManifest } from '../../lambda/pipeline/generation/dataset-manifest';
import { calibrationKey } from '../../lambda/pipeline/generation/calibration';
import { validateDataset } from '../../lambda/core/dataset-validator';
import { MODALITIES } from '../../lambda/core/modality';
import { runKeys } from '../../lambda/core/runs';
import { nagFindings, synth } from '../helpers/app';
import { InMemoryS3 } from '../helpers/aws-mocks';
import {
  allStates,
  lambdaEnvironment,
  runLocally,
  stateMachineDefinition,
  validateDefinition,
} from '../helpers/local-sfn';
import { faultsAtRate, SimulatedTeacher } from '../helpers/simulated-teacher';
import { buildGenerationStack } from './generation-fixture';
import { pipelineTasks } from './pipeline-tasks';
import { C } from './states';

/** The default canary (canaryMaxMinutes 180 + one 5-min check) runs on top of pipelineTimeoutHours. */
const CANARY_SECONDS = (180 + 5) * 60;

/**
 * The generation twice over: the Preflight and generation stages mounted on their own in the pipeline's state machine
 * (chain, IAM, S3 prefixes, local runs from Preflight to "Dataset ready"), and the real pipeline stack that chains
 * them to the later stages.
 */

const SMALL = { exampleCount: 100, testExampleCount: 50, queriesPerShard: 10 };

describe('Preflight and generation on their own (synthesized)', () => {
  const built = buildGenerationStack(SMALL);
  const { template, stack } = built;
  const definition = stateMachineDefinition(template);
  const states = allStates(definition);

  it('is named after the environment, traced, logged at ALL to its own log group, bounded by pipelineTimeoutHours', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineName: 'IntentRouter-dev-Pipeline',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: Match.objectLike({ Level: 'ALL', IncludeExecutionData: true }),
    });
    expect(definition.TimeoutSeconds).toBe(24 * 3600 + CANARY_SECONDS);
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  it('chains Preflight → Plan → Calibrate labelling → Generate → Assemble → Dataset ready, the run id taken from the execution name', () => {
    expect(definition.StartAt).toBe(S.preflight);
    expect(states[S.preflight]).toMatchObject({ Next: S.plan, Parameters: { 'runId.$': '$$.Execution.Name' } });
    expect(states[S.plan]).toMatchObject({ Next: S.calibrate, ResultPath: '$.plan' });
    expect(states[S.calibrate]).toMatchObject({ Next: S.generate, ResultPath: '$.calibration' });
    expect(states[S.generate]).toMatchObject({ Next: S.assemble });
    expect(states[S.assemble]).toMatchObject({ Next: S.done, ResultPath: '$.assemble' });
    expect(states[S.done]).toEqual({ Type: 'Succeed' });
    // Without the `reuse` branch there is nothing to choose: generation always runs.
    expect(states[S.reuseDataset]).toBeUndefined();
  });

  it('hands Preflight the execution input, and Plan and Assemble the counts Preflight checked', () => {
    expect(states[S.preflight]).toMatchObject({ Parameters: { 'input.$': '$' } });
    // The execution's identity, for the run's owner record (runs/<runId>/owner.json).
    expect(states[S.preflight]).toMatchObject({
      Parameters: { 'executionId.$': '$$.Execution.Id', 'startTime.$': '$$.Execution.StartTime' },
    });
    const counts = {
      'runId.$': '$.preflight.runId',
      'exampleCount.$': '$.preflight.exampleCount',
      'testExampleCount.$': '$.preflight.testExampleCount',
    };
    expect(states[S.plan]).toMatchObject({ Parameters: counts });
    expect(states[S.assemble]).toMatchObject({ Parameters: counts });
  });

  it('calibrates labelling before any shard spends: the plan’s run and shard count in, $.calibration out, retried by name', () => {
    expect(states[S.calibrate]).toMatchObject({
      Type: 'Task',
      Parameters: { 'runId.$': '$.plan.runId', 'shardCount.$': '$.plan.shardCount' },
    });
    const retried = (states[S.calibrate]?.Retry as { ErrorEquals: string[]; BackoffRate: number }[]).flatMap(
      (r) => r.ErrorEquals,
    );
    expect(retried).toEqual(
      expect.arrayContaining(['Lambda.TooManyRequestsException', 'ThrottlingException', 'ModelTimeoutException']),
    );
    expect(retried).not.toContain('States.ALL');
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('Calibrates how many queries'),
      Timeout: 900,
      Environment: {
        Variables: Match.objectLike({
          LABEL_BATCH_SIZE: 'auto',
          CALIBRATION_MIN_AGREEMENT: '0.95',
          CALIBRATION_MAX_WEIGHT_ERROR: '0.03',
          LABEL_CONCURRENCY: '8',
        }),
      },
    });
    const fixed = buildGenerationStack({ ...SMALL, labelBatchSize: '10', calibrationMinAgreement: 0.9 });
    fixed.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({ LABEL_BATCH_SIZE: '10', CALIBRATION_MIN_AGREEMENT: '0.9' }),
      },
    });
  });

  it('generates with a Distributed Map over the planned shards, bounded by the configuration', () => {
    expect(states[S.generate]).toMatchObject({
      Type: 'Map',
      ItemsPath: '$.plan.shards',
      ItemSelector: {
        'runId.$': '$.plan.runId',
        'shard.$': '$$.Map.Item.Value',
        'labelBatchSize.$': '$.calibration.labelBatchSize',
      },
      MaxConcurrency: 10,
      ToleratedFailurePercentage: 10,
      ResultPath: null,
      ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' } },
    });
    expect(states[S.generate]?.['ItemReader']).toBeUndefined();
    const custom = buildGenerationStack({ ...SMALL, generationConcurrency: 25, maxShardFailurePercent: 5 });
    expect(allStates(stateMachineDefinition(custom.template))[S.generate]).toMatchObject({
      MaxConcurrency: 25,
      ToleratedFailurePercentage: 5,
    });
  });

  it('retries the shard task on named Lambda and Bedrock transient errors, and lets its failures count in the Map', () => {
    const shard = states[S.generateShard];
    const retried = (shard?.Retry as { ErrorEquals: string[] }[]).flatMap((r) => r.ErrorEquals);
    expect(retried).toEqual(
      expect.arrayContaining(['Lambda.TooManyRequestsException', 'ThrottlingException', 'ServiceUnavailableException']),
    );
    expect(retried).not.toContain('States.ALL');
    expect(shard?.['Catch']).toBeUndefined();
  });

  it('routes every failure of a step to notify → Fail', () => {
    for (const step of [S.preflight, S.plan, S.calibrate, S.generate, S.assemble]) {
      const catches = states[step]?.['Catch'] as { ErrorEquals: string[]; Next: string }[];
      expect(catches).toEqual([expect.objectContaining({ ErrorEquals: ['States.ALL'], Next: `${step} failed` })]);
      expect(states[`${step} failed`]).toMatchObject({ Type: 'Pass', Next: 'Notify failure' });
    }
    expect(states['Notify failure']).toMatchObject({ Resource: 'arn:aws:states:::sns:publish', Next: 'Run failed' });
    expect(states['Run failed']).toMatchObject({ Type: 'Fail', CausePath: '$.failure.cause' });
  });

  it('is valid Amazon States Language', () => {
    expect(validateDefinition(definition)).toEqual({ isValid: true, errors: '' });
  });

  it('passes the configuration to the functions as environment variables', () => {
    const env = lambdaEnvironment(template);
    expect(env).toMatchObject({
      TEACHER_MODEL_ID: 'us.amazon.nova-pro-v1:0',
      STUDENT_MODEL_ID: 'amazon.nova-micro-v1:0:128k',
      EXAMPLE_COUNT: '100',
      TEST_EXAMPLE_COUNT: '50',
      QUERIES_PER_SHARD: '10',
      LABEL_CONCURRENCY: '8',
      MIN_GENERATION_SUCCESS_RATE: '0.9',
      INCLUDE_REASONING: 'false',
    });
    expect(JSON.parse(env.PRICE_TABLE ?? '{}')).toHaveProperty(['amazon.nova-pro-v1:0']);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('one shard'),
      Timeout: 900,
    });
    // Preflight refuses a run size the plan cannot balance, so it needs the plan's settings too.
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('claims the run id'),
      Environment: { Variables: Match.objectLike({ QUERIES_PER_SHARD: '10', GENERATION_SURPLUS: '0.35' }) },
    });
  });

  it('lets the generation and calibration functions invoke only the teacher profile and its foundation models in the profile regions', () => {
    const { generateShard, calibrate } = built.pipeline.functions;
    expectTeacherOnly(policyStatements(template, 'bedrock:InvokeModel', [generateShard]));
    expectTeacherOnly(policyStatements(template, 'bedrock:InvokeModel', [calibrate]));
    expect(policyStatements(template, 'bedrock:InvokeModel')).toHaveLength(2);
    expectPreflightModels(policyStatements(template, 'bedrock:GetFoundationModel'));
  });

  it('limits S3 object access to the run prefixes, with no wildcard action anywhere', () => {
    expectRunPrefixesOnly(template);
    expect(wildcardActions(template)).toEqual([]);
  });

  it('lets Preflight read and write only the runs’ owner records, list only under runs/, use the key only via S3', () => {
    const { preflight } = built.pipeline.functions;
    const objects = policyStatements(template, 's3:GetObject', [preflight]);
    expect(objects).toEqual(policyStatements(template, 's3:PutObject', [preflight]));
    expect(objects).toHaveLength(1);
    expect([objects[0]?.Action].flat().sort()).toEqual(['s3:GetObject', 's3:PutObject']);
    expect(JSON.stringify(objects[0]?.Resource)).toMatch(/"\/runs\/\*\/owner\.json"\]\]\}$/);
    expect(policyStatements(template, 's3:ListBucket', [preflight])).toEqual([
      expect.objectContaining({ Condition: { StringLike: { 's3:prefix': ['runs/*'] } } }),
    ]);
    expect(policyStatements(template, 'kms:GenerateDataKey', [preflight])).toEqual([
      expect.objectContaining({ Condition: { StringEquals: { 'kms:ViaService': expect.stringMatching(/^s3\./) } } }),
    ]);
  });

  it('leaves no unacknowledged cdk-nag finding', () => {
    expect(nagFindings(stack)).toEqual([]);
  });
});

describe('the generation stage, chained', () => {
  it('hands what follows it the run after Assemble, through the same failure path', () => {
    const { pipeline, template } = buildGenerationStack(SMALL, { next: (scope) => new sfn.Pass(scope, 'Next stage') });
    const states = allStates(stateMachineDefinition(template));
    expect(states[S.assemble]).toMatchObject({ Next: 'Next stage' });
    expect(states[S.done]).toBeUndefined();
    // The stages are given the failure path: their steps are caught into its one notification.
    expect(states[`${S.assemble} failed`]).toMatchObject({ Type: 'Pass', Next: 'Notify failure' });
    expect(Object.keys(pipeline.functions)).toEqual(['preflight', 'plan', 'calibrate', 'generateShard', 'assemble']);
  });

  it('with `reuse`, chooses after Preflight between Reuse dataset and generation on $.reuseDatasetFromRun', () => {
    const { template, pipeline } = buildGenerationStack(SMALL, { reuse: true });
    const states = allStates(stateMachineDefinition(template));
    expect(states[S.preflight]).toMatchObject({ Next: S.reuseDataset });
    expect(states[S.reuseDataset]).toEqual({
      Type: 'Choice',
      Choices: [{ Variable: '$.reuseDatasetFromRun', IsPresent: true, Next: T.reuseDataset }],
      Default: S.plan,
    });
    // Both ways end the stage: what follows gets `$.assemble` from Assemble or from Reuse dataset.
    expect(states[T.reuseDataset]).toMatchObject({ Next: S.done, ResultPath: '$.assemble' });
    expect(states[S.assemble]).toMatchObject({ Next: S.done });
    expect(Object.keys(pipeline.functions)).toContain('reuseDataset');
  });
});

describe('the pipeline stack: generation wired to the training stages (synthesized)', () => {
  const { templates, stacks, config } = synth(SMALL);
  const template = templates.pipeline;
  const definition = stateMachineDefinition(template);
  const states = allStates(definition);
  /** The states at the top level of the definition (not inside a Map). */
  const top = Object.fromEntries(Object.keys(definition.States).map((name) => [name, states[name]]));
  /** One candidate's iteration of the Candidates map: its item processor and its states. */
  const iteration = top[T.candidates]?.['ItemProcessor'] as { StartAt: string; States: Record<string, unknown> };
  const inner = allStates(iteration);
  const { preflight, generation } = stacks.pipeline.pipeline.stages;
  const { plan, calibrate, generateShard, assemble } = generation.functions;
  const generationFunctions = [preflight.functions.preflight, plan, calibrate, generateShard, assemble];

  it('runs Preflight, then "Reuse a dataset?" (Choice on $.reuseDatasetFromRun), otherwise Plan → Calibrate labelling → Generate → Assemble', () => {
    expect(definition.StartAt).toBe(S.preflight);
    expect(states[S.preflight]).toMatchObject({
      Next: S.reuseDataset,
      Parameters: { 'runId.$': '$$.Execution.Name' },
    });
    expect(states[S.reuseDataset]).toEqual({
      Type: 'Choice',
      Choices: [{ Variable: '$.reuseDatasetFromRun', IsPresent: true, Next: T.reuseDataset }],
      Default: S.plan,
    });
    expect(states[S.plan]).toMatchObject({ Next: S.calibrate, ResultPath: '$.plan' });
    expect(states[S.calibrate]).toMatchObject({ Next: S.generate, ResultPath: '$.calibration' });
    expect(states[S.generate]).toMatchObject({ Next: S.assemble });
    // A reused dataset is neither calibrated nor generated: only the generation branch reaches Calibrate labelling.
    expect(Object.entries(states).filter(([, st]) => st['Next'] === S.calibrate)).toEqual([
      [S.plan, expect.anything()],
    ]);
  });

  it('continues after Assemble, and after the reuse step, into the Candidates map, then selects, promotes or skips, and reports', () => {
    expect(states[S.assemble]).toMatchObject({ Next: T.candidates, ResultPath: '$.assemble' });
    expect(states[T.reuseDataset]).toMatchObject({ Type: 'Task', Next: T.candidates, ResultPath: '$.assemble' });
    // One iteration per candidate Preflight resolved, a few at a time, each given the dataset and the preflight.
    expect(top[T.candidates]).toMatchObject({
      Type: 'Map',
      ItemsPath: '$.preflight.candidates',
      ItemSelector: { 'candidate.$': '$$.Map.Item.Value', 'assemble.$': '$.assemble', 'preflight.$': '$.preflight' },
      MaxConcurrency: config.candidateConcurrency,
      ResultPath: '$.candidates',
      Next: T.selectCandidate,
    });
    expect(config.candidateConcurrency).toBeGreaterThanOrEqual(1);
    // Each iteration: a given model or training, then deployment, evaluation and the gate, ending at its outcome.
    expect(iteration.StartAt).toBe(T.reuseModelChoice);
    expect(inner[T.reuseModelChoice]).toMatchObject({ Type: 'Choice', Default: T.startTraining });
    expect(inner[T.gate]).toMatchObject({ Type: 'Task', Next: T.outcome });
    expect(inner[T.outcome]).toMatchObject({ Type: 'Pass', End: true });
    // Then the selection among the outcomes, the runners-up's deployments deleted, and the winner's rollout or none.
    expect(top[T.selectCandidate]).toMatchObject({ Type: 'Task', Next: T.deleteRunnersUp, ResultPath: '$.selection' });
    expect(top[T.deleteRunnersUp]).toMatchObject({ Type: 'Task', Next: T.gateChoice, ResultPath: '$.runnersUp' });
    expect(top[T.gateChoice]).toEqual({
      Type: 'Choice',
      Choices: [
        { Variable: '$.selection.noCandidateLeft', BooleanEquals: true, Next: T.noCandidateLeft },
        { Variable: '$.selection.promote', BooleanEquals: true, Next: C.startCanary },
      ],
      Default: T.skipPromotion,
    });
    expect(top[T.noCandidateLeft]).toMatchObject({
      Type: 'Pass',
      Parameters: { step: T.selectCandidate, error: 'NoCandidateLeft', 'cause.$': '$.selection.reason' },
      Next: 'Notify failure',
    });
    expect(top[T.skipPromotion]).toMatchObject({ Type: 'Pass', ResultPath: '$.promotion', Next: T.report });
    expect(states[T.report]).toMatchObject({ Type: 'Task', End: true });
    // The generation stage's own end is replaced by the training stages.
    expect(states[S.done]).toBeUndefined();
    expect(Object.values(states).filter((s) => s.Type === 'Succeed')).toEqual([]);
  });

  it('catches every top-level Task (and the Maps) into the one notify-and-fail path', () => {
    const caught = Object.entries(top).filter(([, s]) => ['Task', 'Map', 'Parallel'].includes(String(s?.Type)));
    expect(caught.map(([name]) => name).sort()).toEqual(
      [
        ...[S.preflight, S.plan, S.calibrate, S.generate, S.assemble, T.reuseDataset],
        ...[T.candidates, T.selectCandidate, T.deleteRunnersUp, T.promote, T.report],
        ...[C.startCanary, C.checkCanary, C.abandonCanary],
        'Notify failure',
      ].sort(),
    );
    for (const [name, state] of caught) {
      const catches = state?.['Catch'] as { ErrorEquals: string[]; Next: string }[] | undefined;
      if (name === 'Notify failure') {
        expect(catches).toEqual([expect.objectContaining({ ErrorEquals: ['States.ALL'], Next: 'Run failed' })]);
        continue;
      }
      // A failed canary check first takes the candidate out of live traffic, then takes the same path.
      if (name === C.checkCanary) {
        expect(catches).toEqual([expect.objectContaining({ ErrorEquals: ['States.ALL'], Next: C.abandonCanary })]);
        continue;
      }
      if (name === C.abandonCanary) {
        expect(catches).toEqual([expect.objectContaining({ ErrorEquals: ['States.ALL'], Next: C.abandonFailed })]);
        expect(state?.['Next']).toBe(C.canaryAbandoned);
        for (const pass of [C.abandonFailed, C.canaryAbandoned]) {
          expect(top[pass]).toMatchObject({ Type: 'Pass', ResultPath: '$.failure', Next: 'Notify failure' });
        }
        continue;
      }
      expect({ name, catches }).toEqual({
        name,
        catches: [expect.objectContaining({ ErrorEquals: ['States.ALL'], Next: `${name} failed` })],
      });
      expect(top[`${name} failed`]).toMatchObject({ Type: 'Pass', Next: 'Notify failure' });
    }
    // One failure path for the whole stack: one notification, one Fail state.
    const publishes = Object.values(states).filter((s) => s['Resource'] === 'arn:aws:states:::sns:publish');
    expect(publishes).toHaveLength(1);
    expect(Object.entries(states).filter(([, s]) => s.Type === 'Fail')).toEqual([
      ['Run failed', expect.objectContaining({ ErrorPath: '$.failure.error', CausePath: '$.failure.cause' })],
    ]);
  });

  it('drops a candidate whose step fails instead of failing the run: every Task and failed job of an iteration ends it with the failure recorded', () => {
    const tasksInside = Object.entries(inner).filter(([, s]) => s.Type === 'Task');
    expect(tasksInside.map(([name]) => name).sort()).toEqual(
      [
        T.startTraining,
        T.checkTraining,
        T.deployStudent,
        T.checkDeployment,
        T.evaluate,
        T.checkEvaluation,
        T.gate,
      ].sort(),
    );
    for (const [name, state] of tasksInside) {
      expect({ name, catches: state['Catch'] }).toEqual({
        name,
        catches: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.caught', Next: `${name} failed` }],
      });
      expect(inner[`${name} failed`]).toEqual({
        Type: 'Pass',
        Parameters: { step: expect.any(String), 'error.$': '$.caught.Error', 'cause.$': '$.caught.Cause' },
        ResultPath: '$.failure',
        Next: 'Candidate deployed?',
      });
    }
    // Failed jobs and deployments (Choice branches) record their step and the service's message the same way.
    for (const name of [T.trainingFailed, T.deploymentFailed, T.evaluationFailed]) {
      expect(inner[name]).toMatchObject({ Type: 'Pass', ResultPath: '$.failure', Next: 'Candidate deployed?' });
    }
    // A dropped candidate's outcome keeps its deployment when it has one, so the selection can delete it.
    expect(inner['Candidate deployed?']).toEqual({
      Type: 'Choice',
      Choices: [{ Variable: '$.deployment.deploymentArn', IsPresent: true, Next: 'Drop the deployed candidate' }],
      Default: 'Drop the candidate',
    });
    expect(inner['Drop the deployed candidate']).toEqual({
      Type: 'Pass',
      Parameters: { 'candidate.$': '$.candidate', 'failure.$': '$.failure', 'deployment.$': '$.deployment' },
      End: true,
    });
    expect(inner['Drop the candidate']).toEqual({
      Type: 'Pass',
      Parameters: { 'candidate.$': '$.candidate', 'failure.$': '$.failure' },
      End: true,
    });
    // Nothing inside an iteration notifies or fails the run: only Select candidate does, when no candidate is left.
    expect(
      Object.values(inner).filter((s) => s.Type === 'Fail' || s['Resource'] === 'arn:aws:states:::sns:publish'),
    ).toEqual([]);
  });

  it('is bounded by pipelineTimeoutHours, traced, and logged at ALL with execution data', () => {
    expect(config.pipelineTimeoutHours).toBe(24);
    expect(definition.TimeoutSeconds).toBe(24 * 3600 + CANARY_SECONDS);
    const longer = synth({ ...SMALL, pipelineTimeoutHours: 36 });
    expect(stateMachineDefinition(longer.templates.pipeline).TimeoutSeconds).toBe(36 * 3600 + CANARY_SECONDS);
    // Start canary knows the same deadline, so it never starts a canary the execution would time out in.
    const startCanaryEnv = Template.fromJSON(longer.templates.pipeline.toJSON()).findResources(
      'AWS::Lambda::Function',
      {
        Properties: { Description: 'Puts the gated candidate beside the incumbent at canaryShare' },
      },
    );
    expect(
      Object.values(startCanaryEnv).map(
        (f) =>
          (f as { Properties: { Environment: { Variables: Record<string, string> } } }).Properties.Environment
            .Variables['EXECUTION_TIMEOUT_MINUTES'],
      ),
    ).toEqual([String((36 * 3600 + CANARY_SECONDS) / 60)]);
    template.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineName: 'IntentRouter-dev-Pipeline',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: Match.objectLike({ Level: 'ALL', IncludeExecutionData: true }),
    });
    template.hasOutput('StateMachineArn', { Value: { Ref: Match.stringLikeRegexp('StateMachine') } });
  });

  it('is valid Amazon States Language', () => {
    expect(validateDefinition(definition)).toEqual({ isValid: true, errors: '' });
  });

  it('still lets the generation and calibration functions invoke only the teacher, and Preflight read only the run’s four models', () => {
    expectTeacherOnly(policyStatements(template, 'bedrock:InvokeModel', [generateShard]));
    expectTeacherOnly(policyStatements(template, 'bedrock:InvokeModel', [calibrate]));
    expectPreflightModels(policyStatements(template, 'bedrock:GetFoundationModel', [preflight.functions.preflight]));
    expect(policyStatements(template, 'bedrock:InvokeModel', generationFunctions)).toHaveLength(2);
  });

  it('still limits the generation functions’ S3 object access to the run prefixes', () => {
    expectRunPrefixesOnly(template, generationFunctions);
  });

  it('drops an ABORTED, TIMED_OUT or FAILED execution’s canary: a rule on this state machine only, to Abandon canary', () => {
    const { abandonCanary } = stacks.pipeline.pipeline.stages.rollout;
    if (!abandonCanary) throw new Error('the default configuration has a canary: expected Abandon canary');
    const fnId = Stack.of(abandonCanary).getLogicalId(abandonCanary.function.node.defaultChild as CfnElement);
    const onExecutions = template.findResources('AWS::Events::Rule', {
      Properties: { EventPattern: { 'detail-type': ['Step Functions Execution Status Change'] } },
    });
    expect(Object.keys(onExecutions)).toHaveLength(1);
    template.hasResourceProperties('AWS::Events::Rule', {
      State: 'ENABLED',
      EventPattern: {
        source: ['aws.states'],
        'detail-type': ['Step Functions Execution Status Change'],
        detail: {
          stateMachineArn: [
            {
              'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp(':stateMachine:IntentRouter-dev-Pipeline$')])],
            },
          ],
          status: ['ABORTED', 'TIMED_OUT', 'FAILED'],
        },
      },
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [fnId, 'Arn'] },
          RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 7200 },
        }),
      ],
    });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': [fnId, 'Arn'] },
      Principal: 'events.amazonaws.com',
    });
    // Its grants: the one parameter (get/put), publish on the pipeline's topic, nothing else.
    const actions = (action: string) => policyStatements(template, action, [abandonCanary]);
    expect(actions('ssm:PutParameter').flatMap((s) => [s.Resource].flat())).toHaveLength(1);
    expect(JSON.stringify(actions('ssm:PutParameter'))).toContain('parameter/intent-router/dev/active-model');
    expect(JSON.stringify(actions('sns:Publish'))).toMatch(/NotificationsTopic/);
    expect(actions('cloudwatch:DescribeAlarms')).toEqual([]);
  });

  it('lets Check canary count the candidate’s traffic: GetMetricData (no resource-level permissions) only', () => {
    const { checkCanary } = stacks.pipeline.pipeline.stages.rollout.functions;
    if (!checkCanary) throw new Error('the default configuration has a canary: expected Check canary');
    const statements = policyStatements(template, 'cloudwatch:GetMetricData', [checkCanary]);
    expect(statements.map((st) => st.Resource)).toEqual(['*']);
    // Nothing else of the stack may read metrics.
    expect(policyStatements(template, 'cloudwatch:GetMetricData')).toHaveLength(1);
  });

  it('grants no wildcard action in any IAM policy of the stack', () => {
    expect(wildcardActions(template)).toEqual([]);
  });

  it('leaves no unacknowledged cdk-nag finding', () => {
    expect(nagFindings(stacks.pipeline)).toEqual([]);
  });
});

describe('Preflight and generation on their own, executed locally from Preflight to Assemble', () => {
  const { template } = buildGenerationStack(SMALL);
  const definition = stateMachineDefinition(template);
  const environment = lambdaEnvironment(template);
  const bucket = environment.BUCKET_NAME ?? '';

  const bedrock = mockClient(BedrockClient);
  const runtime = mockClient(BedrockRuntimeClient);
  const sns = mockClient(SNSClient);
  // Preflight reads the active-model parameter: not created yet (no Api stack), so there is no incumbent.
  const ssm = mockClient(SSMClient);
  let s3: InMemoryS3;
  let savedEnv: NodeJS.ProcessEnv;

  beforeAll(() => {
    logger.setLogLevel('SILENT');
    jest.spyOn(metrics, 'publishStoredMetrics').mockReturnValue(metrics);
  });
  beforeEach(() => {
    savedEnv = { ...process.env };
    Object.assign(process.env, environment, { AWS_REGION: 'us-east-1' });
    bedrock.reset();
    runtime.reset();
    sns.reset();
    sns.on(PublishCommand).resolves({ $metadata: { httpStatusCode: 200 }, MessageId: 'm-1' });
    ssm.reset();
    ssm
      .on(GetParameterCommand)
      .rejects(new ParameterNotFound({ message: 'Parameter not found', $metadata: { httpStatusCode: 400 } }));
    s3 = new InMemoryS3();
    const teacher = new SimulatedTeacher();
    runtime.on(ConverseCommand).callsFake((input: ConverseCommandInput) => teacher.reply(input));
  });
  afterEach(() => {
    s3.restore();
    process.env = savedEnv;
  });
  afterAll(() => {
    bedrock.restore();
    runtime.restore();
    sns.restore();
    ssm.restore();
  });

  const lifecycle = (teacher: 'ACTIVE' | 'LEGACY') =>
    bedrock
      .on(GetFoundationModelCommand)
      .callsFake((input: GetFoundationModelCommandInput): GetFoundationModelCommandOutput => ({
        $metadata: { httpStatusCode: 200 },
        modelDetails: {
          modelArn: `arn:aws:bedrock:us-east-1::foundation-model/${input.modelIdentifier}`,
          modelId: input.modelIdentifier,
          modelLifecycle: { status: input.modelIdentifier === 'amazon.nova-pro-v1:0' ? teacher : 'ACTIVE' },
        },
      }));

  const tasks = pipelineTasks;

  it('calibrates, generates in batches, assembles and validates a balanced dataset end to end', async () => {
    lifecycle('ACTIVE');
    const result = await runLocally(definition, { executionName: 'run-local-1', tasks: tasks() });

    expect(result).toMatchObject({ status: 'SUCCEEDED' });
    expect(result.entered.at(-1)).toBe(S.done);
    expect(result.entered.filter((s) => s !== S.generateShard)).toEqual([
      S.preflight,
      S.plan,
      S.calibrate,
      S.generate,
      S.assemble,
      S.done,
    ]);
    const keys = runKeys('run-local-1');
    // One training file per prompt version the default candidates train with (ft-micro's first, then distill-micro's).
    const training = { 'student-v3': keys.trainFor('student-v3'), 'student-v2': keys.trainFor('student-v2') };
    expect(result.output?.['assemble']).toMatchObject({
      runId: 'run-local-1',
      bucket,
      trainKey: training['student-v3'],
      trainKeys: training,
      testKey: keys.test,
      manifestKey: keys.manifest,
      trainCount: 100,
      testCount: 50,
    });
    const plan = result.output?.['plan'] as { shardCount: number; plannedQueries: number };
    expect(plan).toMatchObject({ plannedQueries: 203, shardCount: 24 });
    expect(s3.keys(bucket).filter((k) => k.startsWith(keys.shardsPrefix + 'shard-'))).toHaveLength(24);
    for (const key of Object.values(training)) {
      expect(validateDataset(s3.get(bucket, key) ?? '')).toMatchObject({ ok: true, records: 100 });
    }
    expect(s3.get(bucket, keys.train)).toBeUndefined();
    const manifest = JSON.parse(s3.get(bucket, keys.manifest) ?? '{}') as DatasetManifest;
    expect(manifest.files.train).toMatchObject({ key: training['student-v3'], records: 100 });
    expect(manifest.files.training).toEqual([
      expect.objectContaining({ promptVersion: 'student-v3', key: training['student-v3'], records: 100 }),
      expect.objectContaining({ promptVersion: 'student-v2', key: training['student-v2'], records: 100 }),
    ]);
    expect(manifest.generation).toMatchObject({ planned: 203, labelled: 203 });
    // The simulated teacher labels alike in batches and alone: calibration picks the largest size, 20, so each shard
    // (8 or 9 queries) is one labelling call — 24 calls instead of 203.
    expect(result.output?.['calibration']).toMatchObject({ labelBatchSize: 20, calibrated: true });
    expect(manifest.calibration).toMatchObject({ labelBatchSize: 20, calibrated: true, usage: { calls: 135 } });
    expect(manifest.calibration?.table.map((r) => r.size)).toEqual([1, 5, 10, 20]);
    expect(s3.get(bucket, calibrationKey('run-local-1'))).toBeDefined();
    expect(manifest.teacher.calls.labelling).toBe(24);
    expect(manifest.labelBatching).toEqual({
      labelBatchSizes: [20],
      batchCalls: 24,
      reasked: { missing: 0, duplicate: 0, unparsable: 0 },
      unknownIds: 0,
    });
    // The manifest names every prompt: the batch prompt the teacher labelled with, the student format written.
    expect(manifest.promptVersions).toEqual({
      teacher: 'teacher-v1',
      teacherBatch: 'teacher-batch-v1',
      student: 'student-v2',
      queryWriter: 'query-writer-v2',
    });
    expectBalanced(manifest);
    expect(sns.commandCalls(PublishCommand)).toHaveLength(0);
  });

  it('with a fixed labelBatchSize and a teacher that spoils batch items, re-asks them singly and still ends balanced', async () => {
    lifecycle('ACTIVE');
    const fixed = buildGenerationStack({ ...SMALL, labelBatchSize: 5 });
    Object.assign(process.env, lambdaEnvironment(fixed.template));
    const teacher = new SimulatedTeacher({ batchItemFault: faultsAtRate(0.1, 3) });
    runtime.on(ConverseCommand).callsFake((input: ConverseCommandInput) => teacher.reply(input));

    const result = await runLocally(stateMachineDefinition(fixed.template), {
      executionName: 'run-local-fixed',
      tasks: tasks(),
    });

    expect(result.status).toBe('SUCCEEDED');
    expect(result.output?.['calibration']).toMatchObject({ labelBatchSize: 5, calibrated: false, table: [] });
    const keys = runKeys('run-local-fixed');
    const manifest = JSON.parse(s3.get(bucket, keys.manifest) ?? '{}') as DatasetManifest;
    expect(manifest.generation).toMatchObject({ planned: 203, labelled: 203 });
    const reasked = manifest.labelBatching?.reasked ?? { missing: 0, duplicate: 0, unparsable: 0 };
    const reaskedTotal = reasked.missing + reasked.duplicate + reasked.unparsable;
    expect(reaskedTotal).toBeGreaterThan(0);
    expect(Object.values(reasked).every((n) => n > 0)).toBe(true);
    // No calibration call: the only single-query labels are the re-asks.
    expect(teacher.calls.labelling).toBe(reaskedTotal);
    expect(manifest.teacher.calls.labelling).toBe((manifest.labelBatching?.batchCalls ?? 0) + reaskedTotal);
    expect(manifest.calibration).toMatchObject({ calibrated: false, labelBatchSize: 5 });
    for (const version of ['student-v3', 'student-v2']) {
      expect(validateDataset(s3.get(bucket, keys.trainFor(version)) ?? '')).toMatchObject({ ok: true, records: 100 });
    }
    expectBalanced(manifest);
  });

  it('re-runs the same execution (a redrive keeps its ARN and start time) without calling the teacher again (calibration included) or rewriting anything', async () => {
    lifecycle('ACTIVE');
    const startTime = '2026-11-26T08:00:00.000Z';
    await runLocally(definition, { executionName: 'run-local-2', startTime, tasks: tasks() });
    const before = new Map(s3.objects);
    runtime.resetHistory();
    const again = await runLocally(definition, { executionName: 'run-local-2', startTime, tasks: tasks() });
    expect(again.status).toBe('SUCCEEDED');
    expect(runtime.commandCalls(ConverseCommand)).toHaveLength(0);
    expect(s3.objects).toEqual(before);
  });

  it("refuses a new execution that reuses a finished run's name (same ARN, new start time), changing nothing", async () => {
    lifecycle('ACTIVE');
    await runLocally(definition, {
      executionName: 'run-local-3',
      startTime: '2026-08-01T09:00:00.000Z',
      tasks: tasks(),
    });
    const before = new Map(s3.objects);
    runtime.resetHistory();
    const reused = await runLocally(definition, {
      executionName: 'run-local-3',
      startTime: '2026-11-26T09:00:00.000Z',
      tasks: tasks(),
    });
    expect(reused).toMatchObject({ status: 'FAILED', error: 'PreflightFailed' });
    expect(JSON.parse(reused.cause ?? '{}').errorMessage).toMatch(
      /^run id "run-local-3" was already used by execution .*:run-local-3 \(started 2026-08-01T09:00:00.000Z\)/,
    );
    expect(runtime.commandCalls(ConverseCommand)).toHaveLength(0);
    expect(s3.objects).toEqual(before);
  });

  it('stops at Preflight when an earlier execution used the run id, writing and asking nothing else', async () => {
    lifecycle('ACTIVE');
    const ownerKey = 'runs/run-reused/owner.json';
    const earlier = JSON.stringify({
      runId: 'run-reused',
      executionId: 'arn:aws:states:us-east-1:123456789012:execution:IntentRouter-dev-Pipeline:run-reused',
      startTime: '2026-08-01T09:00:00.000Z',
    });
    s3.set(bucket, ownerKey, earlier);
    const result = await runLocally(definition, { executionName: 'run-reused', tasks: tasks() });

    expect(result).toMatchObject({ status: 'FAILED', error: 'PreflightFailed' });
    expect(JSON.parse(result.cause ?? '{}').errorMessage).toMatch(
      /^run id "run-reused" was already used by execution .*:run-reused \(started 2026-08-01T09:00:00.000Z\).*Choose a new run id/,
    );
    expect(result.entered).toEqual([S.preflight, `${S.preflight} failed`, 'Notify failure', 'Run failed']);
    expect(s3.keys(bucket)).toEqual([ownerKey]);
    expect(s3.get(bucket, ownerKey)).toBe(earlier);
    expect(runtime.commandCalls(ConverseCommand)).toHaveLength(0);
  });

  it('stops at Preflight on a Legacy teacher: notifies with the cause, then fails with it', async () => {
    lifecycle('LEGACY');
    const result = await runLocally(definition, { executionName: 'run-legacy', tasks: tasks() });

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('PreflightFailed');
    // The cause is what Lambda reports for a function error: {"errorType","errorMessage"}.
    const cause = JSON.parse(result.cause ?? '{}');
    expect(cause.errorType).toBe('PreflightFailed');
    expect(cause.errorMessage).toMatch(
      /teacherModelId "us.amazon.nova-pro-v1:0".*LEGACY.*ACTIVE model Bedrock accepts as a distillation teacher/,
    );
    expect(result.entered).toEqual([S.preflight, `${S.preflight} failed`, 'Notify failure', 'Run failed']);

    const publishes = sns.commandCalls(PublishCommand);
    expect(publishes).toHaveLength(1);
    const request = publishes[0]!.args[0].input;
    expect(request.TopicArn).toMatch(/^arn:aws:sns:us-east-1:\d{12}:/);
    expect(request.Subject).toBe('Intent router run failed at Preflight');
    const message = JSON.parse(request.Message ?? '{}');
    expect(message).toMatchObject({
      runId: 'run-legacy',
      status: 'FAILED',
      step: 'Preflight',
      error: 'PreflightFailed',
    });
    expect(message.cause).toBe(result.cause);
    expect(runtime.commandCalls(ConverseCommand)).toHaveLength(0);
    expect(s3.keys(bucket)).toEqual([]);
  });
});

/** 25 % of each dominant modality, within the ±2-point band, in both files. */
function expectBalanced(manifest: DatasetManifest): void {
  for (const set of [manifest.counts.train, manifest.counts.test]) {
    for (const m of MODALITIES) expect(Math.abs(set.shares[m] - 0.25)).toBeLessThanOrEqual(0.02 + 1e-9);
  }
  expect(manifest.counts.train.total).toBe(100);
  expect(manifest.counts.test.total).toBe(50);
}

// --- IAM helpers ----------------------------------------------------------------------------------------------------

type Statement = { Effect: string; Action: string | string[]; Resource: unknown };
type PolicyResource = { Properties: { PolicyDocument: { Statement: Statement[] }; Roles?: unknown[] } };

/** The logical ids of the functions' execution roles. */
function roleIds(functions: readonly Function[]): string[] {
  return functions.map((f) => {
    const role = f.function.role?.node.defaultChild as CfnElement;
    return Stack.of(role).getLogicalId(role);
  });
}

/** The statements granting `action` in the template's IAM policies, only those attached to `functions` if given. */
function policyStatements(template: Template, action: string, functions?: readonly Function[]): Statement[] {
  const roles = functions && roleIds(functions);
  return Object.values(template.findResources('AWS::IAM::Policy') as Record<string, PolicyResource>)
    .filter(
      (p) => !roles || (p.Properties.Roles ?? []).some((r) => roles.includes(String((r as { Ref?: string }).Ref))),
    )
    .flatMap((p) => p.Properties.PolicyDocument.Statement)
    .filter((s) => [s.Action].flat().includes(action));
}

function expectTeacherOnly(statements: Statement[]): void {
  const resources = statements.flatMap((s) => [s.Resource].flat()).map((r) => JSON.stringify(r));
  expect(resources).toHaveLength(4);
  expect(resources.join()).toMatch(/inference-profile\/us\.amazon\.nova-pro-v1:0/);
  for (const region of ['us-east-1', 'us-east-2', 'us-west-2']) {
    expect(resources.join()).toContain(`:bedrock:${region}::foundation-model/amazon.nova-pro-v1:0`);
  }
}

/** Teacher, student, baseline and judge: the foundation models behind their profiles and variants, nothing else. */
function expectPreflightModels(statements: Statement[]): void {
  expect(statements.flatMap((s) => [s.Resource].flat()).sort()).toEqual([
    'arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0',
    'arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0',
    'arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-haiku-4-5-20251001-v1:0',
    'arn:aws:bedrock:us-east-1::foundation-model/meta.llama3-3-70b-instruct-v1:0',
  ]);
}

/**
 * Every S3 object grant (of `functions`, if given) is under runs/<runId>/shards/, runs/<runId>/dataset/ or
 * runs/<runId>/production/ (a run's stored production selection), or is the run's owner record runs/<runId>/owner.json
 * or its labelling calibration runs/<runId>/calibration.json; a run's report runs/<runId>/report.json may be read (an
 * incumbent that reused a dataset names its training file only there), never written;
 * production records (production/records/…) may only be read, never written.
 */
function expectRunPrefixesOnly(template: Template, functions?: readonly Function[]): void {
  let checked = 0;
  for (const action of ['s3:GetObject', 's3:PutObject']) {
    for (const statement of policyStatements(template, action, functions)) {
      for (const resource of [statement.Resource].flat()) {
        const allowed =
          action === 's3:GetObject'
            ? /\/(runs\/\*\/((shards|dataset|production)\/|(owner|calibration|report)\.json")|production\/records\/\*")/
            : /\/runs\/\*\/((shards|dataset|production)\/|(owner|calibration)\.json")/;
        expect(JSON.stringify(resource)).toMatch(allowed);
        checked++;
      }
    }
  }
  // Plan, Generate shard and Assemble (×2) read; Plan, Generate shard and Assemble write.
  expect(checked).toBeGreaterThanOrEqual(7);
}

/** Actions containing `*` in the template's IAM identity policies (policies, managed policies, inline role policies). */
function wildcardActions(template: Template): string[] {
  const documents = [
    ...Object.values(template.findResources('AWS::IAM::Policy')),
    ...Object.values(template.findResources('AWS::IAM::ManagedPolicy')),
  ].map((p) => p.Properties.PolicyDocument as { Statement: Statement[] });
  for (const role of Object.values(template.findResources('AWS::IAM::Role'))) {
    for (const inline of (role.Properties.Policies ?? []) as { PolicyDocument: { Statement: Statement[] } }[]) {
      documents.push(inline.PolicyDocument);
    }
  }
  expect(documents.length).toBeGreaterThan(0);
  return documents
    .flatMap((d) => d.Statement)
    .flatMap((s) => [s.Action].flat())
    .filter((a) => a.includes('*'));
}
