import type { Pool } from 'pg';
import type { CallerHistory, DecisionStore } from '../../engine/decision-store';
import type { ActiveRule, E164 } from '../../engine/types';
import { ALLOW_ONLY_SETTINGS, NAME_RULES, REPUTATION_SOURCES, RULE_COLUMNS, SnapshotView, activeRules, snapshotOf } from '../decision-snapshot';
import type { PerCallLookups, SnapshotRows, StoredActiveRule } from '../decision-snapshot';
import { REMEMBER_PASSES, TRUST_CALLBACKS } from '../settings';
import { OutboundCallsReadAhead } from '../outbound-calls-read-ahead';
import type { CallbackLookup } from '../../engine/trusted-callback';

/**
 * What one decision reads, straight from a fleet's PostgreSQL: for a question asked
 * away from any agent's local copy (explain on the command line). The engine is
 * synchronous and PostgreSQL is not, so the engine runs on what has been read; each
 * lookup it makes that was not read yet answers "nothing" and is noted, `readMissing`
 * reads what was noted, and the caller runs the engine again until it asks for nothing
 * new (a few rounds: the DID's tenant, then its rules, then the caller's history).
 */
export class PostgresDecisionReads implements DecisionStore, PerCallLookups {
  private readonly rules = new Map<string, StoredActiveRule[]>();
  private readonly histories = new Map<string, CallerHistory>();
  private readonly passes = new Map<string, number | null>();
  private readonly called = new Map<string, number | null>();
  private readonly carriers = new Map<string, string | null>();
  private missing: (() => Promise<void>)[] = [];
  /** Outbound calls read ahead for a batch of decisions; null: none. */
  private calledAhead: OutboundCallsReadAhead | null = null;
  private readonly snapshot: SnapshotView;

  private constructor(
    private readonly pool: Pool,
    rows: SnapshotRows,
  ) {
    this.snapshot = new SnapshotView(snapshotOf(rows), this);
  }

  /** Reads the small tables (DIDs, policies, lists, protection, carrier rules, settings) once. */
  static async open(pool: Pool): Promise<PostgresDecisionReads> {
    const all = async <T>(sql: string, params: unknown[] = []) => (await pool.query(sql, params)).rows as T[];
    const [shape, dids, monitored, allowOnly, policies, remember, trustCallbacks, disabledLists, protection, carrierRules, carrierPrefixLengths, scoreSettings] = await Promise.all([
      all<{ kind: string; span: number | null }>("SELECT DISTINCT kind, span FROM rules WHERE kind <> 'number'"),
      all<{ number: string; tenant: string }>('SELECT number, tenant FROM dids'),
      all<{ name: string }>("SELECT name FROM tenants WHERE mode = 'monitor'"),
      all<{ scope: string; action: string }>(ALLOW_ONLY_SETTINGS),
      all<SnapshotRows['policies'][number]>('SELECT scope, category, action, when_text AS "whenText", tz FROM category_policies'),
      all<{ key: string; value: string }>('SELECT key, value FROM settings WHERE starts_with(key, $1)', [REMEMBER_PASSES]),
      all<{ key: string; value: string }>('SELECT key, value FROM settings WHERE starts_with(key, $1)', [TRUST_CALLBACKS]),
      all<{ name: string }>('SELECT name FROM lists WHERE enabled = 0'),
      all<SnapshotRows['protection'][number]>('SELECT scope, enabled, threshold, flag_threshold AS "flagThreshold", action FROM protection'),
      all<SnapshotRows['carrierRules'][number]>('SELECT id, scope, pattern FROM carrier_rules ORDER BY id'),
      all<{ length: number }>('SELECT DISTINCT length(prefix) AS length FROM carrier_prefixes'),
      all<{ key: string; value: string }>('SELECT key, value FROM score_settings'),
    ]);
    // Name rules cannot be looked up by key: all of them, as a local copy's snapshot holds them.
    const nameRules = await all<StoredActiveRule>(NAME_RULES);
    const reputationSources = await all<SnapshotRows['reputationSources'][number]>(REPUTATION_SOURCES);
    return new PostgresDecisionReads(pool, {
      nameRules,
      shape,
      dids,
      monitored: monitored.map((row) => row.name),
      allowOnly,
      policies,
      remember,
      trustCallbacks,
      disabledLists: disabledLists.map((row) => row.name),
      protection,
      carrierRules,
      carrierPrefixLengths: carrierPrefixLengths.map((row) => row.length),
      scoreSettings,
      reputationSources,
    });
  }

  view(): SnapshotView {
    return this.snapshot;
  }

  /** Reads what the engine asked for and was not read yet; false when there was nothing. */
  async readMissing(): Promise<boolean> {
    const reads = this.missing;
    this.missing = [];
    await Promise.all(reads.map((read) => read()));
    return reads.length > 0;
  }

  /** Reads the rules of all these keys in one query (keeping only those), for the decisions that follow. */
  async preloadRules(keys: readonly string[]): Promise<void> {
    const { rows } = await this.pool.query<StoredActiveRule>(`SELECT ${RULE_COLUMNS} FROM rules WHERE key = ANY($1)`, [[...new Set(keys)]]);
    this.rules.clear();
    for (const key of keys) this.rules.set(key, []);
    for (const row of rows) this.rules.get(row.key)!.push(row);
  }

  rulesFor(keys: readonly string[], scopes: readonly string[], now: number, disabledLists: Set<string>): readonly ActiveRule[] {
    const unread = keys.filter((key) => !this.rules.has(key));
    if (unread.length > 0) {
      this.missing.push(async () => {
        const { rows } = await this.pool.query<StoredActiveRule>(`SELECT ${RULE_COLUMNS} FROM rules WHERE key = ANY($1)`, [unread]);
        for (const key of unread) this.rules.set(key, []);
        for (const row of rows) this.rules.get(row.key)!.push(row);
      });
      return [];
    }
    return activeRules(keys.flatMap((key) => this.rules.get(key)!), scopes, now, disabledLists);
  }

  history(number: E164, velocitySince: number, historySince: number): CallerHistory {
    return this.lookup(this.histories, `${number}|${velocitySince}|${historySince}`, { calls: 0, dids: 0, passed: 0, failed: 0 }, async () => {
      // Only index entries of one caller in a window, bounded as on SQLite.
      const velocity = await this.pool.query<{ calls: number; dids: number }>(
        'SELECT count(*)::int AS calls, count(DISTINCT did)::int AS dids FROM (SELECT did FROM calls WHERE caller = $1 AND at >= $2 LIMIT 1000) recent',
        [number, velocitySince],
      );
      const challenges = await this.pool.query<{ passed: number; failed: number }>(
        `SELECT count(*) FILTER (WHERE outcome = 'passed')::int AS passed, count(*) FILTER (WHERE outcome = 'failed')::int AS failed
         FROM (SELECT outcome FROM calls WHERE caller = $1 AND at >= $2 AND outcome IN ('passed', 'failed') LIMIT 100) recent`,
        [number, historySince],
      );
      return { ...velocity.rows[0]!, ...challenges.rows[0]! };
    });
  }

  lastPass(number: E164, tenant: string, since: number): number | null {
    return this.lookup(this.passes, `${number}|${tenant}|${since}`, null, async () => {
      const { rows } = await this.pool.query<{ at: number }>(
        "SELECT at FROM calls WHERE caller = $1 AND at >= $2 AND outcome IN ('passed', 'failed') AND outcome = 'passed' AND tenant = $3 ORDER BY at DESC LIMIT 1",
        [number, since, tenant],
      );
      return rows[0]?.at ?? null;
    });
  }

  /** Reads the outbound calls of all these lookups in one query, for the decisions that follow (replacing what was read ahead before). */
  async preloadCallbacks(lookups: readonly CallbackLookup[]): Promise<void> {
    const ahead = new OutboundCallsReadAhead(lookups);
    const { asked } = ahead;
    const { rows } = await this.pool.query<{ tenant: string; number: string; at: number }>(
      `SELECT o.tenant, o.number, o.at FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[]) AS j(tenant, number, since, until)
       JOIN outbound_calls o ON o.tenant = j.tenant AND o.number = j.number AND o.at >= j.since AND o.at <= j.until`,
      [asked.map((span) => span.tenant), asked.map((span) => span.number), asked.map((span) => span.since), asked.map((span) => span.now)],
    );
    for (const row of rows) ahead.add(row.tenant, row.number, row.at);
    this.calledAhead = ahead;
  }

  calledOn(tenant: string, number: E164, since: number, now: number): number | null {
    const readAhead = this.calledAhead?.newest(tenant, number, since, now);
    if (readAhead !== undefined) return readAhead;
    return this.lookup(this.called, `${tenant}|${number}|${since}|${now}`, null, async () => {
      const { rows } = await this.pool.query<{ at: number | null }>('SELECT max(at) AS at FROM outbound_calls WHERE tenant = $1 AND number = $2 AND at >= $3 AND at <= $4', [tenant, number, since, now]);
      return rows[0]?.at ?? null;
    });
  }

  carrierOf(number: E164, lengths: readonly number[]): string | null {
    const prefixes = lengths.filter((length) => length <= number.length).map((length) => number.slice(0, length));
    if (prefixes.length === 0) return null;
    return this.lookup(this.carriers, number, null, async () => {
      const { rows } = await this.pool.query<{ carrier: string }>('SELECT carrier FROM carrier_prefixes WHERE prefix = ANY($1) ORDER BY length(prefix) DESC LIMIT 1', [prefixes]);
      return rows[0]?.carrier ?? null;
    });
  }

  /** The answer read for `key`; else `meanwhile`, with the read noted for `readMissing`. */
  private lookup<T>(answers: Map<string, T>, key: string, meanwhile: T, read: () => Promise<T>): T {
    if (answers.has(key)) return answers.get(key)!;
    this.missing.push(async () => void answers.set(key, await read()));
    return meanwhile;
  }
}
