import type { Database } from 'better-sqlite3';
import { BadInput } from '../engine/bad-input';
import { checkTenantName } from '../engine/scope';
import type { AllowOnlyAction, DidAllowOnly } from '../engine/allow-only';
import type { E164 } from '../engine/types';
import { AuditTrail } from './audit';
import { bumpGeneration } from './generation';

/** Enforce: calls are screened. Monitor: calls are decided and logged, and let through. */
export const TENANT_MODES = ['enforce', 'monitor'] as const;
export type TenantMode = (typeof TENANT_MODES)[number];

export interface TenantRow {
  readonly name: string;
  readonly mode: TenantMode;
  /** Allow-only mode: what callers no allow rule lets through get; null: off. */
  readonly allowOnly: AllowOnlyAction | null;
  readonly dids: number;
  readonly rules: number;
}

export interface DidRow {
  readonly number: E164;
  readonly tenant: string;
  /** The DID's own allow-only setting (overriding its tenant's); null: it follows its tenant. */
  readonly allowOnly: DidAllowOnly | null;
}

/** Setting a DID's allow-only mode: done, no such tenant, the DID not registered, or registered to `elsewhere`. */
export type DidAllowOnlyChange = 'set' | 'unknown tenant' | 'not registered' | { readonly elsewhere: string };

/** What a tenant holds, counted when it is removed. */
export interface TenantHoldings {
  readonly dids: number;
  readonly rules: number;
}

/** Registering a DID: done, no such tenant, or the DID is another tenant's already (`taken`: its owner). */
export type DidRegistration = 'added' | 'unknown tenant' | { readonly taken: string };

/** The refusal for a tenant that is not there, as every face words it. */
export function unknownTenant(name: string, field?: string): BadInput {
  return new BadInput(`unknown tenant "${name}": add it first with 'callguard tenants add ${name}'`, field);
}

/** Tenants and the DIDs they own. */
export class TenantStore {
  private readonly audit: AuditTrail;

  constructor(
    private readonly db: Database,
    actor = 'system',
  ) {
    this.audit = new AuditTrail(db, actor);
  }

  exists(name: string): boolean {
    return !!this.db.prepare('SELECT 1 FROM tenants WHERE name = ?').get(name);
  }

  requireTenant(name: string): string {
    checkTenantName(name);
    if (!this.exists(name)) throw unknownTenant(name);
    return name;
  }

  /** Adds a tenant, audited; false (nothing written) when there is one of that name. */
  add(name: string, now = Date.now()): boolean {
    return this.db.transaction(() => {
      if (this.db.prepare('INSERT INTO tenants (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING').run(name, now).changes === 0) return false;
      this.audit.record('add', 'tenant', name, null, { name });
      bumpGeneration(this.db);
      return true;
    }).immediate();
  }

  /** False when there is no such tenant; audited, and decisions pick it up at once. */
  setMode(name: string, mode: TenantMode): boolean {
    return this.db.transaction(() => {
      const before = this.db.prepare('SELECT mode FROM tenants WHERE name = ?').pluck().get(name) as TenantMode | undefined;
      if (before === undefined) return false;
      if (before === mode) return true;
      this.db.prepare('UPDATE tenants SET mode = ? WHERE name = ?').run(mode, name);
      this.audit.record('change', 'tenant', name, { mode: before }, { mode });
      bumpGeneration(this.db);
      return true;
    }).immediate();
  }

  /** Allow-only mode for a tenant (null: off); false when there is no such tenant. Audited, and decisions pick it up at once. */
  setAllowOnly(name: string, action: AllowOnlyAction | null): boolean {
    return this.db.transaction(() => {
      const row = this.db.prepare('SELECT allow_only AS allowOnly FROM tenants WHERE name = ?').get(name) as { allowOnly: AllowOnlyAction | null } | undefined;
      if (row === undefined) return false;
      if (row.allowOnly === action) return true;
      this.db.prepare('UPDATE tenants SET allow_only = ? WHERE name = ?').run(action, name);
      this.audit.record('change', 'tenant', name, { allowOnly: row.allowOnly ?? 'off' }, { allowOnly: action ?? 'off' });
      bumpGeneration(this.db);
      return true;
    }).immediate();
  }

  /** A DID's own allow-only setting (null: follow the tenant), for a DID registered to `tenant`. Audited. */
  setDidAllowOnly(tenant: string, number: E164, setting: DidAllowOnly | null): DidAllowOnlyChange {
    return this.db.transaction((): DidAllowOnlyChange => {
      if (!this.exists(tenant)) return 'unknown tenant';
      const row = this.db.prepare('SELECT tenant, allow_only AS allowOnly FROM dids WHERE number = ?').get(number) as { tenant: string; allowOnly: DidAllowOnly | null } | undefined;
      if (row === undefined) return 'not registered';
      if (row.tenant !== tenant) return { elsewhere: row.tenant };
      if (row.allowOnly === setting) return 'set';
      this.db.prepare('UPDATE dids SET allow_only = ? WHERE number = ?').run(setting, number);
      this.audit.record('change', 'did', number, { allowOnly: row.allowOnly ?? 'inherit' }, { allowOnly: setting ?? 'inherit' });
      bumpGeneration(this.db);
      return 'set';
    }).immediate();
  }

  /** Every tenant's name, in order: without the counts `list` gathers. */
  names(): string[] {
    return this.db.prepare('SELECT name FROM tenants ORDER BY name').pluck().all() as string[];
  }

  list(): TenantRow[] {
    return this.db
      .prepare(
        `SELECT t.name, t.mode, t.allow_only AS allowOnly,
                (SELECT COUNT(*) FROM dids d WHERE d.tenant = t.name) AS dids,
                (SELECT COUNT(*) FROM rules r WHERE r.scope = 'tenant:' || t.name
                   OR r.scope IN (SELECT 'did:' || d.number FROM dids d WHERE d.tenant = t.name)) AS rules
           FROM tenants t ORDER BY t.name`,
      )
      .all() as TenantRow[];
  }

  /**
   * In one transaction: what the tenant holds is shown to `allow` (which throws to refuse),
   * then the tenant goes with its DIDs, its rules and its DIDs', and its category policies.
   * Undefined when there is no such tenant.
   */
  remove(name: string, allow: (holds: TenantHoldings) => void): TenantHoldings | undefined {
    return this.db.transaction(() => {
      if (!this.exists(name)) return undefined;
      const didNumbers = this.db.prepare('SELECT number FROM dids WHERE tenant = ?').pluck().all(name) as string[];
      const scopes = [`tenant:${name}`, ...didNumbers.map((number) => `did:${number}`)];
      const countRules = this.db.prepare('SELECT COUNT(*) FROM rules WHERE scope = ?').pluck();
      const rules = scopes.reduce((sum, scope) => sum + (countRules.get(scope) as number), 0);
      allow({ dids: didNumbers.length, rules });
      const deleteRules = this.db.prepare('DELETE FROM rules WHERE scope = ?');
      for (const scope of scopes) deleteRules.run(scope);
      this.db.prepare('DELETE FROM category_policies WHERE scope = ?').run(`tenant:${name}`);
      this.db.prepare('DELETE FROM dids WHERE tenant = ?').run(name);
      this.db.prepare('DELETE FROM tenants WHERE name = ?').run(name);
      this.audit.record('remove', 'tenant', name, { name, dids: didNumbers, rules }, null);
      bumpGeneration(this.db);
      return { dids: didNumbers.length, rules };
    }).immediate();
  }

  /** Registers a DID to a tenant, audited, unless the tenant is not there or the DID is taken. */
  addDid(number: E164, tenant: string, now = Date.now()): DidRegistration {
    return this.db.transaction((): DidRegistration => {
      if (!this.exists(tenant)) return 'unknown tenant';
      const owner = this.db.prepare('SELECT tenant FROM dids WHERE number = ?').pluck().get(number) as string | undefined;
      if (owner) return { taken: owner };
      this.db.prepare('INSERT INTO dids (number, tenant, created_at) VALUES (?, ?, ?)').run(number, tenant, now);
      this.audit.record('add', 'did', number, null, { number, tenant });
      bumpGeneration(this.db);
      return 'added';
    }).immediate();
  }

  listDids(tenant?: string): DidRow[] {
    if (tenant !== undefined) this.requireTenant(tenant);
    const sql = 'SELECT number, tenant, allow_only AS allowOnly FROM dids' + (tenant !== undefined ? ' WHERE tenant = ?' : '') + ' ORDER BY number';
    const statement = this.db.prepare(sql);
    return (tenant !== undefined ? statement.all(tenant) : statement.all()) as DidRow[];
  }

  /** The tenant a DID belongs to: its registered one, else `default`. */
  ownerOfDid(number: E164): string {
    return (this.db.prepare('SELECT tenant FROM dids WHERE number = ?').pluck().get(number) as string | undefined) ?? 'default';
  }

  /** Unregisters a DID, audited; the tenant it belonged to, undefined when it was not registered. */
  removeDid(number: E164): string | undefined {
    return this.db.transaction(() => {
      const tenant = this.db.prepare('SELECT tenant FROM dids WHERE number = ?').pluck().get(number) as string | undefined;
      if (tenant === undefined) return undefined;
      this.db.prepare('DELETE FROM dids WHERE number = ?').run(number);
      this.audit.record('remove', 'did', number, { number, tenant }, null);
      bumpGeneration(this.db);
      return tenant;
    }).immediate();
  }
}
