import type { Database, Statement } from 'better-sqlite3';
import type { CallerHistory, CarrierRule, CategoryPolicy, DecisionStore, DecisionView, ProtectionPolicy, RuleShape } from '../engine/decision-store';
import { scoreSettings } from '../engine/score-settings';
import { parseSchedule } from '../engine/time-window';
import type { Schedule } from '../engine/time-window';
import type { ScoreSettings } from '../engine/score-settings';
import type { ActiveRule, Category, E164, PolicyAction } from '../engine/types';
import { changeProbe } from './generation';
import { REMEMBER_PASSES } from './settings';

interface Snapshot {
  readonly shape: RuleShape;
  readonly didTenants: Map<string, string>;
  readonly policies: Map<string, CategoryPolicy>;
  readonly disabledLists: Set<string>;
  readonly remember: Map<string, number>;
  readonly protection: Map<string, ProtectionPolicy | null>;
  readonly carrierRules: readonly CarrierRule[];
  readonly carrierPrefixLengths: readonly number[];
  readonly score: ScoreSettings;
}

const RULE_COLUMNS = 'id, scope, kind, key, pattern, action, target, sms, span, list, expires_at AS expiresAt, updated_at AS updatedAt, when_text AS whenText, tz';

/** History from this agent's log. */
const OWN_CALLS = 'calls';
/** And from the calls the fleet's other agents logged: SQLite searches each table by its caller index (the WHERE is pushed into both). */
const FLEET_CALLS = '(SELECT caller, at, did, outcome, tenant FROM calls UNION ALL SELECT caller, at, did, outcome, tenant FROM followed_calls)';

const schedules = new Map<string, Schedule>();

/** Windows as stored (checked when written), parsed once. */
function scheduleOf(whenText: string | null, tz: string | null): Schedule | null {
  if (whenText === null || tz === null) return null;
  const key = `${tz}|${whenText}`;
  let schedule = schedules.get(key);
  if (!schedule) {
    schedule = parseSchedule(whenText, tz);
    if (schedules.size > 10_000) schedules.clear();
    schedules.set(key, schedule);
  }
  return schedule;
}



/**
 * What the decision engine reads, from SQLite. Rules are looked up per call by key
 * (never scanned); the small tables (DIDs, policies, list switches, which prefix
 * lengths exist) are cached and reloaded as soon as any connection changes them.
 */
export class SqliteDecisionStore implements DecisionStore {
  private readonly probe: () => string;
  private readonly byKeys = new Map<number, Statement>();
  private readonly carrierByPrefix = new Map<number, Statement>();
  private readonly velocity: Statement;
  private readonly challenges: Statement;
  private readonly passes: Statement;
  private seen = '';
  private snapshot: SnapshotView | undefined;

  /** `fleetHistory`: count the calls the other agents of a fleet logged too (followed-calls.ts), not only this agent's. */
  constructor(private readonly db: Database, options: { readonly fleetHistory?: boolean } = {}) {
    this.probe = changeProbe(db);
    const calls = options.fleetHistory ? FLEET_CALLS : OWN_CALLS;
    // Both read only index entries of one caller in a window: no scan, and bounded for a caller that calls a lot.
    this.velocity = db.prepare(`SELECT COUNT(*) AS calls, COUNT(DISTINCT did) AS dids FROM (SELECT did FROM ${calls} WHERE caller = ? AND at >= ? LIMIT 1000)`);
    this.challenges = db.prepare(`SELECT COALESCE(SUM(outcome = 'passed'), 0) AS passed, COALESCE(SUM(outcome = 'failed'), 0) AS failed
      FROM (SELECT outcome FROM ${calls} WHERE caller = ? AND at >= ? AND outcome IN ('passed', 'failed') LIMIT 100)`);
    this.passes = db
      .prepare(`SELECT at FROM ${calls} WHERE caller = ? AND at >= ? AND outcome IN ('passed', 'failed') AND outcome = 'passed' AND tenant = ? ORDER BY at DESC LIMIT 1`)
      .pluck();
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

  view(): DecisionView {
    const now = this.probe();
    if (!this.snapshot || now !== this.seen) {
      this.snapshot = new SnapshotView(this.load(), this);
      this.seen = now;
    }
    return this.snapshot;
  }

  rulesFor(keys: readonly string[], scopes: readonly string[], now: number, disabledLists: Set<string>): ActiveRule[] {
    if (keys.length === 0) return [];
    const rows = this.statementFor(keys.length).all(...keys) as (Omit<ActiveRule, 'sms' | 'schedule'> & { sms: number; whenText: string | null; tz: string | null })[];
    const active: ActiveRule[] = [];
    for (const { whenText, tz, ...row } of rows) {
      if (!scopes.includes(row.scope)) continue;
      if (row.expiresAt !== null && row.expiresAt <= now) continue;
      if (row.list !== null && disabledLists.has(row.list)) continue;
      active.push({ ...row, sms: row.sms === 1, schedule: scheduleOf(whenText, tz) });
    }
    return active;
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
    const shapeRows = this.db
      .prepare("SELECT DISTINCT kind, span FROM rules WHERE kind <> 'number'")
      .all() as { kind: string; span: number | null }[];
    const prefixLengths = new Set<number>();
    // Exact addresses (/32, /128) are always probed; the CIDR sizes rules use, besides.
    const networkBits = new Set<number>([32, 128]);
    for (const { kind, span } of shapeRows) {
      if (kind === 'prefix' && span !== null) prefixLengths.add(span + 1);
      if (kind === 'ip' && span !== null) networkBits.add(span);
    }
    const didTenants = new Map(
      (this.db.prepare('SELECT number, tenant FROM dids').all() as { number: string; tenant: string }[]).map((row) => [row.number, row.tenant]),
    );
    const policies = new Map(
      (
        this.db.prepare('SELECT scope, category, action, when_text AS whenText, tz FROM category_policies').all() as {
          scope: string;
          category: string;
          action: PolicyAction;
          whenText: string | null;
          tz: string | null;
        }[]
      ).map((row) => [`${row.scope}|${row.category}`, { action: row.action, scope: row.scope, schedule: scheduleOf(row.whenText, row.tz) }]),
    );
    const remember = new Map(
      (this.db.prepare('SELECT key, value FROM settings WHERE key LIKE ?').all(`${REMEMBER_PASSES}%`) as { key: string; value: string }[]).map((row) => [
        row.key.slice(REMEMBER_PASSES.length),
        Number(row.value),
      ]),
    );
    const disabledLists = new Set(this.db.prepare('SELECT name FROM lists WHERE enabled = 0').pluck().all() as string[]);
    const protection = new Map(
      (this.db.prepare('SELECT scope, enabled, threshold, flag_threshold AS flagThreshold, action FROM protection').all() as (ProtectionPolicy & { enabled: number })[]).map(
        ({ enabled, ...policy }) => [policy.scope, enabled === 1 ? policy : null],
      ),
    );
    const carrierRules = this.db.prepare('SELECT id, scope, pattern FROM carrier_rules ORDER BY id').all() as CarrierRule[];
    const carrierPrefixLengths = this.db.prepare('SELECT DISTINCT length(prefix) FROM carrier_prefixes').pluck().all() as number[];
    const score = scoreSettings(new Map(this.db.prepare('SELECT key, value FROM score_settings').all().map((row) => { const { key, value } = row as { key: string; value: string }; return [key, value]; })));
    return {
      shape: {
        prefixLengths: [...prefixLengths].sort((a, b) => a - b),
        networkBits: [...networkBits].sort((a, b) => a - b),
        hasSip: shapeRows.some((row) => row.kind === 'sip'),
        hasAnonymous: shapeRows.some((row) => row.kind === 'anonymous'),
      },
      didTenants,
      policies,
      disabledLists,
      remember,
      protection,
      carrierRules,
      carrierPrefixLengths: carrierPrefixLengths.sort((a, b) => b - a),
      score,
    };
  }
}

/** The cached small tables, plus per-call rule lookups through the live connection. */
class SnapshotView implements DecisionView {
  readonly shape: RuleShape;
  readonly score: ScoreSettings;

  constructor(private readonly snapshot: Snapshot, private readonly store: SqliteDecisionStore) {
    this.shape = snapshot.shape;
    this.score = snapshot.score;
  }

  protection(tenant: string): ProtectionPolicy | null {
    const { protection } = this.snapshot;
    const own = protection.get(`tenant:${tenant}`);
    return own !== undefined ? own : (protection.get('global') ?? null);
  }

  carrierRules(scopes: readonly string[]): readonly CarrierRule[] {
    return this.snapshot.carrierRules.filter((rule) => scopes.includes(rule.scope));
  }

  carrierOf(number: E164): string | null {
    return this.store.carrierOf(number, this.snapshot.carrierPrefixLengths);
  }

  history(number: E164, velocitySince: number, historySince: number): CallerHistory {
    return this.store.history(number, velocitySince, historySince);
  }

  tenantOfDid(did: E164): string {
    return this.snapshot.didTenants.get(did) ?? 'default';
  }

  categoryPolicies(tenant: string, category: Category): readonly CategoryPolicy[] {
    const { policies } = this.snapshot;
    const own = policies.get(`tenant:${tenant}|${category}`);
    const global = policies.get(`global|${category}`);
    return own && global ? [own, global] : own ? [own] : global ? [global] : [];
  }

  rememberPassesFor(tenant: string): number | null {
    const { remember } = this.snapshot;
    const ms = remember.get(`tenant:${tenant}`) ?? remember.get('global');
    return ms === undefined || ms <= 0 ? null : ms;
  }

  lastPass(number: E164, tenant: string, since: number): number | null {
    return this.store.lastPass(number, tenant, since);
  }

  rulesFor(keys: readonly string[], scopes: readonly string[], now: number): readonly ActiveRule[] {
    return this.store.rulesFor(keys, scopes, now, this.snapshot.disabledLists);
  }
}
