import type { Database } from 'better-sqlite3';
import { inField } from '../engine/bad-input';
import { checkTenantName } from '../engine/scope';
import { TenantStore } from '../store/tenants';
import type { TenantBackend } from '../store/tenant-backend';
import { unknownTenant } from '../store/tenants';
import { Forbidden, maySee, requireChangeIn, tenantOfScope } from './acting';
import type { Acting } from './acting';

/**
 * A tenant named in a request that reads (`?tenant=`): a well-formed name (400 naming
 * `field`), one the asker may see (403, before saying whether it exists), and one that
 * exists (400). Undefined stays undefined: no tenant asked for.
 */
export function readableTenant(db: Database, acting: Acting, tenant: string | undefined, field = 'tenant'): string | undefined {
  if (tenant === undefined) return undefined;
  mayRead(acting, tenant, field);
  return inField(field, () => new TenantStore(db, acting.actor).requireTenant(tenant));
}

/** readableTenant, on either backend. */
export async function readableTenantIn(tenants: Pick<TenantBackend, 'tenantExists'>, acting: Acting, tenant: string | undefined, field = 'tenant'): Promise<string | undefined> {
  if (tenant === undefined) return undefined;
  mayRead(acting, tenant, field);
  if (!(await tenants.tenantExists(tenant))) throw unknownTenant(tenant, field);
  return tenant;
}

/** A well-formed tenant name (400 naming `field`) the asker may see (403, before saying whether it exists). */
function mayRead(acting: Acting, tenant: string, field: string): void {
  inField(field, () => checkTenantName(tenant));
  if (!maySee(acting, tenant)) throw new Forbidden(`${acting.actor} may not see tenant ${tenant}`);
}

/**
 * The scope of a setting kept per tenant with a global fallback (category policies,
 * protection): `tenant:<name>` when a tenant is given, else `global`. The asker must be
 * allowed to change it (403: a viewer, a manager and global, a manager and another's
 * tenant), and the tenant must exist (400 naming `field`).
 */
export function changeableSettingScope(db: Database, acting: Acting, tenant: string | undefined, field = 'tenant'): string {
  const scope = mayChangeSetting(acting, tenant, field);
  if (tenant !== undefined) inField(field, () => new TenantStore(db, acting.actor).requireTenant(tenant));
  return scope;
}

/** changeableSettingScope, on either backend. */
export async function changeableSettingScopeIn(tenants: Pick<TenantBackend, 'tenantExists'>, acting: Acting, tenant: string | undefined, field = 'tenant'): Promise<string> {
  const scope = mayChangeSetting(acting, tenant, field);
  if (tenant !== undefined && !(await tenants.tenantExists(tenant))) throw unknownTenant(tenant, field);
  return scope;
}

/** The setting's scope, once `acting` is found allowed to change it. */
function mayChangeSetting(acting: Acting, tenant: string | undefined, field: string): string {
  if (tenant === undefined) {
    requireChangeIn(acting, null);
    return 'global';
  }
  inField(field, () => checkTenantName(tenant));
  requireChangeIn(acting, tenant);
  return `tenant:${tenant}`;
}

/** Whether `acting` sees something kept in `scope`: global applies to every tenant, so everyone sees it. */
export function scopeVisible(db: Database, acting: Acting, scope: string, country: string): boolean {
  if (acting.tenants === null) return true;
  const tenant = tenantOfScope(db, scope, country);
  return tenant === null || acting.tenants.includes(tenant);
}

/** The scopes a call to one of `tenant`'s DIDs is screened under: its DIDs, the tenant, global. */
export function scopesOfTenant(db: Database, tenant: string): string[] {
  const dids = new TenantStore(db, 'system').listDids(tenant).map((did) => `did:${did.number}`);
  return [...dids, `tenant:${tenant}`, 'global'];
}
