import type { RunOutcome } from './run-report';

/**
 * What the report stage hands on through the state machine's state: each result sits at `$.<key>`
 * (lib/constructs/pipeline). Later stages import these types from here, never the reverse.
 */

/** `$.report` */
export interface ReportResult {
  readonly outcome: RunOutcome;
  readonly reportJsonKey: string;
  readonly reportMarkdownKey: string;
  readonly notified: boolean;
}
