import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { maySee } from '../../operations/acting';
import { setTenantMode } from '../../operations/tenants';
import { TENANT_MODES } from '../../store/tenants';
import type { TenantMode } from '../../store/tenants';
import type { Api, RouteContext } from '../server';
import { actingOf } from '../server';

/** A tenant's mode as answered: one of TENANT_MODES (the body takes any text, so that a bad one is the operation's 400 naming `mode`). */
const Mode = Type.Unsafe<TenantMode>({ type: 'string', enum: [...TENANT_MODES], description: 'enforce, or monitor: calls decided and logged, and let through' });

/** The tenants (companies) the asker may see, with their DIDs: the company picker. */
export function tenantRoutes({ store }: RouteContext): FastifyPluginAsync {
  return async (plain) => {
    const app = plain as unknown as Api;
    app.get(
      '/v1/tenants',
      {
        schema: {
          summary: 'Tenants the asker may see, with their DIDs and rule counts',
          response: {
            200: Type.Object({
              tenants: Type.Array(Type.Object({ name: Type.String(), mode: Mode, dids: Type.Array(Type.String()), rules: Type.Integer() })),
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
          .map((tenant) => ({ name: tenant.name, mode: tenant.mode, dids: dids.filter((did) => did.tenant === tenant.name).map((did) => did.number), rules: tenant.rules }));
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
  };
}
