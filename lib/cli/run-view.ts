import type { HistoryEvent, MapRunItemCounts } from '@aws-sdk/client-sfn';

/** What `watch` shows of a run: progress lines from its history events and Map runs, and the figures they hold. */

export interface MapRunProgress {
  readonly mapRunArn: string;
  readonly counts: MapRunItemCounts;
  readonly status: string;
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
