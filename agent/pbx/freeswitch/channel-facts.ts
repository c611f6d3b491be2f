import { parseAttestation } from '../../engine/attestation';
import type { AttestationWords } from '../../engine/attestation';
import type { AttestationFact, AttestationNotVisible, CallFacts } from '../../engine/types';
import type { FreeSwitchSettings } from '../settings';

/** Reads one header of a channel event (modesl's Event.getHeader, already URL-decoded). */
export type HeaderReader = (name: string) => string | undefined;

/** A value FreeSWITCH reports; absent, empty and null are all "not said". */
function present(value: string | null | undefined): string | undefined {
  return value === null || value === undefined || value === '' ? undefined : value;
}

/** The variable mod_sofia fills from P-Asserted-Identity (sofia.c, after `p-asserted-id-parse`). */
const PAI_VARIABLE = 'sip_p-asserted-identity';

/**
 * What a stock sofia profile leaves of P-Asserted-Identity: `p-asserted-id-parse` default or
 * `user-only` keep the URI's user part, `user-domain` user@host. No brackets, scheme or
 * parameters, so a `;verstat=` the carrier added is gone; `verbatim` keeps the whole header.
 */
const STRIPPED_IDENTITY = /^[^\s<>;,"@:]+(?:@(?:\[[0-9A-Fa-f:.]+\]|[^\s<>;,"@:[\]]+))?$/;

export const PAI_NOT_VISIBLE: AttestationNotVisible = {
  kind: 'not_visible',
  fix: 'set p-asserted-id-parse to verbatim on the SIP profile (README: STIR/SHAKEN on FreeSWITCH)',
};

/**
 * STIR/SHAKEN from the channel variables `names`, tried in turn: the first that states a level
 * (A, B, C or failed) wins. When none does and P-Asserted-Identity was among them but came
 * stripped to its user part, the attestation could not be seen: that is said, not taken for none.
 */
export function attestationFromChannel(variable: (name: string) => string | undefined, names: readonly string[], words?: AttestationWords): AttestationFact {
  let stripped = false;
  for (const name of names) {
    const value = variable(name)?.trim();
    if (!value) continue;
    if (name.toLowerCase() === PAI_VARIABLE && STRIPPED_IDENTITY.test(value)) {
      stripped = true;
      continue;
    }
    const attestation = parseAttestation(value, words);
    if (attestation !== 'none') return attestation;
  }
  return stripped ? PAI_NOT_VISIBLE : 'none';
}

/**
 * The facts of a call from its channel data (outbound `connect` reply or an inbound
 * CHANNEL_PARK). Everything here is caller-controlled text; it is only read.
 */
export function factsFromChannel(header: HeaderReader, settings: FreeSwitchSettings): CallFacts {
  const variable = (name: string) => present(header(`variable_${name}`));
  const fromUri = variable('sip_from_uri');
  return {
    kind: 'call',
    from: present(header('Caller-Caller-ID-Number')) ?? '',
    to: present(header('Caller-Destination-Number')) ?? '',
    callerName: present(header('Caller-Caller-ID-Name')),
    ip: variable('sip_received_ip') ?? variable('sip_network_ip') ?? present(header('Caller-Network-Addr')),
    sipFrom: fromUri === undefined ? undefined : `sip:${fromUri}`,
    privacy: header('Caller-Privacy-Hide-Number') === 'true' || /(^|[;,\s])id($|[;,\s])/i.test(variable('sip_Privacy') ?? ''),
    attestation: attestationFromChannel(variable, settings.attestationVariables, settings.attestationWords),
    carrier: settings.carrierVariable ? variable(settings.carrierVariable) : undefined,
  };
}
