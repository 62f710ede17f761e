/**
 * One run = one Step Functions execution; its name is the run id and every object the run writes lives under
 * `runs/<runId>/`, so no run can overwrite another's data. The run id also names the Bedrock jobs, so it is kept
 * within what their name patterns accept (lowercase letters, digits, single dashes; at most 40 characters).
 */
export const RUN_ID_PATTERN = /^[a-z0-9](?:-?[a-z0-9]){0,39}$/;

export function assertRunId(runId: string): string {
  if (!RUN_ID_PATTERN.test(runId)) {
    throw new Error(
      `runId "${runId}" is invalid: use 1-40 lowercase letters, digits and single dashes (it names the execution, ` +
        'the S3 prefix and the Bedrock jobs), e.g. "run-2026-11-25".',
    );
  }
  return runId;
}

/**
 * Every key a run writes, built here and nowhere else: `runs/<runId>/…`. The stages' own helpers (calibrationKey,
 * productionTestKey, evaluationKeys, reportHtmlKey, runOwnerKey, …) read their key from here.
 */
export const runKeys = (runId: string) => {
  const prefix = `runs/${assertRunId(runId)}/`;
  const datasetPrefix = `${prefix}dataset/`;
  const evaluationPrefix = `${prefix}evaluation/`;
  return {
    prefix,
    /** Which execution the run id belongs to (written once by Preflight). */
    owner: `${prefix}owner.json`,
    /** The production records Plan selected (line 1 the summary). */
    productionSelection: `${prefix}production/selection.jsonl`,
    /** The labelling calibration (written once by Calibrate). */
    calibration: `${prefix}calibration.json`,
    shardsPrefix: `${prefix}shards/`,
    shardPlan: `${prefix}shards/plan.json`,
    shard: (index: number) => `${prefix}shards/shard-${String(index).padStart(5, '0')}.jsonl`,
    datasetPrefix,
    train: `${datasetPrefix}train.jsonl`,
    test: `${datasetPrefix}test.jsonl`,
    /** Production's own held-out slice, when the run learns from production. */
    productionTest: `${datasetPrefix}test-production.jsonl`,
    manifest: `${datasetPrefix}manifest.json`,
    distillationPrefix: `${prefix}distillation/`,
    evaluationPrefix,
    evaluation: {
      metrics: `${evaluationPrefix}metrics.json`,
      answers: (model: string) => `${evaluationPrefix}answers/${model}.jsonl`,
      productionAnswers: (model: string) => `${evaluationPrefix}answers/production/${model}.jsonl`,
      dataset: (model: string) => `${evaluationPrefix}datasets/${model}.jsonl`,
      outputPrefix: `${evaluationPrefix}output/`,
    },
    reportJson: `${prefix}report.json`,
    reportMarkdown: `${prefix}report.md`,
    reportHtml: `${prefix}report.html`,
  };
};
