import { BadInput, inField } from '../engine/bad-input';
import { parseDuration } from '../engine/duration';
import type { CallLogBackend } from '../store/call-log-backend';
import { HOUR_MS } from '../store/call-log-queries';
import type { Counters, HourBucket, LogFilter } from '../store/call-log-queries';
import type { TenantBackend } from '../store/tenant-backend';
import type { Acting } from './acting';
import { readableTenant } from './tenant-access';

/** What the stats work on: the call log's counters, and the tenants a request may name. */
export interface StatsStores {
  readonly calls: Pick<CallLogBackend, 'counters' | 'hourly'>;
  readonly tenants: Pick<TenantBackend, 'tenantExists'>;
}

export interface StatsRequest {
  /** One tenant the asker may see; none: every tenant they may see, summed. */
  readonly tenant?: string | undefined;
  /** A duration back from now (24h, 7d); none: the whole log. */
  readonly since?: string | undefined;
}

/** Whose calls: one tenant, or all the asker may see (null tenants: every one). */
async function scopeFilter(stores: StatsStores, acting: Acting, tenant: string | undefined): Promise<Pick<LogFilter, 'tenant' | 'tenants'>> {
  const name = await readableTenant(stores.tenants, acting, tenant);
  if (name !== undefined) return { tenant: name };
  return acting.tenants === null ? {} : { tenants: acting.tenants };
}

/** The impact cards (Total, Scanned, Blocked, Flagged, Legitimate and the rest) over a period, bounded to the asker's tenants. */
export async function callStats(stores: StatsStores, acting: Acting, request: StatsRequest, now = Date.now()): Promise<Counters & { tenant: string | null; since: number | null }> {
  const since = request.since === undefined ? undefined : now - inField('since', () => parseDuration(request.since!, 'since'));
  const filter = await scopeFilter(stores, acting, request.tenant);
  return { tenant: filter.tenant ?? null, since: since ?? null, ...(await stores.calls.counters({ ...filter, since })) };
}

export const CHART_HOURS = [24, 168] as const;

/** Calls per hour by outcome for the last `hours` hours (the current one last), zero hours included, bounded to the asker's tenants. */
export async function hourlyStats(
  stores: StatsStores,
  acting: Acting,
  request: { tenant?: string | undefined; hours: number | string },
  now = Date.now(),
): Promise<{ tenant: string | null; hours: number; buckets: HourBucket[] }> {
  const hours = CHART_HOURS.find((allowed) => String(allowed) === String(request.hours).trim());
  if (hours === undefined) throw new BadInput(`bad hours "${request.hours}": expected ${CHART_HOURS.join(' or ')}`, 'hours');
  const filter = await scopeFilter(stores, acting, request.tenant);
  const from = (Math.floor(now / HOUR_MS) - hours + 1) * HOUR_MS;
  return { tenant: filter.tenant ?? null, hours, buckets: await stores.calls.hourly(filter, from, hours) };
}
