import { Duration } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import {
  CHECK_TRAINING_ENVIRONMENT,
  START_TRAINING_ENVIRONMENT,
} from '../../../../lambda/pipeline/training/environment';
import type { AppConfig } from '../../../config';
import type { Function } from '../../function';
import { allow, allowDatasetKey, allowPassRoleToBedrock, bedrockArn, modelInvokeArns } from '../bedrock-roles';
import { invokeStep, PipelineStage, type StageProps } from '../steps';

/** State names (stable: tests, local-run overrides and dashboards refer to them). */
export const TRAINING_STATES = {
  reuseModelChoice: 'Reuse a model?',
  useGivenModel: 'Use the given model',
  startTraining: 'Start training',
  waitTraining: 'Wait for training',
  checkTraining: 'Check training',
  trainingChoice: 'Training done?',
  trainingFailed: 'Training job failed',
} as const;
const S = TRAINING_STATES;

/** Why Bedrock resource grants end in `*`. */
export const RUNTIME_IDS =
  'Bedrock assigns the id in this ARN when the run creates the resource, so no narrower ARN exists at deploy time;' +
  ' the run only touches resources it created or found by its own derived name.';

export interface TrainingStageProps extends StageProps<
  'envName' | 'teacherModelId' | 'studentModelId' | 'candidates' | 'maxResponseLengthForInference' | 'jobPollMinutes'
> {
  /** The DISTILLATION jobs' service role (BedrockServiceRoles), passed to Bedrock. */
  readonly customizationRole: iam.IRole;
  /**
   * The FINE_TUNING jobs' service role (BedrockServiceRoles.fineTuningRole: no model invocation), passed to Bedrock.
   * Unset: fine-tuning jobs get the customization role too.
   */
  readonly fineTuningRole?: iam.IRole;
  /** Where a completed job (or a reused model) goes: the deployment stage. */
  readonly next: sfn.IChainable;
}

/** The base models the launcher may customize: every configured candidate's (the job's base model). */
export const trainedBaseModels = (config: Pick<AppConfig, 'candidates'>): string[] => [
  ...new Set(config.candidates.map((c) => c.baseModelId)),
];

/**
 * One candidate's training, inside the Candidates map: the teacher's labels teach the student, by Bedrock
 * distillation or by fine-tuning on the labels.
 *
 *   Reuse a model? ─► Start training ─► Wait for training ─► Check training ─► Training done? (loop) ─► next
 *        └─ (`$.candidate.reusedModelArn`) ─► Use the given model ─────────────────────────────┘
 *
 * Reads `$.assemble` (bucket, trainKey, trainKeys by prompt version, trainCount), `$.candidate` (RunCandidate: name,
 * method, baseModelId, promptVersion, hyperParameters, or reusedModelArn) and the execution name (the run id). Writes
 * `$.training` (jobArn, jobName, customModelName, customizationType, candidate, existing) and `$.trainingStatus`
 * (status, outputModelArn, failureMessage, statusDetails; with a reused model a Completed status naming it, so the
 * deployment stage reads one shape).
 *
 * Errors: a Failed or Stopped job leaves by the failure route as TrainingJobFailed with Bedrock's failure
 * message; the steps' own errors (a candidate whose prompt version has no training file, bad input) go to the failure
 * route after Lambda and Bedrock transient errors are retried. The poll loop is bounded by the state machine's
 * timeout (pipelineTimeoutHours).
 */
export class TrainingStage extends PipelineStage {
  readonly startState: sfn.State;
  readonly endStates: sfn.INextable[] = [];
  readonly functions: { readonly startTraining: Function; readonly checkTraining: Function };

  constructor(scope: Construct, id: string, props: TrainingStageProps) {
    super(scope, id);
    const { config, dataset, failure } = props;
    const fineTuningRole = props.fineTuningRole ?? props.customizationRole;
    const jobArns = bedrockArn(this, 'model-customization-job', '*');
    const customModelArns = bedrockArn(this, 'custom-model', '*');

    // Construct ids keep "Distillation": they name the functions' log groups, which test/stateful guards.
    const start = props.functions.add(
      'StartDistillation',
      'training/start-training',
      'Starts a candidate’s customization job, distillation or fine-tuning (idempotent)',
      START_TRAINING_ENVIRONMENT.values({
        envName: config.envName,
        customizationRoleArn: props.customizationRole.roleArn,
        fineTuningRoleArn: fineTuningRole.roleArn,
        studentModelId: config.studentModelId,
        teacherModelId: config.teacherModelId,
        maxResponseLengthForInference: config.maxResponseLengthForInference,
        datasetKeyArn: dataset.key.keyArn,
      }),
    );
    allow(start, start.function, {
      actions: ['bedrock:CreateModelCustomizationJob'],
      resources: [
        jobArns,
        customModelArns,
        // Either customization type, only on the configured base models and the distillation teacher.
        ...trainedBaseModels(config).flatMap((modelId) => modelInvokeArns(this, modelId)),
        ...modelInvokeArns(this, config.teacherModelId),
      ],
      wildcardReason: `${RUNTIME_IDS} The job and the custom model it creates get their ids from Bedrock.`,
    });
    allow(start, start.function, {
      actions: ['bedrock:TagResource'],
      resources: [jobArns, customModelArns],
      wildcardReason: `${RUNTIME_IDS} Tags are set on the job and on the model it creates, at creation.`,
    });
    allow(start, start.function, {
      actions: ['bedrock:GetModelCustomizationJob'],
      resources: [jobArns],
      wildcardReason: `${RUNTIME_IDS} Get resolves a retried create to the job this run started.`,
    });
    allowPassRoleToBedrock(start, start.function, props.customizationRole);
    if (fineTuningRole !== props.customizationRole) allowPassRoleToBedrock(start, start.function, fineTuningRole);
    // customModelKmsKeyId: the custom model is encrypted with the dataset key.
    allowDatasetKey(start, dataset, 'bedrock');

    const check = props.functions.add(
      'CheckDistillation',
      'training/check-training',
      'Polls a candidate’s customization job',
      CHECK_TRAINING_ENVIRONMENT.values({}),
    );
    allow(check, check.function, {
      actions: ['bedrock:GetModelCustomizationJob'],
      resources: [jobArns],
      wildcardReason: RUNTIME_IDS,
    });
    this.functions = { startTraining: start, checkTraining: check };

    const startStep = invokeStep(this, S.startTraining, {
      fn: start.function,
      resultKey: 'training',
      payload: sfn.TaskInput.fromObject({
        runId: sfn.JsonPath.executionName,
        assemble: sfn.JsonPath.objectAt('$.assemble'),
        candidate: sfn.JsonPath.objectAt('$.candidate'),
      }),
      failure,
    });
    const wait = new sfn.Wait(this, S.waitTraining, {
      time: sfn.WaitTime.duration(Duration.minutes(config.jobPollMinutes)),
    });
    const checkStep = invokeStep(this, S.checkTraining, {
      fn: check.function,
      resultKey: 'trainingStatus',
      payload: sfn.TaskInput.fromObject({ jobArn: sfn.JsonPath.stringAt('$.training.jobArn') }),
      failure,
    });
    // With a reused model the training is skipped: the status it would have produced names the given model.
    const useGivenModel = new sfn.Pass(this, S.useGivenModel, {
      parameters: {
        status: 'Completed',
        'outputModelArn.$': '$.candidate.reusedModelArn',
        failureMessage: '',
        statusDetails: {},
        reused: true,
      },
      resultPath: '$.trainingStatus',
    });
    this.startState = new sfn.Choice(this, S.reuseModelChoice)
      .when(sfn.Condition.isPresent('$.candidate.reusedModelArn'), useGivenModel.next(props.next))
      .otherwise(startStep);
    startStep
      .next(wait)
      .next(checkStep)
      .next(
        new sfn.Choice(this, S.trainingChoice)
          .when(sfn.Condition.stringEquals('$.trainingStatus.status', 'Completed'), props.next)
          .when(
            sfn.Condition.or(
              sfn.Condition.stringEquals('$.trainingStatus.status', 'Failed'),
              sfn.Condition.stringEquals('$.trainingStatus.status', 'Stopped'),
            ),
            failure.failWith(S.trainingFailed, 'Training', 'TrainingJobFailed', '$.trainingStatus.failureMessage'),
          )
          .otherwise(wait),
      );
  }
}
