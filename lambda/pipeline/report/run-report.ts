import type { JudgeScore } from '../evaluation/evaluation';
import type { ModelMetrics } from '../evaluation/metrics';
import type { GateResult } from '../gate/gate-rules';
import { estimatedStudentTokens } from '../cost/token-assumptions';
import type { TokenUsage } from '../../core/prices';
import { isStudentPromptVersion, type StudentPromptVersion } from '../../core/student-format';
import type { CanaryCheck } from '../rollout/result';
import type { SelectCandidateResult } from '../selection/select-candidate';

/**
 * The run report's figures (`runs/<runId>/report.json`): the case study's comparison table (judge score, latency, cost
 * per 1M queries, savings against the baseline), the dataset's manifest, and every gate check with its value and
 * verdict. report-text.ts renders them as `report.md` and the SNS summary, report-html.ts as `report.html`.
 */

/**
 * How the run ended: PROMOTED (the candidate is the active model, with or without a canary); REJECTED (the gate did
 * not pass it); ROLLED_BACK (the gate passed, the canary did not: an alarm, a check that kept failing, or an operator's
 * rollback); CANARY_INCONCLUSIVE (the gate passed, no alarm fired, but by canaryMaxMinutes the candidate had too few
 * queries or shadow samples to judge it, and the incumbent was kept: canaryInconclusive keepIncumbent).
 */
export type RunOutcome = 'PROMOTED' | 'REJECTED' | 'ROLLED_BACK' | 'CANARY_INCONCLUSIVE';

/** The run's outcome from `$.promotion`: a canary that ended inconclusive is not a rollback. */
export function runOutcome(promotion: RunReportInput['promotion']): RunOutcome {
  if (promotion.promoted) return 'PROMOTED';
  if (!promotion.canary) return 'REJECTED';
  return promotion.canary.outcome === 'inconclusive' ? 'CANARY_INCONCLUSIVE' : 'ROLLED_BACK';
}

export interface ReportedModel {
  readonly metrics: ModelMetrics;
  readonly judge: JudgeScore;
}

/** A candidate as the run configured it (`$.candidates[i].candidate`: Preflight's RunCandidate). */
export interface CandidateIdentity {
  readonly name: string;
  /** distillation, fine-tuning, or reused (a model given with --reuse-model). */
  readonly method: string;
  readonly baseModelId: string;
  readonly promptVersion: string;
}

/** What Report reads of a candidate that reached its gate (an outcome of the Candidates map). */
export interface EvaluatedCandidate {
  readonly candidate: CandidateIdentity;
  readonly training: { readonly jobArn?: string; readonly outputModelArn?: string; readonly reused?: boolean };
  readonly deployment: { readonly deploymentArn: string };
  readonly evaluation: { readonly student: ModelMetrics };
  readonly evaluationStatus: { readonly judge: { readonly student: JudgeScore } };
  readonly gate: GateResult;
}

/** A candidate dropped at a step (its job failed, its deployment failed, its replies were unusable…). */
export interface DroppedCandidate {
  readonly candidate: CandidateIdentity;
  readonly failure: { readonly step: string; readonly error: string; readonly cause: string };
  readonly deployment?: { readonly deploymentArn: string };
}

export type CandidateOutcome = EvaluatedCandidate | DroppedCandidate;

/** What Report reads of Select candidate's result (`$.selection`). */
export type CandidateSelection = Pick<SelectCandidateResult, 'winner' | 'ranking' | 'reason' | 'promote'> & {
  readonly chosen: { readonly candidate: { readonly name: string } };
};

export const isDroppedCandidate = (o: CandidateOutcome): o is DroppedCandidate => 'failure' in o;

export interface RunReportInput {
  readonly runId: string;
  readonly generatedAt: string;
  readonly student: ReportedModel;
  readonly baseline: ReportedModel;
  readonly judgeModelId: string;
  readonly gate: GateResult;
  readonly dataset: {
    readonly trainKey: string;
    readonly testKey: string;
    readonly trainCount: number;
    readonly testCount: number;
    /** The run's manifest.json as written by Assemble (shape owned by the generation stage). */
    readonly manifest?: Readonly<Record<string, unknown>>;
  };
  readonly distillation: {
    readonly modelArn: string;
    readonly jobArn?: string;
    readonly reused: boolean;
    readonly statusDetails?: unknown;
  };
  readonly deployment: { readonly deploymentArn: string; readonly deploymentName?: string; readonly reused: boolean };
  readonly promotion: {
    readonly promoted: boolean;
    readonly parameterName?: string;
    readonly version?: number;
    readonly reason?: string;
    /** When the candidate went through a canary: its outcome, the alarms at the last check, the figures. */
    readonly canary?: CanaryCheck;
  };
  /**
   * Every candidate's outcome in the configured order, and the selection among them (runs with candidates; absent in
   * runs from before them). The single-student fields above then describe the chosen candidate.
   */
  readonly candidateOutcomes?: readonly CandidateOutcome[];
  readonly selection?: CandidateSelection;
}

interface CandidateRowBase {
  readonly name: string;
  readonly method: string;
  readonly baseModelId: string;
  readonly promptVersion: string;
}

/** One evaluated candidate in report.json's `candidates`: its place, its gate and its held-out figures. */
export interface EvaluatedCandidateRow extends CandidateRowBase {
  readonly status: 'evaluated';
  /** Its place in the selection's ranking (1 = best; candidates whose gate passed come first). */
  readonly rank: number | null;
  /** The candidate that goes on to the rollout. */
  readonly winner: boolean;
  /** The candidate the single-student sections describe (the winner, or the best evaluated one when none passed). */
  readonly chosen: boolean;
  readonly gate: {
    readonly passed: boolean;
    readonly verdict: string;
    readonly failedChecks: readonly string[];
    readonly summary: string;
  };
  readonly dominantAgreement: number;
  readonly judgeMean: number;
  /** Scored records per rubric point 1–5, when the judge's scores were kept. */
  readonly judgeHistogram?: readonly number[];
  readonly validReplyRate: number;
  /** Mean absolute weight error over valid replies (null: none valid). */
  readonly weightError: number | null;
  readonly latencyP50Ms: number;
  readonly latencyP95Ms: number;
  readonly meanInputTokens: number;
  readonly meanOutputTokens: number;
  readonly costPer1MQueriesUsd: number | null;
  readonly trainingJobArn?: string;
  readonly modelArn?: string;
  readonly deploymentArn: string;
  /** Why it ranks where it does (the selection's words). */
  readonly why: string;
}

/** A candidate dropped before its gate: where and why. */
export interface DroppedCandidateRow extends CandidateRowBase {
  readonly status: 'dropped';
  readonly failure: { readonly step: string; readonly error: string; readonly cause: string };
  readonly deploymentArn?: string;
}

export type CandidateRow = EvaluatedCandidateRow | DroppedCandidateRow;

/** report.json's `selection`: who won and why, in the selection's words. */
export interface SelectionSummary {
  readonly winner?: string;
  readonly chosen: string;
  readonly promote: boolean;
  readonly reason: string;
  /** Evaluated candidates other than the winner, best first (none when nothing won). */
  readonly runnersUp: readonly string[];
  readonly dropped: readonly string[];
}

export interface ComparisonRow {
  readonly model: 'student' | 'baseline';
  readonly modelId: string;
  readonly judgeScore: number;
  readonly validReplyRate: number;
  readonly dominantAgreement: number;
  readonly meanAbsoluteError: number | null;
  readonly latencyMeanMs: number;
  readonly latencyP95Ms: number;
  readonly costPer1MQueriesUsd: number | null;
}

export interface Savings {
  /** 1 - student/baseline cost per query (null when a price is unknown). */
  readonly costReduction: number | null;
  /** 1 - student/baseline mean latency. */
  readonly meanLatencyReduction: number | null;
  readonly judgeScoreDifference: number;
}

export interface RunReport extends Omit<RunReportInput, 'candidateOutcomes' | 'selection'> {
  readonly outcome: RunOutcome;
  /** Every candidate side by side, in the configured order (runs with candidates). */
  readonly candidates?: readonly CandidateRow[];
  readonly selection?: SelectionSummary;
  readonly table: readonly ComparisonRow[];
  readonly savings: Savings;
}

const row = (model: 'student' | 'baseline', m: ReportedModel): ComparisonRow => ({
  model,
  modelId: m.metrics.modelId,
  judgeScore: m.judge.mean,
  validReplyRate: m.metrics.validReplyRate,
  dominantAgreement: m.metrics.dominantAgreement,
  meanAbsoluteError: m.metrics.meanAbsoluteErrorOverall,
  latencyMeanMs: m.metrics.latencyMs.mean,
  latencyP95Ms: m.metrics.latencyMs.p95,
  costPer1MQueriesUsd: m.metrics.costPer1kQueriesUsd === null ? null : m.metrics.costPer1kQueriesUsd * 1000,
});

const reduction = (student: number | null, baseline: number | null) =>
  student === null || baseline === null || !(baseline > 0) ? null : 1 - student / baseline;

function candidateRow(outcome: CandidateOutcome, selection: CandidateSelection | undefined): CandidateRow {
  const { name, method, baseModelId, promptVersion } = outcome.candidate;
  const base = { name, method, baseModelId, promptVersion };
  if (isDroppedCandidate(outcome)) {
    return {
      ...base,
      status: 'dropped',
      failure: outcome.failure,
      ...(outcome.deployment ? { deploymentArn: outcome.deployment.deploymentArn } : {}),
    };
  }
  const m = outcome.evaluation.student;
  const judge = outcome.evaluationStatus.judge.student;
  const ranked = selection?.ranking.find((r) => r.name === name);
  return {
    ...base,
    status: 'evaluated',
    rank: ranked?.rank ?? null,
    winner: selection?.winner === name,
    chosen: selection?.chosen.candidate.name === name,
    gate: {
      passed: outcome.gate.passed,
      verdict: outcome.gate.verdict,
      failedChecks: outcome.gate.failed,
      summary: outcome.gate.summary,
    },
    dominantAgreement: m.dominantAgreement,
    judgeMean: judge.mean,
    ...(judge.histogram ? { judgeHistogram: judge.histogram } : {}),
    validReplyRate: m.validReplyRate,
    weightError: m.meanAbsoluteErrorOverall,
    latencyP50Ms: m.latencyMs.p50,
    latencyP95Ms: m.latencyMs.p95,
    meanInputTokens: m.meanInputTokens,
    meanOutputTokens: m.meanOutputTokens,
    costPer1MQueriesUsd: m.costPer1kQueriesUsd === null ? null : m.costPer1kQueriesUsd * 1000,
    ...(outcome.training.jobArn ? { trainingJobArn: outcome.training.jobArn } : {}),
    ...(outcome.training.outputModelArn ? { modelArn: outcome.training.outputModelArn } : {}),
    deploymentArn: outcome.deployment.deploymentArn,
    why: ranked?.why ?? 'not ranked by the selection',
  };
}

/** The candidates side by side and the selection's verdict, when the run had candidates. */
function candidatesOf(input: RunReportInput): Pick<RunReport, 'candidates' | 'selection'> | Record<string, never> {
  const { candidateOutcomes, selection } = input;
  if (!candidateOutcomes || candidateOutcomes.length === 0) return {};
  const candidates = candidateOutcomes.map((o) => candidateRow(o, selection));
  if (!selection) return { candidates };
  const ranked = [...selection.ranking].sort((a, b) => a.rank - b.rank).map((r) => r.name);
  return {
    candidates,
    selection: {
      ...(selection.winner !== undefined ? { winner: selection.winner } : {}),
      chosen: selection.chosen.candidate.name,
      promote: selection.promote,
      reason: selection.reason,
      runnersUp: selection.winner === undefined ? [] : ranked.filter((n) => n !== selection.winner),
      dropped: candidates.filter((c) => c.status === 'dropped').map((c) => c.name),
    },
  };
}

export function buildReport(input: RunReportInput): RunReport {
  const student = row('student', input.student);
  const baseline = row('baseline', input.baseline);
  // The raw outcomes stay out of report.json: each candidate's row holds what a reader compares.
  const { candidateOutcomes: _outcomes, selection: _selection, ...rest } = input;
  return {
    ...rest,
    ...candidatesOf(input),
    outcome: runOutcome(input.promotion),
    table: [student, baseline],
    savings: {
      costReduction: reduction(student.costPer1MQueriesUsd, baseline.costPer1MQueriesUsd),
      meanLatencyReduction: reduction(student.latencyMeanMs, baseline.latencyMeanMs),
      judgeScoreDifference: student.judgeScore - baseline.judgeScore,
    },
  };
}

/** The student's mean tokens per held-out query as Bedrock counted them, next to the cost model's estimate. */
export interface StudentTokensFigure {
  readonly promptVersion: StudentPromptVersion;
  readonly measured: TokenUsage;
  readonly estimate: TokenUsage;
}

/** The student's tokens per query, when the manifest names a student format this release knows. */
export function studentTokensOf(report: RunReport): StudentTokensFigure | undefined {
  const versions = report.dataset.manifest?.['promptVersions'];
  // With candidates, the chosen one was asked in its own prompt version; before them, in the dataset's.
  const version =
    chosenCandidate(report)?.promptVersion ??
    (versions !== null && typeof versions === 'object' ? Reflect.get(versions, 'student') : undefined);
  if (!isStudentPromptVersion(version)) return undefined;
  const { meanInputTokens, meanOutputTokens } = report.student.metrics;
  return {
    promptVersion: version,
    measured: { inputTokens: meanInputTokens, outputTokens: meanOutputTokens },
    estimate: estimatedStudentTokens(version),
  };
}

/** The candidate the single-student figures describe (the winner, or the best evaluated one), when the run had any. */
export const chosenCandidate = (report: Pick<RunReport, 'candidates'>): EvaluatedCandidateRow | undefined =>
  report.candidates?.find((c): c is EvaluatedCandidateRow => c.status === 'evaluated' && c.chosen);
