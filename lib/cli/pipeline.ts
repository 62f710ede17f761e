import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetObjectCommand, NoSuchKey, S3Client } from '@aws-sdk/client-s3';
import type { SSMClient } from '@aws-sdk/client-ssm';
import {
  DescribeExecutionCommand,
  DescribeMapRunCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  ListExecutionsCommand,
  ListMapRunsCommand,
  paginateGetExecutionHistory,
  SFNClient,
  StartExecutionCommand,
  type HistoryEvent,
  type MapRunItemCounts,
} from '@aws-sdk/client-sfn';
import { isDay } from '../../lambda/core/production-records';
import { assertRunId, runKeys } from '../../lambda/core/runs';
import { OUTPUTS, pipelineStackName } from '../naming';
import { OperatorError } from './errors';

/**
 * The run CLI (`npm run pipeline -- start|watch|list`): starts a pipeline execution found through the Pipeline stack's
 * outputs, follows it stage by stage with the generation Map's progress and the current job status, and prints the
 * run report at the end. Every AWS call is a typed SDK v3 command on clients passed in, so tests mock them.
 */

export class PipelineCliError extends OperatorError {
  override readonly name = 'PipelineCliError';
}

export interface PipelineCliDeps {
  readonly cfn: CloudFormationClient;
  readonly sfn: SFNClient;
  readonly s3: S3Client;
  /** The active-model parameter (status, promote, rollback). */
  readonly ssm: SSMClient;
  /** Writes one line of output. */
  readonly out: (line: string) => void;
  readonly now?: () => Date;
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface PipelineOutputs {
  readonly stackName: string;
  readonly stateMachineArn: string;
  readonly datasetBucketName: string;
}

/** The outputs of a stack, or undefined when no stack of that name exists (in the client's Region). */
export async function stackOutputs(
  cfn: CloudFormationClient,
  stackName: string,
): Promise<Record<string, string> | undefined> {
  try {
    const { Stacks } = await cfn.send(new DescribeStacksCommand({ StackName: stackName }));
    return Object.fromEntries((Stacks?.[0]?.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']));
  } catch (error) {
    // CloudFormation reports a missing stack as a ValidationError "Stack with id … does not exist".
    if (error instanceof Error && error.name === 'ValidationError' && /does not exist/.test(error.message)) {
      return undefined;
    }
    throw error;
  }
}

/** The state machine and the dataset bucket of an environment, from its Pipeline stack's outputs. */
export async function pipelineOutputs(cfn: CloudFormationClient, envName: string): Promise<PipelineOutputs> {
  const stackName = pipelineStackName(envName);
  const outputs = await stackOutputs(cfn, stackName);
  if (!outputs) {
    const region = await cfn.config.region().catch(() => 'the configured region');
    throw new PipelineCliError(
      `stack "${stackName}" does not exist in ${region}: deploy it first (npx cdk deploy --all -c envName=${envName}), ` +
        'or pass the right --env / --region (or AWS_REGION)',
    );
  }
  const stateMachineArn = outputs[OUTPUTS.stateMachineArn];
  const datasetBucketName = outputs[OUTPUTS.datasetBucketName];
  const missing = [
    ...(stateMachineArn ? [] : [OUTPUTS.stateMachineArn]),
    ...(datasetBucketName ? [] : [OUTPUTS.datasetBucketName]),
  ];
  if (!stateMachineArn || !datasetBucketName) {
    throw new PipelineCliError(
      `stack "${stackName}" has no output ${missing.join(' or ')}: it was deployed from an older version of this ` +
        `app; redeploy it (npx cdk deploy --all -c envName=${envName})`,
    );
  }
  return { stackName, stateMachineArn, datasetBucketName };
}

/** A readable, sortable default run id: `run-YYYYMMDD-HHMMSS` (UTC). */
export function defaultRunId(now: Date): string {
  const iso = now.toISOString(); // 2026-11-25T14:03:07.123Z
  return `run-${iso.slice(0, 10).replace(/-/g, '')}-${iso.slice(11, 19).replace(/:/g, '')}`;
}

/** The execution ARN of run `runId` (the execution's name is the run id). */
export function executionArnOf(stateMachineArn: string, runId: string): string {
  const match = /^(arn:[^:]+:states:[^:]+:\d+):stateMachine:(.+)$/.exec(stateMachineArn);
  if (!match) throw new PipelineCliError(`"${stateMachineArn}" is not a state machine ARN`);
  return `${match[1]}:execution:${match[2]}:${runId}`;
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
  ].filter((p): p is [string, string] => p[1] !== undefined);
  const [problem] = problems;
  if (problem) throw new PipelineCliError(`${problem[0]}: ${problem[1]}`);
  const { stateMachineArn } = await pipelineOutputs(deps.cfn, options.envName);
  const input = {
    ...(options.examples === undefined ? {} : { exampleCount: options.examples }),
    ...(options.reuseDatasetFromRun === undefined ? {} : { reuseDatasetFromRun: options.reuseDatasetFromRun }),
    ...(options.reuseModelArn === undefined ? {} : { reuseModelArn: options.reuseModelArn }),
    ...(options.fromProduction === undefined ? {} : { fromProduction: options.fromProduction }),
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
  const production = options.fromProduction === undefined ? '' : ', learning from production records first';
  deps.out(
    `Started run ${runId}${options.examples === undefined ? '' : ` (${options.examples} examples)`}${production}`,
  );
  deps.out(`  execution: ${executionArn}`);
  deps.out(`  watch it:  npm run pipeline -- watch ${runId} --env ${options.envName}`);
  return { runId, executionArn };
}

export interface WatchOptions {
  readonly envName: string;
  readonly runId: string;
  readonly intervalSeconds?: number;
  /** Events per GetExecutionHistory page (default HISTORY_PAGE_SIZE). */
  readonly historyPageSize?: number;
}

/** Events per history page while watching: a poll reads the new events plus at most one page of old ones. */
export const HISTORY_PAGE_SIZE = 100;

export type RunStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED' | 'PENDING_REDRIVE';

/** Follows a run until it ends; returns its final status. */
export async function watchRun(deps: PipelineCliDeps, options: WatchOptions): Promise<RunStatus> {
  try {
    assertRunId(options.runId);
  } catch (error) {
    throw new PipelineCliError((error as Error).message);
  }
  const { stateMachineArn, datasetBucketName } = await pipelineOutputs(deps.cfn, options.envName);
  const executionArn = executionArnOf(stateMachineArn, options.runId);
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const view = new RunView(deps.out);

  for (;;) {
    let described;
    try {
      described = await deps.sfn.send(new DescribeExecutionCommand({ executionArn }));
    } catch (error) {
      if (error instanceof ExecutionDoesNotExist) {
        throw new PipelineCliError(
          `no run "${options.runId}" in ${pipelineStackName(options.envName)}: list the runs with ` +
            `npm run pipeline -- list --env ${options.envName}`,
        );
      }
      throw error;
    }
    const events = await newHistoryEvents(
      deps.sfn,
      executionArn,
      view.lastSeenEventId,
      options.historyPageSize ?? HISTORY_PAGE_SIZE,
    );
    view.update(events, await mapRunProgress(deps.sfn, executionArn, view));
    const status = (described.status ?? 'RUNNING') as RunStatus;
    if (status !== 'RUNNING') {
      const took = duration(described.startDate, described.stopDate);
      deps.out('');
      deps.out(`Run ${options.runId} ${status}${took ? ` after ${took}` : ''}`);
      if (status === 'SUCCEEDED') await printReport(deps, datasetBucketName, options.runId);
      else {
        if (described.error) deps.out(`  error: ${described.error}`);
        if (described.cause) deps.out(`  cause: ${described.cause}`);
      }
      return status;
    }
    await sleep((options.intervalSeconds ?? 15) * 1000);
  }
}

/**
 * The events of an execution after event `afterId`, oldest first. Event ids increase along the history, so the history
 * is read newest first (`reverseOrder`) and paging stops at the first event already seen: a poll reads its new events
 * plus at most one page, however long the run has been going (reading it all every poll grows quadratically). Paging
 * forward from a kept token would not work: the last page has no token, and tokens expire after 24 hours.
 */
export async function newHistoryEvents(
  sfn: SFNClient,
  executionArn: string,
  afterId: number,
  pageSize = HISTORY_PAGE_SIZE,
): Promise<HistoryEvent[]> {
  const fresh: HistoryEvent[] = [];
  const pages = paginateGetExecutionHistory(
    { client: sfn, pageSize },
    { executionArn, reverseOrder: true, includeExecutionData: true },
  );
  // Leaving the loop stops the paginator: no further page is requested.
  pages: for await (const page of pages) {
    for (const event of page.events ?? []) {
      if ((event.id ?? 0) <= afterId) break pages;
      fresh.push(event);
    }
  }
  return fresh.reverse();
}

interface MapRunProgress {
  readonly mapRunArn: string;
  readonly counts: MapRunItemCounts;
  readonly status: string;
}

/** The item counts of the execution's Map runs that were still running at the last poll. */
async function mapRunProgress(sfn: SFNClient, executionArn: string, view: RunView): Promise<MapRunProgress[]> {
  const { mapRuns } = await sfn.send(new ListMapRunsCommand({ executionArn }));
  const progress: MapRunProgress[] = [];
  for (const run of mapRuns ?? []) {
    if (!run.mapRunArn || view.isMapRunDone(run.mapRunArn)) continue;
    const described = await sfn.send(new DescribeMapRunCommand({ mapRunArn: run.mapRunArn }));
    if (described.itemCounts) {
      progress.push({ mapRunArn: run.mapRunArn, counts: described.itemCounts, status: described.status ?? 'RUNNING' });
    }
  }
  return progress;
}

async function printReport(deps: PipelineCliDeps, bucket: string, runId: string): Promise<void> {
  const key = runKeys(runId).reportMarkdown;
  try {
    const object = await deps.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const text = (await object.Body?.transformToString('utf-8')) ?? '';
    deps.out(`Report (s3://${bucket}/${key}):`);
    deps.out('');
    for (const line of text.replace(/\n$/, '').split('\n')) deps.out(line);
  } catch (error) {
    if (!(error instanceof NoSuchKey)) throw error;
    deps.out(`No report at s3://${bucket}/${key} (the run ended before writing one).`);
  }
}

const TRACKED_STATE = /^(Task|Map|Parallel)State(Entered|Exited)$/;
/** Job statuses (Bedrock's) that mean "poll again". */
const IN_PROGRESS = /^(InProgress|Creating|Updating|Stopping|Pending|NotStarted)\b/i;

/**
 * Turns history events into progress lines, each shown once: a stage when it starts and when it ends (with its
 * duration), a job's status when it changes, task errors as they happen, the Map's progress bar when it moves.
 */
export class RunView {
  private lastEventId = 0;
  private readonly entered = new Map<string, Date | undefined>();
  private readonly exited = new Set<string>();
  private currentState = '';
  private lastStatus = '';
  /** The job status the current task's result reported (empty when none). */
  private taskStatus = '';
  private pendingMaps: MapRunProgress[] = [];
  private readonly mapLines = new Map<string, string>();
  private readonly mapDone = new Set<string>();

  constructor(private readonly out: (line: string) => void) {}

  /** The id of the last history event shown (0 before the first). */
  get lastSeenEventId(): number {
    return this.lastEventId;
  }

  /**
   * One poll: the history so far (events already shown are skipped) and the Map runs' progress, shown where it
   * belongs — just before the Map state is reported done, or after this poll's events while it runs.
   */
  update(events: readonly HistoryEvent[], maps: readonly MapRunProgress[] = []): void {
    this.pendingMaps = [...maps];
    for (const event of events) {
      if ((event.id ?? 0) <= this.lastEventId) continue;
      this.lastEventId = event.id ?? this.lastEventId;
      this.event(event);
    }
    this.flushMaps();
  }

  private flushMaps(): void {
    for (const map of this.pendingMaps) this.mapProgress(map.mapRunArn, map.counts, map.status);
    this.pendingMaps = [];
  }

  private event(event: HistoryEvent): void {
    const type = event.type ?? '';
    const stateName = event.stateEnteredEventDetails?.name ?? event.stateExitedEventDetails?.name;
    const tracked = TRACKED_STATE.exec(type);
    if (tracked && stateName) {
      if (tracked[2] === 'Entered') {
        this.currentState = stateName;
        if (!this.entered.has(stateName)) {
          this.entered.set(stateName, event.timestamp);
          this.out(`▶ ${stateName}`);
        }
      } else {
        if (type === 'MapStateExited') this.flushMaps();
        // A polling step exits once per poll: it has passed only when its job is no longer in progress.
        if (!this.exited.has(stateName) && !IN_PROGRESS.test(this.taskStatus)) {
          this.exited.add(stateName);
          const took = duration(this.entered.get(stateName), event.timestamp);
          this.out(`✓ ${stateName}${took ? ` (${took})` : ''}`);
        }
        this.taskStatus = '';
      }
      return;
    }
    const output = event.lambdaFunctionSucceededEventDetails?.output ?? event.taskSucceededEventDetails?.output;
    if (output !== undefined) {
      const status = jobStatus(output);
      if (status && status !== this.lastStatus) this.out(`  ${this.currentState}: ${status}`);
      if (status) this.lastStatus = status;
      this.taskStatus = status ?? '';
      return;
    }
    const failure =
      event.lambdaFunctionFailedEventDetails ??
      event.taskFailedEventDetails ??
      event.lambdaFunctionTimedOutEventDetails ??
      event.taskTimedOutEventDetails;
    if (failure) {
      const cause = failure.cause ? `: ${truncate(failure.cause, 300)}` : '';
      this.out(`  ! ${this.currentState} attempt failed with ${failure.error ?? 'an error'}${cause}`);
      return;
    }
    if (type === 'FailStateEntered' && stateName) this.out(`✗ ${stateName}`);
  }

  mapProgress(mapRunArn: string, counts: MapRunItemCounts, status: string): void {
    const line = progressLine(counts, status);
    if (this.mapLines.get(mapRunArn) !== line) this.out(line);
    this.mapLines.set(mapRunArn, line);
    if (status !== 'RUNNING') this.mapDone.add(mapRunArn);
  }

  isMapRunDone(mapRunArn: string): boolean {
    return this.mapDone.has(mapRunArn);
  }
}

/** `  [#########-----------] 45/100 shards · 44 succeeded · 1 failed · 10 running`. */
export function progressLine(counts: MapRunItemCounts, status = 'RUNNING', width = 30): string {
  const total = counts.total ?? 0;
  const failed = (counts.failed ?? 0) + (counts.timedOut ?? 0) + (counts.aborted ?? 0);
  const done = (counts.succeeded ?? 0) + failed;
  const filled = total > 0 ? Math.round((done / total) * width) : 0;
  const parts = [
    `${counts.succeeded ?? 0} succeeded`,
    ...(failed ? [`${failed} failed`] : []),
    ...(counts.running ? [`${counts.running} running`] : []),
    ...(status !== 'RUNNING' ? [status.toLowerCase()] : []),
  ];
  return `  [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total} shards · ${parts.join(' · ')}`;
}

/**
 * A job's status from a step's result: `status` (plus the stage of the job that is running, when Bedrock reports one)
 * or an evaluation's per-model `jobStatus`. Undefined for results that carry no status.
 */
export function jobStatus(output: string): string | undefined {
  let result: unknown;
  try {
    result = JSON.parse(output);
  } catch {
    return undefined;
  }
  if (typeof result !== 'object' || result === null || Array.isArray(result)) return undefined;
  const record = result as Record<string, unknown>;
  if (typeof record['status'] !== 'string') return undefined;
  const details: string[] = [];
  const statusDetails = record['statusDetails'];
  if (typeof statusDetails === 'object' && statusDetails !== null) {
    for (const [stage, detail] of Object.entries(statusDetails as Record<string, unknown>)) {
      const stageStatus = (detail as { status?: unknown } | null)?.status;
      if (typeof stageStatus === 'string') details.push(`${stage.replace(/Details$/, '')} ${stageStatus}`);
    }
  }
  const perModel = record['jobStatus'];
  if (typeof perModel === 'object' && perModel !== null) {
    for (const [model, status] of Object.entries(perModel as Record<string, unknown>)) {
      if (typeof status === 'string') details.push(`${model} ${status}`);
    }
  }
  const failure =
    typeof record['failureMessage'] === 'string' && record['failureMessage'] ? record['failureMessage'] : '';
  return `${record['status']}${details.length ? ` (${details.join(', ')})` : ''}${failure ? ` — ${failure}` : ''}`;
}

export interface ListOptions {
  readonly envName: string;
  readonly max?: number;
}

/**
 * The most recent runs, newest first: id, status, start and duration. One ListExecutions call (newest first, at most
 * `max` ≤ 1,000): the most recent runs are its first page, so there is nothing to paginate.
 */
export async function listRuns(deps: PipelineCliDeps, options: ListOptions): Promise<void> {
  const { stateMachineArn } = await pipelineOutputs(deps.cfn, options.envName);
  const { executions } = await deps.sfn.send(
    new ListExecutionsCommand({ stateMachineArn, maxResults: options.max ?? 20 }),
  );
  if (!executions?.length) {
    deps.out(`No runs yet. Start one: npm run pipeline -- start --env ${options.envName}`);
    return;
  }
  const now = (deps.now ?? (() => new Date()))();
  const rows = executions.map((e) => [
    e.name ?? '',
    e.status ?? '',
    e.startDate ? e.startDate.toISOString().replace('T', ' ').slice(0, 19) : '',
    duration(e.startDate, e.stopDate ?? now) + (e.stopDate ? '' : ' so far'),
  ]);
  const header = ['run', 'status', 'started (UTC)', 'duration'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const format = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  deps.out(format(header));
  for (const row of rows) deps.out(format(row));
}

/** `1h 02m 03s`, `4m 05s`, `12s`; empty when a date is missing. */
export function duration(from: Date | undefined, to: Date | undefined): string {
  if (!from || !to) return '';
  const seconds = Math.max(0, Math.round((to.getTime() - from.getTime()) / 1000));
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (h > 0) return `${h}h ${pad(m)}m ${pad(s)}s`;
  if (m > 0) return `${m}m ${pad(s)}s`;
  return `${s}s`;
}

const truncate = (text: string, max: number) => (text.length > max ? `${text.slice(0, max)}…` : text);
