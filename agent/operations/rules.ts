import type { Database } from 'better-sqlite3';
import { inField } from '../engine/bad-input';
import { parsePatternList } from '../engine/patterns';
import { BadInput } from '../engine/bad-input';
import { checkName, formatScope, parseScope } from '../engine/scope';
import { RuleStore } from '../store/rules';
import type { RuleRow } from '../store/rules';
import { TenantStore, unknownTenant } from '../store/tenants';
import { Forbidden, NotFound, requireChange, requireChangeIn, seesTenantOf, tenantOfScope, tenantOfScopeIn } from './acting';
import type { Acting } from './acting';
import { parseRuleOptions } from './rule-options';
import type { RuleFlags } from './rule-options';
import type { ListRow, RuleFilter } from '../store/rules';
import type { RuleBackend } from '../store/rule-backend';

/** A request to add rules, as the CLI's flags or the API's JSON body give it. */
export interface RuleInput extends RuleFlags {
  /** One pattern or several, comma-separated: each becomes its own rule. */
  readonly patterns: string;
}

/** Adds one rule per pattern, all or none, audited as `acting`. */
export async function addRules(rules: RuleBackend, acting: Acting, input: RuleInput, country: string, now = Date.now()): Promise<RuleRow[]> {
  const options = parseRuleOptions(input, country, now);
  const specs = inField('patterns', () => parsePatternList(input.patterns, country));
  requireChangeIn(acting, await tenantOfScopeIn(rules, options.scope, country));
  const tenant = parseScope(options.scope, country);
  if (tenant.kind === 'tenant' && !(await rules.tenantExists(tenant.tenant))) {
    throw unknownTenant(tenant.tenant, 'scope');
  }
  return rules.add(specs.map((spec) => ({ ...spec, ...options })), now);
}

/** A rule by id that `acting` sees and may change: NotFound or Forbidden otherwise. */
async function changeableRule(rules: RuleBackend, acting: Acting, id: number, country: string): Promise<RuleRow> {
  const rule = await rules.byId(id);
  const tenant = rule && (await tenantOfScopeIn(rules, rule.scope, country));
  if (!rule || tenant === undefined || !seesTenantOf(acting, tenant)) throw new NotFound(`no rule #${id}`);
  requireChangeIn(acting, tenant);
  return rule;
}

/** Removes rules by id, all or none; each must exist and be `acting`'s to change. */
export async function removeRules(rules: RuleBackend, acting: Acting, ids: readonly number[], country: string): Promise<RuleRow[]> {
  for (const id of ids) await changeableRule(rules, acting, id, country);
  return rules.removeIds(ids);
}

/** Whether `acting` sees `rule`: global rules apply to every tenant, so everyone sees them. */
export function visible(db: Database, acting: Acting, rule: Pick<RuleRow, 'scope'>, country: string): boolean {
  return seesTenantOf(acting, tenantOfScope(db, rule.scope, country));
}

export interface RulePageRequest {
  readonly scope?: string | undefined;
  readonly list?: string | undefined;
  readonly afterId?: number | undefined;
  readonly limit: number;
}

/** One page of the rules `acting` sees, in id order, and the cursor of the next page (null at the end). */
export async function listRules(rules: RuleBackend, acting: Acting, request: RulePageRequest, country: string): Promise<{ rules: RuleRow[]; next: number | null }> {
  const scope = request.scope === undefined ? undefined : inField('scope', () => formatScope(parseScope(request.scope!, country)));
  const scopes = acting.tenants === null ? undefined : scopesOfTenants(acting.tenants, await rules.didsOf(acting.tenants));
  const page = await rules.page({ scope, list: request.list, afterId: request.afterId, limit: request.limit + 1, scopes });
  const more = page.length > request.limit;
  if (more) page.pop();
  return { rules: page, next: more ? page[page.length - 1]!.id : null };
}

/** Every rule `filter` selects, in id order, a page at a time: a million-rule listing never sits in memory. */
export async function* everyRule(rules: RuleBackend, filter: RuleFilter = {}): AsyncGenerator<RuleRow> {
  const pageRows = 1_000;
  let left = filter.limit ?? Infinity;
  let afterId: number | undefined;
  while (left > 0) {
    const page = await rules.page({ ...filter, afterId, limit: Math.min(pageRows, left) });
    yield* page;
    if (page.length < Math.min(pageRows, left)) return;
    left -= page.length;
    afterId = page[page.length - 1]!.id;
  }
}

/** The scopes of some tenants: global, each tenant's own, and each of their DIDs'. */
function scopesOfTenants(tenants: readonly string[], dids: readonly string[]): string[] {
  return ['global', ...tenants.map((tenant) => `tenant:${tenant}`), ...dids.map((did) => `did:${did}`)];
}

/** The scopes whose rules `acting` sees (undefined: every scope), as listings and exports filter by. */
export function scopesVisibleTo(db: Database, acting: Acting): string[] | undefined {
  if (acting.tenants === null) return undefined;
  const store = new TenantStore(db, acting.actor);
  return scopesOfTenants(acting.tenants, acting.tenants.flatMap((tenant) => store.listDids(tenant).map((did) => did.number)));
}

/**
 * What a rule edit may change: what it does, never what it matches or where (remove and
 * add for that). An absent field keeps its value; an empty string clears `to`, `note`,
 * `list`, `expires` and `when`.
 */
export interface RuleChanges {
  readonly action?: string | undefined;
  readonly to?: string | undefined;
  readonly sms?: boolean | string | undefined;
  readonly note?: string | undefined;
  readonly list?: string | undefined;
  readonly expires?: string | undefined;
  readonly when?: string | undefined;
  readonly tz?: string | undefined;
}

/**
 * Edits one rule with the validation of adding one (parseRuleOptions over the rule as it
 * is, with the changes laid on top), audited with before and after. NotFound for a rule
 * `acting` cannot see, Forbidden for one they may not change.
 */
export async function editRule(rules: RuleBackend, acting: Acting, id: number, changes: RuleChanges, country: string, now = Date.now()): Promise<RuleRow> {
  const rule = await changeableRule(rules, acting, id, country);
  const given = (value: string | undefined, kept: string | null | undefined) => (value !== undefined ? value : (kept ?? undefined));
  // A new action brings its own target (or none); a new target alone goes with the action the rule has.
  const action = changes.action ?? rule.action;
  const to = changes.to !== undefined ? changes.to : changes.action !== undefined ? undefined : (rule.target ?? undefined);
  const when = given(changes.when, rule.when);
  if (changes.tz !== undefined && !when) throw new BadInput('tz goes with when, and the rule has no window: give when too', 'tz');
  // A window keeps its zone unless a new one is given; a cleared window drops it.
  const tz = changes.tz !== undefined ? changes.tz : when ? (rule.tz ?? undefined) : undefined;
  const options = parseRuleOptions(
    { action, to, scope: rule.scope, sms: changes.sms ?? rule.sms, note: given(changes.note, rule.note), list: given(changes.list, rule.list), expires: changes.expires, when, tz },
    country,
    now,
  );
  const updated = await rules.update(id, { ...options, expiresAt: changes.expires !== undefined ? options.expiresAt : rule.expiresAt }, now);
  if (!updated) throw new NotFound(`no rule #${id}`);
  return updated;
}

/** A list as the lists page shows it: the rules counted are those the asker sees. */
export interface ListView extends ListRow {
  /** Whether the asker may enable or disable it: every rule of the list is theirs to change. */
  readonly mayChange: boolean;
}

/** Whether `acting` may change rules in `scope` (requireChange without the throw). */
function mayChangeScope(db: Database, acting: Acting, scope: string, country: string): boolean {
  try {
    requireChange(db, acting, scope, country);
    return true;
  } catch (error) {
    if (error instanceof Forbidden) return false;
    throw error;
  }
}

/**
 * The lists `acting` sees, by name. Someone with every tenant sees every list (empty ones
 * too) with all its rules. Anyone else sees the lists holding at least one rule they can
 * see (global rules, and their tenants' and DIDs' rules), each counting only those rules,
 * so another tenant's rules are neither shown nor counted.
 */
export function listLists(db: Database, acting: Acting, country: string): ListView[] {
  const seen = new Map<string, boolean>();
  const changeable = new Map<string, boolean>();
  const lists = new Map<string, { name: string; enabled: boolean; rules: number; mayChange: boolean }>();
  for (const row of new RuleStore(db, acting.actor).listsByScope()) {
    const list = lists.get(row.name) ?? { name: row.name, enabled: row.enabled, rules: 0, mayChange: acting.mayChange };
    lists.set(row.name, list);
    if (row.scope === null) continue;
    const scope = row.scope;
    if (!seen.has(scope)) seen.set(scope, visible(db, acting, { scope } as RuleRow, country));
    if (!changeable.has(scope)) changeable.set(scope, mayChangeScope(db, acting, scope, country));
    if (seen.get(scope)) list.rules += row.rules;
    if (!changeable.get(scope)) list.mayChange = false;
  }
  return [...lists.values()].filter((list) => acting.tenants === null || list.rules > 0);
}

/** A list named in a request, existing and seen by `acting` (else NotFound, which does not tell which). */
export function requireVisibleList(db: Database, acting: Acting, name: string, country: string): string {
  inField('name', () => checkName(name, 'list'));
  const store = new RuleStore(db, acting.actor);
  const missing = new NotFound(`unknown list "${name}": lists are made by 'rules add --list ${name}' or 'rules import --list ${name}'`);
  if (!store.listExists(name)) throw missing;
  if (acting.tenants !== null && !store.listScopes(name).some((scope) => visible(db, acting, { scope } as RuleRow, country))) throw missing;
  return name;
}

/**
 * Enables or disables every rule of a list at once, audited. Allowed to someone who may
 * change every rule in it: an administrator, or a manager whose tenants hold all of them
 * (a list with a global rule or another tenant's rule is refused).
 */
export function setListEnabled(db: Database, acting: Acting, name: string, enabled: boolean, country: string): void {
  const store = new RuleStore(db, acting.actor);
  // Checked and switched in one transaction: no rule can join the list in between.
  db.transaction(() => {
    requireVisibleList(db, acting, name, country);
    if (!acting.mayChange) throw new Forbidden(`${acting.actor} may only look, not change`);
    for (const scope of store.listScopes(name)) {
      if (!mayChangeScope(db, acting, scope, country)) throw new Forbidden(`${acting.actor} may not switch list ${name}: it holds rules (${scope}) that are not theirs to change`);
    }
    store.setListEnabled(name, enabled);
  }).immediate();
}
