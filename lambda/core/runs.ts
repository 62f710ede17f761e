/**
 * One run = one Step Functions execution; its name is the run id and every object the run writes lives under
 * `runs/<runId>/`, so no run can overwrite another's data. The run id also names the Bedrock jobs, so it is kept
 * within what their name patterns accept (lowercase letters, digits, single dashes; at most 40 characters).
 */
import { CANDIDATE_NAME_PATTERN } from './candidates';

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
 * The folders (and file stems) a run keeps directly under `runs/<runId>/` besides its candidates' own folders
 * (`runs/<runId>/<candidate>/…`): a candidate may not take one of these names, or its keys would mix with the run's.
 * Config refuses them at synth; runKeys refuses them at run time.
 */
export const RESERVED_RUN_FOLDERS = [
  'dataset',
  'shards',
  'production',
  'evaluation',
  'distillation',
  'training',
  'report',
  'owner',
  'calibration',
  'candidates',
  'selection',
] as const;

/** A prompt version as it appears in a key (`dataset/train-<promptVersion>.jsonl`): letters, digits, dots, dashes. */
const PROMPT_VERSION_IN_KEY = /^[a-z0-9](?:[a-z0-9.-]{0,38}[a-z0-9])?$/;

export function assertCandidateName(candidate: string): string {
  if (!CANDIDATE_NAME_PATTERN.test(candidate)) {
    throw new Error(
      `candidate name "${candidate}" is invalid: use 1-16 lowercase letters, digits and single dashes, starting ` +
        'with a letter (it names the Bedrock jobs, models, deployments and S3 folder), e.g. "ft-micro".',
    );
  }
  if ((RESERVED_RUN_FOLDERS as readonly string[]).includes(candidate)) {
    throw new Error(
      `candidate name "${candidate}" is reserved (runs/<runId>/${candidate}/ holds the run's own files): choose ` +
        `another name; reserved: ${RESERVED_RUN_FOLDERS.join(', ')}.`,
    );
  }
  return candidate;
}

/** The files of one evaluation under `evaluationPrefix` (a candidate's, or a run's from before candidates). */
const evaluationKeysUnder = (evaluationPrefix: string) => ({
  metrics: `${evaluationPrefix}metrics.json`,
  answers: (model: string) => `${evaluationPrefix}answers/${model}.jsonl`,
  productionAnswers: (model: string) => `${evaluationPrefix}answers/production/${model}.jsonl`,
  dataset: (model: string) => `${evaluationPrefix}datasets/${model}.jsonl`,
  outputPrefix: `${evaluationPrefix}output/`,
});

/** What one candidate of a run writes: `runs/<runId>/<candidate>/…` (its job output, its evaluation). */
const candidateKeys = (runPrefix: string, candidate: string) => {
  const prefix = `${runPrefix}${assertCandidateName(candidate)}/`;
  const evaluationPrefix = `${prefix}evaluation/`;
  return {
    prefix,
    /** The customization job's output (metrics, manifests). */
    trainingOutputPrefix: `${prefix}training/`,
    evaluationPrefix,
    evaluation: evaluationKeysUnder(evaluationPrefix),
  };
};
export type CandidateKeys = ReturnType<typeof candidateKeys>;

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
    /**
     * The training file of one prompt version: the same queries and labels as every other version's, only the system
     * prompt differs (one file per prompt version the run's candidates train with).
     */
    trainFor: (promptVersion: string) => {
      if (!PROMPT_VERSION_IN_KEY.test(promptVersion)) {
        throw new Error(
          `prompt version "${promptVersion}" cannot name a training file: use lowercase letters, digits, dots and ` +
            'dashes (e.g. "student-v3").',
        );
      }
      return `${datasetPrefix}train-${promptVersion}.jsonl`;
    },
    test: `${datasetPrefix}test.jsonl`,
    /** Production's own held-out slice, when the run learns from production. */
    productionTest: `${datasetPrefix}test-production.jsonl`,
    manifest: `${datasetPrefix}manifest.json`,
    distillationPrefix: `${prefix}distillation/`,
    evaluationPrefix,
    evaluation: {
      ...evaluationKeysUnder(evaluationPrefix),
      /**
       * A reference model's answers (the baseline's, the incumbent's) to all held-out queries, in order: written once
       * by the first candidate's Evaluate and read by every other, so all candidates compare against the same answers.
       */
      reference: (model: string) => `${evaluationPrefix}reference/${model}.json`,
    },
    reportJson: `${prefix}report.json`,
    reportMarkdown: `${prefix}report.md`,
    reportHtml: `${prefix}report.html`,
    /** A candidate's own keys; its name is checked (pattern, not a reserved folder). */
    candidate: (name: string) => candidateKeys(prefix, name),
  };
};
