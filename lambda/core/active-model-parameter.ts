import { GetParameterCommand, PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import type { ActiveModel } from './active-model';
import { errorName } from './runtime';

/**
 * The active-model parameter, read and written in one place: the pipeline's writers (Promote, Start canary, Check
 * canary), its readers (Preflight, drift) and the operator commands (promote, rollback, status). The router reads it
 * through Powertools' SSMProvider instead, for its cache.
 */

/** The parameter's value and version; ParameterNotFound is thrown (operator commands explain it). */
export async function getParameter(ssm: SSMClient, name: string): Promise<{ value?: string; version?: number }> {
  const out = await ssm.send(new GetParameterCommand({ Name: name }));
  return { value: out.Parameter?.Value, version: out.Parameter?.Version };
}

/** The parameter's value and version; both absent when it does not exist yet. */
export async function readParameter(ssm: SSMClient, name: string): Promise<{ value?: string; version?: number }> {
  try {
    return await getParameter(ssm, name);
  } catch (error) {
    if (errorName(error) === 'ParameterNotFound') return {};
    throw error;
  }
}

/**
 * Overwrites the parameter with `text` as stored (a new version: the previous value stays in its history); returns the
 * new version. Rollback restores earlier values as they were, "none" included.
 */
export async function writeParameterText(ssm: SSMClient, name: string, text: string): Promise<number> {
  const out = await ssm.send(new PutParameterCommand({ Name: name, Value: text, Type: 'String', Overwrite: true }));
  return out.Version ?? 0;
}

/** Overwrites the parameter with `value`; returns the new version. */
export const writeParameter = (ssm: SSMClient, name: string, value: ActiveModel): Promise<number> =>
  writeParameterText(ssm, name, JSON.stringify(value));

/** How a conditional write ended: written, or left to the value someone else wrote meanwhile. */
export type ConditionalWrite =
  | { readonly written: true; readonly version: number }
  | { readonly written: false; readonly version: number; readonly reason: string };

/**
 * Writes `value` only over the version the caller read (`readVersion`). SSM has no compare-and-set, so the condition is
 * checked around the write: the write must create version `readVersion + 1`; a higher version means someone (an
 * operator's promote or rollback) wrote in between, and their value (the version just below ours, read by the
 * `name:version` selector of GetParameter) is written back over ours, so their change stands. Needs ssm:GetParameter
 * and ssm:PutParameter on the parameter only.
 */
export async function writeParameterOver(
  ssm: SSMClient,
  name: string,
  value: ActiveModel,
  readVersion: number,
): Promise<ConditionalWrite> {
  const version = await writeParameter(ssm, name, value);
  if (version <= readVersion + 1) return { written: true, version };
  const theirs = await getParameter(ssm, `${name}:${version - 1}`);
  const restored = await writeParameterText(ssm, name, theirs.value ?? '');
  return {
    written: false,
    version: restored,
    reason:
      `version ${version - 1} was written by someone else after version ${readVersion} was read: ` +
      `their value is restored as version ${restored}`,
  };
}
