import { ListExecutionsCommand } from '@aws-sdk/client-sfn';
import { pipelineOutputs, type PipelineCliDeps } from './pipeline';
import { duration } from './run-view';

/** `npm run pipeline -- list`: the most recent runs. */

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
