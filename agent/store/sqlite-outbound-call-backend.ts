import type { Database, Statement } from 'better-sqlite3';
import { DEFAULT_TRUST_CALLBACKS_MS } from '../engine/trusted-callback';
import type { E164 } from '../engine/types';
import type { OutboundCall, OutboundCallBackend } from './outbound-call-backend';
import { TRUST_CALLBACKS } from './settings';

/** OutboundCallBackend on the SQLite file. No generation bump: decisions look outbound calls up per call, not from the cached snapshot. */
export class SqliteOutboundCallBackend implements OutboundCallBackend {
  private readonly didTenant: Statement;
  private readonly tenant: Statement;
  private readonly insert: Statement;
  private readonly remove: Statement;

  constructor(db: Database) {
    this.didTenant = db.prepare('SELECT tenant FROM dids WHERE number = ?').pluck();
    this.tenant = db.prepare('SELECT 1 FROM tenants WHERE name = ?').pluck();
    this.insert = db.prepare('INSERT INTO outbound_calls (tenant, number, caller, at) VALUES (?, ?, ?, ?)');
    this.remove = db.prepare('DELETE FROM outbound_calls WHERE at < ? - max(?, (SELECT IFNULL(max(CAST(value AS INTEGER)), 0) FROM settings WHERE key LIKE ?))');
  }

  async tenantOfDid(number: E164): Promise<string | null> {
    return (this.didTenant.get(number) as string | undefined) ?? null;
  }

  async tenantExists(name: string): Promise<boolean> {
    return this.tenant.get(name) !== undefined;
  }

  async record(call: OutboundCall): Promise<void> {
    this.insert.run(call.tenant, call.number, call.caller, call.at);
  }

  async prune(now: number): Promise<number> {
    return this.remove.run(now, DEFAULT_TRUST_CALLBACKS_MS, `${TRUST_CALLBACKS}%`).changes;
  }
}
