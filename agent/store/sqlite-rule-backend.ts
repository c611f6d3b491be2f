import type { Database } from 'better-sqlite3';
import type { E164, MatchKind } from '../engine/types';
import type { ListInScope, ListScope, RuleBackend, RulePageFilter } from './rule-backend';
import type { RuleImportWriter } from './rule-import';
import { RuleStore } from './rules';
import type { NewRule, RuleOptions, RuleRow } from './rules';
import { TenantStore } from './tenants';

/**
 * RuleBackend on the SQLite file. Each method does its work without yielding, so a
 * transaction of the file never has another request's statements inside it.
 */
export class SqliteRuleBackend implements RuleBackend {
  private readonly rules: RuleStore;
  private readonly tenants: TenantStore;

  constructor(
    private readonly db: Database,
    actor: string,
  ) {
    this.rules = new RuleStore(db, actor);
    this.tenants = new TenantStore(db, actor);
  }

  async tenantExists(name: string): Promise<boolean> {
    return this.tenants.exists(name);
  }

  async ownerOfDid(did: E164): Promise<string> {
    return this.tenants.ownerOfDid(did);
  }

  async didsOf(tenants: readonly string[]): Promise<E164[]> {
    return tenants.flatMap((tenant) => this.tenants.listDids(tenant).map((did) => did.number)).sort();
  }

  async add(rules: readonly NewRule[], now: number): Promise<RuleRow[]> {
    return this.rules.add(rules, now).map((id) => this.rules.byId(id)!);
  }

  async byId(id: number): Promise<RuleRow | undefined> {
    return this.rules.byId(id);
  }

  async byMatch(key: string, kind: MatchKind, scope?: string): Promise<RuleRow[]> {
    return this.rules.byMatch(key, kind, scope);
  }

  async page(filter: RulePageFilter): Promise<RuleRow[]> {
    return [...this.rules.iterate(filter)];
  }

  async removeIds(ids: readonly number[]): Promise<RuleRow[]> {
    return this.rules.removeIds(ids);
  }

  async update(id: number, options: Omit<RuleOptions, 'scope'>, now: number): Promise<RuleRow | undefined> {
    return this.rules.update(id, options, now);
  }

  async listsByScope(): Promise<ListInScope[]> {
    return this.rules.listsByScope();
  }

  async listExists(name: string): Promise<boolean> {
    return this.rules.listExists(name);
  }

  async listScopes(name: string): Promise<ListScope[]> {
    return this.rules.listScopes(name);
  }

  async setListEnabled(name: string, enabled: boolean, allow: (scopes: readonly ListScope[]) => void): Promise<boolean> {
    // Checked and switched in one transaction: no rule can join the list in between.
    return this.db.transaction(() => {
      if (!this.rules.listExists(name)) return false;
      allow(this.rules.listScopes(name));
      this.rules.setListEnabled(name, enabled);
      return true;
    }).immediate();
  }

  importRules(label: string, now: number, feed: (writer: RuleImportWriter) => number | Promise<number>): Promise<number> {
    // Each rule is written as it comes: there is nothing to hold, and no batch to wait for.
    return this.rules.bulk(now, label, (writer) => feed({ write: (match, options) => writer.writeQuietly(match, options), full: false, flush: async () => undefined }));
  }
}
