import {
  checkRegion,
  configFromFlags,
  explicitRegion,
  parseArgs,
  projectContext,
  PROJECT_ROOT,
  UsageError,
  type FlagValues,
} from './args';
import { canaryStatus, promoteCanaryNow, rollbackCanary } from './canary-command';
import { resolvedRegion, withAwsHints } from './errors';
import { listRuns } from './list-command';
import type { PipelineCliDeps } from './pipeline';
import {
  ANY_FLAG,
  CONTEXT,
  isCommand,
  LIST_FLAGS,
  PIPELINE_USAGE,
  REPORT_FLAGS,
  ROLLBACK_FLAGS,
  START_FLAGS,
  STATUS_FLAGS,
  subcommandUsage,
  SUBCOMMANDS,
  WATCH_FLAGS,
  type Subcommand,
} from './pipeline-subcommands';
import { downloadReport } from './report-command';
import { candidateNames, checkConfiguredCandidates, checkRunId, startRun } from './start-command';
import { watchRun } from './watch-command';

export { PipelineCliError } from './pipeline';

/** The environment and the clients of one command: decided, with the config checked, before any AWS call. */
interface Target {
  readonly envName: string;
  readonly deps: PipelineCliDeps;
  /** The configured candidates' names (what `--candidates` may name). */
  readonly candidates: readonly string[];
}

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
  // First pass: every flag of every command, as text, to find the command; its own flags are checked after.
  const loose = parseArgs(argv, ANY_FLAG, CONTEXT);
  const [command, ...rest] = loose.positionals;
  if (command === 'help' || (loose.help && command === undefined)) {
    // `help start` as `start --help`.
    const about = rest[0];
    clients(undefined).out(about !== undefined && isCommand(about) ? subcommandUsage(about) : PIPELINE_USAGE);
    return 0;
  }
  if (!command || !isCommand(command)) {
    throw new UsageError(
      `${command ? `unknown command "${command}"` : 'no command given'}: use start, watch <runId>, list, report <runId>, ` +
        'status, promote or rollback',
    );
  }
  if (loose.help) {
    clients(undefined).out(subcommandUsage(command));
    return 0;
  }
  const spec: Subcommand = SUBCOMMANDS[command];
  for (const flag of Object.keys(loose.flags)) {
    if (!Object.hasOwn(spec.flags, flag)) {
      throw new UsageError(`--${flag} does not apply to "${command}" (npm run pipeline -- ${command} --help)`);
    }
  }
  const [runId, extra] = rest;
  const takesRunId = 'runId' in spec;
  if (takesRunId && !runId) {
    throw new UsageError(`${command} needs the run id: npm run pipeline -- ${command} <runId> --env <envName>`);
  }
  const unexpected = takesRunId ? extra : runId;
  if (unexpected !== undefined) throw new UsageError(`unexpected argument "${unexpected}"`);
  const badRunId = takesRunId && runId !== undefined ? checkRunId(runId) : undefined;
  if (badRunId) throw new UsageError(`${command} <runId>: ${badRunId}`);

  /** The environment (required: no command acts on a default one), from a config checked as `cdk synth` checks it. */
  const target = (flags: { env?: string; region?: string }): Target => {
    const config = configFromFlags(baseContext, loose.context, {
      env: { key: 'envName', value: flags.env },
      region: { key: 'region', value: flags.region },
    });
    if (flags.env === undefined && loose.context['envName'] === undefined) {
      throw new UsageError(
        `--env is required: name the environment "${command}" acts on (npm run pipeline -- ${command} --env ` +
          '<envName>, or -c envName=<envName>); no pipeline command falls back to a default one',
      );
    }
    return {
      envName: config.envName,
      deps: clients(explicitRegion(flags.region, loose.context, baseContext)),
      candidates: config.candidates.map((c) => c.name),
    };
  };
  const id = runId ?? '';
  switch (command) {
    case 'start':
      return start(parseArgs(argv, START_FLAGS, CONTEXT).flags, target);
    case 'watch': {
      const { flags } = parseArgs(argv, WATCH_FLAGS, CONTEXT);
      const { envName, deps } = target(flags);
      return aws(envName, deps, async () => {
        const options = { envName, runId: id, ...(flags.interval ? { intervalSeconds: flags.interval } : {}) };
        return (await watchRun(deps, options)) === 'SUCCEEDED' ? 0 : 1;
      });
    }
    case 'list': {
      const { flags } = parseArgs(argv, LIST_FLAGS, CONTEXT);
      const { envName, deps } = target(flags);
      return aws(envName, deps, async () => {
        await listRuns(deps, { envName, ...(flags.max ? { max: flags.max } : {}) });
        return 0;
      });
    }
    case 'report': {
      const { flags } = parseArgs(argv, REPORT_FLAGS, CONTEXT);
      const { envName, deps } = target(flags);
      return aws(envName, deps, async () => {
        await downloadReport({ runId: id, envName, open: flags.open === true }, deps);
        return 0;
      });
    }
    case 'status': {
      const { envName, deps } = target(parseArgs(argv, STATUS_FLAGS, CONTEXT).flags);
      return aws(envName, deps, async () => {
        for (const line of await canaryStatus(deps.ssm, { envName, ...(deps.now ? { now: deps.now } : {}) })) {
          deps.out(line);
        }
        return 0;
      });
    }
    case 'promote':
    case 'rollback': {
      // promote's flags are rollback's minus --allow-none, which the check above already refused for promote.
      const { flags } = parseArgs(argv, ROLLBACK_FLAGS, CONTEXT);
      const { envName, deps } = target(flags);
      const options = {
        envName,
        dryRun: flags['dry-run'] === true,
        allowNone: flags['allow-none'] === true,
        ...(deps.now ? { now: deps.now } : {}),
      };
      return aws(envName, deps, async () => {
        deps.out(
          command === 'promote' ? await promoteCanaryNow(deps.ssm, options) : await rollbackCanary(deps.ssm, options),
        );
        return 0;
      });
    }
  }
}

/** `start`: every check of its flags (and --since against today) before the run is started. */
function start(flags: FlagValues<typeof START_FLAGS>, target: (flags: { env?: string; region?: string }) => Target) {
  const fromProduction = flags['from-production'] === true;
  if (!fromProduction) {
    const orphan = (['since', 'max'] as const).find((f) => flags[f] !== undefined);
    if (orphan) throw new UsageError(`--${orphan} applies to a run from production: add --from-production`);
  }
  if (fromProduction && flags['reuse-dataset']) {
    throw new UsageError('--from-production and --reuse-dataset exclude each other: a reused dataset is not assembled');
  }
  if (flags.candidates !== undefined && flags['reuse-model']) {
    throw new UsageError('--candidates and --reuse-model exclude each other: the given model is the only candidate');
  }
  const { envName, deps, candidates: configured } = target(flags);
  const candidates = flags.candidates === undefined ? undefined : candidateNames(flags.candidates);
  const unknown = candidates && checkConfiguredCandidates(candidates, configured);
  if (unknown) throw new UsageError(`--candidates: ${unknown}`);
  const today = (deps.now ?? (() => new Date()))().toISOString().slice(0, 10);
  if (flags.since !== undefined && flags.since > today) {
    throw new UsageError(
      `--since ${flags.since} is in the future (today is ${today}, UTC): records are read from that day up to ` +
        `today, so give a day up to ${today}`,
    );
  }
  return aws(envName, deps, async () => {
    await startRun(deps, {
      envName,
      ...(flags['run-id'] ? { runId: flags['run-id'] } : {}),
      ...(flags.examples !== undefined ? { examples: flags.examples } : {}),
      ...(flags['reuse-dataset'] ? { reuseDatasetFromRun: flags['reuse-dataset'] } : {}),
      ...(flags['reuse-model'] ? { reuseModelArn: flags['reuse-model'] } : {}),
      ...(candidates ? { candidates, configuredCandidates: configured } : {}),
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
  });
}

/**
 * The AWS part of a command: the Region the clients will call (resolved locally, no request), refused when the app
 * could not be deployed there (as from AWS_REGION), then `work` with the SDK's errors explained.
 */
async function aws(envName: string, deps: PipelineCliDeps, work: () => Promise<number>): Promise<number> {
  const region = await resolvedRegion(deps.cfn);
  const problem = checkRegion(region);
  if (problem) throw new UsageError(`Region (from AWS_REGION or your AWS profile): ${problem}`);
  return withAwsHints({ envName, region }, work);
}
