import { z } from 'zod';
import { evaluateGate, type GateResult } from '../shared/gate';
import { logger, numberEnv, parseInput } from './training-common';

const judgeScore = z.object({ mean: z.number() });
export const gateInput = z.object({
  student: z.object({ dominantAgreement: z.number(), validReplyRate: z.number() }),
  judge: z.object({ student: judgeScore, baseline: judgeScore }),
});

/** Applies the configured thresholds (set by the construct from config) to the student's figures. */
export async function gate(event: unknown): Promise<GateResult> {
  const { student, judge } = parseInput(gateInput, event, 'Gate');
  const result = evaluateGate(
    {
      studentJudgeScore: judge.student.mean,
      baselineJudgeScore: judge.baseline.mean,
      studentDominantAgreement: student.dominantAgreement,
      studentValidReplyRate: student.validReplyRate,
    },
    {
      minJudgeScore: numberEnv('MIN_JUDGE_SCORE'),
      maxJudgeGapToBaseline: numberEnv('MAX_JUDGE_GAP_TO_BASELINE'),
      minDominantAgreement: numberEnv('MIN_DOMINANT_AGREEMENT'),
      minValidReplyRate: numberEnv('MIN_VALID_REPLY_RATE'),
    },
  );
  logger.info('gate', { passed: result.passed, summary: result.summary });
  return result;
}

export const handler = gate;
