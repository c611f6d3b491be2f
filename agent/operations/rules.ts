import { inField } from '../engine/bad-input';
import { parsePatternList } from '../engine/patterns';
import { parseNameGlob, parseNameWords } from '../engine/names';
import { BadInput } from '../engine/bad-input';
import { checkName, formatScope, parseScope } from '../engine/scope';
import type { RuleRow } from '../store/rules';
import { unknownTenant } from '../store/tenants';
import { Forbidden, NotFound, requireChangeIn, scopeOwner, seesTenantOf, tenantOfScope } from './acting';
import type { Acting } from './acting';
import { scopesOfTenants } from './tenant-access';
import { parseRuleOptions } from './rule-options';
import type { RuleFlags } from './rule-options';
import type { ListRow, RuleFilter, RuleOptions } from '../store/rules';
import type { MatchSpec } from '../engine/patterns';
import type { ListScope, RuleBackend } from '../store/rule-backend';

/** A request to add rules, as the CLI's flags or the API's JSON body give it. */
export interface RuleInput extends RuleFlags {
  /** One pattern or several, comma-separated: each becomes its own rule. */
  readonly patterns?: string | undefined;
  /** Or one caller-name glob (`V9*`; names.ts). */
  readonly name?: string | undefined;
  /** Or whole words anywhere in the caller name (`SPAM`). */
  readonly nameWord?: string | undefined;
}

/** What a request to add rules matches: its patterns, or one caller name glob, or name words; exactly one of them. */
export function matchesOfInput(input: RuleInput, country: string): MatchSpec[] {
  const given = (['patterns', 'name', 'nameWord'] as const).filter((field) => input[field] !== undefined);
  if (given.length > 1) throw new BadInput(`give one of patterns, name or nameWord, not ${given.join(' and ')}`, given[1]);
  if (input.name !== undefined) return [inField('name', () => parseNameGlob(input.name!))];
  if (input.nameWord !== undefined) return [inField('nameWord', () => parseNameWords(input.nameWord!))];
  return inField('patterns', () => parsePatternList(input.patterns ?? '', country));
}

/** Adds one rule per pattern, all or none, audited as `acting`. */
export async function addRules(rules: RuleBackend, acting: Acting, input: RuleInput, country: string, now = Date.now()): Promise<RuleRow[]> {
  const options = parseRuleOptions(input, country, now);
  const specs = matchesOfInput(input, country);
  return addMatches(rules, acting, specs, options, country, now);
}

/** Adds a rule for each match, with options parseRuleOptions made, all or none, audited as `acting` (a match from a logged call: `block`). */
export async function addMatches(rules: RuleBackend, acting: Acting, specs: readonly MatchSpec[], options: RuleOptions, country: string, now = Date.now()): Promise<RuleRow[]> {
  requireChangeIn(acting, await tenantOfScope(rules, options.scope, country));
  const tenant = parseScope(options.scope, country);
  if (tenant.kind === 'tenant' && !(await rules.tenantExists(tenant.tenant))) {
    throw unknownTenant(tenant.tenant, 'scope');
  }
  return rules.add(specs.map((spec) => ({ ...spec, ...options })), now);
}

/** A rule by id that `acting` sees and may change: NotFound or Forbidden otherwise. */
export async function changeableRule(rules: RuleBackend, acting: Acting, id: number, country: string): Promise<RuleRow> {
  const rule = await rules.byId(id);
  const tenant = rule && (await tenantOfScope(rules, rule.scope, country));
  if (!rule || tenant === undefined || !seesTenantOf(acting, tenant)) throw new NotFound(`no rule #${id}`);
  requireChangeIn(acting, tenant);
  return rule;
}

/** Removes rules by id, all or none; each must exist and be `acting`'s to change. */
export async function removeRules(rules: RuleBackend, acting: Acting, ids: readonly number[], country: string): Promise<RuleRow[]> {
  for (const id of ids) await changeableRule(rules, acting, id, country);
  return rules.removeIds(ids);
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
  const scopes = await scopesVisibleTo(rules, acting);
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

/** The scopes whose rules `acting` sees (undefined: every scope), as listings and exports filter by. */
export async function scopesVisibleTo(rules: RuleBackend, acting: Acting): Promise<string[] | undefined> {
  return acting.tenants === null ? undefined : scopesOfTenants(rules, acting.tenants);
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

/** The tenant a list's scope belongs to (null: global), from what the backend read with it. */
function tenantOfListScope(scope: ListScope, country: string): string | null {
  return scopeOwner(scope.scope, country, () => scope.didTenant ?? 'default');
}

/** Whether `acting` may change things of `tenant` (requireChangeIn without the throw). */
function mayChangeTenant(acting: Acting, tenant: string | null): boolean {
  try {
    requireChangeIn(acting, tenant);
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
export async function listLists(rules: RuleBackend, acting: Acting, country: string): Promise<ListView[]> {
  const tenants = new Map<string, string | null>();
  const lists = new Map<string, { name: string; enabled: boolean; rules: number; mayChange: boolean }>();
  for (const row of await rules.listsByScope()) {
    const list = lists.get(row.name) ?? { name: row.name, enabled: row.enabled, rules: 0, mayChange: acting.mayChange };
    lists.set(row.name, list);
    if (row.scope === null) continue;
    if (!tenants.has(row.scope)) tenants.set(row.scope, tenantOfListScope({ scope: row.scope, didTenant: row.didTenant }, country));
    const tenant = tenants.get(row.scope)!;
    if (seesTenantOf(acting, tenant)) list.rules += row.rules;
    if (!mayChangeTenant(acting, tenant)) list.mayChange = false;
  }
  return [...lists.values()].filter((list) => acting.tenants === null || list.rules > 0);
}

/** NotFound for a list, not telling whether it is missing or not the asker's to see. */
function unknownList(name: string): NotFound {
  return new NotFound(`unknown list "${name}": lists are made by 'rules add --list ${name}' or 'rules import --list ${name}'`);
}

/** Whether `acting` sees a list whose rules lie in `scopes`: at least one of them. */
function seesList(acting: Acting, scopes: readonly ListScope[], country: string): boolean {
  return acting.tenants === null || scopes.some((scope) => seesTenantOf(acting, tenantOfListScope(scope, country)));
}

/** A list named in a request, existing and seen by `acting` (else NotFound, which does not tell which). */
export async function requireVisibleList(rules: RuleBackend, acting: Acting, name: string, country: string): Promise<string> {
  inField('name', () => checkName(name, 'list'));
  if (!(await rules.listExists(name))) throw unknownList(name);
  if (acting.tenants !== null && !seesList(acting, await rules.listScopes(name), country)) throw unknownList(name);
  return name;
}

/**
 * Enables or disables every rule of a list at once, audited. Allowed to someone who may
 * change every rule in it: an administrator, or a manager whose tenants hold all of them
 * (a list with a global rule or another tenant's rule is refused, and nothing changes).
 */
export async function setListEnabled(rules: RuleBackend, acting: Acting, name: string, enabled: boolean, country: string): Promise<void> {
  inField('name', () => checkName(name, 'list'));
  // Checked inside the backend's transaction, against the scopes as they stand there: no rule can join the list in between.
  const found = await rules.setListEnabled(name, enabled, (scopes) => {
    if (!seesList(acting, scopes, country)) throw unknownList(name);
    if (!acting.mayChange) throw new Forbidden(`${acting.actor} may only look, not change`);
    for (const scope of scopes) {
      if (!mayChangeTenant(acting, tenantOfListScope(scope, country))) throw new Forbidden(`${acting.actor} may not switch list ${name}: it holds rules (${scope.scope}) that are not theirs to change`);
    }
  });
  if (!found) throw unknownList(name);
}
