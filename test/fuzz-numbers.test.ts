// Property tests (fast-check, seeded): caller-ID normalisation and rule-pattern parsing
// never throw on anything a caller or an operator can type, and what they accept
// round-trips: a normalised number normalises to itself in every spelling, a parsed
// pattern parses again to the same rule key, and a rule written for a number matches it.
// CALLGUARD_FUZZ_SEED / CALLGUARD_FUZZ_SCALE replay or lengthen a run.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BadInput } from '../agent/engine/bad-input';
import { candidateKeys } from '../agent/engine/candidate-keys';
import { coveringNetworkKeys } from '../agent/engine/ip';
import { normalizeNumber, readNumber } from '../agent/engine/numbers';
import { parsePattern, parsePatternList } from '../agent/engine/patterns';
import type { MatchSpec } from '../agent/engine/patterns';
import { sipKeys } from '../agent/engine/sip';
import type { E164 } from '../agent/engine/types';

const SEED = Number(process.env.CALLGUARD_FUZZ_SEED ?? 20_251_121);
const SCALE = Number(process.env.CALLGUARD_FUZZ_SCALE ?? 1);
const runs = (n: number) => ({ seed: SEED, numRuns: Math.max(1, Math.round(n * SCALE)) });

const COUNTRIES = ['US', 'CA', 'GB', 'DE', 'FR', 'IN', 'AU', 'BR', 'JP', 'CH'];
const E164_SHAPE = /^\+[1-9]\d{1,14}$/;

const country = fc.constantFrom(...COUNTRIES);
/** Any text at all: UTF-16 units (lone surrogates included), graphemes, control characters. */
const anyText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: fc.constantFrom('\u0000', '\n', '\r', '\t', '%', '$', '{', '}', '<', '>', '@', ';', '*', '+', '/', ' '), maxLength: 20 }),
);
const digits = (min: number, max: number) => fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: min, maxLength: max });
/** Text shaped like a phone number as people and PBXes write it: separators, prefixes, URI wrappers. */
const numberish = fc
  .tuple(
    fc.constantFrom('', '+', '+1', '1', '00', '011', '0', '+44 ', '+49', '(', '1-'),
    fc.array(fc.tuple(digits(1, 4), fc.constantFrom('', ' ', '-', '.', ') ', '/', '(')), { minLength: 1, maxLength: 5 }),
    fc.constantFrom('', '*'),
    fc.constantFrom(['', ''], ['sip:', '@example.com'], ['tel:', ''], ['<sip:', '@h;user=phone>'], ['"Bob" <sips:', '@10.0.0.1:5060>'], [' ', ' ']),
  )
  .map(([lead, parts, star, [before, after]]) => `${before}${lead}${parts.map(([d, sep]) => d + sep).join('')}${star}${after}`);
/** A plausible caller: a real-looking NANP or international number in E.164. */
const e164 = fc.oneof(
  fc.tuple(fc.integer({ min: 2, max: 9 }), digits(2, 2), fc.integer({ min: 2, max: 9 }), digits(6, 6)).map(([a, b, c, d]) => `+1${a}${b}${c}${d}`),
  fc.tuple(fc.constantFrom('44', '49', '33', '91', '61', '55', '81', '41', '7', '86'), fc.integer({ min: 1, max: 9 }), digits(6, 10)).map(([cc, first, rest]) => `+${cc}${first}${rest}`),
);

/** Runs `work`, which may throw BadInput and nothing else. */
function acceptsOrRefuses<T>(work: () => T): T | BadInput {
  try {
    return work();
  } catch (error) {
    if (error instanceof BadInput) return error;
    throw error;
  }
}

describe('number normalisation (any caller ID the far end signals)', () => {
  it('never throws, and answers number, anonymous or invalid', () => {
    fc.assert(
      fc.property(fc.oneof(anyText, numberish), country, (raw, cc) => {
        const identity = normalizeNumber(raw, cc);
        expect(['number', 'anonymous', 'invalid']).toContain(identity.kind);
        if (identity.kind === 'number') expect(identity.e164).toMatch(E164_SHAPE);
        else expect(typeof identity.why).toBe('string');
        expect(readNumber(raw, cc)).toEqual(identity);
      }),
      runs(3000),
    );
  });

  it('round-trips what it accepts: the E.164 form, in any URI wrapping and from any default country, is the same number', () => {
    fc.assert(
      fc.property(fc.oneof(numberish, e164), country, country, (raw, cc, other) => {
        const identity = normalizeNumber(raw, cc);
        if (identity.kind !== 'number') return;
        const number = identity.e164;
        for (const spelling of [number, `sip:${number}@pbx.example`, `tel:${number}`, `<sip:${number}@10.0.0.1;user=phone>`, ` ${number} `]) {
          expect(normalizeNumber(spelling, cc), spelling).toEqual({ kind: 'number', e164: number });
          expect(normalizeNumber(spelling, other), `${spelling} from ${other}`).toEqual({ kind: 'number', e164: number });
        }
      }),
      runs(2000),
    );
  });

  it('reads every everyday spelling of a NANP number as the same E.164 number', () => {
    fc.assert(
      fc.property(fc.integer({ min: 200, max: 999 }), fc.integer({ min: 200, max: 999 }), digits(4, 4), (area, exchange, line) => {
        const want = { kind: 'number', e164: `+1${area}${exchange}${line}` };
        for (const spelling of [`${area}${exchange}${line}`, `1${area}${exchange}${line}`, `${area}-${exchange}-${line}`, `(${area}) ${exchange}-${line}`, `+1 ${area} ${exchange} ${line}`, `sip:+1${area}${exchange}${line}@host`, `tel:+1${area}${exchange}${line}`]) {
          expect(normalizeNumber(spelling, 'US'), spelling).toEqual(want);
        }
      }),
      runs(500),
    );
  });
});

/** The canonical text of a stored key, which must parse back to that very key. */
function canonical(spec: MatchSpec): string {
  switch (spec.kind) {
    case 'number':
      return spec.key;
    case 'prefix':
      return `${spec.key}*`;
    case 'anonymous':
      return 'anonymous';
    case 'ip':
      return spec.key.replace(/^ip[46]:/, '');
    case 'sip':
      return spec.key.startsWith('sipdomain:') ? `*@${spec.key.slice('sipdomain:'.length)}` : spec.key.replace(/^sip:/, '');
    case 'name':
    case 'name_word':
      throw new Error('parsePattern never makes a caller-name rule');
  }
}

const ipText = fc.oneof(
  fc.tuple(fc.ipV4(), fc.option(fc.integer({ min: 0, max: 32 }), { nil: undefined })).map(([ip, bits]) => (bits === undefined ? ip : `${ip}/${bits}`)),
  fc.tuple(fc.ipV6(), fc.option(fc.integer({ min: 0, max: 128 }), { nil: undefined })).map(([ip, bits]) => (bits === undefined ? ip : `${ip}/${bits}`)),
  fc.stringMatching(/^[0-9a-f:.\/]{3,30}$/),
);
const sipText = fc.oneof(
  fc.tuple(fc.oneof(fc.constant('*'), fc.stringMatching(/^[a-z0-9+._-]{1,12}$/), anyText), fc.domain()).map(([user, host]) => `${user}@${host}`),
  fc.tuple(anyText, anyText).map(([user, host]) => `${user}@${host}`),
);
const patternText = fc.oneof(numberish, e164, ipText, sipText, anyText, fc.constantFrom('anonymous', 'ANONYMOUS', '+1 000 000 0000', '*', '+*', '404', '404-555', '+44 20*'));

describe('pattern parsing (anything an operator types or imports)', () => {
  it('either accepts a pattern or refuses it with BadInput; nothing else escapes', () => {
    fc.assert(
      fc.property(patternText, country, (text, cc) => {
        const result = acceptsOrRefuses(() => parsePattern(text, cc));
        if (result instanceof BadInput) expect(result.message.length).toBeGreaterThan(0);
        else expect(['number', 'prefix', 'anonymous', 'ip', 'sip']).toContain(result.kind);
      }),
      runs(3000),
    );
  });

  it('round-trips what it accepts: the written pattern and the canonical key text both parse to the same key', () => {
    fc.assert(
      fc.property(patternText, country, (text, cc) => {
        const spec = acceptsOrRefuses(() => parsePattern(text, cc));
        if (spec instanceof BadInput) return;
        expect(parsePattern(spec.pattern, cc)).toEqual(spec);
        const again = parsePattern(canonical(spec), cc);
        expect({ kind: again.kind, key: again.key, exact: again.exact, span: again.span }, canonical(spec)).toEqual({ kind: spec.kind, key: spec.key, exact: spec.exact, span: spec.span });
        if (spec.kind === 'number' || spec.kind === 'prefix') expect(spec.key).toMatch(/^\+\d{1,15}$/);
      }),
      runs(3000),
    );
  });

  it('a rule written for a caller matches that caller: number, prefix, address and SIP keys line up with the lookup keys', () => {
    fc.assert(
      fc.property(fc.oneof(numberish, e164), country, fc.integer({ min: 1, max: 12 }), (text, cc, cut) => {
        const caller = normalizeNumber(text, cc);
        if (caller.kind !== 'number') return;
        // A pattern with `@` is a SIP pattern by design; every other spelling the caller ID had is a rule for that number.
        const exact = acceptsOrRefuses(() => parsePattern(text, cc));
        if (!text.includes('@') && !text.trim().endsWith('*')) expect(exact, text).toMatchObject({ kind: 'number', key: caller.e164 });
        const prefix = parsePattern(`${caller.e164.slice(0, 1 + Math.min(cut, caller.e164.length - 1))}*`, cc);
        const shape = { prefixLengths: [prefix.key.length], networkBits: [], hasSip: false, hasAnonymous: false };
        expect(candidateKeys({ number: caller.e164 as E164, anonymous: false, ip: undefined, sipFrom: undefined }, shape)).toContain(prefix.key);
      }),
      runs(1500),
    );
    fc.assert(
      fc.property(ipText, (text) => {
        const spec = acceptsOrRefuses(() => parsePattern(text, 'US'));
        if (spec instanceof BadInput || spec.kind !== 'ip') return;
        const address = text.split('/')[0]!;
        // An IPv6 network wider than the IPv4-mapped range holds no caller read as IPv4: nothing to line up.
        if (spec.key.startsWith('ip6:') && coveringNetworkKeys(address, [32])[0]?.startsWith('ip4:')) return;
        expect(coveringNetworkKeys(address, [spec.span ?? (spec.key.startsWith('ip4:') ? 32 : 128), 32, 128])).toContain(spec.key);
      }),
      runs(1000),
    );
    fc.assert(
      fc.property(sipText, (text) => {
        const spec = acceptsOrRefuses(() => parsePattern(text, 'US'));
        if (spec instanceof BadInput || spec.kind !== 'sip') return;
        const from = `sip:${spec.pattern.replace(/^\*@/, 'anyone@')}`;
        expect(sipKeys(from)).toContain(spec.key);
      }),
      runs(1000),
    );
  });

  it('a comma-separated list is all accepted or refused as a whole, one spec per distinct pattern', () => {
    fc.assert(
      fc.property(fc.array(patternText.filter((text) => !text.includes(',')), { minLength: 1, maxLength: 5 }), country, (parts, cc) => {
        const list = acceptsOrRefuses(() => parsePatternList(parts.join(','), cc));
        const each = parts.filter((part) => part.trim() !== '').map((part) => acceptsOrRefuses(() => parsePattern(part, cc)));
        if (list instanceof BadInput) {
          expect(each.length === 0 || each.some((spec) => spec instanceof BadInput)).toBe(true);
        } else {
          expect(each.every((spec) => !(spec instanceof BadInput))).toBe(true);
          expect(new Set(list.map((spec) => `${spec.kind}|${spec.key}`)).size).toBe(list.length);
          expect(new Set(list.map((spec) => `${spec.kind}|${spec.key}`))).toEqual(new Set((each as MatchSpec[]).map((spec) => `${spec.kind}|${spec.key}`)));
        }
      }),
      runs(1000),
    );
  });
});

describe('what these properties found (kept as plain examples)', () => {
  it('a prefix of the international code alone is refused: as `+` it matched every caller', () => {
    for (const text of ['00*', '00 *', '+*']) expect(() => parsePattern(text, 'US'), text).toThrow(BadInput);
    expect(parsePattern('0044 20*', 'US')).toMatchObject({ kind: 'prefix', key: '+4420' });
  });

  it('a caller number is E.164 only if it has at most 15 digits and reads back as itself', () => {
    expect(normalizeNumber('90000000000000', 'DE').kind).toBe('invalid');
    expect(normalizeNumber('0000008', 'AU').kind).toBe('invalid');
    expect(normalizeNumber('0000002', 'CA').kind).toBe('invalid');
    expect(normalizeNumber('1000000', 'CA').kind).toBe('invalid'); // a local form with no area code has no E.164 form
    expect(normalizeNumber('+44 20 7946 0000', 'US')).toEqual({ kind: 'number', e164: '+442079460000' });
    expect(normalizeNumber('0039 06 1234 5678', 'GB')).toEqual({ kind: 'number', e164: '+390612345678' });
  });

  it('an IPv4-mapped IPv6 network is keyed as the IPv4 network the caller addresses are read as', () => {
    const spec = parsePattern('::ffff:203.0.113.0/120', 'US');
    expect(spec).toMatchObject({ kind: 'ip', key: 'ip4:203.0.113.0/24', span: 24 });
    expect(coveringNetworkKeys('::ffff:203.0.113.7', [24])).toContain(spec.key);
  });

  it('a number written with slashes is a rule as it is a caller ID', () => {
    expect(normalizeNumber('404/555-1234', 'US')).toEqual({ kind: 'number', e164: '+14045551234' });
    expect(parsePattern('404/555-1234', 'US')).toMatchObject({ kind: 'number', key: '+14045551234' });
  });
});
