import type { LoggedCall } from '../replay/logged-call';
import type { CounterFilter, Counters, HourBucket, LogFilter, LogRow } from './call-log-queries';
import type { ReplayRange } from './call-log-sql';

/**
 * The call log as the CLI, the API and the operations over it (agent/operations/stats.ts,
 * block-caller.ts) reach it, on either backend: the SQLite file's own log, or a fleet's
 * in PostgreSQL. A row reads the same from either: the same fields, types and order.
 */
export interface CallLogBackend {
  /** Newest first (by time, then id), at most `filter.limit` (50 by default). */
  list(filter: LogFilter): Promise<LogRow[]>;
  byId(id: number): Promise<LogRow | undefined>;
  /** The newest call to a DID. */
  lastTo(did: string): Promise<LogRow | undefined>;
  /** The counters over the calls `filter` selects (whose, since when). */
  counters(filter: CounterFilter): Promise<Counters>;
  /** Calls per hour from `from` (a whole hour) for `hours` hours, oldest first, hours without calls included. */
  hourly(filter: Omit<CounterFilter, 'since'>, from: number, hours: number): Promise<HourBucket[]>;
  /** A page of the calls a replay reads (see ReplayRange), oldest first, after the call `after`. */
  replayPage(range: ReplayRange, after: { readonly at: number; readonly id: number } | null, limit: number): Promise<LoggedCall[]>;
  /** How long rows are kept (`90d` unless set). */
  retention(): Promise<string>;
  /** Sets it (a duration, checked), audited as the backend's actor in the same transaction. */
  setRetention(duration: string): Promise<void>;
  /** Deletes the rows older than the retention at `now`; returns how many. */
  prune(now: number): Promise<number>;
}
