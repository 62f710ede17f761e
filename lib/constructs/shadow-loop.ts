import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as kms from 'aws-cdk-lib/aws-kms';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { PRODUCTION_RECORDS_PREFIX } from '../../lambda/core/production-records';
import { SHADOW_METRIC } from '../../lambda/core/shadow';
import { DRIFT_ENVIRONMENT, LABELLER_ENVIRONMENT } from '../../lambda/shadow/environment';
import type { AppConfig } from '../config';
import { activeModelParameterName, shadowAlarmNames, shadowQueueName } from '../naming';
import type { DatasetBucket } from './dataset-bucket';
import { Function } from './function';
import { allow, allowParameter, modelInvokeArns, viaService } from './pipeline/bedrock-roles';

/** Powertools service name of the labeller and the drift function: the `service` dimension of their metrics. */
export const SHADOW_SERVICE_NAME = 'intent-router-shadow';

/** The labeller's timeout: a batch of 10 messages × 25 samples at 4 calls in flight, with throttling backoff. */
export const LABELLER_TIMEOUT = Duration.minutes(3);
/** Redeliveries before a message goes to the DLQ: throttling lasting ~5 × the visibility timeout is given up on. */
export const MAX_RECEIVE_COUNT = 5;
/**
 * The agreement alarm's window, the drift window's day: at the default 0.1 % of 10M queries a month (~14 samples an
 * hour) a day holds ~330 samples, over the default shadowMinSamples (200); below that many the alarm stays quiet.
 * An incumbent's agreement moves with its traffic, over days; a broken model is caught within minutes by the
 * router's invalid-reply and fallback alarms, and a candidate by the canary's own alarms.
 */
export const AGREEMENT_ALARM_PERIOD = Duration.hours(24);
/** The labeller's memory (the serving cost prices its wait for the teacher with it). */
export const LABELLER_MEMORY_MB = 512;

export type ShadowLoopConfig = Pick<
  AppConfig,
  | 'envName'
  | 'teacherModelId'
  | 'priceTable'
  | 'logRetentionDays'
  | 'retainData'
  | 'shadowQueueRetentionHours'
  | 'shadowMinSamples'
  | 'driftThreshold'
  | 'minDominantAgreement'
  | 'labellerConcurrency'
  | 'labellerBatchSize'
>;

export interface ShadowLoopProps {
  readonly config: ShadowLoopConfig;
  readonly dataset: DatasetBucket;
  readonly topic: sns.ITopic;
}

/**
 * The production loop's pipeline-stack half: the hand-off queue the router sends sampled queries to (by its
 * conventional name), the shadow labeller behind it, the hourly drift function, and their alarms.
 */
export class ShadowLoop extends Construct {
  readonly key: kms.Key;
  readonly queue: sqs.Queue;
  readonly deadLetters: sqs.Queue;
  readonly labeller: Function;
  readonly drift: Function;
  readonly alarms: Record<'agreement' | 'drift' | 'labellerFailures' | 'deadLetters', cloudwatch.Alarm>;

  constructor(scope: Construct, id: string, props: ShadowLoopProps) {
    super(scope, id);
    const { config, dataset } = props;

    // Customer-managed: the messages hold live queries. The router (another stack) finds it by the project's tags
    // and may use it only through SQS (lib/constructs/router-grants.ts).
    this.key = new kms.Key(this, 'Key', {
      description: 'Encrypts the intent-router shadow hand-off queue (live queries)',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.deadLetters = new sqs.Queue(this, 'DeadLetters', {
      queueName: `${shadowQueueName(config.envName)}-dlq`,
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: this.key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetters).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This is the dead-letter queue of the shadow hand-off queue; its depth is alarmed.',
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      queueName: shadowQueueName(config.envName),
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: this.key,
      enforceSSL: true,
      retentionPeriod: Duration.hours(config.shadowQueueRetentionHours),
      // AWS's advice for Lambda event sources: at least six times the function timeout (retries inside a batch).
      visibilityTimeout: Duration.seconds(LABELLER_TIMEOUT.toSeconds() * 6),
      deadLetterQueue: { queue: this.deadLetters, maxReceiveCount: MAX_RECEIVE_COUNT },
    });

    this.labeller = new Function(this, 'Labeller', {
      entry: 'shadow/labeller.ts',
      description: 'The teacher labels sampled live queries: agreement, weight error, production records',
      serviceName: SHADOW_SERVICE_NAME,
      logRetentionDays: config.logRetentionDays,
      retainLogs: config.retainData,
      memorySize: LABELLER_MEMORY_MB,
      timeout: LABELLER_TIMEOUT,
      environment: LABELLER_ENVIRONMENT.values({
        bucketName: dataset.bucket.bucketName,
        teacherModelId: config.teacherModelId,
        priceTable: config.priceTable,
      }),
    });
    const labeller = this.labeller.function;
    labeller.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: config.labellerBatchSize,
        maxBatchingWindow: Duration.seconds(60),
        // The teacher's quota is shared with the pipeline's generation: this × LABELLER_CALLS_PER_INVOCATION calls.
        maxConcurrency: config.labellerConcurrency,
        reportBatchItemFailures: true,
      }),
    );
    // The teacher and nothing else of Bedrock (its profile and foundation models, as the Generate stage's grant).
    allow(this.labeller, labeller, {
      actions: ['bedrock:InvokeModel'],
      resources: modelInvokeArns(this, config.teacherModelId),
    });
    allow(this.labeller, labeller, {
      actions: ['s3:PutObject'],
      resources: [dataset.bucket.arnForObjects(`${PRODUCTION_RECORDS_PREFIX}*`)],
      wildcardReason:
        'One object per labeller batch under production/records/date=<day>/: the key names the batch, known only at run time.',
    });
    allow(this.labeller, labeller, {
      actions: ['kms:GenerateDataKey'],
      resources: [dataset.key.keyArn],
      conditions: viaService(this, 's3'),
    });

    this.drift = new Function(this, 'Drift', {
      entry: 'shadow/drift.ts',
      description: 'Hourly: drift of live dominant modalities against the promoted run’s training set',
      serviceName: SHADOW_SERVICE_NAME,
      logRetentionDays: config.logRetentionDays,
      retainLogs: config.retainData,
      memorySize: 512,
      timeout: Duration.minutes(5),
      environment: DRIFT_ENVIRONMENT.values({
        bucketName: dataset.bucket.bucketName,
        activeModelParameterName: activeModelParameterName(config.envName),
      }),
    });
    const drift = this.drift.function;
    allowParameter(this.drift, activeModelParameterName(config.envName), false);
    allow(this.drift, drift, {
      actions: ['s3:GetObject'],
      resources: [
        dataset.bucket.arnForObjects(`${PRODUCTION_RECORDS_PREFIX}*`),
        dataset.bucket.arnForObjects('runs/*/dataset/manifest.json'),
      ],
      wildcardReason:
        'The window’s production records (one object per labeller batch, by day) and the promoted run’s manifest, ' +
        'whose run id is read from the active-model parameter at run time.',
    });
    allow(this.drift, drift, {
      actions: ['s3:ListBucket'],
      resources: [dataset.bucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': [`${PRODUCTION_RECORDS_PREFIX}*`, 'runs/*'] } },
    });
    allow(this.drift, drift, {
      actions: ['kms:Decrypt'],
      resources: [dataset.key.keyArn],
      conditions: viaService(this, 's3'),
    });
    new events.Rule(this, 'Hourly', {
      description: 'Measures shadow drift every hour',
      schedule: events.Schedule.rate(Duration.hours(1)),
      targets: [new targets.LambdaFunction(drift, { retryAttempts: 2 })],
    });

    this.alarms = this.createAlarms(props);
  }

  private createAlarms({ config, topic }: ShadowLoopProps): ShadowLoop['alarms'] {
    const names = shadowAlarmNames(config.envName);
    const metric = (metricName: string, statistic: string, period: Duration, dims: Record<string, string> = {}) =>
      new cloudwatch.Metric({
        namespace: 'DistilledIntentRouter',
        metricName,
        dimensionsMap: { service: SHADOW_SERVICE_NAME, ...dims },
        statistic,
        period,
      });
    const student = { source: 'student' };
    const notify = new actions.SnsAction(topic);
    const alarm = (id: string, props: cloudwatch.AlarmProps) => {
      const created = new cloudwatch.Alarm(this, id, {
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        ...props,
      });
      created.addAlarmAction(notify);
      return created;
    };
    const hour = Duration.hours(1);
    return {
      agreement: alarm('AgreementAlarm', {
        alarmName: names.agreement,
        // Too few samples read as full agreement: no alarm on noise.
        metric: new cloudwatch.MathExpression({
          label: 'Student dominant agreement with the teacher (enough samples)',
          expression: `IF(n >= ${config.shadowMinSamples}, agreement, 1)`,
          usingMetrics: {
            agreement: metric(SHADOW_METRIC.agreement, 'Average', AGREEMENT_ALARM_PERIOD, student),
            n: metric(SHADOW_METRIC.agreement, 'SampleCount', AGREEMENT_ALARM_PERIOD, student),
          },
          period: AGREEMENT_ALARM_PERIOD,
        }),
        threshold: config.minDominantAgreement,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        alarmDescription:
          `The promoted student agreed with the teacher on the dominant modality of fewer than ` +
          `${config.minDominantAgreement * 100}% of at least ${config.shadowMinSamples} shadow samples over ` +
          `${AGREEMENT_ALARM_PERIOD.toHours()} h (the gate's minDominantAgreement). Live traffic has moved away from ` +
          'what it learned: check the drift alarm, then start a run with --from-production.',
      }),
      drift: alarm('DriftAlarm', {
        alarmName: names.drift,
        metric: new cloudwatch.MathExpression({
          label: 'Drift (Jensen–Shannon, enough samples)',
          expression: `IF(n >= ${config.shadowMinSamples}, drift, 0)`,
          usingMetrics: {
            drift: metric(SHADOW_METRIC.drift, 'Maximum', hour),
            n: metric(SHADOW_METRIC.driftSamples, 'Maximum', hour),
          },
          period: hour,
        }),
        threshold: config.driftThreshold,
        evaluationPeriods: 2,
        datapointsToAlarm: 2,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        alarmDescription:
          `The dominant modalities of the last 24 h of live traffic (teacher labels) diverge from the promoted run's ` +
          `training set by more than ${config.driftThreshold} (Jensen–Shannon, 0-1) for 2 hours. The student may ` +
          'still agree (see the agreement alarm); a run with --from-production retrains on the new mix.',
      }),
      labellerFailures: alarm('LabellerFailuresAlarm', {
        alarmName: names.labellerFailures,
        metric: new cloudwatch.MathExpression({
          label: 'Labeller errors + label failures',
          expression: 'FILL(errors, 0) + FILL(failures, 0)',
          usingMetrics: {
            errors: this.labeller.function.metricErrors({ period: Duration.minutes(15) }),
            failures: metric(SHADOW_METRIC.failures, 'Sum', Duration.minutes(15)),
          },
          period: Duration.minutes(15),
        }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        alarmDescription:
          'The shadow labeller failed, or samples got no usable label (teacher errors after retries, unparseable ' +
          'labels, malformed messages): see the labeller log group. Throttling: lower labellerConcurrency.',
      }),
      deadLetters: alarm('DeadLettersAlarm', {
        alarmName: names.deadLetters,
        metric: this.deadLetters.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(5),
          statistic: 'Maximum',
        }),
        threshold: 0,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        alarmDescription:
          `Shadow samples failed ${MAX_RECEIVE_COUNT} times and wait in the dead-letter queue (kept 14 days): ` +
          'fix the cause (teacher access, throttling), then redrive them to the queue (SQS console: Start DLQ redrive).',
      }),
    };
  }
}
