import type { ConverseCommandInput, ConverseCommandOutput } from '@aws-sdk/client-bedrock-runtime';
import { replyText } from './bedrock';
import type { Weights } from './modality';
import { teacherPrompt } from './teacher-prompt';
import { parseWeights } from './weights';

/**
 * The teacher labelling one query: the request (the teacher prompt, temperature 0, small maxTokens) and how its reply
 * is read. The Generate stage (shards, calibration) and the shadow labeller both label through labelQuery, so
 * synthetic and production labels are made exactly alike.
 */

/** One Converse request; the caller owns the client and the retries of transient errors. */
export type Converse = (input: ConverseCommandInput) => Promise<ConverseCommandOutput>;

/** Label replies are a short JSON object (~30 tokens); the cap keeps each request's quota reservation small. */
export const LABEL_MAX_TOKENS = 80;
export const LABEL_MAX_TOKENS_WITH_REASONING = 250;
/** The retry of an unparseable label samples again instead of repeating the same greedy answer. */
export const LABEL_RETRY_TEMPERATURE = 0.3;

export interface TeacherLabelOptions {
  readonly teacherModelId: string;
  readonly includeReasoning: boolean;
}

/** A labelled query, in the form the pipeline's shard files store it. */
export interface LabelledExample {
  readonly kind: 'example';
  readonly query: string;
  readonly weights: Weights;
  readonly reasoning?: string;
}

export type TeacherLabelOutcome =
  | { readonly ok: true; readonly example: LabelledExample; readonly retried: boolean }
  | { readonly ok: false; readonly reason: 'unparseableLabel'; readonly retried: boolean };

/**
 * Labels one query with the teacher prompt (temperature 0, small maxTokens); an unparseable reply gets one more try at
 * LABEL_RETRY_TEMPERATURE, then the query is given up as `unparseableLabel`. `call` sends one Converse request (and
 * owns retries of transient errors, whose last error it throws).
 */
export async function labelQuery(
  query: string,
  options: TeacherLabelOptions,
  call: Converse,
): Promise<TeacherLabelOutcome> {
  const system = [{ text: teacherPrompt(options.includeReasoning) }];
  const maxTokens = options.includeReasoning ? LABEL_MAX_TOKENS_WITH_REASONING : LABEL_MAX_TOKENS;
  for (const [attempt, temperature] of [0, LABEL_RETRY_TEMPERATURE].entries()) {
    const reply = await call({
      modelId: options.teacherModelId,
      system,
      messages: [{ role: 'user', content: [{ text: query }] }],
      inferenceConfig: { temperature, maxTokens },
    });
    const parsed = parseWeights(replyText(reply));
    if (parsed.ok) {
      const reasoning = options.includeReasoning ? parsed.reasoning : undefined;
      return {
        ok: true,
        retried: attempt > 0,
        example: { kind: 'example', query, weights: parsed.weights, ...(reasoning ? { reasoning } : {}) },
      };
    }
  }
  return { ok: false, reason: 'unparseableLabel', retried: true };
}
