import type { ConversationRecord } from '../../core/dataset-record';
import { parseRecordLabel, recordFormat, recordParts } from '../../core/dataset-record';
import { MAX_EVALUATION_PROMPTS } from '../../core/dataset-validator';
import { dominantModality, MODALITIES, modalityRecord, type Modality, type Weights } from '../../core/modality';
import { costPerQueries, type TokenPrice } from '../../core/prices';
import type { AnswerFormat, StudentPromptVersion } from '../../core/student-format';

/**
 * The evaluation's deterministic side: the held-out cases read from the run's test files, and the metrics of one
 * model's answers to them (validity, dominant agreement, mean absolute error, latency, tokens, cost). The judge's side
 * (its dataset, job and scores) is evaluation.ts.
 */

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

/** The mean of the values; 0 for none. */
export const mean = (values: readonly number[]) =>
  values.length ? values.reduce((s, v) => s + v, 0) / values.length : 0;

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
  const maeByModality = modalityRecord((m): number | null => (valid ? mean(errors[m]) : null));
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

/** One query's outcome for one model: did its dominant modality match the teacher's, and its mean absolute error. */
export interface QueryOutcome {
  /** An invalid reply is a miss. */
  readonly agrees: boolean;
  /** Mean absolute error over the modalities; null for an invalid reply. */
  readonly error: number | null;
}

/** Per-query outcomes, in the order of the cases (what the Gate pairs across models). */
export function queryOutcomes(
  cases: readonly TestCase[],
  answers: readonly ModelAnswer[],
  format: AnswerFormat,
): QueryOutcome[] {
  return answers.map((answer, i) => {
    const parsed = format.parse(answer.reply);
    const reference = cases[i]?.reference;
    if (!parsed.ok || !reference) return { agrees: false, error: null };
    return {
      agrees: parsed.dominant === dominantModality(reference),
      error: mean(MODALITIES.map((m) => Math.abs(parsed.weights[m] - reference[m]))),
    };
  });
}

/**
 * The candidate paired with another model on the same held-out queries: the discordant pairs of dominant agreement
 * (McNemar) and, per query both answered validly, the candidate's weight error minus the other's (positive: the
 * candidate is worse).
 */
export interface PairedOutcomes {
  readonly queries: number;
  readonly candidateOnly: number;
  readonly otherOnly: number;
  readonly errorDrops: readonly number[];
}

export function pairOutcomes(candidate: readonly QueryOutcome[], other: readonly QueryOutcome[]): PairedOutcomes {
  if (candidate.length !== other.length) {
    throw new Error(`paired outcomes need the same queries: ${candidate.length} and ${other.length}`);
  }
  let candidateOnly = 0;
  let otherOnly = 0;
  const errorDrops: number[] = [];
  candidate.forEach((c, i) => {
    const o = other[i];
    if (!o) return;
    if (c.agrees && !o.agrees) candidateOnly++;
    if (!c.agrees && o.agrees) otherOnly++;
    if (c.error !== null && o.error !== null) errorDrops.push(Math.round((c.error - o.error) * 1e6) / 1e6);
  });
  return { queries: candidate.length, candidateOnly, otherOnly, errorDrops };
}
