import type { CallFacts, Decision } from './types';

/** How explain and the log say where the number came from, when the caller keyed it in. */
export function keyedInNote(facts: CallFacts): string {
  if (facts.identifiedFrom === undefined) return '';
  const signalled = facts.identifiedFrom.slice(0, 40);
  return ` (keyed in when asked to identify; the caller ID signalled was ${JSON.stringify(signalled)}${facts.identifiedFrom.length > 40 ? '…' : ''})`;
}

/**
 * A caller who has already keyed in a number and would be asked to identify again (its
 * number is on no allow list in allow-only mode, or is not a valid number) is refused:
 * asking again would only go round.
 */
export function identifyOnce(facts: CallFacts, decision: Decision): Decision {
  if (facts.identifiedFrom === undefined || decision.action !== 'identify') return decision;
  return { ...decision, action: 'block', reasons: [...decision.reasons, 'The caller already keyed in this number when asked to identify; asking again would only go round: the call is blocked.'] };
}
