import { BadInput } from './bad-input';
import { callingCodeOf, normalizeNumber } from './numbers';
import type { E164 } from './types';

/** A PBX extension as the caller of an outbound call (`1001`): no number, so no area code and no DID. */
const EXTENSION = /^\d{2,6}$/;
/** Dialled without an area code: NANP's 7-digit local form (exchange starting 2-9). */
const LOCAL_SEVEN = /^[2-9]\d{6}$/;
/** Too short to be anyone's number: emergency and service codes (911, 611, 112), short codes. */
const SHORT_CODE = /^\+?\d{1,6}$/;
const SEPARATORS = /[\s().\-\/]/g;

/** Who made an outbound call: its number, or null for an extension. */
export type OutboundCaller = E164 | null;

const shown = (text: string) => JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
/** Why the number reader refused it, said of this value rather than of a caller ID. */
const whyNot = (why: string) => why.replace(/^caller (?:ID|number) /, 'it ');

/** The `from` of an outbound call: a phone number (E.164), or an extension of 2 to 6 digits (null). BadInput naming `from` otherwise. */
export function outboundCaller(from: string, country: string): OutboundCaller {
  const compact = from.trim();
  if (EXTENSION.test(compact)) return null;
  const identity = normalizeNumber(compact, country);
  if (identity.kind !== 'number') throw new BadInput(`bad from ${shown(from)}: expected the caller's phone number or extension (${whyNot(identity.why)})`, 'from');
  return identity.e164;
}

/**
 * The number an outbound call dialled, in E.164 as a callback's caller ID will read:
 * national, `+`, `1`-prefixed and the country's international-prefix (011 in NANP) forms
 * all come to the same number, and a NANP 7-digit local number takes the area code of the caller's number.
 * Refuses (BadInput naming `to`) what no one calls back from: emergency and service codes,
 * short codes, anonymous or all-zero values, anything not a phone number.
 */
export function dialledNumber(to: string, caller: OutboundCaller, country: string): E164 {
  const compact = to.trim().replace(SEPARATORS, '');
  if (callingCodeOf(country) === '1' && LOCAL_SEVEN.test(compact)) {
    if (!caller?.startsWith('+1')) throw new BadInput(`bad to ${shown(to)}: a 7-digit number needs the caller's area code, and from is not a NANP number`, 'to');
    return localNumber(caller.slice(2, 5) + compact, country);
  }
  if (SHORT_CODE.test(compact)) throw new BadInput(`bad to ${shown(to)}: an emergency, service or short code, not a number that calls back`, 'to');
  return localNumber(to, country);
}

function localNumber(text: string, country: string): E164 {
  const identity = normalizeNumber(text, country);
  if (identity.kind !== 'number') throw new BadInput(`bad to ${shown(text)}: expected the dialled phone number (${whyNot(identity.why)})`, 'to');
  return identity.e164;
}
