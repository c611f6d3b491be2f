import type { AllowOnlyAction, DidAllowOnly } from '../engine/allow-only';
import type { E164 } from '../engine/types';
import type { DidAllowOnlyChange, DidRegistration, DidRow, TenantHoldings, TenantMode, TenantRow } from './tenants';

/**
 * Tenants and their DIDs as the tenant operations (agent/operations/tenants.ts) reach them,
 * on either backend. The operations validate; each write here is one transaction with its
 * audit entry, and reports what it found rather than refusing, so the words of a refusal
 * are the operations' alone.
 */
export interface TenantBackend {
  tenantExists(name: string): Promise<boolean>;
  /** Every tenant with its DIDs and rules (its own and its DIDs') counted, by name. */
  listTenants(): Promise<TenantRow[]>;
  /** The DIDs of one tenant or of all, in number order. */
  listDids(tenant?: string): Promise<DidRow[]>;
  /** Monitor or enforce; false when there is no such tenant. */
  setMode(name: string, mode: TenantMode): Promise<boolean>;
  /** Allow-only mode for a tenant (null: off); false when there is no such tenant. */
  setAllowOnly(name: string, action: AllowOnlyAction | null): Promise<boolean>;
  /** A DID's own allow-only setting (null: follow its tenant), for a DID registered to `tenant`. */
  setDidAllowOnly(tenant: string, number: E164, setting: DidAllowOnly | null): Promise<DidAllowOnlyChange>;
  /** False (nothing written) when there is a tenant of that name. */
  addTenant(name: string, now: number): Promise<boolean>;
  /**
   * In one transaction: what the tenant holds is shown to `allow` (which throws to refuse),
   * then the tenant goes with its DIDs, its rules and its DIDs', and its category policies.
   * Undefined when there is no such tenant.
   */
  removeTenant(name: string, allow: (holds: TenantHoldings) => void): Promise<TenantHoldings | undefined>;
  addDid(number: E164, tenant: string, now: number): Promise<DidRegistration>;
  /** The tenant the DID belonged to; undefined when it was not registered. */
  removeDid(number: E164): Promise<string | undefined>;
}
