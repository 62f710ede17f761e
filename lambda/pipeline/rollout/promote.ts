import { SSMClient } from '@aws-sdk/client-ssm';
import * as z from 'zod';
import type { JudgeScore } from '../evaluation/evaluation';
import type { ModelMetrics } from '../evaluation/metrics';
import { activeModelValue, isAlreadyPromoted } from './promotion';
import { LEGACY_STUDENT_PROMPT_VERSION } from '../../core/student-format';
import type { PromotionResult } from './result';
import { readParameter, writeParameter } from '../../core/active-model-parameter';
import { lambdaHandler, logger, parseInput, passthrough, tracer } from '../../core/runtime';
import { PROMOTE_ENVIRONMENT } from './environment';

const ssm = tracer.captureAWSv3Client(new SSMClient({}));

export const promoteInput = z.object({
  runId: z.string().min(1),
  deploymentArn: z.string().min(1),
  modelArn: z.string().min(1),
  student: passthrough<ModelMetrics>(),
  judge: z.object({ student: passthrough<JudgeScore>(), baseline: passthrough<JudgeScore>() }),
  /**
   * `$.evaluation.studentPromptVersion`: the version the candidate was trained and evaluated with. Absent only from an
   * execution that was already running when versioned formats were deployed: its dataset was written in student-v1.
   */
  studentPromptVersion: z.string().min(1).default(LEGACY_STUDENT_PROMPT_VERSION),
});

/**
 * Points the active-model parameter at the run's deployment. Overwriting adds a parameter version, so the previous
 * value stays in the parameter's history (`npm run rollback` restores it). A retried promotion that finds the
 * parameter already naming this run's deployment writes nothing.
 */
export async function promote(event: unknown): Promise<PromotionResult> {
  const parameterName = PROMOTE_ENVIRONMENT.read(process.env).activeModelParameterName;
  const input = parseInput(promoteInput, event, 'Promote');
  const current = await readParameter(ssm, parameterName);
  if (isAlreadyPromoted(current.value, input.runId, input.deploymentArn)) {
    logger.info('already promoted by an earlier attempt', { parameterName, version: current.version });
    return { promoted: true, parameterName, ...(current.version !== undefined ? { version: current.version } : {}) };
  }
  const value = activeModelValue({ ...input, promotedAt: new Date().toISOString() });
  const version = await writeParameter(ssm, parameterName, value);
  logger.info('promoted', { parameterName, version, previousVersion: current.version });
  return { promoted: true, parameterName, version };
}

export const handler = /* @__PURE__ */ lambdaHandler(promote);
