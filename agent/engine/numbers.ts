import { getCountryCallingCode, isSupportedCountry, parsePhoneNumberFromString } from 'libphonenumber-js/min';
import type { CountryCode } from 'libphonenumber-js/min';
import { BadInput } from './bad-input';
import type { CallerIdentity, E164 } from './types';

/** Caller IDs longer than this are not numbers; they are not even handed to the parser. */
const MAX_NUMBER_TEXT = 64;
const ANONYMOUS_WORDS =
  /^(?:(?:caller\s*id|number)\s+)?(?:anonymous|restricted|private|unavailable|unknown|withheld)(?:\s+(?:number|caller(?:\s*id)?|id))?$/i;
/** After the URI parts are gone, a number is digits and the separators people write. */
const NUMBER_TEXT = /^\+?[\d\s().\-\/]+$/;
const ALL_ZERO = /^\+?[0\s().\-\/]+$/;
const SEPARATORS = /[\s().\-\/]/g;
/** A NANP number in its everyday forms: area code and exchange both start 2-9. */
const NANP = /^(?:\+?1)?([2-9]\d{2}[2-9]\d{6})$/;
const E164_FORM = /^\+[1-9]\d{1,14}$/;

export function checkCountry(country: string): CountryCode {
  const upper = country.toUpperCase();
  if (!isSupportedCountry(upper)) throw new BadInput(`unknown country "${country}": expected an ISO 3166 code such as US or GB`);
  return upper;
}

export function callingCodeOf(country: string): string {
  return getCountryCallingCode(country as CountryCode);
}

/** `sip:+1404…@host;user=phone`, `<tel:+1…>`, `"Name" <sip:…>` → the user part. */
export function stripUri(raw: string): string {
  let text = raw.trim();
  const open = text.indexOf('<');
  if (open >= 0) {
    const close = text.indexOf('>', open);
    text = text.slice(open + 1, close < 0 ? undefined : close);
  }
  text = text.replace(/^(?:sips?|tel):/i, '');
  const cut = text.search(/[@;?]/);
  return (cut >= 0 ? text.slice(0, cut) : text).trim();
}

const cache = new Map<string, CallerIdentity>();
const CACHE_LIMIT = 20_000;

/**
 * Any caller-ID text → a number in E.164, anonymous, or invalid. Never throws:
 * the text is whatever the far end signalled. Remembers recent answers, since
 * the same callers and DIDs come back.
 */
export function normalizeNumber(raw: string, country: string): CallerIdentity {
  const cacheKey = country + '|' + raw;
  const hit = cache.get(cacheKey);
  if (hit) return hit;
  const identity = readNumber(raw, country);
  if (cache.size >= CACHE_LIMIT) cache.clear();
  if (raw.length <= MAX_NUMBER_TEXT) cache.set(cacheKey, identity);
  return identity;
}

/** The same without the memory: for imports, where every number is new. */
export function readNumber(raw: string, country: string): CallerIdentity {
  if (typeof raw !== 'string') return { kind: 'invalid', why: 'caller ID is not text' };
  if (raw.length > MAX_NUMBER_TEXT) return { kind: 'invalid', why: `caller ID is ${raw.length} characters long` };
  const text = stripUri(raw);
  if (text === '') return { kind: 'anonymous', why: 'no caller number' };
  if (ANONYMOUS_WORDS.test(text)) return { kind: 'anonymous', why: `caller ID says "${text}"` };
  if (!NUMBER_TEXT.test(text)) return { kind: 'invalid', why: 'caller ID is not a phone number' };
  if (ALL_ZERO.test(text)) return { kind: 'anonymous', why: 'caller number is all zeros' };
  // Fast path for the commonest shape; everything else is libphonenumber's to judge.
  const compact = text.replace(SEPARATORS, '');
  const nanp = (compact.startsWith('+1') || callingCodeOf(country) === '1') && NANP.exec(compact);
  if (nanp) return { kind: 'number', e164: `+1${nanp[1]}` as E164 };
  const parsed = parsePhoneNumberFromString(text, country as CountryCode);
  if (!parsed || !parsed.isPossible()) return { kind: 'invalid', why: 'caller number has no possible length for its country' };
  if (/^0+$/.test(parsed.nationalNumber)) return { kind: 'anonymous', why: 'caller number is all zeros' };
  // E.164 has at most 15 digits, and the form kept must read back as itself: a national form the country
  // allows may not (`0000008` in AU, `1000000` in CA). Text already in that form needs no second parse.
  if (!E164_FORM.test(parsed.number) || (compact !== parsed.number && !readsBackAs(parsed.number))) {
    return { kind: 'invalid', why: 'caller number has no E.164 form' };
  }
  return { kind: 'number', e164: parsed.number as E164 };
}

function readsBackAs(e164: string): boolean {
  const again = parsePhoneNumberFromString(e164);
  return !!again && again.isPossible() && again.number === e164;
}

const countries = new Map<string, string | undefined>();

/** The country a number belongs to (+1 is shared by many): only the international category asks. */
export function countryOf(e164: E164): string | undefined {
  if (countries.has(e164)) return countries.get(e164);
  const country = parsePhoneNumberFromString(e164)?.country;
  if (countries.size >= CACHE_LIMIT) countries.clear();
  countries.set(e164, country);
  return country;
}

/** An operator-typed number (DID, forward target): must be a real number or it is refused. */
export function requireNumber(text: string, country: string, what: string): E164 {
  const identity = normalizeNumber(text, country);
  if (identity.kind !== 'number') {
    throw new BadInput(`bad ${what} "${text}": expected a phone number such as +14045551234 or 404-555-1234`);
  }
  return identity.e164;
}
