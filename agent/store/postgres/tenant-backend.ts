import type { Pool } from 'pg';
import type { AllowOnlyAction, DidAllowOnly } from '../../engine/allow-only';
import type { E164 } from '../../engine/types';
import type { TenantBackend } from '../tenant-backend';
import type { DidAllowOnlyChange, DidRegistration, DidRow, TenantHoldings, TenantMode, TenantRow } from '../tenants';
import { auditedTransaction } from './audited-transaction';

/** TenantBackend on a fleet's PostgreSQL: each write and its audit entry in one transaction. */
export class PostgresTenantBackend implements TenantBackend {
  constructor(
    private readonly pool: Pool,
    private readonly actor: string,
  ) {}

  async tenantExists(name: string): Promise<boolean> {
    return ((await this.pool.query('SELECT 1 FROM tenants WHERE name = $1', [name])).rowCount ?? 0) > 0;
  }

  async listTenants(): Promise<TenantRow[]> {
    const { rows } = await this.pool.query<TenantRow>(
      `SELECT t.name, t.mode, t.allow_only AS "allowOnly",
              (SELECT count(*)::int FROM dids d WHERE d.tenant = t.name) AS dids,
              (SELECT count(*)::int FROM rules r WHERE r.scope = 'tenant:' || t.name
                 OR r.scope IN (SELECT 'did:' || d.number FROM dids d WHERE d.tenant = t.name)) AS rules
         FROM tenants t ORDER BY t.name COLLATE "C"`,
    );
    return rows;
  }

  async listDids(tenant?: string): Promise<DidRow[]> {
    const { rows } = await this.pool.query<DidRow>(
      `SELECT number, tenant, allow_only AS "allowOnly" FROM dids${tenant === undefined ? '' : ' WHERE tenant = $1'} ORDER BY number COLLATE "C"`,
      tenant === undefined ? [] : [tenant],
    );
    return rows;
  }

  setMode(name: string, mode: TenantMode): Promise<boolean> {
    return auditedTransaction(this.pool, this.actor, async (client, audit) => {
      const { rows } = await client.query<{ mode: TenantMode }>('SELECT mode FROM tenants WHERE name = $1 FOR UPDATE', [name]);
      const before = rows[0]?.mode;
      if (before === undefined) return false;
      if (before === mode) return true;
      await client.query('UPDATE tenants SET mode = $2 WHERE name = $1', [name, mode]);
      await audit('change', 'tenant', name, { mode: before }, { mode });
      return true;
    });
  }

  setAllowOnly(name: string, action: AllowOnlyAction | null): Promise<boolean> {
    return auditedTransaction(this.pool, this.actor, async (client, audit) => {
      const { rows } = await client.query<{ allowOnly: AllowOnlyAction | null }>('SELECT allow_only AS "allowOnly" FROM tenants WHERE name = $1 FOR UPDATE', [name]);
      const row = rows[0];
      if (row === undefined) return false;
      if (row.allowOnly === action) return true;
      await client.query('UPDATE tenants SET allow_only = $2 WHERE name = $1', [name, action]);
      await audit('change', 'tenant', name, { allowOnly: row.allowOnly ?? 'off' }, { allowOnly: action ?? 'off' });
      return true;
    });
  }

  setDidAllowOnly(tenant: string, number: E164, setting: DidAllowOnly | null): Promise<DidAllowOnlyChange> {
    return auditedTransaction(this.pool, this.actor, async (client, audit): Promise<DidAllowOnlyChange> => {
      if (!(await client.query('SELECT 1 FROM tenants WHERE name = $1 FOR SHARE', [tenant])).rowCount) return 'unknown tenant';
      const { rows } = await client.query<{ tenant: string; allowOnly: DidAllowOnly | null }>('SELECT tenant, allow_only AS "allowOnly" FROM dids WHERE number = $1 FOR UPDATE', [number]);
      const row = rows[0];
      if (row === undefined) return 'not registered';
      if (row.tenant !== tenant) return { elsewhere: row.tenant };
      if (row.allowOnly === setting) return 'set';
      await client.query('UPDATE dids SET allow_only = $2 WHERE number = $1', [number, setting]);
      await audit('change', 'did', number, { allowOnly: row.allowOnly ?? 'inherit' }, { allowOnly: setting ?? 'inherit' });
      return 'set';
    });
  }

  addTenant(name: string, now: number): Promise<boolean> {
    return auditedTransaction(this.pool, this.actor, async (client, audit) => {
      const { rowCount } = await client.query('INSERT INTO tenants (name, created_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [name, now]);
      if (!rowCount) return false;
      await audit('add', 'tenant', name, null, { name });
      return true;
    });
  }

  removeTenant(name: string, allow: (holds: TenantHoldings) => void): Promise<TenantHoldings | undefined> {
    return auditedTransaction(this.pool, this.actor, async (client, audit) => {
      // Locked first: no DID can join it, and no other removal run beside this one.
      if (!(await client.query('SELECT 1 FROM tenants WHERE name = $1 FOR UPDATE', [name])).rowCount) return undefined;
      const dids = (await client.query<{ number: string }>('SELECT number FROM dids WHERE tenant = $1 ORDER BY number COLLATE "C"', [name])).rows.map((row) => row.number);
      const scopes = [`tenant:${name}`, ...dids.map((number) => `did:${number}`)];
      const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM rules WHERE scope = ANY($1)', [scopes]);
      const holds = { dids: dids.length, rules: rows[0]!.n };
      allow(holds);
      await client.query('DELETE FROM rules WHERE scope = ANY($1)', [scopes]);
      await client.query('DELETE FROM category_policies WHERE scope = $1', [`tenant:${name}`]);
      await client.query('DELETE FROM dids WHERE tenant = $1', [name]);
      await client.query('DELETE FROM tenants WHERE name = $1', [name]);
      await audit('remove', 'tenant', name, { name, dids, rules: holds.rules }, null);
      return holds;
    });
  }

  addDid(number: E164, tenant: string, now: number): Promise<DidRegistration> {
    return auditedTransaction(this.pool, this.actor, async (client, audit): Promise<DidRegistration> => {
      if (!(await client.query('SELECT 1 FROM tenants WHERE name = $1 FOR SHARE', [tenant])).rowCount) return 'unknown tenant';
      const { rowCount } = await client.query('INSERT INTO dids (number, tenant, created_at) VALUES ($1, $2, $3) ON CONFLICT (number) DO NOTHING', [number, tenant, now]);
      if (!rowCount) {
        const { rows } = await client.query<{ tenant: string }>('SELECT tenant FROM dids WHERE number = $1', [number]);
        return { taken: rows[0]!.tenant };
      }
      await audit('add', 'did', number, null, { number, tenant });
      return 'added';
    });
  }

  removeDid(number: E164): Promise<string | undefined> {
    return auditedTransaction(this.pool, this.actor, async (client, audit) => {
      const { rows } = await client.query<{ tenant: string }>('DELETE FROM dids WHERE number = $1 RETURNING tenant', [number]);
      const tenant = rows[0]?.tenant;
      if (tenant !== undefined) await audit('remove', 'did', number, { number, tenant }, null);
      return tenant;
    });
  }
}
