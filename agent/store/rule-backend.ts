import type { E164, MatchKind } from '../engine/types';
import type { RuleImporting } from './rule-import';
import type { NewRule, RuleFilter, RuleOptions, RuleRow } from './rules';

/** A page of rules: `RuleFilter` with its limit given. */
export type RulePageFilter = RuleFilter & { readonly limit: number };

/**
 * A scope the rules of a list lie in. For a DID's scope, the tenant holding that DID (null
 * when none does, or for any other scope): who may see and switch the list follows from it.
 */
export interface ListScope {
  readonly scope: string;
  readonly didTenant: string | null;
}

/** A list's rules in one scope, counted (scope null, no rules: a list with none). */
export interface ListInScope {
  readonly name: string;
  readonly enabled: boolean;
  readonly scope: string | null;
  readonly didTenant: string | null;
  readonly rules: number;
}

/**
 * The rules as the rule operations (agent/operations/rules.ts) reach them, on either
 * backend: the SQLite file, or a fleet's PostgreSQL. The operations validate and check
 * access first; each write here is one transaction with its audit entries, all or nothing.
 */
export interface RuleBackend extends RuleImporting {
  tenantExists(name: string): Promise<boolean>;
  /** The tenant a DID belongs to: `default` for one no tenant claims. */
  ownerOfDid(did: E164): Promise<string>;
  /** The DIDs these tenants own, in number order. */
  didsOf(tenants: readonly string[]): Promise<E164[]>;
  /** Adds or replaces (same match, same scope) each rule; returns them as stored. */
  add(rules: readonly NewRule[], now: number): Promise<RuleRow[]>;
  byId(id: number): Promise<RuleRow | undefined>;
  /** The rules with this match, in every scope or one, by id. */
  byMatch(key: string, kind: MatchKind, scope?: string): Promise<RuleRow[]>;
  /** Rules in id order after `filter.afterId`, at most `filter.limit`. */
  page(filter: RulePageFilter): Promise<RuleRow[]>;
  /** Removes the rules with these ids; returns those there were. */
  removeIds(ids: readonly number[]): Promise<RuleRow[]>;
  /** Changes what a rule does, never what it matches or where; undefined when there is no such rule. */
  update(id: number, options: Omit<RuleOptions, 'scope'>, now: number): Promise<RuleRow | undefined>;
  /** Every list with its rules counted per scope: a row per list and scope, by list name, then scope (byte order). */
  listsByScope(): Promise<ListInScope[]>;
  listExists(name: string): Promise<boolean>;
  /** The scopes of a list's rules, each once, in byte order. */
  listScopes(name: string): Promise<ListScope[]>;
  /**
   * Enables or disables a list in one transaction with its audit entry, once `allow` has seen
   * the scopes of its rules as they stand inside that transaction (a rule joining the list
   * meanwhile waits for it); `allow` throws to refuse, and nothing changes. False when there
   * is no such list.
   */
  setListEnabled(name: string, enabled: boolean, allow: (scopes: readonly ListScope[]) => void): Promise<boolean>;
}
