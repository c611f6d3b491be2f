import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { CHART_HOURS, callStats, hourlyStats } from '../../operations/stats';
import type { Api, RouteContext } from '../server';
import { actingOf } from '../server';

const Tenant = Type.Optional(Type.String({ maxLength: 64, description: 'a tenant the asker may see; none: every tenant they may see, summed' }));

const Counters = Type.Object({
  tenant: Type.Union([Type.String(), Type.Null()]),
  since: Type.Union([Type.Integer(), Type.Null()], { description: 'start of the period (epoch ms)' }),
  total: Type.Integer({ description: 'Total calls (and texts)' }),
  scanned: Type.Integer({ description: 'given a risk score (protection on)' }),
  blocked: Type.Integer({ description: 'blocked, busy, disconnected, or a challenge failed or hung up on' }),
  flagged: Type.Integer({ description: 'let through marked as suspected spam' }),
  legitimate: Type.Integer({ description: 'let through unmarked, or a challenge passed' }),
  challenged: Type.Integer(),
  challengePassed: Type.Integer(),
  challengeFailed: Type.Integer(),
  forwarded: Type.Integer(),
  forwardAnswered: Type.Integer(),
  voicemail: Type.Integer(),
  wouldBlock: Type.Integer({ description: 'let through by monitor mode, which would have blocked, busied or disconnected them' }),
});

const Bucket = Type.Object({
  at: Type.Integer({ description: "the hour's start (epoch ms, a whole UTC hour)" }),
  total: Type.Integer(),
  blocked: Type.Integer(),
  flagged: Type.Integer(),
  legitimate: Type.Integer(),
  other: Type.Integer({ description: 'the rest: challenges not yet answered, forwards, voicemail' }),
});

/** The stats' stores on the agent's SQLite file (they only read). */
/** The impact cards and the calls-per-hour chart of the protection page, over the asker's tenants only. */
export function statsRoutes({ store }: RouteContext): FastifyPluginAsync {
  return async (plain) => {
    const app = plain as unknown as Api;
    app.get(
      '/v1/stats',
      {
        schema: {
          summary: 'Call counters over a period (the impact cards): Total, Scanned, Blocked, Flagged, Legitimate and the rest',
          querystring: Type.Object(
            { tenant: Tenant, since: Type.Optional(Type.String({ maxLength: 16, default: '24h', description: 'a duration back from now: 24h (default), 7d, 90m, 2w' })) },
            { additionalProperties: false },
          ),
          response: { 200: Counters },
        },
      },
      async (request) => callStats(store.as('system'), actingOf(request), { tenant: request.query.tenant, since: request.query.since ?? '24h' }),
    );
    app.get(
      '/v1/stats/hourly',
      {
        schema: {
          summary: 'Calls per hour by outcome, oldest first, hours without calls included (the current hour last)',
          querystring: Type.Object(
            { tenant: Tenant, hours: Type.Optional(Type.Integer({ default: 24, description: `${CHART_HOURS.join(' (a day, the default) or ')} (a week)` })) },
            { additionalProperties: false },
          ),
          response: { 200: Type.Object({ tenant: Type.Union([Type.String(), Type.Null()]), hours: Type.Integer(), buckets: Type.Array(Bucket) }) },
        },
      },
      async (request) => hourlyStats(store.as('system'), actingOf(request), { tenant: request.query.tenant, hours: request.query.hours ?? 24 }),
    );
  };
}
