import { BedrockClient, GetModelCustomizationJobCommand } from '@aws-sdk/client-bedrock';
import * as z from 'zod';
import type { StatusDetailsJson, TrainingStatus } from './result';
import { isoDates, lambdaHandler, logger, parseInput, tracer } from '../../core/runtime';

const bedrock = tracer.captureAWSv3Client(new BedrockClient({}));

export const checkTrainingInput = z.object({ jobArn: z.string().min(1) });

/**
 * Polls a customization job (distillation or fine-tuning: the same Get). The state machine branches on `status`
 * (Completed → deploy; Failed or Stopped → notify and fail with `failureMessage`; anything else → wait and poll
 * again); `statusDetails` (validation, data processing, training) is carried into the state.
 */
export async function checkTraining(event: unknown): Promise<TrainingStatus> {
  const { jobArn } = parseInput(checkTrainingInput, event, 'Check training');
  const job = await bedrock.send(new GetModelCustomizationJobCommand({ jobIdentifier: jobArn }));
  const status = job.status ?? 'Unknown';
  const statusDetails = isoDates(job.statusDetails) as StatusDetailsJson;
  logger.info('customization job status', { jobArn, status, customizationType: job.customizationType, statusDetails });
  if (status === 'Completed' && !job.outputModelArn) {
    throw new Error(`customization job ${jobArn} is Completed but reports no outputModelArn`);
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

export const handler = /* @__PURE__ */ lambdaHandler(checkTraining);
