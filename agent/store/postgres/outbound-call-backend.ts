import type { Pool } from 'pg';
import { DEFAULT_TRUST_CALLBACKS_MS } from '../../engine/trusted-callback';
import type { E164 } from '../../engine/types';
import type { OutboundCall, OutboundCallBackend } from '../outbound-call-backend';
import { TRUST_CALLBACKS } from '../settings';

/** OutboundCallBackend on a fleet's PostgreSQL: each row reaches every agent's local copy through the change feed. */
export class PostgresOutboundCallBackend implements OutboundCallBackend {
  constructor(private readonly pool: Pool) {}

  async tenantOfDid(number: E164): Promise<string | null> {
    const { rows } = await this.pool.query<{ tenant: string }>('SELECT tenant FROM dids WHERE number = $1', [number]);
    return rows[0]?.tenant ?? null;
  }

  async tenantExists(name: string): Promise<boolean> {
    const { rows } = await this.pool.query('SELECT 1 FROM tenants WHERE name = $1', [name]);
    return rows.length > 0;
  }

  async record(call: OutboundCall): Promise<void> {
    await this.pool.query('INSERT INTO outbound_calls (tenant, number, caller, at) VALUES ($1, $2, $3, $4)', [call.tenant, call.number, call.caller, call.at]);
  }

  async prune(now: number): Promise<number> {
    const { rowCount } = await this.pool.query(
      'DELETE FROM outbound_calls WHERE at < $1::bigint - greatest($2::bigint, (SELECT coalesce(max(value::bigint), 0) FROM settings WHERE starts_with(key, $3)))',
      [now, DEFAULT_TRUST_CALLBACKS_MS, TRUST_CALLBACKS],
    );
    return rowCount ?? 0;
  }
}
