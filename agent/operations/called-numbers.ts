import { BadInput, inField } from '../engine/bad-input';
import { dialledNumber, outboundCaller } from '../engine/dialled-number';
import { checkTenantName } from '../engine/scope';
import type { E164 } from '../engine/types';
import type { OutboundCallBackend } from '../store/outbound-call-backend';
import { TRUST_CALLBACKS } from '../store/settings';
import { unknownTenant } from '../store/tenants';
import type { Acting } from './acting';
import { setScopedDuration } from './scoped-duration';
import type { ScopedDurationStores } from './scoped-duration';

/** What the outbound-call hook answers: the tenant that will trust a callback, the number it will trust, when. */
export interface RecordedOutboundCall {
  readonly tenant: string;
  readonly number: E164;
  readonly at: number;
}

/**
 * An outbound call the switch reports (`POST /v1/called`): `to` is remembered for the
 * tenant, so that a callback from it within the tenant's window skips categories and
 * protection. The tenant is that of the `from` number when it is a DID of the store, else
 * `tenant`, else `default`. Checks everything before writing one row; BadInput names the
 * field at fault (`from`, `to`, `tenant`).
 */
export async function recordOutboundCall(
  calls: OutboundCallBackend,
  input: { readonly from: string; readonly to: string; readonly tenant?: string | undefined },
  country: string,
  now = Date.now(),
): Promise<RecordedOutboundCall> {
  const caller = outboundCaller(input.from, country);
  const number = dialledNumber(input.to, caller, country);
  const named = input.tenant === undefined ? undefined : inField('tenant', () => checkTenantName(input.tenant!));
  if (named !== undefined && !(await calls.tenantExists(named))) throw unknownTenant(named, 'tenant');
  const owner = caller === null ? null : await calls.tenantOfDid(caller);
  if (owner !== null && named !== undefined && owner !== named) throw new BadInput(`bad tenant "${named}": from ${caller} is a DID of tenant ${owner}`, 'tenant');
  const tenant = owner ?? named ?? 'default';
  await calls.record({ tenant, number, caller, at: now });
  return { tenant, number, at: now };
}

/**
 * How long a tenant trusts a callback from a number its users called (`14d`, or `off`), or
 * every tenant without its own setting (30 days when nothing is set). Audited.
 */
export function trustCallbacks(
  stores: ScopedDurationStores,
  acting: Acting,
  input: { duration: string; tenant?: string | undefined },
  tenantField = 'tenant',
): Promise<{ scope: string; ms: number }> {
  return setScopedDuration(stores, acting, TRUST_CALLBACKS, input, tenantField);
}
