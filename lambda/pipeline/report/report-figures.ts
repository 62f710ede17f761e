import * as z from 'zod';
import { DEFAULT_DISTILLATION_RATES } from '../cost/cost-lines';
import { recordCharsPerToken } from '../cost/token-assumptions';
import type { TestCase } from '../evaluation/metrics';
import { EVALUATED_MODELS, type EvaluatedModel } from '../../core/job-names';
import { MODALITIES, type Modality } from '../../core/modality';
import { QUERY_TARGETS } from '../generation/query-plan';
import { studentTokensOf, type RunReport, type StudentTokensFigure } from './run-report';
import { canaryTrafficFigures } from './report-text';
import { readManifestCalibration, type CalibrationRow } from '../generation/calibration';
import { answerFormat, TEACHER_ANSWER_FORMAT } from '../../core/prompts';

/**
 * The figures behind the HTML run report (report-html.ts), computed from what the run stored: the report itself, the
 * manifest, the shard plan, the held-out set and each model's per-query answers (evaluation/answers/<model>.jsonl).
 * Pure: the Report handler reads the files, this module only counts.
 */

/** The case study's mean latencies (student Nova Micro vs the teacher-class baseline), marked on the latency chart. */
export const CASE_STUDY_LATENCY_MS: Readonly<Record<EvaluatedModel, number>> = { student: 833, baseline: 1741 };

/** One line of evaluation/answers/<model>.jsonl as Evaluate writes it. */
export const storedAnswerSchema = z.object({
  query: z.string(),
  reply: z.string(),
  latencyMs: z.number().nonnegative(),
  inputTokens: z.number().nonnegative(),
  outputTokens: z.number().nonnegative(),
  /** The prompt version the model was asked with: how its reply is read. Absent in runs before versioned formats. */
  promptVersion: z.string().optional(),
});
export type StoredAnswer = z.output<typeof storedAnswerSchema>;

export function parseAnswers(jsonl: string, source: string): StoredAnswer[] {
  return jsonl
    .split('\n')
    .map((line, index) => ({ line, index }))
    .filter(({ line }) => line.trim() !== '')
    .map(({ line, index }) => {
      const parsed = storedAnswerSchema.safeParse(JSON.parse(line));
      if (!parsed.success) throw new Error(`${source} line ${index + 1} is not an answer: ${parsed.error.message}`);
      return parsed.data;
    });
}

/** The shard plan's figures the report needs (plan.json; older plans carry only the shards). */
const planView = z.object({
  queriesByTarget: z.record(z.string(), z.number()).optional(),
  shards: z.array(z.object({ target: z.string(), count: z.number() })).optional(),
});

/** Queries planned per target (the four modalities and "mixed"), or undefined when the plan says nothing usable. */
export function plannedByTarget(planJson: string | undefined): Record<string, number> | undefined {
  if (planJson === undefined) return undefined;
  const parsed = planView.safeParse(JSON.parse(planJson));
  if (!parsed.success) return undefined;
  if (parsed.data.queriesByTarget) return parsed.data.queriesByTarget;
  if (!parsed.data.shards) return undefined;
  const counts: Record<string, number> = {};
  for (const s of parsed.data.shards) counts[s.target] = (counts[s.target] ?? 0) + s.count;
  return counts;
}

const modalityCounts = z.object({
  visual: z.number(),
  audio: z.number(),
  transcription: z.number(),
  metadata: z.number(),
});
const setCounts = z.object({ total: z.number(), byModality: modalityCounts, mixed: z.number() });

/** The manifest fields the report reads; each optional, so a manifest of another version still renders. */
const manifestView = z.object({
  runId: z.string().optional(),
  teacherModelId: z.string().optional(),
  generation: z.object({ planned: z.number().optional(), labelled: z.number().optional() }).optional(),
  droppedByReason: z.record(z.string(), z.number()).optional(),
  duplicates: z.object({ exact: z.number(), normalised: z.number() }).optional(),
  unused: z.number().optional(),
  counts: z.object({ train: setCounts, test: setCounts }).optional(),
  labelledByModality: modalityCounts.optional(),
  sources: z.record(z.string(), z.object({ train: z.number(), test: z.number() })).optional(),
  teacher: z.object({ estimatedCostUsd: z.number().optional() }).optional(),
  files: z.object({ train: z.object({ bytes: z.number() }) }).optional(),
});
type ManifestView = z.output<typeof manifestView>;

function readManifest(manifest: Readonly<Record<string, unknown>> | undefined): ManifestView {
  const parsed = manifestView.safeParse(manifest ?? {});
  return parsed.success ? parsed.data : {};
}

/** The held-out set and each model's answers to it, as Evaluate stored them. */
export interface HeldOutAnswers {
  readonly cases: readonly TestCase[];
  readonly answers: Readonly<Record<EvaluatedModel, readonly StoredAnswer[]>>;
  /** Each evaluated candidate's own answers (runs/<runId>/<candidate>/evaluation/answers/student.jsonl), by name. */
  readonly candidates?: Readonly<Record<string, readonly StoredAnswer[]>>;
}

/** One evaluated candidate's charts: its confusion of dominant modality and its judge scores, when it has them. */
export interface CandidateFigure {
  readonly name: string;
  readonly confusion?: readonly (readonly number[])[];
  readonly judgeHistogram?: readonly number[];
}

/** Figures of a model evaluated elsewhere (a canary, the incumbent), shown next to the student when given. */
export interface ComparedModel {
  readonly role: 'canary' | 'incumbent';
  readonly modelId: string;
  /** A run id, a deployment name: whatever tells a reader which one it is. */
  readonly label?: string;
  readonly judgeScore?: number;
  readonly dominantAgreement?: number;
  readonly validReplyRate?: number;
  readonly latencyMeanMs?: number;
  readonly latencyP95Ms?: number;
  readonly costPer1MQueriesUsd?: number;
  /** Share of live traffic the canary answers, 0–1. */
  readonly trafficShare?: number;
}

export interface ReportFiguresInput {
  readonly report: RunReport;
  /** shards/plan.json of the run that generated the dataset (absent: a reused dataset's plan was not found). */
  readonly planJson?: string;
  readonly heldOut?: HeldOutAnswers;
  readonly compared?: readonly ComparedModel[];
}

export interface BarSeries {
  readonly name: string;
  readonly values: readonly (number | null)[];
}

export interface CostStageFigure {
  readonly stage: 'generation' | 'distillation' | 'evaluation';
  readonly usd: number | null;
  /** What the figure rests on (measured tokens, an estimate and its rate). */
  readonly basis: string;
}

/** Confusion of dominant modality: rows the teacher's, columns the model's (the last column: no valid reply). */
export const CONFUSION_COLUMNS = [...MODALITIES, 'invalid'] as const;

export interface ReportFigures {
  readonly report: RunReport;
  readonly balance: { readonly categories: readonly string[]; readonly series: readonly BarSeries[] };
  readonly sources: readonly { readonly source: string; readonly train: number; readonly test: number }[];
  readonly dropped: readonly { readonly reason: string; readonly count: number }[];
  readonly judgeHistogram?: Readonly<Record<EvaluatedModel, readonly number[]>>;
  readonly mae: Readonly<Record<EvaluatedModel, readonly (number | null)[]>>;
  /** Per model, rows in MODALITIES order, columns in CONFUSION_COLUMNS order. */
  readonly confusion?: Readonly<Record<EvaluatedModel, readonly (readonly number[])[]>>;
  /** Per model, every held-out latency in ms, ascending (the CDF). */
  readonly latencies?: Readonly<Record<EvaluatedModel, readonly number[]>>;
  readonly costStages: readonly CostStageFigure[];
  readonly compared: readonly ComparedModel[];
  /**
   * The student's mean tokens per held-out query as Bedrock counted them, next to the cost model's estimate for its
   * answer format (absent when the run's format is not one this release knows).
   */
  readonly studentTokens?: StudentTokensFigure;
  /** How the run calibrated its labelling (from the manifest; absent for runs without a calibration). */
  readonly calibration?: CalibrationFigure;
  /** Each evaluated candidate's charts, in the configured order (runs with candidates). */
  readonly candidates?: readonly CandidateFigure[];
}

/** Counts the dominant modality of each answer against the teacher's, matched to the held-out case by query. */
export function confusionMatrix(cases: readonly TestCase[], answers: readonly StoredAnswer[]): number[][] {
  const byQuery = new Map(answers.map((a) => [a.query, a]));
  const matrix = MODALITIES.map(() => CONFUSION_COLUMNS.map(() => 0));
  for (const c of cases) {
    const answer = byQuery.get(c.query);
    if (!answer) throw new Error(`no answer stored for the held-out query "${c.query}"`);
    // Answers stored before formats were versioned were all JSON weights (the teacher's form and student-v1).
    const format = answer.promptVersion ? answerFormat(answer.promptVersion) : TEACHER_ANSWER_FORMAT;
    const parsed = format.parse(answer.reply);
    const column = parsed.ok ? MODALITIES.indexOf(parsed.dominant) : MODALITIES.length;
    const row = matrix[MODALITIES.indexOf(c.dominant)];
    if (row) row[column] = (row[column] ?? 0) + 1;
  }
  return matrix;
}

function balance(manifest: ManifestView, planned: Record<string, number> | undefined): ReportFigures['balance'] {
  const categories = [...QUERY_TARGETS];
  const perModality = (counts: Readonly<Record<Modality, number>> | undefined, mixed?: number) =>
    counts ? categories.map((t) => (t === 'mixed' ? (mixed ?? null) : counts[t])) : undefined;
  const series: BarSeries[] = [];
  if (planned) series.push({ name: 'planned', values: categories.map((t) => planned[t] ?? 0) });
  const labelled = perModality(manifest.labelledByModality);
  if (labelled) series.push({ name: 'labelled', values: labelled });
  const train = perModality(manifest.counts?.train.byModality, manifest.counts?.train.mixed);
  if (train) series.push({ name: 'training', values: train });
  const test = perModality(manifest.counts?.test.byModality, manifest.counts?.test.mixed);
  if (test) series.push({ name: 'held out', values: test });
  return { categories, series };
}

function dropped(manifest: ManifestView): ReportFigures['dropped'] {
  const rows = Object.entries(manifest.droppedByReason ?? {}).map(([reason, count]) => ({ reason, count }));
  if (manifest.duplicates?.exact) rows.push({ reason: 'duplicate (exact)', count: manifest.duplicates.exact });
  if (manifest.duplicates?.normalised) {
    rows.push({ reason: 'duplicate (case, punctuation)', count: manifest.duplicates.normalised });
  }
  if (manifest.unused) rows.push({ reason: 'surplus left out by rebalancing', count: manifest.unused });
  return rows.filter((r) => r.count > 0).sort((a, b) => b.count - a.count);
}

function sources(manifest: ManifestView, report: RunReport): ReportFigures['sources'] {
  // Manifests written before sources were recorded hold only synthetic (teacher-written) records.
  const given = manifest.sources ?? {
    synthetic: { train: report.dataset.trainCount, test: report.dataset.testCount },
  };
  return Object.entries(given).map(([source, n]) => ({ source, train: n.train, test: n.test }));
}

function costStages(manifest: ManifestView, report: RunReport): CostStageFigure[] {
  const trainBytes = manifest.files?.train.bytes;
  const rates = DEFAULT_DISTILLATION_RATES;
  const trainingTokens =
    trainBytes === undefined
      ? undefined
      : (trainBytes / recordCharsPerToken(studentTokensOf(report)?.promptVersion)) * rates.epochs;
  const distillation: CostStageFigure = report.distillation.reused
    ? { stage: 'distillation', usd: 0, basis: 'model reused from an earlier run' }
    : trainingTokens === undefined
      ? { stage: 'distillation', usd: null, basis: 'training file size not in the manifest' }
      : {
          stage: 'distillation',
          usd: (trainingTokens / 1000) * rates.trainingPer1kTokensUsd,
          basis:
            `estimate: ~${Math.round(trainingTokens).toLocaleString('en-US')} training tokens × ` +
            `$${rates.trainingPer1kTokensUsd} per 1k (UNVERIFIED rate)`,
        };
  const answering = EVALUATED_MODELS.map((m) => {
    const metrics = report[m].metrics;
    return metrics.costPer1kQueriesUsd === null ? null : (metrics.costPer1kQueriesUsd * metrics.queries) / 1000;
  });
  return [
    {
      stage: 'generation',
      usd: manifest.teacher?.estimatedCostUsd ?? null,
      basis: 'teacher calls, measured tokens × price table',
    },
    distillation,
    {
      stage: 'evaluation',
      usd: answering.some((x) => x === null) ? null : answering.reduce<number>((s, x) => s + (x ?? 0), 0),
      basis: 'student and baseline answering the held-out set, measured tokens; judge jobs not included',
    },
  ];
}

export function reportFigures(input: ReportFiguresInput): ReportFigures {
  const { report, heldOut } = input;
  const manifest = readManifest(report.dataset.manifest);
  const studentTokens = studentTokensOf(report);
  const judgeHistograms = EVALUATED_MODELS.map((m) => report[m].judge.histogram);
  const [studentHistogram, baselineHistogram] = judgeHistograms;
  return {
    report,
    balance: balance(manifest, plannedByTarget(input.planJson)),
    sources: sources(manifest, report),
    dropped: dropped(manifest),
    ...(studentHistogram && baselineHistogram
      ? { judgeHistogram: { student: studentHistogram, baseline: baselineHistogram } }
      : {}),
    mae: {
      student: MODALITIES.map((k) => report.student.metrics.meanAbsoluteError[k]),
      baseline: MODALITIES.map((k) => report.baseline.metrics.meanAbsoluteError[k]),
    },
    ...(heldOut
      ? {
          confusion: {
            student: confusionMatrix(heldOut.cases, heldOut.answers.student),
            baseline: confusionMatrix(heldOut.cases, heldOut.answers.baseline),
          },
          latencies: {
            student: heldOut.answers.student.map((a) => a.latencyMs).sort((a, b) => a - b),
            baseline: heldOut.answers.baseline.map((a) => a.latencyMs).sort((a, b) => a - b),
          },
        }
      : {}),
    costStages: costStages(manifest, report),
    ...(studentTokens ? { studentTokens } : {}),
    compared: input.compared ?? [...incumbentFromGate(report), ...canaryOf(report)],
    ...calibrationFigure(report),
    ...candidateFigures(report, heldOut),
  };
}

/** Each evaluated candidate's confusion matrix (when its answers were found) and judge histogram (when kept). */
function candidateFigures(report: RunReport, heldOut: HeldOutAnswers | undefined): { candidates?: CandidateFigure[] } {
  if (!report.candidates) return {};
  return {
    candidates: report.candidates.flatMap((c) => {
      if (c.status !== 'evaluated') return [];
      const answers = heldOut?.candidates?.[c.name];
      return [
        {
          name: c.name,
          ...(heldOut && answers ? { confusion: confusionMatrix(heldOut.cases, answers) } : {}),
          ...(c.judgeHistogram ? { judgeHistogram: c.judgeHistogram } : {}),
        },
      ];
    }),
  };
}

/** The incumbent the Gate compared the candidate with (its figures on the same held-out sets), when there was one. */
function incumbentFromGate(report: RunReport): ComparedModel[] {
  return (report.gate.comparison?.models ?? [])
    .filter((m) => m.role === 'incumbent')
    .map((m) => ({
      role: 'incumbent' as const,
      modelId: m.modelId,
      ...(m.runId ? { label: `run ${m.runId}` } : {}),
      judgeScore: m.judgeScore,
      dominantAgreement: m.dominantAgreement,
      validReplyRate: m.validReplyRate,
      latencyMeanMs: m.latencyMeanMs,
    }));
}

/**
 * This run's candidate as it went through its canary: the share of live traffic it answered and how it ended (its
 * held-out figures are the student's row; the live ones are in the report's canary alarms).
 */
function canaryOf(report: RunReport): ComparedModel[] {
  const { canary } = report.promotion;
  if (!canary) return [];
  return [
    {
      role: 'canary' as const,
      modelId: report.deployment.deploymentArn,
      label:
        `${canary.outcome ?? 'unfinished'} after ${canary.elapsedMinutes} min` +
        (canary.firing.length > 0 ? ` (${canary.firing.join(', ')})` : '') +
        // The traffic it was judged on (counted once the window was over).
        (canary.traffic ? `: ${canaryTrafficFigures(canary.traffic)}` : ''),
      trafficShare: canary.share,
    },
  ];
}

/** The manifest's calibration: each measured batch size against single labels, and the size the run chose. */
export interface CalibrationFigure {
  readonly labelBatchSize: number;
  readonly calibrated: boolean;
  readonly reason: string;
  readonly rows: readonly (CalibrationRow & { readonly chosen: boolean })[];
}

function calibrationFigure(report: RunReport): { calibration?: CalibrationFigure } {
  const parsed = readManifestCalibration(report.dataset.manifest?.['calibration']);
  if (!parsed) return {};
  const { labelBatchSize, calibrated, reason, table } = parsed;
  return {
    calibration: {
      labelBatchSize,
      calibrated,
      reason,
      rows: table.map((row) => ({ ...row, chosen: row.size === labelBatchSize })),
    },
  };
}
