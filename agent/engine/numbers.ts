import { getCountries, getCountryCallingCode, isSupportedCountry, parsePhoneNumberFromString } from 'libphonenumber-js/min';
import type { CountryCode } from 'libphonenumber-js/min';
import { BadInput } from './bad-input';
import type { CallerIdentity, E164 } from './types';

/** Caller IDs longer than this are not numbers; they are not even handed to the parser. */
const MAX_NUMBER_TEXT = 64;

/**
 * The words and numbers that mean "no caller ID" (config `anonymous`, checked where the
 * config is read). A word may come with `caller id`/`number` before it or `number`,
 * `caller (id)`, `id` after it, in any case, spaces, `-` or `_` between its parts.
 * All-zero numbers of any length, national or after a country code, always count.
 */
export interface AnonymousSettings {
  readonly words: readonly string[];
  readonly numbers: readonly string[];
}

export const DEFAULT_ANONYMOUS: AnonymousSettings = {
  words: ['anonymous', 'restricted', 'private', 'unavailable', 'unknown', 'withheld', 'international', 'out of area', 'not available', 'blocked'],
  numbers: [],
};

/** A word of the list: letters, digits, spaces, `-`, `_` and `.`, up to 40; a number: digits and the separators people write, up to 24. */
export const ANONYMOUS_WORD = /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,39}$/;
export const ANONYMOUS_NUMBER = /^\+?[\d\s().\-\/]{1,24}$/;

/** The settings made ready for matching; `key` tells apart the caches of different settings. */
export interface AnonymousCallerIds {
  readonly key: string;
  readonly words: RegExp;
  /** Configured numbers, each as its digits (with `+` when given) and as E.164 in the country it was made for. */
  readonly numbers: ReadonlySet<string>;
}

const compiled = new Map<string, AnonymousCallerIds>();
/** Every settings made gets its own cache key, kept in `compiled` or not. */
let madeCount = 0;

function wordPattern(words: readonly string[]): RegExp {
  const alternatives = words
    .filter((word) => ANONYMOUS_WORD.test(word))
    .map((word) => word.trim().split(/[\s_-]+/).map((part) => part.replace(/[.]/g, '\\.')).join('[\\s_-]*'));
  if (alternatives.length === 0) return /(?!)/;
  return new RegExp(`^(?:(?:caller[\\s_-]*id|number)[\\s_-]+)?(?:${alternatives.join('|')})(?:[\\s_-]+(?:number|caller(?:[\\s_-]*id)?|id))?$`, 'i');
}

/** The anonymous settings for numbers read in `country`: made once per distinct settings. */
export function anonymousCallerIds(settings: AnonymousSettings, country: string): AnonymousCallerIds {
  // The numbers alone depend on the country they are read in.
  const key = JSON.stringify([settings.numbers.length > 0 ? country : '', settings.words, settings.numbers]);
  const known = compiled.get(key);
  if (known) return known;
  const numbers = new Set<string>();
  for (const entry of settings.numbers) {
    if (!ANONYMOUS_NUMBER.test(entry)) continue;
    numbers.add(entry.replace(SEPARATORS, ''));
    const identity = readNumber(entry, country, DEFAULT_CALLER_IDS);
    if (identity.kind === 'number') numbers.add(identity.e164);
  }
  const made = { key: String(++madeCount), words: wordPattern(settings.words), numbers };
  if (compiled.size < 1000) compiled.set(key, made);
  return made;
}
/** After the URI parts are gone, a number is digits and the separators people write. */
const NUMBER_TEXT = /^\+?[\d\s().\-\/]+$/;
const ALL_ZERO = /^\+?[0\s().\-\/]+$/;
/** Zeros after `+` or `00` and a country calling code (`+44 0000`, `+1 000`): all zeros as well. */
const ZEROS_AFTER_CODE = /^(?:\+|00)(\d{1,3}?)0+$/;
let callingCodes: Set<string> | undefined;

function zerosAfterCallingCode(compact: string): boolean {
  const match = ZEROS_AFTER_CODE.exec(compact);
  if (!match) return false;
  callingCodes ??= new Set(getCountries().map((country) => getCountryCallingCode(country)));
  // The shortest code that is one: `+10000` is +1 then zeros.
  const digits = compact.replace(/^(?:\+|00)/, '');
  for (let length = 1; length <= 3 && length < digits.length; length++) {
    if (callingCodes.has(digits.slice(0, length)) && /^0+$/.test(digits.slice(length))) return true;
  }
  return false;
}
const SEPARATORS = /[\s().\-\/]/g;
/** A NANP number in its everyday forms: area code and exchange both start 2-9. */
const NANP = /^(?:\+?1)?([2-9]\d{2}[2-9]\d{6})$/;
const E164_FORM = /^\+[1-9]\d{1,14}$/;

/** The built-in words and no numbers: what a caller ID means when nothing is configured. */
export const DEFAULT_CALLER_IDS: AnonymousCallerIds = anonymousCallerIds(DEFAULT_ANONYMOUS, 'US');

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
export function normalizeNumber(raw: string, country: string, anonymous: AnonymousCallerIds = DEFAULT_CALLER_IDS): CallerIdentity {
  const cacheKey = anonymous.key + '|' + country + '|' + raw;
  const hit = cache.get(cacheKey);
  if (hit) return hit;
  const identity = readNumber(raw, country, anonymous);
  if (cache.size >= CACHE_LIMIT) cache.clear();
  if (raw.length <= MAX_NUMBER_TEXT) cache.set(cacheKey, identity);
  return identity;
}

/** The same without the memory: for imports, where every number is new. */
export function readNumber(raw: string, country: string, anonymous: AnonymousCallerIds = DEFAULT_CALLER_IDS): CallerIdentity {
  if (typeof raw !== 'string') return { kind: 'invalid', why: 'caller ID is not text' };
  if (raw.length > MAX_NUMBER_TEXT) return { kind: 'invalid', why: `caller ID is ${raw.length} characters long` };
  const text = stripUri(raw);
  if (text === '') return { kind: 'anonymous', why: 'no caller number' };
  if (anonymous.words.test(text)) return { kind: 'anonymous', why: `caller ID says "${text}"` };
  if (!NUMBER_TEXT.test(text)) return { kind: 'invalid', why: 'caller ID is not a phone number' };
  if (ALL_ZERO.test(text)) return { kind: 'anonymous', why: 'caller number is all zeros' };
  const compact = text.replace(SEPARATORS, '');
  if (zerosAfterCallingCode(compact)) return { kind: 'anonymous', why: 'caller number is all zeros after the country code' };
  const withheld = { kind: 'anonymous', why: `caller number ${compact} is set as withheld (anonymous.numbers)` } as const;
  if (anonymous.numbers.has(compact)) return withheld;
  // Fast path for the commonest shape; everything else is libphonenumber's to judge.
  const nanp = (compact.startsWith('+1') || callingCodeOf(country) === '1') && NANP.exec(compact);
  if (nanp) return anonymous.numbers.has(`+1${nanp[1]}`) ? withheld : { kind: 'number', e164: `+1${nanp[1]}` as E164 };
  const parsed = parsePhoneNumberFromString(text, country as CountryCode);
  if (!parsed || !parsed.isPossible()) return { kind: 'invalid', why: 'caller number has no possible length for its country' };
  if (/^0+$/.test(parsed.nationalNumber)) return { kind: 'anonymous', why: 'caller number is all zeros' };
  // E.164 has at most 15 digits, and the form kept must read back as itself: a national form the country
  // allows may not (`0000008` in AU, `1000000` in CA). Text already in that form needs no second parse.
  if (!E164_FORM.test(parsed.number) || (compact !== parsed.number && !readsBackAs(parsed.number))) {
    return { kind: 'invalid', why: 'caller number has no E.164 form' };
  }
  if (anonymous.numbers.has(parsed.number)) return withheld;
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
