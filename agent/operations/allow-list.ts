import { BadInput } from '../engine/bad-input';
import type { ProtectionStores } from '../store/protection-backend';
import type { RuleRow } from '../store/rules';
import { NotFound, seesTenantOf, tenantOfScope } from './acting';
import type { Acting } from './acting';
import { addRules, removeRules } from './rules';
import { changeableSettingScope, readableTenant, scopesOfTenants } from './tenant-access';

/**
 * The allow list — numbers that bypass scoring and blocking — is no separate table: it is
 * the `allow` rules, since a matching allow rule ends screening before categories and
 * protection (step 1 of a decision). This is a thin view over them: the same rules the
 * rules pages and `callguard rules` show, added and removed by the same operations.
 */

/** Runs `work`; a BadInput it throws about one field is reported about another (the view's own name for it). */
async function renamingField<T>(names: Readonly<Record<string, string>>, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof BadInput && error.field !== undefined && names[error.field] !== undefined) throw new BadInput(error.message, names[error.field]);
    throw error;
  }
}

export interface AllowPageRequest {
  readonly tenant?: string | undefined;
  readonly afterId?: number | undefined;
  readonly limit: number;
}

/**
 * Allow rules, in id order: with a tenant, those that apply to its calls (its DIDs', its
 * own and the global ones); without, all the asker sees. `next` is the cursor of the
 * following page (null at the end).
 */
export async function listAllowed(stores: ProtectionStores, acting: Acting, request: AllowPageRequest): Promise<{ entries: RuleRow[]; next: number | null }> {
  const tenant = await readableTenant(stores.tenants, acting, request.tenant);
  const seen = tenant !== undefined ? [tenant] : acting.tenants;
  const scopes = seen === null ? undefined : await scopesOfTenants(stores.rules, seen);
  const ids = await stores.protection.allowRuleIds({ scopes, afterId: request.afterId, limit: request.limit + 1 });
  const more = ids.length > request.limit;
  if (more) ids.pop();
  // A rule removed since its id was read is left out.
  const entries = (await Promise.all(ids.map((id) => stores.rules.byId(id)))).filter((rule): rule is RuleRow => rule !== undefined);
  return { entries, next: more ? ids[ids.length - 1]! : null };
}

export interface AllowInput {
  /** A number, or several comma-separated (each its own allow rule; all or none). */
  readonly number: string;
  /** Allowed for this tenant's calls; none: for every tenant (administrators only). */
  readonly tenant?: string | undefined;
  readonly note?: string | undefined;
  readonly expires?: string | undefined;
}

/** Adds numbers to the allow list: allow rules for the tenant (or global), audited as `acting`. */
export async function addAllowed(stores: ProtectionStores, acting: Acting, input: AllowInput, country: string): Promise<RuleRow[]> {
  const scope = await changeableSettingScope(stores.tenants, acting, input.tenant);
  return renamingField({ patterns: 'number', scope: 'tenant' }, () =>
    addRules(stores.rules, acting, { patterns: input.number, action: 'allow', scope, note: input.note, expires: input.expires }, country),
  );
}

/** Removes an allow-list entry: an allow rule the asker sees (else 404) and may change (else 403). */
export async function removeAllowed(stores: ProtectionStores, acting: Acting, id: number, country: string): Promise<RuleRow> {
  const rule = await stores.rules.byId(id);
  const tenant = rule && (await tenantOfScope(stores.rules, rule.scope, country));
  if (!rule || rule.action !== 'allow' || tenant === undefined || !seesTenantOf(acting, tenant)) throw new NotFound(`no allow-list entry #${id}`);
  return (await removeRules(stores.rules, acting, [id], country))[0]!;
}
