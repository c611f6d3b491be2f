// Allow-only mode (issue 16, item 4) on both stores, through the operations every face calls
// and the decision engine as explain runs it (on SQLite the file, on PostgreSQL the fleet's
// reads): only callers an allow rule lets through ring, a block rule still blocks, everyone
// else gets the chosen action before categories and protection are looked at; a DID's own
// setting overrides its tenant's (an action, off, or inherit); the listings carry it, every
// change is audited, and bad input is refused naming its field with nothing written.
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { Decision } from '../agent/engine/types';
import { Forbidden, cliActing } from '../agent/operations/acting';
import type { Acting } from '../agent/operations/acting';
import { setCategory } from '../agent/operations/categories';
import { explain } from '../agent/operations/explain';
import { addRules } from '../agent/operations/rules';
import type { Backends } from '../agent/operations/store-backends';
import { addDid, addTenant, listDids, listTenants, setAllowOnly, setTenantMode } from '../agent/operations/tenants';
import { ReputationClient } from '../agent/screening/reputation';
import { ACME_MANAGER, ACME_VIEWER } from './helpers/api';
import { operationStores, refusal } from './helpers/operation-stores';
import type { OperationStore } from './helpers/operation-stores';

const COUNTRY = 'US';
const ACTOR = 'cli:tester';
const ADMIN = cliActing(ACTOR);
const ACME_MAIN = '+14045550100';
const ACME_SALES = '+14045550101';
const GLOBEX_DID = '+13125550100';
const FRIEND = '404-555-1234';
const PEST = '404-555-6666';
const STRANGER = '404-555-9999';
const ABROAD = '+44 20 7946 0000';

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const STORES = operationStores(cleanups);

describe.each(STORES)('allow-only mode on %s', (_name, open) => {
  let store: OperationStore;
  let backends: Backends;
  const reputation = new ReputationClient();
  /** What explain decides for a call (or text) from `from` to `to`. */
  const decided = (from: string, to: string, sms = false): Promise<Decision> => explain(backends.decideCall, ADMIN, { from, to, sms }, COUNTRY, reputation);
  const actionOf = async (from: string, to: string, sms = false) => (await decided(from, to, sms)).action;
  const set = (action: string, did?: string, name = 'acme', acting: Acting = ADMIN) => setAllowOnly(store.as(acting.actor).tenants, acting, name, action, did, COUNTRY);
  /** What is stored: each tenant's and each DID's setting, and how many changes the audit trail holds. */
  const stored = async () => ({
    tenants: await store.rows("SELECT name, allow_only FROM tenants WHERE allow_only IS NOT NULL ORDER BY name"),
    dids: await store.rows('SELECT number, allow_only FROM dids WHERE allow_only IS NOT NULL ORDER BY number'),
    audit: (await store.rows("SELECT id FROM audit WHERE verb = 'change'")).length,
  });

  beforeEach(async () => {
    store = await open();
    backends = store.as(ACTOR);
    await addTenant(backends.tenants, ADMIN, 'acme');
    await addTenant(backends.tenants, ADMIN, 'globex');
    await addDid(backends.tenants, ADMIN, ACME_MAIN, 'acme', COUNTRY);
    await addDid(backends.tenants, ADMIN, ACME_SALES, 'acme', COUNTRY);
    await addDid(backends.tenants, ADMIN, GLOBEX_DID, 'globex', COUNTRY);
    await addRules(backends.rules, ADMIN, { patterns: FRIEND, action: 'allow', scope: 'tenant:acme' }, COUNTRY);
    await addRules(backends.rules, ADMIN, { patterns: PEST, action: 'block', scope: 'tenant:acme' }, COUNTRY);
    // A category policy that would block a caller from abroad, were it reached.
    await setCategory(backends, ADMIN, { category: 'international', action: 'block' });
  });

  it('is off by default: a caller no rule matches rings', async () => {
    expect(await actionOf(STRANGER, ACME_MAIN)).toBe('allow');
    expect((await listTenants(backends.tenants)).map((tenant) => `${tenant.name} ${tenant.allowOnly}`)).toEqual(['acme null', 'default null', 'globex null']);
  });

  it('for a tenant: an allowed caller rings, a blocked one is blocked, everyone else gets the action, and explain says why', async () => {
    expect(await set('challenge')).toEqual({ name: 'acme', did: null, action: 'challenge' });
    expect(await actionOf(FRIEND, ACME_MAIN)).toBe('allow');
    expect(await actionOf(PEST, ACME_SALES)).toBe('block');
    const stranger = await decided(STRANGER, ACME_MAIN);
    expect(stranger).toMatchObject({ action: 'challenge', scope: 'tenant:acme', ruleId: null, category: null, tenant: 'acme' });
    expect(stranger.reasons).toEqual([
      'Caller +14045559999; number called +14045550100, tenant acme.',
      'Step 1: no number or address rule matches.',
      'Tenant acme is allow-only: callers not on its allow list get challenge.',
    ]);
    // Before categories: the caller from abroad is challenged, not blocked by the international policy.
    expect(await decided(ABROAD, ACME_MAIN)).toMatchObject({ action: 'challenge', categories: [] });
    // Another tenant is not allow-only: the same stranger rings there, the caller from abroad meets its category.
    expect(await actionOf(STRANGER, GLOBEX_DID)).toBe('allow');
    expect(await actionOf(ABROAD, GLOBEX_DID)).toBe('block');
    // Texts are not calls: allow-only decides who rings.
    const text = await decided(STRANGER, ACME_MAIN, true);
    expect(text.action).toBe('allow');
    expect(text.reasons).toContain('Tenant acme is allow-only, which decides only who rings: texts go on to the next steps.');

    for (const action of ['voicemail', 'busy', 'disconnected', 'block'] as const) {
      await set(action);
      expect(await decided(STRANGER, ACME_MAIN), action).toMatchObject({ action, target: null, scope: 'tenant:acme' });
      expect(await actionOf(FRIEND, ACME_MAIN)).toBe('allow');
    }
    expect(await set('off')).toEqual({ name: 'acme', did: null, action: 'off' });
    expect(await actionOf(STRANGER, ACME_MAIN)).toBe('allow');
    expect(await actionOf(ABROAD, ACME_MAIN)).toBe('block');
  });

  it('a caller-name rule never lets a caller past allow-only mode: a caller picks its name freely', async () => {
    await addRules(backends.rules, ADMIN, { name: 'TRUSTED PHARMACY', action: 'allow', scope: 'tenant:acme' }, COUNTRY);
    const named = (from: string) => explain(backends.decideCall, ADMIN, { from, to: ACME_MAIN, name: 'Trusted  Pharmacy' }, COUNTRY, reputation);
    // Not allow-only: the name rule lets the caller through.
    expect(await named(STRANGER)).toMatchObject({ action: 'allow', scope: 'tenant:acme' });
    await set('challenge');
    const stranger = await named(STRANGER);
    expect(stranger).toMatchObject({ action: 'challenge', ruleId: null, scope: 'tenant:acme' });
    expect(stranger.reasons.at(-1)).toBe('Tenant acme is allow-only: callers not on its allow list get challenge.');
    // A number allow rule still lets its caller ring, whatever the name.
    expect((await named(FRIEND)).action).toBe('allow');
  });

  it("a DID's own setting overrides the tenant's: another action, off, or inherit to follow the tenant again", async () => {
    await set('challenge');
    expect(await set('voicemail', '(404) 555-0101')).toEqual({ name: 'acme', did: ACME_SALES, action: 'voicemail' });
    const sales = await decided(STRANGER, ACME_SALES);
    expect(sales).toMatchObject({ action: 'voicemail', scope: `did:${ACME_SALES}` });
    expect(sales.reasons).toContain(`DID ${ACME_SALES} (tenant acme) is allow-only: callers not on its allow list get voicemail.`);
    expect(await actionOf(STRANGER, ACME_MAIN)).toBe('challenge');
    expect(await actionOf(FRIEND, ACME_SALES)).toBe('allow');

    expect(await set('off', ACME_MAIN)).toEqual({ name: 'acme', did: ACME_MAIN, action: 'off' });
    const main = await decided(STRANGER, ACME_MAIN);
    expect(main.action).toBe('allow');
    expect(main.reasons).toContain(`DID ${ACME_MAIN} (tenant acme) is set not to be allow-only, whatever its tenant says.`);

    // A DID can be allow-only while its tenant is not.
    await set('off');
    expect(await actionOf(STRANGER, ACME_SALES)).toBe('voicemail');
    expect(await actionOf(STRANGER, ACME_MAIN)).toBe('allow');

    expect(await listDids(backends.tenants, 'acme')).toEqual([
      { number: ACME_MAIN, tenant: 'acme', allowOnly: 'off' },
      { number: ACME_SALES, tenant: 'acme', allowOnly: 'voicemail' },
    ]);
    expect(await set('inherit', ACME_SALES)).toEqual({ name: 'acme', did: ACME_SALES, action: 'inherit' });
    expect(await actionOf(STRANGER, ACME_SALES)).toBe('allow');
    await set('busy');
    expect(await actionOf(STRANGER, ACME_SALES)).toBe('busy');
    expect(await actionOf(STRANGER, ACME_MAIN)).toBe('allow');
    expect((await listDids(backends.tenants)).map((did) => `${did.number} ${did.allowOnly}`)).toEqual([`${GLOBEX_DID} null`, `${ACME_MAIN} off`, `${ACME_SALES} null`]);
  });

  it('with monitor mode the call is let through, logged as what allow-only would have done', async () => {
    await set('challenge');
    await setTenantMode(backends.tenants, ADMIN, 'acme', 'monitor');
    const decision = await decided(STRANGER, ACME_MAIN);
    expect(decision).toMatchObject({ action: 'challenge', monitored: true });
    expect(decision.reasons.slice(-2)).toEqual([
      'Tenant acme is allow-only: callers not on its allow list get challenge.',
      'Tenant acme is in monitor mode: the call goes through; challenge is what would have happened.',
    ]);
  });

  it('the listing carries it, and every change is audited with who made it (setting it again changes nothing)', async () => {
    await set('challenge', undefined, 'acme', ACME_MANAGER);
    await set('challenge');
    await set('block', ACME_MAIN, 'acme', ACME_MANAGER);
    await set('inherit', ACME_MAIN);
    await set('off');
    expect((await listTenants(backends.tenants)).map(({ name, allowOnly }) => ({ name, allowOnly }))).toEqual([
      { name: 'acme', allowOnly: null },
      { name: 'default', allowOnly: null },
      { name: 'globex', allowOnly: null },
    ]);
    await set('disconnected', undefined, 'globex');
    expect((await listTenants(backends.tenants)).find((tenant) => tenant.name === 'globex')).toMatchObject({ allowOnly: 'disconnected', mode: 'enforce' });
    const audit = await store.rows("SELECT actor, entity, key, before, after FROM audit WHERE verb = 'change' ORDER BY id");
    expect(audit).toEqual([
      { actor: 'user:alice', entity: 'tenant', key: 'acme', before: '{"allowOnly":"off"}', after: '{"allowOnly":"challenge"}' },
      { actor: 'user:alice', entity: 'did', key: ACME_MAIN, before: '{"allowOnly":"inherit"}', after: '{"allowOnly":"block"}' },
      { actor: ACTOR, entity: 'did', key: ACME_MAIN, before: '{"allowOnly":"block"}', after: '{"allowOnly":"inherit"}' },
      { actor: ACTOR, entity: 'tenant', key: 'acme', before: '{"allowOnly":"challenge"}', after: '{"allowOnly":"off"}' },
      { actor: ACTOR, entity: 'tenant', key: 'globex', before: '{"allowOnly":"off"}', after: '{"allowOnly":"disconnected"}' },
    ]);
  });

  it('refuses bad input naming the field, and those who may not change the tenant, writing nothing', async () => {
    await set('challenge');
    await set('voicemail', ACME_SALES);
    const before = await stored();
    const cases: [() => Promise<unknown>, string, RegExp][] = [
      [() => set('challenge', undefined, 'nobody'), 'name', /^unknown tenant "nobody": add it first with 'callguard tenants add nobody'$/],
      [() => set('challenge', undefined, 'Bad Name'), 'name', /^bad tenant name/],
      [() => set('IDENTIFY'), 'action', /^bad allow-only action "IDENTIFY": expected challenge, identify, voicemail, busy, disconnected, block, or off$/],
      [() => set('forward'), 'action', /^bad allow-only action "forward": expected /],
      [() => set('allow'), 'action', /^bad allow-only action "allow"/],
      [() => set('CHALLENGE'), 'action', /^bad allow-only action "CHALLENGE"/],
      [() => set(''), 'action', /^bad allow-only action ""/],
      [() => set('inherit'), 'action', /^inherit applies to a DID only/],
      [() => set('allow', ACME_MAIN), 'action', /^bad allow-only action "allow": expected challenge, identify, voicemail, busy, disconnected, block, or off \(or inherit: follow the tenant\)$/],
      [() => set('busy', '555-12'), 'did', /^bad DID "555-12": expected a phone number/],
      [() => set('busy', 'anonymous'), 'did', /^bad DID "anonymous"/],
      [() => set('busy', '404-555-0199'), 'did', /^DID \+14045550199 is not registered: add it first with 'callguard dids add \+14045550199 --tenant acme'$/],
      [() => set('busy', GLOBEX_DID), 'did', /^DID \+13125550100 belongs to tenant "globex", not "acme"$/],
      [() => set('busy', ACME_MAIN, 'nobody'), 'name', /^unknown tenant "nobody"/],
    ];
    for (const [work, field, message] of cases) {
      const refused = await refusal(work());
      expect(refused.field, refused.message).toBe(field);
      expect(refused.message).toMatch(message);
    }
    await expect(set('block', undefined, 'acme', ACME_VIEWER)).rejects.toBeInstanceOf(Forbidden);
    await expect(set('block', undefined, 'globex', ACME_MANAGER)).rejects.toBeInstanceOf(Forbidden);
    await expect(set('block', GLOBEX_DID, 'globex', ACME_MANAGER)).rejects.toBeInstanceOf(Forbidden);
    // A manager of acme cannot reach another tenant's DID through acme.
    expect((await refusal(set('block', GLOBEX_DID, 'acme', ACME_MANAGER))).field).toBe('did');
    expect(await stored()).toEqual(before);
    expect(before).toEqual({ tenants: [{ name: 'acme', allow_only: 'challenge' }], dids: [{ number: ACME_SALES, allow_only: 'voicemail' }], audit: 2 });
  });
});
