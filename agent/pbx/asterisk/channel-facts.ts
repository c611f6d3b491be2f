import { parseAttestation } from '../../engine/attestation';
import type { Attestation, CallFacts } from '../../engine/types';
import type { AsteriskSettings } from '../settings';
import type { AriChannel } from './ari-api';

/** Read for the privacy flag: `prohib*` means the caller asked for the number to be withheld. */
const PRESENTATION_VARIABLE = 'CALLERID(pres)';

/** Every channel variable the facts come from: these belong in ari.conf's `channelvars`. */
export function variablesRead(settings: AsteriskSettings): string[] {
  const configured = [settings.sourceIpVariable, settings.sipFromVariable, settings.carrierVariable, ...settings.attestationVariables, settings.attestationVariable];
  return [...new Set(configured.filter((name): name is string => !!name)), PRESENTATION_VARIABLE];
}

/**
 * The dialplan functions ari.conf listed before the shipped [callguard-inbound] set plain
 * variables from them: read in their place when a snapshot carries the function and not
 * the plain name (an ari.conf not yet updated), so an upgrade loses no facts.
 */
const FORMER_NAMES: Readonly<Record<string, string>> = {
  CALLGUARD_SOURCE_IP: 'CHANNEL(pjsip,remote_addr)',
  CALLGUARD_SIP_FROM: 'PJSIP_HEADER(read,From)',
  CALLGUARD_PAI: 'PJSIP_HEADER(read,P-Asserted-Identity)',
};

/** A channelvars entry by name, or by its former function name; undefined when the snapshot has neither. */
function lookUp(vars: Readonly<Record<string, unknown>>, name: string): unknown {
  if (Object.hasOwn(vars, name)) return vars[name];
  const former = FORMER_NAMES[name];
  return former !== undefined && Object.hasOwn(vars, former) ? vars[former] : undefined;
}

/** channelvars entries that only work on PJSIP channels: Asterisk logs an ERROR for each on every other channel. */
const PJSIP_ONLY = /^\s*(PJSIP_[A-Z_]+\s*\(|CHANNEL\s*\(\s*pjsip\s*,)/i;

/**
 * What is wrong with the channelvars of a snapshot, one message each (none: all is well).
 * Asterisk lists every configured name in every snapshot ("" when unset), so a name
 * missing from it is one ari.conf does not list.
 */
export function channelvarsAdvice(channelvars: Readonly<Record<string, unknown>> | undefined, settings: AsteriskSettings): string[] {
  if (channelvars === undefined) {
    return ['Asterisk sends no channelvars: source IP, SIP From, carrier, attestation and privacy are not seen; list them in ari.conf [general] channelvars'];
  }
  const advice: string[] = [];
  const missing = variablesRead(settings).filter((name) => lookUp(channelvars, name) === undefined);
  if (missing.length > 0) advice.push(`ari.conf [general] channelvars does not list ${missing.join(', ')}: callguard does not see what they carry`);
  const pjsipOnly = Object.keys(channelvars).filter((name) => PJSIP_ONLY.test(name));
  if (pjsipOnly.length > 0) {
    advice.push(
      `ari.conf [general] channelvars lists ${pjsipOnly.join(', ')}: Asterisk logs an ERROR for each on every channel that is not PJSIP ` +
        '(Local, IAX2, DAHDI, the forward legs); list the plain variables the shipped [callguard-inbound] sets instead',
    );
  }
  return advice;
}

/** `203.0.113.7:5060` or `[2001:db8::1]:5060` (what CHANNEL(pjsip,remote_addr) gives) → the address. */
function addressOnly(value: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(value);
  if (bracketed) return bracketed[1]!;
  const v4WithPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(value);
  return v4WithPort ? v4WithPort[1]! : value;
}

/** What the shipped dialplan sets from Asterisk's STIR_SHAKEN(0,verify_result) and STIR_SHAKEN(0,attestation). */
const VERIFICATION = /^verify_result=([^,]{0,64}),attestation=(.{0,64})$/s;
/** verify_result values that say nothing was verified: res_stir_shaken's (22) and the older module's words. */
const NOT_VERIFIED = new Set(['', 'disabled', 'missing_identity_hdr', 'verification not present']);
const PASSED = new Set(['success', 'verification passed']);

/**
 * Asterisk's own verification: passed gives the level the signer vouched for (A, B or C; B if unread),
 * any failure (a bad signature, a certificate not trusted, a number that does not match)
 * gives failed, and no Identity header none. Undefined for a value of another shape.
 */
export function asteriskVerification(value: string): Attestation | undefined {
  const match = VERIFICATION.exec(value);
  if (!match) return undefined;
  const result = match[1]!.trim().toLowerCase();
  if (NOT_VERIFIED.has(result)) return 'none';
  if (!PASSED.has(result)) return 'failed';
  const level = match[2]!.trim().toUpperCase();
  // Passed with no level read: the signature checked out, as TN-Validation-Passed says (B).
  return level === 'A' || level === 'B' || level === 'C' ? level : 'B';
}

/**
 * STIR/SHAKEN from the channel variables: the carrier headers and Asterisk's own result
 * (attestationVariables), then P-Asserted-Identity, then the SIP From header, the first
 * that states a level (A, B, C or failed) winning. Caller text, only read.
 */
function attestationOf(read: (name: string | null) => string | undefined, settings: AsteriskSettings): Attestation {
  for (const name of [...settings.attestationVariables, settings.attestationVariable, settings.sipFromVariable]) {
    const value = read(name);
    const verified = value === undefined ? undefined : asteriskVerification(value);
    const attestation = verified ?? parseAttestation(value, settings.attestationWords);
    if (attestation !== 'none') return attestation;
  }
  return 'none';
}

/**
 * A StasisStart channel → what the engine decides on. Caller number and name exactly as
 * Asterisk has them, the DID is the extension dialled, and the rest comes from the
 * channel variables ari.conf puts into every channel snapshot (no extra round trip).
 */
export function channelFacts(channel: AriChannel, settings: AsteriskSettings): CallFacts {
  const vars: Readonly<Record<string, unknown>> = channel.channelvars ?? {};
  const read = (name: string | null) => {
    const value = name ? lookUp(vars, name) : undefined;
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
    attestation: attestationOf(read, settings),
    privacy: /^prohib/i.test(read(PRESENTATION_VARIABLE) ?? ''),
  };
}
