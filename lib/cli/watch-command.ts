import { GetObjectCommand, NoSuchKey } from '@aws-sdk/client-s3';
import {
  DescribeExecutionCommand,
  DescribeMapRunCommand,
  ExecutionDoesNotExist,
  ListMapRunsCommand,
  paginateGetExecutionHistory,
  type HistoryEvent,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { assertRunId, runKeys } from '../../lambda/core/runs';
import { pipelineStackName } from '../naming';
import { executionArnOf, pipelineOutputs, PipelineCliError, type PipelineCliDeps } from './pipeline';
import { duration, RunView, type MapRunProgress } from './run-view';

/** `npm run pipeline -- watch <runId>`: a run followed until it ends, then its report. */

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
