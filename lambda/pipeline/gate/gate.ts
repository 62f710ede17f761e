import * as z from 'zod';
import type { JudgeScore } from '../evaluation/evaluation';
import { evaluateGate, type ComparedModel, type GateResult } from './gate-rules';
import type { SetMetrics } from '../evaluation/result';
import { lambdaHandler, logger, parseInput, passthrough } from '../../core/runtime';
import { GATE_ENVIRONMENT } from './environment';

const judgeScore = z.object({ mean: z.number() });
const count = z.number().int().min(0);
const pairedOutcomes = z.object({
  queries: count,
  candidateOnly: count,
  otherOnly: count,
  errorDrops: z.array(z.number()),
});
const pairedJudgeScores = z.object({
  queries: count,
  unpaired: z.object({ candidate: count, other: count }),
  drops: z.array(z.object({ drop: z.number(), count })),
});
const metrics = z.object({
  modelId: z.string(),
  queries: z.number().int(),
  dominantAgreement: z.number(),
  validReplyRate: z.number(),
  meanAbsoluteErrorOverall: z.number().nullable(),
  latencyMs: z.object({ mean: z.number() }),
});

/**
 * `$.evaluation` (every model's metrics), `$.evaluationStatus.judge` (their judge scores), `$.evaluationStatus` (for
 * its `judgePaired`: absent in evaluations before per-prompt pairing) and `$.preflight.incumbent` (who was promoted
 * when the run started, or why nobody is compared).
 */
export const gateInput = z.object({
  evaluation: z.object({
    student: metrics,
    baseline: metrics,
    incumbent: metrics.optional(),
    sets: z.record(z.string(), passthrough<SetMetrics>()).optional(),
    paired: z.object({ incumbent: pairedOutcomes.optional() }).optional(),
  }),
  judge: z.object({ student: judgeScore, baseline: judgeScore, incumbent: judgeScore.optional() }),
  evaluationStatus: z
    .object({
      judgePaired: z.object({ incumbent: pairedJudgeScores.optional(), note: z.string().optional() }).optional(),
    })
    .optional(),
  incumbent: z
    .discriminatedUnion('present', [
      z.object({ present: z.literal(true), runId: z.string(), deploymentArn: z.string() }),
      z.object({ present: z.literal(false), reason: z.string() }),
    ])
    .optional(),
});

type Metrics = z.output<typeof metrics>;

/**
 * Applies the configured thresholds (set by the construct from config) to the candidate's figures, against the
 * baseline and, when a student was already promoted, against that incumbent on the same held-out sets.
 */
export async function gate(event: unknown): Promise<GateResult> {
  const env = GATE_ENVIRONMENT.read(process.env);
  const { evaluation, judge, incumbent, evaluationStatus } = parseInput(gateInput, event, 'Gate');
  const judgePaired = evaluationStatus?.judgePaired;
  const incumbentFigures =
    evaluation.incumbent && judge.incumbent
      ? {
          judgeScore: judge.incumbent.mean,
          dominantAgreement: evaluation.incumbent.dominantAgreement,
          meanAbsoluteError: evaluation.incumbent.meanAbsoluteErrorOverall,
          ...(evaluation.paired?.incumbent ? { paired: evaluation.paired.incumbent } : {}),
          ...(judgePaired?.incumbent ? { judgePaired: judgePaired.incumbent } : {}),
          ...(judgePaired?.note && !judgePaired.incumbent ? { judgeNote: judgePaired.note } : {}),
        }
      : undefined;
  if (incumbent?.present && !incumbentFigures) {
    // Evaluate answers and judges the incumbent whenever Preflight found one: its absence is a broken contract.
    throw new Error(
      `the incumbent (run ${incumbent.runId}) has no ${evaluation.incumbent ? 'judge score' : 'metrics'}: ` +
        'the Evaluate and Check evaluation steps must run with $.preflight.incumbent',
    );
  }
  const result = evaluateGate(
    {
      studentJudgeScore: judge.student.mean,
      baselineJudgeScore: judge.baseline.mean,
      studentDominantAgreement: evaluation.student.dominantAgreement,
      studentValidReplyRate: evaluation.student.validReplyRate,
      studentMeanAbsoluteError: evaluation.student.meanAbsoluteErrorOverall,
      ...(incumbentFigures ? { incumbent: incumbentFigures } : {}),
    },
    {
      minJudgeScore: env.minJudgeScore,
      maxJudgeGapToBaseline: env.maxJudgeGapToBaseline,
      minDominantAgreement: env.minDominantAgreement,
      minValidReplyRate: env.minValidReplyRate,
      maxJudgeDropToIncumbent: env.maxJudgeDropToIncumbent,
      maxAgreementDropToIncumbent: env.maxAgreementDropToIncumbent,
      maxWeightErrorRiseToIncumbent: env.maxWeightErrorRiseToIncumbent,
      gateConfidence: env.gateConfidence,
      inconclusiveGate: env.inconclusiveGate,
    },
  );
  const sets = evaluation.sets ?? {};
  const bySet = (role: 'student' | 'baseline' | 'incumbent') => {
    const synthetic = sets['synthetic']?.[role];
    const production = sets['production']?.[role];
    return production
      ? {
          agreementBySet: {
            ...(synthetic ? { synthetic: synthetic.dominantAgreement } : {}),
            production: production.dominantAgreement,
          },
        }
      : {};
  };
  const compared = (role: ComparedModel['role'], m: Metrics, score: JudgeScore | { mean: number }, runId?: string) => ({
    role,
    modelId: m.modelId,
    ...(runId ? { runId } : {}),
    judgeScore: score.mean,
    dominantAgreement: m.dominantAgreement,
    validReplyRate: m.validReplyRate,
    meanAbsoluteError: m.meanAbsoluteErrorOverall,
    latencyMeanMs: m.latencyMs.mean,
    ...bySet(role === 'candidate' ? 'student' : role),
  });
  const models: ComparedModel[] = [
    compared('candidate', evaluation.student, judge.student),
    ...(evaluation.incumbent && judge.incumbent && incumbent?.present
      ? [compared('incumbent', evaluation.incumbent, judge.incumbent, incumbent.runId)]
      : []),
    compared('baseline', evaluation.baseline, judge.baseline),
  ];
  const withComparison: GateResult = {
    ...result,
    comparison: {
      models,
      ...(incumbent && !incumbent.present ? { incumbentNote: incumbent.reason } : {}),
      heldOut: {
        synthetic: sets['synthetic']?.queries ?? evaluation.student.queries,
        production: sets['production']?.queries ?? 0,
      },
    },
  };
  logger.info('gate', {
    passed: result.passed,
    verdict: result.verdict,
    statistics: result.statistics,
    summary: result.summary,
    comparison: withComparison.comparison,
  });
  return withComparison;
}

export const handler = /* @__PURE__ */ lambdaHandler(gate);
