import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { SCORE_DEFAULTS } from '../../engine/score-settings';
import { addAllowed, listAllowed, removeAllowed } from '../../operations/allow-list';
import { DEFAULT_THRESHOLD, FLAG_BELOW, PROTECTION_ACTIONS, setProtection, showProtection } from '../../operations/protection';
import type { Api, RouteContext } from '../server';
import { actingOf, backendsOf } from '../server';
import { Id, TenantParam } from './carriers';
import { Rule } from './rules';

const Setting = Type.Object({
  scope: Type.String({ description: 'global or tenant:<name>' }),
  enabled: Type.Boolean(),
  threshold: Type.Integer(),
  flagThreshold: Type.Union([Type.Integer(), Type.Null()]),
  action: Type.String(),
});

const Protection = Type.Object({
  tenant: Type.Union([Type.String(), Type.Null()], { description: 'the tenant asked for; null: the global setting' }),
  enabled: Type.Boolean({ description: 'whether protection is on (Active) for this tenant' }),
  threshold: Type.Integer({ description: `risk score 10-100 at or above which the action applies (default ${DEFAULT_THRESHOLD}; lower blocks more)` }),
  flagThreshold: Type.Union([Type.Integer(), Type.Null()], { description: 'from this score calls go through marked as suspected spam; null: never' }),
  action: Type.String({ description: PROTECTION_ACTIONS.join(', ') }),
  from: Type.String({ description: "where the setting in force comes from: tenant:<name> (the tenant's own), global (inherited) or default (nothing stored: off)" }),
  own: Type.Boolean({ description: 'whether the tenant has its own setting (false: inherited)' }),
  global: Type.Union([Setting, Type.Null()], { description: 'the global setting every tenant without its own follows' }),
});

/** Score points as numbers, windows (10m, 30d) as text. */
const Score = Type.Object(
  Object.fromEntries(Object.entries(SCORE_DEFAULTS).map(([key, value]) => [key, typeof value === 'string' ? Type.String() : Type.Number()])),
  { description: 'the risk score settings (callguard protection tune)' },
);

/**
 * Robocall protection: the toggle, the risk threshold and the flag threshold, per tenant
 * with a global fallback; and the page's allow list card, which is the allow rules (a
 * matching allow rule ends screening: no category, carrier rule or score applies).
 */
export function protectionRoutes({ store, country }: RouteContext): FastifyPluginAsync {
  return async (plain) => {
    const app = plain as unknown as Api;
    app.get(
      '/v1/protection',
      {
        schema: {
          summary: 'Robocall protection in force for a tenant (or the global setting), and the score settings',
          querystring: Type.Object({ tenant: Type.Optional(Type.String({ maxLength: 64, description: 'a tenant the asker may see; none: the global setting' })) }, { additionalProperties: false }),
          response: { 200: Type.Composite([Protection, Type.Object({ score: Score })]) },
        },
      },
      async (request) => showProtection(backendsOf(store, request), actingOf(request), request.query.tenant),
    );
    app.put(
      '/v1/protection',
      {
        schema: {
          summary: "Turn protection on or off and set its thresholds for a tenant (its own setting), or globally (administrators); what is not given is kept",
          body: Type.Object(
            {
              tenant: Type.Optional(Type.String({ maxLength: 64, description: "this tenant's own setting; none: the global one (administrators only)" })),
              enabled: Type.Optional(Type.Boolean({ description: 'on or off; not given: as in force before (off by default)' })),
              threshold: Type.Optional(Type.Number({ description: `a whole number 10-100 (default ${DEFAULT_THRESHOLD}); lower blocks more` })),
              // `nullable`, not a union: the validator's type coercion would turn a null into 0 for the number branch.
              flagThreshold: Type.Optional(
                Type.Unsafe<number | null>({ type: 'number', nullable: true, description: `a whole number 0-100, at or below the threshold; null: never flag; not given with a new threshold: threshold - ${FLAG_BELOW}` }),
              ),
              action: Type.Optional(Type.String({ maxLength: 32, description: `at the threshold: ${PROTECTION_ACTIONS.join(', ')} (default block)` })),
            },
            { additionalProperties: false },
          ),
          response: { 200: Protection },
        },
      },
      async (request) => setProtection(backendsOf(store, request), actingOf(request), { ...request.body, flagThreshold: request.body.flagThreshold as number | null | undefined }),
    );

    app.get(
      '/v1/allow-list',
      {
        schema: {
          summary: 'Numbers that bypass scoring and blocking: the allow rules, in id order; pass `next` back as `after` for the following page',
          querystring: Type.Object({ tenant: Type.Optional(TenantParam), after: Type.Optional(Id), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })) }, { additionalProperties: false }),
          response: { 200: Type.Object({ entries: Type.Array(Rule), next: Type.Union([Type.Integer(), Type.Null()]) }) },
        },
      },
      async (request) => listAllowed(backendsOf(store, request), actingOf(request), { tenant: request.query.tenant, afterId: request.query.after, limit: request.query.limit ?? 100 }),
    );
    app.post(
      '/v1/allow-list',
      {
        schema: {
          summary: 'Allow numbers: an allow rule each, for a tenant or (administrators) every tenant; all or none',
          body: Type.Object(
            {
              number: Type.String({ minLength: 1, maxLength: 65_536, description: 'a number such as +12125551234, or several comma-separated (any rule pattern works)' }),
              tenant: Type.Optional(Type.String({ maxLength: 64, description: "allowed for this tenant's calls; none: for every tenant (administrators only)" })),
              note: Type.Optional(Type.String({ maxLength: 1000 })),
              expires: Type.Optional(Type.String({ maxLength: 64, description: 'a duration (30d, 12h) or an ISO date' })),
            },
            { additionalProperties: false },
          ),
          response: { 201: Type.Object({ entries: Type.Array(Rule) }) },
        },
      },
      async (request, reply) => reply.code(201).send({ entries: await addAllowed(backendsOf(store, request), actingOf(request), request.body, country) }),
    );
    app.delete(
      '/v1/allow-list/:id',
      { schema: { summary: 'Remove a number from the allow list (its allow rule)', params: Type.Object({ id: Id }), response: { 200: Type.Object({ removed: Rule }) } } },
      async (request) => ({ removed: await removeAllowed(backendsOf(store, request), actingOf(request), request.params.id, country) }),
    );

  };
}
