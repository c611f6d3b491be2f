import type { Database } from 'better-sqlite3';
import { inField } from '../engine/bad-input';
import { parsePatternList } from '../engine/patterns';
import { formatScope, parseScope } from '../engine/scope';
import { RuleStore } from '../store/rules';
import type { RuleRow } from '../store/rules';
import { TenantStore } from '../store/tenants';
import { NotFound, requireChange, tenantOfScope } from './acting';
import type { Acting } from './acting';
import { parseRuleOptions } from './rule-options';
import type { RuleFlags } from './rule-options';

/** A request to add rules, as the CLI's flags or the API's JSON body give it. */
export interface RuleInput extends RuleFlags {
  /** One pattern or several, comma-separated: each becomes its own rule. */
  readonly patterns: string;
}

/** Adds one rule per pattern, all or none, audited as `acting`. */
export function addRules(db: Database, acting: Acting, input: RuleInput, country: string, now = Date.now()): RuleRow[] {
  const options = parseRuleOptions(input, country, now);
  const specs = inField('patterns', () => parsePatternList(input.patterns, country));
  requireChange(db, acting, options.scope, country);
  const store = new RuleStore(db, acting.actor);
  return store.add(specs.map((spec) => ({ ...spec, ...options })), now).map((id) => store.byId(id)!);
}

/** Removes rules by id, all or none; each must exist and be `acting`'s to change. */
export function removeRules(db: Database, acting: Acting, ids: readonly number[], country: string): RuleRow[] {
  const store = new RuleStore(db, acting.actor);
  const doomed = ids.map((id) => {
    const rule = store.byId(id);
    if (!rule || !visible(db, acting, rule, country)) throw new NotFound(`no rule #${id}`);
    requireChange(db, acting, rule.scope, country);
    return rule;
  });
  store.removeIds(doomed.map((rule) => rule.id));
  return doomed;
}

/** Whether `acting` sees `rule`: global rules apply to every tenant, so everyone sees them. */
export function visible(db: Database, acting: Acting, rule: RuleRow, country: string): boolean {
  if (acting.tenants === null) return true;
  const tenant = tenantOfScope(db, rule.scope, country);
  return tenant === null || acting.tenants.includes(tenant);
}

export interface RulePageRequest {
  readonly scope?: string | undefined;
  readonly list?: string | undefined;
  readonly afterId?: number | undefined;
  readonly limit: number;
}

/** One page of the rules `acting` sees, in id order, and the cursor of the next page (null at the end). */
export function listRules(db: Database, acting: Acting, request: RulePageRequest, country: string): { rules: RuleRow[]; next: number | null } {
  const scope = request.scope === undefined ? undefined : inField('scope', () => formatScope(parseScope(request.scope!, country)));
  const rules = [...new RuleStore(db, acting.actor).iterate({ scope, list: request.list, afterId: request.afterId, limit: request.limit + 1, scopes: visibleScopes(db, acting) })];
  const more = rules.length > request.limit;
  if (more) rules.pop();
  return { rules, next: more ? rules[rules.length - 1]!.id : null };
}

/** The scopes whose rules `acting` sees: every one for someone with every tenant, else global and their tenants' own. */
function visibleScopes(db: Database, acting: Acting): string[] | undefined {
  if (acting.tenants === null) return undefined;
  const store = new TenantStore(db, acting.actor);
  return ['global', ...acting.tenants.flatMap((tenant) => [`tenant:${tenant}`, ...store.listDids(tenant).map((did) => `did:${did.number}`)])];
}
