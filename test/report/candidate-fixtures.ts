import type { JudgeScore } from '../../lambda/pipeline/evaluation/evaluation';
import type { ModelMetrics } from '../../lambda/pipeline/evaluation/metrics';
import { evaluateGate } from '../../lambda/pipeline/gate/gate-rules';
import type {
  CandidateOutcome,
  CandidateSelection,
  DroppedCandidate,
  EvaluatedCandidate,
} from '../../lambda/pipeline/report/run-report';
import { selectCandidate } from '../../lambda/pipeline/selection/selection';
import { figuresOf } from '../../lambda/pipeline/selection/select-candidate';

/**
 * Candidate outcomes in the shapes the Candidates map leaves them (`$.candidates`) and Select candidate's result
 * (`$.selection`), ranked by the real selection rule: what the Report step reads in a run with candidates.
 */

export const ARN = 'arn:aws:bedrock:us-east-1:123456789012';

export interface EvaluatedOptions {
  readonly method?: string;
  readonly promptVersion?: string;
  readonly agreement: number;
  readonly judge: number;
  readonly histogram: readonly number[];
  /** USD per 1,000 queries (the report shows × 1000 per 1M). */
  readonly costPer1k: number;
  readonly p50: number;
  readonly tokens?: { readonly input: number; readonly output: number };
  readonly queries?: number;
}

const GATE_THRESHOLDS = {
  minJudgeScore: 4,
  maxJudgeGapToBaseline: 0.25,
  minDominantAgreement: 0.85,
  minValidReplyRate: 0.98,
};

export function evaluatedCandidate(name: string, o: EvaluatedOptions): EvaluatedCandidate {
  const queries = o.queries ?? 500;
  const metrics: ModelMetrics = {
    modelId: `${ARN}:custom-model-deployment/${name}`,
    queries,
    validReplies: queries,
    validReplyRate: 1,
    dominantAgreement: o.agreement,
    meanAbsoluteError: { visual: 0.03, audio: 0.02, transcription: 0.02, metadata: 0.01 },
    meanAbsoluteErrorOverall: 0.02,
    latencyMs: { p50: o.p50, p95: o.p50 * 1.6, mean: o.p50 * 1.1 },
    meanInputTokens: o.tokens?.input ?? 14,
    meanOutputTokens: o.tokens?.output ?? 7,
    costPer1kQueriesUsd: o.costPer1k,
  };
  const judge: JudgeScore = {
    mean: o.judge,
    scored: queries,
    unscored: 0,
    reportedScale: 'normalised',
    histogram: [...o.histogram],
  };
  return {
    candidate: {
      name,
      method: o.method ?? 'fine-tuning',
      baseModelId: 'amazon.nova-micro-v1:0:128k',
      promptVersion: o.promptVersion ?? 'student-v3',
    },
    training: {
      jobArn: `${ARN}:model-customization-job/amazon.nova-micro-v1:0:128k/${name}job`,
      outputModelArn: `${ARN}:custom-model/amazon.nova-micro-v1:0:128k/${name}model`,
    },
    deployment: { deploymentArn: metrics.modelId },
    evaluation: { student: metrics },
    evaluationStatus: { judge: { student: judge } },
    gate: evaluateGate(
      {
        studentJudgeScore: o.judge,
        baselineJudgeScore: 4,
        studentDominantAgreement: o.agreement,
        studentValidReplyRate: 1,
      },
      GATE_THRESHOLDS,
    ),
  };
}

export function droppedCandidate(name: string, failure: DroppedCandidate['failure']): DroppedCandidate {
  return {
    candidate: { name, method: 'fine-tuning', baseModelId: 'amazon.nova-lite-v1:0:300k', promptVersion: 'student-v3' },
    failure,
  };
}

/** Select candidate's result over `outcomes`, ranked by selection.ts at 95 % confidence. */
export function selectionOf(outcomes: readonly CandidateOutcome[]): CandidateSelection {
  const evaluated = outcomes.filter((o): o is EvaluatedCandidate => !('failure' in o));
  const selection = selectCandidate(
    evaluated.map((o) => figuresOf(o, outcomes.indexOf(o))),
    0.95,
  );
  const chosen = evaluated.find((o) => o.candidate.name === selection.ranking[0]?.name);
  if (!chosen) throw new Error('the fixture needs an evaluated candidate');
  return { ...selection, promote: selection.winner !== undefined, chosen };
}

/** Two evaluated candidates within sampling error of each other (cost decides) and one dropped at training. */
export const FT = evaluatedCandidate('ft-micro', {
  agreement: 0.92,
  judge: 4.2,
  histogram: [0, 10, 40, 210, 240],
  costPer1k: 0.00148,
  p50: 310,
});
export const DISTILL = evaluatedCandidate('distill-micro', {
  method: 'distillation',
  promptVersion: 'student-v2',
  agreement: 0.91,
  judge: 4.15,
  histogram: [0, 12, 45, 215, 228],
  costPer1k: 0.0026,
  p50: 330,
  tokens: { input: 52, output: 8 },
});
export const LITE = droppedCandidate('lite-ft', {
  step: 'Check training',
  error: 'TrainingJobFailed',
  cause: 'the customization job failed: Insufficient capacity <retry later>',
});
export const OUTCOMES: readonly CandidateOutcome[] = [FT, DISTILL, LITE];
