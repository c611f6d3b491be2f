import { BadInput, inField } from '../engine/bad-input';
import { CATEGORIES, POLICY_ACTIONS } from '../engine/types';
import type { Category, PolicyAction } from '../engine/types';
import type { CategoryBackend } from '../store/category-backend';
import type { PolicyRow } from '../store/categories';
import type { TenantBackend } from '../store/tenant-backend';
import type { Acting } from './acting';
import { parseWindow } from './rule-options';
import { changeableSettingScope, readableTenant } from './tenant-access';

/** `toll-free`, `Toll_Free` → `toll_free`; anything else is bad input naming `category`. */
export function parseCategory(text: string): Category {
  const name = text.trim().toLowerCase().replace('-', '_');
  if (!(CATEGORIES as readonly string[]).includes(name)) {
    throw new BadInput(`unknown category "${text}": expected one of ${CATEGORIES.join(', ')}`, 'category');
  }
  return name as Category;
}

/** Categories whose callers have no usable number: the only ones `identify` can ask for one. */
const IDENTIFIABLE: readonly Category[] = ['anonymous', 'invalid'];

export function parsePolicyAction(text: string, category: Category): PolicyAction {
  const name = text.trim().toLowerCase();
  if (!(POLICY_ACTIONS as readonly string[]).includes(name)) {
    throw new BadInput(`unknown category action "${text}": expected one of ${POLICY_ACTIONS.join(', ')}`, 'action');
  }
  // A caller who has a number could key in any other one and be screened as that: identify would let it choose.
  if (name === 'identify' && !IDENTIFIABLE.includes(category)) {
    throw new BadInput(`identify is for callers with no usable number (${IDENTIFIABLE.join(', ')}), not ${category}: a caller with a number could key in another one`, 'action');
  }
  return name as PolicyAction;
}

/** What the category operations work on: the policies, and the tenants they are kept for. */
export interface CategoryStores {
  readonly categories: CategoryBackend;
  readonly tenants: Pick<TenantBackend, 'tenantExists'>;
}

/** One stored policy, as the faces show it. */
export interface Policy {
  readonly scope: string;
  readonly action: PolicyAction;
  readonly when: string | null;
  readonly tz: string | null;
}

/** One category: the global policy, the tenant's own (when a tenant was asked for), and the one in force. */
export interface CategoryView {
  readonly category: Category;
  readonly global: Policy | null;
  readonly own: Policy | null;
  /** The tenant's own when it has one, else the global one; null: no policy, the category is allowed. */
  readonly inForce: Policy | null;
}

const policyOf = (row: PolicyRow | undefined): Policy | null => (row ? { scope: row.scope, action: row.action, when: row.when, tz: row.tz } : null);

async function views(categories: CategoryBackend, scope: string | null, only?: Category): Promise<CategoryView[]> {
  const rows = await categories.inScopes(scope ? ['global', scope] : ['global']);
  return CATEGORIES.filter((category) => only === undefined || category === only).map((category) => {
    const global = policyOf(rows.find((row) => row.scope === 'global' && row.category === category));
    const own = scope ? policyOf(rows.find((row) => row.scope === scope && row.category === category)) : null;
    return { category, global, own, inForce: own ?? global };
  });
}

/** Every category with its policies, for a tenant (its own and the global fallback) or globally. */
export async function listCategories(store: CategoryStores, acting: Acting, tenant?: string): Promise<{ tenant: string | null; categories: CategoryView[] }> {
  const name = await readableTenant(store.tenants, acting, tenant);
  return { tenant: name ?? null, categories: await views(store.categories, name === undefined ? null : `tenant:${name}`) };
}

/** Every stored policy, by scope and category. */
export function allPolicies(store: CategoryStores): Promise<PolicyRow[]> {
  return store.categories.list();
}

export interface CategoryInput {
  readonly category: string;
  /** A tenant's own policy; none: the global one (administrators only). */
  readonly tenant?: string | undefined;
  /** A policy action; null removes the policy (the tenant falls back to the global one). */
  readonly action: string | null;
  readonly when?: string | undefined;
  readonly tz?: string | undefined;
}

/** Sets (or, with a null action, removes) a category's policy for a tenant or globally, audited as `acting`. */
export async function setCategory(store: CategoryStores, acting: Acting, input: CategoryInput, now = Date.now()): Promise<CategoryView> {
  const category = inField('category', () => parseCategory(input.category));
  const action = input.action === null ? null : inField('action', () => parsePolicyAction(input.action!, category));
  if (action === null && (input.when || input.tz)) throw new BadInput('when and tz go with an action, not with removing a policy', input.when ? 'when' : 'tz');
  const window = inField('when', () => parseWindow(input.when, input.tz));
  const scope = await changeableSettingScope(store.tenants, acting, input.tenant);
  if (action === null) await store.categories.remove(scope, category);
  else await store.categories.set(scope, category, action, window, now);
  return (await views(store.categories, scope === 'global' ? null : scope, category))[0]!;
}
