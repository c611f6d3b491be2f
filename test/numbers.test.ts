import { describe, expect, it } from 'vitest';
import { parseAttestation } from '../agent/engine/attestation';
import { normalizeNumber } from '../agent/engine/numbers';

describe('caller number normalisation', () => {
  it.each([
    '+14045551234',
    '14045551234',
    '4045551234',
    '404-555-1234',
    '(404) 555-1234',
    '+1 404 555 1234',
    'sip:+14045551234@host',
    'tel:+14045551234',
    '<sip:+14045551234@10.0.0.1:5060;user=phone>',
    '"Alice" <sip:4045551234@pbx.example>',
    '404.555.1234',
  ])('reads %s as +14045551234', (text) => {
    expect(normalizeNumber(text, 'US')).toEqual({ kind: 'number', e164: '+14045551234' });
  });

  it('uses the default country for national forms', () => {
    expect(normalizeNumber('020 7946 0000', 'GB')).toMatchObject({ kind: 'number', e164: '+442079460000' });
    expect(normalizeNumber('+442079460000', 'US')).toMatchObject({ kind: 'number', e164: '+442079460000' });
  });

  it.each(['', '   ', 'anonymous', 'Anonymous', 'RESTRICTED', 'private', 'Unavailable', 'unknown', 'Withheld', 'Private Number', '0000000000', '+1 000 000 0000', '+00000', 'sip:anonymous@anonymous.invalid'])(
    'treats %j as anonymous',
    (text) => {
      expect(normalizeNumber(text, 'US').kind).toBe('anonymous');
    },
  );

  it.each([
    "'; DROP TABLE rules; --",
    '404555123',
    'abc',
    '4045551234 or 1=1',
    '\u0000\u001b[2J4045551234',
    '😀4045551234',
    'x'.repeat(10_000),
    '1'.repeat(40),
  ])('treats %j as invalid without throwing', (text) => {
    expect(normalizeNumber(text, 'US').kind).toBe('invalid');
  });
});

describe('attestation', () => {
  it.each([
    ['A', 'A'],
    ['b', 'B'],
    ['C', 'C'],
    ['failed', 'failed'],
    ['TN-Validation-Failed', 'failed'],
    ['<sip:+14045551234@carrier.example;verstat=TN-Validation-Passed-A>', 'A'],
    ['sip:+1404@x;verstat=TN-Validation-Passed', 'B'],
    ['No-TN-Validation', 'none'],
    ['', 'none'],
    [undefined, 'none'],
  ] as const)('%j → %s', (input, expected) => {
    expect(parseAttestation(input)).toBe(expected);
  });
});
