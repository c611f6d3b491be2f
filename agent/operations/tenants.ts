import { ALLOW_ONLY_ACTIONS, isAllowOnlyAction } from '../engine/allow-only';
import type { AllowOnlyAction, DidAllowOnly } from '../engine/allow-only';
import { BadInput, inField } from '../engine/bad-input';
import { requireNumber } from '../engine/numbers';
import { checkTenantName } from '../engine/scope';
import type { E164 } from '../engine/types';
import type { TenantBackend } from '../store/tenant-backend';
import { TENANT_MODES, unknownTenant } from '../store/tenants';
import type { DidRow, TenantHoldings, TenantMode, TenantRow } from '../store/tenants';
import { Forbidden, requireChangeIn } from './acting';
import type { Acting } from './acting';

/** Tenants are made and removed by someone with every tenant who may change things (the CLI, an admin). */
function requireAdministrator(acting: Acting): void {
  if (!acting.mayChange || acting.tenants !== null) throw new Forbidden(`only an administrator may add or remove tenants and DIDs`);
}

export async function addTenant(tenants: TenantBackend, acting: Acting, name: string, now = Date.now()): Promise<void> {
  requireAdministrator(acting);
  inField('name', () => checkTenantName(name));
  if (!(await tenants.addTenant(name, now))) throw new BadInput(`tenant "${name}" already exists`, 'name');
}

/**
 * Monitor mode (calls decided and logged, and let through) or enforce, for one tenant: by
 * whoever may change that tenant's settings; audited.
 */
export async function setTenantMode(tenants: TenantBackend, acting: Acting, name: string, mode: string): Promise<TenantMode> {
  inField('name', () => checkTenantName(name));
  if (!(TENANT_MODES as readonly string[]).includes(mode)) throw new BadInput(`bad mode "${mode}": expected ${TENANT_MODES.join(' or ')}`, 'mode');
  requireChangeIn(acting, name);
  if (!(await tenants.setMode(name, mode as TenantMode))) throw unknownTenant(name, 'name');
  return mode as TenantMode;
}

/** What allow-only mode was set to: for a tenant (`did` null) an action or `off`; for a DID also `inherit` (it follows its tenant). */
export interface AllowOnlyChange {
  readonly name: string;
  readonly did: E164 | null;
  readonly action: AllowOnlyAction | 'off' | 'inherit';
}

/** The words that refuse a bad allow-only action, naming what may be given. */
function badAllowOnly(action: string, forDid: boolean): BadInput {
  const accepted = `${ALLOW_ONLY_ACTIONS.join(', ')}, or off${forDid ? ' (or inherit: follow the tenant)' : ''}`;
  if (action === 'inherit') return new BadInput(`inherit applies to a DID only (its own setting is dropped and it follows the tenant): expected ${accepted}`, 'action');
  return new BadInput(`bad allow-only action "${action}": expected ${accepted}`, 'action');
}

/**
 * Allow-only mode (only callers an allow rule lets through ring; every other caller gets
 * `action`) for a tenant, or for one of its DIDs (`did`, which then overrides the tenant's:
 * `off` exempts it, `inherit` makes it follow the tenant again). By whoever may change that
 * tenant's settings; audited.
 */
export async function setAllowOnly(tenants: TenantBackend, acting: Acting, name: string, action: string, did: string | undefined, country: string): Promise<AllowOnlyChange> {
  inField('name', () => checkTenantName(name));
  const forDid = did !== undefined;
  if (!(isAllowOnlyAction(action) || action === 'off' || (forDid && action === 'inherit'))) throw badAllowOnly(action, forDid);
  const number = forDid ? inField('did', () => requireNumber(did, country, 'DID')) : null;
  requireChangeIn(acting, name);
  if (number === null) {
    if (!(await tenants.setAllowOnly(name, action === 'off' ? null : (action as AllowOnlyAction)))) throw unknownTenant(name, 'name');
    return { name, did: null, action: action as AllowOnlyAction | 'off' };
  }
  const changed = await tenants.setDidAllowOnly(name, number, action === 'inherit' ? null : (action as DidAllowOnly));
  if (changed === 'unknown tenant') throw unknownTenant(name, 'name');
  if (changed === 'not registered') throw new BadInput(`DID ${number} is not registered: add it first with 'callguard dids add ${number} --tenant ${name}'`, 'did');
  if (changed !== 'set') throw new BadInput(`DID ${number} belongs to tenant "${changed.elsewhere}", not "${name}"`, 'did');
  return { name, did: number, action: action as AllowOnlyChange['action'] };
}

/** Removes a tenant; one that still has DIDs or rules only with `force`, which takes them with it. */
export async function removeTenant(tenants: TenantBackend, acting: Acting, name: string, force: boolean): Promise<TenantHoldings> {
  requireAdministrator(acting);
  inField('name', () => checkTenantName(name));
  if (name === 'default') throw new BadInput('tenant "default" always exists and cannot be removed', 'name');
  const removed = await tenants.removeTenant(name, (holds) => {
    if (!force && (holds.dids > 0 || holds.rules > 0)) {
      throw new BadInput(`tenant "${name}" still has ${holds.dids} DID(s) and ${holds.rules} rule(s): remove them first or pass --force`, 'name');
    }
  });
  if (!removed) throw unknownTenant(name, 'name');
  return removed;
}

export function listTenants(tenants: TenantBackend): Promise<TenantRow[]> {
  return tenants.listTenants();
}

/** Registers a DID (any number form) to a tenant; returns it in E.164. */
export async function addDid(tenants: TenantBackend, acting: Acting, number: string, tenant: string, country: string, now = Date.now()): Promise<E164> {
  requireAdministrator(acting);
  const did = inField('number', () => requireNumber(number, country, 'DID'));
  inField('tenant', () => checkTenantName(tenant));
  const registered = await tenants.addDid(did, tenant, now);
  if (registered === 'unknown tenant') throw unknownTenant(tenant, 'tenant');
  if (registered !== 'added') throw new BadInput(`DID ${did} already belongs to tenant "${registered.taken}": remove it first`, 'number');
  return did;
}

/** Unregisters a DID (it falls back to tenant default); returns it in E.164. */
export async function removeDid(tenants: TenantBackend, acting: Acting, number: string, country: string): Promise<E164> {
  requireAdministrator(acting);
  const did = inField('number', () => requireNumber(number, country, 'DID'));
  if ((await tenants.removeDid(did)) === undefined) throw new BadInput(`DID ${did} is not registered`, 'number');
  return did;
}

/** The DIDs of one tenant (which must exist) or of all. */
export async function listDids(tenants: TenantBackend, tenant?: string): Promise<DidRow[]> {
  if (tenant !== undefined) {
    inField('tenant', () => checkTenantName(tenant));
    if (!(await tenants.tenantExists(tenant))) throw unknownTenant(tenant, 'tenant');
  }
  return tenants.listDids(tenant);
}
