import { Match, Template } from 'aws-cdk-lib/assertions';
import { nagFindings, synth } from '../helpers/app';
import { LABELLER_TIMEOUT, MAX_RECEIVE_COUNT } from '../../lib/constructs/shadow-loop';
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

  it('labeller IAM: bedrock:InvokeModel on the teacher only, nothing else of Bedrock; writes production records only', () => {
    const statements = statementsOf(pipeline, 'The teacher labels sampled live queries');
    const bedrock = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('bedrock:')));
    expect(bedrock).toHaveLength(1);
    expect(actionsOf(bedrock[0] as Statement)).toEqual(['bedrock:InvokeModel']);
    const resources = text(bedrock[0]?.Resource);
    expect(resources).toContain('inference-profile/us.amazon.nova-pro-v1:0');
    expect(resources).toContain('foundation-model/amazon.nova-pro-v1:0');
    expect(resources).not.toMatch(/custom-model|\*"/);
    const s3 = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('s3:')));
    expect(s3.flatMap(actionsOf)).toEqual(['s3:PutObject']);
    expect(text(s3[0]?.Resource)).toContain('/production/records/*');
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
    expect(text(agreement?.Properties['Metrics'])).toContain('"source","Value":"student"');
    const drift = byName(names.drift);
    expect(drift?.Properties).toMatchObject({
      Threshold: config.driftThreshold,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    expect(text(drift?.Properties['Metrics'])).toContain('ShadowDrift');
    expect(text(byName(names.labellerFailures)?.Properties['Metrics'])).toContain('ShadowLabelFailures');
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

  it('drift runs hourly, reads the parameter by name and only what it needs', () => {
    pipeline.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 hour)' });
    const statements = statementsOf(pipeline, 'Hourly: drift');
    expect(statements.flatMap(actionsOf).sort()).toEqual(
      [
        'kms:Decrypt',
        's3:GetObject',
        's3:ListBucket',
        'ssm:GetParameter',
        'xray:PutTelemetryRecords',
        'xray:PutTraceSegments',
      ].sort(),
    );
    expect(text(statements)).toContain('parameter/intent-router/dev/active-model');
  });

  it('production records expire after productionDataRetentionDays', () => {
    pipeline.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          { Id: 'expire-production-records', Prefix: 'production/records/', ExpirationInDays: 180, Status: 'Enabled' },
        ]),
      },
    });
    synth({ productionDataRetentionDays: '30' }).templates.pipeline.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([Match.objectLike({ Id: 'expire-production-records', ExpirationInDays: 30 })]),
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
