import type { Pool } from 'pg';
import type { Category, PolicyAction } from '../../engine/types';
import type { CategoryBackend } from '../category-backend';
import type { PolicyRow } from '../categories';
import { auditedTransaction } from './audited-transaction';

const COLUMNS = 'scope, category, action, when_text AS "when", tz';
/** Ordered as SQLite orders text: byte by byte. */
const ORDER = 'ORDER BY scope COLLATE "C", category COLLATE "C"';

/** CategoryBackend on a fleet's PostgreSQL: each write and its audit entry in one transaction. */
export class PostgresCategoryBackend implements CategoryBackend {
  constructor(
    private readonly pool: Pool,
    private readonly actor: string,
  ) {}

  async inScopes(scopes: readonly string[]): Promise<PolicyRow[]> {
    return (await this.pool.query<PolicyRow>(`SELECT ${COLUMNS} FROM category_policies WHERE scope = ANY($1) ${ORDER}`, [scopes])).rows;
  }

  async list(): Promise<PolicyRow[]> {
    return (await this.pool.query<PolicyRow>(`SELECT ${COLUMNS} FROM category_policies ${ORDER}`)).rows;
  }

  set(scope: string, category: Category, action: PolicyAction, window: { when: string; tz: string } | null, now: number): Promise<void> {
    return auditedTransaction(this.pool, this.actor, async (client, audit) => {
      const { rows } = await client.query<PolicyRow>(`SELECT ${COLUMNS} FROM category_policies WHERE scope = $1 AND category = $2 FOR UPDATE`, [scope, category]);
      await client.query(
        `INSERT INTO category_policies (scope, category, action, when_text, tz, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (scope, category) DO UPDATE SET action = excluded.action, when_text = excluded.when_text, tz = excluded.tz, updated_at = excluded.updated_at`,
        [scope, category, action, window?.when ?? null, window?.tz ?? null, now],
      );
      await audit(rows[0] ? 'change' : 'add', 'category', `${scope} ${category}`, rows[0] ?? null, { scope, category, action, when: window?.when ?? null, tz: window?.tz ?? null });
    });
  }

  remove(scope: string, category: Category): Promise<boolean> {
    return auditedTransaction(this.pool, this.actor, async (client, audit) => {
      const { rows } = await client.query<PolicyRow>(`DELETE FROM category_policies WHERE scope = $1 AND category = $2 RETURNING ${COLUMNS}`, [scope, category]);
      if (!rows[0]) return false;
      await audit('remove', 'category', `${scope} ${category}`, rows[0], null);
      return true;
    });
  }
}
