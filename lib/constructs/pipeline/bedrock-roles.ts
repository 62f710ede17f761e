import { Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct, type IConstruct } from 'constructs';
import { parseModelId } from '../../../lambda/core/model-ids';
import type { AppConfig } from '../../config';
import type { DatasetBucket } from '../dataset-bucket';
import type { Function } from '../function';

/**
 * The Bedrock service roles the pipeline passes to Bedrock: one for distillation jobs, one for fine-tuning jobs, one
 * for the judge (evaluation) jobs. Each trusts bedrock.amazonaws.com only for jobs of this account and Region, reads
 * only what its job reads, writes only its output prefixes, invokes only the model its job calls (fine-tuning none),
 * and uses the dataset key only through Bedrock and S3.
 */

// ---------------------------------------------------------------------------------------------------------------
// Policy helpers shared by the pipeline stages and the shadow loop
// ---------------------------------------------------------------------------------------------------------------

/** Turns a resolved CloudFormation value into the flat text cdk-nag uses in finding ids (`<Logical.Arn>/runs/*`). */
function flatten(node: unknown): string {
  if (node === undefined) return '';
  if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/\}/g, '>');
  if (node !== null && typeof node === 'object') {
    const o = node as Record<string, unknown>;
    if (Array.isArray(o['Fn::Join'])) {
      const [delimiter, items] = o['Fn::Join'] as [string, unknown[]];
      return items.map(flatten).join(delimiter);
    }
    if ('Fn::Sub' in o) return flatten(o['Fn::Sub']);
    if (Array.isArray(o['Fn::GetAtt'])) {
      const [resource, attribute] = o['Fn::GetAtt'] as [unknown, unknown];
      return `<${flatten(resource)}.${flatten(attribute)}>`;
    }
    if ('Ref' in o) return `<${flatten(o['Ref'])}>`;
  }
  return JSON.stringify(node);
}

export interface Permission {
  readonly actions: readonly string[];
  readonly resources: readonly string[];
  readonly conditions?: Record<string, Record<string, unknown>>;
  /** Required when a resource contains `*`: why AWS offers nothing narrower. Becomes the cdk-nag acknowledgement. */
  readonly wildcardReason?: string;
}

/**
 * Adds one statement to `principal`'s policy. Wildcard actions are refused outright; a wildcard resource needs a
 * reason, which is recorded as the cdk-nag acknowledgement of exactly that resource on `owner` (the construct that
 * holds the policy), next to the grant it justifies.
 */
export function allow(owner: IConstruct, principal: iam.IGrantable, permission: Permission): void {
  const wildAction = permission.actions.find((a) => a.includes('*'));
  if (wildAction) throw new Error(`wildcard action "${wildAction}" is not allowed: list the actions`);
  principal.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: [...permission.actions],
      resources: [...permission.resources],
      ...(permission.conditions ? { conditions: permission.conditions } : {}),
    }),
  );
  const stack = Stack.of(owner);
  for (const resource of permission.resources) {
    const flat = flatten(stack.resolve(resource));
    if (!flat.includes('*')) continue;
    if (!permission.wildcardReason) {
      throw new Error(`wildcard resource "${flat}" for ${permission.actions.join(', ')} needs a wildcardReason`);
    }
    Validations.of(owner).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${flat}]`,
      reason: permission.wildcardReason,
    });
  }
}

/** ARN of a Bedrock resource of this account and Region (`model-customization-job/*`, `custom-model/*`…). */
export const bedrockArn = (scope: IConstruct, resource: string, resourceName: string) =>
  Stack.of(scope).formatArn({ service: 'bedrock', resource, resourceName });

/**
 * What `bedrock:InvokeModel` needs for a model id: for a cross-Region inference profile, the profile in this Region
 * and the foundation model in each of the profile's destination Regions; for a plain id, the foundation model here.
 */
export function modelInvokeArns(scope: IConstruct, modelId: string): string[] {
  const stack = Stack.of(scope);
  const parsed = parseModelId(modelId);
  const foundationModel = (region: string) =>
    stack.formatArn({
      service: 'bedrock',
      region,
      account: '',
      resource: 'foundation-model',
      resourceName: parsed.modelIdWithVariant,
    });
  if (!parsed.profile) return [foundationModel(stack.region)];
  return [
    stack.formatArn({ service: 'bedrock', resource: 'inference-profile', resourceName: parsed.id }),
    ...parsed.profile.regions.map(foundationModel),
  ];
}

/** A condition limiting KMS use to requests an AWS service makes on the caller's behalf in this Region. */
export const viaService = (scope: IConstruct, service: 'bedrock' | 's3') => ({
  StringEquals: { 'kms:ViaService': `${service}.${Stack.of(scope).region}.amazonaws.com` },
});

/** `iam:PassRole` on exactly `role`, and only to Bedrock. */
export function allowPassRoleToBedrock(owner: IConstruct, principal: iam.IGrantable, role: iam.IRole): void {
  allow(owner, principal, {
    actions: ['iam:PassRole'],
    resources: [role.roleArn],
    conditions: { StringEquals: { 'iam:PassedToService': 'bedrock.amazonaws.com' } },
  });
}

/** `allow` for a pipeline function: the statement goes on its role, the acknowledgement on the function. */
const allowFn = (f: Function, permission: Permission) => allow(f, f.function, permission);

const RUN_OBJECTS =
  'Every run keeps its objects under runs/<runId>/ and the run id (the execution name) is only known when a run ' +
  'starts; the pattern limits the function to the one sub-prefix of each run that its step uses.';

/**
 * Preflight's and generation's run files: `actions` on the run sub-prefixes `patterns`, ListBucket under runs/
 * (without it a missing key reads as AccessDenied instead of NoSuchKey, and "already written?" needs it), and the
 * dataset key through S3 (GenerateDataKey too when the function writes).
 */
export function allowRunFiles(f: Function, dataset: DatasetBucket, actions: string[], patterns: string[]): void {
  const { bucket, key } = dataset;
  allowFn(f, { actions, resources: patterns.map((p) => bucket.arnForObjects(p)), wildcardReason: RUN_OBJECTS });
  allowRunListing(f, dataset);
  allowFn(f, {
    actions: actions.includes('s3:PutObject') ? ['kms:Decrypt', 'kms:GenerateDataKey'] : ['kms:Decrypt'],
    resources: [key.keyArn],
    conditions: viaService(f, 's3'),
  });
}

/** `actions` on the objects `patterns` under runs/<runId>/, `why` saying what the step reads or writes there. */
export function allowRunObjects(
  f: Function,
  dataset: DatasetBucket,
  actions: string[],
  patterns: string[],
  why: string,
) {
  allowFn(f, {
    actions,
    resources: patterns.map((p) => dataset.bucket.arnForObjects(p)),
    wildcardReason: `Objects of every run live under runs/<runId>/ and the run id is known only at run time. ${why}`,
  });
}

/** ListBucket under runs/ only, never the whole bucket: without it a missing key reads AccessDenied, not NoSuchKey. */
export function allowRunListing(f: Function, dataset: DatasetBucket): void {
  allowFn(f, {
    actions: ['s3:ListBucket'],
    resources: [dataset.bucket.bucketArn],
    conditions: { StringLike: { 's3:prefix': ['runs/*'] } },
  });
}

/** The dataset key, only through S3 (`actions`) or only through Bedrock (a job's or model's needs). */
export function allowDatasetKey(f: Function, dataset: DatasetBucket, via: 's3' | 'bedrock', actions?: string[]): void {
  allowFn(f, {
    actions: actions ?? ['kms:Decrypt', 'kms:GenerateDataKey', 'kms:DescribeKey', 'kms:CreateGrant'],
    resources: [dataset.key.keyArn],
    conditions: viaService(f, via),
  });
}

/** GetParameter (and PutParameter with `write`) on the one SSM parameter `name`. */
export function allowParameter(f: Function, name: string, write: boolean): void {
  allowFn(f, {
    actions: write ? ['ssm:GetParameter', 'ssm:PutParameter'] : ['ssm:GetParameter'],
    resources: [
      Stack.of(f).formatArn({ service: 'ssm', resource: 'parameter', resourceName: name.replace(/^\//, '') }),
    ],
  });
}

// ---------------------------------------------------------------------------------------------------------------
// The service roles
// ---------------------------------------------------------------------------------------------------------------

/** Object key patterns under the dataset bucket (runs/<runId>/…, see lambda/core/runs.ts). */
export const RUN_PATTERNS = {
  dataset: 'runs/*/dataset/*',
  /** The training files, one per prompt version (`dataset/train-<promptVersion>.jsonl`, and `train.jsonl`). */
  trainingFiles: 'runs/*/dataset/train*.jsonl',
  /** A run without candidates: its one distillation's output. */
  distillationOutput: 'runs/*/distillation/*',
  /** A candidate's customization job output (`runs/<runId>/<candidate>/training/…`). */
  trainingOutput: 'runs/*/training/*',
  evaluationAnswers: 'runs/*/evaluation/answers/*',
  evaluationDatasets: 'runs/*/evaluation/datasets/*',
  evaluationMetrics: 'runs/*/evaluation/metrics.json',
  /** The reference models' answers, once per run (`runs/<runId>/evaluation/reference/<model>.json`). */
  evaluationReference: 'runs/*/evaluation/reference/*',
  evaluationOutput: 'runs/*/evaluation/output/*',
} as const;

/**
 * What the service roles may list: anything under runs/, never the whole bucket. Bedrock may list a prefix without its
 * trailing slash (runs/<runId>/evaluation/output), which a condition ending in `/output/*` would refuse.
 */
export const RUN_LISTING = 'runs/*';

const RUN_ID_REASON =
  'Each run writes under runs/<runId>/ and the run id is only known when an execution starts; the pattern keeps ' +
  'the role inside the one sub-prefix its job uses.';

export interface BedrockServiceRolesProps {
  readonly config: Pick<AppConfig, 'teacherModelId' | 'judgeModelId'>;
  readonly dataset: DatasetBucket;
}

export class BedrockServiceRoles extends Construct {
  /** Passed to CreateModelCustomizationJob for DISTILLATION (invokes the teacher). */
  readonly customizationRole: iam.Role;
  /** Passed to CreateModelCustomizationJob for FINE_TUNING (trains on the records as they are: no model invocation). */
  readonly fineTuningRole: iam.Role;
  /** Passed to CreateEvaluationJob. */
  readonly evaluationRole: iam.Role;

  constructor(scope: Construct, id: string, props: BedrockServiceRolesProps) {
    super(scope, id);
    const { bucket, key } = props.dataset;
    const stack = Stack.of(this);

    const trust = (jobResource: string) =>
      new iam.ServicePrincipal('bedrock.amazonaws.com').withConditions({
        StringEquals: { 'aws:SourceAccount': stack.account },
        ArnLike: { 'aws:SourceArn': bedrockArn(this, jobResource, '*') },
      });

    // Both customization roles read only the training files and write only the job output (docs/aws-facts.md §6).
    const trainingData = (role: iam.Role, outputs: string[], outputWhere: string) => {
      allow(role, role, {
        actions: ['s3:GetObject'],
        resources: [bucket.arnForObjects(RUN_PATTERNS.trainingFiles)],
        wildcardReason:
          `${RUN_ID_REASON} The job reads a training file (one per prompt version) of its run, or of a run whose ` +
          'dataset it reuses; never the held-out sets.',
      });
      allow(role, role, {
        actions: ['s3:PutObject'],
        resources: outputs.map((pattern) => bucket.arnForObjects(pattern)),
        wildcardReason: `${RUN_ID_REASON} The job writes its output (metrics, manifests) under ${outputWhere}.`,
      });
      allow(role, role, {
        actions: ['s3:ListBucket'],
        resources: [bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [RUN_LISTING] } },
      });
    };

    // Distillation: reads the training data, writes the job output, invokes the teacher.
    this.customizationRole = new iam.Role(this, 'CustomizationRole', {
      assumedBy: trust('model-customization-job'),
      description:
        'Bedrock distillation jobs of the intent router: read runs/*/dataset/train*.jsonl, write the job output',
    });
    const customization = this.customizationRole;
    trainingData(
      customization,
      [RUN_PATTERNS.distillationOutput, RUN_PATTERNS.trainingOutput],
      'distillation/ (a run without candidates) or <candidate>/training/',
    );
    allow(customization, customization, {
      actions: ['bedrock:InvokeModel'],
      resources: modelInvokeArns(this, props.config.teacherModelId),
    });

    // Fine-tuning: the same data and output, and no model to invoke (it trains on the labels as they are).
    this.fineTuningRole = new iam.Role(this, 'FineTuningRole', {
      assumedBy: trust('model-customization-job'),
      description: 'Bedrock fine-tuning jobs of the intent router: read runs/*/dataset/train*.jsonl, write the output',
    });
    trainingData(this.fineTuningRole, [RUN_PATTERNS.trainingOutput], '<candidate>/training/');

    // Evaluation: reads the bring-your-own-responses datasets, writes the results, invokes the judge.
    this.evaluationRole = new iam.Role(this, 'EvaluationRole', {
      assumedBy: trust('evaluation-job'),
      description: 'Bedrock judge jobs of the intent router: read runs/*/evaluation/datasets, write its output',
    });
    const evaluation = this.evaluationRole;
    allow(evaluation, evaluation, {
      actions: ['s3:GetObject'],
      resources: [bucket.arnForObjects(RUN_PATTERNS.evaluationDatasets)],
      wildcardReason: `${RUN_ID_REASON} The job reads the responses dataset of its run.`,
    });
    allow(evaluation, evaluation, {
      actions: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload'],
      resources: [bucket.arnForObjects(RUN_PATTERNS.evaluationOutput)],
      wildcardReason: `${RUN_ID_REASON} The job writes its results under evaluation/output/<jobName>/.`,
    });
    allow(evaluation, evaluation, {
      actions: ['s3:ListBucket'],
      resources: [bucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': [RUN_LISTING] } },
    });
    // Documented requirements of evaluation output (docs/aws-facts.md §6); bucket-level, no wildcard.
    allow(evaluation, evaluation, {
      actions: ['s3:GetBucketLocation', 's3:ListBucketMultipartUploads'],
      resources: [bucket.bucketArn],
    });
    allow(evaluation, evaluation, {
      actions: ['bedrock:InvokeModel'],
      resources: modelInvokeArns(this, props.config.judgeModelId),
    });

    // The dataset key: S3 uses it for the objects; Bedrock for the job's own data (grants, the custom model).
    for (const role of [customization, this.fineTuningRole, evaluation]) {
      allow(role, role, {
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: [key.keyArn],
        conditions: viaService(this, 's3'),
      });
      allow(role, role, {
        actions: ['kms:Decrypt', 'kms:GenerateDataKey', 'kms:DescribeKey', 'kms:CreateGrant'],
        resources: [key.keyArn],
        conditions: viaService(this, 'bedrock'),
      });
    }
  }
}
