import type { CallerIdSettings } from '../config/caller-ids';
import { parseAttestation } from '../engine/attestation';
import { BadInput } from '../engine/bad-input';
import type { Decision } from '../engine/types';
import type { CallDecider } from '../screening/decide-with-reputation';
import type { ReputationClient } from '../screening/reputation';
import { Forbidden, maySee } from './acting';
import type { Acting } from './acting';

/** What explain is asked: a call or text as the PBX would report it, at a moment. */
export interface ExplainInput {
  readonly from: string;
  readonly to: string;
  readonly ip?: string | undefined;
  readonly sipFrom?: string | undefined;
  readonly name?: string | undefined;
  readonly attestation?: string | undefined;
  readonly carrier?: string | undefined;
  readonly sms?: boolean | undefined;
  /** An ISO time (time windows, expiry, remembered passes); now when absent. */
  readonly at?: string | undefined;
}

function parseMoment(text: string | undefined): number {
  if (text === undefined) return Date.now();
  const at = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : NaN;
  if (!Number.isFinite(at)) throw new BadInput(`bad time "${text}": expected an ISO time such as 2026-11-23T08:59:59-05:00`, 'at');
  return at;
}

/** What callguard would do with that call or text, and why (decided by `decideCall` from the chosen store); only for a DID of a tenant `acting` may see. */
export async function explain(
  decideCall: CallDecider,
  acting: Acting,
  input: ExplainInput,
  country: string,
  reputation: ReputationClient,
  callerIds?: CallerIdSettings,
): Promise<Decision> {
  // The agent's own words (config `attestation.words`) and anonymous list, when given: decided as the agent would.
  const attestation = parseAttestation(input.attestation, callerIds?.attestationWords);
  if (input.attestation !== undefined && attestation === 'none') {
    throw new BadInput(`bad attestation "${input.attestation}": expected A, B, C or failed`, 'attestation');
  }
  const now = parseMoment(input.at);
  const decision = await decideCall(
    { kind: input.sms ? 'sms' : 'call', from: input.from, to: input.to, callerName: input.name, ip: input.ip, sipFrom: input.sipFrom, attestation, carrier: input.carrier },
    { country, now, anonymous: callerIds?.anonymous },
    reputation,
  );
  if (!maySee(acting, decision.tenant)) throw new Forbidden(`${acting.actor} may not see tenant ${decision.tenant}`);
  return decision;
}
