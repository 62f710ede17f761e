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
} from './args';
import { MAX_PRODUCTION_RECORDS } from '../../lambda/shared/production-selection';
import { resolvedRegion, withAwsHints } from './errors';
import { opsEnvironment } from '../ops/rollback';
import { canaryStatus, promoteCanaryNow, rollbackCanary } from './canary-command';
import { downloadReport } from './report-command';
import {
  checkCustomModelArn,
  checkDay,
  checkRunId,
  listRuns,
  startRun,
  watchRun,
  type PipelineCliDeps,
} from './pipeline';

export { PipelineCliError } from './pipeline';

/** Flags of `npm run pipeline`; each subcommand accepts the ones it lists in PIPELINE_USAGE. */
export const PIPELINE_FLAGS = {
  env: { type: 'string', help: 'environment name (config envName; default: the configured one, "dev")' },
  region: REGION_FLAG,
  examples: { type: 'integer', min: 100, max: 15000, help: 'start: training examples for this run (100-15,000)' },
  'run-id': { type: 'string', help: 'start: the run id (default run-YYYYMMDD-HHMMSS)', check: checkRunId },
  'reuse-dataset': {
    type: 'string',
    help: "start: train on an earlier run's dataset (its run id): no generation",
    check: checkRunId,
  },
  'reuse-model': {
    type: 'string',
    help: 'start: deploy and evaluate an existing custom model ARN: no distillation',
    check: checkCustomModelArn,
  },
  'from-production': {
    type: 'boolean',
    help: 'start: learn from shadow-labelled production records first; generate only what a modality is short of',
  },
  since: {
    type: 'string',
    help: 'start --from-production: the first day of records to read, YYYY-MM-DD (default 30 days back)',
    check: checkDay,
  },
  interval: { type: 'integer', min: 1, max: 3600, help: 'watch: seconds between polls (default 15)' },
  open: { type: 'boolean', help: 'report: open the downloaded report.html in the default browser' },
  'dry-run': { type: 'boolean', help: 'promote, rollback: show what would be written, change nothing' },
  'allow-none': {
    type: 'boolean',
    help: 'rollback with no canary running: allow restoring "none" (the router then serves its fallback)',
  },
  max: {
    type: 'integer',
    min: 1,
    max: MAX_PRODUCTION_RECORDS,
    help:
      'list: how many recent runs (default 20, at most 1,000); start --from-production: the most production ' +
      'records to use (default: all of the days read)',
  },
} as const satisfies FlagSpecs;

/** ListExecutions returns at most 1,000 executions per call. */
const MAX_LISTED_RUNS = 1000;

export const PIPELINE_USAGE = `Usage:
  npm run pipeline -- start --env <envName> [--examples N] [--run-id ID] [--reuse-dataset RUN_ID] [--reuse-model ARN]
  npm run pipeline -- start --env <envName> --from-production [--since YYYY-MM-DD] [--max N] [--examples N] [--run-id ID]
  npm run pipeline -- watch <runId> [--env <envName>] [--interval S]
  npm run pipeline -- list [--env <envName>] [--max N]
  npm run pipeline -- report <runId> [--env <envName>] [--open]   (downloads the run's report.html)
  npm run pipeline -- status --env <envName>     (the incumbent, and a canary's candidate with its share)
  npm run pipeline -- promote --env <envName> [--dry-run]   (ends a canary early: the candidate takes all traffic)
  npm run pipeline -- rollback --env <envName> [--dry-run] [--allow-none]
      (mid-canary: drops the candidate; otherwise restores the previous model, as npm run rollback)
  (every subcommand also takes --region <region> and -c key=value)

${flagHelp(PIPELINE_FLAGS, { allowContext: true })}`;

const ALLOWED: Readonly<Record<string, readonly (keyof typeof PIPELINE_FLAGS)[]>> = {
  start: ['env', 'region', 'examples', 'run-id', 'reuse-dataset', 'reuse-model', 'from-production', 'since', 'max'],
  watch: ['env', 'region', 'interval'],
  list: ['env', 'region', 'max'],
  report: ['env', 'region', 'open'],
  status: ['env', 'region'],
  promote: ['env', 'region', 'dry-run'],
  rollback: ['env', 'region', 'dry-run', 'allow-none'],
};

/** The subcommands that act on the active-model parameter (the canary's operators); they need --env, never a default. */
const CANARY_COMMANDS: readonly string[] = ['status', 'promote', 'rollback'];

/** The subcommands that take a run id as their argument. */
const TAKES_RUN_ID: readonly string[] = ['watch', 'report'];

/**
 * Runs one subcommand; returns the process exit code (0 ok, 1 the watched run did not succeed). `clients` builds the
 * AWS clients for the region given (undefined: the SDK's default chain). The command line and the configuration are
 * checked before any AWS call; known AWS errors come back as an OperatorError naming the fix.
 */
export async function runPipelineCli(
  argv: readonly string[],
  clients: (region: string | undefined) => PipelineCliDeps,
  baseContext: Record<string, unknown> = projectContext(PROJECT_ROOT),
): Promise<number> {
  const { flags, positionals, context, help } = parseArgs(argv, PIPELINE_FLAGS, { allowContext: true });
  const [command, ...rest] = positionals;
  if (help || command === 'help') {
    clients(flags.region).out(PIPELINE_USAGE);
    return 0;
  }
  if (!command || !(command in ALLOWED)) {
    throw new UsageError(
      `${command ? `unknown command "${command}"` : 'no command given'}: use start, watch <runId>, list, report <runId>, ` +
        'status, promote or rollback',
    );
  }
  for (const flag of Object.keys(flags) as (keyof typeof PIPELINE_FLAGS)[]) {
    if (!ALLOWED[command]?.includes(flag)) throw new UsageError(`--${flag} does not apply to "${command}"`);
  }
  const [runId, extra] = rest;
  const takesRunId = TAKES_RUN_ID.includes(command);
  if (takesRunId && !runId) {
    throw new UsageError(
      `${command} needs the run id: npm run pipeline -- ${command} <runId> --env ${flags.env ?? 'dev'}`,
    );
  }
  const unexpected = takesRunId ? extra : runId;
  if (unexpected !== undefined) throw new UsageError(`unexpected argument "${unexpected}"`);
  const badRunId = takesRunId && runId !== undefined ? checkRunId(runId) : undefined;
  if (badRunId) throw new UsageError(`${command} <runId>: ${badRunId}`);
  const fromProduction = command === 'start' && flags['from-production'] === true;
  if (command === 'start' && !fromProduction) {
    const orphan = (['since', 'max'] as const).find((f) => flags[f] !== undefined);
    if (orphan) throw new UsageError(`--${orphan} applies to a run from production: add --from-production`);
  }
  if (fromProduction && flags['reuse-dataset']) {
    throw new UsageError('--from-production and --reuse-dataset exclude each other: a reused dataset is not assembled');
  }
  if (command === 'list' && flags.max !== undefined && flags.max > MAX_LISTED_RUNS) {
    throw new UsageError(`--max must be at most ${MAX_LISTED_RUNS} for list (ListExecutions returns at most that)`);
  }
  const envName = CANARY_COMMANDS.includes(command)
    ? opsEnvironment(flags.env, context, baseContext)
    : configFromFlags(baseContext, context, { env: { key: 'envName', value: flags.env } }).envName;

  const deps = clients(explicitRegion(flags.region, context, baseContext));
  const region = await resolvedRegion(deps.cfn);
  return withAwsHints({ envName, region }, async () => {
    if (command === 'status') {
      for (const line of await canaryStatus(deps.ssm, { envName, ...(deps.now ? { now: deps.now } : {}) })) {
        deps.out(line);
      }
      return 0;
    }
    if (command === 'promote' || command === 'rollback') {
      const options = {
        envName,
        dryRun: flags['dry-run'] === true,
        allowNone: flags['allow-none'] === true,
        ...(deps.now ? { now: deps.now } : {}),
      };
      deps.out(
        command === 'promote' ? await promoteCanaryNow(deps.ssm, options) : await rollbackCanary(deps.ssm, options),
      );
      return 0;
    }
    if (command === 'watch') {
      const status = await watchRun(deps, {
        envName,
        runId: runId ?? '',
        ...(flags.interval ? { intervalSeconds: flags.interval } : {}),
      });
      return status === 'SUCCEEDED' ? 0 : 1;
    }
    if (command === 'report') {
      await downloadReport({ runId: runId ?? '', envName, open: flags.open === true }, deps);
      return 0;
    }
    if (command === 'start') {
      await startRun(deps, {
        envName,
        ...(flags['run-id'] ? { runId: flags['run-id'] } : {}),
        ...(flags.examples !== undefined ? { examples: flags.examples } : {}),
        ...(flags['reuse-dataset'] ? { reuseDatasetFromRun: flags['reuse-dataset'] } : {}),
        ...(flags['reuse-model'] ? { reuseModelArn: flags['reuse-model'] } : {}),
        ...(fromProduction
          ? {
              fromProduction:
                flags.since === undefined && flags.max === undefined
                  ? true
                  : {
                      ...(flags.since === undefined ? {} : { since: flags.since }),
                      ...(flags.max === undefined ? {} : { max: flags.max }),
                    },
            }
          : {}),
      });
      return 0;
    }
    await listRuns(deps, { envName, ...(flags.max ? { max: flags.max } : {}) });
    return 0;
  });
}
