import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { inField } from '../../engine/bad-input';
import { requireNumber } from '../../engine/numbers';
import type { Api, RouteContext } from '../server';
import { actingOf } from '../server';

export const Call = Type.Object({
  id: Type.Integer(),
  at: Type.Integer(),
  kind: Type.String(),
  source: Type.String({ description: 'freeswitch, asterisk or hook' }),
  pbx: Type.Union([Type.String(), Type.Null()], { description: 'the PBX connection the call came through, by its name in the config; null for the HTTP hook' }),
  tenant: Type.String(),
  did: Type.Union([Type.String(), Type.Null()]),
  caller: Type.Union([Type.String(), Type.Null()]),
  callerRaw: Type.Union([Type.String(), Type.Null()]),
  callerName: Type.Union([Type.String(), Type.Null()]),
  ip: Type.Union([Type.String(), Type.Null()]),
  sipFrom: Type.Union([Type.String(), Type.Null()]),
  action: Type.String(),
  target: Type.Union([Type.String(), Type.Null()]),
  ruleId: Type.Union([Type.Integer(), Type.Null()]),
  category: Type.Union([Type.String(), Type.Null()]),
  score: Type.Union([Type.Number(), Type.Null()]),
  flagged: Type.Boolean(),
  reasons: Type.Array(Type.String()),
  outcome: Type.Union([Type.String(), Type.Null()]),
  outcomeDetail: Type.Union([Type.String(), Type.Null()]),
});

/** Where a page of the log ends: the last call's time and id, as `<at>.<id>`; opaque to clients. */
const Cursor = Type.String({ pattern: '^[0-9]{1,16}\\.[0-9]{1,16}$', description: 'the `next` of the previous page' });
const Page = Type.Object({ calls: Type.Array(Call), next: Type.Union([Cursor, Type.Null()]) });
const cursorOf = (call: { at: number; id: number }) => `${call.at}.${call.id}`;
function parseCursor(text: string): { at: number; id: number } {
  const [at, id] = text.split('.').map(Number);
  return { at: at!, id: id! };
}

/** The call log, newest first, of the tenants the asker may see; and one caller's timeline. */
export function callRoutes({ store, country }: RouteContext): FastifyPluginAsync {
  return async (plain) => {
    const app = plain as unknown as Api;
    const calls = store.as('system').calls; // only read here
    app.get(
      '/v1/calls',
      {
        schema: {
          summary: 'Calls and texts, newest first; pass `next` back as `before` for the following page',
          querystring: Type.Object(
            {
              did: Type.Optional(Type.String({ maxLength: 64 })),
              caller: Type.Optional(Type.String({ maxLength: 64 })),
              action: Type.Optional(Type.String({ maxLength: 32 })),
              outcome: Type.Optional(Type.String({ maxLength: 32 })),
              tenant: Type.Optional(Type.String({ maxLength: 64 })),
              rule: Type.Optional(Type.Integer({ minimum: 1 })),
              since: Type.Optional(Type.Integer({ minimum: 0, description: 'epoch ms' })),
              until: Type.Optional(Type.Integer({ minimum: 0, description: 'epoch ms' })),
              before: Type.Optional(Cursor),
              limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
            },
            { additionalProperties: false },
          ),
          response: { 200: Page },
        },
      },
      async (request) => {
        const acting = actingOf(request);
        const q = request.query;
        const rows = await calls.list({
          tenants: acting.tenants ?? undefined,
          tenant: q.tenant,
          did: q.did === undefined ? undefined : inField('did', () => requireNumber(q.did!, country, 'DID')),
          caller: q.caller === undefined ? undefined : inField('caller', () => requireNumber(q.caller!, country, 'caller')),
          action: q.action,
          outcome: q.outcome,
          ruleId: q.rule,
          since: q.since,
          until: q.until,
          before: q.before === undefined ? undefined : parseCursor(q.before),
          limit: q.limit + 1,
        });
        const more = rows.length > q.limit;
        if (more) rows.pop();
        return { calls: rows, next: more ? cursorOf(rows[rows.length - 1]!) : null };
      },
    );
  };
}
