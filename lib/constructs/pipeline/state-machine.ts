import { RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { AppConfig } from '../../config';
import { stateMachineName } from '../../naming';
import type { DatasetBucket } from '../dataset-bucket';
import type { Notifications } from '../notifications';
import { allow, BedrockServiceRoles } from './bedrock-roles';
import { CandidatesStage } from './stages/candidates';
import { DeploymentStage } from './stages/deployment';
import { EvaluationStage } from './stages/evaluation';
import { GateStage } from './stages/gate';
import { GenerationStage } from './stages/generation';
import { PreflightStage } from './stages/preflight';
import { ReportStage } from './stages/report';
import { executionTimeout, RolloutStage } from './stages/rollout';
import { TrainingStage } from './stages/training';
import { CandidateFailurePath, FailurePath, StageFunctions, type PipelineStage } from './steps';

/**
 * The pipeline's state machine: the stages of lib/constructs/pipeline/stages in order, each a fragment that owns its
 * functions, grants, states and retries, and documents what it reads and writes in the state:
 *
 *   Preflight ─► Generation (or a reused dataset)
 *     ─► Candidates (a Map, per candidate: Training (or a reused model) ─► Deployment ─► Evaluation ─► Gate)
 *     ─► Select candidate ─► Rollout (Promote, or the canary) ─► Report    (no passing candidate: straight to Report)
 *
 * Every Lambda step puts its result at `$.<key>` (typed by its stage's handlers, lambda/pipeline/<stage>/), retries
 * named errors with backoff and is caught into the one notify-and-fail path. The execution's name is the run id.
 */

export interface DistillationPipelineProps {
  readonly config: AppConfig;
  readonly dataset: DatasetBucket;
  readonly notifications: Notifications;
}

export class DistillationPipeline extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly logGroup: logs.LogGroup;
  readonly failure: FailurePath;
  readonly stages: { readonly preflight: PreflightStage; readonly generation: GenerationStage } & LaterStages;

  constructor(scope: Construct, id: string, props: DistillationPipelineProps) {
    super(scope, id);
    const { config, dataset, notifications } = props;
    this.failure = new FailurePath(this, 'Failure', { topic: notifications.topic });
    const failure = this.failure;
    // The stages' functions keep the construct paths, and so the log groups' logical ids, of before the stages were
    // split: preflight's and generation's under Pipeline/Functions, the later stages' under Training/Functions.
    const later = laterStages(new Construct(Stack.of(this), 'Training'), {
      config,
      dataset,
      failure,
      topic: notifications.topic,
    });
    const functions = generationFunctions(this, config);
    const preflight = new PreflightStage(this, 'Preflight', { config, dataset, failure, functions });
    const generation = new GenerationStage(this, 'Generation', {
      config,
      dataset,
      failure,
      functions,
      reuse: { functions: later.functions },
    });
    generation.next(later.candidates);
    this.stages = { preflight, generation, ...later.stages };

    const machine = pipelineStateMachine(this, {
      config,
      notifications,
      definition: sfn.Chain.start(preflight).next(generation),
      stages: Object.values(this.stages),
    });
    this.stateMachine = machine.stateMachine;
    this.logGroup = machine.logGroup;
  }
}

/** Where preflight's and generation's functions live (`<scope>/Functions`). */
export const generationFunctions = (scope: Construct, config: AppConfig) =>
  new StageFunctions(scope, 'Functions', {
    serviceName: 'intent-router-generation',
    logRetentionDays: config.logRetentionDays,
    retainLogs: config.retainData,
  });

export interface LaterStages {
  readonly candidates: CandidatesStage;
  readonly training: TrainingStage;
  readonly deployment: DeploymentStage;
  readonly evaluation: EvaluationStage;
  readonly gate: GateStage;
  readonly rollout: RolloutStage;
  readonly report: ReportStage;
}

export interface LaterStagesProps {
  readonly config: AppConfig;
  readonly dataset: DatasetBucket;
  readonly failure: FailurePath;
  readonly topic: sns.ITopic;
}

/**
 * The stages after the dataset, in `scope` (the pipeline's `Training`): the Candidates map is the entry (`candidates`,
 * after Assemble or Reuse dataset) and Report the end. Inside the map each candidate's training, deployment,
 * evaluation and gate leave by the candidate's own failure route (a failed candidate is dropped, not the run). Built
 * from the end: a stage that leaves through a Choice branch (Training done?, Deployment active?, Evaluation done?,
 * Gate passed?) is given the stage it leads to.
 */
export function laterStages(scope: Construct, props: LaterStagesProps) {
  const { config, dataset, failure } = props;
  const functions = new StageFunctions(scope, 'Functions', {
    serviceName: 'intent-router-pipeline',
    logRetentionDays: config.logRetentionDays,
    retainLogs: config.retainData,
  });
  const roles = new BedrockServiceRoles(scope, 'ServiceRoles', { config, dataset });
  const common = { config, dataset, failure, functions };
  const report = new ReportStage(scope, 'Report', { ...common, topic: props.topic });
  const rollout = new RolloutStage(scope, 'Rollout', { ...common, topic: props.topic });
  rollout.next(report);
  const candidates = new CandidatesStage(scope, 'Candidates', { ...common, promote: rollout });
  candidates.next(report); // no candidate passed: Skip promotion ─► Report
  // Each candidate's own steps: a failure drops the candidate (CandidateFailurePath), the others go on.
  const perCandidate = { ...common, failure: new CandidateFailurePath(scope, 'CandidateFailure') };
  const gate = new GateStage(scope, 'Gate', { ...perCandidate, next: candidates.outcome });
  const evaluation = new EvaluationStage(scope, 'Evaluation', {
    ...perCandidate,
    evaluationRole: roles.evaluationRole,
    next: gate,
  });
  const deployment = new DeploymentStage(scope, 'Deployment', { ...perCandidate, next: evaluation });
  const training = new TrainingStage(scope, 'Training', {
    ...perCandidate,
    customizationRole: roles.customizationRole,
    fineTuningRole: roles.fineTuningRole,
    next: deployment,
  });
  candidates.processEach(training);
  const stages: LaterStages = { candidates, training, deployment, evaluation, gate, rollout, report };
  return { candidates, functions, roles, stages };
}

export interface PipelineStateMachineProps {
  readonly config: AppConfig;
  readonly notifications: Notifications;
  readonly definition: sfn.IChainable;
  /** The stages in `definition`: each acknowledges what the state machine is granted on its behalf. */
  readonly stages: readonly PipelineStage[];
}

/**
 * The state machine around `definition`, in `scope`: named after the environment, traced, logged with every step's
 * input and output, bounded by pipelineTimeoutHours (plus the canary's window).
 */
export function pipelineStateMachine(scope: Construct, props: PipelineStateMachineProps) {
  const { config, notifications } = props;
  // Execution history with every step's input and output: kept with the data it describes (retainData).
  const logGroup = new logs.LogGroup(scope, 'Logs', {
    retention: config.logRetentionDays,
    removalPolicy: config.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
  });
  const stateMachine = new sfn.StateMachine(scope, 'StateMachine', {
    stateMachineName: stateMachineName(config.envName),
    definitionBody: sfn.DefinitionBody.fromChainable(props.definition),
    // The canary runs on live traffic for its own window: it does not eat into the training's budget.
    timeout: executionTimeout(config),
    tracingEnabled: true,
    logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
  });
  // The failure notification goes to a KMS-encrypted topic.
  allow(stateMachine, stateMachine, {
    actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
    resources: [notifications.key.keyArn],
    conditions: { StringEquals: { 'kms:ViaService': `sns.${Stack.of(scope).region}.amazonaws.com` } },
  });
  for (const stage of props.stages) stage.acknowledgeGrants(stateMachine);
  Validations.of(stateMachine).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason:
      'X-Ray tracing (PutTraceSegments, GetSamplingRules…) and CloudWatch Logs delivery (CreateLogDelivery…) ' +
      'support no resource-level permissions.',
  });
  return { stateMachine, logGroup };
}
