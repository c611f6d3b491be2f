// The category operations on both backends: a policy per tenant with the global fallback,
// the same views, audit entries and refusals (naming their field), nothing half-written.
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { Forbidden, cliActing, principalActing } from '../agent/operations/acting';
import { allPolicies, listCategories, setCategory } from '../agent/operations/categories';
import { addTenant } from '../agent/operations/tenants';
import { BACKENDS } from './helpers/both-backends';
import type { Backend } from './helpers/both-backends';

const ACTOR = 'cli:tester';
const admin = cliActing(ACTOR);
const acmeManager = principalActing({ kind: 'user', name: 'ann', role: 'manager', tenants: ['acme'] } as never);

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe.each(BACKENDS)('category operations on %s', (_name, open) => {
  let backend: Backend;
  beforeEach(async () => {
    backend = await open(ACTOR, cleanups);
    await addTenant(backend.tenants, admin, 'acme');
    await addTenant(backend.tenants, admin, 'globex');
  });

  it('sets, changes and removes policies per tenant over the global one, audited', async () => {
    await setCategory(backend, admin, { category: 'anonymous', action: 'challenge' }, 1_000);
    const own = await setCategory(backend, acmeManager, { category: 'Toll-Free', tenant: 'acme', action: 'block', when: 'sat 10:00-14:00', tz: 'UTC' }, 2_000);
    expect(own).toEqual({ category: 'toll_free', global: null, own: { scope: 'tenant:acme', action: 'block', when: 'sat 10:00-14:00', tz: 'UTC' }, inForce: { scope: 'tenant:acme', action: 'block', when: 'sat 10:00-14:00', tz: 'UTC' } });
    await setCategory(backend, acmeManager, { category: 'anonymous', tenant: 'acme', action: 'voicemail' });
    const acme = await listCategories(backend, acmeManager, 'acme');
    expect(acme.categories.find((view) => view.category === 'anonymous')).toEqual({
      category: 'anonymous',
      global: { scope: 'global', action: 'challenge', when: null, tz: null },
      own: { scope: 'tenant:acme', action: 'voicemail', when: null, tz: null },
      inForce: { scope: 'tenant:acme', action: 'voicemail', when: null, tz: null },
    });
    const removed = await setCategory(backend, acmeManager, { category: 'anonymous', tenant: 'acme', action: null });
    expect(removed.inForce).toEqual({ scope: 'global', action: 'challenge', when: null, tz: null });
    await setCategory(backend, admin, { category: 'anonymous', action: 'block' });
    expect((await allPolicies(backend)).map((row) => `${row.scope} ${row.category} ${row.action}`)).toEqual(['global anonymous block', 'tenant:acme toll_free block']);
    expect((await backend.audit('category')).map(({ verb, key }) => `${verb} ${key}`)).toEqual([
      'add global anonymous',
      'add tenant:acme toll_free',
      'add tenant:acme anonymous',
      'remove tenant:acme anonymous',
      'change global anonymous',
    ]);
  });

  it('refuses a bad category, action or window, another tenant and the global policy to a manager, with nothing written', async () => {
    const field = (work: Promise<unknown>) => work.then(() => 'accepted', (error: { field?: string }) => error.field);
    expect(await field(setCategory(backend, admin, { category: 'robots', action: 'block' }))).toBe('category');
    expect(await field(setCategory(backend, admin, { category: 'anonymous', action: 'explode' }))).toBe('action');
    expect(await field(setCategory(backend, admin, { category: 'anonymous', action: 'block', when: 'someday' }))).toBe('when');
    expect(await field(setCategory(backend, admin, { category: 'anonymous', tenant: 'nobody', action: 'block' }))).toBe('tenant');
    await expect(setCategory(backend, acmeManager, { category: 'anonymous', tenant: 'globex', action: 'block' })).rejects.toBeInstanceOf(Forbidden);
    await expect(setCategory(backend, acmeManager, { category: 'anonymous', action: 'block' })).rejects.toBeInstanceOf(Forbidden);
    await expect(listCategories(backend, acmeManager, 'globex')).rejects.toBeInstanceOf(Forbidden);
    expect(await backend.count('category_policies')).toBe(0);
    expect(await backend.audit('category')).toEqual([]);
  });
});
