import {
  DeleteCustomModelDeploymentCommand,
  type BedrockClient,
  type CustomModelDeploymentSummary,
} from '@aws-sdk/client-bedrock';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { isEnvironmentDeployment, listDeployments } from '../../lambda/shared/deployments';
import { deploymentsToKeep } from '../../lambda/shared/promotion';
import { flagHelp, parseArgs, UsageError, type FlagSpecs } from '../cli/args';
import { activeModelParameterName } from '../naming';
import { parameterHistory } from './rollback';

/**
 * `npm run cleanup-deployments -- --env <envName> [--delete]`: on-demand deployments live outside CloudFormation.
 * Lists the deployments this project created for the environment (by their Project and Environment tags) except the
 * active one and the one a rollback would restore; deletes them only with --delete.
 */

export const CLEANUP_FLAGS = {
  env: { type: 'string', help: 'the environment (config envName) whose deployments to clean up' },
  region: { type: 'string', help: 'AWS Region of the stacks (default: the SDK’s, e.g. AWS_REGION)' },
  delete: { type: 'boolean', help: 'delete the listed deployments (without it, nothing is changed)' },
  help: { type: 'boolean', help: 'show this help' },
} as const satisfies FlagSpecs;

export const CLEANUP_HELP = `Usage: npm run cleanup-deployments -- --env <envName> [--delete] [--region <region>]\n${flagHelp(CLEANUP_FLAGS)}`;

export interface CleanupResult {
  readonly kept: readonly CustomModelDeploymentSummary[];
  readonly superseded: readonly CustomModelDeploymentSummary[];
  readonly deleted: readonly string[];
}

export async function cleanupDeployments(
  bedrock: BedrockClient,
  ssm: SSMClient,
  options: { envName: string; delete?: boolean },
): Promise<CleanupResult> {
  const keep = deploymentsToKeep(await parameterHistory(ssm, activeModelParameterName(options.envName)));
  const ours: CustomModelDeploymentSummary[] = [];
  for (const d of await listDeployments(bedrock, {})) {
    if (
      d.customModelDeploymentArn &&
      (await isEnvironmentDeployment(bedrock, d.customModelDeploymentArn, options.envName))
    )
      ours.push(d);
  }
  const kept = ours.filter((d) => keep.has(d.customModelDeploymentArn ?? ''));
  const superseded = ours.filter((d) => !keep.has(d.customModelDeploymentArn ?? ''));
  const deleted: string[] = [];
  if (options.delete) {
    for (const d of superseded) {
      const arn = d.customModelDeploymentArn ?? '';
      await bedrock.send(new DeleteCustomModelDeploymentCommand({ customModelDeploymentIdentifier: arn }));
      deleted.push(arn);
    }
  }
  return { kept, superseded, deleted };
}

const line = (d: CustomModelDeploymentSummary) =>
  `  ${d.customModelDeploymentName ?? '?'}  ${d.status ?? '?'}  ${d.customModelDeploymentArn ?? '?'}`;

export function renderCleanup(envName: string, result: CleanupResult, deleting: boolean): string {
  const lines = [`Deployments of environment ${envName} kept (active and previous):`];
  lines.push(...(result.kept.length ? result.kept.map(line) : ['  (none)']));
  lines.push(deleting ? 'Deleted:' : 'Superseded (delete with --delete):');
  lines.push(...(result.superseded.length ? result.superseded.map(line) : ['  (none)']));
  return lines.join('\n');
}

export async function runCleanup(
  argv: readonly string[],
  clients: (region?: string) => { bedrock: BedrockClient; ssm: SSMClient },
): Promise<string> {
  const { flags, positionals } = parseArgs(argv, CLEANUP_FLAGS);
  if (flags.help) return CLEANUP_HELP;
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"\n${CLEANUP_HELP}`);
  if (!flags.env) throw new UsageError(`--env is required: ${CLEANUP_FLAGS.env.help}\n${CLEANUP_HELP}`);
  const { bedrock, ssm } = clients(flags.region);
  const result = await cleanupDeployments(bedrock, ssm, { envName: flags.env, delete: flags.delete ?? false });
  return renderCleanup(flags.env, result, flags.delete ?? false);
}
