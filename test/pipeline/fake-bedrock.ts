import {
  BedrockClient,
  ConflictException,
  CreateCustomModelDeploymentCommand,
  CreateEvaluationJobCommand,
  CreateModelCustomizationJobCommand,
  DeleteCustomModelDeploymentCommand,
  GetCustomModelDeploymentCommand,
  GetEvaluationJobCommand,
  GetFoundationModelCommand,
  GetModelCustomizationJobCommand,
  InternalServerException,
  ListCustomModelDeploymentsCommand,
  ListEvaluationJobsCommand,
  ListTagsForResourceCommand,
  ResourceNotFoundException,
  StopEvaluationJobCommand,
  ThrottlingException,
  ValidationException,
  type CreateEvaluationJobRequest,
  type CustomModelDeploymentStatus,
  type CustomModelDeploymentSummary,
  type EvaluationJobStatus,
  type GetModelCustomizationJobResponse,
  type ModelCustomizationJobStatus,
  type Tag,
  type CreateModelCustomizationJobCommandInput,
  type CreateModelCustomizationJobCommandOutput,
  type GetModelCustomizationJobCommandInput,
  type GetModelCustomizationJobCommandOutput,
  type ListCustomModelDeploymentsCommandInput,
  type ListCustomModelDeploymentsCommandOutput,
  type ListTagsForResourceCommandInput,
  type ListTagsForResourceCommandOutput,
  type CreateCustomModelDeploymentCommandInput,
  type CreateCustomModelDeploymentCommandOutput,
  type DeleteCustomModelDeploymentCommandInput,
  type DeleteCustomModelDeploymentCommandOutput,
  type GetCustomModelDeploymentCommandInput,
  type GetCustomModelDeploymentCommandOutput,
  type CreateEvaluationJobCommandInput,
  type CreateEvaluationJobCommandOutput,
  type ListEvaluationJobsCommandInput,
  type ListEvaluationJobsCommandOutput,
  type StopEvaluationJobCommandInput,
  type StopEvaluationJobCommandOutput,
  type GetEvaluationJobCommandInput,
  type GetEvaluationJobCommandOutput,
  type GetFoundationModelCommandInput,
  type GetFoundationModelCommandOutput,
} from '@aws-sdk/client-bedrock';
import {
  ListObjectsV2Command,
  type ListObjectsV2CommandInput,
  type ListObjectsV2CommandOutput,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { INFERENCE_SOURCE, JUDGE_METRIC_NAME, type JudgedModel } from '../../lambda/pipeline/evaluation/evaluation';
import type { InMemoryS3 } from '../helpers/aws-mocks';

const ACCOUNT_ARN = 'arn:aws:bedrock:us-east-1:123456789012';
const $metadata = { httpStatusCode: 200, requestId: 'req-1', attempts: 1, totalRetryDelay: 0 };

/** Takes the next status of a script; the last one sticks. */
function next<Status>(script: Status[]): Status {
  const current = script[0];
  if (current === undefined) throw new Error('a status script needs at least one status');
  if (script.length > 1) script.shift();
  return current;
}

export interface FakeBedrockOptions {
  /** Statuses GetModelCustomizationJob reports, one per call. */
  readonly jobStatuses?: ModelCustomizationJobStatus[];
  /** Per customization type (a run's candidates), overriding jobStatuses for the jobs of that type. */
  readonly jobStatusesByType?: Partial<Record<'DISTILLATION' | 'FINE_TUNING', ModelCustomizationJobStatus[]>>;
  readonly jobFailureMessage?: string;
  /** Statuses GetCustomModelDeployment reports, one per call. */
  readonly deploymentStatuses?: CustomModelDeploymentStatus[];
  /** Per candidate (the deployment whose name contains it), overriding deploymentStatuses for its deployment. */
  readonly deploymentStatusesByCandidate?: Readonly<Record<string, CustomModelDeploymentStatus[]>>;
  /** Statuses GetEvaluationJob reports per call (per job). */
  readonly evaluationStatuses?: EvaluationJobStatus[];
  /** Per model, overriding evaluationStatuses for that model's job. */
  readonly evaluationStatusesByModel?: Partial<Record<JudgedModel, EvaluationJobStatus[]>>;
  /** StopEvaluationJob fails with this error (default: the job goes Stopping → Stopped). */
  readonly stopEvaluationError?: Error;
  /** ListCustomModelDeployments returns pages of this many deployments (default: all on one page). */
  readonly deploymentPageSize?: number;
  /** Normalised judge results (0–1) the judge jobs write, per model. */
  readonly judgeResults?: { student: number[]; baseline: number[]; incumbent?: number[] };
  /**
   * Judge every record of the job's dataset as Bedrock does: one output line per record, its `inputRecord` a copy of
   * the record, the results taken in turn from judgeResults; written last record first, over two files (the order and
   * split of a job's output are not documented). Default: one line per judgeResults entry with made-up prompts.
   */
  readonly judgeEveryRecord?: boolean;
  /**
   * How a CreateEvaluationJob with the name and token of an existing job is answered: 'idempotent' (default, as the API
   * reference describes clientRequestToken: the repeat is ignored and the same job returned) or 'conflict'. A name
   * taken with another token is always a ConflictException.
   */
  readonly duplicateEvaluationCreate?: 'idempotent' | 'conflict';
  /** How a repeated CreateModelCustomizationJob with the same token is answered. */
  readonly duplicateCreate?: 'idempotent' | 'conflict';
  /** The first create succeeds on the service side but its response is lost (surfaces as a retryable error). */
  readonly loseFirstCreateResponse?: boolean;
  /** The first N CreateModelCustomizationJob calls are throttled (nothing is created). */
  readonly throttleFirstCreates?: number;
}

interface Job {
  readonly jobName: string;
  readonly jobArn: string;
  readonly token: string | undefined;
  readonly customModelName: string;
  /** Absent: a distillation job (what jobs tests add by hand are). */
  readonly customizationType?: 'DISTILLATION' | 'FINE_TUNING';
}

/**
 * Bedrock's control plane as the handlers see it, at the SDK boundary: customization jobs that honour
 * clientRequestToken, deployments, and judge jobs that write their result files into the in-memory S3.
 */
export class FakeBedrock {
  readonly mock = mockClient(BedrockClient);
  readonly jobs: Job[] = [];
  readonly deployments: CustomModelDeploymentSummary[] = [];
  /** ARNs DeleteCustomModelDeployment deleted (they stay in `deployments`, which lists every one created). */
  readonly deletedDeployments: string[] = [];
  /** Tags by resource ARN (deployments created through the fake get theirs; tests may add others). */
  readonly tags = new Map<string, { key: string; value: string }[]>();
  readonly evaluationJobs: { request: CreateEvaluationJobRequest; jobArn: string; statuses: EvaluationJobStatus[] }[] =
    [];
  private lostOne = false;
  createCalls = 0;

  constructor(
    private readonly s3: InMemoryS3,
    private readonly options: FakeBedrockOptions = {},
  ) {
    const jobStatuses = [...(options.jobStatuses ?? ['InProgress', 'Completed'])];
    const byType = {
      DISTILLATION: options.jobStatusesByType?.DISTILLATION && [...options.jobStatusesByType.DISTILLATION],
      FINE_TUNING: options.jobStatusesByType?.FINE_TUNING && [...options.jobStatusesByType.FINE_TUNING],
    };
    const deploymentStatuses = [...(options.deploymentStatuses ?? ['Creating', 'Active'])];
    const deploymentStatusesByCandidate = Object.entries(options.deploymentStatusesByCandidate ?? {}).map(
      ([candidate, statuses]): [string, CustomModelDeploymentStatus[]] => [candidate, [...statuses]],
    );

    // Every model is ACTIVE (Preflight reads the lifecycle); a test that needs another status overrides this.
    this.mock
      .on(GetFoundationModelCommand)
      .callsFake(async (input: GetFoundationModelCommandInput): Promise<GetFoundationModelCommandOutput> => ({
        $metadata,
        modelDetails: {
          modelArn: `arn:aws:bedrock:us-east-1::foundation-model/${input.modelIdentifier}`,
          modelId: input.modelIdentifier,
          modelLifecycle: { status: 'ACTIVE' },
        },
      }));

    let throttles = options.throttleFirstCreates ?? 0;
    this.mock
      .on(CreateModelCustomizationJobCommand)
      .callsFake(
        async (input: CreateModelCustomizationJobCommandInput): Promise<CreateModelCustomizationJobCommandOutput> => {
          this.createCalls++;
          if (throttles > 0) {
            throttles--;
            throw new ThrottlingException({ message: 'Too many requests', $metadata: { httpStatusCode: 429 } });
          }
          const existing = this.jobs.find((j) => j.jobName === input.jobName);
          if (existing) {
            if (existing.token === input.clientRequestToken && options.duplicateCreate !== 'conflict') {
              return { $metadata, jobArn: existing.jobArn };
            }
            throw new ConflictException({ message: `Job name ${input.jobName} already exists`, $metadata });
          }
          const job: Job = {
            jobName: input.jobName ?? '',
            jobArn: `${ACCOUNT_ARN}:model-customization-job/amazon.nova-micro-v1:0:128k/job${this.jobs.length + 1}`,
            token: input.clientRequestToken,
            customModelName: input.customModelName ?? '',
            customizationType: input.customizationType === 'FINE_TUNING' ? 'FINE_TUNING' : 'DISTILLATION',
          };
          this.jobs.push(job);
          if (options.loseFirstCreateResponse && !this.lostOne) {
            this.lostOne = true;
            throw new InternalServerException({ message: 'response lost', $metadata });
          }
          return { $metadata, jobArn: job.jobArn };
        },
      );

    this.mock
      .on(GetModelCustomizationJobCommand)
      .callsFake(
        async (input: GetModelCustomizationJobCommandInput): Promise<GetModelCustomizationJobCommandOutput> => {
          const job = this.jobs.find((j) => j.jobArn === input.jobIdentifier || j.jobName === input.jobIdentifier);
          if (!job) throw new ResourceNotFoundException({ message: 'no such job', $metadata });
          const status = next(byType[job.customizationType ?? 'DISTILLATION'] ?? jobStatuses);
          const when = new Date('2026-11-25T10:00:00Z');
          const response: GetModelCustomizationJobResponse = {
            jobArn: job.jobArn,
            jobName: job.jobName,
            outputModelName: job.customModelName,
            clientRequestToken: job.token,
            roleArn: 'arn:aws:iam::123456789012:role/customization',
            status,
            statusDetails: {
              validationDetails: { status: 'Completed', creationTime: when, lastModifiedTime: when },
              dataProcessingDetails: { status: 'Completed', creationTime: when, lastModifiedTime: when },
              trainingDetails: {
                status: status === 'Completed' ? 'Completed' : status === 'Failed' ? 'Failed' : 'InProgress',
              },
            },
            creationTime: when,
            baseModelArn: `${ACCOUNT_ARN.replace(':123456789012', ':')}:foundation-model/amazon.nova-micro-v1:0:128k`,
            trainingDataConfig: { s3Uri: 's3://dataset-bucket/runs/run-1/dataset/train.jsonl' },
            validationDataConfig: undefined,
            outputDataConfig: { s3Uri: 's3://dataset-bucket/runs/run-1/distillation/' },
            customizationType: job.customizationType ?? 'DISTILLATION',
            ...(status === 'Completed'
              ? { outputModelArn: `${ACCOUNT_ARN}:custom-model/amazon.nova-micro-v1:0:128k/${job.customModelName}` }
              : {}),
            ...(status === 'Failed' ? { failureMessage: options.jobFailureMessage ?? 'Training failed' } : {}),
          };
          return { $metadata, ...response };
        },
      );

    this.mock
      .on(ListCustomModelDeploymentsCommand)
      .callsFake(
        async (input: ListCustomModelDeploymentsCommandInput): Promise<ListCustomModelDeploymentsCommandOutput> => {
          const matching = this.deployments.filter(
            (d) =>
              (!input.modelArnEquals || d.modelArn === input.modelArnEquals) &&
              (!input.nameContains || (d.customModelDeploymentName ?? '').includes(input.nameContains)),
          );
          const size = options.deploymentPageSize ?? Math.max(matching.length, 1);
          const start = Number(input.nextToken ?? '0');
          const end = start + size;
          return {
            $metadata,
            modelDeploymentSummaries: matching.slice(start, end),
            ...(end < matching.length ? { nextToken: String(end) } : {}),
          };
        },
      );
    this.mock
      .on(ListTagsForResourceCommand)
      .callsFake(async (input: ListTagsForResourceCommandInput): Promise<ListTagsForResourceCommandOutput> => {
        if (!this.tags.has(input.resourceARN ?? ''))
          throw new ResourceNotFoundException({ message: 'no such resource', $metadata });
        return { $metadata, tags: this.tags.get(input.resourceARN ?? '') };
      });
    this.mock
      .on(CreateCustomModelDeploymentCommand)
      .callsFake(
        async (input: CreateCustomModelDeploymentCommandInput): Promise<CreateCustomModelDeploymentCommandOutput> => {
          // The SDK declares no ConflictException for this command: what a name clash returns is not documented.
          if (this.deployments.some((d) => d.customModelDeploymentName === input.modelDeploymentName)) {
            throw new ValidationException({ message: 'a deployment with this name already exists', $metadata });
          }
          const arn = `${ACCOUNT_ARN}:custom-model-deployment/dep${String(this.deployments.length + 1).padStart(9, '0')}`;
          this.deployments.push({
            customModelDeploymentArn: arn,
            customModelDeploymentName: input.modelDeploymentName,
            modelArn: input.modelArn,
            createdAt: new Date(),
            status: 'Creating',
          });
          const tags: Tag[] = input.tags ?? [];
          this.tags.set(
            arn,
            tags.map((t) => ({ key: t.key ?? '', value: t.value ?? '' })),
          );
          return { $metadata, customModelDeploymentArn: arn };
        },
      );
    this.mock
      .on(GetCustomModelDeploymentCommand)
      .callsFake(
        async (input: GetCustomModelDeploymentCommandInput): Promise<GetCustomModelDeploymentCommandOutput> => {
          const d = this.deployments.find((x) => x.customModelDeploymentArn === input.customModelDeploymentIdentifier);
          if (!d) throw new ResourceNotFoundException({ message: 'no such deployment', $metadata });
          const own = deploymentStatusesByCandidate.find(([c]) => d.customModelDeploymentName?.includes(c));
          const status = next(own?.[1] ?? deploymentStatuses);
          return {
            $metadata,
            customModelDeploymentArn: d.customModelDeploymentArn,
            modelDeploymentName: d.customModelDeploymentName,
            modelArn: d.modelArn,
            createdAt: d.createdAt,
            status,
            ...(status === 'Failed' ? { failureMessage: 'Deployment failed: model not supported' } : {}),
          };
        },
      );
    this.mock
      .on(DeleteCustomModelDeploymentCommand)
      .callsFake(
        async (input: DeleteCustomModelDeploymentCommandInput): Promise<DeleteCustomModelDeploymentCommandOutput> => {
          const arn = input.customModelDeploymentIdentifier ?? '';
          const d = this.deployments.find((x) => x.customModelDeploymentArn === arn);
          if (!d || this.deletedDeployments.includes(arn)) {
            throw new ResourceNotFoundException({ message: 'no such deployment', $metadata });
          }
          this.deletedDeployments.push(arn);
          return { $metadata };
        },
      );

    this.mock
      .on(CreateEvaluationJobCommand)
      .callsFake(async (input: CreateEvaluationJobCommandInput): Promise<CreateEvaluationJobCommandOutput> => {
        const existing = this.evaluationJobs.find((j) => j.request.jobName === input.jobName);
        if (existing) {
          const sameRequest =
            input.clientRequestToken !== undefined && existing.request.clientRequestToken === input.clientRequestToken;
          if (sameRequest && (options.duplicateEvaluationCreate ?? 'idempotent') === 'idempotent') {
            return { $metadata, jobArn: existing.jobArn };
          }
          throw new ConflictException({ message: 'evaluation job name exists', $metadata });
        }
        const jobArn = `${ACCOUNT_ARN}:evaluation-job/ev${this.evaluationJobs.length + 1}abcdefgh`;
        const model = modelOf(input);
        this.evaluationJobs.push({
          request: input,
          jobArn,
          statuses: [
            ...(options.evaluationStatusesByModel?.[model] ??
              options.evaluationStatuses ?? ['InProgress', 'Completed']),
          ],
        });
        return { $metadata, jobArn };
      });
    this.mock
      .on(ListEvaluationJobsCommand)
      .callsFake(async (input: ListEvaluationJobsCommandInput): Promise<ListEvaluationJobsCommandOutput> => ({
        $metadata,
        jobSummaries: this.evaluationJobs
          .filter((j) => (j.request.jobName ?? '').includes(input.nameContains ?? ''))
          .map((j) => ({
            jobArn: j.jobArn,
            jobName: j.request.jobName,
            status: 'InProgress',
            creationTime: new Date(),
            jobType: 'Automated',
            evaluationTaskTypes: [],
          })),
      }));
    this.mock
      .on(StopEvaluationJobCommand)
      .callsFake(async (input: StopEvaluationJobCommandInput): Promise<StopEvaluationJobCommandOutput> => {
        const job = this.evaluationJobs.find((j) => j.jobArn === input.jobIdentifier);
        if (!job) throw new ResourceNotFoundException({ message: 'no such evaluation job', $metadata });
        if (options.stopEvaluationError) throw options.stopEvaluationError;
        job.statuses.splice(0, job.statuses.length, 'Stopping', 'Stopped');
        return { $metadata };
      });
    this.mock
      .on(GetEvaluationJobCommand)
      .callsFake(async (input: GetEvaluationJobCommandInput): Promise<GetEvaluationJobCommandOutput> => {
        const job = this.evaluationJobs.find((j) => j.jobArn === input.jobIdentifier);
        if (!job) throw new ResourceNotFoundException({ message: 'no such evaluation job', $metadata });
        const status = next(job.statuses);
        if (status === 'Completed') this.writeResults(job.request);
        return {
          $metadata,
          jobName: job.request.jobName,
          status,
          jobArn: job.jobArn,
          roleArn: job.request.roleArn,
          jobType: 'Automated',
          evaluationConfig: job.request.evaluationConfig,
          inferenceConfig: job.request.inferenceConfig,
          outputDataConfig: job.request.outputDataConfig,
          creationTime: new Date(),
          ...(status === 'Failed' ? { failureMessages: ['The judge model is not available in this Region'] } : {}),
        };
      });
  }

  /** Writes the judge's result JSONL where Bedrock does: <output s3Uri>/<jobName>/<jobId>/…/<uuid>_output.jsonl. */
  private writeResults(request: CreateEvaluationJobRequest) {
    const output = request.outputDataConfig?.s3Uri ?? '';
    const [, bucket, ...rest] = /^s3:\/\/([^/]+)\/(.*)$/.exec(output) ?? [];
    const source = request.inferenceConfig?.models?.[0]?.precomputedInferenceSource?.inferenceSourceIdentifier;
    const model = modelOf(request);
    const results = this.options.judgeResults?.[model] ?? [0.75, 0.75];
    const key =
      `${rest.join('/')}${request.jobName}/abc123/models/${source}/taskTypes/General/datasets/held-out-queries/` +
      '0f1e2d3c_output.jsonl';
    if (this.options.judgeEveryRecord) {
      this.writeEveryRecord(request, bucket ?? '', key, results);
      return;
    }
    const lines = results.map((result, i) =>
      JSON.stringify({
        automatedEvaluationResult: {
          scores: [
            {
              metricName: JUDGE_METRIC_NAME,
              result,
              evaluatorDetails: [{ modelIdentifier: 'us.meta.llama3-3-70b-instruct-v1:0', explanation: 'close' }],
            },
          ],
        },
        inputRecord: { prompt: `query ${i}`, referenceResponse: '{}', modelResponses: [{ response: '{}' }] },
      }),
    );
    this.s3.set(bucket ?? '', key, lines.join('\n') + '\n');
  }

  /** judgeEveryRecord: one line per dataset record, last record first, split over two output files. */
  private writeEveryRecord(request: CreateEvaluationJobRequest, bucket: string, key: string, results: number[]) {
    const dataset = request.evaluationConfig?.automated?.datasetMetricConfigs?.[0]?.dataset?.datasetLocation?.s3Uri;
    const [, datasetBucket, datasetKey] = /^s3:\/\/([^/]+)\/(.*)$/.exec(dataset ?? '') ?? [];
    const records = (this.s3.get(datasetBucket ?? '', datasetKey ?? '') ?? '').split('\n').filter((l) => l.trim());
    const lines = records
      .map((record, i) =>
        JSON.stringify({
          automatedEvaluationResult: {
            scores: [{ metricName: JUDGE_METRIC_NAME, result: results[i % results.length] }],
          },
          inputRecord: JSON.parse(record) as unknown,
        }),
      )
      .reverse();
    const half = Math.ceil(lines.length / 2);
    this.s3.set(bucket, key, lines.slice(0, half).join('\n') + '\n');
    this.s3.set(bucket, key.replace('0f1e2d3c_', '9a8b7c6d_'), lines.slice(half).join('\n') + '\n');
  }

  restore() {
    this.mock.restore();
  }
}

/** Which model a judge job rates, from its precomputed inference source. */
const modelOf = (request: CreateEvaluationJobRequest): JudgedModel => {
  const source = request.inferenceConfig?.models?.[0]?.precomputedInferenceSource?.inferenceSourceIdentifier;
  return source === INFERENCE_SOURCE.student
    ? 'student'
    : source === INFERENCE_SOURCE.incumbent
      ? 'incumbent'
      : 'baseline';
};

/** ListObjectsV2 over the in-memory bucket (the shared S3 fake answers Get/Head/Put only). */
export function addListing(s3: InMemoryS3): void {
  s3.mock
    .on(ListObjectsV2Command)
    .callsFake(async (input: ListObjectsV2CommandInput): Promise<ListObjectsV2CommandOutput> => {
      const keys = s3.keys(input.Bucket ?? '').filter((k) => k.startsWith(input.Prefix ?? ''));
      return { $metadata, IsTruncated: false, KeyCount: keys.length, Contents: keys.map((Key) => ({ Key })) };
    });
}
