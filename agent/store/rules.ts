import type { Database, Statement } from 'better-sqlite3';
import { BadInput } from '../engine/bad-input';
import type { MatchSpec } from '../engine/patterns';
import { checkName } from '../engine/scope';
import type { MatchKind, RuleAction } from '../engine/types';
import { AuditTrail } from './audit';
import { bumpGeneration } from './generation';
import { unknownTenant } from './tenants';

/** Everything about a rule other than what it matches. */
export interface RuleOptions {
  readonly scope: string;
  readonly action: RuleAction;
  readonly target: string | null;
  readonly sms: boolean;
  readonly note: string | null;
  readonly list: string | null;
  readonly expiresAt: number | null;
  /** Weekly windows when the rule takes part (`mon-fri 09:00-17:00`), read in `tz`; null: always. */
  readonly when?: string | null | undefined;
  readonly tz?: string | null | undefined;
}

export type NewRule = MatchSpec & RuleOptions;

/** A stored rule: what it matches, its options, and when it was made. */
export interface RuleRow extends RuleOptions {
  readonly id: number;
  readonly kind: MatchKind;
  readonly key: string;
  readonly pattern: string;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface RuleFilter {
  readonly scope?: string | undefined;
  readonly list?: string | undefined;
  readonly limit?: number | undefined;
  /** Only rules in one of these scopes (someone who may see some tenants only). */
  readonly scopes?: readonly string[] | undefined;
  /** The page after this rule id. */
  readonly afterId?: number | undefined;
}

export interface ListRow {
  readonly name: string;
  readonly enabled: boolean;
  readonly rules: number;
}

export const ROW_COLUMNS = `id, scope, kind, key, pattern, action, target, sms, note, list,
  expires_at AS expiresAt, when_text AS "when", tz, created_at AS createdAt, updated_at AS updatedAt`;

/** Joins the DID a rule's `did:` scope names (`d`), for the tenant holding it. */
const DID_OF_SCOPE = "LEFT JOIN dids d ON r.scope LIKE 'did:%' AND d.number = substr(r.scope, 5)";

export function toRow(raw: Record<string, unknown>): RuleRow {
  return { ...(raw as unknown as RuleRow), sms: raw.sms === 1 };
}

/**
 * Writes rules one statement at a time inside a transaction the caller holds open;
 * used by `rules add` and by streaming imports alike.
 */
export class RuleWriter {
  private readonly upsert: Statement;
  private readonly upsertQuietly: Statement;
  private readonly ensureList: Statement;
  private readonly tenantExists: Statement;
  private readonly existing: Statement;
  private readonly knownTenants = new Set<string>();
  private readonly knownLists = new Set<string>();

  constructor(
    db: Database,
    private readonly now: number,
    private readonly audit: AuditTrail,
  ) {
    this.existing = db.prepare(`SELECT ${ROW_COLUMNS} FROM rules WHERE key = ? AND kind = ? AND scope = ?`);
    const upsertSql = `
      INSERT INTO rules (scope, kind, key, pattern, span, action, target, sms, note, list, expires_at, when_text, tz, created_at, updated_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (key, kind, scope) DO UPDATE SET
        pattern = excluded.pattern, span = excluded.span, action = excluded.action, target = excluded.target,
        sms = excluded.sms, note = excluded.note, list = excluded.list, expires_at = excluded.expires_at,
        when_text = excluded.when_text, tz = excluded.tz, updated_at = excluded.updated_at`;
    this.upsert = db.prepare(`${upsertSql} RETURNING id`).pluck();
    this.upsertQuietly = db.prepare(upsertSql);
    this.ensureList = db.prepare('INSERT OR IGNORE INTO lists (name, enabled, created_at) VALUES (?, 1, ?)');
    this.tenantExists = db.prepare('SELECT 1 FROM tenants WHERE name = ?').pluck();
  }

  /** Adds or replaces the rule for this match in this scope, audited; returns its id. */
  write(rule: NewRule): number {
    this.check(rule);
    const before = this.existing.get(rule.key, rule.kind, rule.scope) as Record<string, unknown> | undefined;
    const id = this.upsert.get(...this.parameters(rule, rule)) as number;
    const { key, kind, pattern, scope, action, target, sms, note, list, expiresAt, when, tz } = rule;
    this.audit.record(before ? 'change' : 'add', 'rule', `#${id}`, before ? toRow(before) : null, {
      id, pattern, kind, key, scope, action, target, sms, note, list, expiresAt, when: when ?? null, tz: tz ?? null,
    });
    return id;
  }

  /** The same without reading the id back: the import path, a million times over. */
  writeQuietly(match: MatchSpec, options: RuleOptions): void {
    this.check(options);
    this.upsertQuietly.run(...this.parameters(match, options));
  }

  private parameters(match: MatchSpec, options: RuleOptions): unknown[] {
    const { scope, action, target, sms, note, list, expiresAt, when, tz } = options;
    return [scope, match.kind, match.key, match.pattern, match.span, action, target, sms ? 1 : 0, note, list, expiresAt, when ?? null, tz ?? null, this.now, this.now];
  }

  private check(rule: RuleOptions): void {
    if (rule.scope.startsWith('tenant:')) this.checkTenant(rule.scope.slice('tenant:'.length));
    if (rule.list !== null && !this.knownLists.has(rule.list)) {
      checkName(rule.list, 'list');
      this.ensureList.run(rule.list, this.now);
      this.knownLists.add(rule.list);
    }
  }

  private checkTenant(name: string): void {
    if (this.knownTenants.has(name)) return;
    if (!this.tenantExists.get(name)) throw unknownTenant(name);
    this.knownTenants.add(name);
  }
}

/** Number and address rules, and the lists that group them. */
export class RuleStore {
  private readonly audit: AuditTrail;

  constructor(
    private readonly db: Database,
    actor = 'system',
  ) {
    this.audit = new AuditTrail(db, actor);
  }

  /** All or nothing: one bad rule and none is written. */
  add(rules: readonly NewRule[], now = Date.now()): number[] {
    return this.inTransaction(now, (writer) => rules.map((rule) => writer.write(rule)));
  }

  /**
   * Runs `work` inside one IMMEDIATE transaction with a writer; commits if it answers, rolls
   * back if it throws. `work` may wait (an import streaming its file in between); work that
   * answers without waiting is committed without yielding, so no other statement (another
   * request's) can land inside the transaction. The import is audited as one entry (`label`,
   * the count `work` answers), not a million.
   */
  async bulk(now: number, label: string, work: (writer: RuleWriter) => number | Promise<number>): Promise<number> {
    // A bigger page cache while one transaction touches a large part of the rules index.
    const cacheSize = this.db.pragma('cache_size', { simple: true }) as number;
    this.db.pragma('cache_size = -65536');
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const answer = work(new RuleWriter(this.db, now, this.audit));
      const result = typeof answer === 'number' ? answer : await answer;
      this.audit.record('import', 'rule', label, null, { rules: result });
      bumpGeneration(this.db);
      this.db.exec('COMMIT');
      // Fold the big write into the database file now, so that a running agent's next small
      // commit does not inherit (and block its event loop on) a checkpoint of all of it.
      this.db.pragma('wal_checkpoint(PASSIVE)');
      return result;
    } catch (error) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      throw error;
    } finally {
      this.db.pragma(`cache_size = ${cacheSize}`);
    }
  }

  private inTransaction<T>(now: number, work: (writer: RuleWriter) => T): T {
    return this.db.transaction(() => {
      const result = work(new RuleWriter(this.db, now, this.audit));
      bumpGeneration(this.db);
      return result;
    }).immediate();
  }

  byId(id: number): RuleRow | undefined {
    const raw = this.db.prepare(`SELECT ${ROW_COLUMNS} FROM rules WHERE id = ?`).get(id) as Record<string, unknown> | undefined;
    return raw && toRow(raw);
  }

  byMatch(key: string, kind: MatchKind, scope?: string): RuleRow[] {
    const sql = `SELECT ${ROW_COLUMNS} FROM rules WHERE key = ? AND kind = ?` + (scope ? ' AND scope = ?' : '') + ' ORDER BY id';
    const params = scope ? [key, kind, scope] : [key, kind];
    return (this.db.prepare(sql).all(...params) as Record<string, unknown>[]).map(toRow);
  }

  /** Streams rules in id order, so a million-rule listing or export needs no memory. */
  *iterate(filter: RuleFilter = {}): Generator<RuleRow> {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (filter.scope !== undefined) {
      where.push('scope = ?');
      params.push(filter.scope);
    }
    if (filter.list !== undefined) {
      where.push('list = ?');
      params.push(filter.list);
    }
    if (filter.scopes !== undefined) {
      where.push(filter.scopes.length ? `scope IN (${filter.scopes.map(() => '?').join(', ')})` : '0');
      params.push(...filter.scopes);
    }
    if (filter.afterId !== undefined) {
      where.push('id > ?');
      params.push(filter.afterId);
    }
    let sql = `SELECT ${ROW_COLUMNS} FROM rules` + (where.length ? ` WHERE ${where.join(' AND ')}` : '') + ' ORDER BY id';
    if (filter.limit !== undefined) {
      sql += ' LIMIT ?';
      params.push(filter.limit);
    }
    for (const raw of this.db.prepare(sql).iterate(...params)) yield toRow(raw as Record<string, unknown>);
  }

  /** Removes the rules with these ids, audited; returns those there were. */
  removeIds(ids: readonly number[]): RuleRow[] {
    return this.db.transaction(() => {
      const remove = this.db.prepare('DELETE FROM rules WHERE id = ?');
      const removed: RuleRow[] = [];
      for (const id of ids) {
        const before = this.byId(id);
        if (!before) continue;
        remove.run(id);
        this.audit.record('remove', 'rule', `#${id}`, before, null);
        removed.push(before);
      }
      bumpGeneration(this.db);
      return removed;
    }).immediate();
  }

  /**
   * Changes what a rule does (its action, target, texts, note, list, expiry and window),
   * keeping what it matches and its scope; audited with before and after. Undefined when
   * there is no such rule.
   */
  update(id: number, options: Omit<RuleOptions, 'scope'>, now = Date.now()): RuleRow | undefined {
    return this.db.transaction(() => {
      const before = this.byId(id);
      if (!before) return undefined;
      if (options.list !== null) {
        checkName(options.list, 'list');
        this.db.prepare('INSERT OR IGNORE INTO lists (name, enabled, created_at) VALUES (?, 1, ?)').run(options.list, now);
      }
      const { action, target, sms, note, list, expiresAt, when, tz } = options;
      this.db
        .prepare('UPDATE rules SET action = ?, target = ?, sms = ?, note = ?, list = ?, expires_at = ?, when_text = ?, tz = ?, updated_at = ? WHERE id = ?')
        .run(action, target, sms ? 1 : 0, note, list, expiresAt, when ?? null, tz ?? null, now, id);
      const after = this.byId(id)!;
      this.audit.record('change', 'rule', `#${id}`, before, after);
      bumpGeneration(this.db);
      return after;
    }).immediate();
  }

  /** The scopes the rules of a list lie in, each once, with the tenant of a DID's scope (a list is switched as a whole, so all of them matter). */
  listScopes(name: string): { scope: string; didTenant: string | null }[] {
    return this.db
      .prepare(`SELECT DISTINCT r.scope, d.tenant AS didTenant FROM rules r ${DID_OF_SCOPE} WHERE r.list = ? ORDER BY r.scope`)
      .all(name) as { scope: string; didTenant: string | null }[];
  }

  /** Every list with its rules counted per scope (one row per list and scope; scope null for a list with no rules). */
  listsByScope(): { name: string; enabled: boolean; scope: string | null; didTenant: string | null; rules: number }[] {
    const rows = this.db
      .prepare(
        `SELECT l.name, l.enabled, r.scope, d.tenant AS didTenant, COUNT(r.id) AS rules FROM lists l LEFT JOIN rules r ON r.list = l.name ${DID_OF_SCOPE}
         GROUP BY l.name, r.scope ORDER BY l.name, r.scope`,
      )
      .all() as { name: string; enabled: number; scope: string | null; didTenant: string | null; rules: number }[];
    return rows.map((row) => ({ ...row, enabled: row.enabled === 1 }));
  }

  listExists(name: string): boolean {
    return !!this.db.prepare('SELECT 1 FROM lists WHERE name = ?').get(name);
  }

  setListEnabled(name: string, enabled: boolean): void {
    this.db.transaction(() => {
      const before = this.db.prepare('SELECT enabled FROM lists WHERE name = ?').pluck().get(name) as number | undefined;
      if (before === undefined) throw new BadInput(`unknown list "${name}": lists are made by 'rules add --list ${name}' or 'rules import --list ${name}'`);
      this.db.prepare('UPDATE lists SET enabled = ? WHERE name = ?').run(enabled ? 1 : 0, name);
      this.audit.record('change', 'list', name, { enabled: before === 1 }, { enabled });
      bumpGeneration(this.db);
    }).immediate();
  }

  lists(): ListRow[] {
    const rows = this.db
      .prepare('SELECT l.name, l.enabled, (SELECT COUNT(*) FROM rules r WHERE r.list = l.name) AS rules FROM lists l ORDER BY l.name')
      .all() as { name: string; enabled: number; rules: number }[];
    return rows.map((row) => ({ ...row, enabled: row.enabled === 1 }));
  }
}
