import { BadInput, inField } from '../engine/bad-input';
import { formatScope, parseScope } from '../engine/scope';
import { carrierPattern } from '../store/protection';
import type { CarrierRuleRow } from '../store/protection';
import type { ProtectionStores } from '../store/protection-backend';
import { unknownTenant } from '../store/tenants';
import { NotFound, requireChangeIn, seesTenantOf, tenantOfScope } from './acting';
import type { Acting } from './acting';
import { readableTenant, scopeVisible, scopesOfTenants } from './tenant-access';

/** A carrier rule's scope: global (default), tenant:<name> of a tenant that exists, or did:<number>; bad input names `scope`. */
async function carrierScope(stores: ProtectionStores, text: string | undefined, country: string): Promise<string> {
  const scope = inField('scope', () => parseScope(text ?? 'global', country));
  if (scope.kind === 'tenant' && !(await stores.rules.tenantExists(scope.tenant))) throw unknownTenant(scope.tenant, 'scope');
  return formatScope(scope);
}

/** The rows whose scope `acting` sees, in their order. */
async function visibleRows(stores: ProtectionStores, acting: Acting, rows: readonly CarrierRuleRow[], country: string): Promise<CarrierRuleRow[]> {
  const seen: CarrierRuleRow[] = [];
  for (const row of rows) if (await scopeVisible(stores.rules, acting, row.scope, country)) seen.push(row);
  return seen;
}

/**
 * Carrier rules the asker sees: with a tenant, those that apply to its calls (its DIDs',
 * its own and the global ones); without, every one of the tenants they may see, and global.
 */
export async function listCarriers(stores: ProtectionStores, acting: Acting, tenant: string | undefined, country: string): Promise<CarrierRuleRow[]> {
  const name = await readableTenant(stores.tenants, acting, tenant);
  const rows = await stores.protection.carriers();
  if (name !== undefined) {
    const scopes = new Set(await scopesOfTenants(stores.rules, [name]));
    return rows.filter((row) => scopes.has(row.scope));
  }
  return visibleRows(stores, acting, rows, country);
}

/** Adds a carrier rule (a case-insensitive part of a carrier name), audited as `acting`. */
export async function addCarrier(stores: ProtectionStores, acting: Acting, input: { pattern: string; scope?: string | undefined }, country: string): Promise<CarrierRuleRow> {
  const scope = await carrierScope(stores, input.scope, country);
  const pattern = inField('pattern', () => carrierPattern(input.pattern));
  requireChangeIn(acting, await tenantOfScope(stores.rules, scope, country));
  try {
    return await stores.protection.addCarrier(scope, pattern);
  } catch (error) {
    // The store's refusal of a duplicate is about the pattern.
    if (error instanceof BadInput && error.field === undefined) throw new BadInput(error.message, 'pattern');
    throw error;
  }
}

/** Removes carrier rules by id, all or none; each must be one the asker sees (else 404) and may change (else 403). */
export async function removeCarrierIds(stores: ProtectionStores, acting: Acting, ids: readonly number[], country: string): Promise<CarrierRuleRow[]> {
  for (const id of ids) {
    const row = await stores.protection.carrierById(id);
    const tenant = row && (await tenantOfScope(stores.rules, row.scope, country));
    if (!row || tenant === undefined || !seesTenantOf(acting, tenant)) throw new NotFound(`no carrier rule #${id}`);
    requireChangeIn(acting, tenant);
  }
  return stores.protection.removeCarrierIds(ids);
}

/** Removes a carrier rule by its pattern, from every scope or from one (the CLI's `carriers remove`). */
export async function removeCarrierPattern(stores: ProtectionStores, acting: Acting, input: { pattern: string; scope?: string | undefined }, country: string): Promise<CarrierRuleRow[]> {
  const scope = input.scope === undefined ? undefined : await carrierScope(stores, input.scope, country);
  const pattern = input.pattern.trim().toLowerCase();
  const matching = (await stores.protection.carriers()).filter((row) => row.pattern === pattern && (scope === undefined || row.scope === scope));
  const rows = await visibleRows(stores, acting, matching, country);
  if (rows.length === 0) throw new BadInput(`no carrier rule "${pattern}"${scope ? ` in ${scope}` : ''}`, 'pattern');
  return removeCarrierIds(stores, acting, rows.map((row) => row.id), country);
}

/** Replaces the prefix → carrier table, all or nothing (administrators only: it serves every tenant); returns the rows read. */
export async function importCarrierPrefixes(stores: ProtectionStores, acting: Acting, rows: Iterable<readonly [prefix: string, carrier: string]>, label: string): Promise<number> {
  requireChangeIn(acting, null);
  return stores.protection.replacePrefixes(rows, label);
}
