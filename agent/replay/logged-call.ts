import type { AttestationFact, CallFacts, MessageKind, Reputation } from '../engine/types';
import type { LogRow } from '../store/call-log-queries';

/** One row of the call log as a replay reads it: the facts the call was decided on, and what was decided and happened. */
export type LoggedCall = Pick<LogRow, 'id' | 'tenant' | 'did' | 'caller' | 'callerRaw' | 'callerName' | 'ip' | 'sipFrom' | 'action' | 'ruleId' | 'score' | 'flagged' | 'outcome'> & {
  /** The moment of the decision (ms since the epoch). */
  readonly at: number;
  readonly kind: MessageKind;
  /** The rest of the facts as JSON (agent/store/logged-facts.ts); null for a row logged before they were kept. */
  readonly facts: string | null;
  /** When the outcome was written; null while there is none. */
  readonly endedAt: number | null;
};

interface KeptFacts {
  readonly to?: string;
  readonly privacy?: boolean;
  readonly attestation?: AttestationFact;
  readonly carrier?: string;
  readonly reputation?: Reputation;
}

/**
 * The facts a logged call was decided on, as the engine is handed them again. A row from
 * before the facts were kept has only its columns: the number dialled is its DID as
 * normalised, and privacy, attestation, carrier and reputation are missing (`complete` false).
 */
export function factsOfLoggedCall(call: LoggedCall): { facts: CallFacts; complete: boolean } {
  const kept = call.facts === null ? null : (JSON.parse(call.facts) as KeptFacts);
  const facts: CallFacts = {
    kind: call.kind,
    from: call.callerRaw ?? '',
    to: kept ? (kept.to ?? '') : (call.did ?? ''),
    ...(call.callerName !== null && { callerName: call.callerName }),
    ...(call.ip !== null && { ip: call.ip }),
    ...(call.sipFrom !== null && { sipFrom: call.sipFrom }),
    ...(kept?.privacy !== undefined && { privacy: kept.privacy }),
    ...(kept?.attestation !== undefined && { attestation: kept.attestation }),
    ...(kept?.carrier !== undefined && { carrier: kept.carrier }),
    ...(kept?.reputation !== undefined && { reputation: kept.reputation }),
  };
  return { facts, complete: kept !== null };
}
