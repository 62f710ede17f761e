import { judgeMetricDefinition } from './evaluation';
import { costPerQueries, costUsd, priceFor, type TokenPrice, type TokenUsage } from './prices';
import { STUDENT_PROMPT, teacherPrompt } from './prompts';
import { DOMAINS, PHRASINGS, planQueries } from './query-plan';
import { QUERIES_PER_WRITING_CALL, QUERY_WRITER_SYSTEM_PROMPT, queryWritingMessage } from './query-writing';

/**
 * The one cost model: what a run costs (teacher generation, distillation, evaluation) and what routing costs per 1M
 * queries for the student, the teacher and the baseline. Used by `npm run cost` and by the run report. Prices come
 * from the config's `priceTable` (built-in table + `prices` overrides); token counts are estimates whose
 * assumptions travel with the result, so every figure says what it rests on.
 */

export type PriceTable = Readonly<Record<string, TokenPrice>>;

/** Token-count assumptions. Prompt sizes are measured on the real prompts; replies and queries are typical sizes. */
export interface TokenAssumptions {
  /** Characters per token for English prompt text (a common rule of thumb; tokenizers differ by model). */
  readonly charsPerToken: number;
  /** Mean tokens of one search query (a few words to a short sentence). */
  readonly queryTokens: number;
  /** Output tokens of one label or routing reply: the JSON object of four weights. */
  readonly labelTokens: number;
  /** Extra output tokens per label when `includeReasoning` is on (one short sentence). */
  readonly reasoningTokens: number;
  /** Output tokens per written query inside a writing reply (the query plus JSON quoting). */
  readonly writtenQueryTokens: number;
  /** Output tokens of one judge verdict (its explanation and rating). */
  readonly judgeOutputTokens: number;
}

export const DEFAULT_TOKEN_ASSUMPTIONS: TokenAssumptions = {
  charsPerToken: 4,
  queryTokens: 10,
  labelTokens: 30,
  reasoningTokens: 25,
  writtenQueryTokens: 13,
  judgeOutputTokens: 150,
};

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

/** Tokens of a prompt text under the assumptions (rounded up). */
export const textTokens = (text: string, tokens: TokenAssumptions = DEFAULT_TOKEN_ASSUMPTIONS): number =>
  Math.ceil(text.length / tokens.charsPerToken);

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

/** The whole estimate: one run, plus routing per 1M queries and per month. */
export function estimateCosts(inputs: CostInputs): CostEstimate {
  const tokens: TokenAssumptions = { ...DEFAULT_TOKEN_ASSUMPTIONS, ...inputs.tokens };
  const rates: DistillationRates = { ...DEFAULT_DISTILLATION_RATES, ...inputs.distillation };
  const table = inputs.priceTable;
  const labelOut = tokens.labelTokens + (inputs.includeReasoning ? tokens.reasoningTokens : 0);
  const studentPerQuery: TokenUsage = {
    inputTokens: textTokens(STUDENT_PROMPT, tokens) + tokens.queryTokens,
    outputTokens: tokens.labelTokens,
  };
  const teacherPromptPerQuery = (reasoning: boolean): TokenUsage => ({
    inputTokens: textTokens(teacherPrompt(reasoning), tokens) + tokens.queryTokens,
    outputTokens: tokens.labelTokens + (reasoning ? tokens.reasoningTokens : 0),
  });
  const line = (stage: CostStage, item: string, modelId: string, calls: number, perCall: TokenUsage): CostLine =>
    usageCost(stage, item, modelId, { calls, ...times(perCall, calls) }, table);

  // --- Generation: the teacher writes the queries (batches per shard), then labels each one.
  const plan = planQueries(inputs);
  const writingCalls = plan.shards.reduce((n, shard) => n + Math.ceil(shard.count / QUERIES_PER_WRITING_CALL), 0);
  const writingMessage = queryWritingMessage({
    target: 'visual',
    domain: DOMAINS[0],
    phrasing: PHRASINGS[0],
    count: QUERIES_PER_WRITING_CALL,
    batch: 0,
  });
  const generation = stageOf(
    'generation',
    [
      line('generation', 'write queries', inputs.teacherModelId, writingCalls, {
        inputTokens: textTokens(QUERY_WRITER_SYSTEM_PROMPT, tokens) + textTokens(writingMessage, tokens),
        outputTokens: QUERIES_PER_WRITING_CALL * tokens.writtenQueryTokens,
      }),
      line('generation', 'label queries', inputs.teacherModelId, plan.plannedQueries, {
        ...teacherPromptPerQuery(inputs.includeReasoning),
        outputTokens: labelOut,
      }),
    ],
    [
      `${plan.plannedQueries.toLocaleString('en-US')} queries planned: (${inputs.exampleCount.toLocaleString('en-US')} ` +
        `training + ${inputs.testExampleCount.toLocaleString('en-US')} held-out) × (1 + ${inputs.generationSurplus} ` +
        `surplus), in ${plan.shards.length} shards of ≤ ${inputs.queriesPerShard}`,
      `${QUERIES_PER_WRITING_CALL} queries per writing call, no top-up calls (each shard may add up to 2 when ` +
        'duplicates or unusable queries leave it short); one labelling call per query, no retries',
    ],
  );

  // --- Distillation: Bedrock has the teacher answer every training prompt, then trains the student.
  const trainCount = inputs.exampleCount;
  const trainingTokens = trainCount * (studentPerQuery.inputTokens + labelOut) * rates.epochs;
  const teacherInference = line('distillation', 'teacher inference in the job', inputs.teacherModelId, trainCount, {
    inputTokens: studentPerQuery.inputTokens,
    outputTokens: labelOut,
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
      `the teacher answers each of the ${trainCount.toLocaleString('en-US')} training prompts once, billed at its ` +
        'on-demand rate (UNVERIFIED)',
      `training tokens = records × (prompt + query + label tokens) × epochs, at $${rates.trainingPer1kTokensUsd} ` +
        `per 1,000 tokens and ${rates.epochs} epoch(s) (both UNVERIFIED; set --training-per-1k, --epochs)`,
      `custom-model storage $${rates.storagePerMonthUsd}/month (UNVERIFIED; set --storage-per-month)`,
    ],
  );

  // --- Evaluation: student and baseline answer the held-out set; the judge rates both (two jobs).
  const testCount = inputs.testExampleCount;
  const judgeInstructions = judgeMetricDefinition().instructions ?? '';
  const evaluation = stageOf(
    'evaluation',
    [
      line('evaluation', 'student answers the held-out set', inputs.studentModelId, testCount, studentPerQuery),
      line(
        'evaluation',
        'baseline answers the held-out set',
        inputs.baselineModelId,
        testCount,
        teacherPromptPerQuery(false),
      ),
      line('evaluation', 'judge rates student and baseline', inputs.judgeModelId, 2 * testCount, {
        inputTokens: textTokens(judgeInstructions, tokens) + tokens.queryTokens + 2 * tokens.labelTokens,
        outputTokens: tokens.judgeOutputTokens,
      }),
    ],
    [
      `${testCount} held-out queries; the baseline answers with the teacher prompt, the student with its short prompt`,
      `judge input = the custom metric's instructions + query + reference + reply; ${tokens.judgeOutputTokens} output ` +
        'tokens per verdict (how Bedrock wraps the judge prompt is UNVERIFIED)',
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
  const teacher = routingRow('teacher', inputs.teacherModelId, teacherPromptPerQuery(false));
  const baseline = routingRow('baseline', inputs.baselineModelId, teacherPromptPerQuery(false));
  const saving = (other: RoutingCostRow) => 1 - student.usdPer1MQueries / other.usdPer1MQueries;
  const routing: RoutingCost = {
    queriesPerMonth: inputs.queriesPerMonth,
    rows: [student, teacher, baseline],
    studentSavings: { vsTeacher: saving(teacher), vsBaseline: saving(baseline) },
    assumptions: [
      `per query: the system prompt + a ${tokens.queryTokens}-token query in, a ${tokens.labelTokens}-token JSON ` +
        'reply out; the student uses its short prompt, teacher and baseline the long teacher prompt',
      'the distilled student on demand is billed at the base student rate (case study); cache hits and fallbacks ' +
        'are not counted',
    ],
  };

  const stages = [generation, distillation, evaluation];
  return {
    stages,
    runUsd: stages.reduce((sum, s) => sum + s.usd, 0),
    storagePerMonthUsd: rates.storagePerMonthUsd,
    routing,
    assumptions: [
      `tokens ≈ characters / ${tokens.charsPerToken}; prompts measured on the real prompt texts (student ` +
        `${textTokens(STUDENT_PROMPT, tokens)}, teacher ${textTokens(teacherPrompt(inputs.includeReasoning), tokens)} ` +
        'tokens); on-demand prices from the price table (built-in defaults + the `prices` config key)',
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
