import { isIP } from 'node:net';
import { parseAttestation } from '../engine/attestation';
import type { AttestationWords } from '../engine/attestation';
import { BadInput } from '../engine/bad-input';
import type { CallFacts } from '../engine/types';
import { shownInMessage } from './shown-in-message';
import { parseStrictQuery } from './strict-query';

const DECIDE_PARAMETERS = ['from', 'to', 'kind', 'ip', 'sip_from', 'name', 'attestation', 'carrier', 'identified_from', 'format'] as const;

export type AnswerFormat = 'json' | 'text';

export interface DecideQuery {
  readonly facts: CallFacts;
  readonly format: AnswerFormat;
}

/**
 * `/v1/decide?…` → the facts to decide on. A missing or empty `from` is an anonymous
 * caller. The other optional values count as absent when empty, as a dialplan sends them
 * when its variable is unset. Caller-controlled values (from, name, sip_from, carrier)
 * are taken as they are: they are only ever data.
 */
export function parseDecideQuery(raw: string, attestationWords?: AttestationWords): DecideQuery {
  const params = parseStrictQuery(raw, DECIDE_PARAMETERS);
  const given = (name: (typeof DECIDE_PARAMETERS)[number]) => params.get(name) || undefined;

  const to = given('to');
  if (to === undefined) throw new BadInput('missing "to": the number called, e.g. to=%2B15551230000');
  const kind = params.get('kind');
  if (kind !== 'call' && kind !== 'sms') {
    throw new BadInput(kind === undefined ? 'missing "kind": expected kind=call or kind=sms' : `unknown kind "${shownInMessage(kind)}": expected call or sms`);
  }
  const format = params.get('format') ?? 'json';
  if (format !== 'json' && format !== 'text') throw new BadInput(`unknown format "${shownInMessage(format)}": expected json or text`);
  const ip = given('ip');
  if (ip !== undefined && isIP(ip) === 0) throw new BadInput(`bad ip "${shownInMessage(ip)}": expected an IPv4 or IPv6 address such as 203.0.113.7`);
  const attestationText = given('attestation');
  // The agent's words (config attestation.words), as its drivers read them.
  const attestation = parseAttestation(attestationText, attestationWords);
  if (attestationText !== undefined && attestation === 'none') {
    throw new BadInput(`bad attestation "${shownInMessage(attestationText)}": expected A, B, C or failed (or a verstat value such as TN-Validation-Passed-A)`);
  }
  // After an `identify` answer the dialplan reads the caller's keys and asks again: `from` is then what was keyed in.
  const identifiedFrom = params.get('identified_from');
  if (identifiedFrom !== undefined && !params.get('from')) throw new BadInput('identified_from goes with from: the number the caller keyed in');
  return {
    format,
    facts: {
      kind,
      from: params.get('from') ?? '',
      to,
      callerName: given('name'),
      ip,
      sipFrom: given('sip_from'),
      attestation,
      carrier: given('carrier'),
      ...(identifiedFrom !== undefined && { identifiedFrom }),
    },
  };
}
