import { GetParameterHistoryCommand, PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { planRollback, type ParameterVersion } from '../../lambda/shared/promotion';
import { readActiveModel } from '../../lambda/shared/active-model';
import { flagHelp, parseArgs, UsageError, type FlagSpecs } from '../cli/args';
import { activeModelParameterName } from '../naming';

/**
 * `npm run rollback -- --env <envName>`: restores the active-model parameter's previous value from its version
 * history (the value before the current one that names another model). Refuses, saying why, when there is nothing to
 * roll back to.
 */

export const ROLLBACK_FLAGS = {
  env: { type: 'string', help: 'the environment (config envName) whose active model to roll back' },
  region: { type: 'string', help: 'AWS Region of the stacks (default: the SDK’s, e.g. AWS_REGION)' },
  'allow-none': { type: 'boolean', help: 'allow restoring "none" (no student: the router serves its fallback)' },
  'dry-run': { type: 'boolean', help: 'show what would be restored, change nothing' },
  help: { type: 'boolean', help: 'show this help' },
} as const satisfies FlagSpecs;

export const ROLLBACK_HELP = `Usage: npm run rollback -- --env <envName> [--allow-none] [--dry-run] [--region <region>]\n${flagHelp(ROLLBACK_FLAGS)}`;

/** Thrown when there is nothing (acceptable) to roll back to; the CLI prints it and exits non-zero. */
export class RollbackRefused extends Error {
  override readonly name = 'RollbackRefused';
}

/** Every version of the parameter (GetParameterHistory pages, oldest first). */
export async function parameterHistory(ssm: SSMClient, name: string): Promise<ParameterVersion[]> {
  const versions: ParameterVersion[] = [];
  let token: string | undefined;
  do {
    const page = await ssm.send(new GetParameterHistoryCommand({ Name: name, NextToken: token, MaxResults: 50 }));
    for (const p of page.Parameters ?? []) {
      if (p.Version !== undefined && p.Value !== undefined) versions.push({ version: p.Version, value: p.Value });
    }
    token = page.NextToken;
  } while (token);
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
  const plan = planRollback(await parameterHistory(ssm, name), options.allowNone ?? false);
  if (!plan.ok) throw new RollbackRefused(`Cannot roll back ${name}: ${plan.reason}.`);
  const summary =
    `${name}: version ${plan.current.version} names ${describe(plan.current.value)}; ` +
    `restoring version ${plan.restore.version}, ${describe(plan.restore.value)}`;
  if (options.dryRun) return `${summary} (dry run: nothing changed).`;
  const out = await ssm.send(
    new PutParameterCommand({ Name: name, Value: plan.restore.value, Type: 'String', Overwrite: true }),
  );
  return `${summary}. Written as version ${out.Version ?? '?'}; the router picks it up within its parameter cache TTL.`;
}

/** Parses the command line and runs the rollback; returns what to print. */
export async function runRollback(argv: readonly string[], ssm: (region?: string) => SSMClient): Promise<string> {
  const { flags, positionals } = parseArgs(argv, ROLLBACK_FLAGS);
  if (flags.help) return ROLLBACK_HELP;
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"\n${ROLLBACK_HELP}`);
  if (!flags.env) throw new UsageError(`--env is required: ${ROLLBACK_FLAGS.env.help}\n${ROLLBACK_HELP}`);
  return rollback(ssm(flags.region), { envName: flags.env, allowNone: flags['allow-none'], dryRun: flags['dry-run'] });
}
