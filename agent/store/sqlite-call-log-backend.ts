import type { Database } from 'better-sqlite3';
import type { CallLogBackend } from './call-log-backend';
import { CallLogQueries } from './call-log-queries';
import type { CounterFilter, Counters, HourBucket, LogFilter, LogRow } from './call-log-queries';
import type { ReplayRange } from './call-log-sql';
import type { LoggedCall } from '../replay/logged-call';

/** CallLogBackend on the SQLite file; each method does its work without yielding. */
export class SqliteCallLogBackend implements CallLogBackend {
  private readonly queries: CallLogQueries;

  constructor(
    db: Database,
    private readonly actor: string,
  ) {
    this.queries = new CallLogQueries(db);
  }

  async list(filter: LogFilter): Promise<LogRow[]> {
    return this.queries.list(filter);
  }

  async byId(id: number): Promise<LogRow | undefined> {
    return this.queries.byId(id);
  }

  async lastTo(did: string): Promise<LogRow | undefined> {
    return this.queries.lastTo(did);
  }

  async replayPage(range: ReplayRange, after: { readonly at: number; readonly id: number } | null, limit: number): Promise<LoggedCall[]> {
    return this.queries.replayPage(range, after, limit);
  }

  async counters(filter: CounterFilter): Promise<Counters> {
    return this.queries.counters(filter);
  }

  async hourly(filter: Omit<CounterFilter, 'since'>, from: number, hours: number): Promise<HourBucket[]> {
    return this.queries.hourly(filter, from, hours);
  }

  async retention(): Promise<string> {
    return this.queries.retention();
  }

  async setRetention(duration: string): Promise<void> {
    this.queries.setRetention(duration, this.actor);
  }

  async prune(now: number): Promise<number> {
    return this.queries.prune(now);
  }
}
