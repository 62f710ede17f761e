import {
  BedrockRuntimeServiceException,
  type ConverseCommandInput,
  type ConverseCommandOutput,
} from '@aws-sdk/client-bedrock-runtime';
import { sleep as realSleep, usageOf, withRetry } from '../../core/bedrock';
import type { Converse } from '../../core/teacher-labelling';

/**
 * Who retries the teacher's transient errors — exactly one layer, never both:
 * - `client`: our withRetry (full-jitter exponential backoff); the SDK client must be built with `maxAttempts: 1`.
 * - `sdk`: the SDK client's own retry strategy (e.g. `retryMode: 'adaptive'`); we only count its attempts.
 */
export type TeacherRetryPolicy =
  | {
      readonly layer: 'client';
      readonly maxAttempts: number;
      readonly baseDelayMs: number;
      readonly maxDelayMs: number;
    }
  | { readonly layer: 'sdk' };

export interface TeacherCallDependencies {
  readonly converse: Converse;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
}

/** A shard's teacher: counts the calls, tokens and retries while calling it under the retry policy. */
export class Teacher {
  readonly calls = { writing: 0, labelling: 0 };
  readonly usage = { inputTokens: 0, outputTokens: 0 };
  retries = 0;

  constructor(
    private readonly policy: TeacherRetryPolicy,
    private readonly deps: TeacherCallDependencies,
  ) {}

  async call(kind: 'writing' | 'labelling', input: ConverseCommandInput): Promise<ConverseCommandOutput> {
    const policy = this.policy;
    const attempt = () => this.deps.converse(input);
    try {
      const output =
        policy.layer === 'client'
          ? await withRetry(attempt, {
              ...policy,
              sleep: this.deps.sleep ?? realSleep,
              random: this.deps.random ?? Math.random,
              onRetry: () => void this.retries++,
            })
          : await attempt();
      if (policy.layer === 'sdk') this.retries += Math.max(0, (output.$metadata.attempts ?? 1) - 1);
      this.calls[kind]++;
      const usage = usageOf(output);
      this.usage.inputTokens += usage.inputTokens;
      this.usage.outputTokens += usage.outputTokens;
      return output;
    } catch (error) {
      if (policy.layer === 'sdk' && error instanceof BedrockRuntimeServiceException) {
        this.retries += Math.max(0, (error.$metadata.attempts ?? 1) - 1);
      }
      throw error;
    }
  }
}
