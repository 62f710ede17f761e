import type { CreateEvaluationJobRequest, CustomMetricDefinition, EvaluationTaskType } from '@aws-sdk/client-bedrock';
import { MAX_EVALUATION_PROMPTS } from '../../core/dataset-validator';
import { EVALUATED_MODELS } from '../../core/job-names';
import { runKeys } from '../../core/runs';
import { readableWeights, type AnswerFormat } from '../../core/student-format';
import { mean, type ModelAnswer, type TestCase } from './metrics';

/**
 * The evaluation's pure parts on the judge's side: where a run's evaluation files live, the bring-your-own-responses
 * dataset a Bedrock evaluation job judges, the judge's custom metric and job, and the judge's scores read back from
 * the job's output. The held-out cases and the deterministic metrics are metrics.ts.
 */

/**
 * Every model a run may judge: the candidate (`student`), the baseline, and the incumbent — the student already
 * promoted when the run started, answered through its deployment with the student prompt like the candidate.
 */
export const JUDGED_MODELS = [...EVALUATED_MODELS, 'incumbent'] as const;
export type JudgedModel = (typeof JUDGED_MODELS)[number];

/** The held-out sets: the run's test.jsonl and, for a run from production, production's own slice. */
export type HeldOutSet = 'synthetic' | 'production';

/**
 * Where the evaluation of a run's candidate keeps its files (all under runs/<runId>/<candidate>/evaluation/; without a
 * candidate, a run from before candidates: runs/<runId>/evaluation/).
 */
export const evaluationKeys = (runId: string, candidate?: string) => {
  const keys = candidate === undefined ? runKeys(runId).evaluation : runKeys(runId).candidate(candidate).evaluation;
  return {
    /** Every model's deterministic metrics; written last, so its presence means the answers are complete. */
    metrics: keys.metrics,
    /** Answers to test.jsonl, in its order. */
    answers: (model: JudgedModel) => keys.answers(model),
    /** Answers to the production held-out slice (test-production.jsonl), in its order. */
    productionAnswers: (model: JudgedModel) => keys.productionAnswers(model),
    /** The bring-your-own-responses datasets the judge jobs read (the evaluation role reads only these). */
    dataset: (model: JudgedModel) => keys.dataset(model),
    /** The judge jobs' output (the evaluation role writes only here); each job writes under `<jobName>/`. */
    outputPrefix: keys.outputPrefix,
  };
};

/**
 * Whose keys, job names and tokens hold a model's judge job: the candidate's for its student; the run's for the
 * reference models (the baseline, the incumbent), which are answered and judged once per run and shared by every
 * candidate, so that all gates compare against the same answers and scores. A run from before candidates has only the
 * run's.
 */
export const judgeJobOwner = (model: JudgedModel, candidate: string | undefined): string | undefined =>
  model === 'student' ? candidate : undefined;

/** The label each model's responses carry in its bring-your-own-responses dataset (`inferenceSourceIdentifier`). */
export const INFERENCE_SOURCE: Readonly<Record<JudgedModel, string>> = {
  student: 'distilled-student',
  baseline: 'baseline-router',
  incumbent: 'incumbent-student',
};

/** Shown to the judge instead of an empty reply (an empty response field would make the record invalid). */
export const EMPTY_REPLY_PLACEHOLDER = '(empty reply)';

/**
 * The bring-your-own-responses dataset of one model: one JSON line per held-out query with the teacher's label as
 * the reference and the model's reply as its response. The judge reads weights, not formats: the reference and every
 * reply that parses (in the model's `format`) are rendered as the JSON object the rubric describes; a reply that does
 * not parse is shown as it is, so the judge rates it as unparseable.
 */
export function byoDatasetJsonl(
  cases: readonly TestCase[],
  answers: readonly ModelAnswer[],
  inferenceSourceIdentifier: string,
  format: AnswerFormat,
): string {
  if (cases.length > MAX_EVALUATION_PROMPTS) {
    throw new Error(`an evaluation job judges at most ${MAX_EVALUATION_PROMPTS} prompts, got ${cases.length}`);
  }
  return cases
    .map((c, i) =>
      JSON.stringify({
        prompt: c.query,
        referenceResponse: readableWeights(c.reference),
        category: c.dominant,
        modelResponses: [
          {
            response: judgedResponse(answers[i]?.reply ?? '', format),
            modelIdentifier: inferenceSourceIdentifier,
          },
        ],
      }),
    )
    .join('\n')
    .concat('\n');
}

/** What the judge sees of a reply: its weights as JSON when it parses, else the reply itself (or a placeholder). */
function judgedResponse(reply: string, format: AnswerFormat): string {
  const parsed = format.parse(reply);
  if (parsed.ok) return readableWeights(parsed.weights);
  return reply.trim() ? reply : EMPTY_REPLY_PLACEHOLDER;
}

/** The judge's custom metric: the case study's 1–5 weight-accuracy rubric. */
export const JUDGE_METRIC_NAME = 'WeightAccuracy';

const JUDGE_INSTRUCTIONS = `You are grading a video search intent router. For a user's video search query, the router answers with JSON weights for four modalities: visual (what is seen), audio (non-speech sound, music), transcription (what is said), metadata (names, titles, genre, tags). Each weight is between 0 and 1 and the four sum to 1.

Query: {{prompt}}

Reference weights (from the teacher model): {{ground_truth}}

Router reply: {{prediction}}

Compare the reply's weights with the reference weights, modality by modality, and rate the reply:
5 = every weight is within 0.05 of the reference.
4 = every weight is within 0.10 of the reference.
3 = the dominant (largest) modality matches the reference and the mean absolute error is below 0.15.
2 = the dominant modality differs from the reference, or the mean absolute error is above 0.15.
1 = the reply cannot be parsed as JSON, lacks one of the four keys, or a weight is off by more than 0.30.`;

export const JUDGE_RATING_SCALE = [
  { value: 5, definition: 'Every weight within 0.05 of the reference' },
  { value: 4, definition: 'Every weight within 0.10 of the reference' },
  { value: 3, definition: 'Dominant modality right and mean absolute error below 0.15' },
  { value: 2, definition: 'Dominant modality wrong or mean absolute error above 0.15' },
  { value: 1, definition: 'Unparseable, missing keys, or a weight off by more than 0.30' },
] as const;

export function judgeMetricDefinition(): CustomMetricDefinition {
  return {
    name: JUDGE_METRIC_NAME,
    instructions: JUDGE_INSTRUCTIONS,
    ratingScale: JUDGE_RATING_SCALE.map((r) => ({ definition: r.definition, value: { floatValue: r.value } })),
  };
}

export interface EvaluationJobInput {
  readonly jobName: string;
  readonly clientRequestToken: string;
  readonly roleArn: string;
  readonly judgeModelId: string;
  readonly datasetS3Uri: string;
  readonly outputS3Uri: string;
  readonly inferenceSourceIdentifier: string;
  readonly kmsKeyId?: string;
  readonly tags: readonly { key: string; value: string }[];
  readonly description: string;
}

/**
 * "General" is what the case study's sample sends for judge jobs with a custom metric; the SDK's EvaluationTaskType
 * does not list it (docs/aws-facts.md §5, UNVERIFIED which value the service expects). The project's one
 * documented cast.
 */
const GENERAL_TASK_TYPE = 'General' as EvaluationTaskType;

/**
 * A model-evaluation job that has the judge rate a model's precomputed responses with the custom metric. The judge is
 * named twice: in `customMetricConfig` (the evaluator of the custom metric) and in `automated.evaluatorModelConfig`,
 * which the API reference calls required for model-as-judge jobs (with only custom metrics the inner one may suffice;
 * sending both is the safe choice).
 */
export function evaluationJobRequest(input: EvaluationJobInput): CreateEvaluationJobRequest {
  const evaluatorModelConfig = { bedrockEvaluatorModels: [{ modelIdentifier: input.judgeModelId }] };
  return {
    jobName: input.jobName,
    jobDescription: input.description,
    clientRequestToken: input.clientRequestToken,
    roleArn: input.roleArn,
    ...(input.kmsKeyId ? { customerEncryptionKeyId: input.kmsKeyId } : {}),
    jobTags: [...input.tags],
    applicationType: 'ModelEvaluation',
    evaluationConfig: {
      automated: {
        datasetMetricConfigs: [
          {
            taskType: GENERAL_TASK_TYPE,
            dataset: { name: 'held-out-queries', datasetLocation: { s3Uri: input.datasetS3Uri } },
            metricNames: [JUDGE_METRIC_NAME],
          },
        ],
        evaluatorModelConfig,
        customMetricConfig: {
          customMetrics: [{ customMetricDefinition: judgeMetricDefinition() }],
          evaluatorModelConfig,
        },
      },
    },
    inferenceConfig: {
      models: [{ precomputedInferenceSource: { inferenceSourceIdentifier: input.inferenceSourceIdentifier } }],
    },
    outputDataConfig: { s3Uri: input.outputS3Uri },
  };
}

/**
 * What to say when Bedrock refuses a judge job's request (ValidationException): the original message, the parts of
 * the request that rest on UNVERIFIED facts (the task type), and where to change them.
 */
export function rejectedEvaluationJobMessage(request: CreateEvaluationJobRequest, original: string): string {
  const automated = request.evaluationConfig?.automated;
  const taskTypes = (automated?.datasetMetricConfigs ?? []).map((c) => String(c.taskType));
  const judges = (automated?.evaluatorModelConfig?.bedrockEvaluatorModels ?? []).map((m) => m.modelIdentifier);
  return (
    `CreateEvaluationJob refused "${request.jobName ?? '?'}": ${original} — the request sent ` +
    `taskType ${taskTypes.map((t) => JSON.stringify(t)).join(', ')} (UNVERIFIED for judge jobs, ` +
    `docs/aws-facts.md §5; change GENERAL_TASK_TYPE in lambda/pipeline/evaluation/evaluation.ts), the judge ` +
    `${judges.map((j) => JSON.stringify(j)).join(', ')} in evaluationConfig.automated.evaluatorModelConfig and ` +
    'customMetricConfig.evaluatorModelConfig (config key judgeModelId: a model Bedrock offers as an evaluator in this ' +
    'Region), and the custom metric and dataset built by evaluationJobRequest in lambda/pipeline/evaluation/evaluation.ts.'
  );
}

/** The judge's verdict on one model, on the rubric's 1–5 scale. */
export interface JudgeScore {
  readonly mean: number;
  /** Records the judge scored. */
  readonly scored: number;
  /** Records without a score for the metric (the judge failed or refused). */
  readonly unscored: number;
  /** How the job reported the scores: normalised to 0–1 (mapped back with x·4+1) or already on 1–5. */
  readonly reportedScale: 'normalised' | 'rubric';
  /** Scored records per rubric point, index 0 = 1 … index 4 = 5 (each rounded to the nearest point), for the report. */
  readonly histogram?: readonly number[];
}

interface ResultLine {
  automatedEvaluationResult?: { scores?: { metricName?: string; result?: unknown }[] };
  /** A copy of the dataset record the judge rated (docs/aws-facts.md §5): what pairs a prompt across the models' jobs. */
  inputRecord?: { prompt?: unknown; referenceResponse?: unknown };
}

const isMetric = (name: string | undefined, metricName: string) =>
  name !== undefined && (name === metricName || name.endsWith(`.${metricName}`));

/** One prompt the judge scored, with what identifies the held-out query in every model's job. */
export interface JudgedPrompt {
  readonly prompt: string;
  /** The teacher's label as the dataset rendered it (the same for every model: it tells apart a repeated query). */
  readonly reference: string;
  /** On the 1–5 rubric. */
  readonly score: number;
}

/** One judge job's output: the mean score, and each scored prompt's score when the output names its prompt. */
export interface JudgeOutput {
  readonly score: JudgeScore;
  readonly prompts: readonly JudgedPrompt[];
  /** Scored records whose `inputRecord` carries no prompt: they count in the mean but cannot be paired. */
  readonly unidentified: number;
}

/**
 * The mean judge score of one job from its output JSONL files. Bedrock reports custom-metric results normalised to
 * 0–1 (UNVERIFIED, docs/aws-facts.md §5), mapped back to the rubric with x·4+1 as the case study's sample
 * does; should a file hold any score above 1, the scores are taken as already on the 1–5 scale.
 */
export function parseJudgeScores(files: readonly { key: string; body: string }[], metricName: string): JudgeScore {
  return parseJudgeOutput(files, metricName).score;
}

/** parseJudgeScores, keeping each scored prompt's score (on the rubric) with the prompt and reference it rated. */
export function parseJudgeOutput(files: readonly { key: string; body: string }[], metricName: string): JudgeOutput {
  const results: number[] = [];
  const identities: ({ prompt: string; reference: string } | undefined)[] = [];
  let unscored = 0;
  for (const { key, body } of files) {
    body.split('\n').forEach((line, index) => {
      if (line.trim() === '') return;
      let parsed: ResultLine;
      try {
        parsed = JSON.parse(line) as ResultLine;
      } catch {
        throw new Error(`evaluation output ${key} line ${index + 1} is not JSON`);
      }
      const score = parsed.automatedEvaluationResult?.scores?.find((s) => isMetric(s.metricName, metricName));
      if (typeof score?.result !== 'number' || !Number.isFinite(score.result)) {
        unscored++;
        return;
      }
      results.push(score.result);
      const { prompt, referenceResponse } = parsed.inputRecord ?? {};
      identities.push(
        typeof prompt === 'string'
          ? { prompt, reference: typeof referenceResponse === 'string' ? referenceResponse : '' }
          : undefined,
      );
    });
  }
  if (results.length === 0) {
    throw new Error(
      `no "${metricName}" score in ${files.length} evaluation output file(s)` +
        (files.length ? ` (${files.map((f) => f.key).join(', ')})` : ''),
    );
  }
  // Bedrock's scale for custom-metric results is UNVERIFIED (docs/aws-facts.md §5): 0-1 normalised or the 1-5 rubric
  // itself. A value above 1 can only be the rubric, one below 1 only normalised; all exactly 1 is either a perfect
  // normalised score or the worst rubric score, so it is refused rather than guessed (a wrong guess would flip the gate).
  const rubric = results.some((r) => r > 1);
  if (!rubric && results.every((r) => r === 1)) {
    throw new Error(
      `every "${metricName}" score is exactly 1, which reads as 5/5 on a 0-1 scale but 1/5 on the 1-5 rubric: ` +
        'check the judge output under the evaluation prefix and rerun the evaluation',
    );
  }
  const onRubric = rubric ? results : results.map((r) => r * 4 + 1);
  const histogram = [0, 0, 0, 0, 0];
  for (const r of onRubric) {
    const point = Math.min(4, Math.max(0, Math.round(r) - 1));
    histogram[point] = (histogram[point] ?? 0) + 1;
  }
  const prompts: JudgedPrompt[] = [];
  onRubric.forEach((score, i) => {
    const identity = identities[i];
    if (identity) prompts.push({ ...identity, score });
  });
  return {
    score: {
      mean: mean(onRubric),
      scored: results.length,
      unscored,
      reportedScale: rubric ? 'rubric' : 'normalised',
      histogram,
    },
    prompts,
    unidentified: results.length - prompts.length,
  };
}

/**
 * The candidate's judge scores paired with another model's, prompt by prompt: what the Gate's paired bootstrap of
 * judge scores reads. Kept compact for the state machine's state (at most 1,000 prompts a job, but a rubric score
 * difference takes few values): how many prompts had each difference.
 */
export interface PairedJudgeScores {
  /** Prompts both jobs scored. */
  readonly queries: number;
  /** Scored prompts with no scored counterpart in the other job (left out of the comparison). */
  readonly unpaired: { readonly candidate: number; readonly other: number };
  /** The other model's score minus the candidate's (positive: the candidate is worse), ascending, with its count. */
  readonly drops: readonly { readonly drop: number; readonly count: number }[];
}

/**
 * Pairs two jobs' scores by the prompt and reference each output record copies from its dataset record, not by
 * position: Evaluate writes every model's dataset from the same held-out cases in the same order, but the order (and
 * the split into files) of a job's output is not documented. A query that occurs twice pairs occurrence by occurrence.
 */
export function pairJudgeScores(candidate: readonly JudgedPrompt[], other: readonly JudgedPrompt[]): PairedJudgeScores {
  const identity = (p: JudgedPrompt) => JSON.stringify([p.prompt, p.reference]);
  const waiting = new Map<string, number[]>();
  for (const p of other) waiting.set(identity(p), [...(waiting.get(identity(p)) ?? []), p.score]);
  const counts = new Map<number, number>();
  let paired = 0;
  let candidateUnpaired = 0;
  for (const p of candidate) {
    const otherScore = waiting.get(identity(p))?.shift();
    if (otherScore === undefined) {
      candidateUnpaired++;
      continue;
    }
    paired++;
    const drop = Math.round((otherScore - p.score) * 1e6) / 1e6;
    counts.set(drop, (counts.get(drop) ?? 0) + 1);
  }
  const otherUnpaired = [...waiting.values()].reduce((n, scores) => n + scores.length, 0);
  return {
    queries: paired,
    unpaired: { candidate: candidateUnpaired, other: otherUnpaired },
    drops: [...counts.entries()].sort(([a], [b]) => a - b).map(([drop, count]) => ({ drop, count })),
  };
}
