import type { Database } from 'better-sqlite3';
import { parseDuration } from '../engine/duration';
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

export const HOUR_MS = 3_600_000;

/** Whose calls, since when: what the counters can be asked. */
export type CounterFilter = Pick<LogFilter, 'tenant' | 'tenants' | 'since'>;

/** The counters summed from call_counts or call_hours (migration 007, where each is defined). */
const COUNTER_SUMS = `SUM(total) AS total, SUM(scanned) AS scanned, SUM(blocked) AS blocked, SUM(flagged) AS flagged,
  SUM(legitimate) AS legitimate, SUM(challenged) AS challenged, SUM(challenge_passed) AS challengePassed,
  SUM(challenge_failed) AS challengeFailed, SUM(forwarded) AS forwarded, SUM(forward_answered) AS forwardAnswered,
  SUM(voicemail) AS voicemail`;

export const DEFAULT_RETENTION = '90d';

const LOG_COLUMNS = `id, at, kind, source, tenant, did, caller, caller_raw AS callerRaw, caller_name AS callerName, ip, sip_from AS sipFrom,
  action, target, rule_id AS ruleId, category, score, flagged, reasons, outcome, outcome_detail AS outcomeDetail`;

/** Reading, counting and pruning the call log. */
export class CallLogQueries {
  constructor(private readonly db: Database) {}

  private where(filter: LogFilter): { sql: string; params: (string | number)[] } {
    const clauses: string[] = [];
    const params: (string | number)[] = [];
    if (filter.tenant !== undefined) {
      clauses.push('tenant = ?');
      params.push(filter.tenant);
    }
    if (filter.ruleId !== undefined) {
      clauses.push('rule_id = ?');
      params.push(filter.ruleId);
    }
    if (filter.action !== undefined) {
      clauses.push('action = ?');
      params.push(filter.action);
    }
    if (filter.since !== undefined) {
      clauses.push('at >= ?');
      params.push(filter.since);
    }
    if (filter.tenants !== undefined) {
      clauses.push(filter.tenants.length ? `tenant IN (${filter.tenants.map(() => '?').join(', ')})` : '0');
      params.push(...filter.tenants);
    }
    for (const [column, value] of [['did', filter.did], ['caller', filter.caller], ['outcome', filter.outcome]] as const) {
      if (value === undefined) continue;
      clauses.push(`${column} = ?`);
      params.push(value);
    }
    if (filter.until !== undefined) {
      clauses.push('at < ?');
      params.push(filter.until);
    }
    if (filter.before !== undefined) {
      // The same order as the listing (at, then id), so a page never skips or repeats a call.
      clauses.push('(at, id) < (?, ?)');
      params.push(filter.before.at, filter.before.id);
    }
    return { sql: clauses.length ? ` WHERE ${clauses.join(' AND ')}` : '', params };
  }

  /** Newest first. */
  list(filter: LogFilter): LogRow[] {
    const { sql, params } = this.where(filter);
    return this.rows(`${sql} ORDER BY at DESC, id DESC LIMIT ?`, [...params, filter.limit ?? 50]);
  }

  byId(id: number): LogRow | undefined {
    return this.rows(' WHERE id = ?', [id])[0];
  }

  /** The newest call to a DID (by index). */
  lastTo(did: string): LogRow | undefined {
    return this.rows(' WHERE did = ? ORDER BY at DESC, id DESC LIMIT 1', [did])[0];
  }

  private rows(tail: string, params: readonly (string | number)[]): LogRow[] {
    const rows = this.db.prepare(`SELECT ${LOG_COLUMNS} FROM calls${tail}`).all(...params) as (Omit<LogRow, 'flagged' | 'reasons'> & { flagged: number; reasons: string })[];
    return rows.map((row) => ({ ...row, flagged: row.flagged === 1, reasons: JSON.parse(row.reasons) as string[] }));
  }

  /**
   * The counters since a moment (or over the whole log): the whole hours from call_hours
   * (kept by the triggers of migration 007), the part of the first hour counted from the
   * calls themselves through the time or tenant index.
   */
  counters(filter: CounterFilter): Counters {
    const firstWholeHour = filter.since === undefined ? undefined : Math.ceil(filter.since / HOUR_MS);
    const { sql: tenants, params } = this.tenantClause(filter);
    const whole = this.db
      .prepare(`SELECT ${COUNTER_SUMS} FROM call_hours WHERE ${tenants}${firstWholeHour === undefined ? '' : ' AND hour >= ?'}`)
      .get(...params, ...(firstWholeHour === undefined ? [] : [firstWholeHour])) as Record<keyof Counters, number | null>;
    const totals = Object.fromEntries(Object.entries(whole).map(([key, value]) => [key, value ?? 0])) as Record<keyof Counters, number>;
    if (firstWholeHour !== undefined && filter.since! < firstWholeHour * HOUR_MS) {
      const { sql, params } = this.partialHourSql(filter, firstWholeHour);
      const part = this.db.prepare(sql).get(...params) as Record<keyof Counters, number | null>;
      for (const key of Object.keys(totals) as (keyof Counters)[]) totals[key] += part[key] ?? 0;
    }
    return totals;
  }

  /** Calls per hour from `from` (a whole hour) for `hours` hours, oldest first, hours without calls included. */
  hourly(filter: Omit<CounterFilter, 'since'>, from: number, hours: number): HourBucket[] {
    const first = Math.floor(from / HOUR_MS);
    const { sql: tenants, params } = this.tenantClause(filter);
    const rows = this.db
      .prepare(
        `SELECT hour, SUM(total) AS total, SUM(blocked) AS blocked, SUM(flagged) AS flagged, SUM(legitimate) AS legitimate
           FROM call_hours WHERE ${tenants} AND hour >= ? AND hour < ? GROUP BY hour`,
      )
      .all(...params, first, first + hours) as (Omit<HourBucket, 'at' | 'other'> & { hour: number })[];
    const byHour = new Map(rows.map((row) => [row.hour, row]));
    return Array.from({ length: hours }, (_, i) => {
      const row = byHour.get(first + i);
      const total = row?.total ?? 0;
      const blocked = row?.blocked ?? 0;
      const flagged = row?.flagged ?? 0;
      const legitimate = row?.legitimate ?? 0;
      return { at: (first + i) * HOUR_MS, total, blocked, flagged, legitimate, other: total - blocked - flagged - legitimate };
    });
  }

  /** The calls between `filter.since` and the next whole hour, counted one by one. */
  private partialHourSql(filter: CounterFilter, firstWholeHour: number): { sql: string; params: (string | number)[] } {
    const { sql, params } = this.where({ tenant: filter.tenant, tenants: filter.tenants, since: filter.since, until: firstWholeHour * HOUR_MS });
    return { sql: `SELECT ${COUNTER_SUMS} FROM call_counts${sql}`, params };
  }

  private tenantClause(filter: Pick<LogFilter, 'tenant' | 'tenants'>): { sql: string; params: string[] } {
    if (filter.tenant !== undefined) return { sql: 'tenant = ?', params: [filter.tenant] };
    if (filter.tenants !== undefined) return { sql: filter.tenants.length ? `tenant IN (${filter.tenants.map(() => '?').join(', ')})` : '0', params: [...filter.tenants] };
    return { sql: '1', params: [] };
  }

  /** SQLite's plan for counting the part of an hour (EXPLAIN QUERY PLAN details): tests check that an index is used. */
  partialHourPlan(filter: CounterFilter & { since: number }): string[] {
    const { sql, params } = this.partialHourSql(filter, Math.ceil(filter.since / HOUR_MS));
    return (this.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map((row) => row.detail);
  }

  retention(): string {
    return (this.db.prepare("SELECT value FROM settings WHERE key = 'log_retention'").pluck().get() as string | undefined) ?? DEFAULT_RETENTION;
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
