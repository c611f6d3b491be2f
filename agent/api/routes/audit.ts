import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { Forbidden } from '../../operations/acting';
import type { Api, RouteContext } from '../server';
import { actingOf, backendsOf } from '../server';

/** Every change with who, when, before and after: for those who may see every tenant. */
export function auditRoutes({ store }: RouteContext): FastifyPluginAsync {
  return async (plain) => {
    const app = plain as unknown as Api;
    app.get(
      '/v1/audit',
      {
        schema: {
          summary: 'The audit trail, newest first',
          querystring: Type.Object({ since: Type.Optional(Type.Integer({ minimum: 0 })), limit: Type.Integer({ minimum: 1, maximum: 1000, default: 200 }) }, { additionalProperties: false }),
          response: {
            200: Type.Object({
              changes: Type.Array(
                Type.Object({ id: Type.Integer(), at: Type.Integer(), actor: Type.String(), verb: Type.String(), entity: Type.String(), key: Type.String(), before: Type.Unknown(), after: Type.Unknown() }),
              ),
            }),
          },
        },
      },
      async (request) => {
        const acting = actingOf(request);
        if (acting.tenants !== null) throw new Forbidden('the audit trail spans every tenant: administrators only');
        return { changes: await backendsOf(store, request).audit.list(request.query.since, request.query.limit) };
      },
    );
  };
}
