import type { Database } from 'better-sqlite3';
import { BadInput } from '../engine/bad-input';
import { checkTenantName } from '../engine/scope';
import type { E164 } from '../engine/types';
import { AuditTrail } from './audit';
import { bumpGeneration } from './generation';

export interface TenantRow {
  readonly name: string;
  readonly dids: number;
  readonly rules: number;
}

export interface DidRow {
  readonly number: E164;
  readonly tenant: string;
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
    if (!this.exists(name)) throw new BadInput(`unknown tenant "${name}": add it first with 'callguard tenants add ${name}'`);
    return name;
  }

  add(name: string): void {
    checkTenantName(name);
    this.db.transaction(() => {
      if (this.exists(name)) throw new BadInput(`tenant "${name}" already exists`);
      this.db.prepare('INSERT INTO tenants (name, created_at) VALUES (?, ?)').run(name, Date.now());
      this.audit.record('add', 'tenant', name, null, { name });
      bumpGeneration(this.db);
    }).immediate();
  }

  /** Every tenant's name, in order: without the counts `list` gathers. */
  names(): string[] {
    return this.db.prepare('SELECT name FROM tenants ORDER BY name').pluck().all() as string[];
  }

  list(): TenantRow[] {
    return this.db
      .prepare(
        `SELECT t.name,
                (SELECT COUNT(*) FROM dids d WHERE d.tenant = t.name) AS dids,
                (SELECT COUNT(*) FROM rules r WHERE r.scope = 'tenant:' || t.name
                   OR r.scope IN (SELECT 'did:' || d.number FROM dids d WHERE d.tenant = t.name)) AS rules
           FROM tenants t ORDER BY t.name`,
      )
      .all() as TenantRow[];
  }

  /** Refuses while the tenant still has DIDs or rules, unless `force` removes them with it. */
  remove(name: string, force: boolean): { dids: number; rules: number } {
    if (name === 'default') throw new BadInput('tenant "default" always exists and cannot be removed');
    return this.db.transaction(() => {
      this.requireTenant(name);
      const didNumbers = this.db.prepare('SELECT number FROM dids WHERE tenant = ?').pluck().all(name) as string[];
      const scopes = [`tenant:${name}`, ...didNumbers.map((number) => `did:${number}`)];
      const countRules = this.db.prepare('SELECT COUNT(*) FROM rules WHERE scope = ?').pluck();
      const rules = scopes.reduce((sum, scope) => sum + (countRules.get(scope) as number), 0);
      if (!force && (didNumbers.length > 0 || rules > 0)) {
        throw new BadInput(
          `tenant "${name}" still has ${didNumbers.length} DID(s) and ${rules} rule(s): remove them first or pass --force`,
        );
      }
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

  addDid(number: E164, tenant: string): void {
    this.db.transaction(() => {
      this.requireTenant(tenant);
      const owner = this.db.prepare('SELECT tenant FROM dids WHERE number = ?').pluck().get(number) as string | undefined;
      if (owner) throw new BadInput(`DID ${number} already belongs to tenant "${owner}": remove it first`);
      this.db.prepare('INSERT INTO dids (number, tenant, created_at) VALUES (?, ?, ?)').run(number, tenant, Date.now());
      this.audit.record('add', 'did', number, null, { number, tenant });
      bumpGeneration(this.db);
    }).immediate();
  }

  listDids(tenant?: string): DidRow[] {
    if (tenant !== undefined) this.requireTenant(tenant);
    const sql = 'SELECT number, tenant FROM dids' + (tenant !== undefined ? ' WHERE tenant = ?' : '') + ' ORDER BY number';
    const statement = this.db.prepare(sql);
    return (tenant !== undefined ? statement.all(tenant) : statement.all()) as DidRow[];
  }

  /** The tenant a DID belongs to: its registered one, else `default`. */
  ownerOfDid(number: E164): string {
    return (this.db.prepare('SELECT tenant FROM dids WHERE number = ?').pluck().get(number) as string | undefined) ?? 'default';
  }

  removeDid(number: E164): void {
    this.db.transaction(() => {
      const tenant = this.db.prepare('SELECT tenant FROM dids WHERE number = ?').pluck().get(number) as string | undefined;
      if (tenant === undefined) throw new BadInput(`DID ${number} is not registered`);
      this.db.prepare('DELETE FROM dids WHERE number = ?').run(number);
      this.audit.record('remove', 'did', number, { number, tenant }, null);
      bumpGeneration(this.db);
    }).immediate();
  }
}
