// A replay reads a page's outbound calls at once (agent/store/outbound-calls-read-ahead.ts):
// each (tenant, number) over the span its calls asked about, and answers only inside it.
import { describe, expect, it } from 'vitest';
import type { E164 } from '../agent/engine/types';
import { OutboundCallsReadAhead } from '../agent/store/outbound-calls-read-ahead';

const NUMBER = '+14045550100' as E164;

describe('outbound calls read ahead', () => {
  it('asks for each pair once, over the widest span its lookups cover', () => {
    const ahead = new OutboundCallsReadAhead([
      { tenant: 'acme', number: NUMBER, since: 100, now: 200 },
      { tenant: 'acme', number: NUMBER, since: 50, now: 150 },
      { tenant: 'globex', number: NUMBER, since: 100, now: 300 },
    ]);
    expect(ahead.asked.map(({ tenant, number, since, now }) => ({ tenant, number, since, now }))).toEqual([
      { tenant: 'acme', number: NUMBER, since: 50, now: 200 },
      { tenant: 'globex', number: NUMBER, since: 100, now: 300 },
    ]);
  });

  it('answers the newest call inside a lookup, null for none, and nothing outside what was read', () => {
    const ahead = new OutboundCallsReadAhead([{ tenant: 'acme', number: NUMBER, since: 50, now: 200 }]);
    for (const at of [60, 180, 120]) ahead.add('acme', NUMBER, at);
    expect(ahead.newest('acme', NUMBER, 50, 200)).toBe(180);
    expect(ahead.newest('acme', NUMBER, 50, 170)).toBe(120);
    expect(ahead.newest('acme', NUMBER, 130, 170)).toBeNull();
    // Not read: another tenant, another number, or a span reaching past the one read.
    expect(ahead.newest('globex', NUMBER, 50, 200)).toBeUndefined();
    expect(ahead.newest('acme', '+14045550101' as E164, 50, 200)).toBeUndefined();
    expect(ahead.newest('acme', NUMBER, 40, 200)).toBeUndefined();
    expect(ahead.newest('acme', NUMBER, 50, 201)).toBeUndefined();
  });
});
