import type { Database, Statement } from 'better-sqlite3';
import type { CallerHistory, DecisionStore } from '../engine/decision-store';
import type { ActiveRule, E164 } from '../engine/types';
import { ALLOW_ONLY_SETTINGS, NAME_RULES, REPUTATION_SOURCES, RULE_COLUMNS, SnapshotView, activeRules, snapshotOf } from './decision-snapshot';
import type { PerCallLookups, Snapshot, SnapshotRows, StoredActiveRule } from './decision-snapshot';
import { changeProbe } from './generation';
import { OutboundCallsReadAhead } from './outbound-calls-read-ahead';
import type { CallbackLookup } from '../engine/trusted-callback';
import { REMEMBER_PASSES, TRUST_CALLBACKS } from './settings';

/** History from this agent's log. */
const OWN_CALLS = 'calls';
/** And from the calls the fleet's other agents logged: SQLite searches each table by its caller index (the WHERE is pushed into both). */
const FLEET_CALLS = '(SELECT caller, at, did, outcome, tenant FROM calls UNION ALL SELECT caller, at, did, outcome, tenant FROM followed_calls)';

/**
 * What the decision engine reads, from SQLite. Rules are looked up per call by key
 * (never scanned); the small tables (DIDs, policies, list switches, which prefix
 * lengths exist) are cached and reloaded as soon as any connection changes them.
 */
export class SqliteDecisionStore implements DecisionStore, PerCallLookups {
  private readonly probe: () => string;
  private readonly byKeys = new Map<number, Statement>();
  private readonly carrierByPrefix = new Map<number, Statement>();
  private readonly velocity: Statement;
  private readonly challenges: Statement;
  private readonly passes: Statement;
  private readonly called: Statement;
  private seen = '';
  private snapshot: SnapshotView | undefined;
  /** Rules read ahead by key for a batch of decisions (a replay's page); null: none. */
  private preloaded: Map<string, StoredActiveRule[]> | null = null;
  private readonly byKeyList: Statement;
  /** Outbound calls read ahead for a batch of decisions; null: none. */
  private calledAhead: OutboundCallsReadAhead | null = null;
  private readonly calledByList: Statement;

  /** `fleetHistory`: count the calls the other agents of a fleet logged too (followed-calls.ts), not only this agent's. */
  constructor(private readonly db: Database, options: { readonly fleetHistory?: boolean } = {}) {
    this.probe = changeProbe(db);
    this.byKeyList = db.prepare(`SELECT ${RULE_COLUMNS} FROM rules WHERE key IN (SELECT value FROM json_each(?))`);
    const calls = options.fleetHistory ? FLEET_CALLS : OWN_CALLS;
    // Both read only index entries of one caller in a window: no scan, and bounded for a caller that calls a lot.
    this.velocity = db.prepare(`SELECT COUNT(*) AS calls, COUNT(DISTINCT did) AS dids FROM (SELECT did FROM ${calls} WHERE caller = ? AND at >= ? LIMIT 1000)`);
    this.challenges = db.prepare(`SELECT COALESCE(SUM(outcome = 'passed'), 0) AS passed, COALESCE(SUM(outcome = 'failed'), 0) AS failed
      FROM (SELECT outcome FROM ${calls} WHERE caller = ? AND at >= ? AND outcome IN ('passed', 'failed') LIMIT 100)`);
    this.passes = db
      .prepare(`SELECT at FROM ${calls} WHERE caller = ? AND at >= ? AND outcome IN ('passed', 'failed') AND outcome = 'passed' AND tenant = ? ORDER BY at DESC LIMIT 1`)
      .pluck();
    // The newest index entry of (tenant, number) at or before `now`: one index search.
    this.called = db.prepare('SELECT max(at) FROM outbound_calls WHERE tenant = ? AND number = ? AND at >= ? AND at <= ?').pluck();
    // The same index search, for each [tenant, number, since, now] of a list.
    this.calledByList = db
      .prepare('SELECT o.tenant, o.number, o.at FROM json_each(?) j JOIN outbound_calls o ON o.tenant = j.value ->> 0 AND o.number = j.value ->> 1 AND o.at >= j.value ->> 2 AND o.at <= j.value ->> 3')
      .raw(true);
  }

  calledOn(tenant: string, number: E164, since: number, now: number): number | null {
    const readAhead = this.calledAhead?.newest(tenant, number, since, now);
    if (readAhead !== undefined) return readAhead;
    return (this.called.get(tenant, number, since, now) as number | null) ?? null;
  }

  /** Reads the outbound calls of all these lookups in one statement, for the decisions that follow (replacing what was read ahead before). */
  preloadCallbacks(lookups: readonly CallbackLookup[]): void {
    const ahead = new OutboundCallsReadAhead(lookups);
    const asked = JSON.stringify(ahead.asked.map((span) => [span.tenant, span.number, span.since, span.now]));
    for (const [tenant, number, at] of this.calledByList.all(asked) as [string, string, number][]) ahead.add(tenant, number, at);
    this.calledAhead = ahead;
  }

  lastPass(number: E164, tenant: string, since: number): number | null {
    return (this.passes.get(number, since, tenant) as number | undefined) ?? null;
  }

  history(number: E164, velocitySince: number, historySince: number): CallerHistory {
    const { calls, dids } = this.velocity.get(number, velocitySince) as { calls: number; dids: number };
    const { passed, failed } = this.challenges.get(number, historySince) as { passed: number; failed: number };
    return { calls, dids, passed, failed };
  }

  /** Longest matching prefix of the imported carrier table, probing only lengths it has. */
  carrierOf(number: E164, lengths: readonly number[]): string | null {
    const keys = lengths.filter((length) => length <= number.length).map((length) => number.slice(0, length));
    if (keys.length === 0) return null;
    let statement = this.carrierByPrefix.get(keys.length);
    if (!statement) {
      statement = this.db.prepare(`SELECT carrier FROM carrier_prefixes WHERE prefix IN (${keys.map(() => '?').join(', ')}) ORDER BY length(prefix) DESC LIMIT 1`).pluck();
      this.carrierByPrefix.set(keys.length, statement);
    }
    return (statement.get(...keys) as string | undefined) ?? null;
  }

  view(): SnapshotView {
    const now = this.probe();
    if (!this.snapshot || now !== this.seen) {
      this.snapshot = new SnapshotView(this.load(), this);
      this.seen = now;
    }
    return this.snapshot;
  }

  rulesFor(keys: readonly string[], scopes: readonly string[], now: number, disabledLists: Set<string>): ActiveRule[] {
    if (keys.length === 0) return [];
    const preloaded = this.preloaded;
    if (preloaded && keys.every((key) => preloaded.has(key))) return activeRules(keys.flatMap((key) => preloaded.get(key)!), scopes, now, disabledLists);
    return activeRules(this.statementFor(keys.length).all(...keys) as StoredActiveRule[], scopes, now, disabledLists);
  }

  /**
   * Reads the rules of all these keys in one statement, for the decisions that follow
   * (replacing what an earlier call read ahead, but keeping what it read of these keys):
   * one index search per key, without a statement per call.
   */
  preloadRules(keys: readonly string[]): void {
    const before = this.preloaded;
    const preloaded = new Map<string, StoredActiveRule[]>();
    const unread: string[] = [];
    for (const key of keys) {
      if (preloaded.has(key)) continue;
      // A key the batch before read too (a prefix many callers share) is not read again.
      const read = before?.get(key);
      preloaded.set(key, read ?? []);
      if (!read) unread.push(key);
    }
    if (unread.length > 0) for (const row of this.byKeyList.all(JSON.stringify(unread)) as StoredActiveRule[]) preloaded.get(row.key)!.push(row);
    this.preloaded = preloaded;
  }

  private statementFor(count: number): Statement {
    let statement = this.byKeys.get(count);
    if (!statement) {
      const placeholders = count === 1 ? '= ?' : `IN (${Array.from({ length: count }, () => '?').join(', ')})`;
      statement = this.db.prepare(`SELECT ${RULE_COLUMNS} FROM rules WHERE key ${placeholders}`);
      this.byKeys.set(count, statement);
    }
    return statement;
  }

  private load(): Snapshot {
    return snapshotOf({
      shape: this.db.prepare("SELECT DISTINCT kind, span FROM rules WHERE kind <> 'number'").all() as SnapshotRows['shape'],
      dids: this.db.prepare('SELECT number, tenant FROM dids').all() as SnapshotRows['dids'],
      monitored: this.db.prepare("SELECT name FROM tenants WHERE mode = 'monitor'").pluck().all() as string[],
      allowOnly: this.db.prepare(ALLOW_ONLY_SETTINGS).all() as SnapshotRows['allowOnly'],
      policies: this.db.prepare('SELECT scope, category, action, when_text AS whenText, tz FROM category_policies').all() as SnapshotRows['policies'],
      remember: this.db.prepare('SELECT key, value FROM settings WHERE key LIKE ?').all(`${REMEMBER_PASSES}%`) as SnapshotRows['remember'],
      trustCallbacks: this.db.prepare('SELECT key, value FROM settings WHERE key LIKE ?').all(`${TRUST_CALLBACKS}%`) as SnapshotRows['trustCallbacks'],
      disabledLists: this.db.prepare('SELECT name FROM lists WHERE enabled = 0').pluck().all() as string[],
      protection: this.db.prepare('SELECT scope, enabled, threshold, flag_threshold AS flagThreshold, action FROM protection').all() as SnapshotRows['protection'],
      carrierRules: this.db.prepare('SELECT id, scope, pattern FROM carrier_rules ORDER BY id').all() as SnapshotRows['carrierRules'],
      carrierPrefixLengths: this.db.prepare('SELECT DISTINCT length(prefix) FROM carrier_prefixes').pluck().all() as number[],
      scoreSettings: this.db.prepare('SELECT key, value FROM score_settings').all() as SnapshotRows['scoreSettings'],
      reputationSources: this.db.prepare(REPUTATION_SOURCES).all() as SnapshotRows['reputationSources'],
      nameRules: this.db.prepare(NAME_RULES).all() as StoredActiveRule[],
    });
  }
}
