import { flagHelp, REGION_FLAG, type FlagSpec, type FlagSpecs } from './args';
import { MAX_PRODUCTION_RECORDS } from '../../lambda/pipeline/generation/production-selection';
import { checkCandidateNames, checkCustomModelArn, checkDay, checkRunId } from './start-command';

/** The pipeline CLI's subcommands: each one's flags, usage, what it does and an example; and the help built from them. */

const ENV_FLAG = {
  type: 'string',
  help: 'the environment (config envName); required (or -c envName=<envName>)',
} as const satisfies FlagSpec;

/** ListExecutions returns at most 1,000 executions per call. */
const MAX_LISTED_RUNS = 1000;

export const START_FLAGS = {
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
  candidates: {
    type: 'string',
    help: 'train only these configured candidates, comma-separated (e.g. ft-micro); default: all of them',
    check: checkCandidateNames,
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
export const WATCH_FLAGS = {
  env: ENV_FLAG,
  region: REGION_FLAG,
  interval: { type: 'integer', min: 1, max: 3600, help: 'seconds between polls; default 15' },
} as const satisfies FlagSpecs;
export const LIST_FLAGS = {
  env: ENV_FLAG,
  region: REGION_FLAG,
  max: { type: 'integer', min: 1, max: MAX_LISTED_RUNS, help: 'how many recent runs to show; default 20' },
} as const satisfies FlagSpecs;
export const REPORT_FLAGS = {
  env: ENV_FLAG,
  region: REGION_FLAG,
  open: { type: 'boolean', help: 'open the downloaded report.html in the default browser' },
} as const satisfies FlagSpecs;
export const STATUS_FLAGS = { env: ENV_FLAG, region: REGION_FLAG } as const satisfies FlagSpecs;
const DRY_RUN = { type: 'boolean', help: 'show what would be written, change nothing' } as const satisfies FlagSpec;
const PROMOTE_FLAGS = { env: ENV_FLAG, region: REGION_FLAG, 'dry-run': DRY_RUN } as const satisfies FlagSpecs;
export const ROLLBACK_FLAGS = {
  env: ENV_FLAG,
  region: REGION_FLAG,
  'dry-run': DRY_RUN,
  'allow-none': {
    type: 'boolean',
    help: 'with no canary running: allow restoring "none" (the router then serves its fallback)',
  },
} as const satisfies FlagSpecs;

export interface Subcommand {
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
export const SUBCOMMANDS = {
  start: {
    flags: START_FLAGS,
    synopsis: [
      'start --env <envName> [--examples N] [--run-id ID] [--reuse-dataset RUN_ID] [--reuse-model ARN]',
      'start --env <envName> --candidates NAME[,NAME] [--examples N] [--run-id ID] [--reuse-dataset RUN_ID]',
      'start --env <envName> --from-production [--since YYYY-MM-DD] [--max N] [--examples N] [--run-id ID]',
    ],
    about:
      'Starts a run: a paid pipeline execution (teacher calls, a training job and a deployment per candidate,\n' +
      'evaluation). --candidates trains only the named configured candidates (docs/candidates.md).\n' +
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

export type CommandName = keyof typeof SUBCOMMANDS;
export const isCommand = (name: string): name is CommandName => Object.hasOwn(SUBCOMMANDS, name);

/** Every flag of every subcommand, as text: to find the subcommand before its own flags are checked. */
export const ANY_FLAG: FlagSpecs = Object.fromEntries(
  Object.values(SUBCOMMANDS).flatMap((command): [string, FlagSpec][] =>
    Object.entries(command.flags).map(([name, spec]) => [
      name,
      { type: spec.type === 'boolean' ? 'boolean' : 'string', help: spec.help },
    ]),
  ),
);

export const CONTEXT = { allowContext: true } as const;

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
