import { Duration, Stack } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct, type IConstruct } from 'constructs';
import type { AppConfig } from '../../config';
import type { DatasetBucket } from '../dataset-bucket';
import { Function } from '../function';
import {
  allow,
  allowPassRoleToBedrock,
  bedrockArn,
  BedrockServiceRoles,
  modelInvokeArns,
  RUN_PATTERNS,
  viaService,
} from './bedrock-roles';
import { CanaryStage, type CanaryConfig } from './canary-stage';
import { acknowledgeInvokeGrants, invokeStep, stageFunctionFactory, type FailurePath } from './steps';

/**
 * Pipeline stages 2–4 as one state-machine fragment that starts after Assemble (`$.assemble`):
 *
 *   Reuse a model? ─► Start distillation ─► Wait ─► Check distillation ─► Distillation done? (loop)
 *     ─► Deploy student ─► Wait ─► Check deployment ─► Deployment active? (loop)
 *     ─► Evaluate ─► Wait ─► Check evaluation ─► Evaluation done? (loop)
 *     ─► Gate ─► Gate passed? ─► Promote ─► Report          (rejected: Skip promotion ─► Report)
 *
 * With `canaryShare` > 0 a passed gate goes to the canary (CanaryStage, lib/constructs/pipeline/canary-stage.ts)
 * instead of Promote: the candidate answers a share of live traffic beside the incumbent until its alarms roll it back
 * or a quiet `canaryMinutes` promotes it; a run with nothing promoted yet goes on to Promote.
 *
 * Every Lambda step puts its result at `$.<key>` (see lambda/pipeline/state.ts), retries Lambda and Bedrock
 * transient errors and is caught into the failure path; failed jobs and deployments notify and fail with Bedrock's
 * failure message. The loops are bounded by the state machine's overall timeout (pipelineTimeoutHours).
 *
 * Execution input overrides: `reuseModelArn` skips the distillation (the given custom model is deployed and
 * evaluated); `reuseDatasetFromRun` is served by `reuseDatasetStep`, which the state machine routes to instead of
 * generation and Assemble.
 */

export type TrainingConfig = Pick<
  AppConfig,
  | 'envName'
  | 'teacherModelId'
  | 'studentModelId'
  | 'baselineModelId'
  | 'judgeModelId'
  | 'maxResponseLengthForInference'
  | 'jobPollMinutes'
  | 'deploymentPollMinutes'
  | 'evaluationConcurrency'
  | 'minJudgeScore'
  | 'maxJudgeGapToBaseline'
  | 'minDominantAgreement'
  | 'minValidReplyRate'
  | 'maxJudgeDropToIncumbent'
  | 'maxAgreementDropToIncumbent'
  | 'priceTable'
  | 'logRetentionDays'
  | 'retainData'
> &
  CanaryConfig;

export interface TrainingStagesProps {
  readonly config: TrainingConfig;
  readonly dataset: DatasetBucket;
  readonly topic: sns.ITopic;
  readonly failure: FailurePath;
  /** The active-model SSM parameter the promote step writes (lib/naming.ts activeModelParameterName). */
  readonly activeModelParameterName: string;
}

/** The state names of the fragment (stable: tests, overrides and dashboards refer to them). */
export const TRAINING_STATES = {
  reuseModelChoice: 'Reuse a model?',
  useGivenModel: 'Use the given model',
  startDistillation: 'Start distillation',
  waitDistillation: 'Wait for distillation',
  checkDistillation: 'Check distillation',
  distillationChoice: 'Distillation done?',
  distillationFailed: 'Distillation job failed',
  deployStudent: 'Deploy student',
  waitDeployment: 'Wait for deployment',
  checkDeployment: 'Check deployment',
  deploymentChoice: 'Deployment active?',
  deploymentFailed: 'Deployment failed',
  evaluate: 'Evaluate',
  waitEvaluation: 'Wait for evaluation',
  checkEvaluation: 'Check evaluation',
  evaluationChoice: 'Evaluation done?',
  evaluationFailed: 'Evaluation jobs failed',
  gate: 'Gate',
  gateChoice: 'Gate passed?',
  promote: 'Promote',
  skipPromotion: 'Skip promotion',
  report: 'Report',
  reuseDataset: 'Reuse dataset',
} as const;

const S = TRAINING_STATES;
const runId = sfn.JsonPath.executionName;

export class TrainingStages extends Construct {
  /** The fragment to chain after Assemble; it ends at Report (promoted or rejected). */
  readonly chain: sfn.Chain;
  /**
   * Stands in for generation + Assemble when the execution input has `reuseDatasetFromRun`: writes `$.assemble` from
   * the earlier run's files and continues into `chain`. Route to it with a Choice on `$.reuseDatasetFromRun`.
   */
  readonly reuseDatasetStep: sfn.TaskStateBase;
  readonly roles: BedrockServiceRoles;
  /** Every Lambda of the fragment, by step. */
  readonly functions: Readonly<Record<string, Function>>;
  /** The canary after the Gate (absent when canaryShare is 0: the gate goes straight to Promote, as before). */
  readonly canary?: CanaryStage;

  constructor(scope: Construct, id: string, props: TrainingStagesProps) {
    super(scope, id);
    const { config, dataset, failure } = props;
    const { bucket, key } = dataset;
    const stack = Stack.of(this);
    this.roles = new BedrockServiceRoles(this, 'ServiceRoles', { config, dataset });
    const { customizationRole, evaluationRole } = this.roles;

    const jobArns = bedrockArn(this, 'model-customization-job', '*');
    const customModelArns = bedrockArn(this, 'custom-model', '*');
    const deploymentArns = bedrockArn(this, 'custom-model-deployment', '*');
    const evaluationJobArns = bedrockArn(this, 'evaluation-job', '*');
    const RUNTIME_IDS =
      'Bedrock assigns the id in this ARN when the run creates the resource, so no narrower ARN exists at deploy time;' +
      ' the run only touches resources it created or found by its own derived name.';

    const functions: Record<string, Function> = {};
    const newFunction = stageFunctionFactory(this, {
      serviceName: 'intent-router-pipeline',
      logRetentionDays: config.logRetentionDays,
      retainLogs: config.retainData,
    });
    const fn: typeof newFunction = (name, ...rest) => (functions[name] = newFunction(name, ...rest));
    const grantee = (f: Function): iam.IGrantable => f.function;
    const s3ReadWithNotFound = (f: Function) =>
      // Without ListBucket a missing key reads as AccessDenied instead of NoSuchKey; only under runs/, never the bucket.
      allow(f, grantee(f), {
        actions: ['s3:ListBucket'],
        resources: [bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': ['runs/*'] } },
      });
    const s3Objects = (f: Function, actions: string[], patterns: string[], why: string) =>
      allow(f, grantee(f), {
        actions,
        resources: patterns.map((p) => bucket.arnForObjects(p)),
        wildcardReason: `Objects of every run live under runs/<runId>/ and the run id is known only at run time. ${why}`,
      });
    const datasetKeyViaS3 = (f: Function, actions: string[]) =>
      allow(f, grantee(f), { actions, resources: [key.keyArn], conditions: viaService(this, 's3') });
    const datasetKeyViaBedrock = (f: Function) =>
      allow(f, grantee(f), {
        actions: ['kms:Decrypt', 'kms:GenerateDataKey', 'kms:DescribeKey', 'kms:CreateGrant'],
        resources: [key.keyArn],
        conditions: viaService(this, 'bedrock'),
      });

    // --- distillation -------------------------------------------------------------------------------------------
    const start = fn(
      'StartDistillation',
      'training/start-distillation',
      'Starts the run’s distillation job (idempotent)',
      {
        ENV_NAME: config.envName,
        CUSTOMIZATION_ROLE_ARN: customizationRole.roleArn,
        STUDENT_MODEL_ID: config.studentModelId,
        TEACHER_MODEL_ID: config.teacherModelId,
        MAX_RESPONSE_LENGTH_FOR_INFERENCE: String(config.maxResponseLengthForInference),
        DATASET_KEY_ARN: key.keyArn,
      },
    );
    allow(start, grantee(start), {
      actions: ['bedrock:CreateModelCustomizationJob'],
      resources: [
        jobArns,
        customModelArns,
        ...modelInvokeArns(this, config.studentModelId),
        ...modelInvokeArns(this, config.teacherModelId),
      ],
      wildcardReason: `${RUNTIME_IDS} The job and the custom model it creates get their ids from Bedrock.`,
    });
    allow(start, grantee(start), {
      actions: ['bedrock:TagResource'],
      resources: [jobArns, customModelArns],
      wildcardReason: `${RUNTIME_IDS} Tags are set on the job and on the model it creates, at creation.`,
    });
    allow(start, grantee(start), {
      actions: ['bedrock:GetModelCustomizationJob'],
      resources: [jobArns],
      wildcardReason: `${RUNTIME_IDS} Get resolves a retried create to the job this run started.`,
    });
    allowPassRoleToBedrock(start, grantee(start), customizationRole);
    datasetKeyViaBedrock(start); // customModelKmsKeyId: the distilled model is encrypted with the dataset key

    const check = fn('CheckDistillation', 'training/check-distillation', 'Polls the run’s distillation job', {});
    allow(check, grantee(check), {
      actions: ['bedrock:GetModelCustomizationJob'],
      resources: [jobArns],
      wildcardReason: RUNTIME_IDS,
    });

    // --- deployment ---------------------------------------------------------------------------------------------
    const deploy = fn(
      'DeployStudent',
      'deployment/deploy-student',
      'Deploys the distilled model on demand (idempotent)',
      {
        ENV_NAME: config.envName,
      },
    );
    allow(deploy, grantee(deploy), {
      actions: ['bedrock:CreateCustomModelDeployment'],
      resources: [customModelArns, deploymentArns],
      wildcardReason: `${RUNTIME_IDS} The deployment ARN ends in an id Bedrock assigns.`,
    });
    allow(deploy, grantee(deploy), {
      actions: ['bedrock:TagResource', 'bedrock:ListTagsForResource'],
      resources: [deploymentArns],
      wildcardReason:
        `${RUNTIME_IDS} Tags are set on the deployment at creation; they are read to reuse only a deployment ` +
        'of this environment.',
    });
    allow(deploy, grantee(deploy), {
      actions: ['bedrock:ListCustomModelDeployments'],
      resources: ['*'],
      wildcardReason: 'ListCustomModelDeployments supports no resource-level permissions (Resource must be *).',
    });
    datasetKeyViaBedrock(deploy); // the model is encrypted with the dataset key

    const checkDeploy = fn('CheckDeployment', 'deployment/check-deployment', 'Polls the student’s deployment', {});
    allow(checkDeploy, grantee(checkDeploy), {
      actions: ['bedrock:GetCustomModelDeployment'],
      resources: [deploymentArns],
      wildcardReason: RUNTIME_IDS,
    });

    // --- evaluation ---------------------------------------------------------------------------------------------
    // The function may take its full 15 minutes (answers, then the judge jobs): the task waits a minute longer, so Step
    // Functions never abandons an invocation that is still starting judge jobs.
    const evaluateTimeout = Duration.minutes(15);
    const evaluate = fn(
      'Evaluate',
      'evaluation/evaluate',
      'Answers the held-out set with student and baseline, computes metrics, starts the judge jobs',
      {
        ENV_NAME: config.envName,
        STUDENT_MODEL_ID: config.studentModelId,
        BASELINE_MODEL_ID: config.baselineModelId,
        JUDGE_MODEL_ID: config.judgeModelId,
        EVALUATION_ROLE_ARN: evaluationRole.roleArn,
        EVALUATION_CONCURRENCY: String(config.evaluationConcurrency),
        PRICE_TABLE: JSON.stringify(config.priceTable),
        DATASET_KEY_ARN: key.keyArn,
      },
      { timeout: evaluateTimeout, memorySize: 1024 },
    );
    s3Objects(evaluate, ['s3:GetObject'], [RUN_PATTERNS.dataset], 'Evaluate reads the run’s test.jsonl.');
    // Only what Evaluate writes (lambda/pipeline/evaluation/evaluation.ts evaluationKeys): the judge jobs' output prefix stays
    // writable by the evaluation service role alone.
    s3Objects(
      evaluate,
      ['s3:PutObject'],
      [RUN_PATTERNS.evaluationAnswers, RUN_PATTERNS.evaluationDatasets, RUN_PATTERNS.evaluationMetrics],
      'Evaluate writes the answers, the judge datasets and the metrics of its run.',
    );
    s3Objects(
      evaluate,
      ['s3:GetObject'],
      [RUN_PATTERNS.evaluationMetrics],
      'A retried Evaluate resumes from the metrics an earlier attempt wrote.',
    );
    s3ReadWithNotFound(evaluate);
    datasetKeyViaS3(evaluate, ['kms:Decrypt', 'kms:GenerateDataKey']);
    allow(evaluate, grantee(evaluate), {
      actions: ['bedrock:InvokeModel'],
      resources: [deploymentArns, ...modelInvokeArns(this, config.baselineModelId)],
      wildcardReason:
        `${RUNTIME_IDS} The candidate is invoked through the deployment this run created, and the incumbent (the ` +
        'student promoted before the run) through its own deployment of an earlier run; deployments only, never a ' +
        'custom model directly.',
    });
    allow(evaluate, grantee(evaluate), {
      actions: ['bedrock:CreateEvaluationJob', 'bedrock:TagResource'],
      resources: [evaluationJobArns, ...modelInvokeArns(this, config.judgeModelId)],
      wildcardReason: `${RUNTIME_IDS} Evaluation job ARNs end in an id Bedrock assigns.`,
    });
    allow(evaluate, grantee(evaluate), {
      actions: ['bedrock:ListEvaluationJobs'],
      resources: ['*'],
      wildcardReason: 'ListEvaluationJobs supports no resource-level permissions (Resource must be *).',
    });
    allowPassRoleToBedrock(evaluate, grantee(evaluate), evaluationRole);
    datasetKeyViaBedrock(evaluate); // the deployment's model and the judge jobs' output use the dataset key

    const checkEval = fn(
      'CheckEvaluation',
      'evaluation/check-evaluation',
      'Polls the judge jobs and reads their scores',
      {},
    );
    allow(checkEval, grantee(checkEval), {
      // Stop: when one judge job failed, the other (still running) is stopped rather than billed for nothing.
      actions: ['bedrock:GetEvaluationJob', 'bedrock:StopEvaluationJob'],
      resources: [evaluationJobArns],
      wildcardReason: RUNTIME_IDS,
    });
    s3Objects(checkEval, ['s3:GetObject'], [RUN_PATTERNS.evaluationOutput], 'It reads the judge jobs’ results.');
    allow(checkEval, grantee(checkEval), {
      actions: ['s3:ListBucket'],
      resources: [bucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': [RUN_PATTERNS.evaluationOutput] } },
    });
    datasetKeyViaS3(checkEval, ['kms:Decrypt']);

    // --- gate, promotion, report --------------------------------------------------------------------------------
    const gate = fn(
      'Gate',
      'gate/gate',
      'Applies the quality thresholds to the student, against baseline and incumbent',
      {
        MIN_JUDGE_SCORE: String(config.minJudgeScore),
        MAX_JUDGE_GAP_TO_BASELINE: String(config.maxJudgeGapToBaseline),
        MIN_DOMINANT_AGREEMENT: String(config.minDominantAgreement),
        MIN_VALID_REPLY_RATE: String(config.minValidReplyRate),
        MAX_JUDGE_DROP_TO_INCUMBENT: String(config.maxJudgeDropToIncumbent),
        MAX_AGREEMENT_DROP_TO_INCUMBENT: String(config.maxAgreementDropToIncumbent),
      },
    );

    const promote = fn('Promote', 'rollout/promote', 'Writes the active-model parameter', {
      ACTIVE_MODEL_PARAMETER_NAME: props.activeModelParameterName,
    });
    allow(promote, grantee(promote), {
      actions: ['ssm:GetParameter', 'ssm:PutParameter'],
      resources: [
        stack.formatArn({
          service: 'ssm',
          resource: 'parameter',
          resourceName: props.activeModelParameterName.replace(/^\//, ''),
        }),
      ],
    });

    const report = fn('Report', 'report/report', 'Writes the run report and notifies', {
      JUDGE_MODEL_ID: config.judgeModelId,
      TOPIC_ARN: props.topic.topicArn,
    });
    s3Objects(
      report,
      ['s3:GetObject'],
      [
        'runs/*/dataset/manifest.json',
        'runs/*/dataset/test.jsonl',
        'runs/*/shards/plan.json',
        RUN_PATTERNS.evaluationAnswers,
        'runs/*/report.json',
      ],
      'Report reads the run’s manifest, plan, held-out set and answers for its charts, and its own report when a ' +
        'retry finds it written.',
    );
    s3Objects(
      report,
      ['s3:PutObject'],
      ['runs/*/report.json', 'runs/*/report.md', 'runs/*/report.html'],
      'Report writes the run report.',
    );
    s3ReadWithNotFound(report);
    datasetKeyViaS3(report, ['kms:Decrypt', 'kms:GenerateDataKey']);
    allow(report, grantee(report), { actions: ['sns:Publish'], resources: [props.topic.topicArn] });
    if (props.topic.masterKey) {
      allow(report, grantee(report), {
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: [props.topic.masterKey.keyArn],
      });
    }

    const reuse = fn('ReuseDataset', 'generation/reuse-dataset', 'Points the run at an earlier run’s dataset', {
      DATASET_BUCKET: bucket.bucketName,
    });
    s3Objects(reuse, ['s3:GetObject'], [RUN_PATTERNS.dataset], 'It reads the earlier run’s train and test files.');
    s3ReadWithNotFound(reuse);
    datasetKeyViaS3(reuse, ['kms:Decrypt']);

    // --- the state machine fragment -----------------------------------------------------------------------------
    const step = (name: string, f: Function, resultKey: string, payload: Record<string, unknown>, timeout?: Duration) =>
      invokeStep(this, name, {
        fn: f.function,
        resultKey,
        payload: sfn.TaskInput.fromObject(payload),
        failure,
        ...(timeout ? { timeout } : {}),
      });
    const wait = (name: string, minutes: number) =>
      new sfn.Wait(this, name, { time: sfn.WaitTime.duration(Duration.minutes(minutes)) });
    const status = (path: string, ...values: string[]) =>
      sfn.Condition.or(...values.map((v) => sfn.Condition.stringEquals(path, v)));

    const startDistillation = step(S.startDistillation, start, 'distillation', {
      runId,
      bucket: sfn.JsonPath.stringAt('$.assemble.bucket'),
      trainKey: sfn.JsonPath.stringAt('$.assemble.trainKey'),
    });
    const waitDistillation = wait(S.waitDistillation, config.jobPollMinutes);
    const checkDistillation = step(S.checkDistillation, check, 'distillationStatus', {
      jobArn: sfn.JsonPath.stringAt('$.distillation.jobArn'),
    });
    const deployStudent = step(S.deployStudent, deploy, 'deployment', {
      runId,
      modelArn: sfn.JsonPath.stringAt('$.distillationStatus.outputModelArn'),
    });
    const waitDeployment = wait(S.waitDeployment, config.deploymentPollMinutes);
    const checkDeployment = step(S.checkDeployment, checkDeploy, 'deploymentStatus', {
      deploymentArn: sfn.JsonPath.stringAt('$.deployment.deploymentArn'),
    });
    const evaluateStep = step(
      S.evaluate,
      evaluate,
      'evaluation',
      {
        runId,
        bucket: sfn.JsonPath.stringAt('$.assemble.bucket'),
        testKey: sfn.JsonPath.stringAt('$.assemble.testKey'),
        deploymentArn: sfn.JsonPath.stringAt('$.deployment.deploymentArn'),
        // Whole objects: production's held-out key is there only for runs from production, and the incumbent is
        // `{present: false, reason}` when nothing comparable is promoted.
        assemble: sfn.JsonPath.objectAt('$.assemble'),
        incumbent: sfn.JsonPath.objectAt('$.preflight.incumbent'),
      },
      evaluateTimeout.plus(Duration.minutes(1)),
    );
    const waitEvaluation = wait(S.waitEvaluation, config.jobPollMinutes);
    const checkEvaluation = step(S.checkEvaluation, checkEval, 'evaluationStatus', {
      runId,
      bucket: sfn.JsonPath.stringAt('$.assemble.bucket'),
      jobs: sfn.JsonPath.objectAt('$.evaluation.jobs'),
    });
    const gateStep = step(S.gate, gate, 'gate', {
      evaluation: sfn.JsonPath.objectAt('$.evaluation'),
      judge: sfn.JsonPath.objectAt('$.evaluationStatus.judge'),
      incumbent: sfn.JsonPath.objectAt('$.preflight.incumbent'),
    });
    const promoteStep = step(S.promote, promote, 'promotion', {
      runId,
      deploymentArn: sfn.JsonPath.stringAt('$.deployment.deploymentArn'),
      modelArn: sfn.JsonPath.stringAt('$.deployment.modelArn'),
      student: sfn.JsonPath.objectAt('$.evaluation.student'),
      judge: sfn.JsonPath.objectAt('$.evaluationStatus.judge'),
      studentPromptVersion: sfn.JsonPath.stringAt('$.evaluation.studentPromptVersion'),
    });
    const skipPromotion = new sfn.Pass(this, S.skipPromotion, {
      parameters: { promoted: false, 'reason.$': '$.gate.summary' },
      resultPath: '$.promotion',
    });
    const reportStep = step(S.report, report, 'report', {
      runId,
      bucket: sfn.JsonPath.stringAt('$.assemble.bucket'),
      assemble: sfn.JsonPath.objectAt('$.assemble'),
      distillation: sfn.JsonPath.objectAt('$.distillationStatus'),
      deployment: sfn.JsonPath.objectAt('$.deployment'),
      evaluation: sfn.JsonPath.objectAt('$.evaluation'),
      judge: sfn.JsonPath.objectAt('$.evaluationStatus.judge'),
      gate: sfn.JsonPath.objectAt('$.gate'),
      promotion: sfn.JsonPath.objectAt('$.promotion'),
    });
    this.reuseDatasetStep = step(S.reuseDataset, reuse, 'assemble', {
      runId,
      reuseDatasetFromRun: sfn.JsonPath.stringAt('$.reuseDatasetFromRun'),
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
    const reuseModelChoice = new sfn.Choice(this, S.reuseModelChoice)
      .when(sfn.Condition.isPresent('$.reuseModelArn'), useGivenModel.next(deployStudent))
      .otherwise(startDistillation);

    startDistillation
      .next(waitDistillation)
      .next(checkDistillation)
      .next(
        new sfn.Choice(this, S.distillationChoice)
          .when(sfn.Condition.stringEquals('$.distillationStatus.status', 'Completed'), deployStudent)
          .when(
            status('$.distillationStatus.status', 'Failed', 'Stopped'),
            failure.failWith(
              S.distillationFailed,
              'Distillation',
              'DistillationJobFailed',
              '$.distillationStatus.failureMessage',
            ),
          )
          .otherwise(waitDistillation),
      );
    deployStudent
      .next(waitDeployment)
      .next(checkDeployment)
      .next(
        new sfn.Choice(this, S.deploymentChoice)
          .when(sfn.Condition.stringEquals('$.deploymentStatus.status', 'Active'), evaluateStep)
          .when(
            sfn.Condition.stringEquals('$.deploymentStatus.status', 'Failed'),
            failure.failWith(S.deploymentFailed, 'Deployment', 'DeploymentFailed', '$.deploymentStatus.failureMessage'),
          )
          .otherwise(waitDeployment),
      );
    evaluateStep
      .next(waitEvaluation)
      .next(checkEvaluation)
      .next(
        new sfn.Choice(this, S.evaluationChoice)
          .when(sfn.Condition.stringEquals('$.evaluationStatus.status', 'Completed'), gateStep)
          .when(
            sfn.Condition.stringEquals('$.evaluationStatus.status', 'Failed'),
            failure.failWith(
              S.evaluationFailed,
              'Evaluation',
              'EvaluationJobFailed',
              '$.evaluationStatus.failureMessage',
            ),
          )
          .otherwise(waitEvaluation),
      );
    promoteStep.next(reportStep);
    if (config.canaryShare > 0) {
      this.canary = new CanaryStage(this, 'Canary', {
        config,
        failure,
        activeModelParameterName: props.activeModelParameterName,
        newFunction: (name, entry, description, environment) => fn(name, entry, description, environment),
        promoteDirectly: promoteStep,
      });
      this.canary.next(reportStep);
    }
    this.functions = functions;
    gateStep.next(
      new sfn.Choice(this, S.gateChoice)
        .when(sfn.Condition.booleanEquals('$.gate.passed', true), this.canary ?? promoteStep)
        .otherwise(skipPromotion.next(reportStep)),
    );
    this.reuseDatasetStep.next(reuseModelChoice);

    this.chain = sfn.Chain.custom(reuseModelChoice, [reportStep], reportStep);
  }

  /**
   * Acknowledges, on the state machine that runs this fragment, the `<function ARN>:*` resources that LambdaInvoke
   * grants so that any version or alias of the fragment's functions can be invoked.
   */
  acknowledgeInvokeGrants(stateMachine: IConstruct): void {
    acknowledgeInvokeGrants(stateMachine, Object.values(this.functions));
  }
}
