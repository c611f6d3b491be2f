import type { E164, MatchKind } from '../engine/types';
import type { NewRule, RuleFilter, RuleOptions, RuleRow } from './rules';

/** A page of rules: `RuleFilter` with its limit given. */
export type RulePageFilter = RuleFilter & { readonly limit: number };

/**
 * The rules as the rule operations (agent/operations/rules.ts) reach them, on either
 * backend: the SQLite file, or a fleet's PostgreSQL. The operations validate and check
 * access first; each write here is one transaction with its audit entries, all or nothing.
 */
export interface RuleBackend {
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
}
