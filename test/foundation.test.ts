import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Function, RUNTIME } from '../lib/constructs/function';
import { DatasetBucket } from '../lib/constructs/dataset-bucket';
import { EVERYTHING_ON, nagFindings, synth } from './helpers/app';

describe('the app', () => {
  it('builds the two stacks of an environment, named after it', () => {
    const { stacks } = synth({ envName: 'qa' });
    expect(stacks.pipeline.stackName).toBe('IntentRouter-qa-Pipeline');
    expect(stacks.api.stackName).toBe('IntentRouter-qa-Api');
    expect(stacks.pipeline.region).toBe('us-east-1');
  });

  it('places the stacks in the configured account and region', () => {
    const { stacks } = synth({ account: '123456789012', region: 'us-west-2' });
    expect(stacks.api.account).toBe('123456789012');
    expect(stacks.api.region).toBe('us-west-2');
  });

  it.each(['pipeline', 'api'] as const)('leaves no unacknowledged cdk-nag finding in the %s stack', (which) => {
    const { stacks } = synth();
    expect(nagFindings(stacks[which])).toEqual([]);
  });

  it('leaves no unacknowledged cdk-nag finding with every optional feature on', () => {
    const { stacks } = synth(EVERYTHING_ON);
    expect([...nagFindings(stacks.pipeline), ...nagFindings(stacks.api)]).toEqual([]);
  });

  it('reports a finding that is not acknowledged (the check can fail)', () => {
    const stack = new Stack(new App(), 'Bare');
    new DatasetBucket(stack, 'Dataset', { retainData: true });
    new s3.Bucket(stack, 'Unlogged');
    const findings = nagFindings(stack).join('\n');
    expect(findings).toMatch(/AwsSolutions-S1 at Bare\/Unlogged/);
    expect(findings).not.toMatch(/Dataset/);
  });

  it('tags every taggable resource with the project and environment', () => {
    const { templates } = synth({ envName: 'qa' });
    for (const template of [templates.pipeline, templates.api]) {
      const tagged = Object.values(template.toJSON().Resources as Record<string, { Properties?: { Tags?: unknown } }>)
        .map((r) => r.Properties?.Tags)
        .filter((t): t is unknown[] | Record<string, string> => t !== undefined);
      expect(tagged.length).toBeGreaterThan(0);
      for (const tags of tagged) {
        const pairs = Array.isArray(tags)
          ? Object.fromEntries((tags as { Key: string; Value: string }[]).map((t) => [t.Key, t.Value]))
          : tags;
        expect(pairs).toMatchObject({ Project: 'distilled-intent-router', Environment: 'qa' });
      }
    }
  });
});

describe('permissions boundary', () => {
  it('is set on every role of both stacks when configured', () => {
    const { templates } = synth(EVERYTHING_ON);
    const roles = [templates.pipeline, templates.api].flatMap((t) => Object.values(t.findResources('AWS::IAM::Role')));
    expect(roles.length).toBeGreaterThan(0);
    for (const role of roles) {
      expect(role.Properties.PermissionsBoundary).toBe('arn:aws:iam::123456789012:policy/ProjectBoundary');
    }
  });

  it('is absent when not configured', () => {
    const { templates } = synth();
    for (const template of [templates.pipeline, templates.api]) {
      for (const role of Object.values(template.findResources('AWS::IAM::Role'))) {
        expect(role.Properties.PermissionsBoundary).toBeUndefined();
      }
    }
  });
});

describe('dataset bucket', () => {
  const template = () => synth().templates.pipeline;
  const datasetBucket = () => {
    const buckets = template().findResources('AWS::S3::Bucket', {
      Properties: { VersioningConfiguration: { Status: 'Enabled' } },
    });
    const entries = Object.entries(buckets);
    expect(entries).toHaveLength(1);
    return entries[0]!;
  };

  it('encrypts with a customer-managed key that rotates', () => {
    const [, bucket] = datasetBucket();
    const rule = bucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0];
    expect(rule.ServerSideEncryptionByDefault.SSEAlgorithm).toBe('aws:kms');
    const keyRef = rule.ServerSideEncryptionByDefault.KMSMasterKeyID['Fn::GetAtt'][0] as string;
    expect(template().toJSON().Resources[keyRef]).toMatchObject({
      Type: 'AWS::KMS::Key',
      Properties: { EnableKeyRotation: true },
    });
  });

  it('is versioned, blocks all public access and logs access to a separate bucket', () => {
    const [logicalId, bucket] = datasetBucket();
    expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    const logsTarget = bucket.Properties.LoggingConfiguration.DestinationBucketName.Ref as string;
    expect(logsTarget).not.toBe(logicalId);
    expect(template().toJSON().Resources[logsTarget].Type).toBe('AWS::S3::Bucket');
  });

  it('expires noncurrent versions and aborts incomplete multipart uploads', () => {
    const [, bucket] = datasetBucket();
    expect(bucket.Properties.LifecycleConfiguration.Rules).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ NoncurrentVersionExpiration: { NoncurrentDays: 30 }, Status: 'Enabled' }),
        expect.objectContaining({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 }, Status: 'Enabled' }),
      ]),
    );
  });

  it('denies every request that is not TLS', () => {
    const [logicalId] = datasetBucket();
    template().hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: logicalId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 's3:*',
            Principal: { AWS: '*' },
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it('is retained on stack deletion by default, and deleted when retainData is false', () => {
    expect(datasetBucket()[1]).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    const destroyed = synth({ retainData: 'false' }).templates.pipeline.findResources('AWS::S3::Bucket');
    for (const bucket of Object.values(destroyed)) expect(bucket.DeletionPolicy).toBe('Delete');
    synth({ retainData: 'false' }).templates.pipeline.resourceCountIs('Custom::S3AutoDeleteObjects', 2);
    // The key outlives the stack either way: the distilled models Bedrock created are encrypted with it.
    const keyRef = datasetBucket()[1].Properties.BucketEncryption.ServerSideEncryptionConfiguration[0]
      .ServerSideEncryptionByDefault.KMSMasterKeyID['Fn::GetAtt'][0] as string;
    expect(synth({ retainData: 'false' }).templates.pipeline.toJSON().Resources[keyRef].DeletionPolicy).toBe('Retain');
  });
});

describe('house Function construct', () => {
  const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Fn');
  new Function(stack, 'Probe', {
    entry: 'router/handler.ts',
    description: 'probe',
    serviceName: 'probe-service',
    logRetentionDays: 14,
    retainLogs: false,
    environment: { EXTRA: 'yes' },
    timeout: Duration.seconds(12),
  });
  const template = Template.fromStack(stack);

  it('uses the one runtime (nodejs22.x or newer), ARM64 and active tracing', () => {
    expect(Number(/nodejs(\d+)/.exec(RUNTIME.name)?.[1])).toBeGreaterThanOrEqual(22);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: RUNTIME.name,
      Architectures: ['arm64'],
      TracingConfig: { Mode: 'Active' },
      Timeout: 12,
      LoggingConfig: Match.objectLike({ LogFormat: 'JSON', LogGroup: { Ref: Match.stringLikeRegexp('ProbeLogs') } }),
    });
  });

  it('writes to an explicit log group with retention', () => {
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 14 });
  });

  it('deletes its log group with the stack unless told to retain it', () => {
    template.hasResource('AWS::Logs::LogGroup', { DeletionPolicy: 'Delete', UpdateReplacePolicy: 'Delete' });
    const kept = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Kept');
    new Function(kept, 'Probe', {
      entry: 'router/handler.ts',
      description: 'probe',
      serviceName: 'probe-service',
      logRetentionDays: 14,
      retainLogs: true,
    });
    Template.fromStack(kept).hasResource('AWS::Logs::LogGroup', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  it('sets source maps, the Powertools service name and the caller environment', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: {
          NODE_OPTIONS: '--enable-source-maps',
          POWERTOOLS_SERVICE_NAME: 'probe-service',
          POWERTOOLS_METRICS_NAMESPACE: 'DistilledIntentRouter',
          EXTRA: 'yes',
        },
      },
    });
  });
});

describe('bin/app.ts', () => {
  const runApp = (context: Record<string, unknown>) => {
    const outdir = mkdtempSync(path.join(tmpdir(), 'cdk-out-'));
    const result = spawnSync(process.execPath, [require.resolve('tsx/cli'), 'bin/app.ts'], {
      cwd: path.join(__dirname, '..'),
      env: {
        ...process.env,
        CDK_OUTDIR: outdir,
        CDK_CONTEXT_JSON: JSON.stringify({ 'aws:cdk:bundling-stacks': [], ...context }),
      },
      encoding: 'utf8',
    });
    return { ...result, outdir };
  };

  it('fails synth with one clear message for a bad value', () => {
    const result = runApp({ exampleCount: '20000' });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('exampleCount (given: "20000"): must be a whole number from 100 to 15000');
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace for a config error
  });

  it('fails synth naming a misspelt key', () => {
    const result = runApp({ exampelCount: '5000' });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('unknown key "exampelCount" — did you mean "exampleCount"?');
  });

  it('writes both templates and a passing validation report for a good config', () => {
    const result = runApp({});
    expect(result.stderr).not.toMatch(/Error/);
    expect(result.status).toBe(0);
    const files = readdirSync(result.outdir);
    expect(files).toEqual(
      expect.arrayContaining(['IntentRouter-dev-Pipeline.template.json', 'IntentRouter-dev-Api.template.json']),
    );
  });
});
