import type { Database } from 'better-sqlite3';
import { BadInput, inField } from '../engine/bad-input';
import { parseDuration } from '../engine/duration';
import { CallLogQueries, HOUR_MS } from '../store/call-log-queries';
import type { Counters, HourBucket, LogFilter } from '../store/call-log-queries';
import type { Acting } from './acting';
import { readableTenant } from './tenant-access';

export interface StatsRequest {
  /** One tenant the asker may see; none: every tenant they may see, summed. */
  readonly tenant?: string | undefined;
  /** A duration back from now (24h, 7d); none: the whole log. */
  readonly since?: string | undefined;
}

/** Whose calls: one tenant, or all the asker may see (null tenants: every one). */
function scopeFilter(db: Database, acting: Acting, tenant: string | undefined): Pick<LogFilter, 'tenant' | 'tenants'> {
  const name = readableTenant(db, acting, tenant);
  if (name !== undefined) return { tenant: name };
  return acting.tenants === null ? {} : { tenants: acting.tenants };
}

/** The impact cards (Total, Scanned, Blocked, Flagged, Legitimate and the rest) over a period, bounded to the asker's tenants. */
export function callStats(db: Database, acting: Acting, request: StatsRequest, now = Date.now()): Counters & { tenant: string | null; since: number | null } {
  const since = request.since === undefined ? undefined : now - inField('since', () => parseDuration(request.since!, 'since'));
  const filter = scopeFilter(db, acting, request.tenant);
  return { tenant: filter.tenant ?? null, since: since ?? null, ...new CallLogQueries(db).counters({ ...filter, since }) };
}

export const CHART_HOURS = [24, 168] as const;

/** Calls per hour by outcome for the last `hours` hours (the current one last), zero hours included, bounded to the asker's tenants. */
export function hourlyStats(
  db: Database,
  acting: Acting,
  request: { tenant?: string | undefined; hours: number | string },
  now = Date.now(),
): { tenant: string | null; hours: number; buckets: HourBucket[] } {
  const hours = CHART_HOURS.find((allowed) => String(allowed) === String(request.hours).trim());
  if (hours === undefined) throw new BadInput(`bad hours "${request.hours}": expected ${CHART_HOURS.join(' or ')}`, 'hours');
  const filter = scopeFilter(db, acting, request.tenant);
  const from = (Math.floor(now / HOUR_MS) - hours + 1) * HOUR_MS;
  return { tenant: filter.tenant ?? null, hours, buckets: new CallLogQueries(db).hourly(filter, from, hours) };
}
