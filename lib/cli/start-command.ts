import { ExecutionAlreadyExists, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { CANDIDATE_NAME_PATTERN } from '../../lambda/core/candidates';
import { isDay } from '../../lambda/core/production-records';
import { assertRunId } from '../../lambda/core/runs';
import { executionArnOf, pipelineOutputs, PipelineCliError, type PipelineCliDeps } from './pipeline';

/** `npm run pipeline -- start`: a run started, every option checked before the first AWS call. */

/** A readable, sortable default run id: `run-YYYYMMDD-HHMMSS` (UTC). */
export function defaultRunId(now: Date): string {
  const iso = now.toISOString(); // 2026-11-25T14:03:07.123Z
  return `run-${iso.slice(0, 10).replace(/-/g, '')}-${iso.slice(11, 19).replace(/:/g, '')}`;
}

export interface StartOptions {
  readonly envName: string;
  readonly runId?: string;
  /** Overrides the configured exampleCount for this run (Preflight reads `exampleCount` from the execution input). */
  readonly examples?: number;
  /** Skip generation: train on this earlier run's dataset (state machine input `reuseDatasetFromRun`). */
  readonly reuseDatasetFromRun?: string;
  /** Skip distillation: deploy and evaluate this custom model (state machine input `reuseModelArn`). */
  readonly reuseModelArn?: string;
  /**
   * Learn from production records first (state machine input `fromProduction`): `true` for the defaults, or the first
   * day to read and the most records to use. Preflight checks it again against the run's start.
   */
  readonly fromProduction?: true | { readonly since?: string; readonly max?: number };
  /** Train only these of the configured candidates (state machine input `candidates`; `--candidates a,b`). */
  readonly candidates?: readonly string[];
  /** The configured candidates' names (the app's config), which `candidates` must be among. */
  readonly configuredCandidates?: readonly string[];
}

/** `--candidates ft-micro,distill-micro`: the names, split on commas. */
export const candidateNames = (value: string): string[] => value.split(',').map((n) => n.trim());

/** What is wrong with a `--candidates` value on its own, or undefined: names in the candidate pattern, each once. */
export function checkCandidateNames(value: string): string | undefined {
  const names = candidateNames(value);
  const bad = names.find((n) => !CANDIDATE_NAME_PATTERN.test(n));
  if (bad !== undefined) {
    return (
      `${JSON.stringify(bad)} is not a candidate name: give configured names separated by commas, ` +
      'e.g. --candidates ft-micro,distill-micro'
    );
  }
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  return twice === undefined ? undefined : `"${twice}" is named twice: name each candidate once`;
}

/** What is wrong with `names` against the configured candidates, or undefined. */
export function checkConfiguredCandidates(names: readonly string[], configured: readonly string[]): string | undefined {
  const unknown = names.filter((n) => !configured.includes(n));
  if (unknown.length === 0) return undefined;
  return (
    `${unknown.map((n) => `"${n}"`).join(', ')} ${unknown.length > 1 ? 'are' : 'is'} not among the configured ` +
    `candidates (${configured.join(', ')}): name some of them, or configure it (-c candidates=…, docs/candidates.md)`
  );
}

/** What is wrong with a day (`--since`), or undefined: YYYY-MM-DD, a real calendar day. */
export function checkDay(value: string): string | undefined {
  return isDay(value) ? undefined : `"${value}" is not a day: use YYYY-MM-DD (UTC), e.g. 2026-11-26`;
}

/** What is wrong with a run id (as `--run-id` or `--reuse-dataset`), or undefined. */
export function checkRunId(value: string): string | undefined {
  try {
    assertRunId(value);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** What is wrong with a custom model ARN (`--reuse-model`), or undefined. */
export function checkCustomModelArn(value: string): string | undefined {
  return /^arn:aws[a-z-]*:bedrock:[a-z0-9-]+:\d{12}:custom-model\/.+$/.test(value)
    ? undefined
    : `"${value}" is not a custom model ARN (arn:aws:bedrock:<region>:<account>:custom-model/…)`;
}

/** Starts run `options.runId` (default: defaultRunId of now) with the options as the execution input. */
export async function startRun(deps: PipelineCliDeps, options: StartOptions) {
  const runId = options.runId ?? defaultRunId((deps.now ?? (() => new Date()))());
  // Every option is checked before the first AWS call.
  const problems = [
    ['--run-id', checkRunId(runId)],
    [
      '--reuse-dataset',
      options.reuseDatasetFromRun === undefined ? undefined : checkRunId(options.reuseDatasetFromRun),
    ],
    ['--reuse-model', options.reuseModelArn === undefined ? undefined : checkCustomModelArn(options.reuseModelArn)],
    [
      '--since',
      typeof options.fromProduction === 'object' && options.fromProduction.since !== undefined
        ? checkDay(options.fromProduction.since)
        : undefined,
    ],
    [
      '--from-production',
      options.fromProduction !== undefined && options.reuseDatasetFromRun !== undefined
        ? 'a run from production assembles its own dataset: drop --reuse-dataset'
        : undefined,
    ],
    [
      '--candidates',
      options.candidates === undefined
        ? undefined
        : options.reuseModelArn !== undefined
          ? "the model given with --reuse-model is the run's only candidate: drop --candidates or --reuse-model"
          : options.configuredCandidates === undefined
            ? undefined
            : checkConfiguredCandidates(options.candidates, options.configuredCandidates),
    ],
  ].filter((p): p is [string, string] => p[1] !== undefined);
  const [problem] = problems;
  if (problem) throw new PipelineCliError(`${problem[0]}: ${problem[1]}`);
  const { stateMachineArn } = await pipelineOutputs(deps.cfn, options.envName);
  const input = {
    ...(options.examples === undefined ? {} : { exampleCount: options.examples }),
    ...(options.reuseDatasetFromRun === undefined ? {} : { reuseDatasetFromRun: options.reuseDatasetFromRun }),
    ...(options.reuseModelArn === undefined ? {} : { reuseModelArn: options.reuseModelArn }),
    ...(options.fromProduction === undefined ? {} : { fromProduction: options.fromProduction }),
    ...(options.candidates === undefined ? {} : { candidates: options.candidates }),
  };
  let executionArn: string;
  try {
    const started = await deps.sfn.send(
      new StartExecutionCommand({ stateMachineArn, name: runId, input: JSON.stringify(input) }),
    );
    executionArn = started.executionArn ?? executionArnOf(stateMachineArn, runId);
  } catch (error) {
    if (error instanceof ExecutionAlreadyExists) {
      throw new PipelineCliError(
        `a run named "${runId}" already exists: runs never overwrite each other, so choose another --run-id ` +
          `(or watch it: npm run pipeline -- watch ${runId} --env ${options.envName})`,
      );
    }
    throw error;
  }
  const production =
    (options.fromProduction === undefined ? '' : ', learning from production records first') +
    (options.candidates === undefined ? '' : `, candidates ${options.candidates.join(', ')}`);
  deps.out(
    `Started run ${runId}${options.examples === undefined ? '' : ` (${options.examples} examples)`}${production}`,
  );
  deps.out(`  execution: ${executionArn}`);
  deps.out(`  watch it:  npm run pipeline -- watch ${runId} --env ${options.envName}`);
  return { runId, executionArn };
}
