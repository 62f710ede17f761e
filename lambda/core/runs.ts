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

export const runKeys = (runId: string) => {
  const prefix = `runs/${assertRunId(runId)}/`;
  return {
    prefix,
    shardsPrefix: `${prefix}shards/`,
    shardPlan: `${prefix}shards/plan.json`,
    shard: (index: number) => `${prefix}shards/shard-${String(index).padStart(5, '0')}.jsonl`,
    datasetPrefix: `${prefix}dataset/`,
    train: `${prefix}dataset/train.jsonl`,
    test: `${prefix}dataset/test.jsonl`,
    manifest: `${prefix}dataset/manifest.json`,
    distillationPrefix: `${prefix}distillation/`,
    evaluationPrefix: `${prefix}evaluation/`,
    reportJson: `${prefix}report.json`,
    reportMarkdown: `${prefix}report.md`,
  };
};
export type RunKeys = ReturnType<typeof runKeys>;
