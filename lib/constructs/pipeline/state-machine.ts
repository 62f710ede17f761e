import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference';
import { Construct } from 'constructs';
import { parseModelId } from '../../../lambda/core/model-ids';
import { PRODUCTION_RECORDS_PREFIX } from '../../../lambda/core/production-records';
import type { AppConfig } from '../../config';
import { activeModelParameterName, stateMachineName } from '../../naming';
import type { DatasetBucket } from '../dataset-bucket';
import { Function } from '../function';
import { executionTimeout } from './canary-stage';
import type { Notifications } from '../notifications';
import { allow, modelInvokeArns, viaService } from './bedrock-roles';
import { acknowledgeInvokeGrants, FailurePath, invokeStep, stageFunctionFactory } from './steps';

/**
 * The pipeline's state machine and its first stage, dataset generation:
 *
 *   Preflight ─► Plan ─► Calibrate labelling ─► Generate (Distributed Map: Generate shard × N) ─► Assemble
 *     ─► afterAssemble (default: Succeed)
 *
 * Every Lambda step puts its result at `$.<step>` (see each handler for its contract), retries named errors with
 * backoff, and is caught into one notify-and-fail path. The execution's name is the run id. Later stages plug in
 * through `afterAssemble`, which receives the same failure path.
 */

export type GenerationConfig = Pick<
  AppConfig,
  | 'envName'
  | 'teacherModelId'
  | 'studentModelId'
  | 'baselineModelId'
  | 'judgeModelId'
  | 'exampleCount'
  | 'testExampleCount'
  | 'queriesPerShard'
  | 'generationSurplus'
  | 'generationConcurrency'
  | 'labelConcurrency'
  | 'labelBatchSize'
  | 'calibrationMinAgreement'
  | 'calibrationMaxWeightError'
  | 'maxShardFailurePercent'
  | 'minGenerationSuccessRate'
  | 'includeReasoning'
  | 'pipelineTimeoutHours'
  | 'canaryShare'
  | 'canaryMinutes'
  | 'canaryCheckMinutes'
  | 'logRetentionDays'
  | 'retainData'
  | 'priceTable'
  | 'productionHoldOutShare'
>;

export interface DistillationPipelineProps {
  readonly config: GenerationConfig;
  readonly dataset: DatasetBucket;
  readonly notifications: Notifications;
  /** The notify-and-fail path every step is caught into; default: one of its own (exposed as `failure`). */
  readonly failure?: FailurePath;
  /** The stages after Assemble (their input has `$.assemble`, an AssembleResult); default: a Succeed state. */
  readonly afterAssemble?: (failure: FailurePath) => sfn.IChainable;
  /**
   * Where a run goes instead of Plan → Generate → Assemble when its input names `reuseDatasetFromRun` (the state that
   * stands in for Assemble); without it, generation always runs.
   */
  readonly reuseDataset?: sfn.IChainable;
}

/** State names (stable: tests, local-run overrides and dashboards refer to them). */
export const GENERATION_STATES = {
  preflight: 'Preflight',
  plan: 'Plan',
  calibrate: 'Calibrate labelling',
  generate: 'Generate',
  generateShard: 'Generate shard',
  assemble: 'Assemble',
  reuseDataset: 'Reuse a dataset?',
  done: 'Dataset ready',
} as const;

/** Where each step's result sits in the state. */
export const RESULT_KEYS = {
  preflight: 'preflight',
  plan: 'plan',
  /** `{ key, labelBatchSize, calibrated, reason, table }` (CalibrationResult). */
  calibration: 'calibration',
  /** Inside a Map iteration: `{ runId, shard, labelBatchSize, generated }`. */
  generateShard: 'generated',
  assemble: 'assemble',
} as const;

/** What Plan and Assemble receive: the run id and the example counts Preflight checked (configured or overridden). */
const RUN_AND_COUNTS = {
  runId: sfn.JsonPath.stringAt('$.preflight.runId'),
  exampleCount: sfn.JsonPath.numberAt('$.preflight.exampleCount'),
  testExampleCount: sfn.JsonPath.numberAt('$.preflight.testExampleCount'),
};

const PRODUCTION_RECORDS =
  'Production records are partitioned by day (production/records/date=YYYY-MM-DD/…, written by the shadow labeller); ' +
  'Plan reads the days a run asks for, only under that prefix.';

const RUN_OBJECTS =
  'Every run keeps its objects under runs/<runId>/ and the run id (the execution name) is only known when a run ' +
  'starts; the pattern limits the function to the one sub-prefix of each run that its step uses.';

export class DistillationPipeline extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly failure: FailurePath;
  readonly logGroup: logs.LogGroup;
  readonly functions: {
    readonly preflight: Function;
    readonly plan: Function;
    readonly calibrate: Function;
    readonly generateShard: Function;
    readonly assemble: Function;
  };

  constructor(scope: Construct, id: string, props: DistillationPipelineProps) {
    super(scope, id);
    const { config, dataset, notifications } = props;
    const { bucket, key } = dataset;
    this.failure = props.failure ?? new FailurePath(this, 'Failure', { topic: notifications.topic });

    // --- functions ----------------------------------------------------------------------------------------------
    const fn = stageFunctionFactory(this, {
      serviceName: 'intent-router-generation',
      logRetentionDays: config.logRetentionDays,
      retainLogs: config.retainData,
    });
    const grantee = (f: Function): iam.IGrantable => f.function;
    const counts = { EXAMPLE_COUNT: String(config.exampleCount), TEST_EXAMPLE_COUNT: String(config.testExampleCount) };

    const preflight = fn(
      'Preflight',
      'preflight/preflight',
      'Checks models, region and counts, and claims the run id, before a run spends anything',
      {
        BUCKET_NAME: bucket.bucketName,
        TEACHER_MODEL_ID: config.teacherModelId,
        STUDENT_MODEL_ID: config.studentModelId,
        BASELINE_MODEL_ID: config.baselineModelId,
        JUDGE_MODEL_ID: config.judgeModelId,
        // Preflight refuses a run size the plan cannot balance (runSizeProblem) before any teacher call.
        QUERIES_PER_SHARD: String(config.queriesPerShard),
        GENERATION_SURPLUS: String(config.generationSurplus),
        // The incumbent (the student promoted when the run starts) is read here and gated against later.
        ACTIVE_MODEL_PARAMETER_NAME: activeModelParameterName(config.envName),
        ...counts,
      },
      { memorySize: 256, timeout: Duration.seconds(30) },
    );
    allow(preflight, grantee(preflight), {
      actions: ['ssm:GetParameter'],
      resources: [
        Stack.of(this).formatArn({
          service: 'ssm',
          resource: 'parameter',
          resourceName: activeModelParameterName(config.envName).replace(/^\//, ''),
        }),
      ],
    });
    // Every model the run uses; the config ids may be inference profiles or variants: their foundation models.
    const checkedModels = new Set(
      [config.teacherModelId, config.studentModelId, config.baselineModelId, config.judgeModelId].map(
        (m) => parseModelId(m).foundationModelId,
      ),
    );
    allow(preflight, grantee(preflight), {
      actions: ['bedrock:GetFoundationModel'],
      resources: [...checkedModels].map((foundationModelId) =>
        Stack.of(this).formatArn({
          service: 'bedrock',
          account: '',
          resource: 'foundation-model',
          resourceName: foundationModelId,
        }),
      ),
    });

    // A run from production lists and reads up to a year of daily partitions before it plans.
    const plan = fn(
      'Plan',
      'generation/plan',
      'Selects the production records of a run from production, splits the run into shards, stores the plan',
      {
        BUCKET_NAME: bucket.bucketName,
        QUERIES_PER_SHARD: String(config.queriesPerShard),
        GENERATION_SURPLUS: String(config.generationSurplus),
        PRODUCTION_HOLD_OUT_SHARE: String(config.productionHoldOutShare),
        ...counts,
      },
      { memorySize: 1769, timeout: Duration.minutes(5) },
    );

    // ~135 teacher calls (100 single labels, then batches of 5, 10 and 20) in labelConcurrency; minutes under throttling.
    const calibrate = fn(
      'Calibrate',
      'generation/calibrate',
      'Calibrates how many queries the teacher labels per call, once per run',
      {
        BUCKET_NAME: bucket.bucketName,
        TEACHER_MODEL_ID: config.teacherModelId,
        INCLUDE_REASONING: String(config.includeReasoning),
        LABEL_CONCURRENCY: String(config.labelConcurrency),
        LABEL_BATCH_SIZE: String(config.labelBatchSize),
        CALIBRATION_MIN_AGREEMENT: String(config.calibrationMinAgreement),
        CALIBRATION_MAX_WEIGHT_ERROR: String(config.calibrationMaxWeightError),
      },
      { memorySize: 512, timeout: Duration.minutes(15) },
    );
    allow(calibrate, grantee(calibrate), {
      actions: ['bedrock:InvokeModel'],
      resources: modelInvokeArns(this, config.teacherModelId),
    });

    // A shard of 100 queries under throttling may take minutes: the full Lambda limit, memory for concurrency.
    const generateShard = fn(
      'GenerateShard',
      'generation/generate-shard',
      'The teacher writes and labels one shard of queries',
      {
        BUCKET_NAME: bucket.bucketName,
        TEACHER_MODEL_ID: config.teacherModelId,
        INCLUDE_REASONING: String(config.includeReasoning),
        LABEL_CONCURRENCY: String(config.labelConcurrency),
      },
      { memorySize: 512, timeout: Duration.minutes(15) },
    );
    allow(generateShard, grantee(generateShard), {
      actions: ['bedrock:InvokeModel'],
      resources: modelInvokeArns(this, config.teacherModelId),
    });

    // Reads up to ~50,000 labelled queries and builds the files in memory.
    const assemble = fn(
      'Assemble',
      'generation/assemble',
      'Dedupes, validates, rebalances and splits the dataset',
      {
        BUCKET_NAME: bucket.bucketName,
        TEACHER_MODEL_ID: config.teacherModelId,
        MIN_GENERATION_SUCCESS_RATE: String(config.minGenerationSuccessRate),
        INCLUDE_REASONING: String(config.includeReasoning),
        PRICE_TABLE: JSON.stringify(config.priceTable),
        ...counts,
      },
      { memorySize: 1769, timeout: Duration.minutes(5) },
    );

    const s3Objects = (f: Function, actions: string[], patterns: string[]) => {
      allow(f, grantee(f), {
        actions,
        resources: patterns.map((p) => bucket.arnForObjects(p)),
        wildcardReason: RUN_OBJECTS,
      });
      // Without ListBucket a missing key reads as AccessDenied instead of NoSuchKey, and "already written?" needs it.
      allow(f, grantee(f), {
        actions: ['s3:ListBucket'],
        resources: [bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': ['runs/*'] } },
      });
      allow(f, grantee(f), {
        actions: actions.includes('s3:PutObject') ? ['kms:Decrypt', 'kms:GenerateDataKey'] : ['kms:Decrypt'],
        resources: [key.keyArn],
        conditions: viaService(this, 's3'),
      });
    };
    // The run's owner record: written once by the run's first execution, read when a retry or a later one finds it.
    s3Objects(preflight, ['s3:GetObject', 's3:PutObject'], ['runs/*/owner.json']);
    s3Objects(plan, ['s3:GetObject', 's3:PutObject'], ['runs/*/shards/plan.json', 'runs/*/production/*']);
    allow(plan, grantee(plan), {
      actions: ['s3:GetObject'],
      resources: [bucket.arnForObjects(`${PRODUCTION_RECORDS_PREFIX}*`)],
      wildcardReason: PRODUCTION_RECORDS,
    });
    allow(plan, grantee(plan), {
      actions: ['s3:ListBucket'],
      resources: [bucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': [`${PRODUCTION_RECORDS_PREFIX}*`] } },
    });
    s3Objects(calibrate, ['s3:GetObject', 's3:PutObject'], ['runs/*/calibration.json']);
    s3Objects(generateShard, ['s3:GetObject', 's3:PutObject'], ['runs/*/shards/*']);
    // The calibration goes into the manifest.
    s3Objects(assemble, ['s3:GetObject'], ['runs/*/shards/*', 'runs/*/production/*', 'runs/*/calibration.json']);
    s3Objects(assemble, ['s3:GetObject', 's3:PutObject'], ['runs/*/dataset/*']);
    this.functions = { preflight, plan, calibrate, generateShard, assemble };

    // --- states -------------------------------------------------------------------------------------------------
    const S = GENERATION_STATES;
    const preflightStep = invokeStep(this, S.preflight, {
      fn: preflight.function,
      resultKey: RESULT_KEYS.preflight,
      // The execution input may override the run's example counts (`npm run pipeline -- start --examples N`).
      // The execution id and start time identify the run's owner (runs/<runId>/owner.json).
      payload: sfn.TaskInput.fromObject({
        runId: sfn.JsonPath.executionName,
        executionId: sfn.JsonPath.executionId,
        startTime: sfn.JsonPath.executionStartTime,
        input: sfn.JsonPath.objectAt('$'),
      }),
      failure: this.failure,
    });
    const planStep = invokeStep(this, S.plan, {
      fn: plan.function,
      resultKey: RESULT_KEYS.plan,
      // `fromProduction` as Preflight checked it (`{enabled: false}` for a synthetic-only run).
      payload: sfn.TaskInput.fromObject({
        ...RUN_AND_COUNTS,
        fromProduction: sfn.JsonPath.objectAt('$.preflight.fromProduction'),
      }),
      failure: this.failure,
      retryBedrock: false,
    });
    // Before any shard spends: how many queries each labelling call carries (measured, or fixed by the config).
    const calibrateStep = invokeStep(this, S.calibrate, {
      fn: calibrate.function,
      resultKey: RESULT_KEYS.calibration,
      payload: sfn.TaskInput.fromObject({
        runId: sfn.JsonPath.stringAt('$.plan.runId'),
        shardCount: sfn.JsonPath.numberAt('$.plan.shardCount'),
      }),
      failure: this.failure,
    });
    const generate = new sfn.DistributedMap(this, S.generate, {
      itemsPath: '$.plan.shards',
      itemSelector: {
        runId: sfn.JsonPath.stringAt('$.plan.runId'),
        shard: sfn.JsonPath.objectAt('$$.Map.Item.Value'),
        labelBatchSize: sfn.JsonPath.numberAt('$.calibration.labelBatchSize'),
      },
      maxConcurrency: config.generationConcurrency,
      toleratedFailurePercentage: config.maxShardFailurePercent,
      // A shard may take up to 15 minutes: Express child workflows stop at 5.
      mapExecutionType: sfn.StateMachineType.STANDARD,
      // Shards are in S3 and Assemble reads them there; the Map's output would only grow the state.
      resultPath: sfn.JsonPath.DISCARD,
    });
    generate.itemProcessor(
      invokeStep(this, S.generateShard, {
        fn: generateShard.function,
        resultKey: RESULT_KEYS.generateShard,
        // Inside the Map: an error fails the iteration (after the retries); the Map counts it.
        failure: undefined,
      }),
    );
    this.failure.catchInto(generate, S.generate);
    const assembleStep = invokeStep(this, S.assemble, {
      fn: assemble.function,
      resultKey: RESULT_KEYS.assemble,
      payload: sfn.TaskInput.fromObject(RUN_AND_COUNTS),
      failure: this.failure,
      retryBedrock: false,
    });

    // A run that reuses a dataset never gets here: it neither calibrates nor generates.
    const generation = sfn.Chain.start(planStep)
      .next(calibrateStep)
      .next(generate)
      .next(assembleStep)
      .next(props.afterAssemble?.(this.failure) ?? new sfn.Succeed(this, S.done));
    // Preflight always runs: a reused dataset still needs live models and a valid region.
    const chain = sfn.Chain.start(preflightStep).next(
      props.reuseDataset
        ? new sfn.Choice(this, S.reuseDataset)
            .when(sfn.Condition.isPresent('$.reuseDatasetFromRun'), props.reuseDataset)
            .otherwise(generation)
        : generation,
    );

    // --- state machine ------------------------------------------------------------------------------------------
    // Execution history with every step's input and output: kept with the data it describes (retainData).
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: config.logRetentionDays,
      removalPolicy: config.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName: stateMachineName(config.envName),
      definitionBody: sfn.DefinitionBody.fromChainable(chain),
      // The canary runs on live traffic for its own window: it does not eat into the training's budget.
      timeout: executionTimeout(config),
      tracingEnabled: true,
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
    });
    // The failure notification goes to a KMS-encrypted topic.
    allow(this.stateMachine, this.stateMachine, {
      actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
      resources: [notifications.key.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `sns.${Stack.of(this).region}.amazonaws.com` } },
    });
    this.acknowledgeStateMachineGrants(Object.values(this.functions));
    this.acknowledgeDistributedMapGrants();
  }

  /**
   * The Distributed Map runs each shard as a child execution of this state machine: CDK grants StartExecution on it
   * and Describe/StopExecution on its executions, whose names Step Functions generates (hence the `*`).
   */
  private acknowledgeDistributedMapGrants(): void {
    const policy = this.stateMachine.node.tryFindChild('DistributedMapPolicy');
    if (!(policy instanceof iam.Policy)) return;
    const stack = Stack.of(this);
    const document = stack.resolve(policy.document.toJSON()) as { Statement?: { Resource?: unknown }[] };
    for (const statement of document.Statement ?? []) {
      const resources = Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
      for (const resource of resources) {
        const flat = flattenCfnReference(resource);
        if (!flat.includes('*')) continue;
        Validations.of(policy).acknowledge({
          id: `AwsSolutions-IAM5[Resource::${flat}]`,
          reason:
            'The Distributed Map runs each shard as a child execution of this state machine; Step Functions names ' +
            "those executions itself, so only the state machine's own execution ARNs can be granted (prefix + *).",
        });
      }
    }
  }

  /**
   * The grants Step Functions itself needs and that AWS offers no narrower resource for; and the `<function>:*`
   * versions LambdaInvoke grants. Later stages call it for their own functions.
   */
  acknowledgeStateMachineGrants(functions: readonly Function[]): void {
    acknowledgeInvokeGrants(this.stateMachine, functions);
    Validations.of(this.stateMachine).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray tracing (PutTraceSegments, GetSamplingRules…) and CloudWatch Logs delivery (CreateLogDelivery…) ' +
        'support no resource-level permissions.',
    });
  }
}
