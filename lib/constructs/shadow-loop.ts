import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as bedrock from 'aws-cdk-lib/aws-bedrock';
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
import { SHADOW_ANSWERED_BY_DIMENSION, SHADOW_METRIC } from '../../lambda/core/shadow';
import { DRIFT_BASELINE_PREFIX } from '../../lambda/shadow/drift-figures';
import { DRIFT_ENVIRONMENT, LABELLER_ENVIRONMENT, NO_REDACTION } from '../../lambda/shadow/environment';
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
/** The event source's batching window: samples arriving within it share an invocation (and teacher batch calls). */
export const LABELLER_BATCHING_WINDOW_SECONDS = 60;
/**
 * The labeller-failures alarm: the share of samples without a usable label (plus failed invocations) over an hour,
 * once at least LABELLER_FAILURE_MIN_COUNT of them were handled — not a single failure, which the teacher's occasional
 * unparseable reply makes routine. A teacher that fails every call still alarms within the hour at the default rate
 * (~14 samples an hour), and the dead-letter alarm catches what never succeeds at any rate.
 */
export const LABELLER_FAILURE_RATE = 0.1;
export const LABELLER_FAILURE_MIN_COUNT = 10;
export const LABELLER_FAILURE_PERIOD = Duration.hours(1);
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
  | 'shadowLabelBatchSize'
  | 'redactPiiTypes'
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
  /** Masks personal data in sampled queries (redactPiiTypes); undefined when redaction is off. */
  readonly redaction?: bedrock.CfnGuardrail;
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

    if (config.redactPiiTypes.length > 0) {
      // Masking only (ANONYMIZE), on the input: the labeller applies it alone (ApplyGuardrail) to each sampled query.
      this.redaction = new bedrock.CfnGuardrail(this, 'Redaction', {
        name: `intent-router-${config.envName}-redaction`,
        description: 'Masks personal data in sampled live queries before they are labelled or stored',
        // Required by the API; never shown: no policy of this guardrail blocks.
        blockedInputMessaging: 'Blocked by the intent-router redaction guardrail.',
        blockedOutputsMessaging: 'Blocked by the intent-router redaction guardrail.',
        sensitiveInformationPolicyConfig: {
          piiEntitiesConfig: config.redactPiiTypes.map((type) => ({
            type,
            action: 'ANONYMIZE',
            inputAction: 'ANONYMIZE',
            inputEnabled: true,
            outputAction: 'NONE',
            outputEnabled: false,
          })),
        },
      });
    }

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
        labelBatchSize: config.shadowLabelBatchSize,
        activeModelParameterName: activeModelParameterName(config.envName),
        redactionGuardrailId: this.redaction?.attrGuardrailId ?? NO_REDACTION,
      }),
    });
    const labeller = this.labeller.function;
    labeller.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: config.labellerBatchSize,
        maxBatchingWindow: Duration.seconds(LABELLER_BATCHING_WINDOW_SECONDS),
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
    if (this.redaction) {
      // The redaction guardrail and nothing else (its ARN covers its DRAFT, the version the labeller applies).
      allow(this.labeller, labeller, {
        actions: ['bedrock:ApplyGuardrail'],
        resources: [this.redaction.attrGuardrailArn],
      });
    }
    allow(this.labeller, labeller, {
      actions: ['s3:PutObject'],
      resources: [dataset.bucket.arnForObjects(`${PRODUCTION_RECORDS_PREFIX}*`)],
      wildcardReason:
        'One object per labeller batch under production/records/date=<day>/: the key names the batch, known only at run time.',
    });
    // shadowLabelBatchSize auto: the promoted run (by the parameter) and its calibrated batch size.
    allowParameter(this.labeller, activeModelParameterName(config.envName), false);
    allow(this.labeller, labeller, {
      actions: ['s3:GetObject'],
      resources: [dataset.bucket.arnForObjects('runs/*/calibration.json')],
      wildcardReason: 'The promoted run’s calibration (its labelBatchSize); the run id is read at run time.',
    });
    allow(this.labeller, labeller, {
      actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
      resources: [dataset.key.keyArn],
      conditions: viaService(this, 's3'),
    });

    this.drift = new Function(this, 'Drift', {
      entry: 'shadow/drift.ts',
      description: 'Hourly: drift of live dominant modalities against the live mix the promoted run was trained on',
      serviceName: SHADOW_SERVICE_NAME,
      logRetentionDays: config.logRetentionDays,
      retainLogs: config.retainData,
      memorySize: 512,
      timeout: Duration.minutes(5),
      environment: DRIFT_ENVIRONMENT.values({
        bucketName: dataset.bucket.bucketName,
        activeModelParameterName: activeModelParameterName(config.envName),
        baselineMinSamples: config.shadowMinSamples,
      }),
    });
    const drift = this.drift.function;
    allowParameter(this.drift, activeModelParameterName(config.envName), false);
    allow(this.drift, drift, {
      actions: ['s3:GetObject'],
      resources: [
        dataset.bucket.arnForObjects(`${PRODUCTION_RECORDS_PREFIX}*`),
        dataset.bucket.arnForObjects('runs/*/production/selection.jsonl'),
        dataset.bucket.arnForObjects(`${DRIFT_BASELINE_PREFIX}*`),
      ],
      wildcardReason:
        'The window’s production records (one object per labeller batch, by day), the promoted run’s production ' +
        'selection and its drift baseline, whose run id is read from the active-model parameter at run time.',
    });
    allow(this.drift, drift, {
      actions: ['s3:PutObject'],
      resources: [dataset.bucket.arnForObjects(`${DRIFT_BASELINE_PREFIX}*`)],
      wildcardReason:
        'One drift baseline per promoted run (production/drift-baseline/<runId>.json), written once; the run id is ' +
        'read at run time.',
    });
    allow(this.drift, drift, {
      actions: ['s3:ListBucket'],
      resources: [dataset.bucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': [`${PRODUCTION_RECORDS_PREFIX}*`, 'runs/*'] } },
    });
    allow(this.drift, drift, {
      actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
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
    // The student's answers, fresh or from the router's cache (answeredBy, lambda/core/shadow.ts).
    const student = { [SHADOW_ANSWERED_BY_DIMENSION]: 'student' };
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
          `The promoted student (its answers fresh or from the router's cache) agreed with the teacher on the dominant ` +
          `modality of fewer than ` +
          `${config.minDominantAgreement * 100}% of at least ${config.shadowMinSamples} shadow samples over ` +
          `${AGREEMENT_ALARM_PERIOD.toHours()} h (the gate's minDominantAgreement). Live traffic has moved away from ` +
          'what it learned: check the drift alarm, then start a run with --from-production.',
      }),
      drift: alarm('DriftAlarm', {
        alarmName: names.drift,
        metric: new cloudwatch.MathExpression({
          label: 'Drift from the live mix at training (Jensen–Shannon, enough samples)',
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
          `The dominant modalities of the last 24 h of live traffic (teacher labels) diverge by more than ` +
          `${config.driftThreshold} (Jensen–Shannon, 0-1) for 2 hours from the live mix the promoted run was trained ` +
          `on (not its training set, which Assemble evens out): its production selection's shares when it learned ` +
          `from production, else the first full 24 h window after promotion with ${config.shadowMinSamples}+ samples ` +
          `(stored at ${DRIFT_BASELINE_PREFIX}<runId>.json). The drift function's "drift measured" log line names ` +
          'the baseline (baseline, baselineSource). The student may still agree (see the agreement alarm); a run ' +
          'with --from-production retrains on the new mix.',
      }),
      labellerFailures: alarm('LabellerFailuresAlarm', {
        alarmName: names.labellerFailures,
        // The failure rate; below the minimum count it reads 0 (no alarm on one failure among a few samples).
        metric: new cloudwatch.MathExpression({
          label: 'Labeller failure rate (failed samples and invocations / all handled, enough of them)',
          expression:
            `IF((FILL(errors, 0) + FILL(failures, 0) + FILL(labelled, 0)) >= ${LABELLER_FAILURE_MIN_COUNT}, ` +
            '(FILL(errors, 0) + FILL(failures, 0)) / (FILL(errors, 0) + FILL(failures, 0) + FILL(labelled, 0)), 0)',
          usingMetrics: {
            errors: this.labeller.function.metricErrors({ period: LABELLER_FAILURE_PERIOD }),
            failures: metric(SHADOW_METRIC.failures, 'Sum', LABELLER_FAILURE_PERIOD),
            labelled: metric(SHADOW_METRIC.labelled, 'Sum', LABELLER_FAILURE_PERIOD),
          },
          period: LABELLER_FAILURE_PERIOD,
        }),
        threshold: LABELLER_FAILURE_RATE,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        alarmDescription:
          `More than ${LABELLER_FAILURE_RATE * 100}% of the shadow samples (and labeller invocations) of the last ` +
          `${LABELLER_FAILURE_PERIOD.toHours()} h got no usable label, once at least ${LABELLER_FAILURE_MIN_COUNT} ` +
          'were handled: teacher errors after retries, unparseable labels, malformed messages or a failing labeller. ' +
          'See the labeller log group. Throttling: lower labellerConcurrency. Samples that never succeed also reach ' +
          'the dead-letter alarm.',
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
