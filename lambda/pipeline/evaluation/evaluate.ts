import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import * as z from 'zod';
import { replyText, usageOf, withRetry, type RetryOptions } from '../../core/bedrock';
import { mapWithConcurrency } from '../../core/concurrency';
import { MAX_EVALUATION_PROMPTS } from '../../core/dataset-validator';
import { byoDatasetJsonl, evaluationKeys, INFERENCE_SOURCE, type JudgedModel } from './evaluation';
import {
  computeMetrics,
  pairOutcomes,
  parseTestSet,
  queryOutcomes,
  type ModelAnswer,
  type ModelMetrics,
  type QueryOutcome,
  type TestCase,
} from './metrics';
import { priceFor } from '../../core/prices';
import { TEACHER_ANSWER_FORMAT } from '../../core/prompts';
import { teacherPrompt } from '../../core/teacher-prompt';
import {
  LEGACY_STUDENT_PROMPT_VERSION,
  otherFormatOf,
  PromptVersionMismatch,
  requireSameVersion,
  studentFormat,
  type AnswerFormat,
  type StudentFormat,
} from '../../core/student-format';
import { readExisting, s3RunStore, s3Uri, type RunStore } from '../../core/run-store';
import { runKeys } from '../../core/runs';
import type { EvaluationStarted, SetMetrics } from './result';
import { lambdaHandler, logger, parseInput, tracer } from '../../core/runtime';
import { LIVE_QUERIES_TAGGING } from '../../core/production-records';
import { EVALUATE_ENVIRONMENT } from './environment';
import { startJudgeJob } from './judge-jobs';

// One attempt per SDK call: withRetry does the backoff, so the measured latency is that of the call that answered.
const runtime = tracer.captureAWSv3Client(new BedrockRuntimeClient({ maxAttempts: 1 }));
const s3 = tracer.captureAWSv3Client(new S3Client({}));

/**
 * Room for the four weights (and a short reasoning) without reserving much of the token quota per call. The same for
 * every model and format: the held-out set measures what each model says, including a student that rambles.
 */
export const EVALUATION_MAX_TOKENS = 200;

export const evaluateInput = z.object({
  runId: z.string().min(1),
  bucket: z.string().min(1),
  testKey: z.string().min(1),
  deploymentArn: z.string().min(1),
  /**
   * `$.candidate`: its name keys the evaluation's files and judge jobs, and it is asked in its own prompt version
   * (absent for a run from before candidates: the version the test set was written in).
   */
  candidate: z
    .object({ name: z.string().min(1), promptVersion: z.string().min(1), baseModelId: z.string().min(1).optional() })
    .optional(),
  /**
   * `$.assemble`: its `productionTestKey` names production's held-out slice (absent for other runs); its
   * `studentPromptVersion`, the version the dataset was written in (the test set's records must agree).
   */
  assemble: z
    .object({
      productionTestKey: z.string().min(1).optional(),
      studentPromptVersion: z.string().min(1).optional(),
      /** The dataset files that hold live queries: what is derived from them is tagged to expire with them. */
      liveQueryKeys: z.array(z.string()).optional(),
    })
    .optional(),
  /** `$.preflight.incumbent`: the student promoted when the run started, answered and judged like the candidate. */
  incumbent: z
    .discriminatedUnion('present', [
      z.object({
        present: z.literal(true),
        deploymentArn: z.string().min(1),
        runId: z.string(),
        /** The incumbent is asked with its own prompt and read in its own format. */
        studentPromptVersion: z.string().min(1),
      }),
      z.object({ present: z.literal(false), reason: z.string() }),
    ])
    .optional(),
});
export type EvaluateInput = z.output<typeof evaluateInput>;

type Environment = ReturnType<typeof EVALUATE_ENVIRONMENT.read>;

/** Asks one model every held-out query through Converse, `concurrency` calls in flight, timing each call. */
export async function answerAll(
  cases: readonly TestCase[],
  modelId: string,
  systemPrompt: string,
  concurrency: number,
  retry: RetryOptions = {},
): Promise<ModelAnswer[]> {
  return mapWithConcurrency(cases, concurrency, async (c) => {
    let latencyMs = 0;
    const out = await withRetry(async () => {
      const started = performance.now();
      const response = await runtime.send(
        new ConverseCommand({
          modelId,
          system: [{ text: systemPrompt }],
          messages: [{ role: 'user', content: [{ text: c.query }] }],
          inferenceConfig: { maxTokens: EVALUATION_MAX_TOKENS, temperature: 0 },
        }),
      );
      latencyMs = performance.now() - started;
      return response;
    }, retry);
    return { reply: replyText(out), latencyMs, ...usageOf(out) };
  });
}

interface StoredMetrics {
  readonly studentPromptVersion: string;
  readonly student: ModelMetrics;
  readonly baseline: ModelMetrics;
  readonly incumbent?: ModelMetrics;
  readonly sets?: EvaluationStarted['sets'];
  /** The candidate paired with the baseline and the incumbent on the same queries (absent before pairing existed). */
  readonly paired?: EvaluationStarted['paired'];
}

/** The models a run judges: the candidate and the baseline, and the incumbent when one is present. */
const judgedModels = (input: EvaluateInput): JudgedModel[] => [
  'student',
  'baseline',
  ...(input.incumbent?.present ? (['incumbent'] as const) : []),
];

/** A reference model's answers as stored once per run (runs/<runId>/evaluation/reference/<model>.json). */
const referenceAnswersFile = z.object({
  model: z.enum(['baseline', 'incumbent']),
  modelId: z.string(),
  promptVersion: z.string(),
  answers: z.array(
    z.object({ reply: z.string(), latencyMs: z.number(), inputTokens: z.number(), outputTokens: z.number() }),
  ),
});
type ReferenceAnswersFile = z.output<typeof referenceAnswersFile>;

/** The stored reference answers do not belong to the held-out sets or the model this Evaluate would ask. */
export class ReferenceAnswersMismatch extends Error {
  override readonly name = 'ReferenceAnswersMismatch';
}

/** The stored answers, checked against what this Evaluate would have asked: the same model, format and queries. */
function parseReferenceAnswers(
  text: string,
  key: string,
  expected: Omit<ReferenceAnswersFile, 'answers'>,
  queries: number,
): ModelAnswer[] {
  const fix =
    'it is written once per run by the first candidate’s Evaluate and shared by the others: start a new run (the ' +
    'configuration or the held-out sets changed under this one)';
  let parsed: ReferenceAnswersFile;
  try {
    parsed = referenceAnswersFile.parse(JSON.parse(text));
  } catch (error) {
    throw new ReferenceAnswersMismatch(`${key} is not a reference answers file: ${String(error)}; ${fix}`, {
      cause: error,
    });
  }
  if (
    parsed.model !== expected.model ||
    parsed.modelId !== expected.modelId ||
    parsed.promptVersion !== expected.promptVersion ||
    parsed.answers.length !== queries
  ) {
    throw new ReferenceAnswersMismatch(
      `${key} holds ${parsed.answers.length} answers of ${parsed.modelId} (${parsed.model}, ` +
        `${parsed.promptVersion}), but this candidate would ask ${expected.modelId} (${expected.model}, ` +
        `${expected.promptVersion}) ${queries} held-out queries: ${fix}`,
    );
  }
  return parsed.answers;
}

/**
 * A reference model's answers to every held-out case, shared by all the run's candidates: the stored ones when a
 * candidate already answered, else this candidate asks the model and stores its answers once (If-None-Match). When
 * another candidate stored its answers between the read and the write, those are used instead of this one's, so every
 * candidate's metrics and paired outcomes rest on the very same answers.
 */
async function sharedReferenceAnswers(
  store: RunStore,
  key: string,
  expected: Omit<ReferenceAnswersFile, 'answers'>,
  queries: number,
  holdsLiveQueries: boolean,
  answer: () => Promise<ModelAnswer[]>,
): Promise<ModelAnswer[]> {
  const stored = await store.read(key);
  if (stored !== undefined) {
    logger.info('reusing the stored reference answers (another candidate’s or an earlier attempt’s)', { key });
    return parseReferenceAnswers(stored, key, expected, queries);
  }
  const answers = await answer();
  const body = JSON.stringify({ ...expected, answers } satisfies ReferenceAnswersFile);
  if (await store.writeOnce(key, body, 'application/json', holdsLiveQueries ? LIVE_QUERIES_TAGGING : undefined)) {
    return answers;
  }
  logger.info('another candidate stored the reference answers first: using those', { key });
  return parseReferenceAnswers(
    await readExisting(store, key, 'it was just written by another candidate: retry the step'),
    key,
    expected,
    queries,
  );
}

/**
 * Answers the held-out set with every judged model, writes the answers, the bring-your-own-responses datasets and the
 * metrics (last: it marks the answers complete), and returns the metrics. A retried step finds metrics.json and reuses
 * what the earlier attempt wrote instead of asking the models again (and rewriting a dataset a judge job may read).
 * With candidates, the reference models' answers and datasets are the run's (sharedReferenceAnswers).
 */
async function answerOrResume(
  input: EvaluateInput,
  env: Environment,
  store: RunStore,
  retry: RetryOptions,
): Promise<StoredMetrics & { resumed: boolean }> {
  const keys = evaluationKeys(input.runId, input.candidate?.name);
  const stored = await store.read(keys.metrics);
  if (stored !== undefined) {
    logger.info('reusing the answers of an earlier attempt', { key: keys.metrics });
    const earlier = JSON.parse(stored) as Omit<StoredMetrics, 'studentPromptVersion'> & {
      studentPromptVersion?: string;
    };
    // Metrics stored before formats had versions were measured in student-v1, the only format there was.
    return {
      ...earlier,
      studentPromptVersion: earlier.studentPromptVersion ?? LEGACY_STUDENT_PROMPT_VERSION,
      resumed: true,
    };
  }

  const testSet = await readExisting(store, input.testKey, 'the Assemble (or Reuse dataset) step writes it');
  const synthetic = parseTestSet(testSet, input.testKey);
  const productionKey = input.assemble?.productionTestKey;
  const production = productionKey
    ? parseTestSet(await readExisting(store, productionKey, 'the Assemble step writes it'), productionKey)
    : [];
  // Both sets are judged in one job per model: Assemble keeps them within one job's prompts together.
  const cases = [...synthetic, ...production];
  if (cases.length > MAX_EVALUATION_PROMPTS) {
    throw new Error(
      `${synthetic.length} held-out queries plus ${production.length} of production's slice exceed the ` +
        `${MAX_EVALUATION_PROMPTS} prompts an evaluation job judges: lower testExampleCount or productionHoldOutShare`,
    );
  }
  // The test set's records carry the version they were written in; a candidate is asked in its own version (the one
  // its training file carries), a run from before candidates in the test set's.
  const datasetVersion = synthetic[0]?.promptVersion ?? production[0]?.promptVersion ?? '';
  const fix = 'the run must be assembled again (a dataset holds one student prompt version)';
  if (input.assemble?.studentPromptVersion !== undefined) {
    requireSameVersion(
      { version: input.assemble.studentPromptVersion, from: 'the Assemble result' },
      { version: datasetVersion, from: input.testKey },
      fix,
    );
  }
  if (productionKey && production[0]) {
    requireSameVersion(
      { version: datasetVersion, from: input.testKey },
      { version: production[0].promptVersion, from: productionKey },
      fix,
    );
  }
  const studentVersion = input.candidate?.promptVersion ?? datasetVersion;
  const candidate = studentFormat(studentVersion);
  const incumbentFormat = input.incumbent?.present ? studentFormat(input.incumbent.studentPromptVersion) : candidate;
  const models: Record<JudgedModel, { modelId: string; priceId: string; system: string; format: AnswerFormat }> = {
    // The deployment is billed at the base model's rate, so the student is priced by its base model id.
    student: {
      modelId: input.deploymentArn,
      priceId: input.candidate?.baseModelId ?? env.studentModelId,
      system: candidate.prompt,
      format: candidate,
    },
    baseline: {
      modelId: env.baselineModelId,
      priceId: env.baselineModelId,
      system: teacherPrompt(),
      format: TEACHER_ANSWER_FORMAT,
    },
    // The incumbent answers as it does in production: its deployment, the prompt of the version it was trained with,
    // read in that version's format (it may differ from the candidate's).
    incumbent: {
      modelId: input.incumbent?.present ? input.incumbent.deploymentArn : '',
      priceId: env.studentModelId,
      system: incumbentFormat.prompt,
      format: incumbentFormat,
    },
  };

  const liveKeys = new Set([...(input.assemble?.liveQueryKeys ?? []), ...(productionKey ? [productionKey] : [])]);
  // Answers quote their queries: those on live queries expire with them (productionDataRetentionDays).
  const testIsLive = liveKeys.has(input.testKey);
  const casesAreLive = testIsLive || production.length > 0;
  const candidateName = input.candidate?.name;
  const metrics: Partial<Record<JudgedModel, ModelMetrics>> = {};
  const outcomes: Partial<Record<JudgedModel, QueryOutcome[]>> = {};
  const perSet: Partial<Record<JudgedModel, { synthetic: ModelMetrics; production?: ModelMetrics }>> = {};
  for (const model of judgedModels(input)) {
    const { modelId, priceId, system, format } = models[model];
    const price = priceFor(priceId, env.priceTable);
    const ask = () => answerAll(cases, modelId, system, env.evaluationConcurrency, retry);
    // With candidates, the baseline and the incumbent are the run's (judgeJobOwner): answered once, shared by all.
    const shared = candidateName !== undefined && model !== 'student';
    const answers = shared
      ? await sharedReferenceAnswers(
          store,
          runKeys(input.runId).evaluation.reference(model),
          { model, modelId, promptVersion: format.promptVersion },
          cases.length,
          casesAreLive,
          ask,
        )
      : await ask();
    if (model === 'student') requireOwnFormat(model, answers, candidate, input.testKey);
    if (model === 'incumbent') requireOwnFormat(model, answers, incumbentFormat, input.testKey);
    const syntheticAnswers = answers.slice(0, synthetic.length);
    const productionAnswers = answers.slice(synthetic.length);
    metrics[model] = computeMetrics(cases, answers, modelId, price, format);
    outcomes[model] = queryOutcomes(cases, answers, format);
    perSet[model] = {
      synthetic: computeMetrics(synthetic, syntheticAnswers, modelId, price, format),
      ...(production.length > 0
        ? { production: computeMetrics(production, productionAnswers, modelId, price, format) }
        : {}),
    };
    logger.info('model answered the held-out sets', { model, modelId, metrics: metrics[model] });
    await put(input.bucket, keys.answers(model), answersJsonl(synthetic, syntheticAnswers, format), testIsLive);
    if (production.length > 0) {
      await put(input.bucket, keys.productionAnswers(model), answersJsonl(production, productionAnswers, format), true);
    }
    const dataset = byoDatasetJsonl(cases, answers, INFERENCE_SOURCE[model], format);
    if (shared) {
      // The shared judge job's dataset, once per run; every candidate would write the same content.
      await store.writeOnce(
        evaluationKeys(input.runId).dataset(model),
        dataset,
        'application/jsonl',
        casesAreLive ? LIVE_QUERIES_TAGGING : undefined,
      );
    } else {
      await put(input.bucket, keys.dataset(model), dataset, casesAreLive);
    }
  }
  const { student, baseline, incumbent } = metrics;
  if (!student || !baseline) throw new Error('the candidate and the baseline must both have answered');
  const setOf = (set: 'synthetic' | 'production', queries: number): SetMetrics | undefined => {
    const s = perSet.student?.[set];
    const b = perSet.baseline?.[set];
    const i = perSet.incumbent?.[set];
    return s && b ? { queries, student: s, baseline: b, ...(i ? { incumbent: i } : {}) } : undefined;
  };
  const productionSet = setOf('production', production.length);
  const pairedWith = (other: JudgedModel) => {
    const c = outcomes.student;
    const o = outcomes[other];
    return c && o ? { [other]: pairOutcomes(c, o) } : {};
  };
  const result: StoredMetrics = {
    paired: { ...pairedWith('baseline'), ...pairedWith('incumbent') },
    studentPromptVersion: candidate.promptVersion,
    student,
    baseline,
    ...(incumbent ? { incumbent } : {}),
    ...(productionSet ? { sets: { synthetic: setOf('synthetic', synthetic.length), production: productionSet } } : {}),
  };
  await put(input.bucket, keys.metrics, JSON.stringify(result, null, 2));
  return { ...result, resumed: false };
}

/**
 * Stops the run when a student answers the held-out set in another student format than it was asked in: it was
 * trained on that other version, so figures read in this one would measure the format, not the model.
 */
function requireOwnFormat(model: JudgedModel, answers: readonly ModelAnswer[], asked: StudentFormat, testKey: string) {
  const other = otherFormatOf(
    answers.map((a) => a.reply),
    asked,
  );
  if (!other) return;
  const who = model === 'student' ? 'the candidate' : `the ${model}`;
  throw new PromptVersionMismatch(
    `${who} answers in student prompt version ${other.promptVersion}, but was asked in ${asked.promptVersion} ` +
      `(${model === 'student' ? testKey : 'its active-model value'}): it was trained on ${other.promptVersion} records. ` +
      (model === 'student'
        ? 'A reused model (reuseModelArn) needs the dataset it was trained on: add reuseDatasetFromRun <its run id>; ' +
          'a model this run distilled learned the distillation teacher’s format instead of the labels’ ' +
          '(docs/answer-formats.md)'
        : `set its studentPromptVersion to ${other.promptVersion} (npm run rollback restores an earlier value)`),
  );
}

/** One line per answer; `promptVersion` says how the report reads the reply (the format the model was asked in). */
const answersJsonl = (cases: readonly TestCase[], answers: readonly ModelAnswer[], format: AnswerFormat) =>
  answers
    .map((a, i) => JSON.stringify({ query: cases[i]?.query, ...a, promptVersion: format.promptVersion }))
    .join('\n') + '\n';

/**
 * A plain overwrite, not RunStore.writeOnce: until metrics.json exists these files belong to an unfinished attempt,
 * and a retry replaces them so that answers, datasets and metrics stay one set.
 */
async function put(bucket: string, key: string, body: string, holdsLiveQueries = false) {
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: body,
      ContentType: key.endsWith('.json') ? 'application/json' : 'application/jsonl',
      // The bucket's lifecycle rule expires copies of live queries by this tag (needs s3:PutObjectTagging).
      ...(holdsLiveQueries ? { Tagging: LIVE_QUERIES_TAGGING } : {}),
    }),
  );
}

export async function evaluate(event: unknown, retry: RetryOptions = {}): Promise<EvaluationStarted> {
  const env = EVALUATE_ENVIRONMENT.read(process.env);
  const input = parseInput(evaluateInput, event, 'Evaluate');
  const store = s3RunStore(s3, input.bucket);
  const { studentPromptVersion, student, baseline, incumbent, sets, paired, resumed } = await answerOrResume(
    input,
    env,
    store,
    retry,
  );
  // A third job rather than a third candidate in one job: a judge job rates one precomputed inference source
  // (inferenceConfig.models[0], docs/aws-facts.md §5), and one job per model keeps the scores apart.
  const jobs = {
    student: await startJudgeJob(input, env, 'student'),
    baseline: await startJudgeJob(input, env, 'baseline'),
    ...(incumbent ? { incumbent: await startJudgeJob(input, env, 'incumbent') } : {}),
  };
  const keys = evaluationKeys(input.runId, input.candidate?.name);
  return {
    metricsKey: keys.metrics,
    outputS3Uri: s3Uri(input.bucket, keys.outputPrefix),
    student,
    baseline,
    ...(incumbent ? { incumbent } : {}),
    ...(sets ? { sets } : {}),
    ...(paired ? { paired } : {}),
    jobs,
    resumed,
    studentPromptVersion,
  };
}

export const handler = /* @__PURE__ */ lambdaHandler(evaluate);
