import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { addRules, listRules, removeRules } from '../../operations/rules';
import { winningRules } from '../../operations/winning-rules';
import type { Api, RouteContext } from '../server';
import { actingOf, backendsOf } from '../server';

export const Rule = Type.Object({
  id: Type.Integer(),
  scope: Type.String({ description: 'global, tenant:<name> or did:<number>' }),
  kind: Type.String({ description: 'number, prefix, anonymous, ip, sip, name (caller-name glob) or name_word (whole words in the caller name)' }),
  key: Type.String(),
  pattern: Type.String(),
  action: Type.String(),
  target: Type.Union([Type.String(), Type.Null()]),
  sms: Type.Boolean(),
  note: Type.Union([Type.String(), Type.Null()]),
  list: Type.Union([Type.String(), Type.Null()]),
  expiresAt: Type.Union([Type.Integer(), Type.Null()]),
  when: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  tz: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  createdAt: Type.Integer(),
  updatedAt: Type.Integer(),
});

/** What `callguard rules add` takes, as JSON: every value is checked by the same operation. */
const NewRules = Type.Object(
  {
    patterns: Type.Optional(Type.String({ maxLength: 65_536, description: 'one pattern, or several comma-separated (each its own rule; all or none); or give name or nameWord instead' })),
    name: Type.Optional(Type.String({ maxLength: 1000, description: "a caller-name rule: the caller ID name, * for any run of characters ('V9*'); case and spacing ignored" })),
    nameWord: Type.Optional(Type.String({ maxLength: 1000, description: "a caller-name rule: these whole words anywhere in the caller ID name ('SPAM')" })),
    action: Type.String({ minLength: 1, maxLength: 128, description: 'allow, block, challenge, busy, disconnected, voicemail[:box] or forward[:number]' }),
    to: Type.Optional(Type.String({ maxLength: 64, description: 'forward number, or voicemail box' })),
    scope: Type.Optional(Type.String({ maxLength: 128, description: 'global (default), tenant:<name> or did:<number>' })),
    sms: Type.Optional(Type.Boolean()),
    note: Type.Optional(Type.String({ maxLength: 1000 })),
    list: Type.Optional(Type.String({ maxLength: 64 })),
    expires: Type.Optional(Type.String({ maxLength: 64, description: 'a duration (30d, 12h) or an ISO date' })),
    when: Type.Optional(Type.String({ maxLength: 500, description: 'weekly windows, e.g. mon-fri 09:00-17:00' })),
    tz: Type.Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: false },
);

const Id = Type.Integer({ minimum: 1, maximum: 2 ** 53 - 1 });

/** Rules: list with a cursor, add (one or many, all or none), remove (one or many). */
export function ruleRoutes({ store, country }: RouteContext): FastifyPluginAsync {
  return async (plain) => {
    const app = plain as unknown as Api;
    app.get(
      '/v1/rules',
      {
        schema: {
          summary: 'Rules the asker may see, in id order; pass `next` back as `after` for the following page',
          querystring: Type.Object(
            {
              scope: Type.Optional(Type.String({ maxLength: 128 })),
              list: Type.Optional(Type.String({ maxLength: 64 })),
              after: Type.Optional(Id),
              limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
            },
            { additionalProperties: false },
          ),
          response: { 200: Type.Object({ rules: Type.Array(Rule), next: Type.Union([Type.Integer(), Type.Null()]) }) },
        },
      },
      async (request) => listRules(backendsOf(store, request).rules, actingOf(request), { scope: request.query.scope, list: request.query.list, afterId: request.query.after, limit: request.query.limit }, country),
    );
    app.get(
      '/v1/rules/winning-order',
      {
        schema: {
          summary: "The rules that apply to a company's calls in the order they win (its DIDs', its own, then global; exact before patterns; longer first; newest first); pass `next` back as `after`",
          querystring: Type.Object(
            {
              tenant: Type.Optional(Type.String({ maxLength: 64, description: 'none: every scope the asker sees, narrowest first' })),
              kinds: Type.Optional(Type.String({ maxLength: 64, description: 'comma-separated: number, prefix, anonymous, ip, sip (none: all)' })),
              after: Type.Optional(Type.String({ maxLength: 512 })),
              limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
            },
            { additionalProperties: false },
          ),
          response: { 200: Type.Object({ rules: Type.Array(Rule), next: Type.Union([Type.String(), Type.Null()]) }) },
        },
      },
      async (request) => {
        return winningRules(backendsOf(store, request), actingOf(request), request.query, country);
      },
    );
    app.post(
      '/v1/rules',
      { schema: { summary: 'Add rules, one per pattern, all or none', body: NewRules, response: { 201: Type.Object({ rules: Type.Array(Rule) }) } } },
      async (request, reply) => reply.code(201).send({ rules: await addRules(backendsOf(store, request).rules, actingOf(request), request.body, country) }),
    );
    app.delete(
      '/v1/rules/:id',
      { schema: { summary: 'Remove a rule', params: Type.Object({ id: Id }), response: { 200: Type.Object({ removed: Type.Array(Rule) }) } } },
      async (request) => ({ removed: await removeRules(backendsOf(store, request).rules, actingOf(request), [request.params.id], country) }),
    );
    app.post(
      '/v1/rules/bulk-delete',
      {
        schema: {
          summary: 'Remove several rules, all or none',
          body: Type.Object({ ids: Type.Array(Id, { minItems: 1, maxItems: 10_000, uniqueItems: true }) }, { additionalProperties: false }),
          response: { 200: Type.Object({ removed: Type.Array(Rule) }) },
        },
      },
      async (request) => ({ removed: await removeRules(backendsOf(store, request).rules, actingOf(request), request.body.ids, country) }),
    );
  };
}
