import type { LoggedCall } from '../replay/logged-call';
import type { Counters, CounterFilter, HourBucket, LogFilter, LogRow } from './call-log-queries';

/**
 * The call log's reads as SQL both dialects run alike (SQLite's file, a fleet's
 * PostgreSQL: the same tables, columns and call_counts/call_hours), with the parameters
 * written each dialect's way; and what turns their rows into the answers. One text for
 * both, so the two backends cannot drift apart in what a filter or a counter means.
 */

/** How a dialect writes its n-th parameter (from 1): SQLite `?`, PostgreSQL `$n`. */
export type Placeholder = (n: number) => string;
export const sqliteParameter: Placeholder = () => '?';
export const postgresParameter: Placeholder = (n) => `$${n}`;

export const HOUR_MS = 3_600_000;

export interface LogQuery {
  readonly sql: string;
  readonly params: (string | number)[];
}

/** The parameters of one statement, each given its placeholder as it is added. */
class Parameters {
  readonly values: (string | number)[] = [];
  constructor(private readonly mark: Placeholder) {}

  add(value: string | number): string {
    this.values.push(value);
    return this.mark(this.values.length);
  }

  list(values: readonly string[]): string {
    return values.map((value) => this.add(value)).join(', ');
  }
}

/** Quoted aliases: PostgreSQL would fold unquoted ones to lower case. */
const LOG_COLUMNS = `id, at, kind, source, pbx, tenant, did, caller, caller_raw AS "callerRaw", caller_name AS "callerName", ip, sip_from AS "sipFrom",
  action, target, rule_id AS "ruleId", category, score, flagged, reasons, outcome, outcome_detail AS "outcomeDetail"`;

/** The counters summed from call_counts or call_hours (where each is defined). */
const COUNTER_SUMS = `SUM(total) AS total, SUM(scanned) AS scanned, SUM(blocked) AS blocked, SUM(flagged) AS flagged,
  SUM(legitimate) AS legitimate, SUM(challenged) AS challenged, SUM(challenge_passed) AS "challengePassed",
  SUM(challenge_failed) AS "challengeFailed", SUM(forwarded) AS forwarded, SUM(forward_answered) AS "forwardAnswered",
  SUM(voicemail) AS voicemail`;

function tenantClause(filter: Pick<LogFilter, 'tenant' | 'tenants'>, params: Parameters): string {
  if (filter.tenant !== undefined) return `tenant = ${params.add(filter.tenant)}`;
  if (filter.tenants !== undefined) return filter.tenants.length ? `tenant IN (${params.list(filter.tenants)})` : 'FALSE';
  return 'TRUE';
}

function where(filter: LogFilter, params: Parameters): string {
  const clauses: string[] = [];
  if (filter.tenant !== undefined) clauses.push(`tenant = ${params.add(filter.tenant)}`);
  if (filter.ruleId !== undefined) clauses.push(`rule_id = ${params.add(filter.ruleId)}`);
  if (filter.action !== undefined) clauses.push(`action = ${params.add(filter.action)}`);
  if (filter.since !== undefined) clauses.push(`at >= ${params.add(filter.since)}`);
  if (filter.tenants !== undefined) clauses.push(tenantClause({ tenants: filter.tenants }, params));
  for (const [column, value] of [['did', filter.did], ['caller', filter.caller], ['outcome', filter.outcome]] as const) {
    if (value !== undefined) clauses.push(`${column} = ${params.add(value)}`);
  }
  if (filter.until !== undefined) clauses.push(`at < ${params.add(filter.until)}`);
  // The same order as the listing (at, then id), so a page never skips or repeats a call.
  if (filter.before !== undefined) clauses.push(`(at, id) < (${params.add(filter.before.at)}, ${params.add(filter.before.id)})`);
  return clauses.length ? ` WHERE ${clauses.join(' AND ')}` : '';
}

function logQuery(mark: Placeholder, tail: (params: Parameters) => string): LogQuery {
  const params = new Parameters(mark);
  return { sql: `SELECT ${LOG_COLUMNS} FROM calls${tail(params)}`, params: params.values };
}

/** Newest first, at most `filter.limit` (50 by default). */
export const listQuery = (filter: LogFilter, mark: Placeholder): LogQuery =>
  logQuery(mark, (params) => `${where(filter, params)} ORDER BY at DESC, id DESC LIMIT ${params.add(filter.limit ?? 50)}`);

export const byIdQuery = (id: number, mark: Placeholder): LogQuery => logQuery(mark, (params) => ` WHERE id = ${params.add(id)}`);

/** The newest call to a DID (by index). */
export const lastToQuery = (did: string, mark: Placeholder): LogQuery =>
  logQuery(mark, (params) => ` WHERE did = ${params.add(did)} ORDER BY at DESC, id DESC LIMIT 1`);

/** What a replay reads of a call, in this order: its facts, what was decided and what happened (agent/replay/logged-call.ts). */
const REPLAY_COLUMNS = 'id, at, kind, tenant, did, caller, caller_raw, caller_name, ip, sip_from, facts, action, rule_id, score, flagged, outcome, ended_at';

/**
 * Which logged calls a replay reads: from `from` until `until`; those before `velocitySince`
 * only if they are challenge outcomes, the rest of history that far back.
 */
export interface ReplayRange {
  readonly from: number;
  readonly until: number;
  readonly velocitySince: number;
}

/** One page of a replay's calls in time order (then id), after the call `after`. */
export function replayPageQuery(range: ReplayRange, after: { readonly at: number; readonly id: number } | null, limit: number, mark: Placeholder): LogQuery {
  const params = new Parameters(mark);
  // One lower bound on `at`, so that each page starts with a seek in the time index rather than a scan from the period's start.
  const clauses = [`at >= ${params.add(after ? Math.max(after.at, range.from) : range.from)}`, `at < ${params.add(range.until)}`];
  if (after) clauses.push(`NOT (at = ${params.add(after.at)} AND id <= ${params.add(after.id)})`);
  clauses.push(`(at >= ${params.add(range.velocitySince)} OR outcome IN ('passed', 'failed'))`);
  return { sql: `SELECT ${REPLAY_COLUMNS} FROM calls WHERE ${clauses.join(' AND ')} ORDER BY at, id LIMIT ${params.add(limit)}`, params: params.values };
}

/** How many calls a replay of [from, until) decides (through the time index). */
export function replayCountQuery(period: { readonly from: number; readonly until: number }, mark: Placeholder): LogQuery {
  const params = new Parameters(mark);
  return { sql: `SELECT count(*) AS calls FROM calls WHERE at >= ${params.add(period.from)} AND at < ${params.add(period.until)}`, params: params.values };
}

/** The moment of the call `offset` calls into [from, until), in time order (through the time index). */
export function replayMomentQuery(period: { readonly from: number; readonly until: number }, offset: number, mark: Placeholder): LogQuery {
  const params = new Parameters(mark);
  const sql = `SELECT at FROM calls WHERE at >= ${params.add(period.from)} AND at < ${params.add(period.until)} ORDER BY at LIMIT 1 OFFSET ${params.add(offset)}`;
  return { sql, params: params.values };
}

/** A replay's row as either database gives it, as an array in REPLAY_COLUMNS' order (the flag as 0/1): a replay reads a million, and arrays cost less than objects. */
export type StoredReplayRow = readonly [
  id: number, at: number, kind: LoggedCall['kind'], tenant: string, did: string | null, caller: string | null, callerRaw: string | null,
  callerName: string | null, ip: string | null, sipFrom: string | null, facts: string | null, action: LoggedCall['action'], ruleId: number | null,
  score: number | null, flagged: number, outcome: string | null, endedAt: number | null,
];

export const loggedCallOf = ([id, at, kind, tenant, did, caller, callerRaw, callerName, ip, sipFrom, facts, action, ruleId, score, flagged, outcome, endedAt]: StoredReplayRow): LoggedCall => ({
  id, at, kind, tenant, did, caller, callerRaw, callerName, ip, sipFrom, facts, action, ruleId, score, flagged: flagged === 1, outcome, endedAt,
});

/** A call-log row as either database gives it: the flag as 0/1, the reasons as JSON text. */
export type StoredLogRow = Omit<LogRow, 'flagged' | 'reasons'> & { flagged: number; reasons: string };

export const logRowOf = (row: StoredLogRow): LogRow => ({ ...row, flagged: row.flagged === 1, reasons: JSON.parse(row.reasons) as string[] });

/** The counters' sums as a statement gives them: null where no row was summed. */
export type CounterSums = Partial<Record<keyof Counters, number | null>>;

/** The first whole hour from `since` (an hour index), undefined over the whole log. */
const firstWholeHourOf = (filter: CounterFilter) => (filter.since === undefined ? undefined : Math.ceil(filter.since / HOUR_MS));

/** The calls between `filter.since` and the next whole hour, counted one by one through the time or tenant index. */
export function partialHourQuery(filter: CounterFilter & { since: number }, mark: Placeholder): LogQuery {
  const params = new Parameters(mark);
  const clauses = where({ tenant: filter.tenant, tenants: filter.tenants, since: filter.since, until: firstWholeHourOf(filter)! * HOUR_MS }, params);
  return { sql: `SELECT ${COUNTER_SUMS} FROM call_counts${clauses}`, params: params.values };
}

/**
 * The statements whose sums make the counters since a moment (or over the whole log):
 * the whole hours from call_hours (kept by the store's triggers), and the part of the
 * first hour counted from the calls themselves.
 */
export function counterQueries(filter: CounterFilter, mark: Placeholder): LogQuery[] {
  const firstWholeHour = firstWholeHourOf(filter);
  const params = new Parameters(mark);
  const tenants = tenantClause(filter, params);
  const hours = firstWholeHour === undefined ? '' : ` AND hour >= ${params.add(firstWholeHour)}`;
  const whole = { sql: `SELECT ${COUNTER_SUMS} FROM call_hours WHERE ${tenants}${hours}`, params: params.values };
  const partial = firstWholeHour !== undefined && filter.since! < firstWholeHour * HOUR_MS;
  return [whole, ...(partial ? [partialHourQuery({ ...filter, since: filter.since! }, mark)] : []), wouldBlockQuery(filter, mark)];
}

/** Calls monitor mode let through that would have been stopped, from their own index (the calls_monitored migrations). */
function wouldBlockQuery(filter: CounterFilter, mark: Placeholder): LogQuery {
  const params = new Parameters(mark);
  // Parameters are added in the order they appear (SQLite's are positional).
  const tenants = tenantClause(filter, params);
  const since = filter.since === undefined ? '' : ` AND at >= ${params.add(filter.since)}`;
  return { sql: `SELECT COUNT(*) AS "wouldBlock" FROM calls WHERE outcome = 'monitored' AND ${tenants}${since} AND action IN ('block', 'busy', 'disconnected')`, params: params.values };
}

/** The sums of counterQueries' statements, added up. */
export function countersOf(sums: readonly CounterSums[]): Counters {
  const totals = { total: 0, scanned: 0, blocked: 0, flagged: 0, legitimate: 0, challenged: 0, challengePassed: 0, challengeFailed: 0, forwarded: 0, forwardAnswered: 0, voicemail: 0, wouldBlock: 0 };
  // Each statement sums some of the counters; the others it leaves out.
  for (const part of sums) for (const key of Object.keys(totals) as (keyof Counters)[]) totals[key] += Number(part[key] ?? 0);
  return totals;
}

/** One hour of call_hours, summed over the tenants asked for. */
export type HourSums = Omit<HourBucket, 'at' | 'other'> & { hour: number };

/** Calls per hour from `from` (a whole hour) for `hours` hours: the hours that had calls (hourBuckets fills in the rest). */
export function hourlyQuery(filter: Omit<CounterFilter, 'since'>, from: number, hours: number, mark: Placeholder): LogQuery {
  const first = Math.floor(from / HOUR_MS);
  const params = new Parameters(mark);
  const tenants = tenantClause(filter, params);
  return {
    sql: `SELECT hour, SUM(total) AS total, SUM(blocked) AS blocked, SUM(flagged) AS flagged, SUM(legitimate) AS legitimate
            FROM call_hours WHERE ${tenants} AND hour >= ${params.add(first)} AND hour < ${params.add(first + hours)} GROUP BY hour`,
    params: params.values,
  };
}

/** Every hour from `from` for `hours` hours, oldest first, hours without calls included. */
export function hourBuckets(rows: readonly HourSums[], from: number, hours: number): HourBucket[] {
  const first = Math.floor(from / HOUR_MS);
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

export const RETENTION_QUERY = "SELECT value FROM settings WHERE key = 'log_retention'";
