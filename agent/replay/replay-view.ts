import type { AllowOnlySetting } from '../engine/allow-only';
import type { CallerHistory, CarrierRule, CategoryPolicy, DecisionStore, DecisionView, ProtectionPolicy, ReputationSource, RuleShape } from '../engine/decision-store';
import type { ScoreSettings } from '../engine/score-settings';
import type { ActiveRule, Category, E164 } from '../engine/types';
import type { SnapshotView } from '../store/decision-snapshot';
import { ProposedRules } from './proposal';
import type { Proposal } from './proposal';
import type { ReplayHistory } from './replay-history';

/**
 * What the engine reads when it decides a logged call again: the store's tables as they
 * stand, with a proposal laid over them (rules added and removed, a category policy or the
 * protection setting changed), and the caller's history as it stood at the call's moment.
 * Reads only: the store is never written.
 */
export class ReplayView implements DecisionView, DecisionStore {
  readonly shape: RuleShape;
  readonly score: ScoreSettings;
  /** Never asked: a replay decides on the reputation answers the log kept. */
  readonly reputationSources: readonly ReputationSource[] = [];
  /** The moment of the call being decided: history counts only what came before it. */
  now = 0;
  private readonly added: ProposedRules;
  private readonly policies: Map<string, CategoryPolicy>;

  constructor(
    private readonly base: SnapshotView,
    private readonly earlier: ReplayHistory,
    private readonly proposal: Proposal,
  ) {
    this.added = new ProposedRules(proposal.addRules);
    this.shape = this.added.widen(base.shape);
    this.score = base.score;
    this.policies = new Map(proposal.categories.map((policy) => [`${policy.scope}|${policy.category}`, { action: policy.action, scope: policy.scope, schedule: null }]));
  }

  view(): DecisionView {
    return this;
  }

  tenantOfDid(did: E164): string {
    return this.base.tenantOfDid(did);
  }

  rulesFor(keys: readonly string[], scopes: readonly string[], now: number): readonly ActiveRule[] {
    const stored = this.base.rulesFor(keys, scopes, now);
    const kept = this.proposal.removeIds.size === 0 ? stored : stored.filter((rule) => !this.proposal.removeIds.has(rule.id));
    const added = this.added.matching(keys, scopes, now);
    return added.length === 0 ? kept : [...kept, ...added];
  }

  nameRulesFor(callerName: string | undefined, scopes: readonly string[], now: number): readonly ActiveRule[] {
    const stored = this.base.nameRulesFor(callerName, scopes, now);
    const kept = this.proposal.removeIds.size === 0 ? stored : stored.filter((rule) => !this.proposal.removeIds.has(rule.id));
    const added = this.added.matchingName(callerName, scopes, now);
    return added.length === 0 ? kept : [...kept, ...added];
  }

  categoryPolicies(tenant: string, category: Category): readonly CategoryPolicy[] {
    const stored = this.base.categoryPolicies(tenant, category);
    if (this.policies.size === 0) return stored;
    const inScope = (scope: string) => this.policies.get(`${scope}|${category}`) ?? stored.find((policy) => policy.scope === scope);
    return [inScope(`tenant:${tenant}`), inScope('global')].filter((policy): policy is CategoryPolicy => policy !== undefined);
  }

  monitors(tenant: string): boolean {
    return this.base.monitors(tenant);
  }

  allowOnly(tenant: string, did: E164 | null): AllowOnlySetting | null {
    return this.base.allowOnly(tenant, did);
  }

  rememberPassesFor(tenant: string): number | null {
    return this.base.rememberPassesFor(tenant);
  }

  lastPass(number: E164, tenant: string, since: number): number | null {
    return this.earlier.lastPass(number, tenant, since, this.now);
  }

  trustCallbacksFor(tenant: string): number | null {
    return this.base.trustCallbacksFor(tenant);
  }

  /** Outbound calls are kept as timestamped rows: those up to the call's moment are the ones there were then. */
  calledOn(tenant: string, number: E164, since: number, now: number): number | null {
    return this.base.calledOn(tenant, number, since, Math.min(now, this.now));
  }

  protection(tenant: string): ProtectionPolicy | null {
    const changed = this.proposal.protection;
    if (!changed) return this.base.protection(tenant);
    const own = `tenant:${tenant}`;
    // A global change reaches the tenants that follow the global setting, not those with their own.
    const follows = changed.scope === own || (changed.scope === 'global' && this.base.protectionIn(own) === undefined);
    if (!follows) return this.base.protection(tenant);
    return changed.enabled ? changed : null;
  }

  carrierRules(scopes: readonly string[]): readonly CarrierRule[] {
    return this.base.carrierRules(scopes);
  }

  carrierOf(number: E164): string | null {
    return this.base.carrierOf(number);
  }

  history(number: E164, velocitySince: number, historySince: number): CallerHistory {
    return this.earlier.history(number, velocitySince, historySince, this.now);
  }
}
