import { BedrockClient, GetModelCustomizationJobCommand } from '@aws-sdk/client-bedrock';
import * as z from 'zod';
import type { DistillationStatus, StatusDetailsJson } from './result';
import { isoDates, lambdaHandler, logger, parseInput, tracer } from '../../core/runtime';

const bedrock = tracer.captureAWSv3Client(new BedrockClient({}));

export const checkDistillationInput = z.object({ jobArn: z.string().min(1) });

/**
 * Polls the distillation job. The state machine branches on `status` (Completed → deploy; Failed or Stopped → notify
 * and fail with `failureMessage`; anything else → wait and poll again); `statusDetails` (validation, data processing,
 * training) is carried into the state.
 */
export async function checkDistillation(event: unknown): Promise<DistillationStatus> {
  const { jobArn } = parseInput(checkDistillationInput, event, 'Check distillation');
  const job = await bedrock.send(new GetModelCustomizationJobCommand({ jobIdentifier: jobArn }));
  const status = job.status ?? 'Unknown';
  const statusDetails = isoDates(job.statusDetails) as StatusDetailsJson;
  logger.info('distillation job status', { jobArn, status, statusDetails });
  if (status === 'Completed' && !job.outputModelArn) {
    throw new Error(`distillation job ${jobArn} is Completed but reports no outputModelArn`);
  }
  return {
    status,
    jobArn,
    ...(job.outputModelArn ? { outputModelArn: job.outputModelArn } : {}),
    failureMessage:
      job.failureMessage ?? (status === 'Failed' || status === 'Stopped' ? `job ${status} without a message` : ''),
    statusDetails,
  };
}

export const handler = /* @__PURE__ */ lambdaHandler(checkDistillation);
