import { describeAllowOnlyScope } from './allow-only';
import type { AllowOnlySetting } from './allow-only';
import type { DecisionView } from './decision-store';
import type { CallFacts, CallerIdentity, E164 } from './types';

/** How long a tenant trusts the numbers its users called, when it has no setting of its own. */
export const DEFAULT_TRUST_CALLBACKS_MS = 30 * 86_400_000;

/** A callback: the tenant's users called this caller's number at `at` (ms), within the tenant's window. */
export interface TrustedCallback {
  readonly at: number;
  readonly tenant: string;
}

/** The outbound-call lookup a decision makes: this tenant's calls to this number within [since, now]. */
export interface CallbackLookup {
  readonly tenant: string;
  readonly number: E164;
  readonly since: number;
  readonly now: number;
}

/** What `trustedCallback` looks up for a caller, if anything: a replay reads those of many calls at once. */
export function callbackLookup(identity: CallerIdentity, tenant: string, view: DecisionView, now: number): CallbackLookup | null {
  if (identity.kind !== 'number') return null;
  const window = view.trustCallbacksFor(tenant);
  return window === null ? null : { tenant, number: identity.e164, since: now - window, now };
}

/**
 * Whether the caller is a number this tenant's users called within its window (the newest
 * such call). Only a number the switch signalled can be one: never an anonymous or withheld
 * caller, nor a number keyed in when asked to identify (anyone can key in any number; the
 * reason is added to `reasons` when that number was called).
 */
export function trustedCallback(facts: CallFacts, identity: CallerIdentity, tenant: string, view: DecisionView, now: number, reasons: string[]): TrustedCallback | null {
  const lookup = callbackLookup(identity, tenant, view, now);
  if (lookup === null) return null;
  const at = view.calledOn(lookup.tenant, lookup.number, lookup.since, lookup.now);
  if (at === null) return null;
  if (facts.identifiedFrom !== undefined) {
    reasons.push(`Tenant ${tenant}'s users called this number on ${new Date(at).toISOString()}, but the caller keyed it in: a keyed-in number is no callback.`);
    return null;
  }
  return { at, tenant };
}

/** The reason a callback goes through; explain and the console's timeline show it. */
export function describeCallback(callback: TrustedCallback): string {
  return `You called this number on ${new Date(callback.at).toISOString()} (tenant ${callback.tenant}); a callback skips categories and protection.`;
}

/**
 * Allow-only mode lets a callback ring: the number was called, so it is wanted. Adds the
 * reason when the mode is on; never an action (null), as allowOnlyStep answers a call it lets on.
 */
export function callbackPastAllowOnly(setting: AllowOnlySetting | null, callback: TrustedCallback, reasons: string[]): null {
  if (setting && setting.action !== 'off') {
    reasons.push(`${describeAllowOnlyScope(setting, callback.tenant)} is allow-only, but its users called this number on ${new Date(callback.at).toISOString()}: a callback passes.`);
  }
  return null;
}
