import { parseAttestation } from '../../engine/attestation';
import type { CallFacts } from '../../engine/types';
import type { FreeSwitchSettings } from '../settings';

/** Reads one header of a channel event (modesl's Event.getHeader, already URL-decoded). */
export type HeaderReader = (name: string) => string | undefined;

/** A value FreeSWITCH reports; absent, empty and null are all "not said". */
function present(value: string | null | undefined): string | undefined {
  return value === null || value === undefined || value === '' ? undefined : value;
}

/**
 * The facts of a call from its channel data (outbound `connect` reply or an inbound
 * CHANNEL_PARK). Everything here is caller-controlled text; it is only read.
 */
export function factsFromChannel(header: HeaderReader, settings: FreeSwitchSettings): CallFacts {
  const variable = (name: string) => present(header(`variable_${name}`));
  const fromUri = variable('sip_from_uri');
  const attestation = settings.attestationVariables
    .map((name) => parseAttestation(variable(name)))
    .find((level) => level !== 'none');
  return {
    kind: 'call',
    from: present(header('Caller-Caller-ID-Number')) ?? '',
    to: present(header('Caller-Destination-Number')) ?? '',
    callerName: present(header('Caller-Caller-ID-Name')),
    ip: variable('sip_received_ip') ?? variable('sip_network_ip') ?? present(header('Caller-Network-Addr')),
    sipFrom: fromUri === undefined ? undefined : `sip:${fromUri}`,
    privacy: header('Caller-Privacy-Hide-Number') === 'true' || /(^|[;,\s])id($|[;,\s])/i.test(variable('sip_Privacy') ?? ''),
    attestation: attestation ?? 'none',
    carrier: settings.carrierVariable ? variable(settings.carrierVariable) : undefined,
  };
}
