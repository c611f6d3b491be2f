import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { explain } from '../../operations/explain';
import { decisionJson } from '../../screening/decision-json';
import type { Api, RouteContext } from '../server';
import { actingOf, backendsOf } from '../server';

/** "Which rule wins for …": the decision for a call as the PBX would report it, with every reason. */
export function explainRoutes({ store, country, reputation, callerIds }: RouteContext): FastifyPluginAsync {
  return async (plain) => {
    const app = plain as unknown as Api;
    app.get(
      '/v1/explain',
      {
        schema: {
          summary: 'What callguard would do with a call or text, and why (as callguard explain --json)',
          querystring: Type.Object(
            {
              from: Type.String({ maxLength: 256, description: 'calling number as the PBX reports it; empty for anonymous' }),
              to: Type.String({ minLength: 1, maxLength: 64 }),
              ip: Type.Optional(Type.String({ maxLength: 64 })),
              sipFrom: Type.Optional(Type.String({ maxLength: 512 })),
              name: Type.Optional(Type.String({ maxLength: 256 })),
              attestation: Type.Optional(Type.String({ maxLength: 64 })),
              carrier: Type.Optional(Type.String({ maxLength: 256 })),
              sms: Type.Optional(Type.Boolean()),
              at: Type.Optional(Type.String({ maxLength: 64 })),
            },
            { additionalProperties: false },
          ),
          response: { 200: Type.Record(Type.String(), Type.Unknown()) },
        },
      },
      async (request) => decisionJson(await explain(backendsOf(store, request).decideCall, actingOf(request), request.query, country, reputation, callerIds)),
    );
  };
}
