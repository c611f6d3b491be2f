import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { CATEGORIES, POLICY_ACTIONS } from '../../engine/types';
import { listCategories, setCategory } from '../../operations/categories';
import type { Api, RouteContext } from '../server';
import { actingOf, backendsOf } from '../server';

const Nullable = <T extends ReturnType<typeof Type.Object>>(schema: T, description: string) => Type.Union([schema, Type.Null()], { description });

const Policy = Type.Object({
  scope: Type.String({ description: 'global or tenant:<name>' }),
  action: Type.String({ description: POLICY_ACTIONS.join(', ') }),
  when: Type.Union([Type.String(), Type.Null()], { description: 'weekly windows the policy applies in; null: always' }),
  tz: Type.Union([Type.String(), Type.Null()], { description: 'IANA time zone of `when`' }),
});

export const CategoryView = Type.Object({
  category: Type.String({ description: CATEGORIES.join(', ') }),
  global: Nullable(Policy, 'the global policy, which every tenant without its own follows'),
  own: Nullable(Policy, "the tenant's own policy (null without a tenant, or when it has none)"),
  inForce: Nullable(Policy, "the tenant's own, else the global one (outside an own policy's window the global one applies); null: no policy, the category is allowed"),
});

const TenantQuery = Type.Object({ tenant: Type.Optional(Type.String({ maxLength: 64, description: 'a tenant the asker may see; none: the global policies only' })) }, { additionalProperties: false });

/** Caller categories (anonymous, invalid, toll_free, …): a policy per tenant, falling back to the global one. */
/** The category operations' stores on the agent's SQLite file, audited as the asker. */
export function categoryRoutes({ store }: RouteContext): FastifyPluginAsync {
  return async (plain) => {
    const app = plain as unknown as Api;
    app.get(
      '/v1/categories',
      {
        schema: {
          summary: "Every caller category with its global policy, the tenant's own and the one in force",
          querystring: TenantQuery,
          response: { 200: Type.Object({ tenant: Type.Union([Type.String(), Type.Null()]), categories: Type.Array(CategoryView) }) },
        },
      },
      async (request) => listCategories(backendsOf(store, request), actingOf(request), request.query.tenant),
    );
    app.put(
      '/v1/categories/:category',
      {
        schema: {
          summary: "Set a category's policy for a tenant, or the global one (administrators); a null action removes it",
          params: Type.Object({ category: Type.String({ maxLength: 32, description: `${CATEGORIES.join(', ')} (toll-free is read as toll_free)` }) }),
          body: Type.Object(
            {
              tenant: Type.Optional(Type.String({ maxLength: 64, description: "this tenant's own policy; none: the global one (administrators only)" })),
              // One schema with `nullable` (not a union): the validator's type coercion would turn a null into "" for the string branch.
              action: Type.Unsafe<string | null>({ type: 'string', nullable: true, maxLength: 32, description: `${POLICY_ACTIONS.join(', ')}; null removes the policy (a tenant then follows the global one)` }),
              when: Type.Optional(Type.String({ maxLength: 500, description: 'only within these weekly windows, e.g. mon-fri 17:00-09:00' })),
              tz: Type.Optional(Type.String({ maxLength: 64, description: "IANA time zone of `when` (default: the agent machine's)" })),
            },
            { additionalProperties: false },
          ),
          response: { 200: CategoryView },
        },
      },
      async (request) => setCategory(backendsOf(store, request), actingOf(request), { category: request.params.category, ...request.body, action: request.body.action as string | null }),
    );
  };
}
