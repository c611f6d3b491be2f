import { describe, expect, it } from 'vitest';
import { BadInput } from '../agent/engine/bad-input';
import { coveringNetworkKeys } from '../agent/engine/ip';
import { parsePattern, parsePatternList } from '../agent/engine/patterns';
import { sipKeys } from '../agent/engine/sip';

const key = (text: string, country = 'US') => {
  const spec = parsePattern(text, country);
  return `${spec.kind} ${spec.key}${spec.exact ? ' exact' : ''}${spec.span !== null ? ` /${spec.span}` : ''}`;
};

describe('rule patterns', () => {
  it.each([
    ['404-555-1234', 'number +14045551234 exact'],
    ['+14045551234', 'number +14045551234 exact'],
    ['(404) 555-1234', 'number +14045551234 exact'],
    ['404', 'prefix +1404 /4'],
    ['404-555', 'prefix +1404555 /7'],
    ['+1 312*', 'prefix +1312 /4'],
    ['1312*', 'prefix +1312 /4'],
    ['312*', 'prefix +1312 /4'],
    ['+44 20*', 'prefix +4420 /4'],
    ['anonymous', 'anonymous anonymous'],
    ['+1 000 000 0000', 'anonymous anonymous'],
    ['203.0.113.7', 'ip ip4:203.0.113.7/32 exact'],
    ['203.0.113.0/24', 'ip ip4:203.0.113.0/24 /24'],
    ['203.0.113.99/24', 'ip ip4:203.0.113.0/24 /24'],
    ['2001:db8::1', 'ip ip6:2001:db8::1/128 exact'],
    ['2001:DB8:0:0::/32', 'ip ip6:2001:db8::/32 /32'],
    ['user@Example.COM', 'sip sip:user@example.com exact'],
    ['sip:user@example.com;transport=tcp', 'sip sip:user@example.com exact'],
    ['*@example.com', 'sip sipdomain:example.com'],
  ])('%s → %s', (text, expected) => {
    expect(key(text)).toBe(expected);
  });

  it('reads national prefixes of other countries', () => {
    expect(key('020*', 'GB')).toBe('prefix +4420 /4');
    expect(key('0044 20*', 'US')).toBe('prefix +4420 /4');
  });

  it.each(['foo', '', '*', '404*5', '10.0.0.0/33', '300.1.1.1', '12345', '+1 404 555 12345 6789 0*', 'a b@c', '@example.com', 'user@bad host'])(
    'refuses %j with a message',
    (text) => {
      expect(() => parsePattern(text, 'US')).toThrow(BadInput);
    },
  );

  it('splits comma-separated patterns, refusing all if one is bad', () => {
    expect(parsePatternList('702-500-4000, 212-900-8000, 217*, 224*', 'US').map((spec) => spec.key)).toEqual([
      '+17025004000',
      '+12129008000',
      '+1217',
      '+1224',
    ]);
    expect(() => parsePatternList('702-500-4000, nonsense, 217*', 'US')).toThrow(/nonsense/);
  });
});

describe('caller candidate keys', () => {
  it('lists the covering networks of the sizes asked for, v4 and v6', () => {
    expect(coveringNetworkKeys('203.0.113.77', [8, 24, 32])).toEqual(['ip4:203.0.0.0/8', 'ip4:203.0.113.0/24', 'ip4:203.0.113.77/32']);
    expect(coveringNetworkKeys('2001:db8:1:2::5', [32, 64, 128])).toEqual([
      'ip6:2001:db8::/32',
      'ip6:2001:db8:1:2::/64',
      'ip6:2001:db8:1:2::5/128',
    ]);
    expect(coveringNetworkKeys('::ffff:203.0.113.77', [24])).toEqual(['ip4:203.0.113.0/24']);
    expect(coveringNetworkKeys('not an address', [24])).toEqual([]);
  });

  it('reads the From URI and its domain from a SIP header value', () => {
    expect(sipKeys('"Bob" <sip:bob@Spam.Example:5060;tag=abc>')).toEqual(['sip:bob@spam.example', 'sipdomain:spam.example']);
    expect(sipKeys('garbage')).toEqual([]);
  });
});
