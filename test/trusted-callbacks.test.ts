// Trusted callbacks (issue 16, item 3) on both stores, through the operations every face
// calls and the engine as explain runs it (on SQLite the file, on PostgreSQL the fleet's
// reads): a number a tenant's users called within its window skips categories and
// protection, passes allow-only mode, and never a number or name rule; the window is per
// tenant (30 days when unset, or off); outbound calls are recorded for the right tenant
// with the dialled number in E.164, bad input is refused naming its field with nothing
// written, and housekeeping keeps only what some window can still reach.
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { dialledNumber, outboundCaller } from '../agent/engine/dialled-number';
import type { CallFacts, Decision } from '../agent/engine/types';
import { cliActing } from '../agent/operations/acting';
import { recordOutboundCall, trustCallbacks } from '../agent/operations/called-numbers';
import { setCategory } from '../agent/operations/categories';
import { explain } from '../agent/operations/explain';
import { setProtection } from '../agent/operations/protection';
import { addRules } from '../agent/operations/rules';
import type { Backends } from '../agent/operations/store-backends';
import { addDid, addTenant, setAllowOnly } from '../agent/operations/tenants';
import { ReputationClient } from '../agent/screening/reputation';
import { loggedCallPages } from '../agent/replay/logged-call-pages';
import { NO_CHANGE } from '../agent/replay/proposal';
import { replay } from '../agent/replay/replay';
import type { Replayed } from '../agent/replay/replay';
import { operationStores, refusal } from './helpers/operation-stores';
import type { OperationStore } from './helpers/operation-stores';

const COUNTRY = 'US';
const ADMIN = cliActing('cli:tester');
const ACME_MAIN = '+14045550100';
const GLOBEX_DID = '+13125550100';
/** Dialled in 10 digits, calling back in 11: the same number. */
const DIALLED = '4045551234';
const CALLING_BACK = '14045551234';
const DAY = 86_400_000;
const T0 = Date.parse('2026-11-02T15:00:00Z');
const iso = (at: number) => new Date(at).toISOString();
const callbackReason = (at: number, tenant = 'acme') => `You called this number on ${iso(at)} (tenant ${tenant}); a callback skips categories and protection.`;

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const STORES = operationStores(cleanups);

describe.each(STORES)('trusted callbacks on %s', (_name, open) => {
  let store: OperationStore;
  let backends: Backends;
  const reputation = new ReputationClient();
  /** What explain decides for a call (or text) from `from` to `to` at `at`. */
  const decided = (from: string, at: number, options: { to?: string; sms?: boolean; name?: string } = {}): Promise<Decision> =>
    explain(backends.decideCall, ADMIN, { from, to: options.to ?? ACME_MAIN, sms: options.sms, name: options.name, at: iso(at) }, COUNTRY, reputation);
  const called = (to: string, at: number, from = ACME_MAIN, tenant?: string) => recordOutboundCall(backends.outboundCalls, { from, to, tenant }, COUNTRY, at);
  const outboundRows = () => store.rows('SELECT tenant, number, caller, at FROM outbound_calls ORDER BY id');

  beforeEach(async () => {
    store = await open();
    backends = store.as('cli:tester');
    await addTenant(backends.tenants, ADMIN, 'acme');
    await addTenant(backends.tenants, ADMIN, 'globex');
    await addDid(backends.tenants, ADMIN, ACME_MAIN, 'acme', COUNTRY);
    await addDid(backends.tenants, ADMIN, GLOBEX_DID, 'globex', COUNTRY);
    // A caller from the DID's own exchange is blocked as a neighbor, were the category reached.
    await setCategory(backends, ADMIN, { category: 'neighbor', action: 'block' });
  });

  it('a callback in 11 digits from a number dialled in 10 goes through past a category, and explain says when it was called', async () => {
    expect(await decided(CALLING_BACK, T0)).toMatchObject({ action: 'block', category: 'neighbor' });
    expect(await called(DIALLED, T0)).toEqual({ tenant: 'acme', number: '+14045551234', at: T0 });
    expect(await outboundRows()).toEqual([{ tenant: 'acme', number: '+14045551234', caller: ACME_MAIN, at: T0 }]);
    const callback = await decided(CALLING_BACK, T0 + 2 * DAY);
    expect(callback).toMatchObject({ action: 'allow', scope: null, ruleId: null, category: null, categories: [], tenant: 'acme' });
    expect(callback.reasons).toEqual([
      'Caller +14045551234; number called +14045550100, tenant acme.',
      'Step 1: no number or address rule matches.',
      callbackReason(T0),
    ]);
    // Judged as things stood: a call before the outbound one was not a callback.
    expect((await decided(CALLING_BACK, T0 - 1000)).action).toBe('block');
    // The newest outbound call is the one shown.
    await called('+1 (404) 555-1234', T0 + DAY);
    expect((await decided(CALLING_BACK, T0 + 2 * DAY)).reasons.at(-1)).toBe(callbackReason(T0 + DAY));
  });

  it('skips protection too, and applies to texts', async () => {
    await setCategory(backends, ADMIN, { category: 'neighbor', action: 'allow' });
    await setProtection(backends, ADMIN, { enabled: true, threshold: 10, action: 'block' });
    expect((await decided(CALLING_BACK, T0)).action).toBe('block');
    expect((await decided(CALLING_BACK, T0, { sms: true })).action).toBe('block');
    await called(DIALLED, T0 - DAY);
    expect(await decided(CALLING_BACK, T0)).toMatchObject({ action: 'allow', score: null, signals: [] });
    const text = await decided(CALLING_BACK, T0, { sms: true });
    expect(text).toMatchObject({ kind: 'sms', action: 'allow' });
    expect(text.reasons.at(-1)).toBe(callbackReason(T0 - DAY));
  });

  it('never skips a rule: a number block rule and a caller-name block rule still block the number called', async () => {
    await called(DIALLED, T0);
    await addRules(backends.rules, ADMIN, { name: 'PEST*', action: 'block', scope: 'tenant:acme' }, COUNTRY);
    expect(await decided(CALLING_BACK, T0 + DAY, { name: 'Pest Control' })).toMatchObject({ action: 'block', scope: 'tenant:acme' });
    expect((await decided(CALLING_BACK, T0 + DAY, { name: 'Jane' })).action).toBe('allow');
    await addRules(backends.rules, ADMIN, { patterns: DIALLED, action: 'voicemail', scope: 'tenant:acme' }, COUNTRY);
    const ruled = await decided(CALLING_BACK, T0 + DAY, { name: 'Jane' });
    expect(ruled).toMatchObject({ action: 'voicemail', scope: 'tenant:acme' });
    expect(ruled.reasons.join('\n')).not.toMatch(/You called this number/);
  });

  it('passes allow-only mode, saying so; a stranger still gets the allow-only action', async () => {
    await setAllowOnly(backends.tenants, ADMIN, 'acme', 'challenge', undefined, COUNTRY);
    await called(DIALLED, T0);
    const callback = await decided(CALLING_BACK, T0 + DAY);
    expect(callback.action).toBe('allow');
    expect(callback.reasons.slice(-2)).toEqual([`Tenant acme is allow-only, but its users called this number on ${iso(T0)}: a callback passes.`, callbackReason(T0)]);
    expect((await decided('404-555-9999', T0 + DAY)).action).toBe('challenge');
    // A text: allow-only mode decides only who rings, and says so; the callback still skips the rest.
    const text = await decided(CALLING_BACK, T0 + DAY, { sms: true });
    expect(text.action).toBe('allow');
    expect(text.reasons.slice(-2)).toEqual(['Tenant acme is allow-only, which decides only who rings: texts go on to the next steps.', callbackReason(T0)]);
  });

  it('never trusts a number keyed in when asked to identify: anyone can key in any number', async () => {
    await called(DIALLED, T0);
    const keyed = await backends.decideCall({ kind: 'call', from: DIALLED, to: ACME_MAIN, identifiedFrom: 'anonymous' }, { country: COUNTRY, now: T0 + DAY }, reputation);
    expect(keyed).toMatchObject({ action: 'block', category: 'neighbor' });
    expect(keyed.reasons).toContain(`Tenant acme's users called this number on ${iso(T0)}, but the caller keyed it in: a keyed-in number is no callback.`);
    expect(keyed.reasons.join('\n')).not.toMatch(/You called this number/);
  });

  it('is per tenant: a number globex called is no callback for acme, and a DID picks the tenant', async () => {
    await called(DIALLED, T0, GLOBEX_DID);
    expect(await outboundRows()).toEqual([{ tenant: 'globex', number: '+14045551234', caller: GLOBEX_DID, at: T0 }]);
    expect((await decided(CALLING_BACK, T0 + DAY)).action).toBe('block');
    const atGlobex = await decided(CALLING_BACK, T0 + DAY, { to: GLOBEX_DID });
    expect(atGlobex.reasons.at(-1)).toBe(callbackReason(T0, 'globex'));
  });

  it('the window: 30 days when unset, per tenant or for all, off; outside it the caller is screened as usual', async () => {
    await called(DIALLED, T0);
    expect((await decided(CALLING_BACK, T0 + 30 * DAY)).action).toBe('allow');
    expect((await decided(CALLING_BACK, T0 + 30 * DAY + 1)).action).toBe('block');
    expect(await trustCallbacks(backends, ADMIN, { duration: '14d', tenant: 'acme' })).toEqual({ scope: 'tenant:acme', ms: 14 * DAY });
    expect((await decided(CALLING_BACK, T0 + 15 * DAY)).action).toBe('block');
    expect((await decided(CALLING_BACK, T0 + 13 * DAY)).action).toBe('allow');
    expect(await trustCallbacks(backends, ADMIN, { duration: 'off', tenant: 'acme' })).toEqual({ scope: 'tenant:acme', ms: 0 });
    expect((await decided(CALLING_BACK, T0 + DAY)).action).toBe('block');
    // The global setting reaches tenants without their own.
    await called(DIALLED, T0, GLOBEX_DID);
    expect(await trustCallbacks(backends, ADMIN, { duration: '60d' })).toEqual({ scope: 'global', ms: 60 * DAY });
    expect((await decided(CALLING_BACK, T0 + 45 * DAY, { to: GLOBEX_DID })).action).toBe('allow');
    expect((await decided(CALLING_BACK, T0 + DAY)).action).toBe('block');
    // Each change is audited.
    expect((await store.rows("SELECT key FROM audit WHERE entity = 'setting' ORDER BY id")).map((row) => row.key)).toEqual([
      'callback_trust:tenant:acme',
      'callback_trust:tenant:acme',
      'callback_trust:global',
    ]);
    expect(await refusal(trustCallbacks(backends, ADMIN, { duration: 'forever', tenant: 'acme' }))).toMatchObject({ field: 'duration' });
    expect(await refusal(trustCallbacks(backends, ADMIN, { duration: '14d', tenant: 'nobody' }))).toMatchObject({ field: 'tenant' });
  });

  it("the tenant: the from number's when it is a DID, else the one named, else default", async () => {
    expect((await called(DIALLED, T0, '1001', 'acme')).tenant).toBe('acme');
    expect((await called(DIALLED, T0, '1001')).tenant).toBe('default');
    expect((await called(DIALLED, T0, '+1 404 555 0100')).tenant).toBe('acme');
    expect((await called(DIALLED, T0, ACME_MAIN, 'acme')).tenant).toBe('acme');
    expect((await outboundRows()).map((row) => `${row.tenant} ${row.caller}`)).toEqual(['acme null', 'default null', `acme ${ACME_MAIN}`, `acme ${ACME_MAIN}`]);
  });

  it('refuses bad input naming the field, and writes nothing', async () => {
    const cases: [string, string, string | undefined, string][] = [
      [ACME_MAIN, '911', undefined, 'to'],
      [ACME_MAIN, '611', undefined, 'to'],
      [ACME_MAIN, 'anonymous', undefined, 'to'],
      [ACME_MAIN, '0000000000', undefined, 'to'],
      [ACME_MAIN, "4045551234'; DROP TABLE outbound_calls; --", undefined, 'to'],
      [ACME_MAIN, '<script>alert(1)</script>', undefined, 'to'],
      ['1001', '5551234', undefined, 'to'],
      ['restricted', DIALLED, undefined, 'from'],
      ['sip:${uuid}@evil', DIALLED, undefined, 'from'],
      ['1001', DIALLED, 'no such', 'tenant'],
      ['1001', DIALLED, 'nobody', 'tenant'],
      [GLOBEX_DID, DIALLED, 'acme', 'tenant'],
    ];
    for (const [from, to, tenant, field] of cases) expect(await refusal(called(to, T0, from, tenant)), `${from} → ${to} (${tenant})`).toMatchObject({ field });
    expect((await refusal(called('7', T0))).message).toBe('bad to "7": an emergency, service or short code, not a number that calls back');
    expect(await outboundRows()).toEqual([]);
  });

  it('a replay of no change gives back every logged decision: each call judged with the outbound calls as they stood at its moment', async () => {
    const script: [number, string][] = [
      [T0, 'block'],
      [T0 + 2 * 3_600_000, 'allow'],
      [T0 + 31 * DAY + 3_600_000, 'block'],
      [T0 + 32 * DAY, 'allow'],
    ];
    const outbound = [T0 + 3_600_000, T0 + 31 * DAY + 2 * 3_600_000];
    const logged: Decision[] = [];
    for (const [i, [at, expected]] of script.entries()) {
      while (outbound.length > 0 && outbound[0]! < at) await called(DIALLED, outbound.shift()!);
      const facts: CallFacts = { kind: 'call', from: CALLING_BACK, to: ACME_MAIN };
      const decision = await backends.decideCall(facts, { country: COUNTRY, now: at }, reputation);
      expect(decision.action, iso(at)).toBe(expected);
      logged.push(decision);
      const uid = `call-${i}`;
      await store.log({ uid, at, source: 'freeswitch', pbx: 'fs', channel: uid, facts, decision, decidedUs: 10 }, { uid, outcome: { outcome: expected === 'allow' ? 'continued' : 'rejected', detail: null }, at: at + 1000 });
    }
    const replayed: Replayed[] = [];
    await replay(await backends.replayTables(), loggedCallPages(backends.calls), { from: T0 - DAY, until: T0 + 40 * DAY }, NO_CHANGE, (one) => void replayed.push(one), COUNTRY);
    expect(replayed.map((one) => one.before.action)).toEqual(script.map(([, action]) => action));
    expect(replayed.map((one) => one.before.reasons)).toEqual(logged.map((decision) => decision.reasons));
    expect(replayed[1]!.before.reasons.at(-1)).toBe(callbackReason(T0 + 3_600_000));
    expect(replayed[3]!.before.reasons.at(-1)).toBe(callbackReason(T0 + 31 * DAY + 2 * 3_600_000));
  });

  it('housekeeping deletes outbound calls past the longest window (30 days at least) and keeps the rest', async () => {
    await called(DIALLED, T0 - 61 * DAY);
    await called(DIALLED, T0 - 45 * DAY);
    await called(DIALLED, T0 - 29 * DAY);
    expect(await backends.outboundCalls.prune(T0)).toBe(2);
    expect((await outboundRows()).map((row) => row.at)).toEqual([T0 - 29 * DAY]);
    await called(DIALLED, T0 - 45 * DAY);
    await trustCallbacks(backends, ADMIN, { duration: '60d', tenant: 'globex' });
    expect(await backends.outboundCalls.prune(T0)).toBe(0);
    expect(await outboundRows()).toHaveLength(2);
  });
});

describe('the number dialled, as a callback will show it', () => {
  const caller = outboundCaller('+14045550100', COUNTRY);

  it.each([
    ['4045551234', '+14045551234'],
    ['14045551234', '+14045551234'],
    ['+14045551234', '+14045551234'],
    ['(404) 555-1234', '+14045551234'],
    ['5551234', '+14045551234'],
    ['555-1234', '+14045551234'],
    ['011442079460958', '+442079460958'],
    ['+44 20 7946 0958', '+442079460958'],
    ['0114915112345678', '+4915112345678'],
    ['18005551234', '+18005551234'],
  ])('%s → %s', (to, e164) => {
    expect(dialledNumber(to, caller, COUNTRY)).toBe(e164);
  });

  it('a 7-digit number takes the area code of the caller, and needs one', () => {
    expect(dialledNumber('5551234', outboundCaller('312-555-0100', COUNTRY), COUNTRY)).toBe('+13125551234');
    expect(() => dialledNumber('5551234', outboundCaller('1001', COUNTRY), COUNTRY)).toThrow(/a 7-digit number needs the caller's area code/);
    expect(() => dialledNumber('5551234', outboundCaller('+442079460958', COUNTRY), COUNTRY)).toThrow(/a 7-digit number needs/);
  });

  it('the caller: a number, or an extension of 2 to 6 digits; nothing else', () => {
    expect(outboundCaller('1001', COUNTRY)).toBeNull();
    expect(outboundCaller('sip:+14045550100@pbx', COUNTRY)).toBe('+14045550100');
    for (const from of ['anonymous', '', 'x'.repeat(100), '1', '\u0000\u001b[2J']) expect(() => outboundCaller(from, COUNTRY), JSON.stringify(from)).toThrow(/^bad from/);
  });

  it('never an emergency, service or short code, nor a value that is no number', () => {
    for (const to of ['911', '112', '999', '411', '*69', '#31#', '12345', 'private', '000-000-0000', '', '+', 'x'.repeat(2000)]) {
      expect(() => dialledNumber(to, caller, COUNTRY), JSON.stringify(to)).toThrow(/^bad to/);
    }
  });
});
