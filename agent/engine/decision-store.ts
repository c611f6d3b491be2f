import type { ActiveRule, Category, E164, PolicyAction } from './types';

/** Which lookup keys can match at all, so a decision probes only lengths that exist. */
export interface RuleShape {
  /** Lengths of prefix keys (`+1404` is 5). */
  readonly prefixLengths: readonly number[];
  /** CIDR sizes of network rules (exact addresses are always probed). */
  readonly networkBits: readonly number[];
  readonly hasSip: boolean;
  readonly hasAnonymous: boolean;
}

export interface CategoryPolicy {
  readonly action: PolicyAction;
  readonly scope: string;
}

/** The read side the engine is handed; the SQLite store implements it. */
export interface DecisionStore {
  /** A view for one decision: refreshed once here, not on every lookup. */
  view(): DecisionView;
}

export interface DecisionView {
  readonly shape: RuleShape;
  tenantOfDid(did: E164): string;
  /** Rules with one of `keys` in one of `scopes`, not expired at `now`, and not in a disabled list. */
  rulesFor(keys: readonly string[], scopes: readonly string[], now: number): readonly ActiveRule[];
  /** The tenant's policy for a category, else the global one, else none. */
  categoryPolicy(tenant: string, category: Category): CategoryPolicy | null;
}
