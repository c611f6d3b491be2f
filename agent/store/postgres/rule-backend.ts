import type { Pool, PoolClient } from 'pg';
import type { E164, MatchKind } from '../../engine/types';
import type { RuleBackend, RulePageFilter } from '../rule-backend';
import { toRow } from '../rules';
import type { NewRule, RuleOptions, RuleRow } from '../rules';
import { auditedTransaction } from './audited-transaction';
import type { AuditRecorder } from './audited-transaction';

/** The columns of a RuleRow; aliases quoted, as PostgreSQL folds bare ones to lower case. */
const ROW_COLUMNS = `id, scope, kind, key, pattern, action, target, sms, note, list,
  expires_at AS "expiresAt", when_text AS "when", tz, created_at AS "createdAt", updated_at AS "updatedAt"`;

const UPSERT = `
  INSERT INTO rules (scope, kind, key, pattern, span, action, target, sms, note, list, expires_at, when_text, tz, created_at, updated_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)
  ON CONFLICT (key, kind, scope) DO UPDATE SET
    pattern = excluded.pattern, span = excluded.span, action = excluded.action, target = excluded.target,
    sms = excluded.sms, note = excluded.note, list = excluded.list, expires_at = excluded.expires_at,
    when_text = excluded.when_text, tz = excluded.tz, updated_at = excluded.updated_at
  RETURNING ${ROW_COLUMNS}`;

const ENSURE_LIST = 'INSERT INTO lists (name, enabled, created_at) VALUES ($1, 1, $2) ON CONFLICT (name) DO NOTHING';

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
        if (rule.list !== null) await client.query(ENSURE_LIST, [rule.list, now]);
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
      if (list !== null) await client.query(ENSURE_LIST, [list, now]);
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

  private async rowWhere(on: Pool | PoolClient, condition: string, values: unknown[]): Promise<RuleRow | undefined> {
    const { rows } = await on.query(`SELECT ${ROW_COLUMNS} FROM rules WHERE ${condition}`, values);
    return rows[0] === undefined ? undefined : toRow(rows[0] as Record<string, unknown>);
  }

  private inTransaction<T>(work: (client: PoolClient, audit: AuditRecorder) => Promise<T>): Promise<T> {
    return auditedTransaction(this.pool, this.actor, work);
  }
}
