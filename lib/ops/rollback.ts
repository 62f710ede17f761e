import { paginateGetParameterHistory, type SSMClient } from '@aws-sdk/client-ssm';
import { getParameter, writeParameterText } from '../../lambda/core/active-model-parameter';
import { planRollback, type ParameterVersion } from '../../lambda/pipeline/rollout/promotion';
import { readActiveModel, withoutCanary } from '../../lambda/core/active-model';
import {
  configFromFlags,
  explicitRegion,
  flagHelp,
  parseArgs,
  projectContext,
  PROJECT_ROOT,
  REGION_FLAG,
  UsageError,
  type FlagSpecs,
} from '../cli/args';
import { OperatorError, resolvedRegion, withAwsHints } from '../cli/errors';
import { activeModelParameterName } from '../naming';

/**
 * `npm run rollback -- --env <envName>` (and `npm run pipeline -- rollback`): during a canary, drops the candidate
 * (the incumbent answers all traffic again); otherwise restores the active-model parameter's previous value from its
 * version history (the value before the current one that names another model). Refuses, saying why, when there is
 * nothing to roll back to.
 */

export const ROLLBACK_FLAGS = {
  env: { type: 'string', help: 'the environment (config envName) whose active model to roll back' },
  region: REGION_FLAG,
  'allow-none': { type: 'boolean', help: 'allow restoring "none" (no student: the router serves its fallback)' },
  'dry-run': { type: 'boolean', help: 'show what would be restored, change nothing' },
} as const satisfies FlagSpecs;

export const ROLLBACK_HELP = `Usage: npm run rollback -- --env <envName> [--allow-none] [--dry-run] [--region <region>]\n${flagHelp(ROLLBACK_FLAGS, { allowContext: true })}`;

/** Thrown when there is nothing (acceptable) to roll back to; the CLI prints it and exits non-zero. */
export class RollbackRefused extends OperatorError {
  override readonly name = 'RollbackRefused';
}

/** Every version of the parameter (all GetParameterHistory pages, oldest first). */
export async function parameterHistory(ssm: SSMClient, name: string): Promise<ParameterVersion[]> {
  const versions: ParameterVersion[] = [];
  for await (const page of paginateGetParameterHistory({ client: ssm, pageSize: 50 }, { Name: name })) {
    for (const p of page.Parameters ?? []) {
      if (p.Version !== undefined && p.Value !== undefined) versions.push({ version: p.Version, value: p.Value });
    }
  }
  return versions.sort((a, b) => a.version - b.version);
}

const describe = (value: string) => {
  const read = readActiveModel(value);
  if (read.state === 'promoted') return `run ${read.model.runId} (${read.model.deploymentArn})`;
  return read.state === 'none' ? '"none" (nothing promoted)' : `an invalid value (${read.reason})`;
};

export interface RollbackOptions {
  readonly envName: string;
  readonly allowNone?: boolean;
  readonly dryRun?: boolean;
}

export async function rollback(ssm: SSMClient, options: RollbackOptions): Promise<string> {
  const name = activeModelParameterName(options.envName);
  const write = async (summary: string, value: string) => {
    if (options.dryRun) return `${summary} (dry run: nothing changed).`;
    const version = await writeParameterText(ssm, name, value);
    return `${summary}. Written as version ${version || '?'}; the router picks it up within its parameter cache TTL.`;
  };
  // Mid-canary the incumbent is still the value's own model: rolling back means dropping the candidate, not
  // restoring an older version (which would replace the incumbent too).
  const current = await getParameter(ssm, name);
  const read = readActiveModel(current.value);
  if (read.state === 'promoted' && read.model.canary) {
    const { canary } = read.model;
    return write(
      `${name}: version ${current.version ?? '?'} runs a canary (candidate run ${canary.runId}, ` +
        `${canary.deploymentArn}, share ${canary.share} since ${canary.startedAt}); dropping the candidate, incumbent ` +
        `run ${read.model.runId} (${read.model.deploymentArn}) answers all traffic`,
      JSON.stringify(withoutCanary(read.model)),
    );
  }
  const plan = planRollback(await parameterHistory(ssm, name), options.allowNone ?? false);
  if (!plan.ok) throw new RollbackRefused(`Cannot roll back ${name}: ${plan.reason}.`);
  const restored = readActiveModel(plan.restore.value);
  // A version written mid-canary restores its incumbent only: a rollback never starts a canary again.
  const value =
    restored.state === 'promoted' && restored.model.canary
      ? JSON.stringify(withoutCanary(restored.model))
      : plan.restore.value;
  return write(
    `${name}: version ${plan.current.version} names ${describe(plan.current.value)}; ` +
      `restoring version ${plan.restore.version}, ${describe(plan.restore.value)}` +
      (value === plan.restore.value ? '' : ' without its canary candidate'),
    value,
  );
}

/**
 * The environment an ops command acts on: `--env`, else `-c envName=…`; checked, with the rest of the context, by the
 * app's config schema (so `-c EnvName=prod` fails instead of acting on another environment). Required: these
 * commands change things, so they never fall back to the default environment.
 */
export function opsEnvironment(
  flagEnv: string | undefined,
  context: Record<string, string>,
  baseContext: Record<string, unknown>,
): string {
  if (flagEnv === undefined && context['envName'] === undefined) {
    throw new UsageError('--env is required: the environment (config envName) to act on, e.g. --env dev');
  }
  return configFromFlags(baseContext, context, { env: { key: 'envName', value: flagEnv } }).envName;
}

/** Parses the command line and runs the rollback; returns what to print. Flags are checked before any AWS call. */
export async function runRollback(
  argv: readonly string[],
  ssm: (region?: string) => SSMClient,
  baseContext: Record<string, unknown> = projectContext(PROJECT_ROOT),
): Promise<string> {
  const { flags, positionals, context, help } = parseArgs(argv, ROLLBACK_FLAGS, { allowContext: true });
  if (help) return ROLLBACK_HELP;
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const envName = opsEnvironment(flags.env, context, baseContext);
  const client = ssm(explicitRegion(flags.region, context, baseContext));
  const region = await resolvedRegion(client);
  return withAwsHints({ envName, region }, () =>
    rollback(client, { envName, allowNone: flags['allow-none'], dryRun: flags['dry-run'] }),
  );
}
