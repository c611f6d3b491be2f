import type { DecisionView } from './decision-store';
import { describeMatch } from './pick-rule';
import { pickNameRule } from './names';
import { isOpen } from './time-window';
import type { ActiveRule, CallFacts } from './types';

/**
 * Step 1 for caller names, after the number and address rules (and allow-only mode): every
 * number or address rule outranks every name rule, since a caller chooses its name freely.
 * Returns the deciding name rule (its reasons added), or null.
 */
export function nameStep(facts: CallFacts, view: DecisionView, scopes: readonly string[], now: number, reasons: string[]): ActiveRule | null {
  if (!facts.callerName) return null;
  const rules = view
    .nameRulesFor(facts.callerName, scopes, now)
    .filter((rule) => facts.kind === 'call' || rule.sms || rule.action === 'allow')
    .filter((rule) => {
      if (!rule.schedule) return true;
      const open = isOpen(rule.schedule, now);
      reasons.push(`Step 1 (names): rule #${rule.id} (${rule.scope}, ${describeMatch(rule)}) is ${open ? 'inside' : 'outside'} its window ${rule.schedule.text} (${rule.schedule.tz})${open ? '' : ' and takes no part'}.`);
      return open;
    });
  const rule = pickNameRule(rules, scopes);
  if (!rule) return null;
  const shown = facts.callerName.length > 40 ? `${facts.callerName.slice(0, 40)}…` : facts.callerName;
  reasons.push(`Step 1 (names): caller name ${JSON.stringify(shown)}: rule #${rule.id} (${rule.scope}, ${describeMatch(rule)}) says ${rule.action}${rule.target ? ` ${rule.target}` : ''}.`);
  for (const other of rules) {
    if (other !== rule) reasons.push(`Step 1 (names): rule #${other.id} (${other.scope}, ${describeMatch(other)}) also matches but is outranked.`);
  }
  return rule;
}
