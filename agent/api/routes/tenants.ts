import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { maySee } from '../../operations/acting';
import { TenantStore } from '../../store/tenants';
import type { Api, RouteContext } from '../server';
import { actingOf } from '../server';

/** The tenants (companies) the asker may see, with their DIDs: the company picker. */
export function tenantRoutes({ db }: RouteContext): FastifyPluginAsync {
  return async (plain) => {
    const app = plain as unknown as Api;
    app.get(
      '/v1/tenants',
      {
        schema: {
          summary: 'Tenants the asker may see, with their DIDs and rule counts',
          response: { 200: Type.Object({ tenants: Type.Array(Type.Object({ name: Type.String(), dids: Type.Array(Type.String()), rules: Type.Integer() })) }) },
        },
      },
      async (request) => {
        const acting = actingOf(request);
        const store = new TenantStore(db, acting.actor);
        const dids = store.listDids();
        const tenants = store
          .list()
          .filter((tenant) => maySee(acting, tenant.name))
          .map((tenant) => ({ name: tenant.name, dids: dids.filter((did) => did.tenant === tenant.name).map((did) => did.number), rules: tenant.rules }));
        return { tenants };
      },
    );
  };
}
