import { CostModelError, DEFAULT_DISTILLATION_RATES } from '../../lambda/pipeline/cost/cost-lines';
import { estimateCosts, renderCostEstimate, type CostEstimate } from '../../lambda/pipeline/cost/cost-model';
import { PlanError } from '../../lambda/pipeline/generation/query-plan';
import {
  estimateServing,
  REDACTION_USD_PER_SAMPLE,
  shadowSamplesPerInvocation,
  type ServingCost,
} from '../../lambda/pipeline/cost/serving-cost';
import { DEFAULT_TOKEN_ASSUMPTIONS, labellingUsage } from '../../lambda/pipeline/cost/token-assumptions';
import { LABEL_BATCH_SIZE_CANDIDATES } from '../../lambda/core/batch-labelling';
import { costUsd, priceFor } from '../../lambda/core/prices';
import { LABELLER_BATCHING_WINDOW_SECONDS, LABELLER_MEMORY_MB } from '../constructs/shadow-loop';
import { ConfigError, type AppConfig, type ConfigInput } from '../config';
import { configFromFlags, flagHelp, parseArgs, UsageError, type FlagSpecs } from './args';

/** `npm run cost -- --examples 10000 --queries-per-month 10000000`: the cost model for the configured models. */

export const DEFAULT_QUERIES_PER_MONTH = 10_000_000;

export const COST_FLAGS = {
  examples: { type: 'integer', help: 'training records (config exampleCount, 100-15,000)' },
  'test-examples': { type: 'integer', help: 'held-out records (config testExampleCount)' },
  'queries-per-month': {
    type: 'integer',
    min: 0,
    help: `routed queries per month (default ${DEFAULT_QUERIES_PER_MONTH})`,
  },
  surplus: { type: 'number', help: 'extra queries generated (config generationSurplus)' },
  'queries-per-shard': { type: 'integer', help: 'queries per generation shard (config queriesPerShard)' },
  reasoning: { type: 'boolean', help: 'labels carry a reasoning sentence (config includeReasoning)' },
  teacher: { type: 'string', help: 'teacher model id (config teacherModelId)' },
  student: { type: 'string', help: 'student model id (config studentModelId)' },
  baseline: { type: 'string', help: 'baseline model id (config baselineModelId)' },
  judge: { type: 'string', help: 'judge model id (config judgeModelId)' },
  'label-batch-size': {
    type: 'string',
    help: 'queries per teacher labelling call: auto (calibrated) or 1-25 (config labelBatchSize)',
  },
  'training-per-1k': {
    type: 'number',
    min: 0,
    help: `USD per 1,000 training tokens (default ${DEFAULT_DISTILLATION_RATES.trainingPer1kTokensUsd}, UNVERIFIED)`,
  },
  epochs: {
    type: 'integer',
    min: 1,
    max: 100,
    help:
      `a distillation's passes over the training data (default ${DEFAULT_DISTILLATION_RATES.epochs}, UNVERIFIED); ` +
      'fine-tuning candidates train for their own epochCount',
  },
  json: {
    type: 'boolean',
    help:
      'print one JSON object (runUsd, studentPer1MQueriesUsd, servingPer1MQueriesUsd, candidates, the parts) instead of ' +
      'markdown; run it as npm run -s cost -- --json so npm adds nothing to stdout',
  },
  'storage-per-month': {
    type: 'number',
    min: 0,
    help: `USD per month to store the student (default ${DEFAULT_DISTILLATION_RATES.storagePerMonthUsd}, UNVERIFIED)`,
  },
} as const satisfies FlagSpecs;

/** Flags that set a config key: their values go through the config's own validation. */
const CONFIG_FLAGS: Readonly<Partial<Record<keyof typeof COST_FLAGS, keyof ConfigInput>>> = {
  examples: 'exampleCount',
  'test-examples': 'testExampleCount',
  surplus: 'generationSurplus',
  'queries-per-shard': 'queriesPerShard',
  reasoning: 'includeReasoning',
  teacher: 'teacherModelId',
  student: 'studentModelId',
  baseline: 'baselineModelId',
  judge: 'judgeModelId',
  'label-batch-size': 'labelBatchSize',
};

export const COST_USAGE = `Usage: npm run cost -- [flags] [-c key=value …]\n\n${flagHelp(COST_FLAGS, { allowContext: true })}\n
Defaults come from the app's configuration (cdk.json / cdk.context.json / -c), prices from its price table.
For JSON only on stdout: npm run -s cost -- --json | jq .servingPer1MQueriesUsd`;

export interface CostRun {
  readonly estimate: CostEstimate;
  /** The full price of a routed query at the configured serving settings. */
  readonly serving: ServingCost;
  readonly text: string;
}

/** Parses the flags over the project's context and returns the estimate and its printout; UsageError on bad input. */
export function runCost(argv: readonly string[], projectContext: Record<string, unknown>): CostRun | { help: string } {
  const { flags, positionals, context, help } = parseArgs(argv, COST_FLAGS, { allowContext: true });
  if (help) return { help: COST_USAGE };
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);

  const flagValues: Record<string, { key: keyof ConfigInput; value: unknown }> = {};
  for (const [flag, key] of Object.entries(CONFIG_FLAGS)) {
    if (key) flagValues[flag] = { key, value: flags[flag as keyof typeof COST_FLAGS] };
  }
  let config;
  try {
    // A problem about a key a flag set names the flag the user typed.
    config = configFromFlags(projectContext, context, flagValues);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // One line, however many problems: a command whose output is JSON fails in as few words as it can.
    throw new UsageError(error.problems.join('; '));
  }

  const queriesPerMonth = flags['queries-per-month'] ?? DEFAULT_QUERIES_PER_MONTH;
  let estimate: CostEstimate;
  try {
    estimate = estimateCosts({
      ...config,
      queriesPerMonth,
      priceTable: config.priceTable,
      distillation: {
        ...(flags['training-per-1k'] !== undefined ? { trainingPer1kTokensUsd: flags['training-per-1k'] } : {}),
        ...(flags.epochs !== undefined ? { epochs: flags.epochs } : {}),
        ...(flags['storage-per-month'] !== undefined ? { storagePerMonthUsd: flags['storage-per-month'] } : {}),
      },
    });
  } catch (error) {
    if (error instanceof CostModelError || error instanceof PlanError) throw new UsageError(error.message);
    throw error;
  }
  const serving = servingCost(config, estimate);
  const header =
    `## Cost estimate: ${config.exampleCount.toLocaleString('en-US')} training + ` +
    `${config.testExampleCount.toLocaleString('en-US')} held-out examples, ` +
    `${queriesPerMonth.toLocaleString('en-US')} routed queries/month (${config.region}, on-demand, USD)\n`;
  if (flags.json) return { estimate, serving, text: JSON.stringify(costJson(estimate, serving), null, 2) };
  return { estimate, serving, text: `${header}\n${renderCostEstimate(estimate)}\n${renderServing(serving)}` };
}

type ServingConfig = Pick<
  AppConfig,
  | 'apiType'
  | 'routerMemoryMb'
  | 'routerTracing'
  | 'routerLogSampleRate'
  | 'routerPlatformLogs'
  | 'shadowSampleRate'
  | 'shadowLabelBatchSize'
  | 'labellerBatchSize'
  | 'teacherModelId'
  | 'priceTable'
  | 'redactPiiTypes'
>;

/**
 * The shadow labeller's teacher cost per sample: one call per sample, or a batch call shared by the samples of one
 * invocation (at most shadowLabelBatchSize; `auto` is estimated at the largest calibrated size, as a run's labelling).
 */
function shadowLabelling(config: ServingConfig, queriesPerMonth: number, singleUsd: number) {
  const size =
    config.shadowLabelBatchSize === 'auto' ? Math.max(...LABEL_BATCH_SIZE_CANDIDATES) : config.shadowLabelBatchSize;
  const price = priceFor(config.teacherModelId, config.priceTable);
  const perSample = (n: number): number => {
    if (n <= 1 || !price) return singleUsd;
    const usage = labellingUsage([n], n, false, DEFAULT_TOKEN_ASSUMPTIONS);
    return (usage.calls * costUsd(usage.perCall, price)) / n;
  };
  const available = shadowSamplesPerInvocation(
    queriesPerMonth,
    config.shadowSampleRate,
    LABELLER_BATCHING_WINDOW_SECONDS,
    config.labellerBatchSize,
  );
  const perCall = Math.max(1, Math.min(size, Math.floor(available)));
  return {
    teacherLabelUsd: perSample(perCall),
    shadowQueriesPerCall: perCall,
    ...(size > 1 ? { fullBatch: { size, teacherLabelUsd: perSample(size) } } : {}),
  };
}

/** What 1M routed queries cost in all at the configured serving settings; the model parts come from the estimate. */
export function servingCost(config: ServingConfig, estimate: CostEstimate): ServingCost {
  const row = (model: string) => {
    const found = estimate.routing.rows.find((r) => r.model === model);
    if (!found) throw new Error(`the cost estimate has no ${model} routing row`);
    return found;
  };
  return estimateServing({
    queriesPerMonth: estimate.routing.queriesPerMonth,
    studentModelPer1MUsd: row('student').usdPer1MQueries,
    apiType: config.apiType,
    routerMemoryMb: config.routerMemoryMb,
    routerTracing: config.routerTracing,
    routerLogSampleRate: config.routerLogSampleRate,
    routerPlatformLogs: config.routerPlatformLogs,
    shadowSampleRate: config.shadowSampleRate,
    // A shadow label is one teacher call with the teacher prompt (the teacher's routing cost per query), or a share of
    // a batch call when the labeller labels in batches.
    ...shadowLabelling(config, estimate.routing.queriesPerMonth, row('teacher').usdPer1MQueries / 1_000_000),
    labellerMemoryMb: LABELLER_MEMORY_MB,
    // Each sample is masked by the guardrail before it is stored, unless redaction is off (redactPiiTypes=none).
    redactionUsdPerSample: config.redactPiiTypes.length > 0 ? REDACTION_USD_PER_SAMPLE : 0,
  });
}

const usdCell = (x: number) =>
  `$${x.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: x < 0.1 ? 4 : 2 })}`;

/** The serving estimate as Markdown: one row per part, the total, what it rests on. */
export function renderServing(serving: ServingCost): string {
  return [
    '### Serving: the full price of 1M routed queries',
    '',
    '| part | per 1M queries |',
    '| --- | --- |',
    ...serving.parts.map((p) => `| ${p.item} | ${usdCell(p.usdPer1MQueries)} |`),
    `| **total** | **${usdCell(serving.usdPer1MQueries)}** |`,
    '',
    ...serving.assumptions.map((a) => `- ${a}`),
    '',
  ].join('\n');
}

/**
 * The estimate machine-readably: one object whose top level carries one run's total (`runUsd`) and the default
 * winner's (the first candidate's) student cost per 1M routed queries, then every candidate's own figures, the parts,
 * every routed model's figures and the assumptions — the same numbers as the markdown.
 */
export function costJson(estimate: CostEstimate, serving: ServingCost) {
  const student = estimate.routing.rows.find((r) => r.model === 'student');
  if (!student) throw new Error('the cost estimate has no student routing row');
  return {
    runUsd: estimate.runUsd,
    studentPer1MQueriesUsd: student.usdPer1MQueries,
    servingPer1MQueriesUsd: serving.usdPer1MQueries,
    storagePerMonthUsd: estimate.storagePerMonthUsd,
    candidates: estimate.candidates,
    tokensPerQuery: estimate.tokensPerQuery,
    stages: estimate.stages,
    routing: {
      queriesPerMonth: estimate.routing.queriesPerMonth,
      models: estimate.routing.rows.map((r) => ({
        model: r.model,
        modelId: r.modelId,
        tokensPerQuery: { input: r.perQuery.inputTokens, output: r.perQuery.outputTokens },
        usdPer1MQueries: r.usdPer1MQueries,
        usdPerMonth: r.usdPerMonth,
      })),
      studentSavings: estimate.routing.studentSavings,
      assumptions: estimate.routing.assumptions,
    },
    serving: { parts: serving.parts, assumptions: serving.assumptions },
    assumptions: estimate.assumptions,
  };
}

/** The run the README's "What a run costs" section shows. */
export const README_COST_ARGS = ['--examples', '10000', '--queries-per-month', '10000000'] as const;
export const README_COST_BEGIN = `<!-- cost:begin — generated by \`npm run docs:cost\` from \`npm run cost -- ${README_COST_ARGS.join(' ')}\` -->`;
export const README_COST_END = '<!-- cost:end -->';

const dollars = (x: number) => `$${x.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

/**
 * The README's generated cost block (between the markers): the headline figures of `npm run cost` as two short tables
 * and one sentence — a run by stage, a routed query by part — so the README can never disagree with the command; the
 * command itself prints every line and assumption.
 */
export function readmeCostBlock(projectContextValues: Record<string, unknown>): string {
  const result = runCost(README_COST_ARGS, projectContextValues);
  if ('help' in result) throw new Error('the README cost arguments asked for help');
  const json = costJson(result.estimate, result.serving);
  const row = (model: string) => json.routing.models.find((m) => m.model === model);
  const teacher = row('teacher');
  const baseline = row('baseline');
  const { student, teacherLabelling } = result.estimate.tokensPerQuery;
  const stageName = (stage: string) => `${stage[0]?.toUpperCase()}${stage.slice(1)}`;
  return [
    README_COST_BEGIN,
    '',
    `The headline figures of \`npm run cost -- ${README_COST_ARGS.join(' ')}\` with the default configuration (run it ` +
      'for every line and the assumptions behind it; `-c key=value` prices another configuration):',
    '',
    '| one 10,000-example run | USD |',
    '| --- | --- |',
    ...json.stages.map((stage) => `| ${stageName(stage.stage)} | ${dollars(stage.usd)} |`),
    `| **run** | **${dollars(json.runUsd)}** (+ ${dollars(json.storagePerMonthUsd)}/month per kept student) |`,
    '',
    '| candidate ([docs/candidates.md](docs/candidates.md)) | training | its student per 1M queries |',
    '| --- | --- | --- |',
    ...json.candidates.map(
      (c) =>
        `| \`${c.name}\`: ${c.method}, ${c.promptVersion} | ${dollars(c.trainingUsd)} | ` +
        `${dollars(c.studentPer1MQueriesUsd)} |`,
    ),
    '',
    '| per 1M routed queries | USD |',
    '| --- | --- |',
    ...json.serving.parts.map((part) => `| ${part.item} | ${dollars(part.usdPer1MQueries)} |`),
    `| **serving** (\`servingPer1MQueriesUsd\`) | **${dollars(json.servingPer1MQueriesUsd)}** |`,
    '',
    `In short: **${dollars(json.runUsd)} per 10,000-example run** (the teacher labels ` +
      `${teacherLabelling.batchSize} queries per call, ${Math.round(teacherLabelling.inputTokens)} input tokens per ` +
      `labelled query), plus the students' storage; routing 1M queries costs **${dollars(json.studentPer1MQueriesUsd)} ` +
      `with the first candidate's student** (${Math.round(student.inputTokens)} tokens in, ${student.outputTokens} out: the ` +
      `${student.answerFormat} answer) against ${dollars(baseline?.usdPer1MQueries ?? NaN)} with the baseline ` +
      `(−${pct(json.routing.studentSavings.vsBaseline)}) and ${dollars(teacher?.usdPer1MQueries ?? NaN)} with the ` +
      `teacher (−${pct(json.routing.studentSavings.vsTeacher)}). With the API, the router Lambda, its logs and the ` +
      `shadow loop at the default settings, a routed query costs **${dollars(json.servingPer1MQueriesUsd)} per 1M**.`,
    '',
    README_COST_END,
  ].join('\n');
}

/** `text` with its generated cost block replaced by `block`; an error when the markers are missing. */
export function withReadmeCostBlock(text: string, block: string): string {
  const begin = text.indexOf('<!-- cost:begin');
  const end = text.indexOf(README_COST_END);
  if (begin === -1 || end === -1 || end < begin) throw new Error('README.md has no cost:begin … cost:end markers');
  return text.slice(0, begin) + block + text.slice(end + README_COST_END.length);
}
