import * as z from 'zod';
import { defineEnvironment, envTypes, variable } from '../../core/environment';

/** The Gate's thresholds (set by lib/constructs/pipeline/stages/gate.ts from the config of the same names). */
export const GATE_ENVIRONMENT = defineEnvironment({
  minJudgeScore: variable('MIN_JUDGE_SCORE', envTypes.number()),
  maxJudgeGapToBaseline: variable('MAX_JUDGE_GAP_TO_BASELINE', envTypes.number()),
  minDominantAgreement: variable('MIN_DOMINANT_AGREEMENT', envTypes.number()),
  minValidReplyRate: variable('MIN_VALID_REPLY_RATE', envTypes.number()),
  maxJudgeDropToIncumbent: variable('MAX_JUDGE_DROP_TO_INCUMBENT', envTypes.number()),
  maxAgreementDropToIncumbent: variable('MAX_AGREEMENT_DROP_TO_INCUMBENT', envTypes.number()),
  maxWeightErrorRiseToIncumbent: variable('MAX_WEIGHT_ERROR_RISE_TO_INCUMBENT', envTypes.number()),
  gateConfidence: variable('GATE_CONFIDENCE', envTypes.number(0.5, 1)),
  inconclusiveGate: variable('INCONCLUSIVE_GATE', z.enum(['keepIncumbent', 'promote'])),
});
