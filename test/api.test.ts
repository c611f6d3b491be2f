// The REST API over the real store, through Fastify's own request injection: every route's
// happy path, its validation errors naming the field, role and tenant boundaries, session
// cookies with their CSRF check, sign-in rate limits, and an OpenAPI document made from the
// same schemas. Who is asking comes from a small in-memory authenticator here; the store
// behind `callguard serve`'s is tested with the users and tokens.
import { sqliteBackends } from '../agent/operations/store-backends';
import { randomBytes } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApi } from '../agent/api/server';
import type { Api } from '../agent/api/server';
import type { E164 } from '../agent/engine/types';
import { ReputationClient } from '../agent/screening/reputation';
import { AuditTrail } from '../agent/store/audit';
import { CALL_SQL } from '../agent/store/call-log';
import { openDatabase } from '../agent/store/database';
import { RuleStore } from '../agent/store/rules';
import { TenantStore } from '../agent/store/tenants';
import { MemoryAuthenticator, PASSWORD, as } from './helpers/api';
import { makeTempDir } from './helpers/temp-db';
import type { TempDir } from './helpers/temp-db';

let dir: TempDir;
let db: Database;
let api: Api;
let auth: MemoryAuthenticator;

beforeEach(async () => {
  dir = makeTempDir('callguard-api-');
  db = openDatabase(dir.file('callguard.db'));
  const tenants = new TenantStore(db, 'test');
  tenants.add('acme');
  tenants.add('globex');
  tenants.addDid('+14045550100' as E164, 'acme');
  tenants.addDid('+13125550100' as E164, 'globex');
  auth = new MemoryAuthenticator();
  api = await buildApi({ store: sqliteBackends(db), country: 'US', authenticator: auth, reputation: new ReputationClient(), logger: pino({ level: 'silent' }), secure: false });
});

afterEach(async () => {
  await api.close();
  db.close();
  dir.remove();
});

const rulePatterns = () => [...new RuleStore(db, 'test').iterate()].map((rule) => `${rule.scope} ${rule.key} ${rule.action}`);

function logCall(tenant: string, did: string, caller: string, name: string, action = 'block'): void {
  db.prepare(CALL_SQL[0]).run(randomBytes(8).toString('hex'), Date.now(), 'call', 'freeswitch', 'fs-east', null, tenant, did, caller, caller, name, null, null, null, action, null, null, null, null, 0, JSON.stringify(['Step 1: a rule']), 10);
}

describe('the OpenAPI document', () => {
  it('is generated from the schemas that validate the requests', async () => {
    const response = await api.inject({ method: 'GET', url: '/v1/openapi.json' });
    expect(response.statusCode).toBe(200);
    const document = response.json() as { openapi: string; paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { properties: Record<string, unknown>; required: string[] } }> } }>> };
    expect(document.openapi).toMatch(/^3\./);
    expect(Object.keys(document.paths)).toEqual(expect.arrayContaining(['/v1/session', '/v1/me', '/v1/tenants', '/v1/rules', '/v1/rules/{id}', '/v1/rules/bulk-delete', '/v1/explain', '/v1/calls', '/v1/audit']));
    const body = document.paths['/v1/rules']!.post!.requestBody!.content['application/json']!.schema;
    expect(Object.keys(body.properties)).toEqual(['patterns', 'name', 'nameWord', 'action', 'to', 'scope', 'sms', 'note', 'list', 'expires', 'when', 'tz']);
    expect(body.required).toEqual(['action']);
  });
});

describe('authentication', () => {
  it('no credentials or an unknown token: 401', async () => {
    expect((await api.inject({ method: 'GET', url: '/v1/rules' })).statusCode).toBe(401);
    expect((await api.inject({ method: 'GET', url: '/v1/rules', headers: as('cg_nope') })).statusCode).toBe(401);
    expect((await api.inject({ method: 'GET', url: '/v1/rules', headers: { authorization: 'Basic x' } })).statusCode).toBe(401);
  });

  it('a browser session: HttpOnly SameSite=Strict cookie, CSRF token required to change anything, gone after sign-out', async () => {
    const wrong = await api.inject({ method: 'POST', url: '/v1/session', payload: { name: 'alice', password: 'wrong password!' } });
    expect(wrong.statusCode).toBe(401);
    const signedIn = await api.inject({ method: 'POST', url: '/v1/session', payload: { name: 'alice', password: PASSWORD } });
    expect(signedIn.statusCode).toBe(200);
    const cookie = signedIn.cookies.find((c) => c.name === 'callguard_session')!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' });
    const { csrfToken } = signedIn.json() as { csrfToken: string };
    const cookies = { callguard_session: cookie.value };
    expect((await api.inject({ method: 'GET', url: '/v1/me', cookies })).json()).toMatchObject({ name: 'user:alice', tenants: ['acme'], mayChange: true });
    const rule = { patterns: '404-555-1234', action: 'block', scope: 'tenant:acme' };
    const forged = await api.inject({ method: 'POST', url: '/v1/rules', cookies, payload: rule });
    expect(forged.statusCode).toBe(403);
    expect((await api.inject({ method: 'POST', url: '/v1/rules', cookies, payload: rule, headers: { 'x-csrf-token': 'made-up' } })).statusCode).toBe(403);
    expect(rulePatterns()).toEqual([]);
    const made = await api.inject({ method: 'POST', url: '/v1/rules', cookies, payload: rule, headers: { 'x-csrf-token': csrfToken } });
    expect(made.statusCode).toBe(201);
    expect(new AuditTrail(db, 'test').list(undefined)[0]).toMatchObject({ actor: 'user:alice', verb: 'add', entity: 'rule' });
    const out = await api.inject({ method: 'DELETE', url: '/v1/session', cookies, headers: { 'x-csrf-token': csrfToken } });
    expect(out.statusCode).toBe(204);
    expect((await api.inject({ method: 'GET', url: '/v1/me', cookies })).statusCode).toBe(401);
  });

  it('sign-in attempts are limited per user name', async () => {
    const codes: number[] = [];
    for (let i = 0; i < 7; i++) codes.push((await api.inject({ method: 'POST', url: '/v1/session', payload: { name: 'alice', password: `guess ${i}` } })).statusCode);
    expect(codes.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(codes.slice(5)).toEqual([429, 429]);
    // Even the right password waits out the limit.
    expect((await api.inject({ method: 'POST', url: '/v1/session', payload: { name: 'alice', password: PASSWORD } })).statusCode).toBe(429);
  });
});

describe('rules', () => {
  it('adds a comma list as one rule each, which the CLI store sees at once, audited with the token name', async () => {
    const response = await api.inject({ method: 'POST', url: '/v1/rules', headers: as('cg_admin'), payload: { patterns: '702-500-4000, 212-900-8000, 217*', action: 'block', sms: true, note: 'from the API' } });
    expect(response.statusCode).toBe(201);
    expect((response.json() as { rules: unknown[] }).rules).toHaveLength(3);
    expect(rulePatterns()).toEqual(['global +17025004000 block', 'global +12129008000 block', 'global +1217 block']);
    expect(new AuditTrail(db, 'test').list(undefined).filter((row) => row.entity === 'rule').map((row) => row.actor)).toEqual(['token:ops', 'token:ops', 'token:ops']);
  });

  it('bad input is a 400 naming the field, and nothing is written', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ patterns: '404-555-1234, not a number!', action: 'block' }, 'patterns'],
      [{ patterns: '404-555-1234', action: 'explode' }, 'action'],
      [{ patterns: '404-555-1234', action: 'forward' }, 'action'],
      [{ patterns: '404-555-1234', action: 'block', scope: 'tenant:' }, 'scope'],
      [{ patterns: '404-555-1234', action: 'block', expires: 'soonish' }, 'expires'],
      [{ patterns: '404-555-1234', action: 'block', list: 'bad list!' }, 'list'],
      [{ patterns: '404-555-1234', action: 'block', when: 'someday 25:00-26:00' }, 'when'],
      [{ patterns: '404-555-1234' }, 'action'],
      [{ patterns: '404-555-1234', action: 'block', sms: 'yes' }, 'sms'],
      [{ patterns: '404-555-1234', action: 'block', colour: 'red' }, 'colour'],
      [{ name: '', action: 'block' }, 'name'],
      [{ name: '*', action: 'block' }, 'name'],
      [{ nameWord: ' ', action: 'block' }, 'nameWord'],
      [{ name: 'V9*', patterns: '404*', action: 'block' }, 'name'],
    ];
    for (const [payload, field] of cases) {
      const response = await api.inject({ method: 'POST', url: '/v1/rules', headers: as('cg_admin'), payload });
      expect(response.statusCode, JSON.stringify(payload)).toBe(400);
      expect((response.json() as { field?: string }).field, JSON.stringify(payload)).toBe(field);
    }
    expect(rulePatterns()).toEqual([]);
  });

  it('adds a caller-name rule (glob or whole words) with the same operation as the CLI', async () => {
    const glob = await api.inject({ method: 'POST', url: '/v1/rules', headers: as('cg_admin'), payload: { name: 'V9*', action: 'block', list: 'spoof', expires: '30d' } });
    expect(glob.statusCode).toBe(201);
    expect((glob.json() as { rules: unknown[] }).rules).toEqual([expect.objectContaining({ kind: 'name', key: 'v9*', pattern: 'V9*', list: 'spoof' })]);
    const words = await api.inject({ method: 'POST', url: '/v1/rules', headers: as('cg_acme'), payload: { nameWord: 'Car Warranty', action: 'challenge', scope: 'tenant:acme' } });
    expect(words.statusCode).toBe(201);
    expect(rulePatterns()).toEqual(['global v9* block', 'tenant:acme car warranty challenge']);
  });

  it('a manager changes their own tenant only, sees global rules and theirs, and gets 404 for another tenant\'s', async () => {
    const store = new RuleStore(db, 'test');
    const [globexRule] = store.add([{ kind: 'number', key: '+12125550000', pattern: '+12125550000', span: 0, scope: 'tenant:globex', action: 'block', target: null, sms: false, note: null, list: null, expiresAt: null } as never]);
    const [globalRule] = store.add([{ kind: 'number', key: '+12125550001', pattern: '+12125550001', span: 0, scope: 'global', action: 'block', target: null, sms: false, note: null, list: null, expiresAt: null } as never]);
    const mine = await api.inject({ method: 'POST', url: '/v1/rules', headers: as('cg_acme'), payload: { patterns: '404*', action: 'challenge', scope: 'did:404-555-0100' } });
    expect(mine.statusCode).toBe(201);
    for (const scope of ['tenant:globex', 'global', 'did:312-555-0100']) {
      const refused = await api.inject({ method: 'POST', url: '/v1/rules', headers: as('cg_acme'), payload: { patterns: '404*', action: 'block', scope } });
      expect(refused.statusCode, scope).toBe(403);
    }
    const listed = (await api.inject({ method: 'GET', url: '/v1/rules', headers: as('cg_acme') })).json() as { rules: { id: number }[] };
    expect(listed.rules.map((rule) => rule.id)).toEqual([globalRule, (mine.json() as { rules: { id: number }[] }).rules[0]!.id]);
    expect((await api.inject({ method: 'DELETE', url: `/v1/rules/${globexRule}`, headers: as('cg_acme') })).statusCode).toBe(404);
    expect((await api.inject({ method: 'DELETE', url: `/v1/rules/${globalRule}`, headers: as('cg_acme') })).statusCode).toBe(403);
    expect(store.byId(globexRule!)).toBeDefined();
  });

  it('a viewer reads but changes nothing', async () => {
    expect((await api.inject({ method: 'GET', url: '/v1/rules', headers: as('cg_viewer') })).statusCode).toBe(200);
    expect((await api.inject({ method: 'POST', url: '/v1/rules', headers: as('cg_viewer'), payload: { patterns: '404*', action: 'block', scope: 'tenant:acme' } })).statusCode).toBe(403);
    expect(rulePatterns()).toEqual([]);
  });

  it('pages with a cursor, and bulk delete is all or none', async () => {
    await api.inject({ method: 'POST', url: '/v1/rules', headers: as('cg_admin'), payload: { patterns: Array.from({ length: 25 }, (_, i) => `+1404555${String(1000 + i)}`).join(','), action: 'block' } });
    const seen: number[] = [];
    let after: number | null = null;
    do {
      const page = (await api.inject({ method: 'GET', url: `/v1/rules?limit=10${after ? `&after=${after}` : ''}`, headers: as('cg_admin') })).json() as { rules: { id: number }[]; next: number | null };
      seen.push(...page.rules.map((rule) => rule.id));
      after = page.next;
    } while (after !== null);
    expect(seen).toHaveLength(25);
    expect(new Set(seen).size).toBe(25);
    const failed = await api.inject({ method: 'POST', url: '/v1/rules/bulk-delete', headers: as('cg_admin'), payload: { ids: [seen[0], 999_999] } });
    expect(failed.statusCode).toBe(404);
    expect(rulePatterns()).toHaveLength(25);
    const done = await api.inject({ method: 'POST', url: '/v1/rules/bulk-delete', headers: as('cg_admin'), payload: { ids: seen.slice(0, 5) } });
    expect((done.json() as { removed: unknown[] }).removed).toHaveLength(5);
    expect(rulePatterns()).toHaveLength(20);
    expect((await api.inject({ method: 'GET', url: '/v1/rules?limit=0', headers: as('cg_admin') })).json()).toMatchObject({ field: 'limit' });
  });
});

describe('explain, the call log and the audit trail', () => {
  it('explain answers for the asker\'s tenants only', async () => {
    await api.inject({ method: 'POST', url: '/v1/rules', headers: as('cg_admin'), payload: { patterns: '212*', action: 'block', scope: 'tenant:acme' } });
    const ok = await api.inject({ method: 'GET', url: '/v1/explain?from=%2B12125551234&to=%2B14045550100', headers: as('cg_acme') });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ action: 'block', tenant: 'acme', scope: 'tenant:acme' });
    expect((await api.inject({ method: 'GET', url: '/v1/explain?from=%2B12125551234&to=%2B13125550100', headers: as('cg_acme') })).statusCode).toBe(403);
    const bad = await api.inject({ method: 'GET', url: '/v1/explain?from=1&to=%2B14045550100&attestation=Z', headers: as('cg_acme') });
    expect(bad.json()).toMatchObject({ field: 'attestation' });
  });

  it('the call log: newest first, a cursor, only the asker\'s tenants, caller text returned as data', async () => {
    for (let i = 0; i < 5; i++) logCall('acme', '+14045550100', `+1212555000${i}`, `<script>alert(${i})</script>`);
    logCall('globex', '+13125550100', '+12125559999', 'Globex caller');
    const first = (await api.inject({ method: 'GET', url: '/v1/calls?limit=3', headers: as('cg_acme') })).json() as { calls: { caller: string; callerName: string; tenant: string; pbx: string | null }[]; next: string };
    expect(first.calls.map((call) => call.caller)).toEqual(['+12125550004', '+12125550003', '+12125550002']);
    expect(first.calls[0]!.pbx).toBe('fs-east');
    expect(first.calls[0]!.callerName).toBe('<script>alert(4)</script>');
    const second = (await api.inject({ method: 'GET', url: `/v1/calls?limit=3&before=${first.next}`, headers: as('cg_acme') })).json() as { calls: { caller: string }[]; next: string | null };
    expect(second.calls.map((call) => call.caller)).toEqual(['+12125550001', '+12125550000']);
    expect(second.next).toBeNull();
    const admin = (await api.inject({ method: 'GET', url: '/v1/calls?caller=212-555-9999', headers: as('cg_admin') })).json() as { calls: { tenant: string }[] };
    expect(admin.calls.map((call) => call.tenant)).toEqual(['globex']);
    const theirs = (await api.inject({ method: 'GET', url: '/v1/calls?tenant=globex', headers: as('cg_acme') })).json() as { calls: unknown[] };
    expect(theirs.calls).toEqual([]);
    expect((await api.inject({ method: 'GET', url: '/v1/calls?did=nope', headers: as('cg_acme') })).json()).toMatchObject({ field: 'did' });
  });

  it('the audit trail is for administrators', async () => {
    await api.inject({ method: 'POST', url: '/v1/rules', headers: as('cg_admin'), payload: { patterns: '404*', action: 'block' } });
    expect((await api.inject({ method: 'GET', url: '/v1/audit', headers: as('cg_acme') })).statusCode).toBe(403);
    const changes = (await api.inject({ method: 'GET', url: '/v1/audit', headers: as('cg_admin') })).json() as { changes: { actor: string; entity: string }[] };
    expect(changes.changes[0]).toMatchObject({ actor: 'token:ops', entity: 'rule' });
  });

  it('tenants: the company picker lists only what the asker may see', async () => {
    const mine = (await api.inject({ method: 'GET', url: '/v1/tenants', headers: as('cg_acme') })).json() as { tenants: { name: string; dids: string[] }[] };
    expect(mine.tenants).toEqual([{ name: 'acme', mode: 'enforce', allowOnly: null, dids: ['+14045550100'], didAllowOnly: {}, rules: 0 }]);
    const all = (await api.inject({ method: 'GET', url: '/v1/tenants', headers: as('cg_admin') })).json() as { tenants: { name: string }[] };
    expect(all.tenants.map((tenant) => tenant.name)).toEqual(['acme', 'default', 'globex']);
  });
});
