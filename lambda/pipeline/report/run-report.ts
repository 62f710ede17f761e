import type { JudgeScore } from '../evaluation/evaluation';
import type { ModelMetrics } from '../evaluation/metrics';
import type { GateResult } from '../gate/gate-rules';
import { estimatedStudentTokens } from '../cost/token-assumptions';
import type { TokenUsage } from '../../core/prices';
import { isStudentPromptVersion, type StudentPromptVersion } from '../../core/student-format';
import type { CanaryCheck } from '../rollout/result';

/**
 * The run report's figures (`runs/<runId>/report.json`): the case study's comparison table (judge score, latency, cost
 * per 1M queries, savings against the baseline), the dataset's manifest, and every gate check with its value and
 * verdict. report-text.ts renders them as `report.md` and the SNS summary, report-html.ts as `report.html`.
 */

/** ROLLED_BACK: the gate passed, the canary did not (an alarm, or an operator's rollback). */
export type RunOutcome = 'PROMOTED' | 'REJECTED' | 'ROLLED_BACK';

export interface ReportedModel {
  readonly metrics: ModelMetrics;
  readonly judge: JudgeScore;
}

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

export interface RunReport extends RunReportInput {
  readonly outcome: RunOutcome;
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

export function buildReport(input: RunReportInput): RunReport {
  const student = row('student', input.student);
  const baseline = row('baseline', input.baseline);
  return {
    ...input,
    outcome: input.promotion.promoted ? 'PROMOTED' : input.promotion.canary ? 'ROLLED_BACK' : 'REJECTED',
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
  const version = versions !== null && typeof versions === 'object' ? Reflect.get(versions, 'student') : undefined;
  if (!isStudentPromptVersion(version)) return undefined;
  const { meanInputTokens, meanOutputTokens } = report.student.metrics;
  return {
    promptVersion: version,
    measured: { inputTokens: meanInputTokens, outputTokens: meanOutputTokens },
    estimate: estimatedStudentTokens(version),
  };
}
