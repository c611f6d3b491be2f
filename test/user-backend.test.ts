// Users, machine tokens, console sessions and the remembered company on both backends: the
// same answers, the same audit entries field for field (never a password, token or hash),
// refusals naming their field with nothing written, and the API's authenticator over them.
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { StoreAuthenticator } from '../agent/api/store-authenticator';
import { BadInput } from '../agent/engine/bad-input';
import { Forbidden, NotFound, cliActing, principalActing } from '../agent/operations/acting';
import { addTenant, removeTenant } from '../agent/operations/tenants';
import {
  addToken,
  addUser,
  checkNewUser,
  lastTenantOf,
  listTokens,
  listUsers,
  rememberTenant,
  removeToken,
  removeUser,
  setUserPassword,
  setUserTenants,
  userForPassword,
} from '../agent/operations/users';
import { SESSION_ABSOLUTE_MS, SESSION_IDLE_MS } from '../agent/store/sessions';
import { LAST_USED_RESOLUTION_MS } from '../agent/store/tokens';
import type { UserBackend } from '../agent/store/user-backend';
import { BACKENDS } from './helpers/both-backends';
import type { Backend } from './helpers/both-backends';

const ACTOR = 'cli:tester';
const admin = cliActing(ACTOR);
const acmeManager = principalActing({ kind: 'user', name: 'ann', role: 'manager', tenants: ['acme'] });
const PASSWORD = 'a long enough pass phrase';
const NEW_PASSWORD = 'another long pass phrase';
const START = 1_700_000_000_000;

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The field a refusal names ('accepted' when there was none). */
const field = (work: Promise<unknown>) => work.then(() => 'accepted', (error: { field?: string }) => error.field);

describe.each(BACKENDS)('users, tokens and sessions on %s', (_name, open) => {
  let backend: Backend;
  let users: UserBackend;
  let now: number;

  /** The audit entries about `entity`, oldest first, before and after as objects. */
  const auditOf = async (entity: 'user' | 'token') => {
    const parsed = (json: unknown): unknown => (json === null ? null : JSON.parse(json as string));
    const rows = await backend.rows(`SELECT actor, verb, key, before, after FROM audit WHERE entity = '${entity}' ORDER BY id`);
    return rows.map((row) => ({ actor: row.actor, verb: row.verb, key: row.key, before: parsed(row.before), after: parsed(row.after) }));
  };
  const countOf = async (table: 'users' | 'user_tenants' | 'tokens' | 'token_tenants' | 'sessions') => Number((await backend.rows(`SELECT count(*) AS n FROM ${table}`))[0]!.n);

  beforeEach(async () => {
    backend = await open(ACTOR, cleanups);
    now = START;
    users = backend.users(() => now);
    await addTenant(backend.tenants, admin, 'acme');
    await addTenant(backend.tenants, admin, 'globex');
  });

  it('adds, lists, changes and removes users with their roles and tenants, audited field for field', async () => {
    expect(await addUser(users, admin, { name: 'Root', role: 'admin', tenants: [], password: PASSWORD })).toMatchObject({ name: 'root', role: 'admin', tenants: null, lastTenant: null });
    expect(await checkNewUser(users, admin, { name: 'Meg', role: 'manager', tenants: ['globex', 'acme', 'acme'] })).toEqual({ name: 'meg', role: 'manager', tenants: ['acme', 'globex'] });
    await addUser(users, admin, { name: 'Meg', role: 'manager', tenants: ['globex', 'acme', 'acme'], password: PASSWORD });
    await addUser(users, admin, { name: 'vic', role: 'viewer', tenants: ['acme'], password: PASSWORD });
    expect((await listUsers(users, admin)).map(({ name, role, tenants, lastTenant }) => ({ name, role, tenants, lastTenant }))).toEqual([
      { name: 'meg', role: 'manager', tenants: ['acme', 'globex'], lastTenant: null },
      { name: 'root', role: 'admin', tenants: null, lastTenant: null },
      { name: 'vic', role: 'viewer', tenants: ['acme'], lastTenant: null },
    ]);
    expect((await setUserTenants(users, admin, 'MEG', ['globex'])).tenants).toEqual(['globex']);
    await removeUser(users, admin, 'Vic');
    expect((await listUsers(users, admin)).map((user) => user.name)).toEqual(['meg', 'root']);
    expect(await countOf('user_tenants')).toBe(1);
    expect(await auditOf('user')).toEqual([
      { actor: ACTOR, verb: 'add', key: 'root', before: null, after: { name: 'root', role: 'admin', tenants: null } },
      { actor: ACTOR, verb: 'add', key: 'meg', before: null, after: { name: 'meg', role: 'manager', tenants: ['acme', 'globex'] } },
      { actor: ACTOR, verb: 'add', key: 'vic', before: null, after: { name: 'vic', role: 'viewer', tenants: ['acme'] } },
      { actor: ACTOR, verb: 'change', key: 'meg', before: { name: 'meg', role: 'manager', tenants: ['acme', 'globex'] }, after: { name: 'meg', role: 'manager', tenants: ['globex'] } },
      { actor: ACTOR, verb: 'remove', key: 'vic', before: { name: 'vic', role: 'viewer', tenants: ['acme'] }, after: null },
    ]);
    expect(JSON.stringify(await backend.rows('SELECT before, after FROM audit'))).not.toMatch(/scrypt|pass phrase/);
  });

  it('changes a password: the old one stops working and every session of the user ends; audited without it', async () => {
    const meg = await users.addUser('meg', 'manager', ['acme'], PASSWORD);
    const vic = await users.addUser('vic', 'viewer', ['acme'], PASSWORD);
    const megs = [await users.createSession(meg.id), await users.createSession(meg.id)];
    const vics = await users.createSession(vic.id);
    expect((await userForPassword(users, admin, 'MEG')).name).toBe('meg');
    await setUserPassword(users, admin, 'meg', NEW_PASSWORD);
    for (const session of megs) expect(await users.findSession(session.id)).toBeUndefined();
    expect((await users.findSession(vics.id))?.user.name).toBe('vic');
    expect(await users.authenticate('meg', PASSWORD)).toBeUndefined();
    expect((await users.authenticate('MEG', NEW_PASSWORD))?.name).toBe('meg');
    expect(await users.authenticate('nobody', NEW_PASSWORD)).toBeUndefined();
    expect(await users.authenticate('Bad Name!', NEW_PASSWORD)).toBeUndefined();
    expect(await users.authenticate('nul\0name', NEW_PASSWORD)).toBeUndefined();
    const changed = (await auditOf('user')).at(-1);
    expect(changed).toEqual({
      actor: ACTOR,
      verb: 'change',
      key: 'meg',
      before: { name: 'meg', role: 'manager', tenants: ['acme'] },
      after: { name: 'meg', role: 'manager', tenants: ['acme'], password: 'changed' },
    });
    await expect(setUserPassword(users, admin, 'meg', 'too short')).rejects.toThrow(new BadInput('password too short: at least 12 characters'));
    await expect(userForPassword(users, admin, 'nobody')).rejects.toThrow(new BadInput('unknown user "nobody"'));
    expect(await auditOf('user')).toHaveLength(3);
  });

  it('refuses bad names, roles, tenants and passwords naming their field, others than administrators, and unknown accounts, with nothing written', async () => {
    await addUser(users, admin, { name: 'taken', role: 'viewer', tenants: ['acme'], password: PASSWORD });
    const user = (name: string, role: string, tenants: string[], password = PASSWORD) => addUser(users, admin, { name, role, tenants, password });
    expect(await field(user('.bad', 'admin', []))).toBe('name');
    expect(await field(user('x'.repeat(65), 'admin', []))).toBe('name');
    expect(await field(user('new', 'god', []))).toBe('role');
    expect(await field(user('new', 'admin', ['acme']))).toBe('tenants');
    expect(await field(user('new', 'viewer', []))).toBe('tenants');
    expect(await field(user('new', 'viewer', ['Bad Tenant']))).toBe('tenants');
    await expect(user('new', 'viewer', ['acme', 'nowhere'])).rejects.toMatchObject({ message: `unknown tenant "nowhere": add it first with 'callguard tenants add nowhere'`, field: 'tenants' });
    expect(await field(user('new', 'viewer', ['acme'], 'eleven char'))).toBe('password');
    expect(await field(user('TAKEN', 'viewer', ['acme']))).toBe('name');
    await expect(user('TAKEN', 'viewer', ['acme'])).rejects.toThrow('user "taken" already exists');
    expect(await field(setUserTenants(users, admin, 'taken', []))).toBe('tenants');
    expect(await field(setUserTenants(users, admin, 'taken', ['nowhere']))).toBe('tenants');
    await addUser(users, admin, { name: 'root', role: 'admin', tenants: [], password: PASSWORD });
    await expect(setUserTenants(users, admin, 'root', ['acme'])).rejects.toMatchObject({ message: 'user "root" is an admin and sees every tenant', field: 'tenants' });
    await expect(setUserTenants(users, admin, 'nobody', ['acme'])).rejects.toBeInstanceOf(NotFound);
    await expect(removeUser(users, admin, 'nobody')).rejects.toThrow(new NotFound('unknown user "nobody"'));
    await expect(removeToken(users, admin, 'nobody')).rejects.toThrow(new NotFound('unknown token "nobody"'));
    for (const work of [
      () => listUsers(users, acmeManager),
      () => addUser(users, acmeManager, { name: 'new', role: 'viewer', tenants: ['acme'], password: PASSWORD }),
      () => removeUser(users, acmeManager, 'taken'),
      () => setUserTenants(users, acmeManager, 'taken', ['acme']),
      () => listTokens(users, acmeManager),
      () => addToken(users, acmeManager, { name: 'bot', role: 'viewer', tenants: ['acme'] }),
    ]) {
      await expect(work()).rejects.toBeInstanceOf(Forbidden);
    }
    const token = (name: string, role: string, tenants: string[]) => addToken(users, admin, { name, role, tenants });
    expect(await field(token('-bad', 'viewer', ['acme']))).toBe('name');
    expect(await field(token('bot', 'boss', ['acme']))).toBe('role');
    expect(await field(token('bot', 'viewer', ['nowhere']))).toBe('tenants');
    expect(await field(token('bot', 'admin', ['acme']))).toBe('tenants');
    expect((await listUsers(users, admin)).map((row) => row.name)).toEqual(['root', 'taken']);
    expect(await listTokens(users, admin)).toEqual([]);
    expect((await auditOf('user')).map((row) => `${row.verb} ${row.key}`)).toEqual(['add taken', 'add root']);
    expect(await auditOf('token')).toEqual([]);
  });

  it('adds, lists and removes tokens, finds one by its bearer string and notes its use at most once a minute', async () => {
    const made = await addToken(users, admin, { name: 'CRM', role: 'viewer', tenants: ['globex', 'acme'] });
    expect(made.token).toMatch(/^cg_[A-Za-z0-9_-]{43}$/);
    expect(made.row).toEqual({ name: 'crm', role: 'viewer', tenants: ['acme', 'globex'], createdAt: START, lastUsedAt: null });
    const ops = await addToken(users, admin, { name: 'ops', role: 'admin', tenants: [] });
    expect(await field(addToken(users, admin, { name: 'crm', role: 'viewer', tenants: ['acme'] }))).toBe('name');
    expect(await listTokens(users, admin)).toEqual([made.row, ops.row]);

    const authenticator = new StoreAuthenticator(users);
    expect(await authenticator.byToken(made.token)).toEqual({ actor: 'token:crm', tenants: ['acme', 'globex'], mayChange: false });
    expect(await authenticator.byToken(ops.token)).toEqual({ actor: 'token:ops', tenants: null, mayChange: true });
    expect(await authenticator.byToken('cg_nonsense')).toBeNull();
    expect(await authenticator.byToken(`cg_${'A'.repeat(43)}`)).toBeNull();
    expect((await users.verifyToken(made.token))?.lastUsedAt).toBe(START);
    now += LAST_USED_RESOLUTION_MS - 1;
    expect((await users.verifyToken(made.token))?.lastUsedAt).toBe(START);
    now += 1;
    expect((await users.verifyToken(made.token))?.lastUsedAt).toBe(now);
    expect((await listTokens(users, admin))[0]?.lastUsedAt).toBe(now);

    await removeToken(users, admin, 'CRM');
    expect(await authenticator.byToken(made.token)).toBeNull();
    expect((await listTokens(users, admin)).map((row) => row.name)).toEqual(['ops']);
    expect(await countOf('token_tenants')).toBe(0);
    const audit = await auditOf('token');
    expect(audit).toEqual([
      { actor: ACTOR, verb: 'add', key: 'crm', before: null, after: { name: 'crm', role: 'viewer', tenants: ['acme', 'globex'] } },
      { actor: ACTOR, verb: 'add', key: 'ops', before: null, after: { name: 'ops', role: 'admin', tenants: null } },
      { actor: ACTOR, verb: 'remove', key: 'crm', before: { name: 'crm', role: 'viewer', tenants: ['acme', 'globex'] }, after: null },
    ]);
    expect(JSON.stringify(await backend.rows('SELECT * FROM audit'))).not.toContain(made.token.slice(3));
  });

  it('signs in, keeps the session by sliding its expiry up to the absolute limit, and signs out; sessions are not audited', async () => {
    const meg = await users.addUser('meg', 'manager', ['acme'], PASSWORD);
    const authenticator = new StoreAuthenticator(users);
    expect(await authenticator.signIn('meg', 'not the password')).toBeNull();
    expect(await authenticator.signIn('nobody', PASSWORD)).toBeNull();
    const signedIn = (await authenticator.signIn('MEG', PASSWORD))!;
    expect(signedIn.session.acting).toEqual({ actor: 'user:meg', tenants: ['acme'], mayChange: true });
    expect(await countOf('sessions')).toBe(1);
    expect(JSON.stringify(await backend.rows('SELECT * FROM sessions'))).not.toContain(signedIn.sessionId);
    expect(await authenticator.bySession(signedIn.sessionId)).toEqual(signedIn.session);
    expect(await authenticator.bySession('not-a-session')).toBeNull();
    expect(await authenticator.bySession('A'.repeat(43))).toBeNull();

    // Grants changed after sign-in apply at once: the user is read afresh.
    await setUserTenants(users, admin, 'meg', ['globex']);
    expect((await authenticator.bySession(signedIn.sessionId))?.acting.tenants).toEqual(['globex']);

    // Used every 4 hours: alive all along (each use slides the idle expiry), until the absolute limit ends it.
    while (now + 4 * 60 * 60 * 1000 < START + SESSION_ABSOLUTE_MS) {
      now += 4 * 60 * 60 * 1000;
      expect(await authenticator.bySession(signedIn.sessionId)).not.toBeNull();
    }
    const found = await users.findSession(signedIn.sessionId);
    // The last use moved the expiry by nothing (it had reached the limit), so it wrote nothing.
    const lastWrite = now - 4 * 60 * 60 * 1000;
    expect(found?.session).toEqual({ userId: meg.id, csrfSecret: signedIn.session.csrfSecret, createdAt: START, lastSeenAt: lastWrite, expiresAt: START + SESSION_ABSOLUTE_MS });
    now = START + SESSION_ABSOLUTE_MS;
    expect(await authenticator.bySession(signedIn.sessionId)).toBeNull();
    expect(await users.touchSession(signedIn.sessionId)).toBeUndefined(); // an expired session cannot be revived

    // Idle expiry: a session left alone ends SESSION_IDLE_MS after its last use.
    const idle = await users.createSession(meg.id);
    expect(idle.expiresAt).toBe(now + SESSION_IDLE_MS);
    now += SESSION_IDLE_MS - 1;
    expect(await users.findSession(idle.id)).toBeDefined();
    now += 1;
    expect(await users.findSession(idle.id)).toBeUndefined();

    // A sign-in purges the sessions over; signing out ends one.
    const again = (await authenticator.signIn('meg', PASSWORD))!;
    expect(await countOf('sessions')).toBe(1);
    await authenticator.signOut(again.sessionId);
    expect(await authenticator.bySession(again.sessionId)).toBeNull();
    expect(await users.destroySession(again.sessionId)).toBe(false);
    expect(await countOf('sessions')).toBe(0);
    const short = await users.createSession(meg.id, 60_000);
    now += 60_000;
    expect(await users.findSession(short.id)).toBeUndefined();
    expect(await users.purgeExpiredSessions()).toBe(1);
    expect((await backend.rows("SELECT count(*) AS n FROM audit WHERE entity <> 'tenant'"))[0]!.n).toBe(2); // meg's add and tenants change
  });

  it("remembers a signed-in user's company for a tenant they may see; a grant or tenant taken away takes it along", async () => {
    await addUser(users, admin, { name: 'meg', role: 'manager', tenants: ['acme', 'globex'], password: PASSWORD });
    await addUser(users, admin, { name: 'root', role: 'admin', tenants: [], password: PASSWORD });
    const meg = principalActing({ kind: 'user', name: 'meg', role: 'manager', tenants: ['acme', 'globex'] });
    const root = principalActing({ kind: 'user', name: 'root', role: 'admin', tenants: null });
    const token = principalActing({ kind: 'token', name: 'crm', role: 'admin', tenants: null });
    expect(await lastTenantOf(users, meg)).toBeNull();
    expect(await lastTenantOf(users, token)).toBeUndefined();
    await rememberTenant(users, meg, 'globex');
    expect(await lastTenantOf(users, meg)).toBe('globex');
    await expect(rememberTenant(users, meg, 'default')).rejects.toMatchObject({ message: 'user "meg" may not see tenant "default"', field: 'tenant' });
    expect(await field(rememberTenant(users, meg, 'Bad Tenant'))).toBe('tenant');
    await rememberTenant(users, root, 'default');
    await expect(rememberTenant(users, root, 'nowhere')).rejects.toThrow(/^unknown tenant "nowhere"/);
    expect(await field(rememberTenant(users, root, 'nowhere'))).toBe('tenant');
    await expect(rememberTenant(users, token, 'acme')).rejects.toThrow(/only people pick a company/);
    await expect(rememberTenant(users, principalActing({ kind: 'user', name: 'gone', role: 'admin', tenants: null }), 'acme')).rejects.toBeInstanceOf(NotFound);
    expect(await lastTenantOf(users, root)).toBe('default');

    // A grant taken away takes the remembered choice with it; so does the tenant's removal.
    await setUserTenants(users, admin, 'meg', ['acme']);
    expect(await lastTenantOf(users, meg)).toBeNull();
    await rememberTenant(users, meg, 'acme');
    await removeTenant(backend.tenants, admin, 'acme', true);
    expect(await users.user('meg')).toMatchObject({ tenants: [], lastTenant: null });
    // Not audited: a preference.
    expect((await auditOf('user')).map((row) => `${row.verb} ${row.key}`)).toEqual(['add meg', 'add root', 'change meg']);
  });
});
