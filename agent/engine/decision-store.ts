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
  /** The tenant's robocall protection, else the global one; null when it is off. */
  protection(tenant: string): ProtectionPolicy | null;
  /** Carrier rules of these scopes. */
  carrierRules(scopes: readonly string[]): readonly CarrierRule[];
  /** The carrier of a number from the imported prefix table (longest prefix), if any. */
  carrierOf(number: E164): string | null;
  /** The caller's recent calls, from the call log by index. */
  history(number: E164, velocitySince: number, historySince: number): CallerHistory;
  readonly score: ScoreSettings;
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
