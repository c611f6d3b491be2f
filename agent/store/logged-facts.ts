import type { CallFacts } from '../engine/types';

const TEXT_LIMIT = 256;
/** As the log cuts what a caller signalled; NUL removed, which PostgreSQL text cannot hold. */
const cut = (text: string) => text.replaceAll('\u0000', '').slice(0, TEXT_LIMIT);

/**
 * What the call log keeps of a call's facts besides its own columns (caller as signalled,
 * name, address, SIP From): the rest of what the engine decided on, so that a logged call
 * can be decided again on the facts it had. JSON, the keys present only when the call had
 * them: `{}` for a call with none, so that NULL marks a row logged before the column.
 */
export function loggedFacts(facts: CallFacts): string {
  const kept = {
    ...(facts.to ? { to: cut(facts.to) } : {}),
    ...(facts.privacy !== undefined ? { privacy: facts.privacy } : {}),
    ...(facts.attestation !== undefined ? { attestation: typeof facts.attestation === 'string' ? facts.attestation : { kind: facts.attestation.kind, fix: cut(facts.attestation.fix) } } : {}),
    ...(facts.carrier !== undefined ? { carrier: cut(facts.carrier) } : {}),
    ...(facts.identifiedFrom !== undefined ? { identifiedFrom: cut(facts.identifiedFrom) } : {}),
    ...(facts.reputation !== undefined ? { reputation: facts.reputation.map((answer) => (answer.kind === 'score' ? answer : { ...answer, why: cut(answer.why) })) } : {}),
  };
  return JSON.stringify(kept);
}
