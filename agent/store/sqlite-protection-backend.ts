import type { Database } from 'better-sqlite3';
import type { AllowRuleFilter, ProtectionBackend, ProtectionStores } from './protection-backend';
import { ProtectionStore } from './protection';
import type { CarrierRuleRow, ProtectionRow } from './protection';
import { SqliteRuleBackend } from './sqlite-rule-backend';
import { SqliteTenantBackend } from './sqlite-tenant-backend';

/** ProtectionBackend on the SQLite file; each method does its work without yielding. */
export class SqliteProtectionBackend implements ProtectionBackend {
  private readonly store: ProtectionStore;

  constructor(db: Database, actor: string) {
    this.store = new ProtectionStore(db, actor);
  }

  async get(scope: string): Promise<ProtectionRow | undefined> {
    return this.store.get(scope);
  }

  async list(): Promise<ProtectionRow[]> {
    return this.store.list();
  }

  async set(row: ProtectionRow): Promise<void> {
    this.store.set(row);
  }

  async tuned(): Promise<Map<string, string>> {
    return this.store.tuned();
  }

  async tune(key: string, value: string): Promise<void> {
    this.store.tune(key, value);
  }

  async carriers(): Promise<CarrierRuleRow[]> {
    return this.store.carriers();
  }

  async carrierById(id: number): Promise<CarrierRuleRow | undefined> {
    return this.store.carrierById(id);
  }

  async addCarrier(scope: string, pattern: string): Promise<CarrierRuleRow> {
    return this.store.carrierById(this.store.addCarrier(scope, pattern))!;
  }

  async removeCarrierIds(ids: readonly number[]): Promise<CarrierRuleRow[]> {
    return this.store.removeCarrierIds(ids);
  }

  async replacePrefixes(rows: Iterable<readonly [prefix: string, carrier: string]>, label?: string): Promise<number> {
    return this.store.replacePrefixes(rows, label);
  }

  async allowRuleIds(filter: AllowRuleFilter): Promise<number[]> {
    return this.store.allowRuleIds(filter);
  }
}

/** The protection operations' stores on a SQLite file, audited as `actor`. */
export function sqliteProtectionStores(db: Database, actor: string): ProtectionStores {
  return { protection: new SqliteProtectionBackend(db, actor), rules: new SqliteRuleBackend(db, actor), tenants: new SqliteTenantBackend(db, actor) };
}
