import type { Database } from 'better-sqlite3';
import type { AllowOnlyAction, DidAllowOnly } from '../engine/allow-only';
import type { E164 } from '../engine/types';
import type { TenantBackend } from './tenant-backend';
import { TenantStore } from './tenants';
import type { DidAllowOnlyChange, DidRegistration, DidRow, TenantHoldings, TenantMode, TenantRow } from './tenants';

/** TenantBackend on the SQLite file; each method does its work without yielding. */
export class SqliteTenantBackend implements TenantBackend {
  private readonly store: TenantStore;

  constructor(db: Database, actor: string) {
    this.store = new TenantStore(db, actor);
  }

  async tenantExists(name: string): Promise<boolean> {
    return this.store.exists(name);
  }

  async listTenants(): Promise<TenantRow[]> {
    return this.store.list();
  }

  async listDids(tenant?: string): Promise<DidRow[]> {
    return this.store.listDids(tenant);
  }

  async setMode(name: string, mode: TenantMode): Promise<boolean> {
    return this.store.setMode(name, mode);
  }

  async setAllowOnly(name: string, action: AllowOnlyAction | null): Promise<boolean> {
    return this.store.setAllowOnly(name, action);
  }

  async setDidAllowOnly(tenant: string, number: E164, setting: DidAllowOnly | null): Promise<DidAllowOnlyChange> {
    return this.store.setDidAllowOnly(tenant, number, setting);
  }

  async addTenant(name: string, now: number): Promise<boolean> {
    return this.store.add(name, now);
  }

  async removeTenant(name: string, allow: (holds: TenantHoldings) => void): Promise<TenantHoldings | undefined> {
    return this.store.remove(name, allow);
  }

  async addDid(number: E164, tenant: string, now: number): Promise<DidRegistration> {
    return this.store.addDid(number, tenant, now);
  }

  async removeDid(number: E164): Promise<string | undefined> {
    return this.store.removeDid(number);
  }
}
