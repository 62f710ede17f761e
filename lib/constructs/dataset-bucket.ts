import { CfnResource, CustomResourceProviderBase, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { LIVE_QUERIES_TAG, PRODUCTION_RECORDS_PREFIX } from '../../lambda/core/production-records';

export interface DatasetBucketProps {
  /** Keep the bucket and its access logs when the stack is deleted (the key is always kept). */
  readonly retainData: boolean;
  /** Retention of the log group of the function that empties the buckets on deletion (retainData false); default 30. */
  readonly logRetentionDays?: number;
  /** Days shadow-labelled production records (production/records/) and runs' tagged copies are kept; default 180. */
  readonly productionDataRetentionDays?: number;
}

/**
 * Where every run keeps its shards, datasets, job output and report (`runs/<runId>/…`): SSE-KMS with a rotating
 * customer-managed key, versioned, TLS only, no public access, server access logs to a bucket of their own.
 */
export class DatasetBucket extends Construct {
  readonly bucket: s3.Bucket;
  readonly key: kms.Key;
  readonly accessLogs: s3.Bucket;

  constructor(scope: Construct, id: string, props: DatasetBucketProps) {
    super(scope, id);
    const removalPolicy = props.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const autoDeleteObjects = !props.retainData;

    this.key = new kms.Key(this, 'Key', {
      description: 'Encrypts the intent-router datasets, job output, reports and the distilled models',
      enableKeyRotation: true,
      // Always kept: the distilled models are encrypted with this key, and they and their deployments outlive the
      // stack (Bedrock creates them at run time). Deleting the key would break the router's promoted student.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.accessLogs = new s3.Bucket(this, 'AccessLogs', {
      // Server access logs can only be delivered to SSE-S3 buckets.
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(365) }],
      removalPolicy,
      autoDeleteObjects,
    });
    Validations.of(this.accessLogs).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This is the access-log bucket itself; logging it to itself would loop.',
    });

    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.key,
      bucketKeyEnabled: true,
      versioned: true,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'dataset-bucket/',
      lifecycleRules: [
        { id: 'expire-noncurrent-versions', noncurrentVersionExpiration: Duration.days(30) },
        { id: 'abort-incomplete-multipart-uploads', abortIncompleteMultipartUploadAfter: Duration.days(7) },
        // Live queries may hold personal data: production records expire (productionDataRetentionDays).
        {
          id: 'expire-production-records',
          prefix: PRODUCTION_RECORDS_PREFIX,
          expiration: Duration.days(props.productionDataRetentionDays ?? 180),
        },
        // …and so do the runs' copies of them under runs/<runId>/, tagged when written (LIVE_QUERIES_TAG).
        {
          id: 'expire-run-copies-of-live-queries',
          tagFilters: { [LIVE_QUERIES_TAG.key]: LIVE_QUERIES_TAG.value },
          expiration: Duration.days(props.productionDataRetentionDays ?? 180),
        },
      ],
      removalPolicy,
      autoDeleteObjects,
    });

    if (autoDeleteObjects) this.ownAutoDeleteLogs(props.logRetentionDays ?? 30);
  }

  /**
   * The CDK's auto-delete-objects function (one per stack, shared by both buckets) runs when the buckets are created
   * and when they are deleted, and would log to a group Lambda creates on first use: no stack would own it and it
   * would never expire. Point it at a group of the stack instead, deleted last: the buckets are emptied, then the
   * function goes, then its group.
   */
  private ownAutoDeleteLogs(retentionDays: number): void {
    const provider = Stack.of(this)
      .node.children.filter((c) => c instanceof CustomResourceProviderBase)
      .find((c) => c.node.id.startsWith('Custom::S3AutoDeleteObjects'));
    const handler = provider?.node.children.find(
      (c): c is CfnResource => CfnResource.isCfnResource(c) && c.cfnResourceType === 'AWS::Lambda::Function',
    );
    if (!handler) return; // test/destroy.test.ts fails if the CDK ever builds it differently
    const group = new logs.LogGroup(this, 'AutoDeleteObjectsLogs', {
      retention: retentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // The Ref makes CloudFormation create the group before the function and delete it after.
    handler.addPropertyOverride('LoggingConfig', { LogGroup: group.logGroupName });
  }
}
