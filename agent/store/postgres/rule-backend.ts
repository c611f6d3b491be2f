import type { Pool, PoolClient } from 'pg';
import type { E164, MatchKind } from '../../engine/types';
import type { ListInScope, ListScope, RuleBackend, RulePageFilter } from '../rule-backend';
import type { RuleImportWriter } from '../rule-import';
import { toRow } from '../rules';
import type { NewRule, RuleOptions, RuleRow } from '../rules';
import { auditedTransaction } from './audited-transaction';
import type { AuditRecorder } from './audited-transaction';
import { BatchedRuleWriter } from './rule-import-writer';
import { ENSURE_LISTS, REPLACE_ON_CONFLICT, RULE_INSERT } from './rule-upsert';

/** The columns of a RuleRow; aliases quoted, as PostgreSQL folds bare ones to lower case. */
export const ROW_COLUMNS = `id, scope, kind, key, pattern, action, target, sms, note, list,
  expires_at AS "expiresAt", when_text AS "when", tz, created_at AS "createdAt", updated_at AS "updatedAt"`;

const UPSERT = `${RULE_INSERT} VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) ${REPLACE_ON_CONFLICT} RETURNING ${ROW_COLUMNS}`;

/** Joins the DID a rule's `did:` scope names (`d`), for the tenant holding it. */
const DID_OF_SCOPE = "LEFT JOIN dids d ON r.scope LIKE 'did:%' AND d.number = substr(r.scope, 5)";

/** RuleBackend on a fleet's PostgreSQL: each write and its audit entries in one transaction. */
export class PostgresRuleBackend implements RuleBackend {
  constructor(
    private readonly pool: Pool,
    private readonly actor: string,
  ) {}

  async tenantExists(name: string): Promise<boolean> {
    return ((await this.pool.query('SELECT 1 FROM tenants WHERE name = $1', [name])).rowCount ?? 0) > 0;
  }

  async ownerOfDid(did: E164): Promise<string> {
    const { rows } = await this.pool.query<{ tenant: string }>('SELECT tenant FROM dids WHERE number = $1', [did]);
    return rows[0]?.tenant ?? 'default';
  }

  async didsOf(tenants: readonly string[]): Promise<E164[]> {
    const { rows } = await this.pool.query<{ number: E164 }>('SELECT number FROM dids WHERE tenant = ANY($1) ORDER BY number', [tenants]);
    return rows.map((row) => row.number);
  }

  add(rules: readonly NewRule[], now: number): Promise<RuleRow[]> {
    return this.inTransaction(async (client, audit) => {
      const added: RuleRow[] = [];
      for (const rule of rules) {
        if (rule.list !== null) await client.query(ENSURE_LISTS, [[rule.list], now]);
        const before = await this.rowWhere(client, 'key = $1 AND kind = $2 AND scope = $3 FOR UPDATE', [rule.key, rule.kind, rule.scope]);
        const { scope, kind, key, pattern, span, action, target, sms, note, list, expiresAt, when, tz } = rule;
        const { rows } = await client.query(UPSERT, [scope, kind, key, pattern, span, action, target, sms ? 1 : 0, note, list, expiresAt, when ?? null, tz ?? null, now]);
        const row = toRow(rows[0] as Record<string, unknown>);
        // The entry SQLite's RuleWriter writes, field for field.
        await audit(before ? 'change' : 'add', 'rule', `#${row.id}`, before ?? null, {
          id: row.id, pattern, kind, key, scope, action, target, sms, note, list, expiresAt, when: when ?? null, tz: tz ?? null,
        });
        added.push(row);
      }
      return added;
    });
  }

  async byId(id: number): Promise<RuleRow | undefined> {
    return this.rowWhere(this.pool, 'id = $1', [id]);
  }

  async byMatch(key: string, kind: MatchKind, scope?: string): Promise<RuleRow[]> {
    const { rows } = await this.pool.query(
      `SELECT ${ROW_COLUMNS} FROM rules WHERE key = $1 AND kind = $2${scope === undefined ? '' : ' AND scope = $3'} ORDER BY id`,
      scope === undefined ? [key, kind] : [key, kind, scope],
    );
    return rows.map(toRow);
  }

  async page(filter: RulePageFilter): Promise<RuleRow[]> {
    const where: string[] = [];
    const values: unknown[] = [];
    const bind = (value: unknown) => `$${values.push(value)}`;
    if (filter.scope !== undefined) where.push(`scope = ${bind(filter.scope)}`);
    if (filter.list !== undefined) where.push(`list = ${bind(filter.list)}`);
    if (filter.scopes !== undefined) where.push(`scope = ANY(${bind(filter.scopes)})`);
    if (filter.afterId !== undefined) where.push(`id > ${bind(filter.afterId)}`);
    const { rows } = await this.pool.query(
      `SELECT ${ROW_COLUMNS} FROM rules${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id LIMIT ${bind(filter.limit)}`,
      values,
    );
    return rows.map(toRow);
  }

  removeIds(ids: readonly number[]): Promise<RuleRow[]> {
    return this.inTransaction(async (client, audit) => {
      const { rows } = await client.query(`DELETE FROM rules WHERE id = ANY($1) RETURNING ${ROW_COLUMNS}`, [ids]);
      const removed = rows.map(toRow).sort((a, b) => ids.indexOf(a.id) - ids.indexOf(b.id));
      for (const rule of removed) await audit('remove', 'rule', `#${rule.id}`, rule, null);
      return removed;
    });
  }

  update(id: number, options: Omit<RuleOptions, 'scope'>, now: number): Promise<RuleRow | undefined> {
    return this.inTransaction(async (client, audit) => {
      const before = await this.rowWhere(client, 'id = $1 FOR UPDATE', [id]);
      if (!before) return undefined;
      const { action, target, sms, note, list, expiresAt, when, tz } = options;
      if (list !== null) await client.query(ENSURE_LISTS, [[list], now]);
      const { rows } = await client.query(
        `UPDATE rules SET action = $1, target = $2, sms = $3, note = $4, list = $5, expires_at = $6, when_text = $7, tz = $8, updated_at = $9
         WHERE id = $10 RETURNING ${ROW_COLUMNS}`,
        [action, target, sms ? 1 : 0, note, list, expiresAt, when ?? null, tz ?? null, now, id],
      );
      const after = toRow(rows[0] as Record<string, unknown>);
      await audit('change', 'rule', `#${id}`, before, after);
      return after;
    });
  }

  async listsByScope(): Promise<ListInScope[]> {
    const { rows } = await this.pool.query<Omit<ListInScope, 'enabled'> & { enabled: number }>(
      `SELECT l.name, l.enabled, r.scope, d.tenant AS "didTenant", count(r.id)::int AS rules FROM lists l LEFT JOIN rules r ON r.list = l.name ${DID_OF_SCOPE}
       GROUP BY l.name, l.enabled, r.scope, d.tenant ORDER BY l.name COLLATE "C", r.scope COLLATE "C"`,
    );
    return rows.map((row) => ({ ...row, enabled: row.enabled === 1 }));
  }

  async listExists(name: string): Promise<boolean> {
    return ((await this.pool.query('SELECT 1 FROM lists WHERE name = $1', [name])).rowCount ?? 0) > 0;
  }

  listScopes(name: string): Promise<ListScope[]> {
    return this.scopesOfList(this.pool, name);
  }

  setListEnabled(name: string, enabled: boolean, allow: (scopes: readonly ListScope[]) => void): Promise<boolean> {
    return this.inTransaction(async (client, audit) => {
      // The list's row locked first: a rule joining the list checks its foreign key with a
      // share of that lock, so it waits for this commit, and the scopes allowed below are the
      // scopes switched. The DIDs' owners are held too, for the same reason.
      const { rows } = await client.query<{ enabled: number }>('SELECT enabled FROM lists WHERE name = $1 FOR UPDATE', [name]);
      if (!rows[0]) return false;
      allow(await this.scopesOfList(client, name, true));
      await client.query('UPDATE lists SET enabled = $1 WHERE name = $2', [enabled ? 1 : 0, name]);
      await audit('change', 'list', name, { enabled: rows[0].enabled === 1 }, { enabled });
      return true;
    });
  }

  importRules(label: string, now: number, feed: (writer: RuleImportWriter) => number | Promise<number>): Promise<number> {
    return this.inTransaction(async (client, audit) => {
      const writer = new BatchedRuleWriter(client, now);
      const count = await feed(writer);
      await writer.flush();
      // One entry for the whole import, as on SQLite: the label and the rows it took.
      await audit('import', 'rule', label, null, { rules: count });
      return count;
    });
  }

  /** The scopes of a list's rules in byte order, each with the tenant of its DID (those DIDs share-locked when `lockDids`). */
  private async scopesOfList(on: Pool | PoolClient, name: string, lockDids = false): Promise<ListScope[]> {
    const { rows } = await on.query<{ scope: string }>('SELECT scope FROM rules WHERE list = $1 GROUP BY scope ORDER BY scope COLLATE "C"', [name]);
    const didOf = (scope: string) => (scope.startsWith('did:') ? scope.slice('did:'.length) : null);
    const dids = rows.flatMap(({ scope }) => didOf(scope) ?? []);
    const owners = dids.length === 0 ? [] : (await on.query<{ number: string; tenant: string }>(`SELECT number, tenant FROM dids WHERE number = ANY($1)${lockDids ? ' FOR SHARE' : ''}`, [dids])).rows;
    const tenantOf = new Map(owners.map((row) => [row.number, row.tenant]));
    return rows.map(({ scope }) => ({ scope, didTenant: tenantOf.get(didOf(scope) ?? '') ?? null }));
  }

  private async rowWhere(on: Pool | PoolClient, condition: string, values: unknown[]): Promise<RuleRow | undefined> {
    const { rows } = await on.query(`SELECT ${ROW_COLUMNS} FROM rules WHERE ${condition}`, values);
    return rows[0] === undefined ? undefined : toRow(rows[0] as Record<string, unknown>);
  }

  private inTransaction<T>(work: (client: PoolClient, audit: AuditRecorder) => Promise<T>): Promise<T> {
    return auditedTransaction(this.pool, this.actor, work);
  }
}
