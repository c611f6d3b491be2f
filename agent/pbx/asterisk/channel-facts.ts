import { parseAttestation } from '../../engine/attestation';
import type { CallFacts } from '../../engine/types';
import type { AsteriskSettings } from '../settings';
import type { AriChannel } from './ari-api';

/** Read for the privacy flag: `prohib*` means the caller asked for the number to be withheld. */
const PRESENTATION_VARIABLE = 'CALLERID(pres)';

/** Every channel variable the facts come from: these belong in ari.conf's `channelvars`. */
export function variablesRead(settings: AsteriskSettings): string[] {
  const configured = [settings.sourceIpVariable, settings.sipFromVariable, settings.carrierVariable, settings.attestationVariable];
  return [...configured.filter((name): name is string => !!name), PRESENTATION_VARIABLE];
}

/** `203.0.113.7:5060` or `[2001:db8::1]:5060` (what CHANNEL(pjsip,remote_addr) gives) → the address. */
function addressOnly(value: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(value);
  if (bracketed) return bracketed[1]!;
  const v4WithPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(value);
  return v4WithPort ? v4WithPort[1]! : value;
}

/**
 * A StasisStart channel → what the engine decides on. Caller number and name exactly as
 * Asterisk has them, the DID is the extension dialled, and the rest comes from the
 * channel variables ari.conf puts into every channel snapshot (no extra round trip).
 */
export function channelFacts(channel: AriChannel, settings: AsteriskSettings): CallFacts {
  const vars: Readonly<Record<string, unknown>> = channel.channelvars ?? {};
  const read = (name: string | null) => {
    const value = name ? vars[name] : undefined;
    return typeof value === 'string' ? value.trim() || undefined : undefined;
  };
  // A snapshot missing a part is read as not saying it (an anonymous caller, no DID), never as a crash.
  const text = (value: unknown) => (typeof value === 'string' ? value : '');
  const ip = read(settings.sourceIpVariable);
  return {
    kind: 'call',
    from: text(channel.caller?.number),
    to: text(channel.dialplan?.exten),
    callerName: text(channel.caller?.name) || undefined,
    ip: ip && addressOnly(ip),
    sipFrom: read(settings.sipFromVariable),
    carrier: read(settings.carrierVariable),
    attestation: parseAttestation(read(settings.attestationVariable)),
    privacy: /^prohib/i.test(read(PRESENTATION_VARIABLE) ?? ''),
  };
}
