import type { ProtectionPolicy, RuleShape } from '../engine/decision-store';
import { NameIndex, isNameKind } from '../engine/names';
import type { ActiveRule, Category, PolicyAction } from '../engine/types';
import { shapeOf } from '../store/decision-snapshot';

/** A category policy as a proposal would set it. */
export interface ProposedPolicy {
  readonly scope: string;
  readonly category: Category;
  readonly action: PolicyAction;
}

/**
 * A change to try on logged calls before making it, every part checked as the command that
 * makes it checks it: nothing here is validated a second way.
 */
export interface Proposal {
  /** The protection setting of one scope as it would be stored; null: unchanged. */
  readonly protection: (ProtectionPolicy & { readonly enabled: boolean }) | null;
  readonly categories: readonly ProposedPolicy[];
  /** Rules that would be added; their ids are negative (-1 is the first), as they have none yet. */
  readonly addRules: readonly ActiveRule[];
  readonly removeIds: ReadonlySet<number>;
  /** Each change in words, for the report. */
  readonly changes: readonly string[];
}

export const NO_CHANGE: Proposal = { protection: null, categories: [], addRules: [], removeIds: new Set(), changes: [] };

export function isNoChange(proposal: Proposal): boolean {
  return proposal.protection === null && proposal.categories.length === 0 && proposal.addRules.length === 0 && proposal.removeIds.size === 0;
}

/** The proposal's added rules by lookup key (caller-name rules by name), and the keys they add to what a decision probes. */
export class ProposedRules {
  private readonly byKey = new Map<string, ActiveRule[]>();
  private readonly names: NameIndex<ActiveRule>;

  constructor(readonly rules: readonly ActiveRule[]) {
    this.names = new NameIndex(rules.filter((rule) => isNameKind(rule.kind)));
    for (const rule of rules) {
      if (isNameKind(rule.kind)) continue;
      const same = this.byKey.get(rule.key);
      if (same) same.push(rule);
      else this.byKey.set(rule.key, [rule]);
    }
  }

  /** `shape` widened by the added rules' kinds and spans. */
  widen(shape: RuleShape): RuleShape {
    if (this.rules.length === 0) return shape;
    const added = shapeOf(this.rules);
    const union = (a: readonly number[], b: readonly number[]) => [...new Set([...a, ...b])].sort((x, y) => x - y);
    return {
      prefixLengths: union(shape.prefixLengths, added.prefixLengths),
      networkBits: union(shape.networkBits, added.networkBits),
      hasSip: shape.hasSip || added.hasSip,
      hasAnonymous: shape.hasAnonymous || added.hasAnonymous,
    };
  }

  /** Added rules with one of `keys`, in one of `scopes`, not expired at `now`. */
  matching(keys: readonly string[], scopes: readonly string[], now: number): ActiveRule[] {
    if (this.byKey.size === 0) return [];
    const found: ActiveRule[] = [];
    for (const key of keys) {
      for (const rule of this.byKey.get(key) ?? []) {
        if (scopes.includes(rule.scope) && (rule.expiresAt === null || rule.expiresAt > now)) found.push(rule);
      }
    }
    return found;
  }

  /** Added caller-name rules matching the caller name, in one of `scopes`, not expired at `now`. */
  matchingName(callerName: string | undefined, scopes: readonly string[], now: number): ActiveRule[] {
    return this.names.matching(callerName, scopes).filter((rule) => rule.expiresAt === null || rule.expiresAt > now);
  }
}
