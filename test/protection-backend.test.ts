// Robocall protection, carrier rules, the prefix table and the allow list on both backends:
// the same views, refusals (naming their field) and audit entries, field for field; nothing
// half-written by a refusal or a failed import.
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { SCORE_DEFAULTS } from '../agent/engine/score-settings';
import { Forbidden, NotFound, cliActing, principalActing } from '../agent/operations/acting';
import { addAllowed, listAllowed, removeAllowed } from '../agent/operations/allow-list';
import { addCarrier, importCarrierPrefixes, listCarriers, removeCarrierIds, removeCarrierPattern } from '../agent/operations/carriers';
import { protectionOfTenants, scoreInForce, setProtection, showProtection, tuneScore } from '../agent/operations/protection';
import { addRules } from '../agent/operations/rules';
import { addDid, addTenant } from '../agent/operations/tenants';
import type { ProtectionStores } from '../agent/store/protection-backend';
import { BACKENDS } from './helpers/both-backends';
import type { Backend } from './helpers/both-backends';

const ACTOR = 'cli:tester';
const COUNTRY = 'US';
const ACME_DID = '+15551230000';
const GLOBEX_DID = '+15551239999';
const admin = cliActing(ACTOR);
const acmeManager = principalActing({ kind: 'user', name: 'ann', role: 'manager', tenants: ['acme'] } as never);
const acmeViewer = principalActing({ kind: 'user', name: 'val', role: 'viewer', tenants: ['acme'] } as never);

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Each backend's audit trail, by test: compared across the backends at the end. */
const trails = new Map<string, Map<string, unknown[]>>();

/** A refusal's field, or 'accepted'. */
const field = (work: Promise<unknown>) => work.then(() => 'accepted', (error: { field?: string }) => error.field);

describe.each(BACKENDS)('protection operations on %s', (name, open) => {
  let backend: Backend;
  let stores: ProtectionStores;
  const trail = new Map<string, unknown[]>();
  trails.set(name, trail);

  beforeEach(async () => {
    backend = await open(ACTOR, cleanups);
    stores = { protection: backend.protection, rules: backend.rules, tenants: backend.tenants };
    await addTenant(backend.tenants, admin, 'acme');
    await addTenant(backend.tenants, admin, 'globex');
    await addDid(backend.tenants, admin, ACME_DID, 'acme', COUNTRY);
    await addDid(backend.tenants, admin, GLOBEX_DID, 'globex', COUNTRY);
  });

  /** The audit entries of this test's own changes (not the tenants and DIDs set up), oldest first, kept for the comparison. */
  async function audited(test: string): Promise<{ verb: string; entity: string; key: string; before: unknown; after: unknown }[]> {
    const rows = await backend.rows("SELECT actor, verb, entity, key, before, after FROM audit WHERE entity NOT IN ('tenant', 'did') ORDER BY id");
    // A rule's times are when each backend's test ran.
    const timeless = (text: unknown) => (typeof text === 'string' ? text.replace(/"(createdAt|updatedAt)":\d+/g, '"$1":0') : text);
    trail.set(test, rows.map((row) => ({ ...row, before: timeless(row.before), after: timeless(row.after) })));
    for (const row of rows) expect(row.actor).toMatch(/^(cli:tester|user:ann)$/);
    const json = (text: unknown) => (text === null ? null : JSON.parse(text as string));
    return rows.map((row) => ({ verb: row.verb as string, entity: row.entity as string, key: row.key as string, before: json(row.before), after: json(row.after) }));
  }

  it('sets protection per tenant over the global setting, shows what is in force and where from, audited', async () => {
    expect(await showProtection(stores, admin)).toEqual({
      tenant: null, enabled: false, threshold: 70, flagThreshold: 50, action: 'block', from: 'default', own: false, global: null, score: SCORE_DEFAULTS,
    });
    const global = await setProtection(stores, admin, { enabled: true, threshold: '60' });
    expect(global).toMatchObject({ tenant: null, enabled: true, threshold: 60, flagThreshold: 40, action: 'block', from: 'global', own: false });
    expect(await showProtection(stores, acmeManager, 'acme')).toMatchObject({ tenant: 'acme', enabled: true, threshold: 60, from: 'global', own: false });

    const own = await setProtection(stores, acmeManager, { tenant: 'acme', enabled: false });
    expect(own).toEqual({
      tenant: 'acme', enabled: false, threshold: 60, flagThreshold: 40, action: 'block', from: 'tenant:acme', own: true,
      global: { scope: 'global', enabled: true, threshold: 60, flagThreshold: 40, action: 'block' },
    });
    await setProtection(stores, acmeManager, { tenant: 'acme', threshold: 80, flagThreshold: null, action: 'challenge' });
    expect(await showProtection(stores, acmeManager, 'acme')).toMatchObject({ enabled: false, threshold: 80, flagThreshold: null, action: 'challenge', from: 'tenant:acme' });
    expect(await showProtection(stores, admin, 'globex')).toMatchObject({ enabled: true, threshold: 60, from: 'global', own: false });

    const line = (view: { tenant: string | null; enabled: boolean; threshold: number; from: string }) => `${view.tenant} ${view.enabled ? 'on' : 'off'} ${view.threshold} ${view.from}`;
    expect((await protectionOfTenants(stores, admin)).map(line)).toEqual(['acme off 80 tenant:acme', 'default on 60 global', 'globex on 60 global']);
    expect((await protectionOfTenants(stores, acmeManager)).map(line)).toEqual(['acme off 80 tenant:acme']);

    expect(await audited('protection')).toEqual([
      { verb: 'add', entity: 'protection', key: 'global', before: null, after: { scope: 'global', enabled: true, threshold: 60, flagThreshold: 40, action: 'block' } },
      { verb: 'add', entity: 'protection', key: 'tenant:acme', before: null, after: { scope: 'tenant:acme', enabled: false, threshold: 60, flagThreshold: 40, action: 'block' } },
      {
        verb: 'change', entity: 'protection', key: 'tenant:acme',
        before: { scope: 'tenant:acme', enabled: false, threshold: 60, flagThreshold: 40, action: 'block' },
        after: { scope: 'tenant:acme', enabled: false, threshold: 80, flagThreshold: null, action: 'challenge' },
      },
    ]);
  });

  it('refuses bad settings, unknown and other tenants and the global setting to a manager, with nothing written', async () => {
    expect(await field(setProtection(stores, admin, { threshold: '9' }))).toBe('threshold');
    expect(await field(setProtection(stores, admin, { threshold: 50, flagThreshold: 51 }))).toBe('flagThreshold');
    expect(await field(setProtection(stores, admin, { action: 'busy' }))).toBe('action');
    expect(await field(setProtection(stores, admin, { tenant: 'nobody', enabled: true }))).toBe('tenant');
    await expect(setProtection(stores, acmeManager, { enabled: true })).rejects.toBeInstanceOf(Forbidden);
    await expect(setProtection(stores, acmeManager, { tenant: 'globex', enabled: true })).rejects.toBeInstanceOf(Forbidden);
    await expect(setProtection(stores, acmeViewer, { tenant: 'acme', enabled: true })).rejects.toBeInstanceOf(Forbidden);
    await expect(showProtection(stores, acmeManager, 'globex')).rejects.toBeInstanceOf(Forbidden);
    expect(await field(showProtection(stores, admin, 'nobody'))).toBe('tenant');
    expect(await backend.rows('SELECT scope FROM protection')).toEqual([]);
    expect(await audited('protection refused')).toEqual([]);
  });

  it('tunes the score settings (administrators only), refusing bad ones with nothing written', async () => {
    await tuneScore(stores, admin, 'neighbor', '30');
    await tuneScore(stores, admin, 'neighbor', '35');
    await tuneScore(stores, admin, 'velocity_window', '15m');
    await expect(tuneScore(stores, admin, 'no_such', '1')).rejects.toThrow(/unknown score setting "no_such"/);
    await expect(tuneScore(stores, admin, 'velocity_window', 'soon')).rejects.toThrow(/velocity_window/);
    await expect(tuneScore(stores, admin, 'reputation_url', 'https://x/{number}')).rejects.toThrow(/reputation_url is no longer a score setting/);
    await expect(tuneScore(stores, acmeManager, 'neighbor', '0')).rejects.toBeInstanceOf(Forbidden);
    expect(await scoreInForce(stores)).toEqual({ ...SCORE_DEFAULTS, neighbor: 35, velocity_window: '15m' });
    expect((await showProtection(stores, acmeManager, 'acme')).score).toMatchObject({ neighbor: 35 });
    expect(await audited('tune')).toEqual([
      { verb: 'add', entity: 'setting', key: 'score.neighbor', before: null, after: '30' },
      { verb: 'change', entity: 'setting', key: 'score.neighbor', before: '30', after: '35' },
      { verb: 'add', entity: 'setting', key: 'score.velocity_window', before: null, after: '15m' },
    ]);
  });

  it('adds, lists and removes carrier rules each asker may see and change', async () => {
    const bandwidth = await addCarrier(stores, admin, { pattern: '  Bandwidth ' }, COUNTRY);
    expect(bandwidth).toEqual({ id: 1, scope: 'global', pattern: 'bandwidth' });
    await addCarrier(stores, acmeManager, { pattern: 'Robo Telecom', scope: 'tenant:acme' }, COUNTRY);
    await addCarrier(stores, acmeManager, { pattern: 'VoIP Innovations', scope: `did:${ACME_DID}` }, COUNTRY);
    await addCarrier(stores, admin, { pattern: 'Robo Telecom', scope: 'did:5551239999' }, COUNTRY);
    const rows = (list: { scope: string; pattern: string }[]) => list.map((row) => `${row.scope} ${row.pattern}`);
    expect(rows(await listCarriers(stores, admin, undefined, COUNTRY))).toEqual([
      `did:${ACME_DID} voip innovations`,
      `did:${GLOBEX_DID} robo telecom`,
      'global bandwidth',
      'tenant:acme robo telecom',
    ]);
    expect(rows(await listCarriers(stores, acmeManager, undefined, COUNTRY))).toEqual([`did:${ACME_DID} voip innovations`, 'global bandwidth', 'tenant:acme robo telecom']);
    expect(rows(await listCarriers(stores, admin, 'globex', COUNTRY))).toEqual([`did:${GLOBEX_DID} robo telecom`, 'global bandwidth']);

    // A manager's `carriers remove` reaches only what they see: acme's, never globex's.
    expect(rows(await removeCarrierPattern(stores, acmeManager, { pattern: 'ROBO telecom' }, COUNTRY))).toEqual(['tenant:acme robo telecom']);
    expect(rows(await removeCarrierIds(stores, admin, [4, 1], COUNTRY))).toEqual([`did:${GLOBEX_DID} robo telecom`, 'global bandwidth']);
    expect(rows(await listCarriers(stores, admin, undefined, COUNTRY))).toEqual([`did:${ACME_DID} voip innovations`]);
    expect(await audited('carriers')).toEqual([
      { verb: 'add', entity: 'carrier', key: '#1', before: null, after: { id: 1, scope: 'global', pattern: 'bandwidth' } },
      { verb: 'add', entity: 'carrier', key: '#2', before: null, after: { id: 2, scope: 'tenant:acme', pattern: 'robo telecom' } },
      { verb: 'add', entity: 'carrier', key: '#3', before: null, after: { id: 3, scope: `did:${ACME_DID}`, pattern: 'voip innovations' } },
      { verb: 'add', entity: 'carrier', key: '#4', before: null, after: { id: 4, scope: `did:${GLOBEX_DID}`, pattern: 'robo telecom' } },
      { verb: 'remove', entity: 'carrier', key: '#2', before: { id: 2, scope: 'tenant:acme', pattern: 'robo telecom' }, after: null },
      { verb: 'remove', entity: 'carrier', key: '#4', before: { id: 4, scope: `did:${GLOBEX_DID}`, pattern: 'robo telecom' }, after: null },
      { verb: 'remove', entity: 'carrier', key: '#1', before: { id: 1, scope: 'global', pattern: 'bandwidth' }, after: null },
    ]);
  });

  it('refuses a bad pattern, a duplicate, an unknown tenant and what a manager may not change, with nothing written', async () => {
    const globex = await addCarrier(stores, admin, { pattern: 'Bandwidth', scope: 'tenant:globex' }, COUNTRY);
    const before = await backend.rows('SELECT id, scope, pattern FROM carrier_rules ORDER BY id');
    expect(await field(addCarrier(stores, admin, { pattern: 'x' }, COUNTRY))).toBe('pattern');
    await expect(addCarrier(stores, admin, { pattern: 'BANDWIDTH', scope: 'tenant:globex' }, COUNTRY)).rejects.toThrow('carrier rule "bandwidth" already exists in tenant:globex');
    expect(await field(addCarrier(stores, admin, { pattern: 'bandwidth', scope: 'tenant:globex' }, COUNTRY))).toBe('pattern');
    await expect(addCarrier(stores, admin, { pattern: 'bandwidth', scope: 'tenant:nobody' }, COUNTRY)).rejects.toThrow(`unknown tenant "nobody": add it first with 'callguard tenants add nobody'`);
    expect(await field(addCarrier(stores, admin, { pattern: 'bandwidth', scope: 'tenant:nobody' }, COUNTRY))).toBe('scope');
    expect(await field(addCarrier(stores, admin, { pattern: 'bandwidth', scope: 'planet:mars' }, COUNTRY))).toBe('scope');
    await expect(addCarrier(stores, acmeManager, { pattern: 'bandwidth', scope: 'tenant:globex' }, COUNTRY)).rejects.toBeInstanceOf(Forbidden);
    await expect(addCarrier(stores, acmeManager, { pattern: 'bandwidth', scope: `did:${GLOBEX_DID}` }, COUNTRY)).rejects.toBeInstanceOf(Forbidden);
    await expect(addCarrier(stores, acmeManager, { pattern: 'bandwidth' }, COUNTRY)).rejects.toBeInstanceOf(Forbidden);
    await expect(addCarrier(stores, acmeViewer, { pattern: 'bandwidth', scope: 'tenant:acme' }, COUNTRY)).rejects.toBeInstanceOf(Forbidden);
    await expect(listCarriers(stores, acmeManager, 'globex', COUNTRY)).rejects.toBeInstanceOf(Forbidden);
    await expect(removeCarrierIds(stores, acmeManager, [globex.id], COUNTRY)).rejects.toBeInstanceOf(NotFound);
    await expect(removeCarrierIds(stores, admin, [globex.id, 99], COUNTRY)).rejects.toThrow('no carrier rule #99');
    await expect(removeCarrierPattern(stores, acmeManager, { pattern: 'bandwidth' }, COUNTRY)).rejects.toThrow('no carrier rule "bandwidth"');
    expect(await field(removeCarrierPattern(stores, admin, { pattern: 'bandwidth', scope: 'tenant:acme' }, COUNTRY))).toBe('pattern');
    expect(await backend.rows('SELECT id, scope, pattern FROM carrier_rules ORDER BY id')).toEqual(before);
    // The next rule takes the next id: no refusal used one up.
    expect((await addCarrier(stores, admin, { pattern: 'Robo Telecom' }, COUNTRY)).id).toBe(globex.id + 1);
    expect((await audited('carriers refused')).map((entry) => `${entry.verb} ${entry.key}`)).toEqual(['add #1', 'add #2']);
  });

  it('replaces the whole prefix table, all or nothing, the last carrier of a repeated prefix winning', async () => {
    const many: [string, string][] = Array.from({ length: 25_001 }, (_, i) => [`+1${String(2_010_000 + i)}`, `Carrier ${i % 7}`]);
    many.push(['+12010000', 'Last One']); // the first prefix again
    expect(await stores.protection.replacePrefixes(many, 'import nanpa.txt')).toBe(25_002);
    expect(await backend.rows('SELECT count(*) AS n FROM carrier_prefixes')).toEqual([{ n: 25_001 }]);
    expect(await backend.rows("SELECT prefix, carrier FROM carrier_prefixes WHERE prefix IN ('+12010000', '+12035000') ORDER BY prefix")).toEqual([
      { prefix: '+12010000', carrier: 'Last One' },
      { prefix: '+12035000', carrier: 'Carrier 3' },
    ]);

    function* failing(): Generator<[string, string]> {
      yield ['+1404555', 'Robo Telecom'];
      throw new Error('the file went away');
    }
    await expect(stores.protection.replacePrefixes(failing(), 'import broken.csv')).rejects.toThrow('the file went away');
    await expect(importCarrierPrefixes(stores, acmeManager, [['+1212', 'Verizon']], 'import mine.csv')).rejects.toBeInstanceOf(Forbidden);
    expect(await backend.rows('SELECT count(*) AS n FROM carrier_prefixes')).toEqual([{ n: 25_001 }]);

    expect(await importCarrierPrefixes(stores, admin, [['+1404555', 'Robo Telecom'], ['+1212', 'Verizon']], 'import small.csv')).toBe(2);
    expect(await backend.rows('SELECT prefix, carrier FROM carrier_prefixes ORDER BY prefix')).toEqual([
      { prefix: '+1212', carrier: 'Verizon' },
      { prefix: '+1404555', carrier: 'Robo Telecom' },
    ]);
    expect(await audited('prefixes')).toEqual([
      { verb: 'import', entity: 'carrier', key: 'import nanpa.txt', before: { prefixes: 0 }, after: { prefixes: 25_002 } },
      { verb: 'import', entity: 'carrier', key: 'import small.csv', before: { prefixes: 25_001 }, after: { prefixes: 2 } },
    ]);
  });

  it('adds, pages through and removes the allow list: allow rules of the scopes the asker sees', async () => {
    const ids = (page: { entries: { id: number }[] }) => page.entries.map((rule) => rule.id);
    const global = await addAllowed(stores, admin, { number: '404-555-0001, 404-555-0002' }, COUNTRY); // #1, #2
    await addRules(stores.rules, admin, { patterns: '404-555-0003', action: 'block' }, COUNTRY); // #3: not on the list
    const acme = await addAllowed(stores, acmeManager, { number: '212-555-0100', tenant: 'acme', note: 'the accountant' }, COUNTRY); // #4
    await addRules(stores.rules, acmeManager, { patterns: '212-555-0101', action: 'allow', scope: `did:${ACME_DID}` }, COUNTRY); // #5
    const globex = await addAllowed(stores, admin, { number: '312-555-0100', tenant: 'globex' }, COUNTRY); // #6
    expect([...global, ...acme, ...globex].map((rule) => `${rule.id} ${rule.scope} ${rule.pattern} ${rule.action}`)).toEqual([
      '1 global 404-555-0001 allow',
      '2 global 404-555-0002 allow',
      '4 tenant:acme 212-555-0100 allow',
      '6 tenant:globex 312-555-0100 allow',
    ]);

    const first = await listAllowed(stores, admin, { limit: 2 });
    expect([ids(first), first.next]).toEqual([[1, 2], 2]);
    const second = await listAllowed(stores, admin, { afterId: first.next!, limit: 2 });
    expect([ids(second), second.next]).toEqual([[4, 5], 5]);
    const last = await listAllowed(stores, admin, { afterId: second.next!, limit: 2 });
    expect([ids(last), last.next]).toEqual([[6], null]);
    expect(ids(await listAllowed(stores, acmeManager, { limit: 10 }))).toEqual([1, 2, 4, 5]);
    expect(ids(await listAllowed(stores, admin, { tenant: 'globex', limit: 10 }))).toEqual([1, 2, 6]);

    await expect(removeAllowed(stores, acmeManager, 6, COUNTRY)).rejects.toThrow('no allow-list entry #6');
    await expect(removeAllowed(stores, admin, 3, COUNTRY)).rejects.toBeInstanceOf(NotFound); // a block rule
    await expect(removeAllowed(stores, acmeManager, 1, COUNTRY)).rejects.toBeInstanceOf(Forbidden); // global: administrators only
    expect((await removeAllowed(stores, acmeManager, 5, COUNTRY)).pattern).toBe('212-555-0101');
    expect((await removeAllowed(stores, admin, 1, COUNTRY)).pattern).toBe('404-555-0001');
    expect(ids(await listAllowed(stores, admin, { limit: 10 }))).toEqual([2, 4, 6]);
    expect((await audited('allow list')).map((entry) => `${entry.verb} ${entry.entity} ${entry.key}`)).toEqual([
      'add rule #1', 'add rule #2', 'add rule #3', 'add rule #4', 'add rule #5', 'add rule #6', 'remove rule #5', 'remove rule #1',
    ]);
  });

  it('refuses a bad number, an unknown tenant and the global list to a manager, with nothing written', async () => {
    expect(await field(addAllowed(stores, admin, { number: '404-555-0001, not a number' }, COUNTRY))).toBe('number');
    expect(await field(addAllowed(stores, admin, { number: '404-555-0001', tenant: 'nobody' }, COUNTRY))).toBe('tenant');
    expect(await field(addAllowed(stores, admin, { number: '404-555-0001', expires: 'whenever' }, COUNTRY))).toBe('expires');
    await expect(addAllowed(stores, acmeManager, { number: '404-555-0001' }, COUNTRY)).rejects.toBeInstanceOf(Forbidden);
    await expect(addAllowed(stores, acmeManager, { number: '404-555-0001', tenant: 'globex' }, COUNTRY)).rejects.toBeInstanceOf(Forbidden);
    await expect(listAllowed(stores, acmeManager, { tenant: 'globex', limit: 10 })).rejects.toBeInstanceOf(Forbidden);
    await expect(removeAllowed(stores, admin, 1, COUNTRY)).rejects.toBeInstanceOf(NotFound);
    expect(await backend.count('rules')).toBe(0);
    expect(await audited('allow list refused')).toEqual([]);
  });
});

describe('the two backends', () => {
  it('wrote the same audit entries, field for field', () => {
    const [sqlite, postgres] = BACKENDS.map(([name]) => trails.get(name)!);
    expect(sqlite!.size).toBeGreaterThan(0);
    expect([...postgres!.keys()]).toEqual([...sqlite!.keys()]);
    for (const [test, entries] of sqlite!) expect(postgres!.get(test), test).toEqual(entries);
  });
});
