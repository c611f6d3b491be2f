import { BadInput } from './bad-input';
import { looksLikeIp, parseIpPattern } from './ip';
import { callingCodeOf, readNumber, stripUri } from './numbers';
import { parseSipPattern } from './sip';
import type { MatchKind } from './types';

/** A rule's match, as stored: the kind, the lookup key, and how specific it is. */
export interface MatchSpec {
  readonly kind: MatchKind;
  readonly key: string;
  /** What the operator wrote, trimmed. */
  readonly pattern: string;
  /** An exact number, address or URI: beats every pattern in its scope. */
  readonly exact: boolean;
  /** Prefix digits or CIDR bits, for "longer beats shorter". */
  readonly span: number | null;
}

const PATTERN_HELP =
  'expected a number (404-555-1234, +14045551234), a prefix (404, 404-555, +1 312*, +44 20*), anonymous, an IP or CIDR (203.0.113.0/24) or a SIP URI (user@example.com, *@example.com)';
/** The separators people write, `/` too (`089/1234567`), as the caller-ID reader takes them. */
const NUMBERISH = /^\+?[\d\s().\-\/]+\*?$/;
const MAX_PREFIX_DIGITS = 15;

export function parsePattern(text: string, country: string): MatchSpec {
  const pattern = text.trim();
  if (pattern === '') throw new BadInput(`empty pattern: ${PATTERN_HELP}`);
  if (/^anonymous$/i.test(pattern)) return { kind: 'anonymous', key: 'anonymous', pattern, exact: false, span: null };
  if (pattern.includes('@')) {
    const sip = parseSipPattern(pattern);
    return { kind: 'sip', key: sip.key, pattern, exact: sip.exact, span: null };
  }
  if (looksLikeIp(pattern)) {
    const net = parseIpPattern(pattern);
    return { kind: 'ip', key: net.key, pattern, exact: net.exact, span: net.exact ? null : net.bits };
  }
  const numberText = stripUri(pattern);
  if (!NUMBERISH.test(numberText)) throw new BadInput(`bad pattern "${pattern}": ${PATTERN_HELP}`);
  if (!numberText.endsWith('*') && readNumber(numberText, country).kind === 'anonymous') {
    // The all-zero number is how many carriers present a withheld caller.
    return { kind: 'anonymous', key: 'anonymous', pattern, exact: false, span: null };
  }
  const prefix = prefixKey(numberText, country);
  if (prefix) return { kind: 'prefix', key: prefix, pattern, exact: false, span: prefix.length - 1 };
  const identity = readNumber(numberText, country);
  if (identity.kind !== 'number') throw new BadInput(`bad pattern "${pattern}": not a complete phone number; ${PATTERN_HELP}`);
  return { kind: 'number', key: identity.e164, pattern, exact: true, span: null };
}

/** `404`, `404-555` (NANP shorthands), or anything ending in `*` → `+` and the leading digits. */
function prefixKey(text: string, country: string): string | null {
  const wildcard = text.endsWith('*');
  const international = text.startsWith('+');
  const digits = text.replace(/\D/g, '');
  const code = callingCodeOf(country);
  if (!wildcard) {
    const shorthand = code === '1' && !international && (digits.length === 3 || digits.length === 6) && /^[2-9]/.test(digits);
    return shorthand ? `+1${digits}` : null;
  }
  if (digits === '') throw new BadInput(`bad prefix "${text}": a prefix needs at least one digit before *`);
  let full: string;
  if (international) full = digits;
  else if (digits.startsWith('00')) full = digits.slice(2);
  else if (code === '1') full = digits.startsWith('1') ? digits : `1${digits}`;
  else full = code + digits.replace(/^0/, '');
  // `00*` is the international access code alone: as `+` it would match every caller.
  if (full === '') throw new BadInput(`bad prefix "${text}": a prefix needs at least one digit after the international code`);
  if (full.length > MAX_PREFIX_DIGITS) throw new BadInput(`bad prefix "${text}": longer than a phone number`);
  return `+${full}`;
}

/** `"702-500-4000, 212-900-8000, 217*"` → one spec each; any bad one refuses them all. */
export function parsePatternList(text: string, country: string): MatchSpec[] {
  const parts = text.split(',').map((part) => part.trim());
  if (parts.every((part) => part === '')) throw new BadInput(`no pattern given: ${PATTERN_HELP}`);
  const specs = parts.filter((part) => part !== '').map((part) => parsePattern(part, country));
  // Two spellings of one number are one rule; the last spelling is kept, as a re-add would.
  return specs.filter((spec, i) => !specs.slice(i + 1).some((other) => other.kind === spec.kind && other.key === spec.key));
}
