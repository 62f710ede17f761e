import type { SSMClient } from '@aws-sdk/client-ssm';
import { getParameter, writeParameter } from '../../lambda/core/active-model-parameter';
import { promoteCanary, readActiveModel, type ActiveModel } from '../../lambda/core/active-model';
import { activeModelParameterName } from '../naming';
import { rollback } from '../ops/rollback';
import { OperatorError } from './errors';

/**
 * `npm run pipeline -- status|promote|rollback --env <envName>`: the operator's side of a canary (docs/router.md,
 * README "Operating a canary"). Every write goes through the shared schema helpers (promoteCanary, withoutCanary in
 * lib/ops/rollback.ts), so the parameter never holds a value the router would refuse.
 */

/** Thrown when the command cannot do what was asked (no canary to promote, an invalid value…); says why and what to do. */
export class CanaryCommandRefused extends OperatorError {
  override readonly name = 'CanaryCommandRefused';
}

export interface CanaryCommandOptions {
  readonly envName: string;
  readonly dryRun?: boolean;
  /** rollback without a canary: allow restoring "none" (as `npm run rollback -- --allow-none`). */
  readonly allowNone?: boolean;
  readonly now?: () => Date;
}

/** The parameter's current value and version (GetParameter; ParameterNotFound is explained by withAwsHints). */
async function readCurrent(ssm: SSMClient, name: string) {
  const { value, version } = await getParameter(ssm, name);
  return { read: readActiveModel(value), version };
}

const percent = (share: number) => `${Number((share * 100).toFixed(2))}%`;

function minutesSince(iso: string, now: Date): string {
  const minutes = Math.max(0, Math.floor((now.getTime() - Date.parse(iso)) / 60_000));
  return minutes < 120 ? `${minutes} min ago` : `${Math.floor(minutes / 60)} h ${minutes % 60} min ago`;
}

/** `status`: the incumbent, and during a canary the candidate with its share and since when. */
export async function canaryStatus(ssm: SSMClient, options: CanaryCommandOptions): Promise<string[]> {
  const name = activeModelParameterName(options.envName);
  const now = (options.now ?? (() => new Date()))();
  const { read, version } = await readCurrent(ssm, name);
  const head = `${name} (version ${version ?? '?'})`;
  if (read.state === 'none') return [head, 'nothing promoted: the router serves its fallback model or default weights'];
  if (read.state === 'invalid') {
    return [head, `invalid value (${read.reason}): the router serves its fallback; roll back with npm run rollback`];
  }
  const { model } = read;
  const lines = [
    head,
    `incumbent: run ${model.runId}, ${model.deploymentArn}, promoted ${model.promotedAt} (${minutesSince(model.promotedAt, now)})`,
  ];
  if (!model.canary) return [...lines, 'canary: none (the incumbent answers all traffic)'];
  const c = model.canary;
  return [
    ...lines,
    `candidate: run ${c.runId}, ${c.deploymentArn}, ${percent(c.share)} of queries since ${c.startedAt} (${minutesSince(c.startedAt, now)})`,
    `incumbent share: ${percent(1 - c.share)}`,
  ];
}

/** `promote`: ends a canary early, the candidate answering all traffic. Refuses when there is no canary. */
export async function promoteCanaryNow(ssm: SSMClient, options: CanaryCommandOptions): Promise<string> {
  const name = activeModelParameterName(options.envName);
  const { read } = await readCurrent(ssm, name);
  const model: ActiveModel | undefined = read.state === 'promoted' ? read.model : undefined;
  if (!model?.canary) {
    const holds =
      read.state === 'promoted'
        ? `it names run ${read.model.runId} only`
        : read.state === 'none'
          ? 'nothing is promoted'
          : `its value is invalid (${read.reason})`;
    throw new CanaryCommandRefused(
      `Cannot promote: there is no canary in ${name} (${holds}). ` +
        `See npm run pipeline -- status --env ${options.envName}; a new candidate comes from a pipeline run.`,
    );
  }
  const promoted = promoteCanary(model, (options.now ?? (() => new Date()))());
  const summary =
    `${name}: promoting candidate run ${model.canary.runId} (${model.canary.deploymentArn}, ` +
    `${percent(model.canary.share)} of queries) over incumbent run ${model.runId}`;
  if (options.dryRun) return `${summary} (dry run: nothing changed).`;
  const version = await writeParameter(ssm, name, promoted);
  return `${summary}. Written as version ${version || '?'}; the router serves it within its parameter cache TTL.`;
}

/** `rollback`: drops a running canary's candidate; with no canary, restores the previous model (npm run rollback). */
export function rollbackCanary(ssm: SSMClient, options: CanaryCommandOptions): Promise<string> {
  return rollback(ssm, {
    envName: options.envName,
    ...(options.dryRun ? { dryRun: true } : {}),
    ...(options.allowNone ? { allowNone: true } : {}),
  });
}
