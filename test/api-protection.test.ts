// The REST API of the protection page and the category settings: caller categories,
// robocall protection, the allow list, the carrier blocklist and the call statistics. Each
// endpoint's happy path, its validation errors (a 400 naming the field, nothing written),
// role and tenant boundaries, the CLI and the API seeing each other's changes, the audit
// trail naming the token or user, and the statistics' queries using the call-log indexes.
import { sqliteBackends } from '../agent/operations/store-backends';
import { randomBytes } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import pino from 'pino';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildApi } from '../agent/api/server';
import type { Api } from '../agent/api/server';
import type { E164 } from '../agent/engine/types';
import { ReputationClient } from '../agent/screening/reputation';
import { AuditTrail } from '../agent/store/audit';
import { CALL_SQL } from '../agent/store/call-log';
import { CallLogQueries, HOUR_MS } from '../agent/store/call-log-queries';
import { CategoryStore } from '../agent/store/categories';
import { openDatabase } from '../agent/store/database';
import { ProtectionStore } from '../agent/store/protection';
import { RuleStore } from '../agent/store/rules';
import { TenantStore } from '../agent/store/tenants';
import { MemoryAuthenticator, as } from './helpers/api';
import { assertBuilt, cliFor, jsonOf } from './helpers/run-cli';
import { makeTempDir } from './helpers/temp-db';
import type { TempDir } from './helpers/temp-db';

const ACME_DID = '+14045550100';
const GLOBEX_DID = '+13125550100';

let dir: TempDir;
let dbPath: string;
let db: Database;
let api: Api;

beforeAll(() => assertBuilt());

beforeEach(async () => {
  dir = makeTempDir('callguard-api-protection-');
  dbPath = dir.file('callguard.db');
  db = openDatabase(dbPath);
  const tenants = new TenantStore(db, 'test');
  tenants.add('acme');
  tenants.add('globex');
  tenants.addDid(ACME_DID as E164, 'acme');
  tenants.addDid(GLOBEX_DID as E164, 'globex');
  api = await buildApi({ store: sqliteBackends(db), country: 'US', authenticator: new MemoryAuthenticator(), reputation: new ReputationClient(), logger: pino({ level: 'silent' }), secure: false });
});

afterEach(async () => {
  await api.close();
  db.close();
  dir.remove();
});

type Method = 'GET' | 'PUT' | 'POST' | 'DELETE';
async function call(token: string, method: Method, url: string, payload?: Record<string, unknown>): Promise<{ status: number; body: any }> {
  const response = await api.inject({ method, url, headers: as(token), ...(payload === undefined ? {} : { payload }) });
  return { status: response.statusCode, body: response.body ? response.json() : undefined };
}

/** Audit rows of one kind of thing, oldest first, as `actor verb key`. */
const audited = (entity: string) =>
  new AuditTrail(db, 'test')
    .list(undefined, 1000)
    .filter((row) => row.entity === entity)
    .reverse()
    .map((row) => `${row.actor} ${row.verb} ${row.key}`);

/** Runs every case as `token` and expects a 400 naming the field; returns nothing (the caller checks nothing was written). */
async function expectFieldErrors(token: string, method: Method, cases: readonly [url: string, payload: Record<string, unknown> | undefined, field: string][]): Promise<void> {
  for (const [url, payload, field] of cases) {
    const { status, body } = await call(token, method, url, payload);
    const what = `${method} ${url} ${JSON.stringify(payload)}`;
    expect(status, what).toBe(400);
    expect(body.field, `${what}: ${body.error}`).toBe(field);
    expect(body.error, what).toEqual(expect.any(String));
  }
}

async function expectStatus(token: string, cases: readonly [Method, string, Record<string, unknown> | undefined, number][]): Promise<void> {
  for (const [method, url, payload, status] of cases) {
    const answer = await call(token, method, url, payload);
    expect(answer.status, `${token} ${method} ${url} ${JSON.stringify(payload)}: ${JSON.stringify(answer.body)}`).toBe(status);
  }
}

describe('the OpenAPI document', () => {
  it('documents every endpoint of the protection page and the categories, from the schemas that validate them', async () => {
    const document = (await api.inject({ method: 'GET', url: '/v1/openapi.json' })).json() as {
      paths: Record<string, Record<string, { summary?: string; requestBody?: { content: Record<string, { schema: { properties: Record<string, { description?: string }>; additionalProperties?: boolean } }> } }>>;
    };
    const expected = {
      '/v1/categories': ['get'],
      '/v1/categories/{category}': ['put'],
      '/v1/protection': ['get', 'put'],
      '/v1/allow-list': ['get', 'post'],
      '/v1/allow-list/{id}': ['delete'],
      '/v1/carriers': ['get', 'post'],
      '/v1/carriers/{id}': ['delete'],
      '/v1/stats': ['get'],
      '/v1/stats/hourly': ['get'],
    };
    for (const [path, methods] of Object.entries(expected)) {
      for (const method of methods) expect(document.paths[path]?.[method]?.summary, `${method} ${path}`).toEqual(expect.any(String));
    }
    const put = document.paths['/v1/protection']!.put!.requestBody!.content['application/json']!.schema;
    expect(Object.keys(put.properties)).toEqual(['tenant', 'enabled', 'threshold', 'flagThreshold', 'action']);
    expect(put.properties.threshold!.description).toMatch(/10-100/);
    expect(put.additionalProperties).toBe(false);
    const category = document.paths['/v1/categories/{category}']!.put!.requestBody!.content['application/json']!.schema;
    expect(Object.keys(category.properties)).toEqual(['tenant', 'action', 'when', 'tz']);
  });
});

describe('categories', () => {
  const view = (body: any, category: string) => body.categories.find((row: { category: string }) => row.category === category);

  it('shows every category with the global policy, the tenant\'s own and the one in force; the CLI and the API see each other\'s changes', async () => {
    expect(cliFor(dbPath)('categories', 'set', 'anonymous', 'challenge').stdout).toBe('anonymous: challenge (global)\n');
    expect((await call('cg_acme', 'PUT', '/v1/categories/anonymous', { tenant: 'acme', action: 'block' })).body).toEqual({
      category: 'anonymous',
      global: { scope: 'global', action: 'challenge', when: null, tz: null },
      own: { scope: 'tenant:acme', action: 'block', when: null, tz: null },
      inForce: { scope: 'tenant:acme', action: 'block', when: null, tz: null },
    });
    const put = await call('cg_admin', 'PUT', '/v1/categories/toll-free', { action: 'busy', when: 'mon-fri 17:00-09:00', tz: 'Europe/London' });
    expect(put.status).toBe(200);
    expect(put.body.global).toEqual({ scope: 'global', action: 'busy', when: 'mon-fri 17:00-09:00', tz: 'Europe/London' });

    const acme = await call('cg_viewer', 'GET', '/v1/categories?tenant=acme');
    expect(acme.status).toBe(200);
    expect(acme.body.tenant).toBe('acme');
    expect(acme.body.categories.map((row: { category: string }) => row.category)).toEqual(['anonymous', 'invalid', 'toll_free', 'premium', 'international', 'neighbor', 'unverified']);
    expect(view(acme.body, 'anonymous').inForce.action).toBe('block');
    expect(view(acme.body, 'toll_free')).toMatchObject({ own: null, inForce: { scope: 'global', action: 'busy' } });
    expect(view(acme.body, 'premium')).toEqual({ category: 'premium', global: null, own: null, inForce: null });
    const global = await call('cg_acme', 'GET', '/v1/categories');
    expect(view(global.body, 'anonymous')).toMatchObject({ own: null, inForce: { scope: 'global', action: 'challenge' } });

    // What the API set, the CLI lists; and the explain step uses it.
    expect(jsonOf(cliFor(dbPath)('categories', 'list', '--json'))).toEqual([
      { scope: 'global', category: 'anonymous', action: 'challenge', when: null, tz: null },
      { scope: 'global', category: 'toll_free', action: 'busy', when: 'mon-fri 17:00-09:00', tz: 'Europe/London' },
      { scope: 'tenant:acme', category: 'anonymous', action: 'block', when: null, tz: null },
    ]);
    const explained = await call('cg_acme', 'GET', `/v1/explain?from=anonymous&to=${encodeURIComponent(ACME_DID)}`);
    expect(explained.body).toMatchObject({ action: 'block', category: 'anonymous', scope: 'tenant:acme' });
  });

  it('a null action removes the tenant\'s own policy (it falls back to the global one); audited with the token or user', async () => {
    await call('cg_admin', 'PUT', '/v1/categories/neighbor', { action: 'challenge' });
    await call('cg_acme', 'PUT', '/v1/categories/neighbor', { tenant: 'acme', action: 'allow' });
    const removed = await call('cg_acme', 'PUT', '/v1/categories/neighbor', { tenant: 'acme', action: null });
    expect(removed.body).toMatchObject({ own: null, inForce: { scope: 'global', action: 'challenge' } });
    // Removing what is not there changes nothing.
    expect((await call('cg_acme', 'PUT', '/v1/categories/neighbor', { tenant: 'acme', action: null })).status).toBe(200);
    expect(new CategoryStore(db).list()).toEqual([{ scope: 'global', category: 'neighbor', action: 'challenge', when: null, tz: null }]);
    expect(audited('category')).toEqual(['token:ops add global neighbor', 'user:alice add tenant:acme neighbor', 'user:alice remove tenant:acme neighbor']);
  });

  it('bad input is a 400 naming the field, and nothing is written', async () => {
    await expectFieldErrors('cg_admin', 'PUT', [
      ['/v1/categories/spammy', { action: 'block' }, 'category'],
      ['/v1/categories/anonymous', { action: 'forward' }, 'action'],
      ['/v1/categories/anonymous', { action: 'block', when: 'someday 25:00-26:00' }, 'when'],
      ['/v1/categories/anonymous', { action: 'block', when: 'mon-fri 09:00-17:00', tz: 'Mars/Olympus' }, 'when'],
      ['/v1/categories/anonymous', { action: 'block', tz: 'UTC' }, 'when'],
      ['/v1/categories/anonymous', { action: null, when: 'mon-fri 09:00-17:00' }, 'when'],
      ['/v1/categories/anonymous', { tenant: 'nobody', action: 'block' }, 'tenant'],
      ['/v1/categories/anonymous', { tenant: 'bad name!', action: 'block' }, 'tenant'],
      ['/v1/categories/anonymous', { tenant: 'acme' }, 'action'],
      ['/v1/categories/anonymous', { action: 'block', colour: 'red' }, 'colour'],
      ['/v1/categories/anonymous', { action: 7 }, 'action'],
    ]);
    const { status, body } = await call('cg_admin', 'GET', '/v1/categories?tenant=nobody');
    expect([status, body.field]).toEqual([400, 'tenant']);
    expect(new CategoryStore(db).list()).toEqual([]);
  });

  it('a manager changes their own tenant only; a viewer changes nothing', async () => {
    await expectStatus('cg_acme', [
      ['PUT', '/v1/categories/anonymous', { tenant: 'globex', action: 'block' }, 403],
      ['PUT', '/v1/categories/anonymous', { action: 'block' }, 403],
      ['PUT', '/v1/categories/anonymous', { action: null }, 403],
      ['GET', '/v1/categories?tenant=globex', undefined, 403],
    ]);
    await expectStatus('cg_viewer', [
      ['PUT', '/v1/categories/anonymous', { tenant: 'acme', action: 'block' }, 403],
      ['PUT', '/v1/categories/anonymous', { tenant: 'acme', action: null }, 403],
      ['GET', '/v1/categories?tenant=acme', undefined, 200],
    ]);
    expect(new CategoryStore(db).list()).toEqual([]);
  });
});

describe('robocall protection', () => {
  it('off by default; a tenant inherits the global setting until it has its own; the CLI and the API see each other\'s changes', async () => {
    const first = await call('cg_viewer', 'GET', '/v1/protection?tenant=acme');
    expect(first.body).toMatchObject({ tenant: 'acme', enabled: false, threshold: 70, flagThreshold: 50, action: 'block', from: 'default', own: false, global: null });
    expect(first.body.score).toMatchObject({ attestation_a: -20, velocity_window: '10m' });
    expect(first.body.score).not.toHaveProperty('reputation_url');

    const global = await call('cg_admin', 'PUT', '/v1/protection', { enabled: true, threshold: 60 });
    expect(global.body).toMatchObject({ tenant: null, enabled: true, threshold: 60, flagThreshold: 40, from: 'global' });
    expect((await call('cg_acme', 'GET', '/v1/protection?tenant=acme')).body).toMatchObject({ enabled: true, threshold: 60, from: 'global', own: false });

    const own = await call('cg_acme', 'PUT', '/v1/protection', { tenant: 'acme', threshold: 80 });
    expect(own.body).toMatchObject({ tenant: 'acme', enabled: true, threshold: 80, flagThreshold: 60, action: 'block', from: 'tenant:acme', own: true, global: { scope: 'global', threshold: 60 } });
    const off = await call('cg_acme', 'PUT', '/v1/protection', { tenant: 'acme', enabled: false });
    expect(off.body).toMatchObject({ enabled: false, threshold: 80, flagThreshold: 60 });
    const flag = await call('cg_acme', 'PUT', '/v1/protection', { tenant: 'acme', enabled: true, flagThreshold: null, action: 'challenge' });
    expect(flag.body).toMatchObject({ enabled: true, threshold: 80, flagThreshold: null, action: 'challenge' });

    // The CLI reads what the API wrote, and the API what the CLI wrote.
    const cli = cliFor(dbPath);
    const shown = jsonOf<{ tenants: { tenant: string; from: string; threshold: number; enabled: boolean }[] }>(cli('protection', 'show', '--json'));
    expect(shown.tenants.find((row) => row.tenant === 'acme')).toMatchObject({ from: 'tenant:acme', threshold: 80, enabled: true });
    expect(shown.tenants.find((row) => row.tenant === 'globex')).toMatchObject({ from: 'global', threshold: 60 });
    expect(cli('protection', 'on', '--tenant', 'globex', '--threshold', '40').status).toBe(0);
    expect((await call('cg_admin', 'GET', '/v1/protection?tenant=globex')).body).toMatchObject({ enabled: true, threshold: 40, flagThreshold: 20, from: 'tenant:globex', own: true });

    expect(audited('protection')).toEqual(['token:ops add global', 'user:alice add tenant:acme', 'user:alice change tenant:acme', 'user:alice change tenant:acme', expect.stringMatching(/^cli:.* add tenant:globex$/)]);
  });

  it('a threshold outside 10-100 (or any other bad value) is a 400 naming the field, and nothing is written', async () => {
    await call('cg_admin', 'PUT', '/v1/protection', { enabled: true, threshold: 50 });
    const before = new ProtectionStore(db).list();
    await expectFieldErrors('cg_admin', 'PUT', [
      ['/v1/protection', { threshold: 9 }, 'threshold'],
      ['/v1/protection', { threshold: 101 }, 'threshold'],
      ['/v1/protection', { threshold: 55.5 }, 'threshold'],
      ['/v1/protection', { threshold: 'high' }, 'threshold'],
      ['/v1/protection', { threshold: 50, flagThreshold: 51 }, 'flagThreshold'],
      ['/v1/protection', { flagThreshold: 60 }, 'flagThreshold'],
      ['/v1/protection', { flagThreshold: -1 }, 'flagThreshold'],
      ['/v1/protection', { action: 'busy' }, 'action'],
      ['/v1/protection', { enabled: 'yes' }, 'enabled'],
      ['/v1/protection', { tenant: 'nobody', enabled: true }, 'tenant'],
      ['/v1/protection', { enabled: true, colour: 'red' }, 'colour'],
    ]);
    expect((await call('cg_admin', 'PUT', '/v1/protection', { threshold: 20, flagThreshold: 10 })).status).toBe(200);
    expect(new ProtectionStore(db).list()).toEqual([{ ...before[0], threshold: 20, flagThreshold: 10 }]);
    const message = (await call('cg_admin', 'PUT', '/v1/protection', { threshold: 9 })).body.error;
    expect(message).toBe('bad threshold "9": expected a whole number from 10 to 100');
    expect((await call('cg_admin', 'GET', '/v1/protection?tenant=bad%20name')).body.field).toBe('tenant');
  });

  it('a manager changes their own tenant only; a viewer changes nothing', async () => {
    await expectStatus('cg_acme', [
      ['PUT', '/v1/protection', { tenant: 'globex', enabled: true }, 403],
      ['PUT', '/v1/protection', { enabled: true }, 403],
      ['GET', '/v1/protection?tenant=globex', undefined, 403],
      ['GET', '/v1/protection', undefined, 200],
    ]);
    await expectStatus('cg_viewer', [
      ['PUT', '/v1/protection', { tenant: 'acme', enabled: true }, 403],
      ['PUT', '/v1/protection', { tenant: 'acme', threshold: 50 }, 403],
    ]);
    expect(new ProtectionStore(db).list()).toEqual([]);
  });
});

describe('the allow list (allow rules)', () => {
  const entries = async (token: string, query = '') => ((await call(token, 'GET', `/v1/allow-list${query}`)).body.entries as { id: number; scope: string; key: string }[]).map((rule) => `${rule.scope} ${rule.key}`);

  it('adds allow rules that end screening, lists those that apply to a tenant, removes them; the CLI sees the same rules', async () => {
    expect((await call('cg_admin', 'POST', '/v1/rules', { patterns: '212*', action: 'block' })).status).toBe(201);
    const blocked = await call('cg_acme', 'GET', `/v1/explain?from=2125551234&to=${encodeURIComponent(ACME_DID)}`);
    expect(blocked.body.action).toBe('block');

    const added = await call('cg_acme', 'POST', '/v1/allow-list', { number: '(212) 555-1234', tenant: 'acme', note: 'our accountant' });
    expect(added.status).toBe(201);
    expect(added.body.entries).toEqual([expect.objectContaining({ scope: 'tenant:acme', kind: 'number', key: '+12125551234', action: 'allow', note: 'our accountant' })]);
    expect((await call('cg_acme', 'GET', `/v1/explain?from=2125551234&to=${encodeURIComponent(ACME_DID)}`)).body).toMatchObject({ action: 'allow', ruleId: added.body.entries[0].id });

    await call('cg_admin', 'POST', '/v1/allow-list', { number: '+13125550001, +13125550002' });
    await call('cg_admin', 'POST', '/v1/allow-list', { number: '+13125550003', tenant: 'globex' });
    expect(cliFor(dbPath)('rules', 'add', '404-555-0000', '--action', 'allow', '--scope', `did:${ACME_DID}`).status).toBe(0);
    expect(await entries('cg_acme', '?tenant=acme')).toEqual(['tenant:acme +12125551234', 'global +13125550001', 'global +13125550002', `did:${ACME_DID} +14045550000`]);
    expect(await entries('cg_viewer')).toEqual(['tenant:acme +12125551234', 'global +13125550001', 'global +13125550002', `did:${ACME_DID} +14045550000`]);
    expect(await entries('cg_admin')).toHaveLength(5);
    expect(await entries('cg_admin', '?tenant=globex')).toEqual(['global +13125550001', 'global +13125550002', 'tenant:globex +13125550003']);
    const page = await call('cg_admin', 'GET', '/v1/allow-list?limit=2');
    expect(page.body.entries).toHaveLength(2);
    const rest = await call('cg_admin', 'GET', `/v1/allow-list?limit=10&after=${page.body.next}`);
    expect(rest.body).toMatchObject({ next: null });
    expect(rest.body.entries).toHaveLength(3);

    // The CLI lists the same rules; the block rule is no allow-list entry.
    const listed = jsonOf<{ action: string; key: string }[]>(cliFor(dbPath)('rules', 'list', '--json')).filter((rule) => rule.action === 'allow');
    expect(listed).toHaveLength(5);
    const removed = await call('cg_acme', 'DELETE', `/v1/allow-list/${added.body.entries[0].id}`);
    expect(removed.body.removed).toMatchObject({ key: '+12125551234', action: 'allow' });
    expect(await entries('cg_acme', '?tenant=acme')).not.toContain('tenant:acme +12125551234');
    expect(audited('rule')).toEqual([
      'token:ops add #1',
      `user:alice add #${added.body.entries[0].id}`,
      'token:ops add #3',
      'token:ops add #4',
      'token:ops add #5',
      expect.stringMatching(/^cli:.* add #6$/),
      `user:alice remove #${added.body.entries[0].id}`,
    ]);
  });

  it('bad input is a 400 naming the field, and nothing is written', async () => {
    await expectFieldErrors('cg_admin', 'POST', [
      ['/v1/allow-list', { number: 'not a number!' }, 'number'],
      ['/v1/allow-list', { number: '+12125551234, nope' }, 'number'],
      ['/v1/allow-list', { number: '' }, 'number'],
      ['/v1/allow-list', {}, 'number'],
      ['/v1/allow-list', { number: '+12125551234', tenant: 'nobody' }, 'tenant'],
      ['/v1/allow-list', { number: '+12125551234', expires: 'soonish' }, 'expires'],
      ['/v1/allow-list', { number: '+12125551234', action: 'block' }, 'action'],
    ]);
    expect((await call('cg_admin', 'GET', '/v1/allow-list?limit=0')).body.field).toBe('limit');
    expect([...new RuleStore(db, 'test').iterate()]).toEqual([]);
  });

  it('a manager allows for their own tenant only and removes only theirs; a viewer changes nothing', async () => {
    const [globexRule] = (await call('cg_admin', 'POST', '/v1/allow-list', { number: '+13125550003', tenant: 'globex' })).body.entries;
    const [globalRule] = (await call('cg_admin', 'POST', '/v1/allow-list', { number: '+13125550004' })).body.entries;
    const [acmeRule] = (await call('cg_admin', 'POST', '/v1/allow-list', { number: '+13125550005', tenant: 'acme' })).body.entries;
    const [blockRule] = new RuleStore(db, 'test').add([{ kind: 'number', key: '+13125550006', pattern: '+13125550006', span: 0, scope: 'tenant:acme', action: 'block', target: null, sms: false, note: null, list: null, expiresAt: null } as never]);
    await expectStatus('cg_acme', [
      ['POST', '/v1/allow-list', { number: '+12125551234', tenant: 'globex' }, 403],
      ['POST', '/v1/allow-list', { number: '+12125551234' }, 403],
      ['GET', '/v1/allow-list?tenant=globex', undefined, 403],
      ['DELETE', `/v1/allow-list/${globexRule.id}`, undefined, 404],
      ['DELETE', `/v1/allow-list/${globalRule.id}`, undefined, 403],
      ['DELETE', `/v1/allow-list/${blockRule}`, undefined, 404],
      ['DELETE', '/v1/allow-list/999999', undefined, 404],
    ]);
    await expectStatus('cg_viewer', [
      ['POST', '/v1/allow-list', { number: '+12125551234', tenant: 'acme' }, 403],
      ['DELETE', `/v1/allow-list/${acmeRule.id}`, undefined, 403],
    ]);
    expect([...new RuleStore(db, 'test').iterate()].map((rule) => rule.id)).toEqual([globexRule.id, globalRule.id, acmeRule.id, blockRule]);
  });
});

describe('the carrier blocklist', () => {
  const patterns = (body: any) => (body.carriers as { scope: string; pattern: string }[]).map((row) => `${row.scope} ${row.pattern}`);

  it('adds case-insensitive carrier rules that protection applies, lists those that apply to a tenant, removes by id; the CLI sees the same rules', async () => {
    const global = await call('cg_admin', 'POST', '/v1/carriers', { pattern: '  Bandwidth ' });
    expect(global).toEqual({ status: 201, body: { id: expect.any(Number), scope: 'global', pattern: 'bandwidth' } });
    const mine = await call('cg_acme', 'POST', '/v1/carriers', { pattern: 'VoIP Innovations', scope: 'tenant:acme' });
    expect(mine.body).toMatchObject({ scope: 'tenant:acme', pattern: 'voip innovations' });
    expect((await call('cg_acme', 'POST', '/v1/carriers', { pattern: 'Telco', scope: 'did:404-555-0100' })).body).toMatchObject({ scope: `did:${ACME_DID}`, pattern: 'telco' });
    await call('cg_admin', 'POST', '/v1/carriers', { pattern: 'globex only', scope: 'tenant:globex' });
    expect(cliFor(dbPath)('carriers', 'add', 'Shady Telecom', '--scope', 'tenant:acme').status).toBe(0);

    expect(patterns((await call('cg_viewer', 'GET', '/v1/carriers?tenant=acme')).body)).toEqual(['did:+14045550100 telco', 'global bandwidth', 'tenant:acme shady telecom', 'tenant:acme voip innovations']);
    expect(patterns((await call('cg_acme', 'GET', '/v1/carriers')).body)).not.toContain('tenant:globex globex only');
    expect(patterns((await call('cg_admin', 'GET', '/v1/carriers')).body)).toHaveLength(5);

    // Protection on for acme: a call through a matching carrier is rejected before it rings.
    await call('cg_acme', 'PUT', '/v1/protection', { tenant: 'acme', enabled: true });
    const explained = await call('cg_acme', 'GET', `/v1/explain?from=2125551234&to=${encodeURIComponent(ACME_DID)}&carrier=${encodeURIComponent('Bandwidth, Inc.')}&attestation=A`);
    expect(explained.body).toMatchObject({ action: 'block', scope: 'global' });

    const removed = await call('cg_acme', 'DELETE', `/v1/carriers/${mine.body.id}`);
    expect(removed.body.removed).toEqual([{ id: mine.body.id, scope: 'tenant:acme', pattern: 'voip innovations' }]);
    const cliList = jsonOf<{ pattern: string }[]>(cliFor(dbPath)('carriers', 'list', '--json', '--tenant', 'acme'));
    expect(cliList.map((row) => row.pattern)).toEqual(['telco', 'bandwidth', 'shady telecom']);
    expect(audited('carrier')).toEqual([
      `token:ops add #${global.body.id}`,
      `user:alice add #${mine.body.id}`,
      expect.stringMatching(/^user:alice add #\d+$/),
      expect.stringMatching(/^token:ops add #\d+$/),
      expect.stringMatching(/^cli:.* add #\d+$/),
      `user:alice remove #${mine.body.id}`,
    ]);
  });

  it('bad input is a 400 naming the field, and nothing is written', async () => {
    await call('cg_admin', 'POST', '/v1/carriers', { pattern: 'bandwidth' });
    await expectFieldErrors('cg_admin', 'POST', [
      ['/v1/carriers', { pattern: 'x' }, 'pattern'],
      ['/v1/carriers', { pattern: 'a\u0001b' }, 'pattern'],
      ['/v1/carriers', { pattern: 'x'.repeat(101) }, 'pattern'],
      ['/v1/carriers', { pattern: 'BANDWIDTH' }, 'pattern'],
      ['/v1/carriers', {}, 'pattern'],
      ['/v1/carriers', { pattern: 'telco', scope: 'tenant:nobody' }, 'scope'],
      ['/v1/carriers', { pattern: 'telco', scope: 'nowhere' }, 'scope'],
      ['/v1/carriers', { pattern: 'telco', scope: 'did:123' }, 'scope'],
      ['/v1/carriers', { pattern: 'telco', action: 'block' }, 'action'],
    ]);
    expect((await call('cg_admin', 'DELETE', '/v1/carriers/abc')).body.field).toBe('id');
    expect(new ProtectionStore(db).carriers().map((row) => row.pattern)).toEqual(['bandwidth']);
  });

  it('a manager adds and removes carrier rules of their own tenant only; a viewer changes nothing', async () => {
    const globalRule = (await call('cg_admin', 'POST', '/v1/carriers', { pattern: 'bandwidth' })).body;
    const globexRule = (await call('cg_admin', 'POST', '/v1/carriers', { pattern: 'bandwidth', scope: 'tenant:globex' })).body;
    const acmeRule = (await call('cg_admin', 'POST', '/v1/carriers', { pattern: 'bandwidth', scope: 'tenant:acme' })).body;
    await expectStatus('cg_acme', [
      ['POST', '/v1/carriers', { pattern: 'telco' }, 403],
      ['POST', '/v1/carriers', { pattern: 'telco', scope: 'tenant:globex' }, 403],
      ['POST', '/v1/carriers', { pattern: 'telco', scope: `did:${GLOBEX_DID}` }, 403],
      ['GET', '/v1/carriers?tenant=globex', undefined, 403],
      ['DELETE', `/v1/carriers/${globexRule.id}`, undefined, 404],
      ['DELETE', `/v1/carriers/${globalRule.id}`, undefined, 403],
      ['DELETE', '/v1/carriers/999999', undefined, 404],
    ]);
    await expectStatus('cg_viewer', [
      ['POST', '/v1/carriers', { pattern: 'telco', scope: 'tenant:acme' }, 403],
      ['DELETE', `/v1/carriers/${acmeRule.id}`, undefined, 403],
    ]);
    expect(new ProtectionStore(db).carriers().map((row) => row.id).sort()).toEqual([globalRule.id, globexRule.id, acmeRule.id].sort());
  });
});

// ---------------------------------------------------------------- statistics

const insertCall = (at: number, tenant: string, action: string, extra: { outcome?: string; flagged?: boolean; score?: number } = {}) =>
  db
    .prepare(CALL_SQL[0])
    .run(randomBytes(8).toString('hex'), at, 'call', 'freeswitch', 'freeswitch', null, tenant, tenant === 'acme' ? ACME_DID : GLOBEX_DID, '+12125550000', '+12125550000', null, null, null, null, action, null, null, null, extra.score ?? null, extra.flagged ? 1 : 0, '[]', 10);

describe('statistics', () => {
  it('counts the impact cards over a period, bounded to the asker\'s tenants; the CLI counts the same', async () => {
    const now = Date.now();
    const recent = now - 30 * 60_000;
    insertCall(recent, 'acme', 'block', { score: 90 });
    insertCall(recent, 'acme', 'allow', { score: 50, flagged: true });
    insertCall(recent, 'acme', 'allow');
    insertCall(recent, 'acme', 'challenge', { score: 75 });
    db.prepare("UPDATE calls SET outcome = 'passed' WHERE action = 'challenge'").run();
    insertCall(now - 3 * 86_400_000, 'acme', 'block');
    insertCall(recent, 'globex', 'block');
    insertCall(recent, 'globex', 'voicemail');

    const acme = await call('cg_acme', 'GET', '/v1/stats');
    expect(acme.status).toBe(200);
    expect(acme.body).toMatchObject({ tenant: null, total: 4, scanned: 3, blocked: 1, flagged: 1, legitimate: 2, challenged: 1, challengePassed: 1, voicemail: 0 });
    expect(acme.body.since).toBeGreaterThanOrEqual(now - 86_400_000);
    expect((await call('cg_viewer', 'GET', '/v1/stats?since=7d')).body).toMatchObject({ total: 5, blocked: 2 });
    expect((await call('cg_admin', 'GET', '/v1/stats')).body).toMatchObject({ tenant: null, total: 6, blocked: 2, voicemail: 1 });
    expect((await call('cg_admin', 'GET', '/v1/stats?tenant=globex')).body).toMatchObject({ tenant: 'globex', total: 2, blocked: 1 });
    expect((await call('cg_acme', 'GET', '/v1/stats?tenant=acme')).body).toMatchObject({ tenant: 'acme', total: 4 });

    const { tenant: _tenant, since: _since, ...counters } = (await call('cg_admin', 'GET', '/v1/stats?tenant=acme&since=7d')).body;
    expect(jsonOf(cliFor(dbPath)('stats', '--tenant', 'acme', '--since', '7d', '--json'))).toEqual(counters);
  });

  it('calls per hour by outcome: every hour of the period oldest first, zero hours included, summing to the counters', async () => {
    const now = Date.now();
    const thisHour = Math.floor(now / HOUR_MS) * HOUR_MS;
    insertCall(now - 60_000 > thisHour ? now - 60_000 : now, 'acme', 'block');
    insertCall(thisHour - 2 * HOUR_MS + 10, 'acme', 'allow');
    insertCall(thisHour - 2 * HOUR_MS + 20, 'acme', 'allow', { flagged: true });
    insertCall(thisHour - 2 * HOUR_MS + 30, 'acme', 'forward');
    insertCall(thisHour - 3 * 24 * HOUR_MS, 'acme', 'busy');
    insertCall(thisHour - HOUR_MS, 'globex', 'block');

    const day = await call('cg_acme', 'GET', '/v1/stats/hourly');
    expect(day.status).toBe(200);
    expect(day.body).toMatchObject({ tenant: null, hours: 24 });
    const buckets = day.body.buckets as { at: number; total: number; blocked: number; flagged: number; legitimate: number; other: number }[];
    expect(buckets).toHaveLength(24);
    expect(buckets.map((bucket) => bucket.at)).toEqual(Array.from({ length: 24 }, (_, i) => thisHour - (23 - i) * HOUR_MS));
    expect(buckets[23]).toEqual({ at: thisHour, total: 1, blocked: 1, flagged: 0, legitimate: 0, other: 0 });
    expect(buckets[21]).toEqual({ at: thisHour - 2 * HOUR_MS, total: 3, blocked: 0, flagged: 1, legitimate: 1, other: 1 });
    expect(buckets[22]).toEqual({ at: thisHour - HOUR_MS, total: 0, blocked: 0, flagged: 0, legitimate: 0, other: 0 });
    expect(buckets.reduce((sum, bucket) => sum + bucket.total, 0)).toBe(4);

    const week = await call('cg_viewer', 'GET', '/v1/stats/hourly?hours=168&tenant=acme');
    expect(week.body.buckets).toHaveLength(168);
    expect(week.body.buckets.reduce((sum: number, bucket: { total: number }) => sum + bucket.total, 0)).toBe(5);
    const admin = await call('cg_admin', 'GET', '/v1/stats/hourly?hours=168');
    expect(admin.body.buckets.reduce((sum: number, bucket: { total: number }) => sum + bucket.total, 0)).toBe(6);
    const cards = await call('cg_admin', 'GET', '/v1/stats?since=168h');
    const summed = (key: string) => admin.body.buckets.reduce((sum: number, bucket: Record<string, number>) => sum + bucket[key]!, 0);
    expect([summed('blocked'), summed('flagged'), summed('legitimate')]).toEqual([cards.body.blocked, cards.body.flagged, cards.body.legitimate]);
  });

  it('bad input is a 400 naming the field; a manager or viewer sees only their tenants', async () => {
    await expectFieldErrors('cg_admin', 'GET', [
      ['/v1/stats?since=soon', undefined, 'since'],
      ['/v1/stats?since=0h', undefined, 'since'],
      ['/v1/stats?tenant=nobody', undefined, 'tenant'],
      ['/v1/stats?tenant=bad%20name', undefined, 'tenant'],
      ['/v1/stats?colour=red', undefined, 'colour'],
      ['/v1/stats/hourly?hours=12', undefined, 'hours'],
      ['/v1/stats/hourly?hours=many', undefined, 'hours'],
      ['/v1/stats/hourly?tenant=nobody', undefined, 'tenant'],
    ]);
    insertCall(Date.now(), 'globex', 'block');
    for (const token of ['cg_acme', 'cg_viewer']) {
      await expectStatus(token, [
        ['GET', '/v1/stats?tenant=globex', undefined, 403],
        ['GET', '/v1/stats/hourly?tenant=globex', undefined, 403],
        // Whether a tenant exists is not told to someone who may not see it.
        ['GET', '/v1/stats?tenant=nobody', undefined, 403],
      ]);
      expect((await call(token, 'GET', '/v1/stats')).body.total).toBe(0);
      expect((await call(token, 'GET', '/v1/stats/hourly')).body.buckets.every((bucket: { total: number }) => bucket.total === 0)).toBe(true);
    }
    expect((await call('cg_admin', 'GET', '/v1/stats')).body.total).toBe(1);
    expect((await api.inject({ method: 'GET', url: '/v1/stats' })).statusCode).toBe(401);
  });

  it('with 200,000 call-log rows the counters and the chart are summed per hour, agree with the rows through outcomes and pruning, and count a part hour by index', async () => {
    const now = Date.now();
    const rows = 200_000;
    const spanMs = 30 * 86_400_000;
    const insert = db.prepare(CALL_SQL[0]);
    const actions = ['allow', 'allow', 'allow', 'block', 'challenge', 'busy', 'voicemail', 'forward'];
    const tenants = ['acme', 'globex', 'default', 'acme'];
    interface Written { at: number; tenant: string; action: string; score: number | null; flagged: boolean; outcome: string | null }
    const written: Written[] = [];
    db.transaction(() => {
      for (let i = 0; i < rows; i++) {
        const call: Written = { at: now - spanMs + Math.floor((i * spanMs) / rows), tenant: tenants[i % 4]!, action: actions[i % 8]!, score: i % 3 === 0 ? null : 40, flagged: i % 17 === 0, outcome: null };
        written.push(call);
        insert.run(`bulk-${i}`, call.at, 'call', 'freeswitch', 'freeswitch', null, call.tenant, null, null, null, null, null, null, null, call.action, null, null, null, call.score, call.flagged ? 1 : 0, '[]', 10);
      }
    })();
    // Outcomes arrive later: challenges passed and failed, forwards answered.
    const outcomeOf = (i: number, call: Written) => (call.action === 'challenge' ? (i % 16 === 4 ? 'passed' : 'failed') : call.action === 'forward' ? 'answered' : null);
    db.transaction(() => {
      written.forEach((call, i) => {
        const outcome = outcomeOf(i, call);
        if (outcome === null || i % 5 === 0) return;
        call.outcome = outcome;
        db.prepare(CALL_SQL[1]).run(outcome, null, call.at + 1000, `bulk-${i}`);
      });
    })();

    // What the cards should say, counted here from what was written.
    const expected = (since: number, tenant?: string) => {
      const calls = written.filter((call) => call.at >= since && (tenant === undefined || call.tenant === tenant));
      const count = (test: (call: Written) => boolean) => calls.filter(test).length;
      return {
        total: calls.length,
        scanned: count((call) => call.score !== null),
        blocked: count((call) => ['block', 'busy', 'disconnected'].includes(call.action) || (call.action === 'challenge' && (call.outcome === 'failed' || call.outcome === 'hungup'))),
        flagged: count((call) => call.flagged),
        legitimate: count((call) => (call.action === 'allow' && !call.flagged) || (call.action === 'challenge' && call.outcome === 'passed')),
        challenged: count((call) => call.action === 'challenge'),
        challengePassed: count((call) => call.action === 'challenge' && call.outcome === 'passed'),
        challengeFailed: count((call) => call.action === 'challenge' && call.outcome === 'failed'),
        forwarded: count((call) => call.action === 'forward'),
        forwardAnswered: count((call) => call.action === 'forward' && call.outcome === 'answered'),
        voicemail: count((call) => call.action === 'voicemail'),
        wouldBlock: 0,
      };
    };
    const queries = new CallLogQueries(db);
    // A moment in the middle of an hour, so the part before the next whole hour is counted from the rows.
    const since = now - 7 * 86_400_000 - 1_234_567;
    expect(since % HOUR_MS).not.toBe(0);
    expect(queries.counters({ since })).toEqual(expected(since));
    expect(queries.counters({ since, tenant: 'acme' })).toEqual(expected(since, 'acme'));
    const two = queries.counters({ since, tenants: ['acme', 'globex'] });
    const [acmeCount, globexCount] = [expected(since, 'acme'), expected(since, 'globex')];
    expect(two.total).toBe(acmeCount.total + globexCount.total);
    expect(two.blocked).toBe(acmeCount.blocked + globexCount.blocked);
    expect(queries.counters({})).toEqual(expected(0));
    for (const filter of [{ since }, { since, tenant: 'acme' }, { since, tenants: ['acme', 'globex'] }]) {
      const detail = queries.partialHourPlan(filter).join('; ');
      expect(detail, JSON.stringify(filter)).toMatch(/USING (COVERING )?INDEX calls_by_(time|tenant)/);
      expect(detail, JSON.stringify(filter)).not.toMatch(/SCAN calls/);
    }

    // The chart and the cards agree with each other and with the rows written.
    const week = await call('cg_admin', 'GET', '/v1/stats/hourly?hours=168');
    const first = week.body.buckets[0].at as number;
    const weekCounts = expected(first);
    expect(week.body.buckets.reduce((sum: number, bucket: { total: number }) => sum + bucket.total, 0)).toBe(weekCounts.total);
    expect(week.body.buckets.reduce((sum: number, bucket: { blocked: number }) => sum + bucket.blocked, 0)).toBe(weekCounts.blocked);
    expect(week.body.buckets.reduce((sum: number, bucket: { legitimate: number }) => sum + bucket.legitimate, 0)).toBe(weekCounts.legitimate);
    expect((await call('cg_acme', 'GET', '/v1/stats?since=31d')).body.total).toBe(rows / 2);

    // Pruning takes the pruned calls' counts away with them.
    queries.setRetention('10d');
    const pruned = queries.prune(now);
    expect(pruned).toBe(written.filter((call) => call.at < now - 10 * 86_400_000).length);
    expect(queries.counters({})).toEqual(expected(now - 10 * 86_400_000));
    expect(db.prepare('SELECT COUNT(*) FROM call_hours WHERE total < 0 OR blocked < 0 OR legitimate < 0').pluck().get()).toBe(0);
  });
});
