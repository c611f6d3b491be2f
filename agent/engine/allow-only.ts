import type { PolicyAction } from './types';

/**
 * Allow-only mode, per tenant or DID: only callers an allow rule lets through ring; every
 * other caller no number or address rule matched gets this action. With `identify`, a caller
 * who keys in a number on the allow list rings; any other is refused.
 */
export const ALLOW_ONLY_ACTIONS = ['challenge', 'identify', 'voicemail', 'busy', 'disconnected', 'block'] as const satisfies readonly PolicyAction[];
export type AllowOnlyAction = (typeof ALLOW_ONLY_ACTIONS)[number];

/** A DID's own setting: an action, or `off` (not allow-only whatever its tenant says). No setting: it follows its tenant. */
export type DidAllowOnly = AllowOnlyAction | 'off';

/** The setting that counts for a call, and where it was set (`tenant:acme` or `did:+1…`). */
export interface AllowOnlySetting {
  readonly action: DidAllowOnly;
  readonly scope: string;
}

export function isAllowOnlyAction(value: string): value is AllowOnlyAction {
  return (ALLOW_ONLY_ACTIONS as readonly string[]).includes(value);
}

/** Who set it, in explain's words: "Tenant acme" or "DID +14045550100 (tenant acme)". */
export function describeAllowOnlyScope(setting: AllowOnlySetting, tenant: string): string {
  return setting.scope.startsWith('did:') ? `DID ${setting.scope.slice(4)} (tenant ${tenant})` : `Tenant ${tenant}`;
}

/**
 * After step 1 found no rule: the action allow-only mode gives this caller, with its reason
 * added to `reasons`; null when the call is not in allow-only mode (or is a text: allow-only
 * decides who rings).
 */
export function allowOnlyStep(setting: AllowOnlySetting | null, tenant: string, kind: 'call' | 'sms', reasons: string[]): AllowOnlySetting & { action: AllowOnlyAction } | null {
  if (!setting) return null;
  const who = describeAllowOnlyScope(setting, tenant);
  if (setting.action === 'off') {
    reasons.push(`${who} is set not to be allow-only, whatever its tenant says.`);
    return null;
  }
  if (kind === 'sms') {
    reasons.push(`${who} is allow-only, which decides only who rings: texts go on to the next steps.`);
    return null;
  }
  reasons.push(`${who} is allow-only: callers not on its allow list get ${setting.action}.`);
  return { action: setting.action, scope: setting.scope };
}
