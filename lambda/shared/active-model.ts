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

export const activeModelSchema = z.object({
  /** What the router invokes: the on-demand custom-model deployment ARN. */
  deploymentArn: text().check(
    z.regex(
      /^arn:aws[a-z-]*:bedrock:[a-z0-9-]+:\d{12}:custom-model-deployment\/[a-z0-9]+$/,
      'must be a custom-model deployment ARN (arn:aws:bedrock:<region>:<account>:custom-model-deployment/<id>)',
    ),
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

/** Interprets the parameter's text: a promoted model, nothing promoted yet, or an invalid value (with why). */
export function readActiveModel(value: string | undefined): ActiveModelRead {
  if (value === undefined || value.trim() === '' || value.trim() === NOTHING_PROMOTED) return { state: 'none' };
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch {
    return { state: 'invalid', reason: 'the value is not JSON' };
  }
  const parsed = activeModelSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { state: 'invalid', reason: `${issue?.path.join('.') || 'value'}: ${issue?.message ?? 'invalid'}` };
  }
  return { state: 'promoted', model: parsed.data };
}
