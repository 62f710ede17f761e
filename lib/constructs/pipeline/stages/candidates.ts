import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import {
  DELETE_RUNNERS_UP_ENVIRONMENT,
  SELECT_CANDIDATE_ENVIRONMENT,
} from '../../../../lambda/pipeline/selection/environment';
import type { Function } from '../../function';
import { allow, bedrockArn } from '../bedrock-roles';
import { invokeStep, PipelineStage, type FailurePath, type StageProps } from '../steps';
import { RUNTIME_IDS } from './training';

/** State names (stable: tests, local-run overrides and dashboards refer to them). */
export const CANDIDATES_STATES = {
  candidates: 'Candidates',
  outcome: 'Candidate outcome',
  selectCandidate: 'Select candidate',
  deleteRunnersUp: 'Delete runners-up',
  gateChoice: 'Gate passed?',
  skipPromotion: 'Skip promotion',
  noCandidateLeft: 'No candidate left',
} as const;
const S = CANDIDATES_STATES;

export interface CandidatesStageProps extends StageProps<'envName' | 'gateConfidence' | 'candidateConcurrency'> {
  /** The run's notify-and-fail path (the map and the selection; a candidate's own steps drop the candidate instead). */
  readonly failure: FailurePath;
  /** Where the winner goes: the rollout. */
  readonly promote: sfn.IChainable;
}

/**
 * The candidates side by side (issue 20): each trained, deployed, evaluated on the same held-out set(s) and gated in
 * its own iteration of a Map, a few at a time; then the best passing one is selected.
 *
 *   Candidates (Map over `$.preflight.candidates`: Training ─► Deployment ─► Evaluation ─► Gate ─► Candidate outcome)
 *     ─► Select candidate ─► Delete runners-up ─► Gate passed? ─► promote (the rollout)
 *                                                      ├─ (no candidate passed) ─► Skip promotion ─► (end: the report)
 *                                                      └─ (every candidate dropped) ─► No candidate left ─► notify, fail
 *
 * Each iteration reads `$.candidate` (CandidateSpec, with `reuseModelArn` for a given model), `$.assemble` and
 * `$.preflight`, and ends with `{candidate, training, deployment, evaluation, evaluationStatus, gate}`, or — when one
 * of its steps failed (CandidateFailurePath) — `{candidate, failure, deployment?}`: a failed candidate is dropped, not
 * the run. Writes `$.candidates` (the outcomes, in the configured order), `$.selection` (SelectCandidateResult: winner,
 * ranking with the reason of each place, the chosen outcome the rollout and report read at `$.selection.chosen`,
 * dropped candidates), `$.runnersUp` (the deployments deleted) and, when nothing is promoted, `$.promotion`.
 *
 * Errors: NoCandidateLeft (every candidate failed before its gate; the deployments they left are deleted first) and
 * the map's and steps' own errors go to the notify-and-fail path with their cause.
 */
export class CandidatesStage extends PipelineStage {
  readonly startState: sfn.State;
  readonly endStates: sfn.INextable[];
  readonly functions: { readonly selectCandidate: Function; readonly deleteRunnersUp: Function };
  /** The last state of an iteration that reached its gate: what the iteration returns. */
  readonly outcome: sfn.Pass;
  private readonly map: sfn.Map;

  constructor(scope: Construct, id: string, props: CandidatesStageProps) {
    super(scope, id);
    const { config, failure } = props;
    const select = props.functions.add(
      'SelectCandidate',
      'selection/select-candidate',
      'Ranks the evaluated candidates and names the one to roll out',
      SELECT_CANDIDATE_ENVIRONMENT.values({ gateConfidence: config.gateConfidence }),
    );
    const deleteRunnersUp = props.functions.add(
      'DeleteRunnersUp',
      'selection/delete-runners-up',
      'Deletes the deployments of the candidates not chosen (their models are kept)',
      DELETE_RUNNERS_UP_ENVIRONMENT.values({ envName: config.envName }),
    );
    allow(deleteRunnersUp, deleteRunnersUp.function, {
      actions: ['bedrock:DeleteCustomModelDeployment', 'bedrock:ListTagsForResource'],
      resources: [bedrockArn(this, 'custom-model-deployment', '*')],
      wildcardReason:
        `${RUNTIME_IDS} The function deletes only deployments named in its input whose tags say this environment ` +
        'created them.',
    });
    this.functions = { selectCandidate: select, deleteRunnersUp };

    this.outcome = new sfn.Pass(this, S.outcome, {
      parameters: {
        'candidate.$': '$.candidate',
        'training.$': '$.trainingStatus',
        'deployment.$': '$.deployment',
        'evaluation.$': '$.evaluation',
        'evaluationStatus.$': '$.evaluationStatus',
        'gate.$': '$.gate',
      },
    });
    this.map = new sfn.Map(this, S.candidates, {
      itemsPath: '$.preflight.candidates',
      itemSelector: {
        'candidate.$': '$$.Map.Item.Value',
        'assemble.$': '$.assemble',
        'preflight.$': '$.preflight',
      },
      maxConcurrency: config.candidateConcurrency,
      resultPath: '$.candidates',
    });
    failure.catchInto(this.map, S.candidates);

    const selectStep = invokeStep(this, S.selectCandidate, {
      fn: select.function,
      resultKey: 'selection',
      payload: sfn.TaskInput.fromObject({ candidates: sfn.JsonPath.objectAt('$.candidates') }),
      failure,
      retryBedrock: false,
    });
    const deleteStep = invokeStep(this, S.deleteRunnersUp, {
      fn: deleteRunnersUp.function,
      resultKey: 'runnersUp',
      payload: sfn.TaskInput.fromObject({
        deploymentArns: sfn.JsonPath.listAt('$.selection.runnersUpDeployments'),
      }),
      failure,
    });
    const skipPromotion = new sfn.Pass(this, S.skipPromotion, {
      parameters: { promoted: false, 'reason.$': '$.selection.reason' },
      resultPath: '$.promotion',
    });
    // Every candidate dropped: their deployments are deleted first, then the run fails with each one's cause.
    const noCandidateLeft = failure.failWith(
      S.noCandidateLeft,
      S.selectCandidate,
      'NoCandidateLeft',
      '$.selection.reason',
    );
    this.map
      .next(selectStep)
      .next(deleteStep)
      .next(
        new sfn.Choice(this, S.gateChoice)
          .when(sfn.Condition.booleanEquals('$.selection.noCandidateLeft', true), noCandidateLeft)
          .when(sfn.Condition.booleanEquals('$.selection.promote', true), props.promote)
          .otherwise(skipPromotion),
      );
    this.startState = this.map;
    this.endStates = [skipPromotion];
  }

  /** What each iteration runs: the candidate's stages, from training to its gate (which ends at `outcome`). */
  processEach(first: sfn.IChainable): void {
    this.map.itemProcessor(first);
  }
}
