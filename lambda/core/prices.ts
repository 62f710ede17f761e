import { parseModelId } from './model-ids';

/** USD per 1M tokens, on demand. */
export interface TokenPrice {
  readonly inputPer1M: number;
  readonly outputPer1M: number;
}

/**
 * Built-in on-demand prices (docs/aws-facts.md §8). Keys are base model ids: a cross-Region profile id
 * (`us.…`) and a `:128k` context variant resolve to the same entry through `priceFor`. Override any entry with the
 * `prices` config key. A distilled Nova Micro on demand is billed at Nova Micro's rate.
 */
export const DEFAULT_PRICES: Readonly<Record<string, TokenPrice>> = {
  'amazon.nova-micro-v1:0': { inputPer1M: 0.035, outputPer1M: 0.14 },
  'amazon.nova-lite-v1:0': { inputPer1M: 0.06, outputPer1M: 0.24 },
  'amazon.nova-pro-v1:0': { inputPer1M: 0.8, outputPer1M: 3.2 },
  'amazon.nova-premier-v1:0': { inputPer1M: 2.5, outputPer1M: 12.5 },
  'anthropic.claude-haiku-4-5-20251001-v1:0': { inputPer1M: 1.0, outputPer1M: 5.0 },
  'anthropic.claude-sonnet-4-6': { inputPer1M: 3.0, outputPer1M: 15.0 },
  'meta.llama3-3-70b-instruct-v1:0': { inputPer1M: 0.72, outputPer1M: 0.72 },
};

export interface TokenUsage {
  readonly inputTokens: number;
  readonly outputTokens: number;
}

/**
 * The price of a model from the table: the exact id first, then the id without its cross-Region profile prefix, then
 * without its context variant (`us.amazon.nova-micro-v1:0:128k` → `amazon.nova-micro-v1:0`). Undefined when unknown.
 */
export function priceFor(modelId: string, table: Readonly<Record<string, TokenPrice>>): TokenPrice | undefined {
  const { id, modelIdWithVariant, foundationModelId } = parseModelId(modelId);
  return table[modelId] ?? table[id] ?? table[modelIdWithVariant] ?? table[foundationModelId];
}

/** USD for the given token usage. */
export const costUsd = (usage: TokenUsage, price: TokenPrice): number =>
  (usage.inputTokens * price.inputPer1M + usage.outputTokens * price.outputPer1M) / 1_000_000;

/** USD for `queries` calls that each use `perQuery` tokens on average (e.g. routing cost per 1M queries). */
export const costPerQueries = (perQuery: TokenUsage, price: TokenPrice, queries: number): number =>
  costUsd({ inputTokens: perQuery.inputTokens * queries, outputTokens: perQuery.outputTokens * queries }, price);
