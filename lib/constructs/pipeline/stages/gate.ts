import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { GATE_ENVIRONMENT } from '../../../../lambda/pipeline/gate/environment';
import type { Function } from '../../function';
import { invokeStep, PipelineStage, type StageProps } from '../steps';

/** State names (stable: tests, local-run overrides and dashboards refer to them). */
export const GATE_STATES = {
  gate: 'Gate',
  gateChoice: 'Gate passed?',
  skipPromotion: 'Skip promotion',
} as const;
const S = GATE_STATES;

export interface GateStageProps extends StageProps<
  | 'minJudgeScore'
  | 'maxJudgeGapToBaseline'
  | 'minDominantAgreement'
  | 'minValidReplyRate'
  | 'maxJudgeDropToIncumbent'
  | 'maxAgreementDropToIncumbent'
  | 'gateConfidence'
  | 'inconclusiveGate'
> {
  /** Where a passed gate goes: the rollout stage. */
  readonly passed: sfn.IChainable;
}

/**
 * The quality thresholds, applied to the candidate against the baseline and the incumbent.
 *
 *   Gate ─► Gate passed? ─► passed
 *                └─ (rejected) ─► Skip promotion ─► (end: the report)
 *
 * Reads `$.evaluation` (with the per-query pairing of candidate and incumbent), `$.evaluationStatus.judge` and
 * `$.preflight.incumbent`. Writes `$.gate` (GateResult: passed, the verdict — passed, rejected or inconclusive —, each
 * threshold's check, the paired statistics against the incumbent, summary) and, when rejected, `$.promotion` (`{promoted: false, reason}`, the shape the
 * rollout stage writes), so the report reads one field either way.
 *
 * Errors: the Gate's own errors (ConfigurationError, an incumbent Preflight found but Evaluate did not measure) go to
 * the notify-and-fail path after Lambda transient errors are retried. A rejection is no error: the run reports it.
 */
export class GateStage extends PipelineStage {
  readonly startState: sfn.State;
  readonly endStates: sfn.INextable[];
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
        incumbent: sfn.JsonPath.objectAt('$.preflight.incumbent'),
      }),
      failure: props.failure,
    });
    const skipPromotion = new sfn.Pass(this, S.skipPromotion, {
      parameters: { promoted: false, 'reason.$': '$.gate.summary' },
      resultPath: '$.promotion',
    });
    gateStep.next(
      new sfn.Choice(this, S.gateChoice)
        .when(sfn.Condition.booleanEquals('$.gate.passed', true), props.passed)
        .otherwise(skipPromotion),
    );
    this.startState = gateStep;
    this.endStates = [skipPromotion];
  }
}
