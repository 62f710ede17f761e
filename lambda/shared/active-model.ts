import * as z from 'zod/mini';

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

export const activeModelSchema = z.object({
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
