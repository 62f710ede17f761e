import { GetParameterCommand, PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import type { ActiveModel } from './active-model';
import { errorName } from './runtime';

/** The active-model parameter as the pipeline's writers use it (Promote, Start canary, Check canary). */

/** The parameter's value and version; both absent when it does not exist yet. */
export async function readParameter(ssm: SSMClient, name: string): Promise<{ value?: string; version?: number }> {
  try {
    const out = await ssm.send(new GetParameterCommand({ Name: name }));
    return { value: out.Parameter?.Value, version: out.Parameter?.Version };
  } catch (error) {
    if (errorName(error) === 'ParameterNotFound') return {};
    throw error;
  }
}

/** Overwrites the parameter (a new version: the previous value stays in its history); returns the new version. */
export async function writeParameter(ssm: SSMClient, name: string, value: ActiveModel): Promise<number> {
  const out = await ssm.send(
    new PutParameterCommand({ Name: name, Value: JSON.stringify(value), Type: 'String', Overwrite: true }),
  );
  return out.Version ?? 0;
}
