import type { CandidateMethod, CandidateSpec } from '../../core/candidates';
import { costPerQueries, type TokenUsage } from '../../core/prices';
import { CURRENT_STUDENT_PROMPT_VERSION, studentFormat, type StudentPromptVersion } from '../../core/student-format';
import {
  CostModelError,
  DEFAULT_DISTILLATION_RATES,
  requirePrice,
  type CostInputs,
  type DistillationRates,
  type StageCost,
} from './cost-lines';
import {
  evaluationCost,
  generationCost,
  trainingCost,
  type CandidateCostContext,
  type RunCostContext,
} from './run-cost';
import {
  DEFAULT_TOKEN_ASSUMPTIONS,
  estimatedStudentTokens,
  studentAnswerTokens,
  type TokenAssumptions,
} from './token-assumptions';
import { TOKEN_COUNTS } from './token-counts';

/**
 * The one cost model: what a run costs (teacher generation, each candidate's training, evaluation) and what routing
 * costs per 1M queries for each candidate's student, the teacher and the baseline. Used by `npm run cost` and by the run report. Prices come
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

/** One candidate's own figures: its training and its student per routed query. */
export interface CandidateCost {
  readonly name: string;
  readonly method: CandidateMethod;
  readonly baseModelId: string;
  readonly promptVersion: StudentPromptVersion;
  readonly epochs: number;
  /** Its training stage lines added up: a distillation's teacher inference and the training tokens. */
  readonly trainingUsd: number;
  readonly teacherInferenceUsd: number;
  readonly trainingTokens: number;
  /** Its student's tokens per routed query and their price per 1M queries (at its base model's rate). */
  readonly tokensPerQuery: TokenUsage;
  readonly studentPer1MQueriesUsd: number;
}

export interface CostEstimate {
  readonly stages: readonly StageCost[];
  /** Generation + every candidate's training + evaluation, once per run. */
  readonly runUsd: number;
  /**
   * Every candidate, in order. The first is the default winner (the selection's last tie-break is the list order):
   * the routing rows and the top-level student figures are its.
   */
  readonly candidates: readonly CandidateCost[];
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

/** Routing per 1M queries and per month: the default winner's student against the teacher and the baseline. */
function routingCost(context: RunCostContext, winner: CandidateCostContext): RoutingCost {
  const { inputs, tokens, teacherPerQuery } = context;
  const { version } = winner;
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
  const student = routingRow('student', winner.spec.baseModelId, winner.perQuery);
  const teacher = routingRow('teacher', inputs.teacherModelId, teacherPerQuery);
  const baseline = routingRow('baseline', inputs.baselineModelId, teacherPerQuery);
  const saving = (other: RoutingCostRow) => 1 - student.usdPer1MQueries / other.usdPer1MQueries;
  return {
    queriesPerMonth: inputs.queriesPerMonth,
    rows: [student, teacher, baseline],
    studentSavings: { vsTeacher: saving(teacher), vsBaseline: saving(baseline) },
    assumptions: [
      `the student row is the first candidate's (${winner.spec.name}), the default winner: the selection picks by ` +
        'quality first, and its last tie-break is the list order',
      `per query: the system prompt + a ${tokens.queryTokens}-token query in; out, the student's ${version} answer ` +
        `(${studentAnswerTokens(version)} tokens) and the teacher prompt's JSON (${teacherOut} tokens); the student ` +
        'uses its prompt version, teacher and baseline the long teacher prompt',
      'a customized student on demand is billed at its base model rate (case study); cache hits and fallbacks ' +
        'are not counted',
    ],
  };
}

/** The whole estimate: one run, plus routing per 1M queries and per month. */
export function estimateCosts(inputs: CostInputs): CostEstimate {
  const tokens: TokenAssumptions = { ...DEFAULT_TOKEN_ASSUMPTIONS, ...inputs.tokens };
  const rates: DistillationRates = { ...DEFAULT_DISTILLATION_RATES, ...inputs.distillation };
  const specs: readonly CandidateSpec[] = inputs.candidates ?? [
    {
      name: 'student',
      method: 'distillation',
      baseModelId: inputs.studentModelId,
      promptVersion: inputs.studentPromptVersion ?? CURRENT_STUDENT_PROMPT_VERSION,
    },
  ];
  const candidates = specs.map((spec): CandidateCostContext => {
    const version = studentFormat(spec.promptVersion).promptVersion;
    return {
      spec,
      version,
      perQuery: estimatedStudentTokens(version, tokens, inputs.includeReasoning),
      out: studentAnswerTokens(version) + (inputs.includeReasoning ? tokens.reasoningTokens : 0),
      epochs: spec.method === 'fine-tuning' ? (spec.hyperParameters?.epochCount ?? rates.epochs) : rates.epochs,
    };
  });
  const [winner] = candidates;
  if (!winner) throw new CostModelError('no candidate to price: give at least one (config candidates)');
  const version = winner.version;
  const studentPrompt = TOKEN_COUNTS.prompts.student[version].tokens;
  const teacherOut = tokens.labelTokens;
  const context: RunCostContext = {
    inputs,
    tokens,
    rates,
    candidates,
    teacherPerQuery: {
      inputTokens: TOKEN_COUNTS.prompts.teacher.tokens + tokens.queryTokens,
      outputTokens: teacherOut,
    },
  };
  const { teacherPerQuery } = context;
  const { stage: generation, plan, labelling, batchSize } = generationCost(context);
  const training = trainingCost(context);
  const evaluation = evaluationCost(context);
  const routing = routingCost(context, winner);

  const stages = [generation, training, evaluation];
  const candidateCosts = candidates.map((c): CandidateCost => {
    const own = training.lines.filter((l) => l.item.startsWith(`${c.spec.name}: `));
    const teacherInference = own.filter((l) => l.item.endsWith('teacher inference in the job'));
    const trainingLines = own.filter((l) => !teacherInference.includes(l));
    return {
      name: c.spec.name,
      method: c.spec.method,
      baseModelId: c.spec.baseModelId,
      promptVersion: c.version,
      epochs: c.epochs,
      trainingUsd: own.reduce((sum, l) => sum + l.usd, 0),
      teacherInferenceUsd: teacherInference.reduce((sum, l) => sum + l.usd, 0),
      trainingTokens: trainingLines.reduce((sum, l) => sum + l.inputTokens, 0),
      tokensPerQuery: c.perQuery,
      studentPer1MQueriesUsd: costPerQueries(
        c.perQuery,
        requirePrice(c.spec.baseModelId, inputs.priceTable),
        1_000_000,
      ),
    };
  });
  const prompts = TOKEN_COUNTS.prompts;
  return {
    stages,
    runUsd: stages.reduce((sum, s) => sum + s.usd, 0),
    candidates: candidateCosts,
    storagePerMonthUsd: rates.storagePerMonthUsd,
    routing,
    tokensPerQuery: {
      student: { ...winner.perQuery, answerFormat: version },
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
    `**One run: ${usd(estimate.runUsd)}** (generation + training + evaluation), plus ` +
      `${usd(estimate.storagePerMonthUsd)}/month to store each kept student.`,
    '',
  );
  lines.push('### Candidates', '');
  lines.push(
    ...table(
      ['candidate', 'method', 'base model', 'prompt', 'training', 'student per 1M queries'],
      estimate.candidates.map((c) => [
        c.name,
        c.method,
        `\`${c.baseModelId}\``,
        c.promptVersion,
        usd(c.trainingUsd),
        usd(c.studentPer1MQueriesUsd),
      ]),
    ),
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
