import { createHash } from 'node:crypto';
import { assertCandidateName, assertRunId } from './runs';

/**
 * Names and idempotency tokens of everything a run creates in Bedrock, derived from the environment, the run id and
 * the candidate only: a retried or redriven step computes the same name and token, so it finds the job it started
 * instead of starting a second one. The environment is part of every name because names are unique per account and
 * Region, and two environments may share an account and a run id. The candidate is joined with a separator that no
 * environment slug, run id or candidate name contains (`--`, or `_` where a name allows no double dash), so run
 * `run-1` candidate `a-b` and run `run-1-a` candidate `b` never meet.
 */

/** The documented name patterns (docs/aws-facts.md §2, §4, §5). */
export const NAME_RULES = {
  customizationJobName: { pattern: /^[a-zA-Z0-9](-*[a-zA-Z0-9+\-.])*$/, maxLength: 63 },
  customModelName: { pattern: /^([0-9a-zA-Z][_-]?){1,63}$/, maxLength: 63 },
  deploymentName: { pattern: /^([0-9a-zA-Z][_-]?){1,63}$/, maxLength: 63 },
  evaluationJobName: { pattern: /^[a-z0-9](-*[a-z0-9]){0,62}$/, maxLength: 63 },
  clientRequestToken: { pattern: /^[a-zA-Z0-9]([-a-zA-Z0-9]{0,254}[a-zA-Z0-9])?$/, maxLength: 256 },
} as const;
export type NameKind = keyof typeof NAME_RULES;

/** The two models compared by the evaluation. */
export const EVALUATED_MODELS = ['student', 'baseline'] as const;
export type EvaluatedModel = (typeof EVALUATED_MODELS)[number];

const HASH_LENGTH = 8;
const shortHash = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, HASH_LENGTH);

/**
 * `name` when it fits in `maxLength`; otherwise its head and a hash of the whole, so that two long names that share
 * a head still differ. The head loses any trailing separator so that it joins the hash with exactly one dash.
 */
export function boundedName(name: string, maxLength: number): string {
  if (name.length <= maxLength) return name;
  const head = name.slice(0, maxLength - HASH_LENGTH - 1).replace(/[-_]+$/, '');
  return `${head}-${shortHash(name)}`;
}

/** Lowercase letters, digits and single dashes, no dash at either end (what every Bedrock name pattern accepts). */
function slug(text: string, what: string): string {
  const s = text
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '');
  if (s === '') throw new Error(`${what} "${text}" leaves nothing usable in a Bedrock name: use letters and digits.`);
  return s;
}

function checked(kind: NameKind, value: string): string {
  const rule = NAME_RULES[kind];
  if (value.length > rule.maxLength || !rule.pattern.test(value)) {
    // Unreachable for valid env names and run ids; a loud failure beats a confusing ValidationException from Bedrock.
    throw new Error(`derived ${kind} "${value}" does not match ${rule.pattern} (max ${rule.maxLength} characters)`);
  }
  return value;
}

export interface TrainingNames {
  readonly customizationJobName: string;
  readonly customModelName: string;
  readonly customizationToken: string;
  readonly deploymentName: string;
  readonly deploymentToken: string;
  readonly evaluationJobName: Readonly<Record<EvaluatedModel, string>>;
  readonly evaluationToken: Readonly<Record<EvaluatedModel, string>>;
}

/** Kinds whose pattern refuses a double dash: the candidate is joined to them with `_` instead. */
const NO_DOUBLE_DASH: ReadonlySet<NameKind> = new Set(['customModelName', 'deploymentName']);

/**
 * Every name and token of one run in one environment; with `candidate`, of that candidate of the run (its job, model,
 * deployment and judge jobs). Without it, the names a run had before it had candidates (a single student).
 */
export function trainingNames(envName: string, runId: string, candidate?: string): TrainingNames {
  const run = `ir-${slug(envName, 'envName')}-${assertRunId(runId)}`;
  const base = (kind: NameKind) =>
    candidate === undefined ? run : `${run}${NO_DOUBLE_DASH.has(kind) ? '_' : '--'}${assertCandidateName(candidate)}`;
  // A candidate's job is named for training, whichever its method; a run without candidates keeps "distillation".
  const job = candidate === undefined ? 'distillation' : 'training';
  const name = (kind: NameKind, suffix: string) =>
    checked(kind, boundedName(`${base(kind)}-${suffix}`, NAME_RULES[kind].maxLength));
  const perModel = (kind: NameKind, prefix: string) =>
    Object.fromEntries(EVALUATED_MODELS.map((m) => [m, name(kind, `${prefix}-${m}`)])) as Record<
      EvaluatedModel,
      string
    >;
  return {
    customizationJobName: name('customizationJobName', job),
    customModelName: name('customModelName', 'student'),
    customizationToken: name('clientRequestToken', job),
    deploymentName: name('deploymentName', 'student'),
    deploymentToken: name('clientRequestToken', 'deployment'),
    evaluationJobName: perModel('evaluationJobName', 'eval'),
    evaluationToken: perModel('clientRequestToken', 'eval'),
  };
}

/**
 * The name and token of a run's third judge job, the incumbent's (the student promoted when the run started), derived
 * like the others so that a retried Evaluate finds the job it started.
 */
export function incumbentEvaluationNames(
  envName: string,
  runId: string,
  candidate?: string,
): { jobName: string; token: string } {
  // The run's incumbent job is shared by its candidates (no `candidate`); with one, a job of that candidate alone.
  const of = candidate === undefined ? '' : `--${assertCandidateName(candidate)}`;
  const base = `ir-${slug(envName, 'envName')}-${assertRunId(runId)}${of}-eval-incumbent`;
  return {
    jobName: checked('evaluationJobName', boundedName(base, NAME_RULES.evaluationJobName.maxLength)),
    token: checked('clientRequestToken', boundedName(base, NAME_RULES.clientRequestToken.maxLength)),
  };
}

/** Tags on every Bedrock resource a run creates: the clean-up command finds the project's deployments by them. */
export const TAG_KEYS = {
  project: 'Project',
  environment: 'Environment',
  runId: 'RunId',
  candidate: 'Candidate',
} as const;

/** Same value as lib/naming.ts PROJECT (the stacks' Project tag); a test keeps the two equal. */
export const PROJECT_TAG_VALUE = 'distilled-intent-router';

export const resourceTags = (envName: string, runId: string, candidate?: string) => [
  { key: TAG_KEYS.project, value: PROJECT_TAG_VALUE },
  { key: TAG_KEYS.environment, value: envName },
  { key: TAG_KEYS.runId, value: runId },
  ...(candidate === undefined ? [] : [{ key: TAG_KEYS.candidate, value: candidate }]),
];

/** The value of tag `key` among `tags` (Bedrock's `{key, value}` shape). */
export const tagValue = (tags: readonly { key?: string; value?: string }[], key: string): string | undefined =>
  tags.find((t) => t.key === key)?.value;

/** Whether a resource's tags say this project created it for `envName` (what deploy and clean-up may touch). */
export const taggedForEnvironment = (tags: readonly { key?: string; value?: string }[], envName: string): boolean => {
  return tagValue(tags, TAG_KEYS.project) === PROJECT_TAG_VALUE && tagValue(tags, TAG_KEYS.environment) === envName;
};
