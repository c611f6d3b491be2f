/**
 * Users, machine tokens and browser sessions: through the real CLI (`bin/callguard.js`, built
 * into dist/) and through the stores directly. No secret may reach the database file, the
 * audit trail or the CLI's output; bad input exits 2 and writes nothing.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { Database } from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import * as crypto from 'node:crypto';
import { BadInput } from '../agent/engine/bad-input';
import { AuditTrail } from '../agent/store/audit';
import { openDatabase } from '../agent/store/database';
import { SESSION_ABSOLUTE_MS, SESSION_IDLE_MS, SessionStore } from '../agent/store/sessions';
import { TenantStore } from '../agent/store/tenants';
import { LAST_USED_RESOLUTION_MS, TokenStore } from '../agent/store/tokens';
import { principalActing } from '../agent/operations/acting';
import { hashPassword, needsRehash, principalActor, principalOf, UserStore, verifyPassword } from '../agent/store/users';
import { assertBuilt, describeRun, jsonOf, runCli } from './helpers/run-cli';
import type { CliResult } from './helpers/run-cli';
import { tempDb, withDatabase } from './helpers/temp-db';
import type { TempDb } from './helpers/temp-db';

// Counts scrypt calls (and their cost parameters) without changing what they compute.
vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  return { ...actual, scrypt: vi.fn(actual.scrypt) };
});

// ---------------------------------------------------------------- helpers

function expectOk(result: CliResult, stdout?: string): void {
  expect(result.stderr, describeRun(result)).toBe('');
  expect(result.status, describeRun(result)).toBe(0);
  if (stdout !== undefined) expect(result.stdout, describeRun(result)).toBe(stdout);
}

/** Exit 2, nothing on stdout, exactly one line `callguard: <message>` on stderr. */
function expectBadInput(result: CliResult, message: string | RegExp): void {
  expect(result.status, describeRun(result)).toBe(2);
  expect(result.stdout, describeRun(result)).toBe('');
  expect(result.stderr.split('\n'), describeRun(result)).toHaveLength(2);
  if (typeof message === 'string') expect(result.stderr, describeRun(result)).toBe(`callguard: ${message}\n`);
  else expect(result.stderr, describeRun(result)).toMatch(message);
}

/** Everything in the tables this feature writes, and the audit count: to show nothing changed. */
function snapshot(path: string): unknown {
  return withDatabase(path, (db) => ({
    users: db.prepare('SELECT id, name, role, password_hash, last_tenant FROM users ORDER BY id').all(),
    grants: db.prepare('SELECT * FROM user_tenants ORDER BY user_id, tenant').all(),
    tokens: db.prepare('SELECT id, name, role, token_hash FROM tokens ORDER BY id').all(),
    tokenGrants: db.prepare('SELECT * FROM token_tenants ORDER BY token_id, tenant').all(),
    audit: db.prepare('SELECT COUNT(*) FROM audit').pluck().get(),
  }));
}

/** The database file and its WAL, as bytes on disk. */
function fileBytes(path: string): string {
  return [path, `${path}-wal`]
    .filter((file) => existsSync(file))
    .map((file) => readFileSync(file).toString('latin1'))
    .join('');
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

const PASSWORDS = {
  alice: 'alice-admin-Pa55word!',
  bob: 'bob manages acme & globex',
  carol: 'carol-views-only-🙂🙂',
  bobNew: 'bob has a brand new password',
};

interface UserJson {
  name: string;
  role: string;
  tenants: string[] | null;
  createdAt: number;
}

interface TokenJson {
  name: string;
  role: string;
  tenants: string[] | null;
  createdAt: number;
  lastUsedAt: number | null;
}

// ---------------------------------------------------------------- through the CLI

describe('users and tokens from the command line', () => {
  let db: TempDb;
  let cli: (...args: string[]) => CliResult;
  /** Every CLI run of this block, to look for secrets in what they printed. */
  const runs: CliResult[] = [];
  const tokens: string[] = [];
  const run = (args: string[], input?: string) => {
    const result = runCli(args, { db: db.path, ...(input === undefined ? {} : { input }) });
    runs.push(result);
    return result;
  };

  beforeAll(() => {
    assertBuilt();
    db = tempDb();
    cli = (...args) => run(args);
    expectOk(cli('tenants', 'add', 'acme'));
    expectOk(cli('tenants', 'add', 'globex'));
  });
  afterAll(() => db.remove());

  const users = () => jsonOf<UserJson[]>(cli('users', 'list', '--json'));

  it('adds an admin, a manager and a viewer, the password read from stdin less one trailing newline', async () => {
    expectOk(run(['users', 'add', 'Alice', '--role', 'admin'], `${PASSWORDS.alice}\n`), 'added admin alice\n');
    expectOk(run(['users', 'add', 'bob', '--role', 'manager', '--tenant', 'globex', '--tenant', 'acme'], `${PASSWORDS.bob}\r\n`), 'added manager bob (tenants acme, globex)\n');
    expectOk(run(['users', 'add', 'carol', '--role', 'viewer', '--tenant', 'acme'], PASSWORDS.carol), 'added viewer carol (tenants acme)\n');
    const listed = users();
    expect(listed.map(({ name, role, tenants }) => ({ name, role, tenants }))).toEqual([
      { name: 'alice', role: 'admin', tenants: null },
      { name: 'bob', role: 'manager', tenants: ['acme', 'globex'] },
      { name: 'carol', role: 'viewer', tenants: ['acme'] },
    ]);
    for (const user of listed) expect(Object.keys(user).sort()).toEqual(['createdAt', 'name', 'role', 'tenants']);
    const table = cli('users', 'list');
    expectOk(table);
    expect(table.stdout.split('\n')[0]).toMatch(/^USER +ROLE +TENANTS +CREATED$/);
    expect(table.stdout).toMatch(/^alice +admin +\(all\) +\d{4}-/m);
    expect(table.stdout).toMatch(/^bob +manager +acme,globex +\d{4}-/m);

    const sql = openDatabase(db.path);
    try {
      const store = new UserStore(sql);
      // Exactly one trailing newline was removed; the stored hash is not the password.
      expect((await store.authenticate('alice', PASSWORDS.alice))?.name).toBe('alice');
      expect(await store.authenticate('alice', `${PASSWORDS.alice}\n`)).toBeUndefined();
      expect((await store.authenticate('BOB', PASSWORDS.bob))?.role).toBe('manager');
      expect((await store.authenticate('carol', PASSWORDS.carol))?.tenants).toEqual(['acme']);
      const hashes = sql.prepare('SELECT password_hash FROM users').pluck().all() as string[];
      for (const hash of hashes) expect(hash).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    } finally {
      sql.close();
    }
  });

  it('refuses bad input with exit 2 and one line, writing nothing', () => {
    const before = snapshot(db.path);
    const pw = 'a-good-long-password\n';
    expectBadInput(run(['users', 'add', 'dave', '--role', 'owner', '--tenant', 'acme'], pw), 'bad role "owner": expected admin, manager or viewer');
    expectBadInput(run(['users', 'add', 'bad name', '--role', 'viewer', '--tenant', 'acme'], pw), /^callguard: bad user name "bad name": expected/);
    expectBadInput(run(['users', 'add', '-x', '--role', 'viewer', '--tenant', 'acme'], pw), /^callguard: unknown option '-x'/);
    expectBadInput(run(['users', 'add', 'dave', '--role', 'admin', '--tenant', 'acme'], pw), '--tenant is not for role admin: an admin sees every tenant');
    expectBadInput(run(['users', 'add', 'dave', '--role', 'manager'], pw), 'a manager needs at least one tenant');
    expectBadInput(run(['users', 'add', 'dave', '--role', 'viewer'], pw), 'a viewer needs at least one tenant');
    // One unknown tenant among several rejects the whole command.
    expectBadInput(run(['users', 'add', 'dave', '--role', 'manager', '--tenant', 'acme', '--tenant', 'nowhere', '--tenant', 'globex'], pw), `unknown tenant "nowhere": add it first with 'callguard tenants add nowhere'`);
    expectBadInput(run(['users', 'add', 'dave', '--role', 'viewer', '--tenant', 'acme'], 'elevenchars\n'), 'password too short: at least 12 characters');
    expectBadInput(run(['users', 'add', 'dave', '--role', 'viewer', '--tenant', 'acme'], ''), 'password too short: at least 12 characters');
    expectBadInput(run(['users', 'add', 'dave', '--role', 'viewer', '--tenant', 'acme'], 'x'.repeat(1025)), 'password too long: at most 1024 characters');
    expectBadInput(run(['users', 'add', 'dave', '--role', 'viewer', '--tenant', 'acme'], 'x'.repeat(100_000)), 'password too long: at most 1024 characters');
    expectBadInput(run(['users', 'add', 'ALICE', '--role', 'viewer', '--tenant', 'acme'], pw), 'user "alice" already exists');
    // The password never comes from a flag: commander's own error.
    expectBadInput(run(['users', 'add', 'dave', '--role', 'viewer', '--tenant', 'acme', '--password', 'a-good-long-password'], ''), "unknown option '--password'");
    expectBadInput(run(['users', 'passwd', 'bob', '--password', 'a-good-long-password'], ''), "unknown option '--password'");
    expectBadInput(run(['users', 'passwd', 'nobody'], pw), 'unknown user "nobody"');
    expectBadInput(run(['users', 'passwd', 'bob'], 'too short\n'), 'password too short: at least 12 characters');
    expectBadInput(cli('users', 'remove', 'nobody'), 'unknown user "nobody"');
    expectBadInput(cli('users', 'tenants', 'bob', '--tenant', 'acme', '--tenant', 'nowhere'), `unknown tenant "nowhere": add it first with 'callguard tenants add nowhere'`);
    expectBadInput(cli('users', 'tenants', 'bob'), 'a manager needs at least one tenant');
    expectBadInput(cli('users', 'tenants', 'alice', '--tenant', 'acme'), 'user "alice" is an admin and sees every tenant');
    expectBadInput(cli('tokens', 'add', 'crm', '--role', 'root'), 'bad role "root": expected admin, manager or viewer');
    expectBadInput(cli('tokens', 'add', 'crm', '--role', 'admin', '--tenant', 'acme'), '--tenant is not for role admin: an admin sees every tenant');
    expectBadInput(cli('tokens', 'add', 'crm', '--role', 'viewer'), 'a viewer needs at least one tenant');
    expectBadInput(cli('tokens', 'add', 'crm', '--role', 'viewer', '--tenant', 'globex', '--tenant', 'nowhere'), `unknown tenant "nowhere": add it first with 'callguard tenants add nowhere'`);
    expectBadInput(cli('tokens', 'add', 'c r m', '--role', 'admin'), /^callguard: bad token name "c r m": expected/);
    expectBadInput(cli('tokens', 'remove', 'nothing'), 'unknown token "nothing"');
    expectBadInput(cli('users', 'add', 'dave', '--role', 'viewer', '--tenant', 'acme', '--tenant'), "option '--tenant <name>' argument missing");
    expect(snapshot(db.path)).toEqual(before);
  });

  it('changes a password (the old one stops working) and replaces a user\'s tenants', async () => {
    expectOk(run(['users', 'passwd', 'BOB'], `${PASSWORDS.bobNew}\n`), 'changed the password of bob\n');
    expectOk(cli('users', 'tenants', 'bob', '--tenant', 'globex'), 'bob now sees globex\n');
    expect(users().find((user) => user.name === 'bob')?.tenants).toEqual(['globex']);
    const sql = openDatabase(db.path);
    try {
      const store = new UserStore(sql);
      expect(await store.authenticate('bob', PASSWORDS.bob)).toBeUndefined();
      expect((await store.authenticate('bob', PASSWORDS.bobNew))?.tenants).toEqual(['globex']);
    } finally {
      sql.close();
    }
  });

  it('prints a token once, keeps only its SHA-256, and never lists it', () => {
    const added = cli('tokens', 'add', 'CRM', '--role', 'manager', '--tenant', 'acme');
    expect(added.status, describeRun(added)).toBe(0);
    expect(added.stdout).toMatch(/^cg_[A-Za-z0-9_-]{43}\n$/);
    expect(added.stderr).toBe('added manager token crm: copy it now, it will not be shown again\n');
    const token = added.stdout.trim();
    tokens.push(token);
    const admin = cli('tokens', 'add', 'backup-bot', '--role', 'admin');
    expect(admin.status, describeRun(admin)).toBe(0);
    tokens.push(admin.stdout.trim());
    expect(tokens[1]).not.toBe(token);

    const listed = cli('tokens', 'list', '--json');
    const rows = jsonOf<TokenJson[]>(listed);
    expect(rows.map(({ name, role, tenants, lastUsedAt }) => ({ name, role, tenants, lastUsedAt }))).toEqual([
      { name: 'backup-bot', role: 'admin', tenants: null, lastUsedAt: null },
      { name: 'crm', role: 'manager', tenants: ['acme'], lastUsedAt: null },
    ]);
    const table = cli('tokens', 'list');
    expectOk(table);
    for (const text of [listed.stdout, table.stdout]) {
      for (const secret of tokens) {
        expect(text).not.toContain(secret);
        expect(text).not.toContain(sha256(secret));
      }
    }
    withDatabase(db.path, (sql) => {
      expect(sql.prepare('SELECT token_hash FROM tokens WHERE name = ?').pluck().get('crm')).toBe(sha256(token));
    });
    const sql = openDatabase(db.path);
    try {
      const store = new TokenStore(sql);
      expect(store.verify(token)?.name).toBe('crm');
      expect(store.verify(`${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`)).toBeUndefined();
      expect(principalOf('token', store.verify(tokens[1]!)!)).toEqual({ kind: 'token', name: 'backup-bot', role: 'admin', tenants: null });
    } finally {
      sql.close();
    }
    expect(jsonOf<TokenJson[]>(cli('tokens', 'list', '--json')).find((row) => row.name === 'crm')?.lastUsedAt).toEqual(expect.any(Number));
  });

  it('removes users and tokens', () => {
    expectOk(cli('tokens', 'remove', 'backup-bot'), 'removed token backup-bot\n');
    expectOk(cli('users', 'remove', 'Carol'), 'removed user carol\n');
    expect(users().map((user) => user.name)).toEqual(['alice', 'bob']);
    expect(jsonOf<TokenJson[]>(cli('tokens', 'list', '--json')).map((row) => row.name)).toEqual(['crm']);
    withDatabase(db.path, (sql) => expect(sql.prepare('SELECT COUNT(*) FROM user_tenants WHERE user_id NOT IN (SELECT id FROM users)').pluck().get()).toBe(0));
  });

  it('records every change in the audit trail, with no password, token or hash in it', () => {
    const audit = jsonOf<{ actor: string; verb: string; entity: string; key: string; before: unknown; after: unknown }[]>(cli('audit', '--json'));
    const mine = audit.filter((row) => row.entity === 'user' || row.entity === 'token').reverse();
    expect(mine.map((row) => `${row.verb} ${row.entity} ${row.key}`)).toEqual([
      'add user alice',
      'add user bob',
      'add user carol',
      'change user bob', // password
      'change user bob', // tenants
      'add token crm',
      'add token backup-bot',
      'remove token backup-bot',
      'remove user carol',
    ]);
    expect(mine[1]!.after).toEqual({ name: 'bob', role: 'manager', tenants: ['acme', 'globex'] });
    expect(mine[3]!.after).toEqual({ name: 'bob', role: 'manager', tenants: ['acme', 'globex'], password: 'changed' });
    expect(mine[4]!.before).toEqual({ name: 'bob', role: 'manager', tenants: ['acme', 'globex'] });
    expect(mine[4]!.after).toEqual({ name: 'bob', role: 'manager', tenants: ['globex'] });
    expect(mine[8]!.before).toEqual({ name: 'carol', role: 'viewer', tenants: ['acme'] });
    expect(mine[8]!.after).toBeNull();
    for (const row of mine) expect(row.actor).toMatch(/^cli:/);

    const text = withDatabase(db.path, (sql) => JSON.stringify(sql.prepare('SELECT * FROM audit').all()));
    const hashes = withDatabase(db.path, (sql) => sql.prepare('SELECT password_hash FROM users').pluck().all() as string[]);
    for (const secret of [...Object.values(PASSWORDS), ...tokens, ...tokens.map(sha256), ...hashes]) expect(text).not.toContain(secret);
    expect(text).not.toContain('scrypt$');
  });

  it('keeps passwords and tokens out of the database file and everything the CLI printed', () => {
    const bytes = fileBytes(db.path);
    expect(bytes.length).toBeGreaterThan(0);
    const printed = runs.map((result) => result.stdout + result.stderr).join('\n');
    for (const password of Object.values(PASSWORDS)) {
      expect(bytes).not.toContain(Buffer.from(password, 'utf8').toString('latin1'));
      expect(printed).not.toContain(password);
    }
    for (const token of tokens) expect(bytes).not.toContain(token);
    // The token appears once on stdout, in the run that added it, and nowhere else.
    for (const token of tokens) expect(printed.split(token)).toHaveLength(2);
  });
});

// ---------------------------------------------------------------- the stores directly

describe('users, tokens and sessions in the store', () => {
  let db: TempDb;
  let sql: Database;
  let now: number;
  const clock = () => now;

  beforeEach(() => {
    db = tempDb();
    sql = openDatabase(db.path);
    now = 1_700_000_000_000;
    const tenants = new TenantStore(sql);
    tenants.add('acme');
    tenants.add('globex');
  });
  afterEach(() => {
    sql.close();
    db.remove();
  });

  it('creates the tables of migration 005', () => {
    const tables = sql.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all();
    expect(tables).toEqual(expect.arrayContaining(['users', 'user_tenants', 'tokens', 'token_tenants', 'sessions']));
    expect(sql.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'sessions'").pluck().all()).toContain('sessions_by_expiry');
  });

  it('hashes with scrypt in a self-describing string that verifies only the right password', async () => {
    const hash = await hashPassword('the right password');
    expect(hash).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(hash).not.toContain('the right password');
    expect(await hashPassword('the right password')).not.toBe(hash); // a fresh salt each time
    expect(await verifyPassword('the right password', hash)).toBe(true);
    expect(await verifyPassword('the wrong password', hash)).toBe(false);
    expect(await verifyPassword('the right password', 'scrypt$1073741824$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')).toBe(false);
    expect(await verifyPassword('the right password', 'plain')).toBe(false);
    expect(needsRehash(hash)).toBe(false);
    expect(needsRehash(hash.replace('$32768$', '$16384$'))).toBe(true);
    // The parameters are read from the stored string: the same salt under another N derives another key.
    const older = hash.replace('$32768$', '$16384$');
    expect(await verifyPassword('the right password', older)).toBe(false);
  });

  it('costs one scrypt with the same parameters for a known name, an unknown name and a malformed one', async () => {
    const users = new UserStore(sql, 'test');
    await users.add('alice', 'admin', [], 'alice password 1');
    const scrypt = vi.mocked(crypto.scrypt);
    const costs: unknown[] = [];
    for (const [name, password] of [
      ['alice', 'alice password 1'],
      ['alice', 'not the password'],
      ['mallory', 'alice password 1'],
      ['Bad Name!', 'alice password 1'],
    ] as const) {
      scrypt.mockClear();
      const found = await users.authenticate(name, password);
      expect(found?.name, `${name} / ${password}`).toBe(name === 'alice' && password === 'alice password 1' ? 'alice' : undefined);
      expect(scrypt).toHaveBeenCalledTimes(1);
      const [, , keyLength, options] = scrypt.mock.calls[0]! as unknown as [string, Buffer, number, crypto.ScryptOptions];
      costs.push({ keyLength, N: options.N, r: options.r, p: options.p });
    }
    expect(new Set(costs.map((cost) => JSON.stringify(cost)))).toEqual(new Set([JSON.stringify({ keyLength: 32, N: 32768, r: 8, p: 1 })]));
  });

  it('validates names, roles, tenants and password lengths in code points', async () => {
    const users = new UserStore(sql, 'test');
    await expect(users.add('x', 'viewer', ['acme'], 'eleven char')).rejects.toThrow(new BadInput('password too short: at least 12 characters'));
    await expect(users.add('x', 'viewer', ['acme'], 'x'.repeat(1025))).rejects.toThrow(BadInput);
    await expect(users.add('x', 'viewer', [], 'twelve chars')).rejects.toThrow('a viewer needs at least one tenant');
    await expect(users.add('x', 'admin', ['acme'], 'twelve chars')).rejects.toThrow('an admin sees every tenant: give no tenant for role admin');
    await expect(users.add('x', 'god', [], 'twelve chars')).rejects.toThrow('bad role "god"');
    await expect(users.add('x'.repeat(65), 'admin', [], 'twelve chars')).rejects.toThrow('bad user name');
    await expect(users.add('.x', 'admin', [], 'twelve chars')).rejects.toThrow('bad user name');
    expect(users.list()).toEqual([]);
    // 12 characters of 4 bytes each is long enough; 1024 is not too long.
    expect((await users.add('Emoji', 'viewer', ['globex', 'acme', 'acme'], '🙂'.repeat(12))).tenants).toEqual(['acme', 'globex']);
    expect((await users.add('long', 'manager', ['acme'], 'y'.repeat(1024))).name).toBe('long');
    expect(users.get('EMOJI')?.name).toBe('emoji');
    expect(sql.prepare("SELECT COUNT(*) FROM audit WHERE entity = 'user'").pluck().get()).toBe(2);
  });

  it('describes who is acting as a principal the API can check tenants against', async () => {
    const users = new UserStore(sql, 'test');
    const admin = principalOf('user', await users.add('root', 'admin', [], 'root password!'));
    const manager = principalOf('user', await users.add('meg', 'manager', ['acme'], 'meg password!!'));
    const viewer = principalOf('user', await users.add('vic', 'viewer', ['acme', 'globex'], 'vic password!!'));
    expect(admin).toEqual({ kind: 'user', name: 'root', role: 'admin', tenants: null });
    expect(manager).toEqual({ kind: 'user', name: 'meg', role: 'manager', tenants: ['acme'] });
    expect(principalActor(manager)).toBe('user:meg');
    // What every operation checks them by (agent/operations/acting.ts): tenants seen, and whether they may change anything.
    expect(principalActing(admin)).toEqual({ actor: 'user:root', tenants: null, mayChange: true });
    expect(principalActing(manager)).toEqual({ actor: 'user:meg', tenants: ['acme'], mayChange: true });
    expect(principalActing(viewer)).toEqual({ actor: 'user:vic', tenants: ['acme', 'globex'], mayChange: false });
  });

  it('remembers the company picker choice only for a tenant the user may see', async () => {
    const users = new UserStore(sql, 'test');
    await users.add('meg', 'manager', ['acme', 'globex'], 'meg password!!');
    await users.add('root', 'admin', [], 'root password!');
    users.rememberTenant('meg', 'globex');
    expect(users.get('meg')?.lastTenant).toBe('globex');
    expect(() => users.rememberTenant('meg', 'default')).toThrow('user "meg" may not see tenant "default"');
    users.rememberTenant('root', 'default');
    expect(() => users.rememberTenant('root', 'nowhere')).toThrow('unknown tenant "nowhere"');
    expect(users.get('root')?.lastTenant).toBe('default');
    // A grant taken away takes the remembered choice with it.
    users.setTenants('meg', ['acme']);
    expect(users.get('meg')?.lastTenant).toBeNull();
    // A tenant removed takes its grants along (ON DELETE CASCADE).
    users.rememberTenant('meg', 'acme');
    new TenantStore(sql).remove('acme', () => undefined);
    expect(users.get('meg')).toMatchObject({ tenants: [], lastTenant: null });
  });

  it('stores tokens hashed and notes their use at most once a minute', () => {
    const store = new TokenStore(sql, 'test', clock);
    const { token, row } = store.add('crm', 'viewer', ['acme']);
    expect(row).toMatchObject({ name: 'crm', role: 'viewer', tenants: ['acme'], createdAt: now, lastUsedAt: null });
    expect(sql.prepare('SELECT COUNT(*) FROM tokens WHERE token_hash = ?').pluck().get(sha256(token))).toBe(1);
    expect(JSON.stringify(sql.prepare('SELECT * FROM tokens').all())).not.toContain(token);
    expect(store.verify('cg_nonsense')).toBeUndefined();
    expect(store.verify('')).toBeUndefined();
    const firstUse = now;
    expect(store.verify(token)?.lastUsedAt).toBe(firstUse);
    now += LAST_USED_RESOLUTION_MS - 1;
    expect(store.verify(token)?.lastUsedAt).toBe(firstUse);
    now += 1;
    expect(store.verify(token)?.lastUsedAt).toBe(now);
    expect(store.list()[0]?.lastUsedAt).toBe(now);
    expect(() => store.add('CRM', 'viewer', ['acme'])).toThrow('token "crm" already exists');
    store.remove('crm');
    expect(store.verify(token)).toBeUndefined();
    const audit = new AuditTrail(sql, 'x').list(undefined).filter((entry) => entry.entity === 'token');
    expect(audit.map((entry) => entry.verb)).toEqual(['remove', 'add']);
    expect(JSON.stringify(audit)).not.toContain(token);
    expect(JSON.stringify(audit)).not.toContain(sha256(token));
  });

  it('keeps sessions by the hash of their id, with a CSRF secret, until they expire', async () => {
    const users = new UserStore(sql, 'test');
    const meg = await users.add('meg', 'manager', ['acme'], 'meg password!!');
    const sessions = new SessionStore(sql, clock);
    const created = sessions.create(meg.id);
    expect(created.id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(created.csrfSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(created.expiresAt).toBe(now + SESSION_IDLE_MS);
    const stored = sql.prepare('SELECT * FROM sessions').all();
    expect(stored).toHaveLength(1);
    expect(JSON.stringify(stored)).not.toContain(created.id);
    expect(stored[0]).toMatchObject({ id_hash: sha256(created.id), user_id: meg.id, csrf_secret: created.csrfSecret });

    const found = sessions.find(created.id);
    expect(found?.user).toMatchObject({ name: 'meg', role: 'manager', tenants: ['acme'] });
    expect(found?.session).toEqual({ userId: meg.id, csrfSecret: created.csrfSecret, createdAt: now, lastSeenAt: now, expiresAt: created.expiresAt });
    expect(sessions.find('not-a-session')).toBeUndefined();
    expect(sessions.find('A'.repeat(43))).toBeUndefined();

    // Grants changed after sign-in apply at once: the user is read afresh.
    users.setTenants('meg', ['globex']);
    expect(sessions.find(created.id)?.user.tenants).toEqual(['globex']);

    // Idle expiry: just before it the session lives, at it the session is over.
    now += SESSION_IDLE_MS - 1;
    expect(sessions.find(created.id)).toBeDefined();
    now += 1;
    expect(sessions.find(created.id)).toBeUndefined();
    expect(sessions.touch(created.id)).toBeUndefined(); // an expired session cannot be revived
  });

  it('slides the expiry on use, never past the absolute limit, and purges and destroys', async () => {
    const users = new UserStore(sql, 'test');
    const meg = await users.add('meg', 'manager', ['acme'], 'meg password!!');
    const sessions = new SessionStore(sql, clock);
    const start = now;
    const kept = sessions.create(meg.id);
    const left = sessions.create(meg.id, 60 * 60 * 1000);
    // Used every 4 hours for a week: alive all along, until the absolute limit ends it.
    let steps = 0;
    while (now + 4 * 60 * 60 * 1000 < start + SESSION_ABSOLUTE_MS) {
      now += 4 * 60 * 60 * 1000;
      steps++;
      const expiresAt = sessions.touch(kept.id);
      expect(expiresAt, `step ${steps}`).toBe(Math.min(now + SESSION_IDLE_MS, start + SESSION_ABSOLUTE_MS));
    }
    expect(steps).toBeGreaterThan(40);
    now = start + SESSION_ABSOLUTE_MS - 1;
    expect(sessions.find(kept.id)).toBeDefined();
    expect(sessions.touch(kept.id)).toBe(start + SESSION_ABSOLUTE_MS);
    now = start + SESSION_ABSOLUTE_MS;
    expect(sessions.find(kept.id)).toBeUndefined();

    // `left` (1 h) is long gone; both are purged, a live one stays.
    const live = sessions.create(meg.id);
    expect(sessions.find(left.id)).toBeUndefined();
    expect(sessions.purgeExpired()).toBe(2);
    expect(sql.prepare('SELECT COUNT(*) FROM sessions').pluck().get()).toBe(1);
    expect(sessions.destroy(live.id)).toBe(true);
    expect(sessions.destroy(live.id)).toBe(false);
    expect(sessions.find(live.id)).toBeUndefined();
    // Sessions are not audited.
    expect(sql.prepare("SELECT COUNT(*) FROM audit WHERE entity NOT IN ('tenant', 'user')").pluck().get()).toBe(0);
  });

  it('ends a user\'s sessions when the user is removed or the password changes', async () => {
    const users = new UserStore(sql, 'test');
    const meg = await users.add('meg', 'manager', ['acme'], 'meg password!!');
    const vic = await users.add('vic', 'viewer', ['acme'], 'vic password!!');
    const sessions = new SessionStore(sql, clock);
    const megs = [sessions.create(meg.id), sessions.create(meg.id)];
    const vics = sessions.create(vic.id);
    await users.setPassword('meg', 'a new password for meg');
    for (const session of megs) expect(sessions.find(session.id)).toBeUndefined();
    const again = sessions.create(meg.id);
    users.remove('meg');
    expect(sessions.find(again.id)).toBeUndefined();
    expect(sql.prepare('SELECT COUNT(*) FROM sessions WHERE user_id = ?').pluck().get(meg.id)).toBe(0);
    expect(sessions.find(vics.id)?.user.name).toBe('vic');
    expect(sessions.destroyForUser(vic.id)).toBe(1);
    expect(await users.authenticate('meg', 'a new password for meg')).toBeUndefined();
  });

  it('audits user changes without a password or hash, and keeps passwords out of the file', async () => {
    const users = new UserStore(sql, 'user:root');
    const secret = 'never-in-the-file-or-audit';
    await users.add('meg', 'viewer', ['acme'], secret);
    await users.setPassword('meg', `${secret}-2`);
    users.setTenants('meg', ['acme', 'globex']);
    users.remove('meg');
    const rows = new AuditTrail(sql, 'x').list(undefined).filter((row) => row.entity === 'user');
    expect(rows.map((row) => [row.actor, row.verb, row.key])).toEqual([
      ['user:root', 'remove', 'meg'],
      ['user:root', 'change', 'meg'],
      ['user:root', 'change', 'meg'],
      ['user:root', 'add', 'meg'],
    ]);
    const text = JSON.stringify(rows);
    expect(text).not.toContain(secret);
    expect(text).not.toContain('scrypt');
    sql.pragma('wal_checkpoint(TRUNCATE)');
    expect(fileBytes(db.path)).not.toContain(secret);
  });
});
