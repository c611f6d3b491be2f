import type { Database } from 'better-sqlite3';
import { BadInput } from '../engine/bad-input';
import { ProtectionStore } from '../store/protection';
import { RuleStore } from '../store/rules';
import { SqliteRuleBackend } from '../store/sqlite-rule-backend';
import type { RuleRow } from '../store/rules';
import { NotFound } from './acting';
import type { Acting } from './acting';
import { addRules, removeRules, visible } from './rules';
import { changeableSettingScope, readableTenant, scopesOfTenant } from './tenant-access';

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
export function listAllowed(db: Database, acting: Acting, request: AllowPageRequest): { entries: RuleRow[]; next: number | null } {
  const tenant = readableTenant(db, acting, request.tenant);
  const scopes = tenant !== undefined ? scopesOfTenant(db, tenant) : acting.tenants === null ? undefined : ['global', ...acting.tenants.flatMap((name) => scopesOfTenant(db, name).filter((scope) => scope !== 'global'))];
  const ids = new ProtectionStore(db, acting.actor).allowRuleIds({ scopes, afterId: request.afterId, limit: request.limit + 1 });
  const more = ids.length > request.limit;
  if (more) ids.pop();
  const rules = new RuleStore(db, acting.actor);
  return { entries: ids.map((id) => rules.byId(id)!), next: more ? ids[ids.length - 1]! : null };
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
export function addAllowed(db: Database, acting: Acting, input: AllowInput, country: string): Promise<RuleRow[]> {
  const scope = changeableSettingScope(db, acting, input.tenant);
  return renamingField({ patterns: 'number', scope: 'tenant' }, () =>
    addRules(new SqliteRuleBackend(db, acting.actor), acting, { patterns: input.number, action: 'allow', scope, note: input.note, expires: input.expires }, country),
  );
}

/** Removes an allow-list entry: an allow rule the asker sees (else 404) and may change (else 403). */
export async function removeAllowed(db: Database, acting: Acting, id: number, country: string): Promise<RuleRow> {
  const rule = new RuleStore(db, acting.actor).byId(id);
  if (!rule || rule.action !== 'allow' || !visible(db, acting, rule, country)) throw new NotFound(`no allow-list entry #${id}`);
  return (await removeRules(new SqliteRuleBackend(db, acting.actor), acting, [id], country))[0]!;
}
