import {
  DeleteCustomModelDeploymentCommand,
  type BedrockClient,
  type CustomModelDeploymentSummary,
} from '@aws-sdk/client-bedrock';
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DescribeExecutionCommand, paginateListExecutions, type SFNClient } from '@aws-sdk/client-sfn';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { readActiveModel } from '../../lambda/core/active-model';
import { deploymentTags, listDeployments } from '../../lambda/pipeline/deployment/deployments';
import { TAG_KEYS, tagValue, taggedForEnvironment, trainingNames } from '../../lambda/core/job-names';
import { deploymentsToKeep, type ParameterVersion } from '../../lambda/pipeline/rollout/promotion';
import {
  explicitRegion,
  flagHelp,
  parseArgs,
  projectContext,
  PROJECT_ROOT,
  REGION_FLAG,
  UsageError,
  type FlagSpecs,
} from '../cli/args';
import { explainAwsError, resolvedRegion, withAwsHints } from '../cli/errors';
import { stackOutputs } from '../cli/pipeline';
import { activeModelParameterName, OUTPUTS, pipelineStackName } from '../naming';
import { opsEnvironment, parameterHistory } from './rollback';

/**
 * `npm run cleanup-deployments -- --env <envName> [--delete]`: on-demand deployments live outside CloudFormation.
 * Lists the deployments this project created for the environment (by their Project and Environment tags) and keeps
 * every one that is still needed: the active one, the one `npm run rollback` would restore, and any a running
 * pipeline execution uses (every deployment tagged with its run id, whichever candidate, or one of the model it
 * reuses). The others — among them the runners-up of finished runs, known by their Candidate tag — are deleted only
 * with --delete, going on after a failed deletion; only deployments are deleted, never the custom models behind them
 * (a runner-up can be deployed again). Reports each deployment's outcome.
 */

export const CLEANUP_FLAGS = {
  env: { type: 'string', help: 'the environment (config envName) whose deployments to clean up' },
  region: REGION_FLAG,
  delete: {
    type: 'boolean',
    help: 'delete the deployments no longer needed, keeping their models (without it, nothing is changed)',
  },
} as const satisfies FlagSpecs;

export const CLEANUP_HELP = `Usage: npm run cleanup-deployments -- --env <envName> [--delete] [--region <region>]\n${flagHelp(CLEANUP_FLAGS, { allowContext: true })}`;

export interface CleanupClients {
  readonly bedrock: BedrockClient;
  readonly ssm: SSMClient;
  readonly cfn: CloudFormationClient;
  readonly sfn: SFNClient;
}

/** Which run (and candidate of it) created a deployment, by its tags. */
export interface DeploymentOrigin {
  readonly runId?: string;
  readonly candidate?: string;
}

export type DeploymentOutcome = { readonly origin: DeploymentOrigin } & (
  | { readonly deployment: CustomModelDeploymentSummary; readonly outcome: 'kept'; readonly reasons: string[] }
  | { readonly deployment: CustomModelDeploymentSummary; readonly outcome: 'superseded' | 'deleted' }
  | { readonly deployment: CustomModelDeploymentSummary; readonly outcome: 'failed'; readonly reason: string }
);

export interface CleanupResult {
  readonly deployments: readonly DeploymentOutcome[];
  /** Run ids of the environment's running executions (none when its Pipeline stack does not exist). */
  readonly runningRuns: readonly string[];
  readonly pipelineStackFound: boolean;
}

/** A running run and what it may be serving from: its own deployment, or a deployment of the model it reuses. */
interface RunningRun {
  readonly runId: string;
  readonly deploymentName?: string;
  readonly reuseModelArn?: string;
}

/** The environment's running executions (every page of ListExecutions RUNNING), with what each may use. */
async function runningRuns(clients: CleanupClients, envName: string): Promise<RunningRun[] | undefined> {
  const outputs = await stackOutputs(clients.cfn, pipelineStackName(envName));
  const stateMachineArn = outputs?.[OUTPUTS.stateMachineArn];
  // No Pipeline stack, no state machine: no run of this environment can be running in this Region.
  if (!stateMachineArn) return undefined;
  const runs: RunningRun[] = [];
  const pages = paginateListExecutions({ client: clients.sfn }, { stateMachineArn, statusFilter: 'RUNNING' });
  for await (const page of pages) {
    for (const execution of page.executions ?? []) {
      const runId = execution.name ?? '';
      let deploymentName: string | undefined;
      try {
        deploymentName = trainingNames(envName, runId).deploymentName;
      } catch {
        // Not a valid run id: Preflight refuses such an execution before it creates anything.
      }
      // The input says whether the run deploys a model it did not train (reuseModelArn), possibly reusing a
      // deployment another run created.
      const described = await clients.sfn.send(new DescribeExecutionCommand({ executionArn: execution.executionArn }));
      const reuseModelArn = reusedModel(described.input);
      runs.push({ runId, ...(deploymentName ? { deploymentName } : {}), ...(reuseModelArn ? { reuseModelArn } : {}) });
    }
  }
  return runs;
}

function reusedModel(input: string | undefined): string | undefined {
  try {
    const parsed: unknown = JSON.parse(input ?? '{}');
    const value = typeof parsed === 'object' && parsed !== null ? Reflect.get(parsed, 'reuseModelArn') : undefined;
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Why each deployment named by the parameter's history must stay: active, or what `npm run rollback` restores. */
function historyReasons(history: readonly ParameterVersion[]): Map<string, string> {
  const reasons = new Map<string, string>();
  const newestFirst = [...history].sort((a, b) => b.version - a.version);
  const current = newestFirst[0];
  const currentRead = current ? readActiveModel(current.value) : undefined;
  const activeArn = currentRead?.state === 'promoted' ? currentRead.model.deploymentArn : undefined;
  for (const arn of deploymentsToKeep(history)) {
    const version = newestFirst.find((v) => {
      const read = readActiveModel(v.value);
      return read.state === 'promoted' && read.model.deploymentArn === arn;
    })?.version;
    const canary = currentRead?.state === 'promoted' ? currentRead.model.canary : undefined;
    reasons.set(
      arn,
      arn === activeArn
        ? `active (parameter version ${version ?? '?'})`
        : arn === canary?.deploymentArn
          ? `canary candidate answering ${Math.round(canary.share * 1000) / 10} % of traffic (parameter version ${current?.version ?? '?'})`
          : `npm run rollback restores it (parameter version ${version ?? '?'})`,
    );
  }
  return reasons;
}

export async function cleanupDeployments(
  clients: CleanupClients,
  options: { envName: string; delete?: boolean },
): Promise<CleanupResult> {
  const { bedrock, ssm } = clients;
  const fromHistory = historyReasons(await parameterHistory(ssm, activeModelParameterName(options.envName)));
  const ours: { deployment: CustomModelDeploymentSummary; origin: DeploymentOrigin }[] = [];
  for (const deployment of await listDeployments(bedrock, {})) {
    if (!deployment.customModelDeploymentArn) continue;
    const tags = await deploymentTags(bedrock, deployment.customModelDeploymentArn);
    if (!taggedForEnvironment(tags, options.envName)) continue;
    const runId = tagValue(tags, TAG_KEYS.runId);
    const candidate = tagValue(tags, TAG_KEYS.candidate);
    ours.push({ deployment, origin: { ...(runId ? { runId } : {}), ...(candidate ? { candidate } : {}) } });
  }
  // Last before deleting, to leave the least time for a run to start unseen.
  const running = await runningRuns(clients, options.envName);

  const deployments: DeploymentOutcome[] = [];
  for (const { deployment, origin } of ours) {
    const historyReason = fromHistory.get(deployment.customModelDeploymentArn ?? '');
    const reasons = [
      ...(historyReason ? [historyReason] : []),
      // Its own deployment (by name, for a run without candidates) or any of its candidates' (by the RunId tag).
      ...(running ?? [])
        .filter((run) => run.deploymentName === deployment.customModelDeploymentName || run.runId === origin.runId)
        .map((run) =>
          origin.candidate
            ? `run ${run.runId} is running and deployed it for candidate ${origin.candidate}`
            : `run ${run.runId} is running and deployed it`,
        ),
      ...(running ?? [])
        .filter((run) => run.reuseModelArn !== undefined && run.reuseModelArn === deployment.modelArn)
        .map((run) => `run ${run.runId} is running and reuses its model`),
    ];
    if (reasons.length > 0) {
      deployments.push({ deployment, origin, outcome: 'kept', reasons });
      continue;
    }
    if (!options.delete) {
      deployments.push({ deployment, origin, outcome: 'superseded' });
      continue;
    }
    try {
      await bedrock.send(
        new DeleteCustomModelDeploymentCommand({
          customModelDeploymentIdentifier: deployment.customModelDeploymentArn ?? '',
        }),
      );
      deployments.push({ deployment, origin, outcome: 'deleted' });
    } catch (error) {
      // Go on with the others; the report says what failed and why.
      const reason =
        explainAwsError(error)?.split('\n')[0] ??
        (error instanceof Error ? `${error.name}: ${error.message}` : String(error));
      deployments.push({ deployment, origin, outcome: 'failed', reason });
    }
  }
  return {
    deployments,
    runningRuns: (running ?? []).map((r) => r.runId),
    pipelineStackFound: running !== undefined,
  };
}

const describe = (d: CustomModelDeploymentSummary) =>
  `${d.customModelDeploymentName ?? '?'}  ${d.status ?? '?'}  ${d.customModelDeploymentArn ?? '?'}`;

/** A candidate's deployment that nothing needs: a runner-up (or a superseded winner) of a finished run. */
const candidateNote = (origin: DeploymentOrigin) =>
  origin.candidate ? ` (candidate ${origin.candidate} of finished run ${origin.runId ?? '?'}; its model is kept)` : '';

/** One line per deployment (kept and why / deleted / failed and why / to delete), then the counts. */
export function renderCleanup(envName: string, result: CleanupResult, deleting: boolean): string {
  const lines = [
    `Deployments of environment ${envName}` +
      (result.pipelineStackFound
        ? ` (running runs: ${result.runningRuns.length ? result.runningRuns.join(', ') : 'none'}):`
        : ` (no ${pipelineStackName(envName)} stack here, so no running run):`),
  ];
  if (result.deployments.length === 0) lines.push('  (none)');
  for (const entry of result.deployments) {
    const note = candidateNote(entry.origin);
    if (entry.outcome === 'kept') lines.push(`  kept     ${describe(entry.deployment)} — ${entry.reasons.join('; ')}`);
    else if (entry.outcome === 'deleted') lines.push(`  deleted  ${describe(entry.deployment)}${note}`);
    else if (entry.outcome === 'failed')
      lines.push(`  FAILED   ${describe(entry.deployment)} — not deleted: ${entry.reason}`);
    else lines.push(`  unused   ${describe(entry.deployment)}${note} — delete with --delete`);
  }
  const count = (outcome: DeploymentOutcome['outcome']) =>
    result.deployments.filter((d) => d.outcome === outcome).length;
  lines.push(
    deleting
      ? `${count('kept')} kept, ${count('deleted')} deleted, ${count('failed')} failed.`
      : `${count('kept')} kept, ${count('superseded')} unused (nothing changed without --delete).`,
  );
  return lines.join('\n');
}

/** Parses the command line and runs the clean-up; the text to print and the exit code (1 when a deletion failed). */
export async function runCleanup(
  argv: readonly string[],
  clients: (region?: string) => CleanupClients,
  baseContext: Record<string, unknown> = projectContext(PROJECT_ROOT),
): Promise<{ text: string; exitCode: number }> {
  const { flags, positionals, context, help } = parseArgs(argv, CLEANUP_FLAGS, { allowContext: true });
  if (help) return { text: CLEANUP_HELP, exitCode: 0 };
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const envName = opsEnvironment(flags.env, context, baseContext);
  const built = clients(explicitRegion(flags.region, context, baseContext));
  const region = await resolvedRegion(built.ssm);
  const deleting = flags.delete ?? false;
  const result = await withAwsHints({ envName, region }, () =>
    cleanupDeployments(built, { envName, delete: deleting }),
  );
  const failed = result.deployments.some((d) => d.outcome === 'failed');
  return { text: renderCleanup(envName, result, deleting), exitCode: failed ? 1 : 0 };
}
