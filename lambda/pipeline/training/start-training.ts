import {
  BedrockClient,
  CreateModelCustomizationJobCommand,
  GetModelCustomizationJobCommand,
  type CreateModelCustomizationJobRequest,
} from '@aws-sdk/client-bedrock';
import * as z from 'zod';
import {
  baseModelSupport,
  CANDIDATE_METHODS,
  CANDIDATE_NAME_PATTERN,
  CUSTOMIZATION_TYPE,
  type CandidateSpec,
  recommendedWarmupSteps,
  type FineTuningHyperParameters,
} from '../../core/candidates';
import { resourceTags, trainingNames } from '../../core/job-names';
import { s3Uri } from '../../core/run-store';
import { runKeys } from '../../core/runs';
import type { TrainingStarted } from './result';
import { errorName, lambdaHandler, logger, parseInput, tracer } from '../../core/runtime';
import { START_TRAINING_ENVIRONMENT } from './environment';

const bedrock = tracer.captureAWSv3Client(new BedrockClient({}));

/** Bedrock's ranges for Nova Lite / Micro / Pro customization (docs/aws-facts.md §6); config checks them at synth. */
const hyperParametersInput = z.object({
  epochCount: z.number().int().min(1).max(5),
  learningRate: z.number().min(1e-6).max(1e-4),
  learningRateWarmupSteps: z.number().int().min(0).max(100).optional(),
});

const candidateInput = z.object({
  name: z.string().regex(CANDIDATE_NAME_PATTERN, 'must be a candidate name (lowercase letters, digits, dashes)'),
  method: z.enum(CANDIDATE_METHODS),
  baseModelId: z.string().min(1),
  promptVersion: z.string().min(1),
  hyperParameters: hyperParametersInput.optional(),
});

export const startTrainingInput = z.object({
  runId: z.string().min(1),
  /** Assemble's (or Reuse dataset's) result: where the training files are and how many records they hold. */
  assemble: z.object({
    bucket: z.string().min(1),
    trainKey: z.string().min(1),
    trainCount: z.number().int().nonnegative().optional(),
    /** One training file per prompt version (same queries and labels, only the system prompt differs). */
    trainKeys: z.record(z.string(), z.string().min(1)).optional(),
    studentPromptVersion: z.string().optional(),
  }),
  /** Absent: a run without candidates, one distillation of the configured student. */
  candidate: candidateInput.optional(),
});
export type StartTrainingInput = z.output<typeof startTrainingInput>;

/** The candidate's training file: the one written in its prompt version, never another version's. */
export function trainingFileOf(assemble: StartTrainingInput['assemble'], candidate: CandidateSpec): string {
  const { trainKeys, trainKey, studentPromptVersion } = assemble;
  if (trainKeys) {
    const key = trainKeys[candidate.promptVersion];
    if (key) return key;
    throw new Error(
      `candidate "${candidate.name}" trains in prompt version "${candidate.promptVersion}" but Assemble wrote ` +
        `training files for ${Object.keys(trainKeys).join(', ') || 'no version'} only: give the candidate one of ` +
        'those promptVersions, or start a new run so that Assemble writes its version.',
    );
  }
  // A dataset written before one file per prompt version: a single train file in one version.
  if (studentPromptVersion === candidate.promptVersion) return trainKey;
  throw new Error(
    `candidate "${candidate.name}" trains in prompt version "${candidate.promptVersion}" but the dataset's only ` +
      `training file (${trainKey}) is in ${studentPromptVersion ? `"${studentPromptVersion}"` : 'an unknown version'}: ` +
      'reuse a dataset written with one file per prompt version, or run without --reuse-dataset.',
  );
}

/**
 * The job's `hyperParameters`, a string map: the candidate's epochs and learning rate, and its warm-up steps or,
 * unset, the guide's rule over the training records (within Bedrock's 0–100).
 */
export function fineTuningHyperParameters(
  candidate: CandidateSpec,
  trainCount: number | undefined,
): Record<string, string> {
  const given: FineTuningHyperParameters | undefined = candidate.hyperParameters;
  const warmup = given?.learningRateWarmupSteps ?? ruleWarmupSteps(candidate, trainCount);
  return {
    ...(given ? { epochCount: String(given.epochCount), learningRate: String(given.learningRate) } : {}),
    learningRateWarmupSteps: String(warmup),
  };
}

function ruleWarmupSteps(candidate: CandidateSpec, trainCount: number | undefined): number {
  if (!baseModelSupport(candidate.baseModelId)) {
    throw new Error(
      `candidate "${candidate.name}": no warm-up rule for base model ${candidate.baseModelId} (the guide gives one ` +
        'for Nova Micro, Lite and Pro): set its hyperParameters.learningRateWarmupSteps.',
    );
  }
  if (trainCount === undefined) {
    throw new Error(
      `candidate "${candidate.name}": the Assemble result carries no trainCount to apply the warm-up rule: set its ` +
        'hyperParameters.learningRateWarmupSteps.',
    );
  }
  return recommendedWarmupSteps(candidate.baseModelId, trainCount);
}

/**
 * The customization job of a candidate (or, without one, the run's single distillation): its method's type and
 * role, its base model, its prompt version's training file, output under its own prefix, names and tags that carry
 * it.
 */
export function trainingRequest(input: StartTrainingInput): CreateModelCustomizationJobRequest {
  const env = START_TRAINING_ENVIRONMENT.read(process.env);
  const { runId, assemble } = input;
  const candidate = input.candidate;
  const names = trainingNames(env.envName, runId, candidate?.name);
  const tags = resourceTags(env.envName, runId, candidate?.name);
  const method = candidate?.method ?? 'distillation';
  const common = {
    jobName: names.customizationJobName,
    customModelName: names.customModelName,
    clientRequestToken: names.customizationToken,
    baseModelIdentifier: candidate?.baseModelId ?? env.studentModelId,
    trainingDataConfig: {
      s3Uri: s3Uri(assemble.bucket, candidate ? trainingFileOf(assemble, candidate) : assemble.trainKey),
    },
    outputDataConfig: {
      s3Uri: s3Uri(
        assemble.bucket,
        candidate ? runKeys(runId).candidate(candidate.name).trainingOutputPrefix : runKeys(runId).distillationPrefix,
      ),
    },
    customModelKmsKeyId: env.datasetKeyArn,
    jobTags: tags,
    customModelTags: tags,
  };
  if (method === 'fine-tuning' && candidate) {
    return {
      ...common,
      roleArn: env.fineTuningRoleArn,
      customizationType: CUSTOMIZATION_TYPE['fine-tuning'],
      hyperParameters: fineTuningHyperParameters(candidate, assemble.trainCount),
    };
  }
  return {
    ...common,
    roleArn: env.customizationRoleArn,
    customizationType: CUSTOMIZATION_TYPE.distillation,
    customizationConfig: {
      distillationConfig: {
        teacherModelConfig: {
          teacherModelIdentifier: env.teacherModelId,
          maxResponseLengthForInference: env.maxResponseLengthForInference,
        },
      },
    },
  };
}

/**
 * Starts a candidate's customization job (distillation or fine-tuning). The client request token is derived from the
 * run and the candidate, so a create retried after a lost response returns the same job; should Bedrock answer a
 * retry with ConflictException instead, the job of that name is looked up and returned when this run started it.
 * Throttling and other errors surface under their SDK names for the state machine's Retry.
 */
export async function startTraining(event: unknown): Promise<TrainingStarted> {
  const input = parseInput(startTrainingInput, event, 'Start training');
  const request = trainingRequest(input);
  const jobName = request.jobName ?? '';
  const started = (jobArn: string, existing: boolean): TrainingStarted => ({
    jobArn,
    jobName,
    customModelName: request.customModelName ?? '',
    customizationType: request.customizationType ?? '',
    ...(input.candidate ? { candidate: input.candidate.name } : {}),
    existing,
  });
  try {
    const out = await bedrock.send(new CreateModelCustomizationJobCommand(request));
    if (!out.jobArn) throw new Error('CreateModelCustomizationJob returned no jobArn');
    logger.info('customization job started', { jobName, jobArn: out.jobArn, type: request.customizationType });
    return started(out.jobArn, false);
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
    logger.info('customization job already started by an earlier attempt', { jobName, jobArn: job.jobArn });
    return started(job.jobArn, true);
  }
}

export const handler = /* @__PURE__ */ lambdaHandler(startTraining);
