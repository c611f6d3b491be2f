import type { Pool } from 'pg';
import { parseDuration } from '../../engine/duration';
import type { CallLogBackend } from '../call-log-backend';
import { DEFAULT_RETENTION } from '../call-log-queries';
import type { CounterFilter, Counters, HourBucket, LogFilter, LogRow } from '../call-log-queries';
import { RETENTION_QUERY, replayPageQuery, loggedCallOf, byIdQuery, counterQueries, countersOf, hourBuckets, hourlyQuery, lastToQuery, listQuery, logRowOf, postgresParameter } from '../call-log-sql';
import type { CounterSums, HourSums, LogQuery, ReplayRange, StoredLogRow, StoredReplayRow } from '../call-log-sql';
import type { LoggedCall } from '../../replay/logged-call';
import { auditedTransaction } from './audited-transaction';
import { pruneCalls } from './fleet-housekeeping';
import { withPooledClient } from './pooled-client';

/**
 * CallLogBackend on a fleet's PostgreSQL: every agent's calls, as the shippers delivered
 * them. The same SQL as the SQLite file's (call-log-sql.ts) over the same columns; ids,
 * times and sums come back as numbers (pg-types.ts), so a row reads as SQLite's does. The
 * hourly sums are migration 003's call_hours, kept by its triggers.
 */
export class PostgresCallLogBackend implements CallLogBackend {
  constructor(
    private readonly pool: Pool,
    private readonly actor: string,
  ) {}

  private async all<Row>({ sql, params }: LogQuery): Promise<Row[]> {
    return (await this.pool.query(sql, params)).rows as Row[];
  }

  async list(filter: LogFilter): Promise<LogRow[]> {
    return (await this.all<StoredLogRow>(listQuery(filter, postgresParameter))).map(logRowOf);
  }

  async byId(id: number): Promise<LogRow | undefined> {
    return (await this.all<StoredLogRow>(byIdQuery(id, postgresParameter))).map(logRowOf)[0];
  }

  async replayPage(range: ReplayRange, after: { readonly at: number; readonly id: number } | null, limit: number): Promise<LoggedCall[]> {
    const { sql, params } = replayPageQuery(range, after, limit, postgresParameter);
    return ((await this.pool.query({ text: sql, values: params, rowMode: 'array' })).rows as unknown as StoredReplayRow[]).map(loggedCallOf);
  }

  async lastTo(did: string): Promise<LogRow | undefined> {
    return (await this.all<StoredLogRow>(lastToQuery(did, postgresParameter))).map(logRowOf)[0];
  }

  async counters(filter: CounterFilter): Promise<Counters> {
    const sums = await Promise.all(counterQueries(filter, postgresParameter).map(async (query) => (await this.all<CounterSums>(query))[0]!));
    return countersOf(sums);
  }

  async hourly(filter: Omit<CounterFilter, 'since'>, from: number, hours: number): Promise<HourBucket[]> {
    return hourBuckets(await this.all<HourSums>(hourlyQuery(filter, from, hours, postgresParameter)), from, hours);
  }

  async retention(): Promise<string> {
    return (await this.all<{ value: string }>({ sql: RETENTION_QUERY, params: [] }))[0]?.value ?? DEFAULT_RETENTION;
  }

  async setRetention(duration: string): Promise<void> {
    parseDuration(duration, 'retention');
    await auditedTransaction(this.pool, this.actor, async (client, audit) => {
      const { rows } = await client.query<{ value: string }>("SELECT value FROM settings WHERE key = 'log_retention' FOR UPDATE");
      await client.query("INSERT INTO settings (key, value) VALUES ('log_retention', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [duration]);
      await audit(rows[0] ? 'change' : 'add', 'setting', 'log_retention', rows[0]?.value ?? null, duration);
    });
  }

  /** A batch at a time, as the agents' hourly housekeeping prunes (each batch one short transaction). */
  async prune(now: number): Promise<number> {
    const cutoff = now - parseDuration(await this.retention(), 'retention');
    return withPooledClient(this.pool, (client) => pruneCalls(client, cutoff));
  }
}
