import { Duration } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { CHECK_EVALUATION_ENVIRONMENT, EVALUATE_ENVIRONMENT } from '../../../../lambda/pipeline/evaluation/environment';
import type { Function } from '../../function';
import {
  allow,
  allowDatasetKey,
  allowPassRoleToBedrock,
  allowRunListing,
  allowRunObjects,
  bedrockArn,
  modelInvokeArns,
  RUN_PATTERNS,
} from '../bedrock-roles';
import { invokeStep, PipelineStage, type StageProps } from '../steps';
import { RUNTIME_IDS } from './training';

/** State names (stable: tests, local-run overrides and dashboards refer to them). */
export const EVALUATION_STATES = {
  evaluate: 'Evaluate',
  waitEvaluation: 'Wait for evaluation',
  checkEvaluation: 'Check evaluation',
  evaluationChoice: 'Evaluation done?',
  evaluationFailed: 'Evaluation jobs failed',
} as const;
const S = EVALUATION_STATES;

/**
 * The function may take its full 15 minutes (answers, then the judge jobs): the task waits a minute longer, so Step
 * Functions never abandons an invocation that is still starting judge jobs.
 */
const EVALUATE_TIMEOUT = Duration.minutes(15);

export interface EvaluationStageProps extends StageProps<
  | 'envName'
  | 'studentModelId'
  | 'baselineModelId'
  | 'judgeModelId'
  | 'evaluationConcurrency'
  | 'priceTable'
  | 'jobPollMinutes'
> {
  /** The judge jobs' service role (BedrockServiceRoles), passed to Bedrock. */
  readonly evaluationRole: iam.IRole;
  /** Where a completed evaluation goes: the gate. */
  readonly next: sfn.IChainable;
}

/**
 * The candidate measured on the held-out set, beside the baseline and the incumbent.
 *
 *   Evaluate ─► Wait for evaluation ─► Check evaluation ─► Evaluation done? (loop) ─► next
 *
 * Reads `$.assemble` (bucket, testKey, production's held-out key), `$.candidate` (its name keys the files and judge
 * jobs under runs/<runId>/<candidate>/evaluation/; it is asked in its promptVersion), `$.deployment.deploymentArn`,
 * `$.preflight.incumbent` and the execution name. Writes `$.evaluation` (EvaluateResult: metrics of student, baseline
 * and incumbent, the judge jobs, the student's prompt version) and `$.evaluationStatus` (status, judge scores,
 * failureMessage). With candidates, the baseline and the incumbent are answered and judged once per run, under
 * runs/<runId>/evaluation/, and every candidate (in parallel) shares those answers and judge jobs.
 *
 * Errors: a failed judge job leaves by the failure route (inside the Candidates map: the candidate is dropped) as
 * EvaluationJobFailed with its failure message; the steps' own errors go the same way after Lambda and Bedrock
 * transient errors are retried. The poll loop is bounded by the
 * state machine's timeout.
 */
export class EvaluationStage extends PipelineStage {
  readonly startState: sfn.State;
  readonly endStates: sfn.INextable[] = [];
  readonly functions: { readonly evaluate: Function; readonly checkEvaluation: Function };

  constructor(scope: Construct, id: string, props: EvaluationStageProps) {
    super(scope, id);
    const { config, failure } = props;
    const evaluate = evaluateFunction(this, props);
    const check = checkEvaluationFunction(this, props);
    this.functions = { evaluate, checkEvaluation: check };

    const runId = sfn.JsonPath.executionName;
    const evaluateStep = invokeStep(this, S.evaluate, {
      fn: evaluate.function,
      resultKey: 'evaluation',
      payload: sfn.TaskInput.fromObject({
        runId,
        bucket: sfn.JsonPath.stringAt('$.assemble.bucket'),
        testKey: sfn.JsonPath.stringAt('$.assemble.testKey'),
        deploymentArn: sfn.JsonPath.stringAt('$.deployment.deploymentArn'),
        // Whole objects: production's held-out key is there only for runs from production, and the incumbent is
        // `{present: false, reason}` when nothing comparable is promoted.
        assemble: sfn.JsonPath.objectAt('$.assemble'),
        incumbent: sfn.JsonPath.objectAt('$.preflight.incumbent'),
        candidate: sfn.JsonPath.objectAt('$.candidate'),
      }),
      failure,
      timeout: EVALUATE_TIMEOUT.plus(Duration.minutes(1)),
    });
    const wait = new sfn.Wait(this, S.waitEvaluation, {
      time: sfn.WaitTime.duration(Duration.minutes(config.jobPollMinutes)),
    });
    const checkStep = invokeStep(this, S.checkEvaluation, {
      fn: check.function,
      resultKey: 'evaluationStatus',
      payload: sfn.TaskInput.fromObject({
        runId,
        bucket: sfn.JsonPath.stringAt('$.assemble.bucket'),
        jobs: sfn.JsonPath.objectAt('$.evaluation.jobs'),
        candidate: sfn.JsonPath.stringAt('$.candidate.name'),
      }),
      failure,
    });
    evaluateStep
      .next(wait)
      .next(checkStep)
      .next(
        new sfn.Choice(this, S.evaluationChoice)
          .when(sfn.Condition.stringEquals('$.evaluationStatus.status', 'Completed'), props.next)
          .when(
            sfn.Condition.stringEquals('$.evaluationStatus.status', 'Failed'),
            failure.failWith(
              S.evaluationFailed,
              'Evaluation',
              'EvaluationJobFailed',
              '$.evaluationStatus.failureMessage',
            ),
          )
          .otherwise(wait),
      );
    this.startState = evaluateStep;
  }
}

/** Evaluate: answers the held-out set, writes its files, starts the judge jobs. */
function evaluateFunction(scope: Construct, props: EvaluationStageProps): Function {
  const { config, dataset } = props;
  const evaluate = props.functions.add(
    'Evaluate',
    'evaluation/evaluate',
    'Answers the held-out set with student and baseline, computes metrics, starts the judge jobs',
    EVALUATE_ENVIRONMENT.values({
      envName: config.envName,
      studentModelId: config.studentModelId,
      baselineModelId: config.baselineModelId,
      judgeModelId: config.judgeModelId,
      evaluationRoleArn: props.evaluationRole.roleArn,
      evaluationConcurrency: config.evaluationConcurrency,
      priceTable: config.priceTable,
      datasetKeyArn: dataset.key.keyArn,
    }),
    { timeout: EVALUATE_TIMEOUT, memorySize: 1024 },
  );
  const objects = (actions: string[], patterns: string[], why: string) =>
    allowRunObjects(evaluate, dataset, actions, patterns, why);
  objects(['s3:GetObject'], [RUN_PATTERNS.dataset], 'Evaluate reads the run’s test.jsonl.');
  // Only what Evaluate writes (lambda/pipeline/evaluation/evaluation.ts evaluationKeys): the judge jobs' output prefix
  // stays writable by the evaluation service role alone.
  objects(
    ['s3:PutObject'],
    [
      RUN_PATTERNS.evaluationAnswers,
      RUN_PATTERNS.evaluationDatasets,
      RUN_PATTERNS.evaluationMetrics,
      RUN_PATTERNS.evaluationReference,
    ],
    'Evaluate writes the answers, the judge datasets and the metrics of its run, and once per run the reference ' +
      'models’ answers its candidates share.',
  );
  objects(
    ['s3:PutObjectTagging'],
    [RUN_PATTERNS.evaluationAnswers, RUN_PATTERNS.evaluationDatasets, RUN_PATTERNS.evaluationReference],
    'Answers and judge datasets on live queries are written with the live-queries tag, to expire with them.',
  );
  objects(
    ['s3:GetObject'],
    [RUN_PATTERNS.evaluationMetrics, RUN_PATTERNS.evaluationReference],
    'A retried Evaluate resumes from the metrics an earlier attempt wrote; a candidate reads the reference models’ ' +
      'answers another candidate of the run stored.',
  );
  allowRunListing(evaluate, dataset);
  allowDatasetKey(evaluate, dataset, 's3', ['kms:Decrypt', 'kms:GenerateDataKey']);
  allow(evaluate, evaluate.function, {
    actions: ['bedrock:InvokeModel'],
    resources: [bedrockArn(scope, 'custom-model-deployment', '*'), ...modelInvokeArns(scope, config.baselineModelId)],
    wildcardReason:
      `${RUNTIME_IDS} The candidate is invoked through the deployment this run created, and the incumbent (the ` +
      'student promoted before the run) through its own deployment of an earlier run; deployments only, never a ' +
      'custom model directly.',
  });
  allow(evaluate, evaluate.function, {
    actions: ['bedrock:CreateEvaluationJob', 'bedrock:TagResource'],
    resources: [bedrockArn(scope, 'evaluation-job', '*'), ...modelInvokeArns(scope, config.judgeModelId)],
    wildcardReason: `${RUNTIME_IDS} Evaluation job ARNs end in an id Bedrock assigns.`,
  });
  allow(evaluate, evaluate.function, {
    actions: ['bedrock:ListEvaluationJobs'],
    resources: ['*'],
    wildcardReason: 'ListEvaluationJobs supports no resource-level permissions (Resource must be *).',
  });
  allowPassRoleToBedrock(evaluate, evaluate.function, props.evaluationRole);
  // The deployment's model and the judge jobs' output use the dataset key.
  allowDatasetKey(evaluate, dataset, 'bedrock');
  return evaluate;
}

/** Check evaluation: polls the judge jobs, reads their scores. */
function checkEvaluationFunction(scope: Construct, props: EvaluationStageProps): Function {
  const { dataset } = props;
  const check = props.functions.add(
    'CheckEvaluation',
    'evaluation/check-evaluation',
    'Polls the judge jobs and reads their scores',
    CHECK_EVALUATION_ENVIRONMENT.values({}),
  );
  allow(check, check.function, {
    // Stop: when one judge job failed, the other (still running) is stopped rather than billed for nothing.
    actions: ['bedrock:GetEvaluationJob', 'bedrock:StopEvaluationJob'],
    resources: [bedrockArn(scope, 'evaluation-job', '*')],
    wildcardReason: RUNTIME_IDS,
  });
  allowRunObjects(
    check,
    dataset,
    ['s3:GetObject'],
    [RUN_PATTERNS.evaluationOutput],
    'It reads the judge jobs’ results.',
  );
  allow(check, check.function, {
    actions: ['s3:ListBucket'],
    resources: [dataset.bucket.bucketArn],
    conditions: { StringLike: { 's3:prefix': [RUN_PATTERNS.evaluationOutput] } },
  });
  allowDatasetKey(check, dataset, 's3', ['kms:Decrypt']);
  return check;
}
