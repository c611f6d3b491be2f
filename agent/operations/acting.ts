import { parseScope } from '../engine/scope';
import type { E164 } from '../engine/types';
import type { RuleBackend } from '../store/rule-backend';
import { principalActor } from '../store/users';
import type { Principal } from '../store/users';

/**
 * Who is making a request, as every operation sees it, whichever face it came through:
 * the name the audit trail records, the tenants they may see (null: every tenant), and
 * whether they may change anything there.
 */
export interface Acting {
  readonly actor: string;
  readonly tenants: readonly string[] | null;
  readonly mayChange: boolean;
}

/** The command line: whoever can run it owns the database file, so everything. */
export function cliActing(actor: string): Acting {
  return { actor, tenants: null, mayChange: true };
}

/** A signed-in user or a machine token: a viewer only looks. */
export function principalActing(principal: Principal): Acting {
  return { actor: principalActor(principal), tenants: principal.tenants, mayChange: principal.role !== 'viewer' };
}

/** Refused: the request is well-formed, but not this person's to make (the API's 403). */
export class Forbidden extends Error {
  override readonly name = 'Forbidden';
}

/** Not there, or not the asker's to see (the API's 404: it does not tell which). */
export class NotFound extends Error {
  override readonly name = 'NotFound';
}

export function maySee(acting: Acting, tenant: string): boolean {
  return acting.tenants === null || acting.tenants.includes(tenant);
}

/** The tenant a scope belongs to (a DID's scope: the DID's owner); null for global, which only someone with every tenant may change. */
export function scopeOwner<Owner>(scope: string, country: string, ownerOfDid: (did: E164) => Owner): string | null | Owner {
  const parsed = parseScope(scope, country);
  if (parsed.kind === 'global') return null;
  return parsed.kind === 'tenant' ? parsed.tenant : ownerOfDid(parsed.did);
}

/** The tenant a rule scope belongs to. */
export async function tenantOfScope(backend: Pick<RuleBackend, 'ownerOfDid'>, scope: string, country: string): Promise<string | null> {
  return scopeOwner(scope, country, (did) => backend.ownerOfDid(did));
}

/** Throws Forbidden unless `acting` may change things of `tenant` (null: global). */
export function requireChangeIn(acting: Acting, tenant: string | null): void {
  if (!acting.mayChange) throw new Forbidden(`${acting.actor} may only look, not change`);
  if (acting.tenants === null) return;
  if (tenant === null) throw new Forbidden(`only an administrator may change global rules`);
  if (!acting.tenants.includes(tenant)) throw new Forbidden(`${acting.actor} may not change tenant ${tenant}`);
}

/** Whether `acting` sees what belongs to `tenant`: global things (null) apply to every tenant, so everyone sees them. */
export function seesTenantOf(acting: Acting, tenant: string | null): boolean {
  return acting.tenants === null || tenant === null || acting.tenants.includes(tenant);
}
