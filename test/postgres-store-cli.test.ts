// Choosing the store from the command line, as an operator runs callguard: --store over
// CALLGUARD_STORE over store.url of the config file, none the SQLite file as before; a
// URL that is not PostgreSQL's refused in one line without repeating it; `callguard
// migrate` creating, then leaving alone, the schema, refusing a newer one and a server it
// cannot use; backup, which copies a SQLite file, refused with a PostgreSQL store.
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooseStore } from '../agent/config/store-choice';
import { postgresMigrationsIn } from '../agent/store/postgres/migrate';
import { StoreUnavailable } from '../agent/store/postgres/store-unavailable';
import { freePort } from './helpers/free-port';
import { migratedPostgres } from './helpers/postgres-agent';
import { dropDatabase, freshDatabase } from './helpers/postgres';
import { until } from './helpers/patience';
import { assertBuilt, binPath, describeRun, repoRoot, runCli } from './helpers/run-cli';
import type { CliResult } from './helpers/run-cli';
import { makeTempDir } from './helpers/temp-db';

const dir = makeTempDir('callguard-store-cli-');
const databases: string[] = [];
const cleanups: (() => unknown)[] = [];
const NEWEST = Math.max(...postgresMigrationsIn().map((migration) => migration.version));

beforeAll(() => assertBuilt());
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await Promise.all(databases.map(dropDatabase));
  dir.remove();
});

async function database(): Promise<string> {
  const url = await freshDatabase();
  databases.push(url);
  return url;
}

const nameOf = (url: string) => decodeURIComponent(new URL(url).pathname.slice(1));
const passwordOf = (url: string) => decodeURIComponent(new URL(url).password);

/** The CLI with no store settings of the caller's own; `env` adds some. */
function cli(args: string[], env: Record<string, string> = {}): CliResult {
  return runCli(args, { env: { CALLGUARD_STORE: undefined, CALLGUARD_CONFIG: undefined, ...env } });
}

/** A failure as the operator sees it: exit 1, one line on stderr, nothing on stdout, no password. */
function expectOneLineFailure(result: CliResult, pattern: RegExp, secret?: string): void {
  expect(result.status, describeRun(result)).toBe(1);
  expect(result.stdout).toBe('');
  expect(result.stderr.split('\n').filter(Boolean), describeRun(result)).toHaveLength(1);
  expect(result.stderr).toMatch(pattern);
  if (secret) expect(result.stderr + result.stdout).not.toContain(secret);
}

describe('chooseStore', () => {
  const file = { url: 'postgres://c@db-c/c', path: 'cg.json' };
  it('takes --store over CALLGUARD_STORE over store.url, and the SQLite file when none is given', () => {
    expect(chooseStore({ flag: 'postgres://a@db-a/a', env: 'postgres://b@db-b/b', file })).toMatchObject({ kind: 'postgres', from: '--store', address: { host: 'db-a' } });
    expect(chooseStore({ env: 'postgresql://b@db-b/b', file })).toMatchObject({ kind: 'postgres', from: 'CALLGUARD_STORE', address: { host: 'db-b' } });
    expect(chooseStore({ env: '', file })).toMatchObject({ kind: 'postgres', from: 'store.url in cg.json', address: { host: 'db-c' } });
    expect(chooseStore({ file: { url: null, path: 'cg.json' } })).toEqual({ kind: 'sqlite' });
  });

  it('refuses a URL that is not PostgreSQL, naming where it came from and never repeating it', () => {
    for (const [url, from] of [['mysql://root:hunter2@db/x', '--store'], ['postgres://u:hunter2@db:99999/x', '--store'], ['not a url hunter2', '--store']] as const) {
      const refusal = (() => {
        try {
          chooseStore({ flag: url });
        } catch (error) {
          return error as Error;
        }
        throw new Error(`accepted ${url}`);
      })();
      expect(refusal).toBeInstanceOf(StoreUnavailable);
      expect(refusal.message).toBe(`the store URL in ${from} is not a PostgreSQL URL: expected postgres://user:password@host:5432/database`);
    }
  });
});

describe('callguard migrate', () => {
  it('creates the schema, then has nothing to do; the store comes from --store, else CALLGUARD_STORE, else store.url', async () => {
    const [byFlag, byEnv, byFile] = [await database(), await database(), await database()];
    const config = dir.file('store.json');
    writeFileSync(config, JSON.stringify({ store: { url: byFile } }));
    const label = (url: string) => `127.0.0.1:${new URL(url).port}/${nameOf(url)}`;

    const first = cli(['--config', config, '--store', byFlag, 'migrate'], { CALLGUARD_STORE: byEnv });
    expect(first.status, describeRun(first)).toBe(0);
    expect(first.stdout).toBe(`applied ${postgresMigrationsIn().map((migration) => `${migration.version} ${migration.name}`).join(', ')} to PostgreSQL at ${label(byFlag)}: its schema is now at version ${NEWEST}\n`);
    const again = cli(['--config', config, '--store', byFlag, 'migrate'], { CALLGUARD_STORE: byEnv });
    expect(again.stdout).toBe(`PostgreSQL at ${label(byFlag)} is already at schema version ${NEWEST}: nothing to apply\n`);

    expect(cli(['--config', config, 'migrate'], { CALLGUARD_STORE: byEnv }).stdout).toContain(`to PostgreSQL at ${label(byEnv)}:`);
    expect(cli(['--config', config, 'migrate']).stdout).toContain(`to PostgreSQL at ${label(byFile)}:`);
    for (const url of [byFlag, byEnv, byFile]) expect(first.stdout + again.stdout).not.toContain(passwordOf(url));
  });

  it('with no store URL migrates the SQLite file and says so', () => {
    const db = dir.file('plain.db');
    const fresh = cli(['--db', db, 'migrate']);
    expect(fresh.status, describeRun(fresh)).toBe(0);
    expect(fresh.stdout).toMatch(new RegExp(`^migrated the SQLite file ${db} from schema version 0 to \\d+ \\(every command does this when it opens the file\\)\\n$`));
    expect(cli(['--db', db, 'migrate']).stdout).toMatch(/is already at schema version \d+: nothing to apply/);
  });

  it('refuses a schema from a newer callguard, naming both versions, and changes nothing', async () => {
    const url = await database();
    expect(cli(['--store', url, 'migrate']).status).toBe(0);
    const pool = new Pool({ connectionString: url, max: 1 });
    try {
      await pool.query("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, 'from_the_future', 0)", [NEWEST + 7]);
      const refused = cli(['--store', url, 'migrate']);
      expectOneLineFailure(refused, new RegExp(`newer callguard \\(schema ${NEWEST + 7}\\); this one knows up to ${NEWEST}`), passwordOf(url));
      expect((await pool.query('SELECT count(*)::int AS n FROM schema_migrations')).rows[0].n).toBe(postgresMigrationsIn().length + 1);
    } finally {
      await pool.end();
    }
  });

  it('a wrong password, a server not there or a URL that is not PostgreSQL: one line, exit 1, no password', async () => {
    const url = await database();
    const wrong = new URL(url);
    wrong.password = 'not-the-password-42';
    expectOneLineFailure(cli(['--store', wrong.toString(), 'migrate']), /^callguard: PostgreSQL at 127\.0\.0\.1:\d+\/\S+ rejected the password of user "postgres"/, 'not-the-password-42');

    const away = new URL(url);
    away.port = String(await freePort());
    expectOneLineFailure(cli(['--store', away.toString(), 'migrate']), /^callguard: cannot reach PostgreSQL at 127\.0\.0\.1:\d+: connection refused/, passwordOf(url));

    expectOneLineFailure(cli(['--store', 'mysql://root:s3cret-pw@db/x', 'migrate']), /^callguard: the store URL in --store is not a PostgreSQL URL/, 's3cret-pw');
    expectOneLineFailure(cli(['migrate'], { CALLGUARD_STORE: 'https://u:s3cret-pw@db/x' }), /^callguard: the store URL in CALLGUARD_STORE is not a PostgreSQL URL/, 's3cret-pw');
    const config = dir.file('bad-store.json');
    writeFileSync(config, JSON.stringify({ store: { url: 'postgres://u:s3cret-pw@db:0/x' } }));
    expectOneLineFailure(cli(['--config', config, 'migrate']), /^callguard: the store URL in store.url in \S+bad-store.json is not a PostgreSQL URL/, 's3cret-pw');
  });
});

describe('backup, which works on a SQLite file only, with a PostgreSQL store', () => {
  it('is refused in one line with exit 1, naming what backs up PostgreSQL, and writes no SQLite file', async () => {
    const url = await database();
    const db = dir.file('never.db');
    const copy = dir.file('never-backup.db');
    const refusal = (from: string) =>
      new RegExp(`^callguard: backup works on a SQLite file only: the store is PostgreSQL at 127\\.0\\.0\\.1:\\d+/${nameOf(url)} \\(from ${from}\\); back that up with pg_dump, or into a SQLite file with 'callguard store copy --from <url> --to <file>'$`, 'm');
    expectOneLineFailure(cli(['--db', db, '--store', url, 'backup', copy]), refusal('--store'), passwordOf(url));
    expectOneLineFailure(cli(['--db', db, 'backup', copy], { CALLGUARD_STORE: url }), refusal('CALLGUARD_STORE'), passwordOf(url));
    expect(existsSync(db)).toBe(false);
    expect(existsSync(copy)).toBe(false);
  });
});

describe('the command line and the console alone on a PostgreSQL store', () => {
  it('adds, lists and removes rules in PostgreSQL, audited with the operator, and writes no SQLite file', async () => {
    const { url, pool } = await migratedPostgres(cleanups);
    const db = dir.file('rules-never.db');
    const config = dir.file('fleet.json');
    writeFileSync(config, JSON.stringify({ store: { url } }));
    const run = (...args: string[]) => cli(['--db', db, '--config', config, ...args]);

    const added = run('rules', 'add', '404-555-1234, 212*', '--action', 'block', '--note', 'robocaller', '--list', 'spam');
    expect(added.status, describeRun(added)).toBe(0);
    expect(added.stdout).toMatch(/^added #\d+ block 404-555-1234 \(global, list spam\)\nadded #\d+ block 212\* \(global, list spam\)\n$/);
    const { rows } = await pool.query('SELECT scope, kind, key, action, note, list FROM rules ORDER BY id');
    expect(rows).toEqual([
      { scope: 'global', kind: 'number', key: '+14045551234', action: 'block', note: 'robocaller', list: 'spam' },
      { scope: 'global', kind: 'prefix', key: '+1212', action: 'block', note: 'robocaller', list: 'spam' },
    ]);
    const audit = await pool.query('SELECT actor, verb, entity FROM audit ORDER BY id');
    expect(audit.rows).toHaveLength(2);
    expect(audit.rows[0]).toMatchObject({ verb: 'add', entity: 'rule', actor: expect.stringMatching(/^cli:/) });

    const listed = run('rules', 'list', '--json');
    expect(listed.status, describeRun(listed)).toBe(0);
    expect((JSON.parse(listed.stdout) as { pattern: string }[]).map((rule) => rule.pattern)).toEqual(['404-555-1234', '212*']);
    expect(run('rules', 'list').stdout).toMatch(/^ID +SCOPE .*\n\d+ +global +number +404-555-1234 +block/);

    const removed = run('rules', 'remove', '404-555-1234');
    expect(removed.status, describeRun(removed)).toBe(0);
    expect(removed.stdout).toMatch(/^removed #\d+ block 404-555-1234/);
    expect((await pool.query('SELECT key FROM rules')).rows).toEqual([{ key: '+1212' }]);
    expect((await pool.query("SELECT verb FROM audit WHERE verb = 'remove'")).rowCount).toBe(1);
    expect(existsSync(db)).toBe(false);
  });

  it('refuses bad input as on SQLite, with nothing written', async () => {
    const { url, pool } = await migratedPostgres(cleanups);
    const run = (...args: string[]) => cli(['--db', dir.file('bad-never.db'), '--store', url, ...args]);
    for (const args of [
      ['rules', 'add', '404-555-1234, not a number', '--action', 'block'],
      ['rules', 'add', '404*', '--action', 'block', '--scope', 'tenant:nobody'],
      ['rules', 'add', '404*', '--action', 'explode'],
      ['rules', 'remove', '#999'],
    ]) {
      const result = run(...args);
      expect(result.status, describeRun(result)).not.toBe(0);
      expect(result.stderr.split('\n').filter(Boolean), describeRun(result)).toHaveLength(1);
      expect(result.stderr).not.toContain(passwordOf(url));
    }
    expect(run('rules', 'add', '404*', '--action', 'block', '--scope', 'tenant:nobody').stderr).toContain('unknown tenant "nobody"');
    expect((await pool.query('SELECT count(*)::int AS n FROM rules')).rows[0]).toEqual({ n: 0 });
    expect((await pool.query('SELECT count(*)::int AS n FROM audit')).rows[0]).toEqual({ n: 0 });
  });

  it('adds and removes tenants and DIDs in PostgreSQL, refusing as on SQLite', async () => {
    const { url, pool } = await migratedPostgres(cleanups);
    const run = (...args: string[]) => cli(['--db', dir.file('tenants-never.db'), '--store', url, ...args]);
    const ok = (result: CliResult, stdout: string | RegExp) => {
      expect(result.status, describeRun(result)).toBe(0);
      if (typeof stdout === 'string') expect(result.stdout).toBe(stdout);
      else expect(result.stdout).toMatch(stdout);
    };
    const refused = (result: CliResult, message: string) => {
      expect(result.status, describeRun(result)).toBe(2);
      expect(result.stderr).toBe(`callguard: ${message}\n`);
    };
    ok(run('tenants', 'add', 'acme'), 'added tenant acme\n');
    refused(run('tenants', 'add', 'acme'), 'tenant "acme" already exists');
    ok(run('dids', 'add', '(404) 555-0000', '--tenant', 'acme'), 'added DID +14045550000 to tenant acme\n');
    refused(run('dids', 'add', '4045550000', '--tenant', 'default'), 'DID +14045550000 already belongs to tenant "acme": remove it first');
    refused(run('dids', 'add', '4045550001', '--tenant', 'nope'), `unknown tenant "nope": add it first with 'callguard tenants add nope'`);
    ok(run('rules', 'add', '212*', '--action', 'busy', '--scope', 'did:4045550000'), /^added #\d+ busy 212\* \(did:\+14045550000\)\n$/);
    expect(JSON.parse(run('tenants', 'list', '--json').stdout)).toEqual([
      { name: 'acme', mode: 'enforce', allowOnly: null, didAllowOnly: [], dids: 1, rules: 1 },
      { name: 'default', mode: 'enforce', allowOnly: null, didAllowOnly: [], dids: 0, rules: 0 },
    ]);
    expect(JSON.parse(run('dids', 'list', '--json').stdout)).toEqual([{ number: '+14045550000', tenant: 'acme', allowOnly: null }]);
    refused(run('tenants', 'remove', 'acme'), 'tenant "acme" still has 1 DID(s) and 1 rule(s): remove them first or pass --force');
    ok(run('tenants', 'remove', 'acme', '--force'), 'removed tenant acme (1 DID(s), 1 rule(s))\n');
    refused(run('dids', 'remove', '4045550000'), 'DID +14045550000 is not registered');
    expect((await pool.query('SELECT count(*)::int AS n FROM rules')).rows[0]).toEqual({ n: 0 });
    expect((await pool.query("SELECT verb || ' ' || entity || ' ' || key AS change FROM audit ORDER BY id")).rows.map((row: { change: string }) => row.change)).toEqual([
      'add tenant acme',
      'add did +14045550000',
      expect.stringMatching(/^add rule #\d+$/),
      'remove tenant acme',
    ]);
  });

  it('sets, lists and removes category policies in PostgreSQL', async () => {
    const { url, pool } = await migratedPostgres(cleanups);
    const run = (...args: string[]) => cli(['--db', dir.file('categories-never.db'), '--store', url, ...args]);
    expect(run('tenants', 'add', 'acme').status).toBe(0);
    expect(run('categories', 'set', 'anonymous', 'challenge').stdout).toBe('anonymous: challenge (global)\n');
    expect(run('categories', 'set', 'toll-free', 'block', '--tenant', 'acme').stdout).toBe('toll_free: block (tenant:acme)\n');
    const refused = run('categories', 'set', 'robots', 'block');
    expect(refused.status, describeRun(refused)).toBe(2);
    expect(refused.stderr).toMatch(/^callguard: unknown category "robots": expected one of /);
    expect(JSON.parse(run('categories', 'list', '--json').stdout)).toEqual([
      { scope: 'global', category: 'anonymous', action: 'challenge', when: null, tz: null },
      { scope: 'tenant:acme', category: 'toll_free', action: 'block', when: null, tz: null },
    ]);
    expect(run('categories', 'remove', 'toll-free', '--tenant', 'acme').stdout).toBe('toll_free: allow (no policy)\n');
    expect((await pool.query('SELECT scope, category, action FROM category_policies')).rows).toEqual([{ scope: 'global', category: 'anonymous', action: 'challenge' }]);
    expect((await pool.query("SELECT verb FROM audit WHERE entity = 'category' ORDER BY id")).rows.map((row: { verb: string }) => row.verb)).toEqual(['add', 'add', 'remove']);
  });

  it('explains a call from PostgreSQL as on SQLite: the winning rule, the DID\'s tenant, the category', async () => {
    const { url } = await migratedPostgres(cleanups);
    const sqlite = dir.file('explain.db');
    const onBoth = (...args: string[]) => [cli(['--db', dir.file('explain-never.db'), '--store', url, ...args]), cli(['--db', sqlite, ...args])];
    for (const setup of [
      ['tenants', 'add', 'acme'],
      ['dids', 'add', '4045550000', '--tenant', 'acme'],
      ['rules', 'add', '212*', '--action', 'busy', '--scope', 'tenant:acme'],
      ['rules', 'add', '212-555-0100', '--action', 'allow', '--scope', 'tenant:acme'],
      ['categories', 'set', 'anonymous', 'voicemail', '--tenant', 'acme'],
    ]) {
      for (const result of onBoth(...setup)) expect(result.status, describeRun(result)).toBe(0);
    }
    for (const [from, action] of [['2125550199', 'busy'], ['2125550100', 'allow'], ['anonymous', 'voicemail'], ['3125550100', 'allow']] as const) {
      const [postgres, file] = onBoth('explain', '--from', from, '--to', '4045550000', '--at', '2026-12-01T12:00:00Z', '--json');
      expect(postgres!.status, describeRun(postgres!)).toBe(0);
      const decision = JSON.parse(postgres!.stdout) as { action: string; tenant: string };
      expect(decision).toMatchObject({ action, tenant: 'acme' });
      expect(decision).toEqual(JSON.parse(file!.stdout));
    }
    expect(existsSync(dir.file('explain-never.db'))).toBe(false);
  });

  it('serves the console and REST API alone (`callguard console`) on PostgreSQL: a rule added over the API is in PostgreSQL, audited as the token', async () => {
    const { url, pool } = await migratedPostgres(cleanups);
    const token = cli(['--store', url, 'tokens', 'add', 'ops', '--role', 'admin']).stdout.trim();
    const port = await freePort();
    const child = spawn(process.execPath, [binPath, '--db', dir.file('console-never.db'), '--store', url, 'console', '--listen', `127.0.0.1:${port}`], {
      cwd: repoRoot,
      env: { ...process.env, CALLGUARD_STORE: '', CALLGUARD_CONFIG: '' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    cleanups.push(() => child.exitCode === null && child.kill('SIGKILL'));
    await until(() => stderr.includes('console listening') || child.exitCode !== null, 'the console to listen');
    const api = (path: string, init: RequestInit = {}) =>
      fetch(`http://127.0.0.1:${port}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...init.headers } });
    const added = await api('/v1/rules', { method: 'POST', body: JSON.stringify({ patterns: '404-555-0100', action: 'block' }) });
    expect(added.status, stderr).toBe(201);
    expect((await pool.query('SELECT key, action FROM rules')).rows).toEqual([{ key: '+14045550100', action: 'block' }]);
    expect((await pool.query("SELECT actor FROM audit WHERE entity = 'rule'")).rows).toEqual([{ actor: 'token:ops' }]);
    const refused = await api('/v1/rules', { method: 'POST', body: JSON.stringify({ patterns: 'not a number', action: 'block' }) });
    expect([refused.status, ((await refused.json()) as { field: string }).field]).toEqual([400, 'patterns']);
    child.kill('SIGTERM');
    await exited;
    expect(existsSync(dir.file('console-never.db'))).toBe(false);
  });

  it('refuses a database with no callguard schema, naming `callguard migrate`', async () => {
    const url = await database();
    expectOneLineFailure(cli(['--store', url, 'rules', 'list']), /^callguard: the PostgreSQL schema has no callguard schema yet, .*run `callguard migrate --store /, passwordOf(url));
  });
});
