// The REST API's users and tokens (administrators only) and the company picker remembered
// per user: every route's happy path, each validation error a 400 naming the field with
// nothing written, 403 for anyone but an administrator, a token made over the API working as
// a bearer token against the TokenStore, the CLI and the API seeing each other's accounts,
// and no password or token in any answer after the first, the audit trail or the log.
import { sqliteBackends } from '../agent/operations/store-backends';
import { Writable } from 'node:stream';
import type { Database } from 'better-sqlite3';
import pino from 'pino';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Authenticator } from '../agent/api/authenticator';
import { buildApi } from '../agent/api/server';
import type { Api } from '../agent/api/server';
import { StoreAuthenticator } from '../agent/api/store-authenticator';
import type { E164 } from '../agent/engine/types';
import { ReputationClient } from '../agent/screening/reputation';
import { AuditTrail } from '../agent/store/audit';
import { openDatabase } from '../agent/store/database';
import { TenantStore } from '../agent/store/tenants';
import { TokenStore } from '../agent/store/tokens';
import { UserStore } from '../agent/store/users';
import { MemoryAuthenticator, PASSWORD, as } from './helpers/api';
import { assertBuilt, cliFor, describeRun, jsonOf } from './helpers/run-cli';
import type { CliResult } from './helpers/run-cli';
import { makeTempDir } from './helpers/temp-db';
import type { TempDir } from './helpers/temp-db';

const NEW_PASSWORD = 'a long and secret pass phrase';

let dir: TempDir;
let db: Database;
let api: Api;
let cli: (...args: string[]) => CliResult;
/** Everything the API's logger wrote: a password or token must never show up in it. */
let logged: string;

/** The in-memory tokens (cg_admin, cg_acme, cg_viewer) and alice's session, else the store's tokens. */
class BothAuthenticator implements Authenticator {
  readonly memory = new MemoryAuthenticator();
  constructor(private readonly store: StoreAuthenticator) {}
  async byToken(token: string) {
    return (await this.memory.byToken(token)) ?? this.store.byToken(token);
  }
  bySession(sessionId: string) {
    return this.memory.bySession(sessionId);
  }
  signIn(name: string, password: string) {
    return this.memory.signIn(name, password);
  }
  signOut(sessionId: string): Promise<void> {
    return this.memory.signOut(sessionId);
  }
}

beforeAll(() => assertBuilt());

beforeEach(async () => {
  dir = makeTempDir('callguard-api-users-');
  db = openDatabase(dir.file('callguard.db'));
  const tenants = new TenantStore(db, 'test');
  tenants.add('acme');
  tenants.add('globex');
  tenants.addDid('+14045550100' as E164, 'acme');
  logged = '';
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logged += chunk.toString('utf8');
      done();
    },
  });
  api = await buildApi({ store: sqliteBackends(db), country: 'US', authenticator: new BothAuthenticator(new StoreAuthenticator(sqliteBackends(db).as('console').users)), reputation: new ReputationClient(), logger: pino({ level: 'trace' }, sink), secure: false });
  cli = cliFor(dir.file('callguard.db'));
});

afterEach(async () => {
  await api.close();
  db.close();
  dir.remove();
});

const auditRows = () => new AuditTrail(db, 'test').list(undefined, 10_000);
const userNames = () => new UserStore(db).list().map((user) => user.name);
const tokenNames = () => new TokenStore(db).list().map((token) => token.name);
const request = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: Record<string, unknown>, token = 'cg_admin') =>
  api.inject({ method, url, headers: as(token), ...(payload ? { payload } : {}) });

describe('users', () => {
  it('adds, lists, re-grants and removes users, audited as the administrator without the password; the CLI sees them', async () => {
    const added = await request('POST', '/v1/users', { name: 'Dave', role: 'manager', tenants: ['globex', 'acme'], password: NEW_PASSWORD });
    expect(added.statusCode, added.body).toBe(201);
    expect(added.json()).toEqual({ name: 'dave', role: 'manager', tenants: ['acme', 'globex'], createdAt: expect.any(Number), lastTenant: null });
    expect(added.body).not.toContain(NEW_PASSWORD);
    expect((await new UserStore(db).authenticate('dave', NEW_PASSWORD))?.name).toBe('dave');
    expect((await request('POST', '/v1/users', { name: 'root', role: 'admin', password: NEW_PASSWORD })).statusCode).toBe(201);

    const listed = await request('GET', '/v1/users');
    expect(listed.json()).toEqual({
      users: [
        { name: 'dave', role: 'manager', tenants: ['acme', 'globex'], createdAt: expect.any(Number), lastTenant: null },
        { name: 'root', role: 'admin', tenants: null, createdAt: expect.any(Number), lastTenant: null },
      ],
    });
    expect(jsonOf<{ name: string; tenants: string[] | null }[]>(cli('users', 'list', '--json')).map(({ name, tenants }) => ({ name, tenants }))).toEqual([
      { name: 'dave', tenants: ['acme', 'globex'] },
      { name: 'root', tenants: null },
    ]);

    const regranted = await request('PUT', '/v1/users/DAVE/tenants', { tenants: ['globex'] });
    expect(regranted.statusCode, regranted.body).toBe(200);
    expect(regranted.json()).toMatchObject({ name: 'dave', tenants: ['globex'] });
    expect(new UserStore(db).get('dave')?.tenants).toEqual(['globex']);

    expect((await request('DELETE', '/v1/users/root')).statusCode).toBe(204);
    expect(userNames()).toEqual(['dave']);

    const changes = auditRows().filter((row) => row.entity === 'user');
    expect(changes.map((row) => [row.actor, row.verb, row.key])).toEqual([
      ['token:ops', 'remove', 'root'],
      ['token:ops', 'change', 'dave'],
      ['token:ops', 'add', 'root'],
      ['token:ops', 'add', 'dave'],
    ]);
    const everything = JSON.stringify(auditRows()) + logged;
    expect(everything).not.toContain(NEW_PASSWORD);
    expect(everything).not.toContain('scrypt$');
  });

  it('a user the CLI adds, the API lists and removes', async () => {
    const added = cli('users', 'add', 'erin', '--role', 'viewer', '--tenant', 'acme');
    expect(added.status, describeRun(added)).toBe(2); // no password on stdin: refused, nothing written
    const withPassword = cliFor(dir.file('callguard.db'), { input: `${NEW_PASSWORD}\n` })('users', 'add', 'erin', '--role', 'viewer', '--tenant', 'acme');
    expect(withPassword.status, describeRun(withPassword)).toBe(0);
    expect((await request('GET', '/v1/users')).json()).toEqual({ users: [expect.objectContaining({ name: 'erin', role: 'viewer', tenants: ['acme'] })] });
    expect((await request('DELETE', '/v1/users/erin')).statusCode).toBe(204);
    expect(jsonOf<unknown[]>(cli('users', 'list', '--json'))).toEqual([]);
  });

  it('bad input is a 400 naming the field, and nothing is written', async () => {
    await new UserStore(db, 'test').add('taken', 'viewer', ['acme'], NEW_PASSWORD);
    const auditCount = auditRows().length;
    const good = { name: 'dave', role: 'manager', tenants: ['acme'], password: NEW_PASSWORD };
    const cases: [Record<string, unknown>, string][] = [
      [{ ...good, name: 'bad name' }, 'name'],
      [{ ...good, name: '' }, 'name'],
      [{ ...good, name: 'Taken' }, 'name'],
      [{ ...good, role: 'owner' }, 'role'],
      [{ ...good, tenants: [] }, 'tenants'],
      [{ name: 'dave', role: 'viewer', password: NEW_PASSWORD }, 'tenants'],
      [{ ...good, role: 'admin' }, 'tenants'],
      [{ ...good, tenants: ['acme', 'nowhere'] }, 'tenants'],
      [{ ...good, tenants: ['bad tenant!'] }, 'tenants'],
      [{ ...good, password: 'elevenchars' }, 'password'],
      [{ ...good, password: 'x'.repeat(1025) }, 'password'],
      [{ name: 'dave', role: 'manager', tenants: ['acme'] }, 'password'],
      [{ ...good, colour: 'red' }, 'colour'],
    ];
    for (const [payload, field] of cases) {
      const response = await request('POST', '/v1/users', payload);
      expect(response.statusCode, `${JSON.stringify(payload).slice(0, 200)} ${response.body}`).toBe(400);
      expect((response.json() as { field?: string }).field, JSON.stringify(payload).slice(0, 200)).toBe(field);
      expect(response.body).not.toContain(NEW_PASSWORD);
    }
    const regrants: [string, Record<string, unknown>, number, string?][] = [
      ['taken', { tenants: [] }, 400, 'tenants'],
      ['taken', { tenants: ['nowhere'] }, 400, 'tenants'],
      ['taken', {}, 400, 'tenants'],
      ['nobody', { tenants: ['acme'] }, 404],
      ['bad%20name', { tenants: ['acme'] }, 404],
    ];
    for (const [name, payload, code, field] of regrants) {
      const response = await request('PUT', `/v1/users/${name}/tenants`, payload);
      expect(response.statusCode, `${name} ${response.body}`).toBe(code);
      if (field) expect((response.json() as { field?: string }).field).toBe(field);
    }
    expect((await request('DELETE', '/v1/users/nobody')).statusCode).toBe(404);
    expect(userNames()).toEqual(['taken']);
    expect(new UserStore(db).get('taken')?.tenants).toEqual(['acme']);
    expect(auditRows()).toHaveLength(auditCount);
  });
});

describe('tokens', () => {
  it('answers a new token once; it works as a bearer token until removed, and no listing, audit row or log holds it', async () => {
    const made = await request('POST', '/v1/tokens', { name: 'CRM', role: 'manager', tenants: ['acme'] });
    expect(made.statusCode, made.body).toBe(201);
    const answer = made.json() as { token: string; name: string; role: string; tenants: string[]; lastUsedAt: null };
    expect(answer).toEqual({ token: expect.stringMatching(/^cg_[A-Za-z0-9_-]{43}$/), name: 'crm', role: 'manager', tenants: ['acme'], createdAt: expect.any(Number), lastUsedAt: null });
    const { token } = answer;
    expect(new TokenStore(db).verify(token)?.name).toBe('crm');

    // The new token is a manager of acme: it sees acme, not globex, and may not manage accounts.
    const tenants = await api.inject({ method: 'GET', url: '/v1/tenants', headers: as(token) });
    expect(tenants.statusCode).toBe(200);
    expect((tenants.json() as { tenants: { name: string }[] }).tenants.map((tenant) => tenant.name)).toEqual(['acme']);
    expect((await request('POST', '/v1/rules', { patterns: '404*', action: 'block', scope: 'tenant:acme' }, token)).statusCode).toBe(201);
    expect((await request('POST', '/v1/rules', { patterns: '404*', action: 'block', scope: 'tenant:globex' }, token)).statusCode).toBe(403);
    expect((await request('GET', '/v1/tokens', undefined, token)).statusCode).toBe(403);
    expect(auditRows()[0]).toMatchObject({ actor: 'token:crm', entity: 'rule' });

    const listed = await request('GET', '/v1/tokens');
    expect(listed.json()).toEqual({ tokens: [{ name: 'crm', role: 'manager', tenants: ['acme'], createdAt: expect.any(Number), lastUsedAt: expect.any(Number) }] });
    expect(listed.body).not.toContain(token);
    expect(jsonOf<{ name: string }[]>(cli('tokens', 'list', '--json')).map((row) => row.name)).toEqual(['crm']);

    expect((await request('DELETE', '/v1/tokens/CRM')).statusCode).toBe(204);
    expect((await api.inject({ method: 'GET', url: '/v1/tenants', headers: as(token) })).statusCode).toBe(401);
    expect(tokenNames()).toEqual([]);
    const changes = auditRows().filter((row) => row.entity === 'token');
    expect(changes.map((row) => [row.actor, row.verb, row.key])).toEqual([
      ['token:ops', 'remove', 'crm'],
      ['token:ops', 'add', 'crm'],
    ]);
    expect(JSON.stringify(auditRows()) + logged).not.toContain(token);
    expect(JSON.stringify(auditRows()) + logged).not.toContain(token.slice(3));
  });

  it('a token the CLI adds, the API lists and removes; one the API adds, the CLI removes', async () => {
    const added = cli('tokens', 'add', 'backup-bot', '--role', 'admin');
    expect(added.status, describeRun(added)).toBe(0);
    const token = added.stdout.trim();
    expect((await request('GET', '/v1/tenants', undefined, token)).statusCode).toBe(200);
    expect((await request('GET', '/v1/tokens')).json()).toMatchObject({ tokens: [{ name: 'backup-bot', role: 'admin', tenants: null }] });
    expect((await request('DELETE', '/v1/tokens/backup-bot')).statusCode).toBe(204);
    expect((await request('GET', '/v1/tenants', undefined, token)).statusCode).toBe(401);
    expect((await request('POST', '/v1/tokens', { name: 'wallboard', role: 'viewer', tenants: ['acme'] })).statusCode).toBe(201);
    expect(cli('tokens', 'remove', 'wallboard').stdout).toBe('removed token wallboard\n');
    expect((await request('GET', '/v1/tokens')).json()).toEqual({ tokens: [] });
  });

  it('bad input is a 400 naming the field, and nothing is written', async () => {
    new TokenStore(db, 'test').add('taken', 'admin', []);
    const auditCount = auditRows().length;
    const cases: [Record<string, unknown>, string][] = [
      [{ name: 'c r m', role: 'admin' }, 'name'],
      [{ name: 'TAKEN', role: 'admin' }, 'name'],
      [{ name: 'crm', role: 'root' }, 'role'],
      [{ name: 'crm', role: 'admin', tenants: ['acme'] }, 'tenants'],
      [{ name: 'crm', role: 'viewer' }, 'tenants'],
      [{ name: 'crm', role: 'viewer', tenants: ['nowhere'] }, 'tenants'],
      [{ name: 'crm' }, 'role'],
      [{ name: 'crm', role: 'admin', token: 'cg_mine' }, 'token'],
    ];
    for (const [payload, field] of cases) {
      const response = await request('POST', '/v1/tokens', payload);
      expect(response.statusCode, `${JSON.stringify(payload)} ${response.body}`).toBe(400);
      expect((response.json() as { field?: string }).field, JSON.stringify(payload)).toBe(field);
    }
    expect((await request('DELETE', '/v1/tokens/nothing')).statusCode).toBe(404);
    expect(tokenNames()).toEqual(['taken']);
    expect(auditRows()).toHaveLength(auditCount);
  });
});

describe('administrators only', () => {
  it('a manager, a viewer and a manager\'s own session get 403 on every user and token endpoint, and nothing is written', async () => {
    await new UserStore(db, 'test').add('taken', 'viewer', ['acme'], NEW_PASSWORD);
    new TokenStore(db, 'test').add('bot', 'viewer', ['acme']);
    const auditCount = auditRows().length;
    const calls: ['GET' | 'POST' | 'PUT' | 'DELETE', string, Record<string, unknown>?][] = [
      ['GET', '/v1/users'],
      ['POST', '/v1/users', { name: 'mallory', role: 'admin', password: NEW_PASSWORD }],
      ['PUT', '/v1/users/taken/tenants', { tenants: ['acme', 'globex'] }],
      ['DELETE', '/v1/users/taken'],
      ['GET', '/v1/tokens'],
      ['POST', '/v1/tokens', { name: 'mallory', role: 'admin' }],
      ['DELETE', '/v1/tokens/bot'],
    ];
    for (const token of ['cg_acme', 'cg_viewer']) {
      for (const [method, url, payload] of calls) {
        const response = await request(method, url, payload, token);
        expect(response.statusCode, `${token} ${method} ${url}`).toBe(403);
      }
    }
    const signedIn = await api.inject({ method: 'POST', url: '/v1/session', payload: { name: 'alice', password: PASSWORD } });
    const cookies = { callguard_session: signedIn.cookies.find((c) => c.name === 'callguard_session')!.value };
    const { csrfToken } = signedIn.json() as { csrfToken: string };
    expect((await api.inject({ method: 'POST', url: '/v1/tokens', cookies, headers: { 'x-csrf-token': csrfToken }, payload: { name: 'mallory', role: 'admin' } })).statusCode).toBe(403);
    expect(userNames()).toEqual(['taken']);
    expect(tokenNames()).toEqual(['bot']);
    expect(new UserStore(db).get('taken')?.tenants).toEqual(['acme']);
    expect(auditRows()).toHaveLength(auditCount);
  });
});

describe('the company picker, remembered', () => {
  /** alice's browser session (the in-memory authenticator's manager of acme), with her row in the store. */
  async function signInAlice(): Promise<{ cookies: Record<string, string>; csrf: Record<string, string> }> {
    await new UserStore(db, 'test').add('alice', 'manager', ['acme'], PASSWORD);
    const signedIn = await api.inject({ method: 'POST', url: '/v1/session', payload: { name: 'alice', password: PASSWORD } });
    expect(signedIn.statusCode).toBe(200);
    return {
      cookies: { callguard_session: signedIn.cookies.find((c) => c.name === 'callguard_session')!.value },
      csrf: { 'x-csrf-token': (signedIn.json() as { csrfToken: string }).csrfToken },
    };
  }

  it('PUT /v1/me/tenant remembers the choice, which GET /v1/me answers as lastTenant; the store keeps it', async () => {
    const { cookies, csrf } = await signInAlice();
    expect((await api.inject({ method: 'GET', url: '/v1/me', cookies })).json()).toMatchObject({ name: 'user:alice', lastTenant: null });
    const picked = await api.inject({ method: 'PUT', url: '/v1/me/tenant', cookies, headers: csrf, payload: { tenant: 'acme' } });
    expect(picked.statusCode, picked.body).toBe(200);
    expect(picked.json()).toEqual({ lastTenant: 'acme' });
    expect((await api.inject({ method: 'GET', url: '/v1/me', cookies })).json()).toMatchObject({ name: 'user:alice', tenants: ['acme'], lastTenant: 'acme' });
    expect(new UserStore(db).get('alice')?.lastTenant).toBe('acme');
    // Without the CSRF token a cookie changes nothing.
    expect((await api.inject({ method: 'PUT', url: '/v1/me/tenant', cookies, payload: { tenant: 'acme' } })).statusCode).toBe(403);
    // A preference, not an audited change.
    expect(auditRows().filter((row) => row.actor === 'user:alice')).toEqual([]);
  });

  it('refuses a tenant the user may not see or that does not exist (400 naming the field), and tokens: only people pick', async () => {
    const { cookies, csrf } = await signInAlice();
    const cases: [Record<string, unknown>, string][] = [
      [{ tenant: 'globex' }, 'tenant'],
      [{ tenant: 'nowhere' }, 'tenant'],
      [{ tenant: 'bad tenant!' }, 'tenant'],
      [{ tenant: '' }, 'tenant'],
      [{}, 'tenant'],
      [{ tenant: 'acme', colour: 'red' }, 'colour'],
    ];
    for (const [payload, field] of cases) {
      const response = await api.inject({ method: 'PUT', url: '/v1/me/tenant', cookies, headers: csrf, payload });
      expect(response.statusCode, JSON.stringify(payload)).toBe(400);
      expect((response.json() as { field?: string }).field, JSON.stringify(payload)).toBe(field);
    }
    expect(new UserStore(db).get('alice')?.lastTenant).toBeNull();
    // cg_admin and cg_viewer are machine tokens (token:ops, token:wallboard).
    for (const token of ['cg_admin', 'cg_viewer']) {
      const byToken = await request('PUT', '/v1/me/tenant', { tenant: 'acme' }, token);
      expect(byToken.statusCode).toBe(400);
      expect(byToken.json()).toMatchObject({ error: expect.stringContaining('only people pick') });
      expect((await request('GET', '/v1/me', undefined, token)).json()).not.toHaveProperty('lastTenant');
    }
  });
});
