import type { AllowOnlySetting } from './allow-only';
import type { ScoreSettings } from './score-settings';
import type { Schedule } from './time-window';
import type { ActiveRule, Category, E164, PolicyAction } from './types';

/** Which lookup keys can match at all, so a decision probes only lengths that exist. */
export interface RuleShape {
  /** Lengths of prefix keys (`+1404` is 5). */
  readonly prefixLengths: readonly number[];
  /** Network sizes to probe: those of the network rules, and 32 and 128 for exact addresses. */
  readonly networkBits: readonly number[];
  readonly hasSip: boolean;
  readonly hasAnonymous: boolean;
}

export interface CategoryPolicy {
  readonly action: PolicyAction;
  readonly scope: string;
  /** When the policy takes part; null: always. */
  readonly schedule: Schedule | null;
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
  /** Caller-name rules (names.ts) of one of `scopes` matching the caller ID name, not expired at `now`, not in a disabled list. */
  nameRulesFor(callerName: string | undefined, scopes: readonly string[], now: number): readonly ActiveRule[];
  /** The tenant's policy for a category, then the global one (the first whose window is open counts). */
  categoryPolicies(tenant: string, category: Category): readonly CategoryPolicy[];
  /** The tenant is in monitor mode: its calls are decided and logged, and let through. */
  monitors(tenant: string): boolean;
  /** Allow-only mode for a call to this DID of this tenant: the DID's own setting, else the tenant's; null when neither is set. */
  allowOnly(tenant: string, did: E164 | null): AllowOnlySetting | null;
  /** How long a passed challenge is remembered for this tenant; null: not at all. */
  rememberPassesFor(tenant: string): number | null;
  /** When this caller last passed a challenge of this tenant, since `since`. */
  lastPass(number: E164, tenant: string, since: number): number | null;
  /** How long the tenant trusts a callback from a number its users called (ms); null: not at all. */
  trustCallbacksFor(tenant: string): number | null;
  /** When the tenant's users last called this number (an outbound call the switch reported), within [since, now]; null: not then. */
  calledOn(tenant: string, number: E164, since: number, now: number): number | null;
  /** The tenant's robocall protection, else the global one; null when it is off. */
  protection(tenant: string): ProtectionPolicy | null;
  /** Carrier rules of these scopes. */
  carrierRules(scopes: readonly string[]): readonly CarrierRule[];
  /** The carrier of a number from the imported prefix table (longest prefix), if any. */
  carrierOf(number: E164): string | null;
  /** The caller's recent calls, from the call log by index. */
  history(number: E164, velocitySince: number, historySince: number): CallerHistory;
  readonly score: ScoreSettings;
  /** The reputation sources, in order: asked by the screening before a scored decision (agent/screening/decide-with-reputation.ts), never by the engine. */
  readonly reputationSources: readonly ReputationSource[];
}

/** A reputation service the operator added (callguard reputation add). */
export interface ReputationSource {
  /** A short slug: the score signal is `reputation:<name>`. */
  readonly name: string;
  /** http(s), with `{number}` where the caller's E.164 number goes (URL-encoded). */
  readonly url: string;
  readonly timeoutMs: number;
  /** The share of its 0-100 score that is added (0.5: a score of 80 adds 40 points). */
  readonly weight: number;
}

export interface ProtectionPolicy {
  readonly scope: string;
  readonly threshold: number;
  /** At or above this (and below the threshold) a call goes through marked; null: never. */
  readonly flagThreshold: number | null;
  readonly action: 'block' | 'challenge' | 'voicemail';
}

export interface CarrierRule {
  readonly id: number;
  readonly scope: string;
  /** Lower case. */
  readonly pattern: string;
}

export interface CallerHistory {
  /** Calls within the velocity window, and how many different DIDs they went to. */
  readonly calls: number;
  readonly dids: number;
  /** Challenges within the history window. */
  readonly passed: number;
  readonly failed: number;
}
