import type { Database } from 'better-sqlite3';
import { BadInput } from '../engine/bad-input';
import { MATCH_KINDS } from '../engine/types';
import type { MatchKind } from '../engine/types';
import type { RuleRow } from '../store/rules';
import { rulesInWinningOrder } from '../store/rules-in-winning-order';
import type { WinningPosition } from '../store/rules-in-winning-order';
import { TenantStore } from '../store/tenants';
import { tenantOfScope } from './acting';
import type { Acting } from './acting';
import { readableTenant } from './tenant-access';

export interface WinningRulesRequest {
  /** The company whose calls the rules are ordered for; none: every scope the asker sees, narrowest first. */
  readonly tenant?: string | undefined;
  /** Comma-separated kinds of rule (number, prefix, anonymous, ip, sip); none: all. */
  readonly kinds?: string | undefined;
  /** The `next` of the page before. */
  readonly after?: string | undefined;
  readonly limit: number;
}

/**
 * A page of the rules that apply to a company's calls, in the order they win (its DIDs'
 * rules, its own, then the global ones; exact before patterns; longer patterns first; the
 * newest first), as the console's Blocked numbers and Addresses pages list them.
 */
export function winningRules(db: Database, acting: Acting, request: WinningRulesRequest, country: string): { rules: RuleRow[]; next: string | null } {
  const tenant = readableTenant(db, acting, request.tenant);
  const kinds = parseKinds(request.kinds);
  const scopes = tenant === undefined ? everyVisibleScope(db, acting, country) : tenantScopes(db, tenant, country);
  const after = request.after === undefined ? undefined : parsePosition(request.after, scopes);
  const page = rulesInWinningOrder(db, scopes, kinds, after, request.limit);
  return { rules: page.rules, next: page.next === null ? null : Buffer.from(JSON.stringify(page.next)).toString('base64url') };
}

function parseKinds(text: string | undefined): MatchKind[] {
  if (text === undefined) return [...MATCH_KINDS];
  const kinds = text.split(',').map((kind) => kind.trim());
  const unknown = kinds.find((kind) => !(MATCH_KINDS as readonly string[]).includes(kind));
  if (unknown !== undefined) throw new BadInput(`unknown kind of rule "${unknown}": expected some of ${MATCH_KINDS.join(', ')}`, 'kinds');
  return kinds as MatchKind[];
}

function parsePosition(text: string, scopes: readonly string[]): WinningPosition {
  const bad = new BadInput('bad page cursor: pass back the `next` of the page before, unchanged', 'after');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw bad;
  }
  const { scope, group, span, id } = (parsed ?? {}) as Record<string, unknown>;
  if (typeof scope !== 'string' || (group !== 0 && group !== 1) || !Number.isSafeInteger(span) || !Number.isSafeInteger(id)) throw bad;
  if (!scopes.includes(scope)) throw new BadInput(`the rules changed under this listing (${scope} no longer applies): start again from the first page`, 'after');
  return { scope, group, span: span as number, id: id as number };
}

/** The DID scopes that have rules, kept to those whose DID's owner passes `keep`. */
function didScopesWithRules(db: Database, country: string, keep: (tenant: string) => boolean): string[] {
  const scopes = db.prepare("SELECT DISTINCT scope FROM rules WHERE scope >= 'did:' AND scope < 'did;' ORDER BY scope").pluck().all() as string[];
  return scopes.filter((scope) => keep(tenantOfScope(db, scope, country)!));
}

/** How a call to one of `tenant`'s DIDs is screened: its DIDs (registered, or owned by default), the company, global. */
function tenantScopes(db: Database, tenant: string, country: string): string[] {
  return [...didScopesWithRules(db, country, (owner) => owner === tenant), `tenant:${tenant}`, 'global'];
}

/** With no company picked: every DID's rules the asker sees, then every company's, then the global ones. */
function everyVisibleScope(db: Database, acting: Acting, country: string): string[] {
  const sees = (tenant: string) => acting.tenants === null || acting.tenants.includes(tenant);
  const tenants = new TenantStore(db, acting.actor).names().filter(sees);
  return [...didScopesWithRules(db, country, sees), ...tenants.map((name) => `tenant:${name}`), 'global'];
}
