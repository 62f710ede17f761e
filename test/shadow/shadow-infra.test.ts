import { Match, Template } from 'aws-cdk-lib/assertions';
import { nagFindings, synth } from '../helpers/app';
import {
  LABELLER_FAILURE_MIN_COUNT,
  LABELLER_FAILURE_RATE,
  LABELLER_TIMEOUT,
  MAX_RECEIVE_COUNT,
} from '../../lib/constructs/shadow-loop';
import { LIVE_QUERIES_TAG } from '../../lambda/core/production-records';

const LIVE_QUERIES_TAG_FILTER = { Key: LIVE_QUERIES_TAG.key, Value: LIVE_QUERIES_TAG.value };
import { shadowAlarmNames, shadowQueueName } from '../../lib/naming';

type Statement = { Action: string | string[]; Resource: unknown; Condition?: Record<string, Record<string, unknown>> };

/** Every statement of the policies attached to the role of the function whose description starts with `prefix`. */
function statementsOf(template: Template, prefix: string): Statement[] {
  const functions = template.findResources('AWS::Lambda::Function', {
    Properties: { Description: Match.stringLikeRegexp(`^${prefix}`) },
  });
  const [fn] = Object.values(functions) as { Properties: { Role: { 'Fn::GetAtt': [string, string] } } }[];
  if (!fn) throw new Error(`no function described "${prefix}…"`);
  const role = fn.Properties.Role['Fn::GetAtt'][0];
  const policies = template.findResources('AWS::IAM::Policy') as Record<
    string,
    { Properties: { Roles: { Ref: string }[]; PolicyDocument: { Statement: Statement[] } } }
  >;
  return Object.values(policies)
    .filter((p) => p.Properties.Roles.some((r) => r.Ref === role))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
}
const actionsOf = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
const text = (v: unknown): string => JSON.stringify(v) ?? '';

describe('production loop: pipeline stack', () => {
  const { templates, stacks, config } = synth();
  const pipeline = templates.pipeline;

  it('hand-off queue: customer-managed KMS key, configured retention, DLQ by redrive policy, TLS only', () => {
    pipeline.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: shadowQueueName('dev'),
      KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ShadowKey'), 'Arn'] },
      MessageRetentionPeriod: config.shadowQueueRetentionHours * 3600,
      VisibilityTimeout: LABELLER_TIMEOUT.toSeconds() * 6,
      RedrivePolicy: {
        deadLetterTargetArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ShadowDeadLetters'), 'Arn'] },
        maxReceiveCount: MAX_RECEIVE_COUNT,
      },
    });
    pipeline.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: `${shadowQueueName('dev')}-dlq`,
      KmsMasterKeyId: Match.anyValue(),
      MessageRetentionPeriod: 14 * 86400,
    });
    pipeline.hasResourceProperties('AWS::KMS::Key', {
      Description: Match.stringLikeRegexp('shadow hand-off queue'),
      EnableKeyRotation: true,
    });
    expect(text(pipeline.findResources('AWS::SQS::QueuePolicy'))).toContain('aws:SecureTransport');
  });

  it('redaction guardrail: masks (ANONYMIZE) the configured PII types on the input only; the labeller gets its id', () => {
    const guardrails = pipeline.findResources('AWS::Bedrock::Guardrail');
    expect(Object.keys(guardrails)).toHaveLength(1);
    const entities = text(guardrails);
    expect(entities).toContain(
      '{"Action":"ANONYMIZE","InputAction":"ANONYMIZE","InputEnabled":true,"OutputAction":"NONE","OutputEnabled":false,"Type":"EMAIL"}',
    );
    expect(entities).not.toContain('"Type":"NAME"');
    expect(entities).not.toContain('BLOCK"');
    pipeline.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('^The teacher labels sampled live queries'),
      Environment: {
        Variables: Match.objectLike({
          REDACTION_GUARDRAIL_ID: { 'Fn::GetAtt': [Object.keys(guardrails)[0], 'GuardrailId'] },
        }),
      },
    });
  });

  it('with redactPiiTypes=none: no guardrail, no ApplyGuardrail grant, the labeller told so', () => {
    const off = synth({ redactPiiTypes: 'none' }).templates.pipeline;
    off.resourceCountIs('AWS::Bedrock::Guardrail', 0);
    expect(text(statementsOf(off, 'The teacher labels sampled live queries'))).not.toContain('ApplyGuardrail');
    off.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('^The teacher labels sampled live queries'),
      Environment: { Variables: Match.objectLike({ REDACTION_GUARDRAIL_ID: 'none' }) },
    });
  });

  it('queue retention follows the config', () => {
    const other = synth({ shadowQueueRetentionHours: '24' }).templates.pipeline;
    other.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: shadowQueueName('dev'),
      MessageRetentionPeriod: 86400,
    });
  });

  it('event source: batch size, batching window, bounded concurrency, partial batch failures', () => {
    pipeline.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: config.labellerBatchSize,
      MaximumBatchingWindowInSeconds: 60,
      ScalingConfig: { MaximumConcurrency: config.labellerConcurrency },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    const custom = synth({ labellerConcurrency: '5', labellerBatchSize: '20' }).templates.pipeline;
    custom.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 20,
      ScalingConfig: { MaximumConcurrency: 5 },
    });
  });

  it('labeller IAM: bedrock:InvokeModel on the teacher and ApplyGuardrail on the redaction guardrail only, nothing else of Bedrock; writes production records only, reads only calibrations', () => {
    const statements = statementsOf(pipeline, 'The teacher labels sampled live queries');
    const bedrock = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('bedrock:')));
    expect(bedrock.map(actionsOf)).toEqual([['bedrock:InvokeModel'], ['bedrock:ApplyGuardrail']]);
    // The detector: the stack's own guardrail by its ARN, no wildcard.
    const [guardrailId] = Object.keys(pipeline.findResources('AWS::Bedrock::Guardrail'));
    expect(bedrock[1]?.Resource).toEqual({ 'Fn::GetAtt': [guardrailId, 'GuardrailArn'] });
    const resources = text(bedrock[0]?.Resource);
    expect(resources).toContain('inference-profile/us.amazon.nova-pro-v1:0');
    expect(resources).toContain('foundation-model/amazon.nova-pro-v1:0');
    expect(resources).not.toMatch(/custom-model|\*"/);
    const s3 = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('s3:')));
    expect(s3.flatMap(actionsOf).sort()).toEqual(['s3:GetObject', 's3:PutObject']);
    const put = s3.find((s) => actionsOf(s).includes('s3:PutObject'));
    expect(text(put?.Resource)).toContain('/production/records/*');
    const get = s3.find((s) => actionsOf(s).includes('s3:GetObject'));
    expect(text(get?.Resource)).toContain('/runs/*/calibration.json');
    // shadowLabelBatchSize auto: the promoted run by the parameter, and the environment says so.
    expect(text(statements)).toContain('parameter/intent-router/dev/active-model');
  });

  it('alarms: agreement (only with enough samples), drift, labeller failures, DLQ depth — to the notifications topic', () => {
    const names = shadowAlarmNames('dev');
    const alarms = pipeline.findResources('AWS::CloudWatch::Alarm');
    const byName = (name: string) =>
      Object.values(alarms).find((a) => (a as { Properties: { AlarmName?: string } }).Properties.AlarmName === name) as
        { Properties: Record<string, unknown> } | undefined;
    const agreement = byName(names.agreement);
    expect(agreement?.Properties).toMatchObject({
      Threshold: config.minDominantAgreement,
      ComparisonOperator: 'LessThanThreshold',
    });
    expect(text(agreement?.Properties['Metrics'])).toContain(`IF(n >= ${config.shadowMinSamples}, agreement, 1)`);
    // The student's answers, fresh or cached (AnsweredBy), not only source=student.
    expect(text(agreement?.Properties['Metrics'])).toContain('"AnsweredBy","Value":"student"');
    expect(text(agreement?.Properties['Metrics'])).not.toContain('"source"');
    const drift = byName(names.drift);
    expect(drift?.Properties).toMatchObject({
      Threshold: config.driftThreshold,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    expect(text(drift?.Properties['Metrics'])).toContain('ShadowDrift');
    // It says which baseline drift is measured against.
    expect(drift?.Properties['AlarmDescription']).toMatch(/production selection's shares/);
    expect(drift?.Properties['AlarmDescription']).toMatch(/first full 24 h window after promotion/);
    // A rate over an hour with a minimum count, not one failure.
    const failures = byName(names.labellerFailures);
    expect(failures?.Properties).toMatchObject({
      Threshold: LABELLER_FAILURE_RATE,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
    });
    const failureMetrics = text(failures?.Properties['Metrics']);
    expect(failureMetrics).toContain('ShadowLabelFailures');
    expect(failureMetrics).toContain('ShadowSamplesLabelled');
    expect(failureMetrics).toContain(`>= ${LABELLER_FAILURE_MIN_COUNT}`);
    expect(failureMetrics).toContain('"Period":3600');
    const dlq = byName(names.deadLetters);
    expect(dlq?.Properties).toMatchObject({
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    for (const name of Object.values(names)) {
      expect(text(byName(name)?.Properties['AlarmActions'])).toMatch(/NotificationsTopic/);
    }
  });

  it('drift runs hourly, reads the parameter by name and only what it needs; writes only its baseline', () => {
    pipeline.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 hour)' });
    const statements = statementsOf(pipeline, 'Hourly: drift');
    const puts = statements.filter((s) => actionsOf(s).includes('s3:PutObject'));
    expect(puts.flatMap(actionsOf)).toEqual(['s3:PutObject']);
    expect(text(puts[0]?.Resource)).toContain('/production/drift-baseline/*');
    expect(text(statements)).toContain('/production/selection.jsonl');
    expect(text(statements)).not.toContain('manifest.json');
    expect(statements.flatMap(actionsOf).sort()).toEqual(
      [
        'kms:Decrypt',
        'kms:GenerateDataKey',
        's3:GetObject',
        's3:ListBucket',
        's3:PutObject',
        'ssm:GetParameter',
        'xray:PutTelemetryRecords',
        'xray:PutTraceSegments',
      ].sort(),
    );
    expect(text(statements)).toContain('parameter/intent-router/dev/active-model');
  });

  it('production records, and the runs’ copies tagged as live queries, expire after productionDataRetentionDays', () => {
    const tagged = { Id: 'expire-run-copies-of-live-queries', TagFilters: [LIVE_QUERIES_TAG_FILTER] };
    pipeline.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          { Id: 'expire-production-records', Prefix: 'production/records/', ExpirationInDays: 180, Status: 'Enabled' },
          { ...tagged, ExpirationInDays: 180, Status: 'Enabled' },
        ]),
      },
    });
    synth({ productionDataRetentionDays: '30' }).templates.pipeline.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({ Id: 'expire-production-records', ExpirationInDays: 30 }),
          Match.objectLike({ ...tagged, ExpirationInDays: 30 }),
        ]),
      },
    });
  });

  it('is cdk-nag clean', () => {
    expect(nagFindings(stacks.pipeline)).toEqual([]);
  });
});

describe('production loop: api stack', () => {
  const { templates, stacks, config } = synth();
  const api = templates.api;

  it('router IAM: sqs:SendMessage on the shadow queue only; KMS only via SQS on project keys', () => {
    const statements = statementsOf(api, 'Routes video search queries');
    const sqs = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('sqs:')));
    expect(sqs).toHaveLength(1);
    expect(actionsOf(sqs[0] as Statement)).toEqual(['sqs:SendMessage']);
    expect(text(sqs[0]?.Resource)).toContain(`:${shadowQueueName('dev')}`);
    expect(text(sqs[0]?.Resource)).not.toContain('*');
    const viaSqs = statements.filter((s) => text(s.Condition).includes('sqs.'));
    expect(viaSqs).toHaveLength(1);
    expect(actionsOf(viaSqs[0] as Statement).sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
    expect(viaSqs[0]?.Condition?.['StringEquals']).toMatchObject({
      'aws:ResourceTag/Project': 'distilled-intent-router',
      'aws:ResourceTag/Environment': 'dev',
    });
  });

  it('router environment: the sample rate and the queue URL by convention', () => {
    api.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          SHADOW_SAMPLE_RATE: String(config.shadowSampleRate),
          SHADOW_CANARY_SAMPLE_RATE: String(config.canaryShadowSampleRate),
          SHADOW_QUEUE_URL: Match.objectLike({ 'Fn::Join': Match.anyValue() }),
        }),
      },
    });
  });

  it('with shadowSampleRate=0: no queue URL, no SQS or SQS-KMS grant, no hand-off alarm', () => {
    const off = synth({ shadowSampleRate: '0' }).templates.api;
    const statements = statementsOf(off, 'Routes video search queries');
    expect(statements.flatMap(actionsOf).some((a) => a.startsWith('sqs:'))).toBe(false);
    expect(text(statements)).not.toContain('sqs.');
    const fn = Object.values(
      off.findResources('AWS::Lambda::Function', {
        Properties: { Description: Match.stringLikeRegexp('^Routes video search') },
      }),
    )[0] as { Properties: { Environment: { Variables: Record<string, unknown> } } };
    expect(fn.Properties.Environment.Variables['SHADOW_SAMPLE_RATE']).toBe('0');
    expect(fn.Properties.Environment.Variables['SHADOW_QUEUE_URL']).toBeUndefined();
    expect(text(off.findResources('AWS::CloudWatch::Alarm'))).not.toContain('ShadowHandoff');
  });

  it('hand-off failure alarm and the loop widgets on the dashboard', () => {
    const alarms = text(api.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms).toContain('ShadowHandoffFailures');
    const body = text(api.findResources('AWS::CloudWatch::Dashboard'));
    for (const metric of [
      'ShadowDominantAgreement',
      'ShadowWeightError',
      'ShadowSamplesLabelled',
      'ShadowLabelFailures',
      'ShadowTeacherCostUsd',
      'ShadowDrift',
      'ShadowHandoffs',
      'ShadowHandoffFailures',
    ]) {
      expect(body).toContain(metric);
    }
    for (const name of Object.values(shadowAlarmNames('dev'))) expect(body).toContain(name);
    expect(body).toContain('intent-router-shadow');
  });

  it('is cdk-nag clean', () => {
    expect(nagFindings(stacks.api)).toEqual([]);
  });
});
