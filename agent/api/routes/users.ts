import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { addToken, addUser, listTokens, listUsers, removeToken, removeUser, setUserTenants } from '../../operations/users';
import type { Api, RouteContext } from '../server';
import { actingOf, backendsOf } from '../server';

const Tenants = Type.Union([Type.Array(Type.String()), Type.Null()], { description: 'the tenants it may see; null: every tenant (an admin)' });

const User = Type.Object({
  name: Type.String(),
  role: Type.String({ description: 'admin, manager or viewer' }),
  tenants: Tenants,
  createdAt: Type.Integer(),
  lastTenant: Type.Union([Type.String(), Type.Null()], { description: "the company picker's last choice" }),
});

const Token = Type.Object({
  name: Type.String(),
  role: Type.String({ description: 'admin, manager or viewer' }),
  tenants: Tenants,
  createdAt: Type.Integer(),
  lastUsedAt: Type.Union([Type.Integer(), Type.Null()], { description: 'noted at most once a minute' }),
});

const AccountName = Type.String({ minLength: 1, maxLength: 64, description: "letters, digits, '.', '_' or '-', starting with a letter or digit; kept in lower case" });
const Role = Type.String({ maxLength: 16, description: 'admin (every tenant), manager (changes its tenants) or viewer (looks only)' });
const GrantedTenants = Type.Array(Type.String({ maxLength: 64 }), { maxItems: 1000, description: 'the tenants a manager or viewer may see (at least one); none for an admin' });
const Name = Type.Object({ name: AccountName });

/** The accounts on the agent's SQLite file, changes audited as the asker. */
/**
 * People who sign in to the console and tokens for machines: administrators only (403 for
 * anyone else). Passwords and tokens are never logged, listed or audited; a token is answered
 * once, when it is made.
 */
export function userRoutes({ store }: RouteContext): FastifyPluginAsync {
  return async (plain) => {
    const app = plain as unknown as Api;
    app.get('/v1/users', { schema: { summary: 'Users with their role and tenants (administrators only)', response: { 200: Type.Object({ users: Type.Array(User) }) } } }, async (request) => ({
      users: await listUsers(backendsOf(store, request).users, actingOf(request)),
    }));
    app.post(
      '/v1/users',
      {
        schema: {
          summary: 'Add a user (administrators only); the password is hashed with scrypt and never logged',
          body: Type.Object(
            {
              name: AccountName,
              role: Role,
              tenants: Type.Optional(GrantedTenants),
              password: Type.String({ maxLength: 4096, writeOnly: true, description: 'at least 12 characters' }),
            },
            { additionalProperties: false },
          ),
          response: { 201: User },
        },
      },
      async (request, reply) => {
        const { name, role, tenants, password } = request.body;
        return reply.code(201).send(await addUser(backendsOf(store, request).users, actingOf(request), { name, role, tenants: tenants ?? [], password }));
      },
    );
    app.delete('/v1/users/:name', { schema: { summary: 'Remove a user and end their sessions (administrators only)', params: Name } }, async (request, reply) => {
      await removeUser(backendsOf(store, request).users, actingOf(request), request.params.name);
      return reply.code(204).send();
    });
    app.put(
      '/v1/users/:name/tenants',
      {
        schema: {
          summary: 'Replace the tenants a manager or viewer may see (administrators only)',
          params: Name,
          body: Type.Object({ tenants: GrantedTenants }, { additionalProperties: false }),
          response: { 200: User },
        },
      },
      async (request) => setUserTenants(backendsOf(store, request).users, actingOf(request), request.params.name, request.body.tenants),
    );
    app.get('/v1/tokens', { schema: { summary: 'Tokens with their role, tenants and last use, never the token (administrators only)', response: { 200: Type.Object({ tokens: Type.Array(Token) }) } } }, async (request) => ({
      tokens: await listTokens(backendsOf(store, request).users, actingOf(request)),
    }));
    app.post(
      '/v1/tokens',
      {
        schema: {
          summary: 'Add a token (administrators only): the answer holds it once, as `token`; only its hash is kept',
          body: Type.Object({ name: AccountName, role: Role, tenants: Type.Optional(GrantedTenants) }, { additionalProperties: false }),
          response: { 201: Type.Object({ token: Type.String({ description: 'send as Authorization: Bearer <token>; shown this once' }), ...Token.properties }) },
        },
      },
      async (request, reply) => {
        const { name, role, tenants } = request.body;
        const { token, row } = await addToken(backendsOf(store, request).users, actingOf(request), { name, role, tenants: tenants ?? [] });
        return reply.code(201).send({ token, ...row });
      },
    );
    app.delete('/v1/tokens/:name', { schema: { summary: 'Remove a token: requests bearing it are refused from now on (administrators only)', params: Name } }, async (request, reply) => {
      await removeToken(backendsOf(store, request).users, actingOf(request), request.params.name);
      return reply.code(204).send();
    });
  };
}
