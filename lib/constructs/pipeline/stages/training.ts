import { Duration } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import {
  CHECK_DISTILLATION_ENVIRONMENT,
  START_DISTILLATION_ENVIRONMENT,
} from '../../../../lambda/pipeline/training/environment';
import type { Function } from '../../function';
import { allow, allowDatasetKey, allowPassRoleToBedrock, bedrockArn, modelInvokeArns } from '../bedrock-roles';
import { invokeStep, PipelineStage, type StageProps } from '../steps';

/** State names (stable: tests, local-run overrides and dashboards refer to them). */
export const TRAINING_STATES = {
  reuseModelChoice: 'Reuse a model?',
  useGivenModel: 'Use the given model',
  startDistillation: 'Start distillation',
  waitDistillation: 'Wait for distillation',
  checkDistillation: 'Check distillation',
  distillationChoice: 'Distillation done?',
  distillationFailed: 'Distillation job failed',
} as const;
const S = TRAINING_STATES;

/** Why Bedrock resource grants end in `*`. */
export const RUNTIME_IDS =
  'Bedrock assigns the id in this ARN when the run creates the resource, so no narrower ARN exists at deploy time;' +
  ' the run only touches resources it created or found by its own derived name.';

export interface TrainingStageProps extends StageProps<
  'envName' | 'teacherModelId' | 'studentModelId' | 'maxResponseLengthForInference' | 'jobPollMinutes'
> {
  /** The distillation job's service role (BedrockServiceRoles), passed to Bedrock. */
  readonly customizationRole: iam.IRole;
  /** Where a completed distillation (or a reused model) goes: the deployment stage. */
  readonly next: sfn.IChainable;
}

/**
 * The distillation: the teacher's labels teach the student.
 *
 *   Reuse a model? ─► Start distillation ─► Wait for distillation ─► Check distillation ─► Distillation done? (loop)
 *        └─ (`$.reuseModelArn` present) ─► Use the given model ─────────────────────────────────┴─► next
 *
 * Reads `$.assemble` (bucket, trainKey), `$.reuseModelArn` and the execution name (the run id). Writes
 * `$.distillation` (the job's ARN) and `$.distillationStatus` (status, outputModelArn, failureMessage; with
 * `reuseModelArn` a Completed status naming the given model, so the deployment stage reads one shape).
 *
 * Errors: a Failed or Stopped job notifies and fails as DistillationJobFailed with Bedrock's failure message; the
 * steps' own errors go to the notify-and-fail path after Lambda and Bedrock transient errors are retried. The poll
 * loop is bounded by the state machine's timeout (pipelineTimeoutHours).
 */
export class TrainingStage extends PipelineStage {
  readonly startState: sfn.State;
  readonly endStates: sfn.INextable[] = [];
  readonly functions: { readonly startDistillation: Function; readonly checkDistillation: Function };

  constructor(scope: Construct, id: string, props: TrainingStageProps) {
    super(scope, id);
    const { config, dataset, failure } = props;
    const jobArns = bedrockArn(this, 'model-customization-job', '*');
    const customModelArns = bedrockArn(this, 'custom-model', '*');

    const start = props.functions.add(
      'StartDistillation',
      'training/start-distillation',
      'Starts the run’s distillation job (idempotent)',
      START_DISTILLATION_ENVIRONMENT.values({
        envName: config.envName,
        customizationRoleArn: props.customizationRole.roleArn,
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
        ...modelInvokeArns(this, config.studentModelId),
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
    // customModelKmsKeyId: the distilled model is encrypted with the dataset key.
    allowDatasetKey(start, dataset, 'bedrock');

    const check = props.functions.add(
      'CheckDistillation',
      'training/check-distillation',
      'Polls the run’s distillation job',
      CHECK_DISTILLATION_ENVIRONMENT.values({}),
    );
    allow(check, check.function, {
      actions: ['bedrock:GetModelCustomizationJob'],
      resources: [jobArns],
      wildcardReason: RUNTIME_IDS,
    });
    this.functions = { startDistillation: start, checkDistillation: check };

    const startStep = invokeStep(this, S.startDistillation, {
      fn: start.function,
      resultKey: 'distillation',
      payload: sfn.TaskInput.fromObject({
        runId: sfn.JsonPath.executionName,
        bucket: sfn.JsonPath.stringAt('$.assemble.bucket'),
        trainKey: sfn.JsonPath.stringAt('$.assemble.trainKey'),
      }),
      failure,
    });
    const wait = new sfn.Wait(this, S.waitDistillation, {
      time: sfn.WaitTime.duration(Duration.minutes(config.jobPollMinutes)),
    });
    const checkStep = invokeStep(this, S.checkDistillation, {
      fn: check.function,
      resultKey: 'distillationStatus',
      payload: sfn.TaskInput.fromObject({ jobArn: sfn.JsonPath.stringAt('$.distillation.jobArn') }),
      failure,
    });
    // With `reuseModelArn` the distillation is skipped: the status it would have produced names the given model.
    const useGivenModel = new sfn.Pass(this, S.useGivenModel, {
      parameters: {
        status: 'Completed',
        'outputModelArn.$': '$.reuseModelArn',
        failureMessage: '',
        statusDetails: {},
        reused: true,
      },
      resultPath: '$.distillationStatus',
    });
    this.startState = new sfn.Choice(this, S.reuseModelChoice)
      .when(sfn.Condition.isPresent('$.reuseModelArn'), useGivenModel.next(props.next))
      .otherwise(startStep);
    startStep
      .next(wait)
      .next(checkStep)
      .next(
        new sfn.Choice(this, S.distillationChoice)
          .when(sfn.Condition.stringEquals('$.distillationStatus.status', 'Completed'), props.next)
          .when(
            sfn.Condition.or(
              sfn.Condition.stringEquals('$.distillationStatus.status', 'Failed'),
              sfn.Condition.stringEquals('$.distillationStatus.status', 'Stopped'),
            ),
            failure.failWith(
              S.distillationFailed,
              'Distillation',
              'DistillationJobFailed',
              '$.distillationStatus.failureMessage',
            ),
          )
          .otherwise(wait),
      );
  }
}
