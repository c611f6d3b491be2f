import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Api, RouteContext } from '../server';
import { actingOf } from '../server';
import { Unauthenticated } from '../errors';
import { lastTenantOf } from '../../operations/users';

export const SESSION_COOKIE = 'callguard_session';
/** Sign-in attempts allowed per minute from one address, and for one user name from anywhere. */
const PER_ADDRESS = 20;
const PER_USER = 5;

const Me = Type.Object({
  name: Type.String(),
  tenants: Type.Union([Type.Array(Type.String()), Type.Null()], { description: 'null: every tenant' }),
  mayChange: Type.Boolean(),
  csrfToken: Type.Optional(Type.String({ description: 'send as x-csrf-token with every request that changes something' })),
  lastTenant: Type.Optional(Type.Union([Type.String(), Type.Null()], { description: "a signed-in user's last company picker choice (PUT /v1/me/tenant); null: none yet; absent for a token" })),
});

/** Sign in and out (browsers), and who am I (everyone). */
export function sessionRoutes({ authenticator, csrf, secure, store }: RouteContext): FastifyPluginAsync {
  return async (plain) => {
    const app = plain as unknown as Api;
    // Beside the per-address limit of the route: guessing one user's password from many addresses is limited too.
    const userLimit = app.createRateLimit({
      max: PER_USER,
      timeWindow: 60_000,
      keyGenerator: (request) => `user:${String((request.body as { name?: unknown } | undefined)?.name ?? '').toLowerCase()}`,
    });
    const perUser = async (request: FastifyRequest, reply: FastifyReply) => {
      const limit = await userLimit(request);
      if (!limit.isAllowed && limit.isExceeded) return reply.code(429).header('retry-after', limit.ttlInSeconds).send({ error: `too many sign-in attempts for this user: try again in ${limit.ttlInSeconds} s` });
    };
    app.post(
      '/v1/session',
      {
        config: { rateLimit: { max: PER_ADDRESS, timeWindow: 60_000 } },
        preHandler: perUser,
        schema: {
          summary: 'Sign in: sets the session cookie and answers the CSRF token',
          security: [],
          body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 64 }), password: Type.String({ minLength: 1, maxLength: 1024 }) }, { additionalProperties: false }),
          response: { 200: Me },
        },
      },
      async (request, reply) => {
        const made = await authenticator.signIn(request.body.name, request.body.password);
        if (!made) throw new Unauthenticated('wrong name or password');
        void reply.setCookie(SESSION_COOKIE, made.sessionId, { path: '/', httpOnly: true, sameSite: 'strict', secure });
        const { acting } = made.session;
        return { name: acting.actor, tenants: acting.tenants ? [...acting.tenants] : null, mayChange: acting.mayChange, csrfToken: csrf.create(made.session.csrfSecret) };
      },
    );
    app.delete('/v1/session', { schema: { summary: 'Sign out' } }, async (request, reply) => {
      const sessionId = request.cookies[SESSION_COOKIE];
      if (sessionId) await authenticator.signOut(sessionId);
      void reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return reply.code(204).send();
    });
    app.get('/v1/me', { schema: { summary: 'Who is asking', response: { 200: Me } } }, async (request) => {
      const acting = actingOf(request);
      const lastTenant = await lastTenantOf(store.as(acting.actor).users, acting);
      return {
        ...(lastTenant !== undefined ? { lastTenant } : {}),
        name: acting.actor,
        tenants: acting.tenants ? [...acting.tenants] : null,
        mayChange: acting.mayChange,
        ...(request.csrfSecret ? { csrfToken: csrf.create(request.csrfSecret) } : {}),
      };
    });
  };
}
