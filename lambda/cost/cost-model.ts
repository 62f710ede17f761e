import { LABEL_BATCH_SIZE_CANDIDATES } from '../pipeline/generation/batch-labelling';
import { calibrationQueries } from '../pipeline/generation/calibration-queries';
import { costPerQueries, costUsd, priceFor, type TokenPrice, type TokenUsage } from '../core/prices';
import { planQueries } from '../pipeline/generation/query-plan';
import { QUERIES_PER_WRITING_CALL } from '../pipeline/generation/query-writing';
import { CURRENT_STUDENT_PROMPT_VERSION, STUDENT_FORMATS, type StudentPromptVersion } from '../core/student-format';
import { TOKEN_COUNTS } from './token-counts';

/**
 * The one cost model: what a run costs (teacher generation, distillation, evaluation) and what routing costs per 1M
 * queries for the student, the teacher and the baseline. Used by `npm run cost` and by the run report. Prices come
 * from the config's `priceTable` (built-in table + `prices` overrides). Token counts are measured on the real prompts,
 * queries and answer formats (TOKEN_COUNTS, a BPE tokenizer as a stated proxy for Nova's); the rest are stated
 * assumptions that travel with the result, so every figure says what it rests on.
 */

export type PriceTable = Readonly<Record<string, TokenPrice>>;

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

/** Distillation rates: parameters because no source confirmed them (docs/aws-facts.md §8). */
export interface DistillationRates {
  /** USD per 1,000 training tokens of the student (UNVERIFIED; Nova Micro customization list price). */
  readonly trainingPer1kTokensUsd: number;
  /** Passes over the training data (UNVERIFIED: distillation exposes no epoch setting). */
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
  /** The student's answer format (default: the current one). */
  readonly studentPromptVersion?: StudentPromptVersion;
  readonly teacherModelId: string;
  readonly studentModelId: string;
  readonly baselineModelId: string;
  readonly judgeModelId: string;
  readonly queriesPerMonth: number;
  readonly priceTable: PriceTable;
  readonly distillation?: Partial<DistillationRates>;
  readonly tokens?: Partial<TokenAssumptions>;
}

export type CostStage = 'generation' | 'distillation' | 'evaluation';

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

export type RoutedModel = 'student' | 'teacher' | 'baseline';

export interface RoutingCostRow {
  readonly model: RoutedModel;
  readonly modelId: string;
  readonly perQuery: TokenUsage;
  readonly usdPer1MQueries: number;
  readonly usdPerMonth: number;
}

export interface RoutingCost {
  readonly queriesPerMonth: number;
  readonly rows: readonly RoutingCostRow[];
  /** 1 − student/teacher and 1 − student/baseline cost per query. */
  readonly studentSavings: { readonly vsTeacher: number; readonly vsBaseline: number };
  readonly assumptions: readonly string[];
}

export interface CostEstimate {
  readonly stages: readonly StageCost[];
  /** Generation + distillation + evaluation, once per run. */
  readonly runUsd: number;
  /** Custom-model storage per month while the student is kept. */
  readonly storagePerMonthUsd: number;
  readonly routing: RoutingCost;
  /** Mean tokens per query: routing with the student and the teacher, and the teacher's labelling in the run. */
  readonly tokensPerQuery: {
    readonly student: TokenUsage & { readonly answerFormat: StudentPromptVersion };
    readonly teacher: TokenUsage;
    readonly teacherLabelling: TokenUsage & { readonly batchSize: number };
  };
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

const times = (usage: TokenUsage, n: number): TokenUsage => ({
  inputTokens: usage.inputTokens * n,
  outputTokens: usage.outputTokens * n,
});

const stageOf = (stage: CostStage, lines: CostLine[], assumptions: string[]): StageCost => ({
  stage,
  lines,
  usd: lines.reduce((sum, line) => sum + line.usd, 0),
  assumptions,
});

/**
 * Teacher calls and tokens of labelling groups of queries (a run's shards, each batched on its own) in batches of
 * `size` (1: one query per call, the teacher prompt).
 */
function labellingUsage(groups: readonly number[], size: number, reasoning: boolean, tokens: TokenAssumptions) {
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

/** The whole estimate: one run, plus routing per 1M queries and per month. */
export function estimateCosts(inputs: CostInputs): CostEstimate {
  const tokens: TokenAssumptions = { ...DEFAULT_TOKEN_ASSUMPTIONS, ...inputs.tokens };
  const rates: DistillationRates = { ...DEFAULT_DISTILLATION_RATES, ...inputs.distillation };
  const table = inputs.priceTable;
  const version = inputs.studentPromptVersion ?? CURRENT_STUDENT_PROMPT_VERSION;
  const studentPrompt = TOKEN_COUNTS.prompts.student[version].tokens;
  const studentOut = studentAnswerTokens(version) + (inputs.includeReasoning ? tokens.reasoningTokens : 0);
  const teacherOut = tokens.labelTokens;
  const studentPerQuery = estimatedStudentTokens(version, tokens, inputs.includeReasoning);
  const teacherPerQuery: TokenUsage = {
    inputTokens: TOKEN_COUNTS.prompts.teacher.tokens + tokens.queryTokens,
    outputTokens: teacherOut,
  };
  const line = (stage: CostStage, item: string, modelId: string, calls: number, perCall: TokenUsage): CostLine =>
    usageCost(stage, item, modelId, { calls, ...times(perCall, calls) }, table);

  // --- Generation: the teacher writes the queries (batches per shard), calibrates, then labels them.
  const plan = planQueries(inputs);
  const writingCalls = plan.shards.reduce((n, shard) => n + Math.ceil(shard.count / QUERIES_PER_WRITING_CALL), 0);
  const auto = inputs.labelBatchSize === 'auto';
  const batchSize = auto ? Math.max(...LABEL_BATCH_SIZE_CANDIDATES) : inputs.labelBatchSize;
  const labelling = labellingUsage(
    plan.shards.map((shard) => shard.count),
    batchSize,
    inputs.includeReasoning,
    tokens,
  );
  const calibrationLines: CostLine[] = [];
  if (auto) {
    const n = calibrationQueries().length;
    const single = labellingUsage([n], 1, inputs.includeReasoning, tokens);
    const batched = LABEL_BATCH_SIZE_CANDIDATES.map((size) =>
      labellingUsage([n], size, inputs.includeReasoning, tokens),
    );
    const calls = single.calls + batched.reduce((sum, b) => sum + b.calls, 0);
    const usage = [single, ...batched].reduce(
      (sum, b) => ({
        inputTokens: sum.inputTokens + b.calls * b.perCall.inputTokens,
        outputTokens: sum.outputTokens + b.calls * b.perCall.outputTokens,
      }),
      { inputTokens: 0, outputTokens: 0 },
    );
    calibrationLines.push(
      usageCost('generation', 'calibrate labelling', inputs.teacherModelId, { calls, ...usage }, table),
    );
  }
  const generation = stageOf(
    'generation',
    [
      line('generation', 'write queries', inputs.teacherModelId, writingCalls, {
        inputTokens: TOKEN_COUNTS.prompts.queryWriter.tokens + TOKEN_COUNTS.prompts.queryWritingMessage.tokens,
        outputTokens: QUERIES_PER_WRITING_CALL * tokens.writtenQueryTokens,
      }),
      ...calibrationLines,
      line(
        'generation',
        batchSize > 1 ? `label queries (${batchSize} per call)` : 'label queries',
        inputs.teacherModelId,
        labelling.calls,
        labelling.perCall,
      ),
    ],
    [
      `${plan.plannedQueries.toLocaleString('en-US')} queries planned: (${inputs.exampleCount.toLocaleString('en-US')} ` +
        `training + ${inputs.testExampleCount.toLocaleString('en-US')} held-out) × (1 + ${inputs.generationSurplus} ` +
        `surplus), in ${plan.shards.length} shards of ≤ ${inputs.queriesPerShard}`,
      `${QUERIES_PER_WRITING_CALL} queries per writing call, no top-up calls (each shard may add up to 2 when ` +
        'duplicates or unusable queries leave it short)',
      auto
        ? `labelBatchSize auto: ${calibrationQueries().length} calibration queries labelled singly and in batches of ` +
          `${LABEL_BATCH_SIZE_CANDIDATES.join(', ')}; labelling estimated at ${batchSize} queries per call, the ` +
          'largest size calibration can choose (a run whose calibration chooses less pays more: ' +
          '`-c labelBatchSize=1` prices one query per call; a calibration that ends at 1 adds its own line to that)'
        : `labelBatchSize ${batchSize}: ${batchSize > 1 ? `${batchSize} queries per labelling call` : 'one labelling call per query'}`,
      'no re-asks or retries: a missing, duplicated or unparsable batch item costs one more single call',
    ],
  );

  // --- Distillation: Bedrock has the teacher answer every training prompt, then trains the student.
  const trainCount = inputs.exampleCount;
  const trainingTokens = trainCount * (studentPerQuery.inputTokens + studentOut) * rates.epochs;
  const teacherInference = line('distillation', 'teacher inference in the job', inputs.teacherModelId, trainCount, {
    inputTokens: studentPerQuery.inputTokens,
    outputTokens: studentOut,
  });
  const distillation = stageOf(
    'distillation',
    [
      teacherInference,
      {
        stage: 'distillation',
        item: `training (${rates.epochs} epoch${rates.epochs === 1 ? '' : 's'})`,
        modelId: inputs.studentModelId,
        inputTokens: trainingTokens,
        outputTokens: 0,
        usd: (trainingTokens / 1000) * rates.trainingPer1kTokensUsd,
      },
    ],
    [
      `the teacher answers each of the ${trainCount.toLocaleString('en-US')} training prompts once (the student ` +
        `prompt, answering in ${version} as the labels show it), billed at its on-demand rate (UNVERIFIED)`,
      `training tokens = records × (prompt + query + label tokens) × epochs, at $${rates.trainingPer1kTokensUsd} ` +
        `per 1,000 tokens and ${rates.epochs} epoch(s) (both UNVERIFIED; set --training-per-1k, --epochs)`,
      `custom-model storage $${rates.storagePerMonthUsd}/month (UNVERIFIED; set --storage-per-month)`,
    ],
  );

  // --- Evaluation: student and baseline answer the held-out set; the judge rates both (two jobs).
  const testCount = inputs.testExampleCount;
  const evaluation = stageOf(
    'evaluation',
    [
      line('evaluation', 'student answers the held-out set', inputs.studentModelId, testCount, {
        inputTokens: studentPerQuery.inputTokens,
        outputTokens: studentOut,
      }),
      line('evaluation', 'baseline answers the held-out set', inputs.baselineModelId, testCount, teacherPerQuery),
      line('evaluation', 'judge rates student and baseline', inputs.judgeModelId, 2 * testCount, {
        // The judge reads reference and reply as JSON weights, whatever format the model answered in.
        inputTokens: TOKEN_COUNTS.prompts.judgeInstructions.tokens + tokens.queryTokens + 2 * teacherOut,
        outputTokens: tokens.judgeOutputTokens,
      }),
    ],
    [
      `${testCount} held-out queries; the baseline answers with the teacher prompt, the student with its ${version} prompt`,
      `judge input = the custom metric's instructions + query + reference + reply (both as JSON weights); ` +
        `${tokens.judgeOutputTokens} output tokens per verdict (how Bedrock wraps the judge prompt is UNVERIFIED)`,
    ],
  );

  // --- Routing per 1M queries.
  const routingRow = (model: RoutedModel, modelId: string, perQuery: TokenUsage): RoutingCostRow => {
    const price = requirePrice(modelId, table);
    return {
      model,
      modelId,
      perQuery,
      usdPer1MQueries: costPerQueries(perQuery, price, 1_000_000),
      usdPerMonth: costPerQueries(perQuery, price, inputs.queriesPerMonth),
    };
  };
  const student = routingRow('student', inputs.studentModelId, studentPerQuery);
  const teacher = routingRow('teacher', inputs.teacherModelId, teacherPerQuery);
  const baseline = routingRow('baseline', inputs.baselineModelId, teacherPerQuery);
  const saving = (other: RoutingCostRow) => 1 - student.usdPer1MQueries / other.usdPer1MQueries;
  const routing: RoutingCost = {
    queriesPerMonth: inputs.queriesPerMonth,
    rows: [student, teacher, baseline],
    studentSavings: { vsTeacher: saving(teacher), vsBaseline: saving(baseline) },
    assumptions: [
      `per query: the system prompt + a ${tokens.queryTokens}-token query in; out, the student's ${version} answer ` +
        `(${studentAnswerTokens(version)} tokens) and the teacher prompt's JSON (${teacherOut} tokens); the student ` +
        'uses its short prompt, teacher and baseline the long teacher prompt',
      'the distilled student on demand is billed at the base student rate (case study); cache hits and fallbacks ' +
        'are not counted',
    ],
  };

  const stages = [generation, distillation, evaluation];
  const prompts = TOKEN_COUNTS.prompts;
  return {
    stages,
    runUsd: stages.reduce((sum, s) => sum + s.usd, 0),
    storagePerMonthUsd: rates.storagePerMonthUsd,
    routing,
    tokensPerQuery: {
      student: { ...studentPerQuery, answerFormat: version },
      teacher: teacherPerQuery,
      teacherLabelling: {
        batchSize,
        inputTokens: (labelling.calls * labelling.perCall.inputTokens) / plan.plannedQueries,
        outputTokens: (labelling.calls * labelling.perCall.outputTokens) / plan.plannedQueries,
      },
    },
    assumptions: [
      `tokens measured with ${TOKEN_COUNTS.tokenizer}, a proxy for Nova's (not public), on the real texts: prompts ` +
        `(student ${studentPrompt}, teacher ${prompts.teacher.tokens}, teacher batch ${prompts.teacherBatch.tokens}), ` +
        `queries (${tokens.queryTokens} on average over ${TOKEN_COUNTS.queries.count}), answers (${version} ` +
        `${studentAnswerTokens(version)}, JSON ${teacherOut}); chat-template tokens not counted; on-demand prices from ` +
        'the price table (built-in defaults + the `prices` config key)',
    ],
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Rendering (Markdown tables: readable in a terminal, and pasted as-is into reports and docs)

const usd = (x: number) =>
  `$${x.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: x < 1 ? 4 : 2 })}`;
const count = (x: number) => Math.round(x).toLocaleString('en-US');
const percent = (x: number) => `${(x * 100).toFixed(1)} %`;

function table(header: string[], rows: string[][]): string[] {
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ];
}

/** The estimate as Markdown: one table per stage with its assumptions, the run total, routing with savings. */
export function renderCostEstimate(estimate: CostEstimate): string {
  const lines: string[] = [];
  for (const stage of estimate.stages) {
    lines.push(`### ${stage.stage[0]?.toUpperCase()}${stage.stage.slice(1)}: ${usd(stage.usd)}`, '');
    lines.push(
      ...table(
        ['item', 'model', 'calls', 'input tokens', 'output tokens', 'cost'],
        stage.lines.map((l) => [
          l.item,
          l.modelId ? `\`${l.modelId}\`` : '',
          l.calls === undefined ? '—' : count(l.calls),
          count(l.inputTokens),
          count(l.outputTokens),
          usd(l.usd),
        ]),
      ),
      '',
      ...stage.assumptions.map((a) => `- ${a}`),
      '',
    );
  }
  lines.push(
    `**One run: ${usd(estimate.runUsd)}** (generation + distillation + evaluation), plus ` +
      `${usd(estimate.storagePerMonthUsd)}/month to store the student.`,
    '',
  );
  const { routing } = estimate;
  lines.push(`### Routing: per 1M queries and per month at ${count(routing.queriesPerMonth)} queries`, '');
  lines.push(
    ...table(
      ['model', 'id', 'tokens in/out per query', 'per 1M queries', 'per month'],
      routing.rows.map((r) => [
        r.model,
        `\`${r.modelId}\``,
        `${count(r.perQuery.inputTokens)} / ${count(r.perQuery.outputTokens)}`,
        usd(r.usdPer1MQueries),
        usd(r.usdPerMonth),
      ]),
    ),
    '',
    `Student savings: **${percent(routing.studentSavings.vsTeacher)}** vs the teacher, ` +
      `**${percent(routing.studentSavings.vsBaseline)}** vs the baseline.`,
    '',
    ...routing.assumptions.map((a) => `- ${a}`),
    ...estimate.assumptions.map((a) => `- ${a}`),
    '',
  );
  return lines.join('\n');
}
