import type { CategoryInput } from './categories';
import type { DecisionView } from './decision-store';
import { parseDuration } from './duration';
import { scoreSignals, totalScore } from './score';
import type { ActionName, CallFacts, ScoreSignal } from './types';

export interface ProtectionVerdict {
  readonly action: ActionName;
  readonly scope: string;
  readonly score: number | null;
  readonly flagged: boolean;
  readonly signals: readonly ScoreSignal[];
  readonly reasons: readonly string[];
}

/**
 * Step 3, robocall protection: carrier rules first, then the risk score against the
 * tenant's threshold; between the flag threshold and the threshold the call goes
 * through marked. Null when protection is off for the tenant.
 */
export function protect(
  facts: CallFacts,
  category: CategoryInput,
  tenant: string,
  scopes: readonly string[],
  view: DecisionView,
  now: number,
): ProtectionVerdict | null {
  const policy = view.protection(tenant);
  if (!policy) return null;
  const reasons: string[] = [];
  const number = category.caller.kind === 'number' ? category.caller.e164 : null;

  const rules = view.carrierRules(scopes);
  if (rules.length > 0) {
    const carrier = facts.carrier ?? (number ? view.carrierOf(number) : null);
    const source = facts.carrier ? 'as signalled' : 'from the prefix table';
    const rule = carrier ? rules.find((candidate) => carrier.toLowerCase().includes(candidate.pattern)) : undefined;
    if (rule) {
      reasons.push(`Step 3: carrier "${carrier}" (${source}) matches carrier rule #${rule.id} "${rule.pattern}" (${rule.scope}): ${policy.action}.`);
      return { action: policy.action, scope: rule.scope, score: null, flagged: false, signals: [], reasons };
    }
    reasons.push(`Step 3: carrier ${carrier ? `"${carrier}" (${source})` : 'unknown'} matches no carrier rule.`);
  }

  const { score: settings } = view;
  const history = number
    ? view.history(number, now - parseDuration(settings.velocity_window, 'velocity_window'), now - parseDuration(settings.history_window, 'history_window'))
    : null;
  const signals = scoreSignals({ category, history, reputation: facts.reputation, settings });
  const score = totalScore(signals);
  for (const signal of signals) reasons.push(`Step 3: ${signal.points >= 0 ? '+' : ''}${signal.points} ${signal.signal}: ${signal.why}.`);
  const limits = `threshold ${policy.threshold}${policy.flagThreshold !== null ? `, flag at ${policy.flagThreshold}` : ''} (${policy.scope})`;
  if (score >= policy.threshold) {
    reasons.push(`Step 3: risk score ${score} is at or above the ${limits}: ${policy.action}.`);
    return { action: policy.action, scope: policy.scope, score, flagged: false, signals, reasons };
  }
  const flagged = policy.flagThreshold !== null && score >= policy.flagThreshold;
  reasons.push(`Step 3: risk score ${score} is below the ${limits}${flagged ? ': the call goes through marked as suspected spam' : ''}.`);
  return { action: 'allow', scope: policy.scope, score, flagged, signals, reasons };
}
