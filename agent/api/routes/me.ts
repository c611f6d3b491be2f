import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { rememberTenant } from '../../operations/users';
import type { Api, RouteContext } from '../server';
import { actingOf } from '../server';

/** The signed-in person's own preferences: the company picker's choice, which `GET /v1/me` answers as `lastTenant`. */
export function meRoutes({ store }: RouteContext): FastifyPluginAsync {
  return async (plain) => {
    const app = plain as unknown as Api;
    app.put(
      '/v1/me/tenant',
      {
        schema: {
          summary: 'Remember the company picked, for the signed-in user (a tenant they may see). Only people pick: a token gets 400',
          body: Type.Object({ tenant: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false }),
          response: { 200: Type.Object({ lastTenant: Type.String() }) },
        },
      },
      async (request) => {
        const acting = actingOf(request);
        await rememberTenant(store.as(acting.actor).users, acting, request.body.tenant);
        return { lastTenant: request.body.tenant };
      },
    );
  };
}
