// The tenant and DID operations on both backends: the same answers, the same audit
// entries, the same refusals (each naming its field) with nothing written.
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { Forbidden, cliActing, principalActing } from '../agent/operations/acting';
import { addRules } from '../agent/operations/rules';
import { addDid, addTenant, listDids, listTenants, removeDid, removeTenant } from '../agent/operations/tenants';
import { BACKENDS } from './helpers/both-backends';
import type { Backend } from './helpers/both-backends';

const COUNTRY = 'US';
const ACTOR = 'cli:tester';
const admin = cliActing(ACTOR);

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The BadInput a rejected promise carried: its message and field. */
async function refusal(work: Promise<unknown>): Promise<{ message: string; field?: string | undefined }> {
  const error = await work.then(
    () => undefined,
    (caught: unknown) => caught as { message: string; field?: string },
  );
  if (!error) throw new Error('accepted');
  return { message: error.message, field: error.field };
}

describe.each(BACKENDS)('tenant operations on %s', (_name, open) => {
  let backend: Backend;
  beforeEach(async () => {
    backend = await open(ACTOR, cleanups);
  });

  it('adds tenants and DIDs in any number form, lists them with their counts, audited', async () => {
    await addTenant(backend.tenants, admin, 'acme');
    await addTenant(backend.tenants, admin, 'beta.co_2');
    expect(await addDid(backend.tenants, admin, '(404) 555-1234', 'acme', COUNTRY)).toBe('+14045551234');
    await addRules(backend.rules, admin, { patterns: '312*', action: 'block', scope: 'tenant:acme' }, COUNTRY);
    await addRules(backend.rules, admin, { patterns: '212*', action: 'busy', scope: 'did:4045551234' }, COUNTRY);
    expect(await listTenants(backend.tenants)).toEqual([
      { name: 'acme', mode: 'enforce', allowOnly: null, dids: 1, rules: 2 },
      { name: 'beta.co_2', mode: 'enforce', allowOnly: null, dids: 0, rules: 0 },
      { name: 'default', mode: 'enforce', allowOnly: null, dids: 0, rules: 0 },
    ]);
    expect(await listDids(backend.tenants, 'acme')).toEqual([{ number: '+14045551234', tenant: 'acme', allowOnly: null }]);
    expect(await listDids(backend.tenants)).toEqual([{ number: '+14045551234', tenant: 'acme', allowOnly: null }]);
    expect((await backend.audit('tenant')).map(({ verb, key, actor }) => `${actor} ${verb} ${key}`)).toEqual([`${ACTOR} add acme`, `${ACTOR} add beta.co_2`]);
    expect((await backend.audit('did')).map(({ verb, key }) => `${verb} ${key}`)).toEqual(['add +14045551234']);
  });

  it('refuses what the CLI refuses, naming the field, and writes nothing', async () => {
    await addTenant(backend.tenants, admin, 'acme');
    await addDid(backend.tenants, admin, '4045551234', 'acme', COUNTRY);
    const before = { tenants: await backend.count('tenants'), dids: await backend.count('dids') };
    expect(await refusal(addTenant(backend.tenants, admin, 'acme'))).toEqual({ message: 'tenant "acme" already exists', field: 'name' });
    expect((await refusal(addTenant(backend.tenants, admin, 'bad name'))).field).toBe('name');
    expect(await refusal(removeTenant(backend.tenants, admin, 'default', true))).toEqual({ message: 'tenant "default" always exists and cannot be removed', field: 'name' });
    expect(await refusal(removeTenant(backend.tenants, admin, 'nobody', false))).toEqual({ message: `unknown tenant "nobody": add it first with 'callguard tenants add nobody'`, field: 'name' });
    expect(await refusal(addDid(backend.tenants, admin, '4045551235', 'nope', COUNTRY))).toEqual({ message: `unknown tenant "nope": add it first with 'callguard tenants add nope'`, field: 'tenant' });
    expect((await refusal(addDid(backend.tenants, admin, '555-12', 'acme', COUNTRY))).field).toBe('number');
    expect(await refusal(addDid(backend.tenants, admin, '+1 404 555 1234', 'default', COUNTRY))).toEqual({ message: 'DID +14045551234 already belongs to tenant "acme": remove it first', field: 'number' });
    expect(await refusal(removeDid(backend.tenants, admin, '4045550000', COUNTRY))).toEqual({ message: 'DID +14045550000 is not registered', field: 'number' });
    expect(await refusal(listDids(backend.tenants, 'nope'))).toMatchObject({ field: 'tenant' });
    const viewer = principalActing({ kind: 'user', name: 'vic', role: 'manager', tenants: ['acme'] } as never);
    await expect(addTenant(backend.tenants, viewer, 'mine')).rejects.toBeInstanceOf(Forbidden);
    expect({ tenants: await backend.count('tenants'), dids: await backend.count('dids') }).toEqual(before);
    expect(await backend.audit('tenant')).toHaveLength(1);
  });

  it('removes a tenant holding DIDs and rules only when forced, taking them and its category policies with it', async () => {
    await addTenant(backend.tenants, admin, 'acme');
    await addDid(backend.tenants, admin, '4045550000', 'acme', COUNTRY);
    await addRules(backend.rules, admin, { patterns: '312*', action: 'block', scope: 'tenant:acme' }, COUNTRY);
    await addRules(backend.rules, admin, { patterns: '212*', action: 'busy', scope: 'did:4045550000' }, COUNTRY);
    await addRules(backend.rules, admin, { patterns: '213*', action: 'busy' }, COUNTRY);
    await backend.exec("INSERT INTO category_policies (scope, category, action, updated_at) VALUES ('tenant:acme', 'anonymous', 'block', 0)");
    expect(await refusal(removeTenant(backend.tenants, admin, 'acme', false))).toEqual({
      message: 'tenant "acme" still has 1 DID(s) and 2 rule(s): remove them first or pass --force',
      field: 'name',
    });
    expect(await backend.count('dids')).toBe(1);
    expect(await removeTenant(backend.tenants, admin, 'acme', true)).toEqual({ dids: 1, rules: 2 });
    expect(await listTenants(backend.tenants)).toEqual([{ name: 'default', mode: 'enforce', allowOnly: null, dids: 0, rules: 0 }]); // a global rule is no tenant's
    expect({ dids: await backend.count('dids'), rules: await backend.count('rules'), policies: await backend.count('category_policies') }).toEqual({ dids: 0, rules: 1, policies: 0 });
    expect((await backend.audit('tenant')).map((entry) => entry.verb)).toEqual(['add', 'remove']);
    expect(await removeDid(backend.tenants, admin, '4045550000', COUNTRY).catch((error: Error) => error.message)).toBe('DID +14045550000 is not registered');
  });
});
