import type { Pool, PoolClient } from 'pg';
import type { AllowRuleFilter, ProtectionBackend } from '../protection-backend';
import { carrierPattern, duplicateCarrier } from '../protection';
import type { CarrierRuleRow, ProtectionRow } from '../protection';
import { auditedTransaction } from './audited-transaction';

const PROTECTION_COLUMNS = 'scope, enabled, threshold, flag_threshold AS "flagThreshold", action';
const CARRIER_COLUMNS = 'id, scope, pattern';
/** Prefixes per INSERT: a NANPA file of hundreds of thousands goes in a few dozen statements. */
const PREFIX_BATCH = 10_000;

type StoredProtection = Omit<ProtectionRow, 'enabled'> & { enabled: number };
/** As SQLite's ProtectionStore reads a setting: `enabled` a boolean, the fields in the same order. */
const protectionOf = (row: StoredProtection): ProtectionRow => ({ ...row, enabled: row.enabled === 1 });

/**
 * ProtectionBackend on a fleet's PostgreSQL: each write and its audit entries in one
 * transaction, the entries those of SQLite's ProtectionStore field for field. Ordering is
 * `COLLATE "C"`, SQLite's byte order.
 */
export class PostgresProtectionBackend implements ProtectionBackend {
  constructor(
    private readonly pool: Pool,
    private readonly actor: string,
  ) {}

  async get(scope: string): Promise<ProtectionRow | undefined> {
    return this.protectionWhere(this.pool, scope, '');
  }

  async list(): Promise<ProtectionRow[]> {
    const { rows } = await this.pool.query<StoredProtection>(`SELECT ${PROTECTION_COLUMNS} FROM protection ORDER BY scope COLLATE "C"`);
    return rows.map(protectionOf);
  }

  set(row: ProtectionRow): Promise<void> {
    return auditedTransaction(this.pool, this.actor, async (client, audit) => {
      const before = await this.protectionWhere(client, row.scope, ' FOR UPDATE');
      await audit(before ? 'change' : 'add', 'protection', row.scope, before ?? null, row);
      await client.query(
        `INSERT INTO protection (scope, enabled, threshold, flag_threshold, action, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (scope) DO UPDATE SET enabled = excluded.enabled, threshold = excluded.threshold,
           flag_threshold = excluded.flag_threshold, action = excluded.action, updated_at = excluded.updated_at`,
        [row.scope, row.enabled ? 1 : 0, row.threshold, row.flagThreshold, row.action, Date.now()],
      );
    });
  }

  async tuned(): Promise<Map<string, string>> {
    const { rows } = await this.pool.query<{ key: string; value: string }>('SELECT key, value FROM score_settings');
    return new Map(rows.map((row) => [row.key, row.value]));
  }

  tune(key: string, value: string): Promise<void> {
    return auditedTransaction(this.pool, this.actor, async (client, audit) => {
      const { rows } = await client.query<{ value: string }>('SELECT value FROM score_settings WHERE key = $1 FOR UPDATE', [key]);
      const before = rows[0]?.value ?? null;
      await client.query('INSERT INTO score_settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, value]);
      await audit(before === null ? 'add' : 'change', 'setting', `score.${key}`, before, value);
    });
  }

  async carriers(): Promise<CarrierRuleRow[]> {
    return (await this.pool.query<CarrierRuleRow>(`SELECT ${CARRIER_COLUMNS} FROM carrier_rules ORDER BY scope COLLATE "C", pattern COLLATE "C"`)).rows;
  }

  async carrierById(id: number): Promise<CarrierRuleRow | undefined> {
    return (await this.pool.query<CarrierRuleRow>(`SELECT ${CARRIER_COLUMNS} FROM carrier_rules WHERE id = $1`, [id])).rows[0];
  }

  addCarrier(scope: string, pattern: string): Promise<CarrierRuleRow> {
    const lower = carrierPattern(pattern);
    return auditedTransaction(this.pool, this.actor, async (client, audit) => {
      // Looked for first, as SQLite does, so that a refused duplicate takes no id.
      if ((await client.query('SELECT 1 FROM carrier_rules WHERE scope = $1 AND pattern = $2', [scope, lower])).rowCount) throw duplicateCarrier(lower, scope);
      const { rows } = await client.query<CarrierRuleRow>(
        `INSERT INTO carrier_rules (scope, pattern, created_at) VALUES ($1, $2, $3) ON CONFLICT (scope, pattern) DO NOTHING RETURNING ${CARRIER_COLUMNS}`,
        [scope, lower, Date.now()],
      );
      const row = rows[0];
      if (!row) throw duplicateCarrier(lower, scope); // added by another writer meanwhile; this transaction ends with its connection
      await audit('add', 'carrier', `#${row.id}`, null, { id: row.id, scope, pattern: lower });
      return row;
    });
  }

  removeCarrierIds(ids: readonly number[]): Promise<CarrierRuleRow[]> {
    return auditedTransaction(this.pool, this.actor, async (client, audit) => {
      const { rows } = await client.query<CarrierRuleRow>(`DELETE FROM carrier_rules WHERE id = ANY($1) RETURNING ${CARRIER_COLUMNS}`, [ids]);
      const removed = rows.sort((a, b) => ids.indexOf(a.id) - ids.indexOf(b.id));
      for (const row of removed) await audit('remove', 'carrier', `#${row.id}`, row, null);
      return removed;
    });
  }

  async replacePrefixes(rows: Iterable<readonly [prefix: string, carrier: string]>, label = 'carrier prefixes'): Promise<number> {
    // Read before the transaction opens; a repeated prefix keeps its last carrier, as SQLite's upsert does.
    const carrierOf = new Map<string, string>();
    let count = 0;
    for (const [prefix, carrier] of rows) {
      carrierOf.set(prefix, carrier);
      count++;
    }
    const prefixes = [...carrierOf.keys()];
    return auditedTransaction(this.pool, this.actor, async (client, audit) => {
      const { rows: counted } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM carrier_prefixes');
      await client.query('DELETE FROM carrier_prefixes');
      for (let at = 0; at < prefixes.length; at += PREFIX_BATCH) {
        const batch = prefixes.slice(at, at + PREFIX_BATCH);
        await client.query('INSERT INTO carrier_prefixes (prefix, carrier) SELECT * FROM unnest($1::text[], $2::text[])', [batch, batch.map((prefix) => carrierOf.get(prefix))]);
      }
      await audit('import', 'carrier', label, { prefixes: counted[0]!.n }, { prefixes: count });
      return count;
    });
  }

  async allowRuleIds(filter: AllowRuleFilter): Promise<number[]> {
    const values: unknown[] = [];
    const bind = (value: unknown) => `$${values.push(value)}`;
    const where = ["action = 'allow'"];
    if (filter.scopes !== undefined) where.push(`scope = ANY(${bind(filter.scopes)})`);
    if (filter.afterId !== undefined) where.push(`id > ${bind(filter.afterId)}`);
    const { rows } = await this.pool.query<{ id: number }>(`SELECT id FROM rules WHERE ${where.join(' AND ')} ORDER BY id LIMIT ${bind(filter.limit)}`, values);
    return rows.map((row) => row.id);
  }

  private async protectionWhere(on: Pool | PoolClient, scope: string, lock: string): Promise<ProtectionRow | undefined> {
    const { rows } = await on.query<StoredProtection>(`SELECT ${PROTECTION_COLUMNS} FROM protection WHERE scope = $1${lock}`, [scope]);
    return rows[0] && protectionOf(rows[0]);
  }
}
