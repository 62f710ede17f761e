import { z } from 'zod';
import { evaluateGate, type GateResult } from '../shared/gate';
import { envTypes, logger, parseInput, readEnvironment } from './common';

const judgeScore = z.object({ mean: z.number() });
const environment = () =>
  readEnvironment({
    MIN_JUDGE_SCORE: envTypes.number(),
    MAX_JUDGE_GAP_TO_BASELINE: envTypes.number(),
    MIN_DOMINANT_AGREEMENT: envTypes.number(),
    MIN_VALID_REPLY_RATE: envTypes.number(),
  });

export const gateInput = z.object({
  student: z.object({ dominantAgreement: z.number(), validReplyRate: z.number() }),
  judge: z.object({ student: judgeScore, baseline: judgeScore }),
});

/** Applies the configured thresholds (set by the construct from config) to the student's figures. */
export async function gate(event: unknown): Promise<GateResult> {
  const env = environment();
  const { student, judge } = parseInput(gateInput, event, 'Gate');
  const result = evaluateGate(
    {
      studentJudgeScore: judge.student.mean,
      baselineJudgeScore: judge.baseline.mean,
      studentDominantAgreement: student.dominantAgreement,
      studentValidReplyRate: student.validReplyRate,
    },
    {
      minJudgeScore: env.MIN_JUDGE_SCORE,
      maxJudgeGapToBaseline: env.MAX_JUDGE_GAP_TO_BASELINE,
      minDominantAgreement: env.MIN_DOMINANT_AGREEMENT,
      minValidReplyRate: env.MIN_VALID_REPLY_RATE,
    },
  );
  logger.info('gate', { passed: result.passed, summary: result.summary });
  return result;
}

export const handler = gate;
