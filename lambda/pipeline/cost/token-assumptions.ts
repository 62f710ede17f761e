import { LABEL_BATCH_SIZE_CANDIDATES } from '../../core/batch-labelling';
import type { TokenUsage } from '../../core/prices';
import { CURRENT_STUDENT_PROMPT_VERSION, STUDENT_FORMATS, type StudentPromptVersion } from '../../core/student-format';
import { TOKEN_COUNTS } from './token-counts';

/**
 * The cost model's token side: what one query, label, answer or labelling call costs in tokens, from the measured
 * TOKEN_COUNTS (token-counts.ts) and the few stated assumptions that travel with every estimate.
 */

/** Token counts per item. Measured defaults (TOKEN_COUNTS) except the two marked as assumptions. */
export interface TokenAssumptions {
  /** Mean tokens of one search query (measured on the calibration set's 100 queries). */
  readonly queryTokens: number;
  /** Output tokens of one teacher label or teacher-prompt reply: its JSON object of four weights (measured). */
  readonly labelTokens: number;
  /** Extra output tokens per label when `includeReasoning` is on (one short sentence; an assumption). */
  readonly reasoningTokens: number;
  /** Output tokens per written query inside a writing reply: the query JSON-quoted with its separator (measured). */
  readonly writtenQueryTokens: number;
  /** Output tokens of one judge verdict (its explanation and rating; an assumption). */
  readonly judgeOutputTokens: number;
}

export const DEFAULT_TOKEN_ASSUMPTIONS: TokenAssumptions = {
  queryTokens: TOKEN_COUNTS.queries.meanTokens,
  labelTokens: TOKEN_COUNTS.answers.teacher.meanTokens,
  reasoningTokens: 25,
  writtenQueryTokens: TOKEN_COUNTS.queries.writtenTokens,
  judgeOutputTokens: 150,
};

/** Output tokens of a student answer in its format (measured over the 286 labels of whole tenths). */
export const studentAnswerTokens = (version: StudentPromptVersion): number => TOKEN_COUNTS.answers[version].meanTokens;

/** What one routed query to a student costs in tokens, by the cost model: its prompt and a query in, its answer out. */
export function estimatedStudentTokens(
  version: StudentPromptVersion,
  tokens: TokenAssumptions = DEFAULT_TOKEN_ASSUMPTIONS,
  includeReasoning = false,
): TokenUsage {
  const answer = studentAnswerTokens(version);
  // A student trained with reasoning writes it after the weights; a format that bounds its calls (maxTokens) cuts
  // it there, and that bound is what is billed.
  const withReasoning = answer + tokens.reasoningTokens;
  const { maxTokens } = STUDENT_FORMATS[version];
  const outputTokens = !includeReasoning
    ? answer
    : maxTokens === undefined
      ? withReasoning
      : Math.min(maxTokens, withReasoning);
  return { inputTokens: TOKEN_COUNTS.prompts.student[version].tokens + tokens.queryTokens, outputTokens };
}

/** Characters per token of a training record's texts in a format (the report's estimate from the file size). */
export const recordCharsPerToken = (version: StudentPromptVersion = CURRENT_STUDENT_PROMPT_VERSION): number =>
  TOKEN_COUNTS.recordCharsPerToken[version];

/**
 * Teacher calls and tokens of labelling groups of queries (a run's shards, each batched on its own) in batches of
 * `size` (1: one query per call, the teacher prompt).
 */
export function labellingUsage(groups: readonly number[], size: number, reasoning: boolean, tokens: TokenAssumptions) {
  const queries = groups.reduce((sum, n) => sum + n, 0);
  const out = tokens.labelTokens + (reasoning ? tokens.reasoningTokens : 0);
  if (size <= 1) {
    const prompt = reasoning ? TOKEN_COUNTS.prompts.teacherWithReasoning : TOKEN_COUNTS.prompts.teacher;
    return { calls: queries, perCall: { inputTokens: prompt.tokens + tokens.queryTokens, outputTokens: out } };
  }
  const measured = TOKEN_COUNTS.batches[String(size) as keyof typeof TOKEN_COUNTS.batches];
  // A size without its own measurement (a fixed labelBatchSize) uses the nearest measured one's per-query figures.
  const figures =
    measured ??
    TOKEN_COUNTS.batches[
      String(
        LABEL_BATCH_SIZE_CANDIDATES.reduce((best, c) => (Math.abs(c - size) < Math.abs(best - size) ? c : best)),
      ) as keyof typeof TOKEN_COUNTS.batches
    ];
  const prompt = reasoning ? TOKEN_COUNTS.prompts.teacherBatchWithReasoning : TOKEN_COUNTS.prompts.teacherBatch;
  const calls = groups.reduce((sum, n) => sum + Math.ceil(n / size), 0);
  const itemOut = figures.replyItemTokens + (reasoning ? tokens.reasoningTokens : 0);
  return {
    calls,
    // Per call on average (the last batch of a shard may be smaller; the figures are per query times the queries).
    perCall: {
      inputTokens: prompt.tokens + (queries / calls) * figures.messageTokensPerQuery,
      outputTokens: (queries / calls) * itemOut + figures.replyEnvelopeTokens,
    },
  };
}
