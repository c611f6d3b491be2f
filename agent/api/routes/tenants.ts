import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { maySee } from '../../operations/acting';
import { ALLOW_ONLY_ACTIONS } from '../../engine/allow-only';
import type { AllowOnlyAction, DidAllowOnly } from '../../engine/allow-only';
import { trustCallbacks } from '../../operations/called-numbers';
import { setAllowOnly, setTenantMode } from '../../operations/tenants';
import type { AllowOnlyChange } from '../../operations/tenants';
import { TENANT_MODES } from '../../store/tenants';
import type { TenantMode } from '../../store/tenants';
import type { Api, RouteContext } from '../server';
import { actingOf } from '../server';

/** A tenant's mode as answered: one of TENANT_MODES (the body takes any text, so that a bad one is the operation's 400 naming `mode`). */
const Mode = Type.Unsafe<TenantMode>({ type: 'string', enum: [...TENANT_MODES], description: 'enforce, or monitor: calls decided and logged, and let through' });

/** Allow-only mode as answered: what callers no allow rule lets through get; null (a tenant's) off. */
const AllowOnlyAction = Type.Unsafe<AllowOnlyAction>({ type: 'string', enum: [...ALLOW_ONLY_ACTIONS] });
const AllowOnlyOfTenant = Type.Union([AllowOnlyAction, Type.Null()], {
  description: `allow-only mode: only callers an allow rule lets through ring, everyone else gets this action (${ALLOW_ONLY_ACTIONS.join(', ')}); null: off`,
});
/** A DID's own setting, overriding its tenant's: an action, or off (not allow-only whatever the tenant says). */
const AllowOnlyOfDid = Type.Unsafe<DidAllowOnly>({ type: 'string', enum: [...ALLOW_ONLY_ACTIONS, 'off'] });

/** The tenants (companies) the asker may see, with their DIDs: the company picker. */
export function tenantRoutes({ store, country }: RouteContext): FastifyPluginAsync {
  return async (plain) => {
    const app = plain as unknown as Api;
    app.get(
      '/v1/tenants',
      {
        schema: {
          summary: 'Tenants the asker may see, with their DIDs and rule counts',
          response: {
            200: Type.Object({
              tenants: Type.Array(
                Type.Object({
                  name: Type.String(),
                  mode: Mode,
                  allowOnly: AllowOnlyOfTenant,
                  dids: Type.Array(Type.String()),
                  didAllowOnly: Type.Record(Type.String(), AllowOnlyOfDid, { description: "the DIDs with their own allow-only setting (overriding the tenant's); any other follows the tenant" }),
                  rules: Type.Integer(),
                }),
              ),
            }),
          },
        },
      },
      async (request) => {
        const acting = actingOf(request);
        const tenants = store.as(acting.actor).tenants;
        const dids = await tenants.listDids();
        const visible = (await tenants.listTenants())
          .filter((tenant) => maySee(acting, tenant.name))
          .map((tenant) => {
            const own = dids.filter((did) => did.tenant === tenant.name);
            const didAllowOnly = Object.fromEntries(own.flatMap((did) => (did.allowOnly === null ? [] : [[did.number, did.allowOnly]])));
            return { name: tenant.name, mode: tenant.mode, allowOnly: tenant.allowOnly, dids: own.map((did) => did.number), didAllowOnly, rules: tenant.rules };
          });
        return { tenants: visible };
      },
    );
    app.put(
      '/v1/tenants/:name/mode',
      {
        schema: {
          summary: "Monitor mode (every call decided and logged, and let through) or enforce, for one tenant (callguard tenants mode)",
          params: Type.Object({ name: Type.String({ maxLength: 64 }) }),
          body: Type.Object({ mode: Type.String({ maxLength: 16, description: 'enforce or monitor' }) }, { additionalProperties: false }),
          response: { 200: Type.Object({ name: Type.String(), mode: Mode }) },
        },
      },
      async (request) => ({ name: request.params.name, mode: await setTenantMode(store.as(actingOf(request).actor).tenants, actingOf(request), request.params.name, request.body.mode) }),
    );
    app.put(
      '/v1/tenants/:name/allow-only',
      {
        schema: {
          summary: 'Allow-only mode for a tenant or one of its DIDs: only callers an allow rule lets through ring, everyone else gets the action (callguard tenants allow-only)',
          params: Type.Object({ name: Type.String({ maxLength: 64 }) }),
          body: Type.Object(
            {
              action: Type.String({ maxLength: 16, description: `${ALLOW_ONLY_ACTIONS.join(', ')}, or off; for a DID also inherit (follow the tenant again)` }),
              did: Type.Optional(Type.String({ maxLength: 64, description: "one DID of the tenant, any number form: its own setting overrides the tenant's" })),
            },
            { additionalProperties: false },
          ),
          response: {
            200: Type.Object({
              name: Type.String(),
              did: Type.Union([Type.String(), Type.Null()]),
              action: Type.Unsafe<AllowOnlyChange['action']>({ type: 'string', enum: [...ALLOW_ONLY_ACTIONS, 'off', 'inherit'] }),
            }),
          },
        },
      },
      async (request) => {
        const acting = actingOf(request);
        return setAllowOnly(store.as(acting.actor).tenants, acting, request.params.name, request.body.action, request.body.did, country);
      },
    );
    app.put(
      '/v1/tenants/:name/trust-callbacks',
      {
        schema: {
          summary: "How long a number the tenant's users called may call back past categories and protection, or off (callguard callbacks trust)",
          params: Type.Object({ name: Type.String({ maxLength: 64 }) }),
          body: Type.Object({ duration: Type.String({ maxLength: 16, description: 'a duration such as 14d or 2w, or off' }) }, { additionalProperties: false }),
          response: { 200: Type.Object({ name: Type.String(), ms: Type.Integer({ description: 'the window in milliseconds; 0: off' }) }) },
        },
      },
      async (request) => {
        const acting = actingOf(request);
        const { ms } = await trustCallbacks(store.as(acting.actor), acting, { duration: request.body.duration, tenant: request.params.name }, 'name');
        return { name: request.params.name, ms };
      },
    );
  };
}
