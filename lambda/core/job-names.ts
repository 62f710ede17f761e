import { createHash } from 'node:crypto';
import { assertRunId } from './runs';

/**
 * Names and idempotency tokens of everything a run creates in Bedrock, derived from the environment and the run id
 * only: a retried or redriven step computes the same name and token, so it finds the job it started instead of
 * starting a second one. The environment is part of every name because names are unique per account and Region,
 * and two environments may share an account and a run id.
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
 * a head still differ. Every character used is a lowercase letter, a digit or a single dash, which all patterns accept.
 */
export function boundedName(name: string, maxLength: number): string {
  if (name.length <= maxLength) return name;
  const head = name.slice(0, maxLength - HASH_LENGTH - 1).replace(/-+$/, '');
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

/** Every name and token of one run in one environment. */
export function trainingNames(envName: string, runId: string): TrainingNames {
  const base = `ir-${slug(envName, 'envName')}-${assertRunId(runId)}`;
  const name = (kind: NameKind, suffix: string) =>
    checked(kind, boundedName(`${base}-${suffix}`, NAME_RULES[kind].maxLength));
  const perModel = (kind: NameKind, prefix: string) =>
    Object.fromEntries(EVALUATED_MODELS.map((m) => [m, name(kind, `${prefix}-${m}`)])) as Record<
      EvaluatedModel,
      string
    >;
  return {
    customizationJobName: name('customizationJobName', 'distillation'),
    customModelName: name('customModelName', 'student'),
    customizationToken: name('clientRequestToken', 'distillation'),
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
export function incumbentEvaluationNames(envName: string, runId: string): { jobName: string; token: string } {
  const base = `ir-${slug(envName, 'envName')}-${assertRunId(runId)}-eval-incumbent`;
  return {
    jobName: checked('evaluationJobName', boundedName(base, NAME_RULES.evaluationJobName.maxLength)),
    token: checked('clientRequestToken', boundedName(base, NAME_RULES.clientRequestToken.maxLength)),
  };
}

/** Tags on every Bedrock resource a run creates: the clean-up command finds the project's deployments by them. */
export const TAG_KEYS = { project: 'Project', environment: 'Environment', runId: 'RunId' } as const;

/** Same value as lib/naming.ts PROJECT (the stacks' Project tag); a test keeps the two equal. */
export const PROJECT_TAG_VALUE = 'distilled-intent-router';

export const resourceTags = (envName: string, runId: string) => [
  { key: TAG_KEYS.project, value: PROJECT_TAG_VALUE },
  { key: TAG_KEYS.environment, value: envName },
  { key: TAG_KEYS.runId, value: runId },
];

/** Whether a resource's tags say this project created it for `envName` (what deploy and clean-up may touch). */
export const taggedForEnvironment = (tags: readonly { key?: string; value?: string }[], envName: string): boolean => {
  const tag = (key: string) => tags.find((t) => t.key === key)?.value;
  return tag(TAG_KEYS.project) === PROJECT_TAG_VALUE && tag(TAG_KEYS.environment) === envName;
};
