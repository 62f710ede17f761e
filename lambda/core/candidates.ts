import * as z from 'zod';
import { parseModelId } from './model-ids';

/**
 * A run's candidates: the students it trains side by side (issue 20). Config validates the list at synth
 * (lib/config), Preflight resolves this run's list (a `--candidates` filter, a reused model), and every stage that
 * creates something for a candidate names it after the candidate (job-names.ts, runs.ts) so that candidates never
 * collide and a retried step finds its own job. docs/candidates.md explains the two methods; docs/aws-facts.md §12 has
 * the Regions and hyperparameter ranges.
 *
 * This module imports only zod and model-ids: constructs import it at synth, and so do environment contracts.
 */

/** How a candidate learns from the teacher's labels. */
export const CANDIDATE_METHODS = ['distillation', 'fine-tuning'] as const;
export type CandidateMethod = (typeof CANDIDATE_METHODS)[number];

/** The Bedrock customization type of each method (CreateModelCustomizationJob's `customizationType`). */
export const CUSTOMIZATION_TYPE = {
  distillation: 'DISTILLATION',
  'fine-tuning': 'FINE_TUNING',
} as const satisfies Record<CandidateMethod, string>;

/**
 * A candidate's name: it goes into Bedrock job, model and deployment names and S3 keys (`runs/<runId>/<name>/…`), so
 * lowercase letters, digits and single dashes, starting with a letter, at most 16 characters.
 */
export const CANDIDATE_NAME_PATTERN = /^[a-z](?:-?[a-z0-9]){0,15}$/;

/** Fine-tuning hyperparameters (Bedrock's Nova customization ranges; docs/aws-facts.md §12). */
export interface FineTuningHyperParameters {
  readonly epochCount: number;
  readonly learningRate: number;
  /** Unset: the Nova guide's rule (training records / 640 for Micro, / 160 for Lite), within 0–100. */
  readonly learningRateWarmupSteps?: number;
}

export interface CandidateSpec {
  readonly name: string;
  readonly method: CandidateMethod;
  /** The base model customized (Nova Micro by default). */
  readonly baseModelId: string;
  /**
   * The prompt version the candidate's training records carry and it is asked with at inference: a student prompt
   * version, or the teacher's (a distillation whose teacher sees the full rules; the student then pays for them).
   */
  readonly promptVersion: string;
  /** Fine-tuning only. */
  readonly hyperParameters?: FineTuningHyperParameters;
}

/** Bedrock's documented ranges and defaults of the Nova understanding models' hyperparameters (cm-hp-nova-mm). */
export const HYPERPARAMETER_RANGES = {
  epochCount: { min: 1, max: 5, default: 2, integer: true },
  learningRate: { min: 1e-6, max: 1e-4, default: 1e-5, integer: false },
  learningRateWarmupSteps: { min: 0, max: 100, default: 10, integer: true },
} as const;

/** The base models a candidate may customize: the Nova v1 students of both methods (Micro by default, Lite, Pro). */
export const NOVA_MICRO_BASE_MODEL_ID = 'amazon.nova-micro-v1:0:128k';
export const NOVA_LITE_BASE_MODEL_ID = 'amazon.nova-lite-v1:0:300k';

interface BaseModelSupport {
  readonly name: string;
  readonly customizationModelId: string;
  /** The Nova guide's warm-up rule: training records divided by this. */
  readonly warmupRecordsPerStep: number;
  /** Regions where Bedrock trains this base model, by method (docs/aws-facts.md §12). */
  readonly trainingRegions: Readonly<Record<CandidateMethod, readonly string[]>>;
}

/** By foundation model id (`amazon.nova-micro-v1:0`): what each base model supports. */
export const CANDIDATE_BASE_MODELS: Readonly<Record<string, BaseModelSupport>> = {
  'amazon.nova-micro-v1:0': {
    name: 'Nova Micro',
    customizationModelId: NOVA_MICRO_BASE_MODEL_ID,
    warmupRecordsPerStep: 640,
    // Fine-tuning: the Bedrock table lists us-east-1 only. Distillation: both Regions the app deploys to (UNVERIFIED
    // for us-west-2; the distillation table was not found).
    trainingRegions: { 'fine-tuning': ['us-east-1'], distillation: ['us-east-1', 'us-west-2'] },
  },
  'amazon.nova-lite-v1:0': {
    name: 'Nova Lite',
    customizationModelId: NOVA_LITE_BASE_MODEL_ID,
    warmupRecordsPerStep: 160,
    trainingRegions: { 'fine-tuning': ['us-east-1'], distillation: ['us-east-1', 'us-west-2'] },
  },
  // Teacher and student: a studentModelId of Nova Pro keeps working as a distillation student.
  'amazon.nova-pro-v1:0': {
    name: 'Nova Pro',
    customizationModelId: 'amazon.nova-pro-v1:0:300k',
    warmupRecordsPerStep: 320,
    trainingRegions: { 'fine-tuning': ['us-east-1'], distillation: ['us-east-1', 'us-west-2'] },
  },
};

/** The support entry of a base model id (any variant of Nova Micro or Lite), or undefined. */
export function baseModelSupport(baseModelId: string): BaseModelSupport | undefined {
  const { foundationModelId, profile } = parseModelId(baseModelId);
  return profile ? undefined : CANDIDATE_BASE_MODELS[foundationModelId];
}

/** The Regions where `candidate` can be trained (empty for an unknown base model). */
export const trainingRegions = (candidate: Pick<CandidateSpec, 'method' | 'baseModelId'>): readonly string[] =>
  baseModelSupport(candidate.baseModelId)?.trainingRegions[candidate.method] ?? [];

/**
 * What is wrong with training `candidate` in `region`, or undefined: the message names the candidate, what the Region
 * lacks and the two ways out.
 */
export function regionProblem(
  candidate: Pick<CandidateSpec, 'name' | 'method' | 'baseModelId'>,
  region: string,
): string | undefined {
  const regions = trainingRegions(candidate);
  if (regions.includes(region)) return undefined;
  const model = baseModelSupport(candidate.baseModelId)?.name ?? candidate.baseModelId;
  return (
    `candidate "${candidate.name}": Bedrock has no ${candidate.method} of ${model} in ${region} ` +
    `(${regions.length ? `only in ${regions.join(', ')}` : 'in no Region'}): remove the candidate from the list, ` +
    `or deploy to ${regions[0] ?? 'a Region that trains it'}`
  );
}

/**
 * The Nova guide's recommended warm-up for fine-tuning: training records / 640 (Micro), / 160 (Lite) or / 320 (Pro),
 * rounded, within Bedrock's 0–100.
 */
export function recommendedWarmupSteps(baseModelId: string, trainingRecords: number): number {
  const perStep = baseModelSupport(baseModelId)?.warmupRecordsPerStep ?? 640;
  const { min, max } = HYPERPARAMETER_RANGES.learningRateWarmupSteps;
  return Math.min(max, Math.max(min, Math.round(trainingRecords / perStep)));
}

/** The name of the one candidate of a run started with `reuseModelArn` (config refuses it as a configured name). */
export const REUSED_CANDIDATE_NAME = 'given';

/**
 * A candidate of one run, as Preflight resolves it (`$.preflight.candidates`): a configured candidate, or the model
 * given with `reuseModelArn`, which was trained by nobody knows what (method `reused`): it is deployed and evaluated,
 * never trained.
 */
export type RunCandidate =
  | (CandidateSpec & { readonly reusedModelArn?: undefined })
  | (Omit<CandidateSpec, 'method' | 'hyperParameters'> & {
      readonly method: 'reused';
      readonly reusedModelArn: string;
    });

/** A validated candidate list as it travels in an environment variable (config has validated the values). */
export const candidateListSchema = z
  .array(
    z.object({
      name: z.string().regex(CANDIDATE_NAME_PATTERN),
      method: z.enum(CANDIDATE_METHODS),
      baseModelId: z.string().min(1),
      promptVersion: z.string().min(1),
      hyperParameters: z
        .object({
          epochCount: z.number().int(),
          learningRate: z.number(),
          learningRateWarmupSteps: z.number().int().optional(),
        })
        .optional(),
    }),
  )
  .readonly();
