import {
  BedrockClient,
  CreateModelCustomizationJobCommand,
  GetModelCustomizationJobCommand,
  type CreateModelCustomizationJobRequest,
} from '@aws-sdk/client-bedrock';
import * as z from 'zod';
import { resourceTags, trainingNames } from '../../core/job-names';
import { s3Uri } from '../../core/run-store';
import { runKeys } from '../../core/runs';
import type { DistillationStarted } from './result';
import { errorName, lambdaHandler, logger, parseInput, tracer } from '../../core/runtime';
import { START_DISTILLATION_ENVIRONMENT } from './environment';

const bedrock = tracer.captureAWSv3Client(new BedrockClient({}));

export const startDistillationInput = z.object({
  runId: z.string().min(1),
  bucket: z.string().min(1),
  trainKey: z.string().min(1),
});
export type StartDistillationInput = z.output<typeof startDistillationInput>;

/** The request for the run's distillation job: student as base, teacher config, the run's data and output prefix. */
export function distillationRequest(input: StartDistillationInput): CreateModelCustomizationJobRequest {
  const env = START_DISTILLATION_ENVIRONMENT.read(process.env);
  const names = trainingNames(env.envName, input.runId);
  const tags = resourceTags(env.envName, input.runId);
  return {
    jobName: names.customizationJobName,
    customModelName: names.customModelName,
    clientRequestToken: names.customizationToken,
    roleArn: env.customizationRoleArn,
    baseModelIdentifier: env.studentModelId,
    customizationType: 'DISTILLATION',
    customizationConfig: {
      distillationConfig: {
        teacherModelConfig: {
          teacherModelIdentifier: env.teacherModelId,
          maxResponseLengthForInference: env.maxResponseLengthForInference,
        },
      },
    },
    trainingDataConfig: { s3Uri: s3Uri(input.bucket, input.trainKey) },
    outputDataConfig: { s3Uri: s3Uri(input.bucket, runKeys(input.runId).distillationPrefix) },
    customModelKmsKeyId: env.datasetKeyArn,
    jobTags: tags,
    customModelTags: tags,
  };
}

/**
 * Starts the run's distillation job. The client request token is derived from the run, so a create retried after a
 * lost response returns the same job; should Bedrock answer a retry with ConflictException instead, the job of that
 * name is looked up and returned when this run started it. Throttling and other errors surface under their SDK names
 * for the state machine's Retry.
 */
export async function startDistillation(event: unknown): Promise<DistillationStarted> {
  const input = parseInput(startDistillationInput, event, 'Start distillation');
  const request = distillationRequest(input);
  const jobName = request.jobName ?? '';
  const customModelName = request.customModelName ?? '';
  try {
    const out = await bedrock.send(new CreateModelCustomizationJobCommand(request));
    if (!out.jobArn) throw new Error('CreateModelCustomizationJob returned no jobArn');
    logger.info('distillation job started', { jobName, jobArn: out.jobArn });
    return { jobArn: out.jobArn, jobName, customModelName, existing: false };
  } catch (error) {
    if (errorName(error) !== 'ConflictException') throw error;
    const job = await bedrock.send(new GetModelCustomizationJobCommand({ jobIdentifier: jobName }));
    if (job.clientRequestToken && job.clientRequestToken !== request.clientRequestToken) {
      throw new Error(
        `a customization job named "${jobName}" exists but was not started by run ${input.runId} ` +
          `(its client request token differs): start the run under a new run id`,
        { cause: error },
      );
    }
    if (!job.jobArn) throw new Error(`GetModelCustomizationJob returned no jobArn for "${jobName}"`, { cause: error });
    logger.info('distillation job already started by an earlier attempt', { jobName, jobArn: job.jobArn });
    return { jobArn: job.jobArn, jobName, customModelName, existing: true };
  }
}

export const handler = /* @__PURE__ */ lambdaHandler(startDistillation);
