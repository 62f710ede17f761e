import { LABEL_BATCH_SIZE_CANDIDATES } from '../../core/batch-labelling';
import { calibrationQueries } from '../generation/calibration-queries';
import type { TokenUsage } from '../../core/prices';
import { planQueries, type QueryPlan } from '../generation/query-plan';
import { QUERIES_PER_WRITING_CALL } from '../generation/query-writing';
import type { CandidateSpec } from '../../core/candidates';
import type { StudentPromptVersion } from '../../core/student-format';
import {
  stageOf,
  times,
  usageCost,
  type CostInputs,
  type CostLine,
  type CostStage,
  type DistillationRates,
  type StageCost,
} from './cost-lines';
import { labellingUsage, type TokenAssumptions } from './token-assumptions';
import { TOKEN_COUNTS } from './token-counts';

/**
 * What one run costs, stage by stage: generation (the teacher writes, calibrates and labels), training (per candidate:
 * a distillation's teacher inference in the job, then training tokens) and evaluation (every candidate and the
 * baseline answer, the judge rates them all).
 */

/** One candidate as the cost model sees it: its spec, its prompt version's tokens per routed query. */
export interface CandidateCostContext {
  readonly spec: CandidateSpec;
  readonly version: StudentPromptVersion;
  /** Its student's tokens per query (its prompt and a query in, its answer out). */
  readonly perQuery: TokenUsage;
  /** Its student's output tokens per answer (reasoning included when the run trains with it). */
  readonly out: number;
  /** Passes over the training records: the candidate's epochCount, or the distillation rate's (UNVERIFIED). */
  readonly epochs: number;
}

/** What every stage's estimate reads: the inputs with their defaults filled, and the per-query figures. */
export interface RunCostContext {
  readonly inputs: CostInputs;
  readonly tokens: TokenAssumptions;
  readonly rates: DistillationRates;
  /** The run's candidates, in order. */
  readonly candidates: readonly CandidateCostContext[];
  /** The teacher prompt's tokens per query (teacher and baseline). */
  readonly teacherPerQuery: TokenUsage;
}

const line = (
  context: RunCostContext,
  stage: CostStage,
  item: string,
  modelId: string,
  calls: number,
  perCall: TokenUsage,
): CostLine => usageCost(stage, item, modelId, { calls, ...times(perCall, calls) }, context.inputs.priceTable);

/** The generation stage, with the plan and the labelling figures the estimate's per-query tokens need. */
export interface GenerationCost {
  readonly stage: StageCost;
  readonly plan: QueryPlan;
  readonly labelling: ReturnType<typeof labellingUsage>;
  readonly batchSize: number;
}

/** Generation: the teacher writes the queries (batches per shard), calibrates, then labels them. */
export function generationCost(context: RunCostContext): GenerationCost {
  const { inputs, tokens } = context;
  const table = inputs.priceTable;
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
  const stage = stageOf(
    'generation',
    [
      line(context, 'generation', 'write queries', inputs.teacherModelId, writingCalls, {
        inputTokens: TOKEN_COUNTS.prompts.queryWriter.tokens + TOKEN_COUNTS.prompts.queryWritingMessage.tokens,
        outputTokens: QUERIES_PER_WRITING_CALL * tokens.writtenQueryTokens,
      }),
      ...calibrationLines,
      line(
        context,
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
  return { stage, plan, labelling, batchSize };
}

/**
 * Training, per candidate: a distillation has Bedrock's teacher answer every training prompt (its records' prompt
 * version), then trains; both methods bill training tokens × epochs (fine-tuning: the candidate's epochCount).
 */
export function trainingCost(context: RunCostContext): StageCost {
  const { inputs, rates } = context;
  const trainCount = inputs.exampleCount;
  const lines = context.candidates.flatMap(({ spec, perQuery, out, epochs }): CostLine[] => {
    const trainingTokens = trainCount * (perQuery.inputTokens + out) * epochs;
    const training: CostLine = {
      stage: 'training',
      item: `${spec.name}: training (${epochs} epoch${epochs === 1 ? '' : 's'})`,
      modelId: spec.baseModelId,
      inputTokens: trainingTokens,
      outputTokens: 0,
      usd: (trainingTokens / 1000) * rates.trainingPer1kTokensUsd,
    };
    if (spec.method !== 'distillation') return [training];
    const teacherInference = line(
      context,
      'training',
      `${spec.name}: teacher inference in the job`,
      inputs.teacherModelId,
      trainCount,
      { inputTokens: perQuery.inputTokens, outputTokens: out },
    );
    return [teacherInference, training];
  });
  const described = context.candidates
    .map((c) => `${c.spec.name} (${c.spec.method}, ${c.version}, ${c.epochs} epoch${c.epochs === 1 ? '' : 's'})`)
    .join(', ');
  return stageOf('training', lines, [
    `candidates: ${described}; each trains on the ${trainCount.toLocaleString('en-US')} training records`,
    "distillation: the teacher answers each training prompt once (the records' prompt version, answering in its " +
      'format as the labels show it), billed at its on-demand rate (UNVERIFIED); fine-tuning calls no teacher',
    `training tokens = records × (prompt + query + label tokens) × epochs, at $${rates.trainingPer1kTokensUsd} ` +
      `per 1,000 tokens whatever the base model (UNVERIFIED; set --training-per-1k); distillation at ${rates.epochs} ` +
      'epoch(s) (UNVERIFIED: it exposes no epoch setting; set --epochs), fine-tuning at its epochCount',
    `custom-model storage $${rates.storagePerMonthUsd}/month per kept model (UNVERIFIED; set --storage-per-month)`,
  ]);
}

/** Evaluation: every candidate and the baseline answer the held-out set; the judge rates them all (one job each). */
export function evaluationCost(context: RunCostContext): StageCost {
  const { inputs, tokens, teacherPerQuery } = context;
  const testCount = inputs.testExampleCount;
  const judged = context.candidates.length + 1;
  return stageOf(
    'evaluation',
    [
      ...context.candidates.map(({ spec, perQuery, out }) =>
        line(context, 'evaluation', `${spec.name} answers the held-out set`, spec.baseModelId, testCount, {
          inputTokens: perQuery.inputTokens,
          outputTokens: out,
        }),
      ),
      line(
        context,
        'evaluation',
        'baseline answers the held-out set',
        inputs.baselineModelId,
        testCount,
        teacherPerQuery,
      ),
      line(
        context,
        'evaluation',
        `judge rates ${context.candidates.length > 1 ? 'the candidates' : 'student'} and baseline`,
        inputs.judgeModelId,
        judged * testCount,
        {
          // The judge reads reference and reply as JSON weights, whatever format the model answered in.
          inputTokens: TOKEN_COUNTS.prompts.judgeInstructions.tokens + tokens.queryTokens + 2 * tokens.labelTokens,
          outputTokens: tokens.judgeOutputTokens,
        },
      ),
    ],
    [
      `${testCount} held-out queries; the baseline answers with the teacher prompt, each candidate with its own ` +
        `prompt version (${context.candidates.map((c) => `${c.spec.name} ${c.version}`).join(', ')})`,
      `judge input = the custom metric's instructions + query + reference + reply (both as JSON weights); ` +
        `${tokens.judgeOutputTokens} output tokens per verdict (how Bedrock wraps the judge prompt is UNVERIFIED)`,
    ],
  );
}
