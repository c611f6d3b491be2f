import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { addCarrier, listCarriers, removeCarrierIds } from '../../operations/carriers';
import type { Api, RouteContext } from '../server';
import { actingOf, backendsOf } from '../server';

const Carrier = Type.Object({
  id: Type.Integer(),
  scope: Type.String({ description: 'global, tenant:<name> or did:<number>' }),
  pattern: Type.String({ description: 'lower case; matches any carrier name that contains it' }),
});

export const Id = Type.Integer({ minimum: 1, maximum: 2 ** 53 - 1 });
export const TenantParam = Type.String({ maxLength: 64, description: "a tenant the asker may see: only what applies to its calls (its DIDs', its own and global)" });

/** The carrier blocklist of the protection page: a case-insensitive part of the carrier name. */
export function carrierRoutes({ store, country }: RouteContext): FastifyPluginAsync {
  return async (plain) => {
    const app = plain as unknown as Api;
    app.get(
      '/v1/carriers',
      {
        schema: {
          summary: 'Carrier rules the asker sees',
          querystring: Type.Object({ tenant: Type.Optional(TenantParam) }, { additionalProperties: false }),
          response: { 200: Type.Object({ carriers: Type.Array(Carrier) }) },
        },
      },
      async (request) => ({ carriers: await listCarriers(backendsOf(store, request), actingOf(request), request.query.tenant, country) }),
    );
    app.post(
      '/v1/carriers',
      {
        schema: {
          summary: 'Reject calls whose carrier name contains this (case-insensitive) while protection is on; broad terms block real calls',
          body: Type.Object(
            {
              pattern: Type.String({ maxLength: 200, description: 'part of a carrier name, 2 to 100 characters (e.g. "VoIP Innovations")' }),
              scope: Type.Optional(Type.String({ maxLength: 128, description: 'global (default), tenant:<name> or did:<number>' })),
            },
            { additionalProperties: false },
          ),
          response: { 201: Carrier },
        },
      },
      async (request, reply) => reply.code(201).send(await addCarrier(backendsOf(store, request), actingOf(request), request.body, country)),
    );
    app.delete(
      '/v1/carriers/:id',
      { schema: { summary: 'Remove a carrier rule', params: Type.Object({ id: Id }), response: { 200: Type.Object({ removed: Type.Array(Carrier) }) } } },
      async (request) => ({ removed: await removeCarrierIds(backendsOf(store, request), actingOf(request), [request.params.id], country) }),
    );

  };
}
