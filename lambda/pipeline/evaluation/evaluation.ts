import type { CreateEvaluationJobRequest, CustomMetricDefinition, EvaluationTaskType } from '@aws-sdk/client-bedrock';
import type { ConversationRecord } from '../../core/dataset-record';
import { parseRecordLabel, recordFormat, recordParts } from '../../core/dataset-record';
import { dominantModality, MODALITIES, type Modality, type Weights } from '../../core/modality';
import { costPerQueries, type TokenPrice } from '../../core/prices';
import { runKeys } from '../../core/runs';
import { readableWeights, type AnswerFormat, type StudentPromptVersion } from '../../core/student-format';
import { EVALUATED_MODELS } from '../../core/job-names';

/**
 * The evaluation's pure parts: the held-out cases, the deterministic metrics of a model's answers, the
 * bring-your-own-responses dataset a Bedrock evaluation job judges, the judge's custom metric, and the judge's
 * scores read back from the job's output.
 */

/** A Bedrock evaluation job judges at most this many prompts (docs/aws-facts.md §5). */
export const MAX_EVALUATION_PROMPTS = 1000;

/**
 * Every model a run may judge: the candidate (`student`), the baseline, and the incumbent — the student already
 * promoted when the run started, answered through its deployment with the student prompt like the candidate.
 */
export const JUDGED_MODELS = [...EVALUATED_MODELS, 'incumbent'] as const;
export type JudgedModel = (typeof JUDGED_MODELS)[number];

/** The held-out sets: the run's test.jsonl and, for a run from production, production's own slice. */
export type HeldOutSet = 'synthetic' | 'production';

/** Where the evaluation of a run keeps its files (all under runs/<runId>/evaluation/). */
export const evaluationKeys = (runId: string) => {
  const prefix = runKeys(runId).evaluationPrefix;
  return {
    /** Every model's deterministic metrics; written last, so its presence means the answers are complete. */
    metrics: `${prefix}metrics.json`,
    /** Answers to test.jsonl, in its order. */
    answers: (model: JudgedModel) => `${prefix}answers/${model}.jsonl`,
    /** Answers to the production held-out slice (test-production.jsonl), in its order. */
    productionAnswers: (model: JudgedModel) => `${prefix}answers/production/${model}.jsonl`,
    /** The bring-your-own-responses datasets the judge jobs read (the evaluation role reads only these). */
    dataset: (model: JudgedModel) => `${prefix}datasets/${model}.jsonl`,
    /** The judge jobs' output (the evaluation role writes only here); each job writes under `<jobName>/`. */
    outputPrefix: `${prefix}output/`,
  };
};

/** One held-out query with the teacher's label. */
export interface TestCase {
  readonly query: string;
  readonly reference: Weights;
  /** The label exactly as stored in the dataset, in the record's student format. */
  readonly referenceText: string;
  readonly dominant: Modality;
  /** The student prompt version of the record (told by its system prompt): the candidate is asked in it. */
  readonly promptVersion: StudentPromptVersion;
}

/**
 * Parses the run's test.jsonl (conversation records with the teacher's label as the assistant turn), each label read
 * in the format its system prompt names. All records must share one student prompt version: the candidate is asked
 * in it.
 */
export function parseTestSet(jsonl: string, source = 'test set'): TestCase[] {
  const cases: TestCase[] = [];
  jsonl.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    const where = `${source} line ${index + 1}`;
    let record: ConversationRecord;
    try {
      record = JSON.parse(line) as ConversationRecord;
    } catch {
      throw new Error(`${where} is not JSON`);
    }
    if (!Array.isArray(record.messages)) throw new Error(`${where} has no "messages" array`);
    const { query, label } = recordParts(record);
    if (query === '') throw new Error(`${where} has no user turn`);
    if (label === undefined) throw new Error(`${where} has no assistant turn (the teacher's label)`);
    const parsed = parseRecordLabel(record);
    const format = recordFormat(record);
    if (!parsed.ok || !format) {
      throw new Error(
        `${where}: the teacher's label is invalid: ${parsed.ok ? 'unknown prompt' : parsed.error.message}`,
      );
    }
    const first = cases[0]?.promptVersion;
    if (first !== undefined && first !== format.promptVersion) {
      throw new Error(
        `${where} is in student prompt version ${format.promptVersion}, line 1 in ${first}: one test set holds one ` +
          'version (assemble the run again)',
      );
    }
    cases.push({
      query,
      reference: parsed.weights,
      referenceText: label,
      dominant: parsed.dominant,
      promptVersion: format.promptVersion,
    });
  });
  if (cases.length === 0) throw new Error(`${source} holds no records`);
  if (cases.length > MAX_EVALUATION_PROMPTS) {
    throw new Error(
      `${source} holds ${cases.length} records; an evaluation job judges at most ${MAX_EVALUATION_PROMPTS}: ` +
        'lower testExampleCount',
    );
  }
  return cases;
}

/** One model's answer to one query, as measured around the Converse call. */
export interface ModelAnswer {
  readonly reply: string;
  /** Client-side, around the successful call. */
  readonly latencyMs: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
}

export interface LatencySummary {
  readonly p50: number;
  readonly p95: number;
  readonly mean: number;
}

export interface ModelMetrics {
  readonly modelId: string;
  readonly queries: number;
  readonly validReplies: number;
  /** Share of replies that parse as valid weights. */
  readonly validReplyRate: number;
  /** Share of all queries whose dominant modality matches the teacher's (an invalid reply counts as a miss). */
  readonly dominantAgreement: number;
  /** Mean absolute error against the teacher's weights per modality, over valid replies (null: none valid). */
  readonly meanAbsoluteError: Readonly<Record<Modality, number | null>>;
  readonly meanAbsoluteErrorOverall: number | null;
  readonly latencyMs: LatencySummary;
  readonly meanInputTokens: number;
  readonly meanOutputTokens: number;
  /** USD per 1,000 queries at the mean token usage; null when the price table has no entry for the model. */
  readonly costPer1kQueriesUsd: number | null;
}

const mean = (values: readonly number[]) => (values.length ? values.reduce((s, v) => s + v, 0) / values.length : 0);

/** Nearest-rank percentile (`p` in (0,100]) of the values; 0 for no values. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1] ?? 0;
}

export const latencySummary = (latencies: readonly number[]): LatencySummary => ({
  p50: percentile(latencies, 50),
  p95: percentile(latencies, 95),
  mean: mean(latencies),
});

/**
 * The deterministic metrics of one model's answers to the held-out cases (answers[i] answers cases[i]), each reply
 * read in `format`: the format of the prompt the model was asked with.
 */
export function computeMetrics(
  cases: readonly TestCase[],
  answers: readonly ModelAnswer[],
  modelId: string,
  price: TokenPrice | undefined,
  format: AnswerFormat,
): ModelMetrics {
  if (answers.length !== cases.length) {
    throw new Error(`expected ${cases.length} answers for ${modelId}, got ${answers.length}`);
  }
  const errors: Record<Modality, number[]> = { visual: [], audio: [], transcription: [], metadata: [] };
  let valid = 0;
  let agreeing = 0;
  answers.forEach((answer, i) => {
    const parsed = format.parse(answer.reply);
    const reference = cases[i]?.reference;
    if (!parsed.ok || !reference) return;
    valid++;
    if (parsed.dominant === dominantModality(reference)) agreeing++;
    for (const m of MODALITIES) errors[m].push(Math.abs(parsed.weights[m] - reference[m]));
  });
  const n = cases.length;
  const maeByModality = Object.fromEntries(MODALITIES.map((m) => [m, valid ? mean(errors[m]) : null])) as Record<
    Modality,
    number | null
  >;
  const meanInputTokens = mean(answers.map((a) => a.inputTokens));
  const meanOutputTokens = mean(answers.map((a) => a.outputTokens));
  return {
    modelId,
    queries: n,
    validReplies: valid,
    validReplyRate: n ? valid / n : 0,
    dominantAgreement: n ? agreeing / n : 0,
    meanAbsoluteError: maeByModality,
    meanAbsoluteErrorOverall: valid ? mean(MODALITIES.map((m) => maeByModality[m] ?? 0)) : null,
    latencyMs: latencySummary(answers.map((a) => a.latencyMs)),
    meanInputTokens,
    meanOutputTokens,
    costPer1kQueriesUsd: price
      ? costPerQueries({ inputTokens: meanInputTokens, outputTokens: meanOutputTokens }, price, 1000)
      : null,
  };
}

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
}

const isMetric = (name: string | undefined, metricName: string) =>
  name !== undefined && (name === metricName || name.endsWith(`.${metricName}`));

/**
 * The mean judge score of one job from its output JSONL files. Bedrock reports custom-metric results normalised to
 * 0–1 (UNVERIFIED, docs/aws-facts.md §5), mapped back to the rubric with x·4+1 as the case study's sample
 * does; should a file hold any score above 1, the scores are taken as already on the 1–5 scale.
 */
export function parseJudgeScores(files: readonly { key: string; body: string }[], metricName: string): JudgeScore {
  const results: number[] = [];
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
      if (typeof score?.result === 'number' && Number.isFinite(score.result)) results.push(score.result);
      else unscored++;
    });
  }
  if (results.length === 0) {
    throw new Error(
      `no "${metricName}" score in ${files.length} evaluation output file(s)` +
        (files.length ? ` (${files.map((f) => f.key).join(', ')})` : ''),
    );
  }
  // Bedrock's scale for custom-metric results is UNVERIFIED (reference §4): 0-1 normalised or the 1-5 rubric itself.
  // A value above 1 can only be the rubric, one below 1 only normalised; all exactly 1 is either a perfect normalised
  // score or the worst rubric score, so it is refused rather than guessed (a wrong guess would flip the gate).
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
  return {
    mean: mean(onRubric),
    scored: results.length,
    unscored,
    reportedScale: rubric ? 'rubric' : 'normalised',
    histogram,
  };
}
