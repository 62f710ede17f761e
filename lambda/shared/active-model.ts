import { z } from 'zod';

/**
 * The value of the active-model SSM parameter (`/intent-router/<envName>/active-model`): written by the pipeline's
 * promote step (and the rollback command), read by the router. The router stack creates it as "none" (nothing promoted).
 */
export const NOTHING_PROMOTED = 'none';

export const activeModelSchema = z.object({
  /** What the router invokes: the on-demand custom-model deployment ARN. */
  deploymentArn: z.string().regex(/^arn:aws[a-z-]*:bedrock:[a-z0-9-]+:\d{12}:custom-model-deployment\/[a-z0-9]+$/),
  /** The distilled custom model behind the deployment. */
  modelArn: z.string().startsWith('arn:'),
  runId: z.string().min(1),
  promotedAt: z.iso.datetime(),
  /** The student prompt the model was trained with; the router must send the same one. */
  studentPromptVersion: z.string().min(1),
  /** Headline figures of the run that promoted it (judge score, agreement, latency…). */
  metrics: z.record(z.string(), z.number()).default({}),
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
