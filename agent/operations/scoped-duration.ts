import { inField } from '../engine/bad-input';
import { parseDuration } from '../engine/duration';
import type { SettingBackend } from '../store/setting-backend';
import type { TenantBackend } from '../store/tenant-backend';
import type { Acting } from './acting';
import { changeableSettingScope } from './tenant-access';

/** Where a scoped duration is kept, and the tenants it may name. */
export interface ScopedDurationStores {
  readonly settings: SettingBackend;
  readonly tenants: Pick<TenantBackend, 'tenantExists'>;
}

/**
 * A duration setting (`30d`, or `off`) kept under `prefix` for a tenant, or for every tenant
 * without its own setting. Returns the scope and the milliseconds stored (0: off); a bad
 * tenant is refused naming `tenantField` (the API's path names it `name`).
 */
export async function setScopedDuration(
  stores: ScopedDurationStores,
  acting: Acting,
  prefix: string,
  input: { duration: string; tenant?: string | undefined },
  tenantField = 'tenant',
): Promise<{ scope: string; ms: number }> {
  const ms = input.duration === 'off' ? 0 : inField('duration', () => parseDuration(input.duration, 'duration'));
  const scope = await changeableSettingScope(stores.tenants, acting, input.tenant, tenantField);
  await stores.settings.set(`${prefix}${scope}`, String(ms));
  return { scope, ms };
}
