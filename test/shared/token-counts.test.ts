import { encode as encodeCl100k } from 'gpt-tokenizer/cjs/encoding/cl100k_base';
import { encode } from 'gpt-tokenizer/cjs/encoding/o200k_base';
import { allTenthsWeights, measureTokenCounts, TOKENIZER } from '../../scripts/token-counts';
import { STUDENT_FORMATS, STUDENT_V2_MAX_TOKENS } from '../../lambda/core/student-format';
import { TOKEN_COUNTS } from '../../lambda/pipeline/cost/token-counts';

describe('the measured token counts the cost model reads', () => {
  it('are what the prompts, queries and formats measure now (regenerate: npm run token-counts)', () => {
    expect(measureTokenCounts()).toEqual(TOKEN_COUNTS);
  });

  it('name the tokenizer they were measured with', () => {
    expect(TOKEN_COUNTS.tokenizer).toBe(TOKENIZER);
    // The proxy is a real BPE tokenizer, not a characters-per-token rule: digits and spaces are separate tokens.
    expect(encode('9 0 0 1')).toHaveLength(7);
  });

  it('show the compact answer at ≤ 10 tokens and under a third of the JSON answer', () => {
    const { answers } = TOKEN_COUNTS;
    expect(answers['student-v2'].maxTokens).toBeLessThanOrEqual(10);
    expect(answers['student-v2'].maxChars).toBeLessThanOrEqual(STUDENT_V2_MAX_TOKENS);
    expect(answers['student-v2'].meanTokens * 3).toBeLessThan(answers['student-v1'].meanTokens);
    expect(answers['student-v2'].meanChars * 8).toBeLessThan(answers['student-v1'].meanChars);
  });

  it('hold with a second BPE vocabulary (cl100k_base): the compact answer does not depend on one tokenizer', () => {
    const labels = allTenthsWeights();
    const v2 = labels.map((w) => encodeCl100k(STUDENT_FORMATS['student-v2'].render(w)).length);
    const v1 = labels.map((w) => encodeCl100k(STUDENT_FORMATS['student-v1'].render(w)).length);
    expect(Math.max(...v2)).toBeLessThanOrEqual(10);
    expect(Math.min(...v1)).toBeGreaterThan(2 * Math.max(...v2));
  });

  it('measure the answers over every label of whole tenths', () => {
    const labels = allTenthsWeights();
    expect(labels).toHaveLength(286);
    const v2 = labels.map((w) => encode(STUDENT_FORMATS['student-v2'].render(w)).length);
    expect(Math.max(...v2)).toBe(TOKEN_COUNTS.answers['student-v2'].maxTokens);
  });

  it('show a batch of queries costs fewer input tokens per query than the teacher prompt alone', () => {
    for (const [size, batch] of Object.entries(TOKEN_COUNTS.batches)) {
      const perQuery = TOKEN_COUNTS.prompts.teacherBatch.tokens / Number(size) + batch.messageTokensPerQuery;
      expect(perQuery).toBeLessThan(TOKEN_COUNTS.prompts.teacher.tokens / 2);
    }
  });

  it('measure the minimal student-v3 prompt: ≤ 6 tokens, a sixth of student-v2, the same answer', () => {
    const { prompts, answers } = TOKEN_COUNTS;
    expect(prompts.student['student-v3'].tokens).toBeLessThanOrEqual(6);
    expect(prompts.student['student-v3'].tokens * 6).toBeLessThanOrEqual(prompts.student['student-v2'].tokens);
    expect(answers['student-v3']).toEqual(answers['student-v2']);
    // The teacher prompt as a student's prompt version is measured as the teacher prompt.
    expect(prompts.student['teacher-v1']).toEqual(prompts.teacher);
  });
});
