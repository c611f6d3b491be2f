// The rule operations on both backends: the SQLite file and a fleet's PostgreSQL give the
// same answers, write the same audit entries, and refuse the same things with nothing written.
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { cliActing, principalActing } from '../agent/operations/acting';
import type { Acting } from '../agent/operations/acting';
import { addRules, editRule, everyRule, listRules, removeRules } from '../agent/operations/rules';
import { addDid, addTenant } from '../agent/operations/tenants';
import type { E164 } from '../agent/engine/types';
import { BACKENDS } from './helpers/both-backends';
import type { Backend } from './helpers/both-backends';

const COUNTRY = 'US';
const ACTOR = 'cli:tester';
const admin = cliActing(ACTOR);
const acmeManager: Acting = principalActing({ kind: 'user', name: 'ann', role: 'manager', tenants: ['acme'] } as never);

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

describe.each(BACKENDS)('rule operations on %s', (_name, open) => {
  let backend: Backend;
  beforeEach(async () => {
    backend = await open(ACTOR, cleanups);
    for (const [tenant, did] of [['acme', '+14045550100'], ['globex', '+12125550100']] as const) {
      await addTenant(backend.tenants, admin, tenant);
      await addDid(backend.tenants, admin, did, tenant, COUNTRY);
    }
  });

  it('adds one rule per pattern, replaces a rule with the same match and scope (keeping its id), and audits each', async () => {
    const [number, prefix] = await addRules(backend.rules, admin, { patterns: '404-555-1234, 212*', action: 'block', list: 'spam', note: 'seen' }, COUNTRY, 1_000);
    expect(number).toMatchObject({ scope: 'global', kind: 'number', key: '+14045551234', action: 'block', list: 'spam', note: 'seen', sms: false, createdAt: 1_000, updatedAt: 1_000 });
    expect(prefix).toMatchObject({ kind: 'prefix', key: '+1212' });
    expect(await backend.count('lists')).toBe(1); // spam, made by its first rule
    const [again] = await addRules(backend.rules, admin, { patterns: '+1 404 555 1234', action: 'challenge', sms: true }, COUNTRY, 2_000);
    expect(again).toMatchObject({ id: number!.id, action: 'challenge', sms: true, list: null, updatedAt: 2_000 });
    expect(await backend.rules.byId(number!.id)).toEqual(again);
    expect((await backend.audit('rule')).map(({ verb, key }) => `${verb} ${key}`)).toEqual([`add #${number!.id}`, `add #${prefix!.id}`, `change #${number!.id}`]);
    expect((await backend.audit('rule'))[0]).toMatchObject({ actor: ACTOR, entity: 'rule' });
  });

  it('is all or none: a bad pattern, an unknown tenant or someone else\'s scope writes nothing', async () => {
    await expect(addRules(backend.rules, admin, { patterns: '404-555-1234, nonsense', action: 'block' }, COUNTRY)).rejects.toThrow(/nonsense/);
    await expect(addRules(backend.rules, admin, { patterns: '404*', action: 'block', scope: 'tenant:nobody' }, COUNTRY)).rejects.toThrow('unknown tenant "nobody"');
    await expect(addRules(backend.rules, acmeManager, { patterns: '404*', action: 'block', scope: 'did:+12125550100' }, COUNTRY)).rejects.toThrow('may not change tenant globex');
    await expect(addRules(backend.rules, acmeManager, { patterns: '404*', action: 'block' }, COUNTRY)).rejects.toThrow('only an administrator');
    expect(await backend.count('rules')).toBe(0);
    expect(await backend.audit('rule')).toEqual([]);
  });

  it('pages in id order with filters, and shows a manager only global rules and their own tenant\'s', async () => {
    await addRules(backend.rules, admin, { patterns: '201*', action: 'block' }, COUNTRY);
    await addRules(backend.rules, admin, { patterns: '202*', action: 'block', scope: 'tenant:acme', list: 'vip' }, COUNTRY);
    await addRules(backend.rules, admin, { patterns: '203*', action: 'block', scope: 'did:+14045550100' }, COUNTRY);
    await addRules(backend.rules, admin, { patterns: '204*', action: 'block', scope: 'tenant:globex' }, COUNTRY);
    await addRules(backend.rules, admin, { patterns: '205*', action: 'block', scope: 'did:+12125550100', list: 'vip' }, COUNTRY);
    const patterns = (page: { rules: { pattern: string }[] }) => page.rules.map((rule) => rule.pattern);

    const first = await listRules(backend.rules, admin, { limit: 2 }, COUNTRY);
    expect(patterns(first)).toEqual(['201*', '202*']);
    const second = await listRules(backend.rules, admin, { limit: 2, afterId: first.next! }, COUNTRY);
    expect(patterns(second)).toEqual(['203*', '204*']);
    expect(patterns(await listRules(backend.rules, admin, { limit: 10, afterId: second.next! }, COUNTRY))).toEqual(['205*']);
    expect((await listRules(backend.rules, admin, { limit: 10, afterId: second.next! }, COUNTRY)).next).toBeNull();

    expect(patterns(await listRules(backend.rules, admin, { limit: 10, list: 'vip' }, COUNTRY))).toEqual(['202*', '205*']);
    expect(patterns(await listRules(backend.rules, admin, { limit: 10, scope: 'tenant:acme' }, COUNTRY))).toEqual(['202*']);
    expect(patterns(await listRules(backend.rules, acmeManager, { limit: 10 }, COUNTRY))).toEqual(['201*', '202*', '203*']);
    expect((await collect(everyRule(backend.rules, { limit: 4 }))).map((rule) => rule.pattern)).toEqual(['201*', '202*', '203*', '204*']);
    expect(await backend.rules.byMatch('+1201', 'prefix')).toHaveLength(1);
    expect(await backend.rules.byMatch('+1201', 'prefix', 'tenant:acme')).toEqual([]);
  });

  it('edits what a rule does with the validation of adding, audited with before and after', async () => {
    const [rule] = await addRules(backend.rules, admin, { patterns: '404-555-1234', action: 'block', scope: 'tenant:acme' }, COUNTRY, 1_000);
    const edited = await editRule(backend.rules, acmeManager, rule!.id, { action: 'forward', to: '+14045550000', list: 'moved' }, COUNTRY, 3_000);
    expect(edited).toMatchObject({ id: rule!.id, action: 'forward', target: '+14045550000', list: 'moved', scope: 'tenant:acme', updatedAt: 3_000 });
    expect(await backend.rules.byId(rule!.id)).toEqual(edited);
    await expect(editRule(backend.rules, acmeManager, rule!.id, { action: 'explode' }, COUNTRY)).rejects.toThrow(/explode/);
    await expect(editRule(backend.rules, admin, 999_999, { action: 'block' }, COUNTRY)).rejects.toThrow('no rule #999999');
    expect((await backend.audit('rule')).map((entry) => entry.verb)).toEqual(['add', 'change']);
  });

  it('removes rules all or none: one that is not the asker\'s, or not there, and none goes', async () => {
    const [acme] = await addRules(backend.rules, admin, { patterns: '404*', action: 'block', scope: 'tenant:acme' }, COUNTRY);
    const [globex] = await addRules(backend.rules, admin, { patterns: '212*', action: 'block', scope: 'tenant:globex' }, COUNTRY);
    await expect(removeRules(backend.rules, acmeManager, [acme!.id, globex!.id], COUNTRY)).rejects.toThrow(`no rule #${globex!.id}`);
    await expect(removeRules(backend.rules, admin, [acme!.id, 999_999], COUNTRY)).rejects.toThrow('no rule #999999');
    expect(await backend.count('rules')).toBe(2);
    expect(await removeRules(backend.rules, acmeManager, [acme!.id], COUNTRY)).toEqual([acme]);
    expect(await backend.rules.byId(acme!.id)).toBeUndefined();
    expect((await backend.audit('rule')).map(({ verb, key }) => `${verb} ${key}`).at(-1)).toBe(`remove #${acme!.id}`);
  });

  it('knows tenants and who owns a DID (default for one nobody claims)', async () => {
    expect(await backend.rules.tenantExists('acme')).toBe(true);
    expect(await backend.rules.tenantExists('nobody')).toBe(false);
    expect(await backend.rules.ownerOfDid('+12125550100' as E164)).toBe('globex');
    expect(await backend.rules.ownerOfDid('+13125550100' as E164)).toBe('default');
    expect(await backend.rules.didsOf(['acme', 'globex'])).toEqual(['+12125550100', '+14045550100']);
  });
});
