import { costPerQueries, type TokenUsage } from '../../core/prices';
import { CURRENT_STUDENT_PROMPT_VERSION, type StudentPromptVersion } from '../../core/student-format';
import {
  DEFAULT_DISTILLATION_RATES,
  requirePrice,
  type CostInputs,
  type DistillationRates,
  type StageCost,
} from './cost-lines';
import { distillationCost, evaluationCost, generationCost, type RunCostContext } from './run-cost';
import {
  DEFAULT_TOKEN_ASSUMPTIONS,
  estimatedStudentTokens,
  studentAnswerTokens,
  type TokenAssumptions,
} from './token-assumptions';
import { TOKEN_COUNTS } from './token-counts';

/**
 * The one cost model: what a run costs (teacher generation, distillation, evaluation) and what routing costs per 1M
 * queries for the student, the teacher and the baseline. Used by `npm run cost` and by the run report. Prices come
 * from the config's `priceTable` (built-in table + `prices` overrides). Token counts are measured on the real prompts,
 * queries and answer formats (TOKEN_COUNTS, a BPE tokenizer as a stated proxy for Nova's); the rest are stated
 * assumptions that travel with the result, so every figure says what it rests on.
 */
/*
 * The parts: token-assumptions.ts (tokens per item), cost-lines.ts (inputs, lines, rates, prices), run-cost.ts (one
 * run's stages); this file adds routing, puts the estimate together and renders it.
 */

// lib/cli/cost.ts imports the model's error and default rates from here, with the estimate.

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

/** Routing per 1M queries and per month: the student against the teacher and the baseline. */
function routingCost(context: RunCostContext): RoutingCost {
  const { inputs, tokens, version, studentPerQuery, teacherPerQuery } = context;
  const table = inputs.priceTable;
  const teacherOut = tokens.labelTokens;
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
  return {
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
}

/** The whole estimate: one run, plus routing per 1M queries and per month. */
export function estimateCosts(inputs: CostInputs): CostEstimate {
  const tokens: TokenAssumptions = { ...DEFAULT_TOKEN_ASSUMPTIONS, ...inputs.tokens };
  const rates: DistillationRates = { ...DEFAULT_DISTILLATION_RATES, ...inputs.distillation };
  const version = inputs.studentPromptVersion ?? CURRENT_STUDENT_PROMPT_VERSION;
  const studentPrompt = TOKEN_COUNTS.prompts.student[version].tokens;
  const teacherOut = tokens.labelTokens;
  const context: RunCostContext = {
    inputs,
    tokens,
    rates,
    version,
    studentPerQuery: estimatedStudentTokens(version, tokens, inputs.includeReasoning),
    studentOut: studentAnswerTokens(version) + (inputs.includeReasoning ? tokens.reasoningTokens : 0),
    teacherPerQuery: {
      inputTokens: TOKEN_COUNTS.prompts.teacher.tokens + tokens.queryTokens,
      outputTokens: teacherOut,
    },
  };
  const { studentPerQuery, teacherPerQuery } = context;
  const { stage: generation, plan, labelling, batchSize } = generationCost(context);
  const distillation = distillationCost(context);
  const evaluation = evaluationCost(context);
  const routing = routingCost(context);

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
