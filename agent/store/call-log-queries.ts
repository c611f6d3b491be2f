import type { Database } from 'better-sqlite3';
import { parseDuration } from '../engine/duration';
import { RETENTION_QUERY, replayCountQuery, replayMomentQuery, replayPageQuery, loggedCallOf, byIdQuery, counterQueries, countersOf, hourBuckets, hourlyQuery, lastToQuery, listQuery, logRowOf, partialHourQuery, sqliteParameter } from './call-log-sql';
import type { CounterSums, HourSums, LogQuery, ReplayRange, StoredLogRow, StoredReplayRow } from './call-log-sql';
import type { LoggedCall } from '../replay/logged-call';
import { SettingsStore } from './settings';

export interface LogFilter {
  readonly tenant?: string | undefined;
  readonly ruleId?: number | undefined;
  readonly action?: string | undefined;
  readonly since?: number | undefined;
  readonly limit?: number | undefined;
  /** Only these tenants' calls (someone who may see some tenants only). */
  readonly tenants?: readonly string[] | undefined;
  readonly did?: string | undefined;
  readonly caller?: string | undefined;
  readonly outcome?: string | undefined;
  /** Calls before this moment (epoch ms). */
  readonly until?: number | undefined;
  /** The page after this call (newest first: older ones), as its time and id. */
  readonly before?: { readonly at: number; readonly id: number } | undefined;
}

export interface LogRow {
  readonly id: number;
  readonly at: number;
  readonly kind: string;
  readonly source: string;
  /** The PBX connection the call came through (its name in the config); null for the HTTP hook and older rows. */
  readonly pbx: string | null;
  readonly tenant: string;
  readonly did: string | null;
  readonly caller: string | null;
  readonly callerRaw: string | null;
  readonly callerName: string | null;
  readonly ip: string | null;
  readonly sipFrom: string | null;
  readonly action: string;
  readonly target: string | null;
  readonly ruleId: number | null;
  readonly category: string | null;
  readonly score: number | null;
  readonly flagged: boolean;
  readonly reasons: string[];
  readonly outcome: string | null;
  readonly outcomeDetail: string | null;
}

export interface Counters {
  readonly total: number;
  readonly scanned: number;
  readonly blocked: number;
  readonly flagged: number;
  readonly legitimate: number;
  readonly challenged: number;
  readonly challengePassed: number;
  readonly challengeFailed: number;
  readonly forwarded: number;
  readonly forwardAnswered: number;
  readonly voicemail: number;
  /** Calls of tenants in monitor mode let through that would have been stopped (block, busy, disconnected). */
  readonly wouldBlock: number;
}

/** Calls of one hour, by outcome, for the protection page's chart. */
export interface HourBucket {
  /** The hour's start (epoch ms, a whole UTC hour). */
  readonly at: number;
  readonly total: number;
  readonly blocked: number;
  readonly flagged: number;
  readonly legitimate: number;
  /** Everything else: challenges not yet answered, forwards, voicemail, … */
  readonly other: number;
}

export { HOUR_MS } from './call-log-sql';

/** Whose calls, since when: what the counters can be asked. */
export type CounterFilter = Pick<LogFilter, 'tenant' | 'tenants' | 'since'>;

export const DEFAULT_RETENTION = '90d';

/** Reading, counting and pruning the call log (the SQL is call-log-sql.ts's, which PostgreSQL runs too). */
export class CallLogQueries {
  constructor(private readonly db: Database) {}

  private all<Row>({ sql, params }: LogQuery): Row[] {
    return this.db.prepare(sql).all(...params) as Row[];
  }

  /** Newest first. */
  list(filter: LogFilter): LogRow[] {
    return this.all<StoredLogRow>(listQuery(filter, sqliteParameter)).map(logRowOf);
  }

  byId(id: number): LogRow | undefined {
    return this.all<StoredLogRow>(byIdQuery(id, sqliteParameter)).map(logRowOf)[0];
  }

  /** A page of a replay's calls, oldest first. */
  replayPage(range: ReplayRange, after: { readonly at: number; readonly id: number } | null, limit: number): LoggedCall[] {
    const { sql, params } = replayPageQuery(range, after, limit, sqliteParameter);
    return (this.db.prepare(sql).raw(true).all(...params) as StoredReplayRow[]).map(loggedCallOf);
  }

  /**
   * Moments that cut the calls of [from, until) into `parts` runs of about as many calls,
   * in order: a run is [one moment, the next). Fewer where calls share a moment; none when
   * there are fewer than `atLeast` calls.
   */
  replayBoundaries(period: { readonly from: number; readonly until: number }, parts: number, atLeast: number): number[] {
    const { calls } = this.all<{ calls: number }>(replayCountQuery(period, sqliteParameter))[0]!;
    if (calls < atLeast) return [];
    const moments: number[] = [];
    for (let part = 1; part < parts; part++) {
      const [row] = this.all<{ at: number }>(replayMomentQuery(period, Math.floor((calls * part) / parts), sqliteParameter));
      if (row && row.at > (moments[moments.length - 1] ?? period.from)) moments.push(row.at);
    }
    return moments;
  }

  /** The newest call to a DID (by index). */
  lastTo(did: string): LogRow | undefined {
    return this.all<StoredLogRow>(lastToQuery(did, sqliteParameter)).map(logRowOf)[0];
  }

  /**
   * The counters since a moment (or over the whole log): the whole hours from call_hours
   * (kept by the triggers of migration 007), the part of the first hour counted from the
   * calls themselves through the time or tenant index.
   */
  counters(filter: CounterFilter): Counters {
    return countersOf(counterQueries(filter, sqliteParameter).map((query) => this.all<CounterSums>(query)[0]!));
  }

  /** Calls per hour from `from` (a whole hour) for `hours` hours, oldest first, hours without calls included. */
  hourly(filter: Omit<CounterFilter, 'since'>, from: number, hours: number): HourBucket[] {
    return hourBuckets(this.all<HourSums>(hourlyQuery(filter, from, hours, sqliteParameter)), from, hours);
  }

  /** SQLite's plan for counting the part of an hour (EXPLAIN QUERY PLAN details): tests check that an index is used. */
  partialHourPlan(filter: CounterFilter & { since: number }): string[] {
    const { sql, params } = partialHourQuery(filter, sqliteParameter);
    return (this.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map((row) => row.detail);
  }

  retention(): string {
    return (this.db.prepare(RETENTION_QUERY).pluck().get() as string | undefined) ?? DEFAULT_RETENTION;
  }

  setRetention(duration: string, actor = 'system'): void {
    parseDuration(duration, 'retention');
    new SettingsStore(this.db, actor).set('log_retention', duration);
  }

  /** Deletes rows older than the retention; returns how many. */
  prune(now = Date.now()): number {
    const cutoff = now - parseDuration(this.retention(), 'retention');
    return this.db.prepare('DELETE FROM calls WHERE at < ?').run(cutoff).changes;
  }
}
