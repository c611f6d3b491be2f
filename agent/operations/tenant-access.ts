import { inField } from '../engine/bad-input';
import { checkTenantName } from '../engine/scope';
import type { RuleBackend } from '../store/rule-backend';
import type { TenantBackend } from '../store/tenant-backend';
import { unknownTenant } from '../store/tenants';
import { Forbidden, maySee, requireChangeIn, seesTenantOf, tenantOfScope } from './acting';
import type { Acting } from './acting';

/**
 * A tenant named in a request that reads (`?tenant=`): a well-formed name (400 naming
 * `field`), one the asker may see (403, before saying whether it exists), and one that
 * exists (400). Undefined stays undefined: no tenant asked for.
 */
export async function readableTenant(tenants: Pick<TenantBackend, 'tenantExists'>, acting: Acting, tenant: string | undefined, field = 'tenant'): Promise<string | undefined> {
  if (tenant === undefined) return undefined;
  inField(field, () => checkTenantName(tenant));
  if (!maySee(acting, tenant)) throw new Forbidden(`${acting.actor} may not see tenant ${tenant}`);
  if (!(await tenants.tenantExists(tenant))) throw unknownTenant(tenant, field);
  return tenant;
}

/**
 * The scope of a setting kept per tenant with a global fallback (category policies,
 * protection): `tenant:<name>` when a tenant is given, else `global`. The asker must be
 * allowed to change it (403: a viewer, a manager and global, a manager and another's
 * tenant), and the tenant must exist (400 naming `field`).
 */
export async function changeableSettingScope(tenants: Pick<TenantBackend, 'tenantExists'>, acting: Acting, tenant: string | undefined, field = 'tenant'): Promise<string> {
  if (tenant === undefined) {
    requireChangeIn(acting, null);
    return 'global';
  }
  inField(field, () => checkTenantName(tenant));
  requireChangeIn(acting, tenant);
  if (!(await tenants.tenantExists(tenant))) throw unknownTenant(tenant, field);
  return `tenant:${tenant}`;
}

/** Whether `acting` sees something kept in `scope`: global applies to every tenant, so everyone sees it. */
export async function scopeVisible(backend: Pick<RuleBackend, 'ownerOfDid'>, acting: Acting, scope: string, country: string): Promise<boolean> {
  return acting.tenants === null || seesTenantOf(acting, await tenantOfScope(backend, scope, country));
}

/** The scopes a call to one of these tenants' DIDs is screened under: their DIDs, the tenants, global. */
export async function scopesOfTenants(backend: Pick<RuleBackend, 'didsOf'>, tenants: readonly string[]): Promise<string[]> {
  const dids = await backend.didsOf(tenants);
  return [...dids.map((did) => `did:${did}`), ...tenants.map((tenant) => `tenant:${tenant}`), 'global'];
}
