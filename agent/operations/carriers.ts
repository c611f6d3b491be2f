import type { Database } from 'better-sqlite3';
import { BadInput, inField } from '../engine/bad-input';
import { formatScope, parseScope } from '../engine/scope';
import { ProtectionStore, carrierPattern } from '../store/protection';
import type { CarrierRuleRow } from '../store/protection';
import { TenantStore } from '../store/tenants';
import { NotFound, requireChange } from './acting';
import type { Acting } from './acting';
import { readableTenant, scopeVisible, scopesOfTenant } from './tenant-access';

/** A carrier rule's scope: global (default), tenant:<name> of a tenant that exists, or did:<number>; bad input names `scope`. */
function carrierScope(db: Database, text: string | undefined, country: string): string {
  return inField('scope', () => {
    const scope = formatScope(parseScope(text ?? 'global', country));
    if (scope.startsWith('tenant:')) new TenantStore(db, 'system').requireTenant(scope.slice('tenant:'.length));
    return scope;
  });
}

/**
 * Carrier rules the asker sees: with a tenant, those that apply to its calls (its DIDs',
 * its own and the global ones); without, every one of the tenants they may see, and global.
 */
export function listCarriers(db: Database, acting: Acting, tenant: string | undefined, country: string): CarrierRuleRow[] {
  const name = readableTenant(db, acting, tenant);
  const rows = new ProtectionStore(db, acting.actor).carriers();
  if (name !== undefined) {
    const scopes = new Set(scopesOfTenant(db, name));
    return rows.filter((row) => scopes.has(row.scope));
  }
  return rows.filter((row) => scopeVisible(db, acting, row.scope, country));
}

/** Adds a carrier rule (a case-insensitive part of a carrier name), audited as `acting`. */
export function addCarrier(db: Database, acting: Acting, input: { pattern: string; scope?: string | undefined }, country: string): CarrierRuleRow {
  const scope = carrierScope(db, input.scope, country);
  inField('pattern', () => carrierPattern(input.pattern));
  requireChange(db, acting, scope, country);
  const store = new ProtectionStore(db, acting.actor);
  const id = inField('pattern', () => store.addCarrier(scope, input.pattern));
  return store.carrierById(id)!;
}

/** Removes carrier rules by id, all or none; each must be one the asker sees (else 404) and may change (else 403). */
export function removeCarrierIds(db: Database, acting: Acting, ids: readonly number[], country: string): CarrierRuleRow[] {
  const store = new ProtectionStore(db, acting.actor);
  for (const id of ids) {
    const row = store.carrierById(id);
    if (!row || !scopeVisible(db, acting, row.scope, country)) throw new NotFound(`no carrier rule #${id}`);
    requireChange(db, acting, row.scope, country);
  }
  return store.removeCarrierIds(ids);
}

/** Removes a carrier rule by its pattern, from every scope or from one (the CLI's `carriers remove`). */
export function removeCarrierPattern(db: Database, acting: Acting, input: { pattern: string; scope?: string | undefined }, country: string): CarrierRuleRow[] {
  const scope = input.scope === undefined ? undefined : carrierScope(db, input.scope, country);
  const pattern = input.pattern.trim().toLowerCase();
  const rows = new ProtectionStore(db, acting.actor).carriers().filter((row) => row.pattern === pattern && (scope === undefined || row.scope === scope) && scopeVisible(db, acting, row.scope, country));
  if (rows.length === 0) throw new BadInput(`no carrier rule "${pattern}"${scope ? ` in ${scope}` : ''}`, 'pattern');
  return removeCarrierIds(db, acting, rows.map((row) => row.id), country);
}
