import { inField } from '../engine/bad-input';
import { parseDuration } from '../engine/duration';
import type { SettingBackend } from '../store/setting-backend';
import { REMEMBER_PASSES } from '../store/settings';
import type { TenantBackend } from '../store/tenant-backend';
import type { Acting } from './acting';
import { changeableSettingScope } from './tenant-access';

/**
 * How long a passed challenge lets the caller through without another (`30d`, or `off`),
 * for a tenant or for every tenant without its own setting. Returns the scope and the
 * milliseconds stored (0: not remembered).
 */
export async function rememberPasses(
  stores: { readonly settings: SettingBackend; readonly tenants: Pick<TenantBackend, 'tenantExists'> },
  acting: Acting,
  input: { duration: string; tenant?: string | undefined },
): Promise<{ scope: string; ms: number }> {
  const ms = input.duration === 'off' ? 0 : inField('duration', () => parseDuration(input.duration, 'duration'));
  const scope = await changeableSettingScope(stores.tenants, acting, input.tenant);
  await stores.settings.set(`${REMEMBER_PASSES}${scope}`, String(ms));
  return { scope, ms };
}
