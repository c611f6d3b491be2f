import type { Pool } from 'pg';
import type { SettingBackend } from '../setting-backend';
import { auditedTransaction } from './audited-transaction';

/** SettingBackend on a fleet's PostgreSQL: the change and its audit entry in one transaction, as SettingsStore writes them. */
export class PostgresSettingBackend implements SettingBackend {
  constructor(
    private readonly pool: Pool,
    private readonly actor: string,
  ) {}

  set(key: string, value: string): Promise<void> {
    return auditedTransaction(this.pool, this.actor, async (client, audit) => {
      const { rows } = await client.query<{ value: string }>('SELECT value FROM settings WHERE key = $1 FOR UPDATE', [key]);
      await client.query('INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, value]);
      await audit(rows[0] ? 'change' : 'add', 'setting', key, rows[0]?.value ?? null, value);
    });
  }
}
