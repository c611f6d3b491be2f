import type { Decision } from '../engine/types';

/** The `explain --json` object: also what the HTTP hook answers. */
export function decisionJson(decision: Decision): Record<string, unknown> {
  return {
    action: decision.action,
    target: decision.target,
    kind: decision.kind,
    tenant: decision.tenant,
    did: decision.did,
    caller: decision.caller,
    callerKind: decision.callerKind,
    scope: decision.scope,
    ruleId: decision.ruleId,
    category: decision.category,
    categories: decision.categories,
    score: decision.score,
    signals: decision.signals,
    flagged: decision.flagged,
    ...(decision.monitored && { monitored: true }),
    reasons: decision.reasons,
  };
}
