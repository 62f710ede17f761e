import { costUsd, priceFor, type TokenPrice, type TokenUsage } from '../../core/prices';
import type { CandidateSpec } from '../../core/candidates';
import type { StudentPromptVersion } from '../../core/student-format';
import type { TokenAssumptions } from './token-assumptions';

/**
 * The cost model's vocabulary: what it is given (CostInputs), the lines and stages an estimate is made of, the rates
 * no source confirmed, and the price look-up that names the config key to set when a model has no price.
 */

export type PriceTable = Readonly<Record<string, TokenPrice>>;

/** Distillation rates: parameters because no source confirmed them (docs/aws-facts.md §8). */
export interface DistillationRates {
  /** USD per 1,000 training tokens of the student (UNVERIFIED; Nova Micro customization list price). */
  readonly trainingPer1kTokensUsd: number;
  /** A distillation's passes over the training data (UNVERIFIED: it exposes no epoch setting; fine-tuning sets its own). */
  readonly epochs: number;
  /** USD per month to store the custom model (UNVERIFIED). */
  readonly storagePerMonthUsd: number;
}

export const DEFAULT_DISTILLATION_RATES: DistillationRates = {
  trainingPer1kTokensUsd: 0.001,
  epochs: 1,
  storagePerMonthUsd: 1.95,
};

export interface CostInputs {
  readonly exampleCount: number;
  readonly testExampleCount: number;
  readonly generationSurplus: number;
  readonly queriesPerShard: number;
  readonly includeReasoning: boolean;
  /**
   * Queries per teacher labelling call: a number, or `auto` (calibrated at the start of the run), estimated at the
   * largest candidate size calibration can choose, plus the calibration's own calls.
   */
  readonly labelBatchSize: number | 'auto';
  /** The student's answer format (default: the current one), when no candidates are given. */
  readonly studentPromptVersion?: StudentPromptVersion;
  /**
   * The run's candidates (config.candidates); unset: one distillation of studentModelId in studentPromptVersion,
   * named `student`. The first is the default winner, whose student the routing figures price.
   */
  readonly candidates?: readonly CandidateSpec[];
  readonly teacherModelId: string;
  readonly studentModelId: string;
  readonly baselineModelId: string;
  readonly judgeModelId: string;
  readonly queriesPerMonth: number;
  readonly priceTable: PriceTable;
  readonly distillation?: Partial<DistillationRates>;
  readonly tokens?: Partial<TokenAssumptions>;
}

export type CostStage = 'generation' | 'training' | 'evaluation';

export interface CostLine {
  readonly stage: CostStage;
  readonly item: string;
  readonly modelId?: string;
  readonly calls?: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly usd: number;
}

export interface StageCost {
  readonly stage: CostStage;
  readonly lines: readonly CostLine[];
  readonly usd: number;
  readonly assumptions: readonly string[];
}

export class CostModelError extends Error {
  override readonly name = 'CostModelError';
}

/** The price of a model, or an error that names the config key to set. */
export function requirePrice(modelId: string, table: PriceTable): TokenPrice {
  const price = priceFor(modelId, table);
  if (!price) {
    throw new CostModelError(
      `no price for model "${modelId}": add it to the "prices" config key (USD per 1M tokens), e.g. ` +
        `-c prices='{"${modelId}":{"inputPer1M":1,"outputPer1M":5}}'`,
    );
  }
  return price;
}

/** A cost line for measured usage (what the run report adds up from the manifest's calls and tokens). */
export function usageCost(
  stage: CostStage,
  item: string,
  modelId: string,
  usage: TokenUsage & { readonly calls?: number },
  table: PriceTable,
): CostLine {
  return {
    stage,
    item,
    modelId,
    ...(usage.calls !== undefined ? { calls: usage.calls } : {}),
    inputTokens: usage.inputTokens,
    outputTokens: usage.outputTokens,
    usd: costUsd(usage, requirePrice(modelId, table)),
  };
}

export const times = (usage: TokenUsage, n: number): TokenUsage => ({
  inputTokens: usage.inputTokens * n,
  outputTokens: usage.outputTokens * n,
});

export const stageOf = (stage: CostStage, lines: CostLine[], assumptions: string[]): StageCost => ({
  stage,
  lines,
  usd: lines.reduce((sum, line) => sum + line.usd, 0),
  assumptions,
});
