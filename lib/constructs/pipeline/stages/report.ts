import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { REPORT_ENVIRONMENT } from '../../../../lambda/pipeline/report/environment';
import type { Function } from '../../function';
import { allow, allowDatasetKey, allowRunListing, allowRunObjects, RUN_PATTERNS } from '../bedrock-roles';
import { invokeStep, PipelineStage, type StageProps } from '../steps';

/** State names (stable: tests, local-run overrides and dashboards refer to them). */
export const REPORT_STATES = { report: 'Report' } as const;

export interface ReportStageProps extends StageProps<'judgeModelId'> {
  /** Where the report's summary is published (the notifications topic). */
  readonly topic: sns.ITopic;
}

/**
 * The run's last step, promoted or rejected: the run report (JSON, Markdown, HTML) and a notification.
 *
 *   Report (end)
 *
 * Reads `$.assemble`, the chosen candidate at `$.selection.chosen` (training, deployment, evaluation, judge scores,
 * gate), every candidate's outcome at `$.candidates` with the ranking at `$.selection`, `$.promotion` (written by the
 * rollout, or by Skip promotion), and the execution name. Writes `$.report` (outcome and
 * the report's keys).
 *
 * Errors: its own (a run file missing, SNS refusing) go to the notify-and-fail path after Lambda transient errors are
 * retried; a report already written is reused by a retry.
 */
export class ReportStage extends PipelineStage {
  readonly startState: sfn.State;
  readonly endStates: sfn.INextable[];
  readonly functions: { readonly report: Function };

  constructor(scope: Construct, id: string, props: ReportStageProps) {
    super(scope, id);
    const { config, dataset, topic } = props;
    const report = props.functions.add(
      'Report',
      'report/report',
      'Writes the run report and notifies',
      REPORT_ENVIRONMENT.values({ judgeModelId: config.judgeModelId, topicArn: topic.topicArn }),
    );
    allowRunObjects(
      report,
      dataset,
      ['s3:GetObject'],
      [
        'runs/*/dataset/manifest.json',
        'runs/*/dataset/test.jsonl',
        'runs/*/shards/plan.json',
        RUN_PATTERNS.evaluationAnswers,
        'runs/*/report.json',
      ],
      'Report reads the run’s manifest, plan, held-out set and answers for its charts, and its own report when a ' +
        'retry finds it written.',
    );
    allowRunObjects(
      report,
      dataset,
      ['s3:PutObject'],
      ['runs/*/report.json', 'runs/*/report.md', 'runs/*/report.html'],
      'Report writes the run report.',
    );
    allowRunListing(report, dataset);
    allowDatasetKey(report, dataset, 's3', ['kms:Decrypt', 'kms:GenerateDataKey']);
    allow(report, report.function, { actions: ['sns:Publish'], resources: [topic.topicArn] });
    if (topic.masterKey) {
      allow(report, report.function, {
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: [topic.masterKey.keyArn],
      });
    }
    this.functions = { report };

    const runId = sfn.JsonPath.executionName;
    const step = invokeStep(this, REPORT_STATES.report, {
      fn: report.function,
      resultKey: 'report',
      payload: sfn.TaskInput.fromObject({
        runId,
        bucket: sfn.JsonPath.stringAt('$.assemble.bucket'),
        assemble: sfn.JsonPath.objectAt('$.assemble'),
        // The chosen candidate (the winner, or the best evaluated one when none passed) in the single-student shape,
        // and every candidate's outcome with the selection's ranking beside it.
        distillation: sfn.JsonPath.objectAt('$.selection.chosen.training'),
        deployment: sfn.JsonPath.objectAt('$.selection.chosen.deployment'),
        evaluation: sfn.JsonPath.objectAt('$.selection.chosen.evaluation'),
        judge: sfn.JsonPath.objectAt('$.selection.chosen.evaluationStatus.judge'),
        gate: sfn.JsonPath.objectAt('$.selection.chosen.gate'),
        promotion: sfn.JsonPath.objectAt('$.promotion'),
        candidates: sfn.JsonPath.objectAt('$.candidates'),
        selection: sfn.JsonPath.objectAt('$.selection'),
      }),
      failure: props.failure,
    });
    this.startState = step;
    this.endStates = [step];
  }
}
