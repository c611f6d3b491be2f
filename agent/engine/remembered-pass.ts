import type { DecisionView } from './decision-store';
import type { Decision } from './types';

/**
 * A caller who passed the challenge recently is let through without it, when the
 * tenant remembers passes. Never for an anonymous or invalid caller: there is no
 * number to remember.
 */
export function rememberedPass(decision: Decision, view: DecisionView, now: number): Decision {
  if (decision.action !== 'challenge' || decision.callerKind !== 'number' || !decision.caller) return decision;
  const remember = view.rememberPassesFor(decision.tenant);
  if (remember === null) return decision;
  const passed = view.lastPass(decision.caller, decision.tenant, now - remember);
  if (passed === null) return decision;
  const until = new Date(passed + remember).toISOString();
  return {
    ...decision,
    action: 'allow',
    target: null,
    reasons: [...decision.reasons, `The caller passed a challenge at ${new Date(passed).toISOString()}; the pass is remembered until ${until}: no challenge, the call goes through.`],
  };
}
