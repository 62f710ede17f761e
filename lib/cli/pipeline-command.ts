import { flagHelp, parseArgs, UsageError, type FlagSpecs } from './args';
import { listRuns, startRun, watchRun, type PipelineCliDeps } from './pipeline';

export { PipelineCliError } from './pipeline';

/** Flags of `npm run pipeline`; each subcommand accepts the ones it lists in PIPELINE_USAGE. */
export const PIPELINE_FLAGS = {
  env: { type: 'string', help: 'environment name (config envName), default "dev"' },
  region: { type: 'string', help: 'AWS region (default: AWS_REGION / your profile)' },
  examples: { type: 'integer', min: 100, max: 15000, help: 'start: training examples for this run (100-15,000)' },
  'run-id': { type: 'string', help: 'start: the run id (default run-YYYYMMDD-HHMMSS)' },
  'reuse-dataset': { type: 'string', help: "start: train on an earlier run's dataset (its run id): no generation" },
  'reuse-model': { type: 'string', help: 'start: deploy and evaluate an existing custom model ARN: no distillation' },
  interval: { type: 'integer', min: 1, max: 3600, help: 'watch: seconds between polls (default 15)' },
  max: { type: 'integer', min: 1, max: 1000, help: 'list: how many recent runs (default 20)' },
  help: { type: 'boolean', help: 'show this help' },
} as const satisfies FlagSpecs;

export const PIPELINE_USAGE = `Usage:
  npm run pipeline -- start --env <envName> [--examples N] [--run-id ID] [--reuse-dataset RUN_ID] [--reuse-model ARN]
  npm run pipeline -- watch <runId> [--env <envName>] [--interval S]
  npm run pipeline -- list [--env <envName>] [--max N]

${flagHelp(PIPELINE_FLAGS)}`;

const ALLOWED: Readonly<Record<string, readonly (keyof typeof PIPELINE_FLAGS)[]>> = {
  start: ['env', 'region', 'examples', 'run-id', 'reuse-dataset', 'reuse-model'],
  watch: ['env', 'region', 'interval'],
  list: ['env', 'region', 'max'],
};

/**
 * Runs one subcommand; returns the process exit code (0 ok, 1 the watched run did not succeed). `clients` builds the
 * AWS clients for the region given (undefined: the SDK's default chain).
 */
export async function runPipelineCli(
  argv: readonly string[],
  clients: (region: string | undefined) => PipelineCliDeps,
): Promise<number> {
  const { flags, positionals } = parseArgs(argv, PIPELINE_FLAGS);
  const [command, ...rest] = positionals;
  if (flags.help || command === 'help') {
    clients(flags.region).out(PIPELINE_USAGE);
    return 0;
  }
  if (!command || !(command in ALLOWED)) {
    throw new UsageError(`${command ? `unknown command "${command}"` : 'no command given'}\n\n${PIPELINE_USAGE}`);
  }
  for (const flag of Object.keys(flags) as (keyof typeof PIPELINE_FLAGS)[]) {
    if (!ALLOWED[command]?.includes(flag))
      throw new UsageError(`--${flag} does not apply to "${command}"\n\n${PIPELINE_USAGE}`);
  }
  const envName = flags.env ?? 'dev';
  const deps = clients(flags.region);
  if (command === 'watch') {
    const [runId, extra] = rest;
    if (!runId) throw new UsageError(`watch needs the run id: npm run pipeline -- watch <runId> --env ${envName}`);
    if (extra) throw new UsageError(`unexpected argument "${extra}"`);
    const status = await watchRun(deps, {
      envName,
      runId,
      ...(flags.interval ? { intervalSeconds: flags.interval } : {}),
    });
    return status === 'SUCCEEDED' ? 0 : 1;
  }
  if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"\n\n${PIPELINE_USAGE}`);
  if (command === 'start') {
    await startRun(deps, {
      envName,
      ...(flags['run-id'] ? { runId: flags['run-id'] } : {}),
      ...(flags.examples !== undefined ? { examples: flags.examples } : {}),
      ...(flags['reuse-dataset'] ? { reuseDatasetFromRun: flags['reuse-dataset'] } : {}),
      ...(flags['reuse-model'] ? { reuseModelArn: flags['reuse-model'] } : {}),
    });
    return 0;
  }
  await listRuns(deps, { envName, ...(flags.max ? { max: flags.max } : {}) });
  return 0;
}
