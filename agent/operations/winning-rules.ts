import { BadInput } from '../engine/bad-input';
import { MATCH_KINDS } from '../engine/types';
import type { MatchKind } from '../engine/types';
import type { RuleBackend } from '../store/rule-backend';
import type { RuleRow } from '../store/rules';
import { rulesInWinningOrder } from '../store/rules-in-winning-order';
import type { WinningPosition } from '../store/rules-in-winning-order';
import type { TenantBackend } from '../store/tenant-backend';
import type { WinningOrderBackend } from '../store/winning-order-backend';
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

/** What the winning order is read from, on either backend: the walk, the tenants asked for, and who owns each DID. */
export interface WinningRulesStores {
  readonly order: WinningOrderBackend;
  readonly tenants: Pick<TenantBackend, 'tenantExists'>;
  readonly rules: Pick<RuleBackend, 'ownerOfDid'>;
}

/**
 * A page of the rules that apply to a company's calls, in the order they win (its DIDs'
 * rules, its own, then the global ones; exact before patterns; longer patterns first; the
 * newest first), as the console's Blocked numbers and Addresses pages list them.
 */
export async function winningRules(stores: WinningRulesStores, acting: Acting, request: WinningRulesRequest, country: string): Promise<{ rules: RuleRow[]; next: string | null }> {
  const tenant = await readableTenant(stores.tenants, acting, request.tenant);
  const kinds = parseKinds(request.kinds);
  const scopes = tenant === undefined ? await everyVisibleScope(stores, acting, country) : await tenantScopes(stores, tenant, country);
  const after = request.after === undefined ? undefined : parsePosition(request.after, scopes);
  const page = await rulesInWinningOrder(stores.order, scopes, kinds, after, request.limit);
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
async function didScopesWithRules(stores: WinningRulesStores, country: string, keep: (tenant: string) => boolean): Promise<string[]> {
  const scopes = await stores.order.didScopesWithRules();
  const owners = await Promise.all(scopes.map((scope) => tenantOfScope(stores.rules, scope, country)));
  return scopes.filter((_scope, i) => keep(owners[i]!));
}

/** How a call to one of `tenant`'s DIDs is screened: its DIDs (registered, or owned by default), the company, global. */
async function tenantScopes(stores: WinningRulesStores, tenant: string, country: string): Promise<string[]> {
  return [...(await didScopesWithRules(stores, country, (owner) => owner === tenant)), `tenant:${tenant}`, 'global'];
}

/** With no company picked: every DID's rules the asker sees, then every company's, then the global ones. */
async function everyVisibleScope(stores: WinningRulesStores, acting: Acting, country: string): Promise<string[]> {
  const sees = (tenant: string) => acting.tenants === null || acting.tenants.includes(tenant);
  const tenants = (await stores.order.tenantNames()).filter(sees);
  return [...(await didScopesWithRules(stores, country, sees)), ...tenants.map((name) => `tenant:${name}`), 'global'];
}
