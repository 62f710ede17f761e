/** USD per 1M tokens, on demand. */
export interface TokenPrice {
  readonly inputPer1M: number;
  readonly outputPer1M: number;
}

/**
 * Built-in on-demand prices (shared/reference/bedrock.md §7). Keys are base model ids: a cross-Region profile id
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
