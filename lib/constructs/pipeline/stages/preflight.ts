import { Duration, Stack } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { parseModelId } from '../../../../lambda/core/model-ids';
import { PREFLIGHT_ENVIRONMENT } from '../../../../lambda/pipeline/preflight/environment';
import { activeModelParameterName } from '../../../naming';
import type { Function } from '../../function';
import { allow, allowParameter, allowRunFiles } from '../bedrock-roles';
import { invokeStep, PipelineStage, type StageProps } from '../steps';

/** State names (stable: tests, local-run overrides and dashboards refer to them). */
export const PREFLIGHT_STATES = { preflight: 'Preflight' } as const;

export type PreflightConfig =
  | 'envName'
  | 'teacherModelId'
  | 'studentModelId'
  | 'baselineModelId'
  | 'judgeModelId'
  | 'exampleCount'
  | 'testExampleCount'
  | 'queriesPerShard'
  | 'generationSurplus'
  | 'candidates';

/**
 * The run's first stage: one step that stops a run before it spends anything (lambda/pipeline/preflight/preflight.ts).
 *
 *   Preflight
 *
 * Reads the execution's name (the run id), id, start time and input (`$`: `exampleCount`, `testExampleCount`,
 * `fromProduction`, `reuseDatasetFromRun`, `reuseModelArn`, `candidates` overrides). Writes `$.preflight`
 * (PreflightResult: the checked counts and models, `fromProduction`, the incumbent, the run's owner record, the run's
 * `candidates` (RunCandidate[]) and the `promptVersions` they train with).
 *
 * Errors: PreflightFailed (a model not ACTIVE, a region without on-demand deployment or that cannot train a candidate,
 * counts out of bounds, an unknown candidate name, a run id already used) and ConfigurationError go to the
 * notify-and-fail path; Lambda and Bedrock transient errors are retried.
 */
export class PreflightStage extends PipelineStage {
  readonly startState: sfn.State;
  readonly endStates: sfn.INextable[];
  readonly functions: { readonly preflight: Function };

  constructor(scope: Construct, id: string, props: StageProps<PreflightConfig>) {
    super(scope, id);
    const { config, dataset } = props;
    const parameterName = activeModelParameterName(config.envName);
    const preflight = props.functions.add(
      'Preflight',
      'preflight/preflight',
      "Checks models, region, counts and the run's candidates, and claims the run id, before a run spends anything",
      PREFLIGHT_ENVIRONMENT.values({
        bucketName: dataset.bucket.bucketName,
        teacherModelId: config.teacherModelId,
        studentModelId: config.studentModelId,
        baselineModelId: config.baselineModelId,
        judgeModelId: config.judgeModelId,
        queriesPerShard: config.queriesPerShard,
        generationSurplus: config.generationSurplus,
        activeModelParameterName: parameterName,
        exampleCount: config.exampleCount,
        testExampleCount: config.testExampleCount,
        candidates: config.candidates,
      }),
      { memorySize: 256, timeout: Duration.seconds(30) },
    );
    allowParameter(preflight, parameterName, false);
    // Every model the run uses (the candidates' base models too); the config ids may be inference profiles or
    // variants: their foundation models.
    const checkedModels = new Set(
      [
        config.teacherModelId,
        config.studentModelId,
        config.baselineModelId,
        config.judgeModelId,
        ...config.candidates.map((c) => c.baseModelId),
      ].map((m) => parseModelId(m).foundationModelId),
    );
    allow(preflight, preflight.function, {
      actions: ['bedrock:GetFoundationModel'],
      resources: [...checkedModels].map((foundationModelId) =>
        Stack.of(this).formatArn({
          service: 'bedrock',
          account: '',
          resource: 'foundation-model',
          resourceName: foundationModelId,
        }),
      ),
    });
    // The run's owner record: written once by the run's first execution, read when a retry or a later one finds it.
    allowRunFiles(preflight, dataset, ['s3:GetObject', 's3:PutObject'], ['runs/*/owner.json']);
    this.functions = { preflight };

    const step = invokeStep(this, PREFLIGHT_STATES.preflight, {
      fn: preflight.function,
      resultKey: 'preflight',
      // The execution input may override the run's example counts (`npm run pipeline -- start --examples N`).
      // The execution id and start time identify the run's owner (runs/<runId>/owner.json).
      payload: sfn.TaskInput.fromObject({
        runId: sfn.JsonPath.executionName,
        executionId: sfn.JsonPath.executionId,
        startTime: sfn.JsonPath.executionStartTime,
        input: sfn.JsonPath.objectAt('$'),
      }),
      failure: props.failure,
    });
    this.startState = step;
    this.endStates = [step];
  }
}
