import {
  checkRegion,
  configFromFlags,
  explicitRegion,
  flagHelp,
  parseArgs,
  projectContext,
  PROJECT_ROOT,
  REGION_FLAG,
  UsageError,
  type FlagSpec,
  type FlagSpecs,
  type FlagValues,
} from './args';
import { MAX_PRODUCTION_RECORDS } from '../../lambda/pipeline/generation/production-selection';
import { resolvedRegion, withAwsHints } from './errors';
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

const ENV_FLAG = {
  type: 'string',
  help: 'the environment (config envName); required (or -c envName=<envName>)',
} as const satisfies FlagSpec;

/** ListExecutions returns at most 1,000 executions per call. */
const MAX_LISTED_RUNS = 1000;

const START_FLAGS = {
  env: ENV_FLAG,
  region: REGION_FLAG,
  examples: {
    type: 'integer',
    min: 100,
    max: 15000,
    help: 'training examples for this run; default: the configured exampleCount',
  },
  'run-id': { type: 'string', help: 'the run id; default run-YYYYMMDD-HHMMSS (UTC)', check: checkRunId },
  'reuse-dataset': {
    type: 'string',
    help: "train on an earlier run's dataset (its run id): no generation",
    check: checkRunId,
  },
  'reuse-model': {
    type: 'string',
    help: 'deploy and evaluate this custom model ARN: no distillation',
    check: checkCustomModelArn,
  },
  'from-production': {
    type: 'boolean',
    help: 'learn from shadow-labelled production records first; generate only what a modality is short of',
  },
  since: {
    type: 'string',
    help: 'with --from-production: the first day of records, YYYY-MM-DD (UTC), up to today; default 30 days back',
    check: checkDay,
  },
  max: {
    type: 'integer',
    min: 1,
    max: MAX_PRODUCTION_RECORDS,
    help: 'with --from-production: the most production records to use; default: all of the days read',
  },
} as const satisfies FlagSpecs;
const WATCH_FLAGS = {
  env: ENV_FLAG,
  region: REGION_FLAG,
  interval: { type: 'integer', min: 1, max: 3600, help: 'seconds between polls; default 15' },
} as const satisfies FlagSpecs;
const LIST_FLAGS = {
  env: ENV_FLAG,
  region: REGION_FLAG,
  max: { type: 'integer', min: 1, max: MAX_LISTED_RUNS, help: 'how many recent runs to show; default 20' },
} as const satisfies FlagSpecs;
const REPORT_FLAGS = {
  env: ENV_FLAG,
  region: REGION_FLAG,
  open: { type: 'boolean', help: 'open the downloaded report.html in the default browser' },
} as const satisfies FlagSpecs;
const STATUS_FLAGS = { env: ENV_FLAG, region: REGION_FLAG } as const satisfies FlagSpecs;
const DRY_RUN = { type: 'boolean', help: 'show what would be written, change nothing' } as const satisfies FlagSpec;
const PROMOTE_FLAGS = { env: ENV_FLAG, region: REGION_FLAG, 'dry-run': DRY_RUN } as const satisfies FlagSpecs;
const ROLLBACK_FLAGS = {
  env: ENV_FLAG,
  region: REGION_FLAG,
  'dry-run': DRY_RUN,
  'allow-none': {
    type: 'boolean',
    help: 'with no canary running: allow restoring "none" (the router then serves its fallback)',
  },
} as const satisfies FlagSpecs;

interface Subcommand {
  readonly flags: FlagSpecs;
  /** Usage lines, after `npm run pipeline -- `. */
  readonly synopsis: readonly string[];
  /** What it does, and what it costs or changes. */
  readonly about: string;
  readonly example: string;
  /** Takes the run id as its argument. */
  readonly runId?: true;
}

/** Every subcommand, with its own flags, usage and example (`npm run pipeline -- <command> --help`). */
const SUBCOMMANDS = {
  start: {
    flags: START_FLAGS,
    synopsis: [
      'start --env <envName> [--examples N] [--run-id ID] [--reuse-dataset RUN_ID] [--reuse-model ARN]',
      'start --env <envName> --from-production [--since YYYY-MM-DD] [--max N] [--examples N] [--run-id ID]',
    ],
    about:
      'Starts a run: a paid pipeline execution (teacher calls, a distillation job, a deployment, evaluation).\n' +
      '--reuse-dataset with --reuse-model re-evaluates that model on the dataset it was trained on (its run id):\n' +
      'no generation, no distillation; --reuse-model alone evaluates it on a newly generated dataset.',
    example: 'npm run pipeline -- start --env dev --examples 2000',
  },
  watch: {
    flags: WATCH_FLAGS,
    synopsis: ['watch <runId> --env <envName> [--interval S]'],
    about: 'Follows a run stage by stage until it ends, then prints its report; exits 1 if it did not succeed.',
    example: 'npm run pipeline -- watch run-20261125-140307 --env dev',
    runId: true,
  },
  list: {
    flags: LIST_FLAGS,
    synopsis: ['list --env <envName> [--max N]'],
    about: 'Lists the most recent runs, newest first: id, status, start and duration.',
    example: 'npm run pipeline -- list --env dev --max 5',
  },
  report: {
    flags: REPORT_FLAGS,
    synopsis: ['report <runId> --env <envName> [--open]'],
    about: "Downloads a run's report.html to report-<runId>.html in the current directory.",
    example: 'npm run pipeline -- report run-20261125-140307 --env dev --open',
    runId: true,
  },
  status: {
    flags: STATUS_FLAGS,
    synopsis: ['status --env <envName>'],
    about: 'Shows the active model (the incumbent) and, during a canary, the candidate with its share. Read only.',
    example: 'npm run pipeline -- status --env prod',
  },
  promote: {
    flags: PROMOTE_FLAGS,
    synopsis: ['promote --env <envName> [--dry-run]'],
    about: "Ends a canary early: the candidate takes all live traffic (writes the environment's active model).",
    example: 'npm run pipeline -- promote --env prod --dry-run',
  },
  rollback: {
    flags: ROLLBACK_FLAGS,
    synopsis: ['rollback --env <envName> [--dry-run] [--allow-none]'],
    about:
      'Mid-canary, drops the candidate; otherwise restores the previous active model (as npm run rollback).\n' +
      'Changes live traffic.',
    example: 'npm run pipeline -- rollback --env prod --dry-run',
  },
} as const satisfies Record<string, Subcommand>;

type CommandName = keyof typeof SUBCOMMANDS;
const isCommand = (name: string): name is CommandName => Object.hasOwn(SUBCOMMANDS, name);

/** Every flag of every subcommand, as text: to find the subcommand before its own flags are checked. */
const ANY_FLAG: FlagSpecs = Object.fromEntries(
  Object.values(SUBCOMMANDS).flatMap((command): [string, FlagSpec][] =>
    Object.entries(command.flags).map(([name, spec]) => [
      name,
      { type: spec.type === 'boolean' ? 'boolean' : 'string', help: spec.help },
    ]),
  ),
);

const CONTEXT = { allowContext: true } as const;

export const PIPELINE_USAGE = `Usage:
${Object.values(SUBCOMMANDS)
  .flatMap((command) => command.synopsis.map((line) => `  npm run pipeline -- ${line}`))
  .join('\n')}

Starts, follows and operates the runs of one environment. Every command needs --env (or -c envName=<envName>):
start spends money, promote and rollback change live traffic, and none acts on a default environment.
npm run pipeline -- <command> --help shows a command's flags and an example.

${flagHelp({ env: ENV_FLAG, region: REGION_FLAG }, CONTEXT)}`;

/** `npm run pipeline -- <command> --help`: that command's usage, flags and an example. */
export function subcommandUsage(name: CommandName): string {
  const command: Subcommand = SUBCOMMANDS[name];
  return (
    `Usage:\n${command.synopsis.map((line) => `  npm run pipeline -- ${line}`).join('\n')}\n\n` +
    `${command.about}\n\n${flagHelp(command.flags, CONTEXT)}\n\nExample:\n  ${command.example}`
  );
}

/** The environment and the clients of one command: decided, with the config checked, before any AWS call. */
interface Target {
  readonly envName: string;
  readonly deps: PipelineCliDeps;
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
    return { envName: config.envName, deps: clients(explicitRegion(flags.region, loose.context, baseContext)) };
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
  const { envName, deps } = target(flags);
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
