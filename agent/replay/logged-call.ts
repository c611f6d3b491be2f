import type { AttestationFact, CallFacts, MessageKind, Reputation, ReputationAnswer } from '../engine/types';
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
  readonly identifiedFrom?: string;
  /** Each source's answer; a single answer (one service, before sources) in rows logged before migration 015. */
  readonly reputation?: readonly ReputationAnswer[] | Reputation;
}

/** The source migration 015 made of the single reputation service, whose answers older rows hold. */
export const FORMER_REPUTATION_SOURCE = 'reputation';
/** That service's default weight, for a row whose source has since been removed. */
export const FORMER_REPUTATION_WEIGHT = 0.5;

/** The reputation fact as the engine reads it now: a former single answer is the answer of the source it became. */
function answersOf(kept: readonly ReputationAnswer[] | Reputation, formerWeight: number): readonly ReputationAnswer[] {
  return 'kind' in kept ? [{ source: FORMER_REPUTATION_SOURCE, weight: formerWeight, ...kept }] : kept;
}

/**
 * The facts a logged call was decided on, as the engine is handed them again. A row from
 * before the facts were kept has only its columns: the number dialled is its DID as
 * normalised, and privacy, attestation, carrier and reputation are missing (`complete` false).
 * `formerReputationWeight`: the weight of the single reputation service older rows were
 * scored with (the weight of the source it became).
 */
export function factsOfLoggedCall(call: LoggedCall, formerReputationWeight = FORMER_REPUTATION_WEIGHT): { facts: CallFacts; complete: boolean } {
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
    ...(kept?.identifiedFrom !== undefined && { identifiedFrom: kept.identifiedFrom }),
    ...(kept?.reputation !== undefined && { reputation: answersOf(kept.reputation, formerReputationWeight) }),
  };
  return { facts, complete: kept !== null };
}
