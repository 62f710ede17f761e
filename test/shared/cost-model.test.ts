import { CostModelError } from '../../lambda/pipeline/cost/cost-lines';
import { estimateCosts, renderCostEstimate } from '../../lambda/pipeline/cost/cost-model';
import { requirePrice, usageCost, type CostInputs } from '../../lambda/pipeline/cost/cost-lines';
import { DEFAULT_TOKEN_ASSUMPTIONS, studentAnswerTokens } from '../../lambda/pipeline/cost/token-assumptions';
import { DEFAULT_PRICES } from '../../lambda/core/prices';
import { planQueries } from '../../lambda/pipeline/generation/query-plan';
import { QUERIES_PER_WRITING_CALL } from '../../lambda/pipeline/generation/query-writing';
import { TOKEN_COUNTS } from '../../lambda/pipeline/cost/token-counts';
import type { CandidateSpec } from '../../lambda/core/candidates';

/** Round prices so that expected figures can be worked out by hand. */
const TABLE = {
  'amazon.nova-premier-v1:0': { inputPer1M: 2, outputPer1M: 10 },
  'amazon.nova-micro-v1:0': { inputPer1M: 0.1, outputPer1M: 0.2 },
  'anthropic.claude-haiku-4-5-20251001-v1:0': { inputPer1M: 1, outputPer1M: 5 },
  'meta.llama3-3-70b-instruct-v1:0': { inputPer1M: 1, outputPer1M: 1 },
};

const INPUTS: CostInputs = {
  exampleCount: 1000,
  testExampleCount: 100,
  generationSurplus: 1,
  queriesPerShard: 100,
  includeReasoning: false,
  labelBatchSize: 1,
  teacherModelId: 'us.amazon.nova-premier-v1:0',
  studentModelId: 'amazon.nova-micro-v1:0:128k',
  baselineModelId: 'us.anthropic.claude-haiku-4-5-20251001-v1:0',
  judgeModelId: 'us.meta.llama3-3-70b-instruct-v1:0',
  queriesPerMonth: 2_000_000,
  priceTable: TABLE,
};

const lineOf = (estimate: ReturnType<typeof estimateCosts>, item: string) => {
  const line = estimate.stages.flatMap((s) => s.lines).find((l) => l.item.startsWith(item));
  if (!line) throw new Error(`no line "${item}"`);
  return line;
};

describe('estimateCosts', () => {
  const estimate = estimateCosts(INPUTS);
  const { labelTokens, queryTokens } = DEFAULT_TOKEN_ASSUMPTIONS;
  const studentIn = TOKEN_COUNTS.prompts.student['student-v2'].tokens + queryTokens;
  const studentOut = studentAnswerTokens('student-v2');
  const teacherIn = TOKEN_COUNTS.prompts.teacher.tokens + queryTokens;

  it('rests on measured token counts: the queries, the teacher JSON and the compact student answer', () => {
    expect(queryTokens).toBe(TOKEN_COUNTS.queries.meanTokens);
    expect(labelTokens).toBe(TOKEN_COUNTS.answers.teacher.meanTokens);
    expect(studentOut).toBeLessThanOrEqual(10);
    expect(studentAnswerTokens('student-v1')).toBeGreaterThan(2 * studentOut);
  });

  it('counts the teacher calls of generation: writing batches per shard and one label per planned query', () => {
    // 2,200 planned queries, 440 per target in 5 shards of 88, each written in batches of QUERIES_PER_WRITING_CALL.
    expect(lineOf(estimate, 'write queries').calls).toBe(25 * Math.ceil(88 / QUERIES_PER_WRITING_CALL));
    const label = lineOf(estimate, 'label queries');
    expect(label).toMatchObject({ calls: 2200, inputTokens: 2200 * teacherIn, outputTokens: 2200 * labelTokens });
    expect(label.usd).toBeCloseTo((2200 * teacherIn * 2 + 2200 * labelTokens * 10) / 1e6, 10);
  });

  it('plans the surplus on top of training and held-out records', () => {
    const withSurplus = estimateCosts({ ...INPUTS, generationSurplus: 0.5 });
    expect(lineOf(withSurplus, 'label queries').calls).toBe(1650);
  });

  it('prices distillation with the rates given as parameters, and says they are unverified', () => {
    const one = estimateCosts({ ...INPUTS, distillation: { trainingPer1kTokensUsd: 0.004, epochs: 1 } });
    const two = estimateCosts({ ...INPUTS, distillation: { trainingPer1kTokensUsd: 0.004, epochs: 2 } });
    // Without candidates: one distillation of studentModelId, named "student".
    const training = lineOf(one, 'student: training');
    expect(training.inputTokens).toBeCloseTo(1000 * (studentIn + studentOut), 6);
    expect(training.usd).toBeCloseTo((training.inputTokens / 1000) * 0.004, 10);
    expect(lineOf(two, 'student: training').usd).toBeCloseTo(2 * training.usd, 10);
    expect(lineOf(one, 'student: teacher inference').calls).toBe(1000);
    const assumptions = one.stages.find((s) => s.stage === 'training')?.assumptions.join(' ') ?? '';
    expect(assumptions).toMatch(/UNVERIFIED/);
    expect(assumptions).toMatch(/\$0\.004 per 1,000 tokens/);
  });

  it('has the judge rate both candidates on every held-out query', () => {
    expect(lineOf(estimate, 'judge').calls).toBe(200);
    expect(lineOf(estimate, 'student answers').calls).toBe(100);
    expect(lineOf(estimate, 'baseline answers').inputTokens).toBe(100 * teacherIn);
  });

  it('adds the stages up to the run total', () => {
    const sum = estimate.stages.flatMap((s) => s.lines).reduce((a, l) => a + l.usd, 0);
    expect(estimate.runUsd).toBeCloseTo(sum, 12);
    for (const stage of estimate.stages) expect(stage.assumptions.length).toBeGreaterThan(0);
  });

  it('computes routing per 1M queries, per month and the student savings', () => {
    const [student, teacher, baseline] = estimate.routing.rows;
    expect(student?.usdPer1MQueries).toBeCloseTo(studentIn * 0.1 + studentOut * 0.2, 10);
    expect(teacher?.usdPer1MQueries).toBeCloseTo(teacherIn * 2 + labelTokens * 10, 10);
    expect(baseline?.usdPer1MQueries).toBeCloseTo(teacherIn * 1 + labelTokens * 5, 10);
    expect(student?.usdPerMonth).toBeCloseTo(2 * (student?.usdPer1MQueries ?? 0), 10);
    expect(estimate.routing.studentSavings.vsBaseline).toBeCloseTo(
      1 - (student?.usdPer1MQueries ?? 0) / (baseline?.usdPer1MQueries ?? 1),
      12,
    );
  });

  it('reproduces the case study: the student routes > 95 % cheaper than the baseline with the built-in prices', () => {
    const real = estimateCosts({ ...INPUTS, priceTable: DEFAULT_PRICES });
    expect(real.routing.studentSavings.vsBaseline).toBeGreaterThan(0.95);
    expect(real.routing.studentSavings.vsTeacher).toBeGreaterThan(real.routing.studentSavings.vsBaseline);
  });

  it('costs more output with reasoning in the labels', () => {
    const reasoning = estimateCosts({ ...INPUTS, includeReasoning: true });
    expect(lineOf(reasoning, 'label queries').outputTokens).toBe(
      2200 * (labelTokens + DEFAULT_TOKEN_ASSUMPTIONS.reasoningTokens),
    );
    expect(reasoning.runUsd).toBeGreaterThan(estimate.runUsd);
  });

  it('fails with the config key to set when a model has no price', () => {
    expect(() => estimateCosts({ ...INPUTS, judgeModelId: 'acme.judge-v1:0' })).toThrow(CostModelError);
    expect(() => requirePrice('acme.judge-v1:0', TABLE)).toThrow(/no price for model "acme\.judge-v1:0".*"prices"/);
  });

  it('prices measured usage for the run report', () => {
    const line = usageCost(
      'generation',
      'labelling',
      'us.amazon.nova-premier-v1:0',
      {
        calls: 3,
        inputTokens: 1_000_000,
        outputTokens: 100_000,
      },
      TABLE,
    );
    expect(line).toEqual({
      stage: 'generation',
      item: 'labelling',
      modelId: 'us.amazon.nova-premier-v1:0',
      calls: 3,
      inputTokens: 1_000_000,
      outputTokens: 100_000,
      usd: 3,
    });
  });

  it('renders every stage, the run total, routing and the assumptions', () => {
    const text = renderCostEstimate(estimate);
    expect(text).toMatch(/### Generation: \$/);
    expect(text).toMatch(/### Training: \$/);
    expect(text).toMatch(/\| student \| distillation \| `amazon\.nova-micro-v1:0:128k` \| student-v2 \|/);
    expect(text).toMatch(/### Evaluation: \$/);
    expect(text).toMatch(/\*\*One run: \$[\d.,]+\*\*/);
    expect(text).toMatch(/\| student \| `amazon\.nova-micro-v1:0:128k` \|/);
    expect(text).toMatch(/Student savings: \*\*\d+\.\d %\*\* vs the teacher/);
    expect(text).toContain('tokens measured with o200k_base');
  });
});

/** Labelling calls when every shard of the INPUTS plan is batched on its own. */
const callsPerShards = (size: number) =>
  planQueries(INPUTS).shards.reduce((sum, shard) => sum + Math.ceil(shard.count / size), 0);

describe('batched labelling in the estimate', () => {
  const size = (labelBatchSize: CostInputs['labelBatchSize']) => estimateCosts({ ...INPUTS, labelBatchSize });
  const one = size(1);

  it.each([5, 10, 20] as const)('labels in ceil(queries / %i) calls, reading the batch prompt once per call', (n) => {
    const batched = size(n);
    const label = lineOf(batched, 'label queries');
    const measured = TOKEN_COUNTS.batches[String(n) as '5' | '10' | '20'];
    // Each shard is batched on its own: 25 shards of 88 queries.
    expect(label.calls).toBe(callsPerShards(n));
    expect(label.item).toBe(`label queries (${n} per call)`);
    expect(label.inputTokens).toBeCloseTo(
      (label.calls ?? NaN) * TOKEN_COUNTS.prompts.teacherBatch.tokens + 2200 * measured.messageTokensPerQuery,
      6,
    );
    expect(label.outputTokens).toBeCloseTo(
      2200 * measured.replyItemTokens + (label.calls ?? NaN) * measured.replyEnvelopeTokens,
      6,
    );
    expect(batched.tokensPerQuery.teacherLabelling.batchSize).toBe(n);
    expect(batched.runUsd).toBeLessThan(one.runUsd);
  });

  it('fewer input tokens per labelled query the larger the batch', () => {
    const perQuery = [1, 5, 10, 20].map((n) => size(n).tokensPerQuery.teacherLabelling.inputTokens);
    expect(perQuery[0]).toBeCloseTo(TOKEN_COUNTS.prompts.teacher.tokens + DEFAULT_TOKEN_ASSUMPTIONS.queryTokens, 6);
    for (let i = 1; i < perQuery.length; i++) expect(perQuery[i]).toBeLessThan(perQuery[i - 1] ?? 0);
  });

  it('auto: estimates the largest candidate size and adds the calibration calls, saying so', () => {
    const auto = size('auto');
    expect(lineOf(auto, 'label queries').calls).toBe(callsPerShards(20));
    // 100 single calls, then 100/5 + 100/10 + 100/20 batches.
    expect(lineOf(auto, 'calibrate labelling').calls).toBe(100 + 20 + 10 + 5);
    expect(auto.stages[0]?.assumptions.join(' ')).toMatch(/labelBatchSize auto: .*-c labelBatchSize=1/);
    expect(() => lineOf(size(1), 'calibrate labelling')).toThrow(/no line/);
  });

  it('a fixed size without its own measurement uses the nearest measured one per query', () => {
    const seven = lineOf(size(7), 'label queries');
    expect(seven.calls).toBe(callsPerShards(7));
    expect(seven.inputTokens).toBeCloseTo(
      (seven.calls ?? NaN) * TOKEN_COUNTS.prompts.teacherBatch.tokens +
        2200 * TOKEN_COUNTS.batches['5'].messageTokensPerQuery,
      6,
    );
  });

  it('bills a reasoning student-v2 model its 10-token cap per routed query, a student-v1 model its whole reasoning', () => {
    const reasoning = { ...INPUTS, includeReasoning: true };
    expect(estimateCosts(reasoning).routing.rows[0]?.perQuery.outputTokens).toBe(10);
    expect(
      estimateCosts({ ...reasoning, studentPromptVersion: 'student-v1' }).routing.rows[0]?.perQuery.outputTokens,
    ).toBe(studentAnswerTokens('student-v1') + DEFAULT_TOKEN_ASSUMPTIONS.reasoningTokens);
  });

  it('prices a student-v1 model with its longer JSON answer', () => {
    const v1 = estimateCosts({ ...INPUTS, studentPromptVersion: 'student-v1' });
    expect(v1.routing.rows[0]?.perQuery.outputTokens).toBe(studentAnswerTokens('student-v1'));
    expect(v1.routing.rows[0]?.usdPer1MQueries).toBeGreaterThan(one.routing.rows[0]?.usdPer1MQueries ?? Infinity);
  });
});

describe('candidates in the estimate', () => {
  const FT: CandidateSpec = {
    name: 'ft-micro',
    method: 'fine-tuning',
    baseModelId: 'amazon.nova-micro-v1:0:128k',
    promptVersion: 'student-v3',
    hyperParameters: { epochCount: 3, learningRate: 1e-5 },
  };
  const DISTILL: CandidateSpec = {
    name: 'distill-micro',
    method: 'distillation',
    baseModelId: 'amazon.nova-micro-v1:0:128k',
    promptVersion: 'student-v2',
  };
  const rates = { trainingPer1kTokensUsd: 0.004, epochs: 1 };
  const both = estimateCosts({ ...INPUTS, candidates: [FT, DISTILL], distillation: rates });
  const { queryTokens } = DEFAULT_TOKEN_ASSUMPTIONS;
  const v3 = {
    in: TOKEN_COUNTS.prompts.student['student-v3'].tokens + queryTokens,
    out: studentAnswerTokens('student-v3'),
  };

  it('fine-tuning: training tokens × its epochCount, and no teacher in the job', () => {
    const training = lineOf(both, 'ft-micro: training');
    expect(training.item).toBe('ft-micro: training (3 epochs)');
    expect(training.inputTokens).toBeCloseTo(1000 * (v3.in + v3.out) * 3, 6);
    expect(() => lineOf(both, 'ft-micro: teacher inference')).toThrow(/no line/);
    expect(both.candidates[0]).toMatchObject({ name: 'ft-micro', epochs: 3, teacherInferenceUsd: 0 });
    expect(both.candidates[0]?.trainingUsd).toBeCloseTo((1000 * (v3.in + v3.out) * 3 * 0.004) / 1000, 10);
  });

  it('distillation: the teacher answers every record in its prompt version, then training at the distillation rate', () => {
    const teacher = lineOf(both, 'distill-micro: teacher inference');
    expect(teacher).toMatchObject({ calls: 1000, modelId: 'us.amazon.nova-premier-v1:0' });
    expect(lineOf(both, 'distill-micro: training').item).toBe('distill-micro: training (1 epoch)');
    expect(both.candidates[1]?.teacherInferenceUsd).toBeCloseTo(teacher.usd, 12);
  });

  it("prices each candidate's student per 1M queries at its own prompt version; the first is the routed student", () => {
    const [ft, distill] = both.candidates;
    expect(ft?.studentPer1MQueriesUsd).toBeCloseTo(v3.in * 0.1 + v3.out * 0.2, 10);
    expect(distill?.studentPer1MQueriesUsd).toBeGreaterThan(ft?.studentPer1MQueriesUsd ?? Infinity);
    expect(both.routing.rows[0]?.usdPer1MQueries).toBe(ft?.studentPer1MQueriesUsd);
    expect(both.tokensPerQuery.student.answerFormat).toBe('student-v3');
    expect(both.routing.assumptions.join(' ')).toMatch(/first candidate's \(ft-micro\), the default winner/);
  });

  it('evaluates every candidate and has the judge rate them all with the baseline', () => {
    expect(lineOf(both, 'ft-micro answers').calls).toBe(100);
    expect(lineOf(both, 'distill-micro answers').calls).toBe(100);
    expect(lineOf(both, 'judge').calls).toBe(300);
    const sum = both.stages.flatMap((s) => s.lines).reduce((a, l) => a + l.usd, 0);
    expect(both.runUsd).toBeCloseTo(sum, 12);
  });

  it('prices a student asked with the teacher prompt (teacher-v1) at the whole prompt', () => {
    const teacherPrompt = estimateCosts({ ...INPUTS, candidates: [{ ...DISTILL, promptVersion: 'teacher-v1' }] });
    expect(teacherPrompt.candidates[0]?.tokensPerQuery.inputTokens).toBeCloseTo(
      TOKEN_COUNTS.prompts.teacher.tokens + queryTokens,
      6,
    );
  });

  it('refuses an empty candidate list', () => {
    expect(() => estimateCosts({ ...INPUTS, candidates: [] })).toThrow(CostModelError);
  });
});
