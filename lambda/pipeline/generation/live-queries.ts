import { LIVE_QUERIES_TAGGING } from '../../core/production-records';

/**
 * Writing a run's copies of live (production) queries: every object under runs/<runId>/ that holds a live query is
 * written with the LIVE_QUERIES_TAGGING tag, so that the dataset bucket's `expire-run-copies-of-live-queries` rule
 * expires it after productionDataRetentionDays, as production/records/ itself expires.
 */

/** The Tagging of an object that holds live queries, or nothing: a write's `tagging` argument. */
export const liveQueriesTagging = (holdsLiveQueries: boolean): string | undefined =>
  holdsLiveQueries ? LIVE_QUERIES_TAGGING : undefined;
