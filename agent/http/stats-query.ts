import { parseDuration } from '../engine/duration';
import { checkTenantName } from '../engine/scope';
import type { LogFilter } from '../store/call-log-queries';
import { parseStrictQuery } from './strict-query';

/** `/v1/stats?since=24h&tenant=acme` → the call-log filter, as `callguard stats` reads its flags. */
export function parseStatsQuery(raw: string, now: number): LogFilter {
  const params = parseStrictQuery(raw, ['since', 'tenant'] as const);
  const since = params.get('since');
  const tenant = params.get('tenant');
  return {
    since: since === undefined ? undefined : now - parseDuration(since, 'since'),
    tenant: tenant === undefined ? undefined : checkTenantName(tenant),
  };
}
