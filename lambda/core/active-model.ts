import * as z from 'zod/mini';
import { isStudentPromptVersion, STUDENT_PROMPT_VERSIONS } from './student-format';

/**
 * The value of the active-model SSM parameter (`/intent-router/<envName>/active-model`): written by the pipeline's
 * promote step (and the rollback command), read by the router. The router stack creates it as "none" (nothing promoted).
 */
export const NOTHING_PROMOTED = 'none';

// zod/mini: the router bundles this module, and classic zod would add ~400 KiB to its cold start. The schema is a
// plain zod schema all the same (parse/safeParse, usable inside classic schemas). Mini has no default English
// messages, so each field says what it expects (readActiveModel reports it).
const text = () => z.string({ error: (issue) => (issue.input === undefined ? 'is missing' : 'must be a string') });

/**
 * A custom-model deployment ARN as Bedrock documents it (`customModelDeploymentArn`: "Pattern:
 * arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:custom-model-deployment/[a-z0-9]{12}", at most 1,011 characters),
 * https://docs.aws.amazon.com/bedrock/latest/APIReference/API_CustomModelDeploymentSummary.html; docs/aws-facts.md §4.
 * Anything else names no deployment Bedrock can have created, so the parameter must never hold it: every writer
 * (Promote through activeModelFrom, `rollback` through planRollback/readActiveModel) and the reader (the router) go
 * through activeModelSchema below.
 */
export const CUSTOM_MODEL_DEPLOYMENT_ARN =
  /^arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:custom-model-deployment\/[a-z0-9]{12}$/;
export const CUSTOM_MODEL_DEPLOYMENT_ARN_MAX_LENGTH = 1011;
const DEPLOYMENT_ARN_RULE =
  'must be a custom-model deployment ARN (arn:aws:bedrock:<region>:<12-digit account>:custom-model-deployment/<12 lower-case letters or digits>)';

/** A share of live traffic, (0, 1]. */
const share = () =>
  z.number('must be a number').check(z.gt(0, 'must be above 0 (0 means no canary)'), z.lte(1, 'must be at most 1'));

/**
 * The schema versions of the value: 1 (no `schemaVersion` field) names one model; 2 adds an optional `canary`, a
 * candidate that answers a share of live traffic. Version 2 only adds fields, so a router of version 1 (which ignores
 * unknown fields) keeps serving the incumbent during a canary; a value newer than the reader knows is refused by name.
 */
export const ACTIVE_MODEL_SCHEMA_VERSION = 2;

/** The candidate of a canary: who it is, and the share of live traffic (by query) it answers. */
export const canarySchema = z.object({
  deploymentArn: text().check(
    z.maxLength(CUSTOM_MODEL_DEPLOYMENT_ARN_MAX_LENGTH, DEPLOYMENT_ARN_RULE),
    z.regex(CUSTOM_MODEL_DEPLOYMENT_ARN, DEPLOYMENT_ARN_RULE),
  ),
  modelArn: text().check(z.startsWith('arn:', 'must be an ARN')),
  runId: text().check(z.minLength(1, 'must not be empty')),
  studentPromptVersion: text().check(z.minLength(1, 'must not be empty')),
  share: share(),
  startedAt: z.iso.datetime({
    error: (issue) =>
      issue.input === undefined ? 'is missing' : 'must be an ISO 8601 date-time, e.g. 2026-01-01T00:00:00.000Z',
  }),
  metrics: z._default(z.record(z.string(), z.number('must be a number'), 'must be an object of numbers'), {}),
});
export type Canary = z.output<typeof canarySchema>;

/** How the pipeline ends a canary (an operator's promote or rollback writes no such record). */
export const CANARY_ENDINGS = ['promoted', 'rolled-back', 'inconclusive', 'abandoned'] as const;

/**
 * The canary the pipeline ended with this value (version 2, optional): written by Check canary and Abandon canary only,
 * so that a retried step that finds its own write reports it as its own, not as an operator's change.
 */
export const endedCanarySchema = z.object({
  runId: text().check(z.minLength(1, 'must not be empty')),
  deploymentArn: text().check(z.minLength(1, 'must not be empty')),
  outcome: z.enum(CANARY_ENDINGS, 'must be one of ' + CANARY_ENDINGS.join(', ')),
  endedAt: z.iso.datetime({
    error: (issue) =>
      issue.input === undefined ? 'is missing' : 'must be an ISO 8601 date-time, e.g. 2026-01-01T00:00:00.000Z',
  }),
});
export type EndedCanary = z.output<typeof endedCanarySchema>;

export const activeModelSchema = z.object({
  /** Absent in values written before canaries existed (version 1). */
  schemaVersion: z.optional(
    z
      .number('must be a number')
      .check(
        z.int('must be a whole number'),
        z.gte(1, 'must be at least 1'),
        z.lte(
          ACTIVE_MODEL_SCHEMA_VERSION,
          `is newer than this reader understands (${ACTIVE_MODEL_SCHEMA_VERSION}): deploy the router and tools of the ` +
            'release that wrote it',
        ),
      ),
  ),
  /** What the router invokes: the on-demand custom-model deployment ARN. */
  deploymentArn: text().check(
    z.maxLength(CUSTOM_MODEL_DEPLOYMENT_ARN_MAX_LENGTH, DEPLOYMENT_ARN_RULE),
    z.regex(CUSTOM_MODEL_DEPLOYMENT_ARN, DEPLOYMENT_ARN_RULE),
  ),
  /** The distilled custom model behind the deployment. */
  modelArn: text().check(z.startsWith('arn:', 'must be an ARN')),
  runId: text().check(z.minLength(1, 'must not be empty')),
  promotedAt: z.iso.datetime({
    error: (issue) =>
      issue.input === undefined ? 'is missing' : 'must be an ISO 8601 date-time, e.g. 2026-01-01T00:00:00.000Z',
  }),
  /** The student prompt the model was trained with; the router must send the same one. */
  studentPromptVersion: text().check(z.minLength(1, 'must not be empty')),
  /** Headline figures of the run that promoted it (judge score, agreement, latency…). */
  metrics: z._default(z.record(z.string(), z.number('must be a number'), 'must be an object of numbers'), {}),
  /** During a canary (version 2): the candidate and its share; the fields above stay the incumbent's. */
  canary: z.optional(canarySchema),
  /** The last canary the pipeline ended with this value (see endedCanarySchema). */
  endedCanary: z.optional(endedCanarySchema),
});
export type ActiveModel = z.output<typeof activeModelSchema>;

export type ActiveModelRead =
  | { readonly state: 'promoted'; readonly model: ActiveModel }
  | { readonly state: 'none' }
  | { readonly state: 'invalid'; readonly reason: string };

/** Thrown by a writer given a value the router would refuse; the message names the field and the rule. */
export class InvalidActiveModel extends Error {
  override readonly name = 'InvalidActiveModel';
}

/** Validates a value against activeModelSchema; the reason names the first field at fault (`deploymentArn: …`). */
function validate(json: unknown): { ok: true; model: ActiveModel } | { ok: false; reason: string } {
  const parsed = activeModelSchema.safeParse(json);
  if (parsed.success) return { ok: true, model: parsed.data };
  const issue = parsed.error.issues[0];
  return { ok: false, reason: `${issue?.path.join('.') || 'value'}: ${issue?.message ?? 'invalid'}` };
}

/**
 * The value a writer puts in the parameter (the pipeline's Promote), validated by the schema the router reads with;
 * throws InvalidActiveModel naming the field otherwise. `rollback` restores only values readActiveModel accepts.
 */
export function activeModelFrom(input: z.input<typeof activeModelSchema>): ActiveModel {
  const result = validate(input);
  if (!result.ok) throw new InvalidActiveModel(`the active-model value is invalid: ${result.reason}`);
  return result.model;
}

/** Interprets the parameter's text: a promoted model, nothing promoted yet, or an invalid value (with why). */
export function readActiveModel(value: string | undefined): ActiveModelRead {
  if (value === undefined || value.trim() === '' || value.trim() === NOTHING_PROMOTED) return { state: 'none' };
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch {
    return { state: 'invalid', reason: 'the value is not JSON' };
  }
  const result = validate(json);
  return result.ok ? { state: 'promoted', model: result.model } : { state: 'invalid', reason: result.reason };
}

/** Which model answers a query during a canary. */
export type Variant = 'incumbent' | 'candidate';

/**
 * The variant of a query: the candidate when the query's bucket (a stable number in [0, 1) of the normalised query,
 * see queryBucket) falls below the canary's share. The same query always gets the same variant, so caching and
 * comparisons stay consistent.
 */
export function variantOf(model: ActiveModel, bucket: number): Variant {
  return model.canary !== undefined && bucket < model.canary.share ? 'candidate' : 'incumbent';
}

/** The value with a canary: the incumbent as it is, the candidate answering `share` of live traffic. */
export function withCanary(incumbent: ActiveModel, candidate: z.input<typeof canarySchema>): ActiveModel {
  return activeModelFrom({ ...incumbent, schemaVersion: ACTIVE_MODEL_SCHEMA_VERSION, canary: candidate });
}

/** The canary's candidate promoted: it becomes the one model, promoted at `at`, with its own figures. */
export function promoteCanary(model: ActiveModel, at: Date): ActiveModel {
  const { canary } = model;
  if (!canary) throw new InvalidActiveModel('there is no canary to promote: the value names one model only');
  return activeModelFrom({
    schemaVersion: ACTIVE_MODEL_SCHEMA_VERSION,
    deploymentArn: canary.deploymentArn,
    modelArn: canary.modelArn,
    runId: canary.runId,
    promotedAt: at.toISOString(),
    studentPromptVersion: canary.studentPromptVersion,
    metrics: canary.metrics,
  });
}

/** The canary ended without promotion (rolled back): the incumbent alone, as it was. */
export function withoutCanary(model: ActiveModel): ActiveModel {
  const { canary: _dropped, ...incumbent } = model;
  return activeModelFrom(incumbent);
}

/** The value as the pipeline writes it when it ends a canary: `model` with the record of how (see endedCanarySchema). */
export function withEndedCanary(model: ActiveModel, ended: EndedCanary): ActiveModel {
  return activeModelFrom({ ...model, schemaVersion: ACTIVE_MODEL_SCHEMA_VERSION, endedCanary: ended });
}

/**
 * The student already promoted when a run starts (`$.preflight.incumbent`): the run's candidate must not be worse
 * than it on the same held-out sets. It is answered like the candidate (its deployment, the student prompt), which
 * is fair only when it was trained with the same student prompt version: otherwise it is left out, with the reason.
 */
export type Incumbent =
  | {
      readonly present: true;
      readonly deploymentArn: string;
      readonly modelArn: string;
      readonly runId: string;
      readonly promotedAt: string;
      readonly studentPromptVersion: string;
    }
  | { readonly present: false; readonly reason: string };

export function incumbentOf(parameterValue: string | undefined, parameterName: string): Incumbent {
  const read = readActiveModel(parameterValue);
  if (read.state === 'none') return { present: false, reason: 'nothing is promoted yet' };
  if (read.state === 'invalid') {
    return {
      present: false,
      reason: `${parameterName} holds no valid model (${read.reason}): the candidate is gated against the baseline only`,
    };
  }
  const { model } = read;
  // The incumbent is answered with its own prompt and read in its own format, whatever the candidate's version; only a
  // version this release does not know cannot be measured.
  if (!isStudentPromptVersion(model.studentPromptVersion)) {
    return {
      present: false,
      reason:
        `the incumbent (run ${model.runId}) was trained with student prompt ${model.studentPromptVersion}, which this ` +
        `release does not know (it knows ${STUDENT_PROMPT_VERSIONS.join(', ')}): the candidate is gated against the ` +
        'baseline only',
    };
  }
  return {
    present: true,
    deploymentArn: model.deploymentArn,
    modelArn: model.modelArn,
    runId: model.runId,
    promotedAt: model.promotedAt,
    studentPromptVersion: model.studentPromptVersion,
  };
}
