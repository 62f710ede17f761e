import { BedrockClient, GetFoundationModelCommand } from '@aws-sdk/client-bedrock';
import { z } from 'zod';
import { isRetryable } from '../shared/bedrock';
import { HELD_OUT_LIMITS, TRAINING_LIMITS } from '../shared/dataset-validator';
import { parseModelId } from '../shared/model-ids';
import { assertRunId } from '../shared/runs';
import { envTypes, logger, parseInput, readEnvironment, tracer } from './generation-common';

/**
 * Preflight: stop before any money is spent when the run cannot succeed — the run id is not a valid name, the teacher
 * or student model is not ACTIVE, the region has no on-demand custom-model deployment, or the example counts are
 * outside Nova's limits. Input `{ runId }` (the execution name); result at `$.preflight`.
 */

/** Regions with on-demand deployment of custom models (shared/reference/bedrock.md §3). */
export const DEPLOYMENT_REGIONS = ['us-east-1', 'us-west-2'] as const;
/** The documented alternative teacher for Nova students while Nova Premier is Legacy. */
export const ALTERNATIVE_TEACHER = 'us.amazon.nova-pro-v1:0';

export class PreflightFailed extends Error {
  override readonly name = 'PreflightFailed';
}

export interface ModelCheck {
  readonly modelId: string;
  readonly foundationModelId: string;
  readonly status: string;
}

/** `$.preflight` */
export interface PreflightResult {
  readonly runId: string;
  readonly region: string;
  readonly teacher: ModelCheck;
  readonly student: ModelCheck;
  readonly exampleCount: number;
  readonly testExampleCount: number;
}

const inputSchema = z.object({ runId: z.string() });

const bedrock = tracer.captureAWSv3Client(new BedrockClient({}));

const environment = () =>
  readEnvironment({
    TEACHER_MODEL_ID: envTypes.text,
    STUDENT_MODEL_ID: envTypes.text,
    EXAMPLE_COUNT: envTypes.int(0, Number.MAX_SAFE_INTEGER),
    TEST_EXAMPLE_COUNT: envTypes.int(0, Number.MAX_SAFE_INTEGER),
    AWS_REGION: envTypes.text,
  });

async function checkModel(client: BedrockClient, configKey: 'teacherModelId' | 'studentModelId', modelId: string) {
  const { foundationModelId } = parseModelId(modelId);
  let status: string;
  try {
    const out = await client.send(new GetFoundationModelCommand({ modelIdentifier: foundationModelId }));
    status = out.modelDetails?.modelLifecycle?.status ?? 'UNKNOWN';
  } catch (error) {
    if (isRetryable(error)) throw error; // the state machine's Retry handles it under its SDK name
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    throw new PreflightFailed(
      `${configKey} "${modelId}": GetFoundationModel(${foundationModelId}) failed (${reason}). Check the id and that ` +
        'model access is granted in this account and region.',
    );
  }
  if (status !== 'ACTIVE') {
    const fix =
      configKey === 'teacherModelId'
        ? `Nova Premier is Legacy since its 2026-09-14 end of life; set teacherModelId to the documented alternative ` +
          `"${ALTERNATIVE_TEACHER}" (npx cdk deploy -c teacherModelId=${ALTERNATIVE_TEACHER}).`
        : 'Set studentModelId to an ACTIVE Nova student (Micro, Lite or Pro).';
    throw new PreflightFailed(
      `${configKey} "${modelId}" (foundation model ${foundationModelId}) is ${status}, not ACTIVE. ${fix}`,
    );
  }
  return { modelId, foundationModelId, status };
}

/** The checks, with the Bedrock client given (tests pass one over aws-sdk-client-mock). */
export async function preflight(event: unknown, client: BedrockClient = bedrock): Promise<PreflightResult> {
  const env = environment();
  const { runId: given } = parseInput(inputSchema, event, 'Preflight');
  let runId: string;
  try {
    runId = assertRunId(given);
  } catch (error) {
    throw new PreflightFailed(`${(error as Error).message} Start the execution with such a name.`);
  }
  const region = env.AWS_REGION;
  if (!(DEPLOYMENT_REGIONS as readonly string[]).includes(region)) {
    throw new PreflightFailed(
      `region ${region} has no on-demand custom-model deployment: set region to ${DEPLOYMENT_REGIONS.join(' or ')}.`,
    );
  }
  const counts = [
    ['exampleCount', env.EXAMPLE_COUNT, TRAINING_LIMITS],
    ['testExampleCount', env.TEST_EXAMPLE_COUNT, HELD_OUT_LIMITS],
  ] as const;
  for (const [key, value, limits] of counts) {
    if (value < limits.minRecords || value > limits.maxRecords) {
      throw new PreflightFailed(
        `${key} ${value} is outside ${limits.minRecords}-${limits.maxRecords}: set ${key} within it.`,
      );
    }
  }
  // One after the other, so that the message always names the teacher first when both are unusable.
  const teacher = await checkModel(client, 'teacherModelId', env.TEACHER_MODEL_ID);
  const student = await checkModel(client, 'studentModelId', env.STUDENT_MODEL_ID);
  logger.info('preflight passed', { runId, teacher, student });
  return {
    runId,
    region,
    teacher,
    student,
    exampleCount: env.EXAMPLE_COUNT,
    testExampleCount: env.TEST_EXAMPLE_COUNT,
  };
}

export const handler = async (event: unknown): Promise<PreflightResult> => preflight(event);
