import type { ConverseCommandOutput } from '@aws-sdk/client-bedrock-runtime';
import type { TokenUsage } from './prices';

/**
 * Bedrock errors worth retrying with backoff: throttling and transient service faults. Anything else (validation,
 * access denied, resource not found) fails at once — retrying cannot fix it.
 */
export const RETRYABLE_ERRORS = [
  'ThrottlingException',
  'ServiceUnavailableException',
  'ModelNotReadyException',
  'InternalServerException',
  'ModelTimeoutException',
] as const;

export const isRetryable = (error: unknown): boolean =>
  error instanceof Error && (RETRYABLE_ERRORS as readonly string[]).includes(error.name);

export interface RetryOptions {
  /** Attempts in all, the first included. */
  readonly maxAttempts?: number;
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  /** Which errors to retry (default: isRetryable). */
  readonly retryable?: (error: unknown) => boolean;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  readonly onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Exponential backoff with full jitter (delay uniform in [0, min(max, base·2^attempt)]). */
export async function withRetry<T>(call: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const {
    maxAttempts = 6,
    baseDelayMs = 500,
    maxDelayMs = 20_000,
    retryable = isRetryable,
    sleep: wait = sleep,
    random = Math.random,
    onRetry,
  } = options;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (attempt >= maxAttempts || !retryable(error)) throw error;
      const delayMs = Math.round(random() * Math.min(maxDelayMs, baseDelayMs * 2 ** attempt));
      onRetry?.(error, attempt, delayMs);
      await wait(delayMs);
    }
  }
}

/** The text of a Converse reply (all text blocks of the output message, joined). */
export function replyText(output: ConverseCommandOutput): string {
  const blocks = output.output?.message?.content ?? [];
  return blocks
    .map((b) => b.text)
    .filter((t): t is string => typeof t === 'string')
    .join('');
}

/** Token usage of a Converse reply (zeros when the service omits it). */
export const usageOf = (output: ConverseCommandOutput): TokenUsage => ({
  inputTokens: output.usage?.inputTokens ?? 0,
  outputTokens: output.usage?.outputTokens ?? 0,
});
