import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { GATE_ENVIRONMENT } from '../../../../lambda/pipeline/gate/environment';
import type { Function } from '../../function';
import { invokeStep, PipelineStage, type StageProps } from '../steps';

/** State names (stable: tests, local-run overrides and dashboards refer to them). */
export const GATE_STATES = {
  gate: 'Gate',
} as const;
const S = GATE_STATES;

export interface GateStageProps extends StageProps<
  | 'minJudgeScore'
  | 'maxJudgeGapToBaseline'
  | 'minDominantAgreement'
  | 'minValidReplyRate'
  | 'maxJudgeDropToIncumbent'
  | 'maxAgreementDropToIncumbent'
  | 'maxWeightErrorRiseToIncumbent'
  | 'gateConfidence'
  | 'inconclusiveGate'
> {
  /** Where the gated candidate goes, passed or not: its outcome in the Candidates map (the selection decides). */
  readonly next: sfn.IChainable;
}

/**
 * The quality thresholds, applied to one candidate against the baseline and the incumbent (inside the Candidates map:
 * the selection then picks among the candidates that passed).
 *
 *   Gate ─► next
 *
 * Reads `$.evaluation` (with the per-query pairing of candidate and incumbent), `$.evaluationStatus` (the judge
 * scores, and the per-prompt judge scores of candidate and incumbent paired) and `$.preflight.incumbent`. Writes
 * `$.gate` (GateResult: passed, the verdict — passed, rejected or inconclusive —, each threshold's check, the paired
 * statistics against the incumbent, summary).
 *
 * Errors: the Gate's own errors (ConfigurationError, an incumbent Preflight found but Evaluate did not measure) go to
 * the failure route (the candidate is dropped) after Lambda transient errors are retried. A rejection is no error.
 */
export class GateStage extends PipelineStage {
  readonly startState: sfn.State;
  readonly endStates: sfn.INextable[] = [];
  readonly functions: { readonly gate: Function };

  constructor(scope: Construct, id: string, props: GateStageProps) {
    super(scope, id);
    const { config } = props;
    const gate = props.functions.add(
      'Gate',
      'gate/gate',
      'Applies the quality thresholds to the student, against baseline and incumbent',
      GATE_ENVIRONMENT.values({
        minJudgeScore: config.minJudgeScore,
        maxJudgeGapToBaseline: config.maxJudgeGapToBaseline,
        minDominantAgreement: config.minDominantAgreement,
        minValidReplyRate: config.minValidReplyRate,
        maxJudgeDropToIncumbent: config.maxJudgeDropToIncumbent,
        maxAgreementDropToIncumbent: config.maxAgreementDropToIncumbent,
        maxWeightErrorRiseToIncumbent: config.maxWeightErrorRiseToIncumbent,
        gateConfidence: config.gateConfidence,
        inconclusiveGate: config.inconclusiveGate,
      }),
    );
    this.functions = { gate };

    const gateStep = invokeStep(this, S.gate, {
      fn: gate.function,
      resultKey: 'gate',
      payload: sfn.TaskInput.fromObject({
        evaluation: sfn.JsonPath.objectAt('$.evaluation'),
        judge: sfn.JsonPath.objectAt('$.evaluationStatus.judge'),
        // Whole: its judgePaired is absent when the judge scores could not be paired per prompt.
        evaluationStatus: sfn.JsonPath.objectAt('$.evaluationStatus'),
        incumbent: sfn.JsonPath.objectAt('$.preflight.incumbent'),
      }),
      failure: props.failure,
    });
    gateStep.next(props.next);
    this.startState = gateStep;
  }
}
