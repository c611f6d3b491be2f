// `callguard users …` and `callguard tokens …` on a fleet's PostgreSQL, run as an operator
// runs them (the built CLI with --store): the same output and exit codes as on a SQLite
// file, the accounts and their audit entries in PostgreSQL alike, a password and a token
// made there good for signing in, and no SQLite file written.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../agent/store/database';
import { PostgresUserBackend } from '../agent/store/postgres/user-backend';
import { migratedPostgres } from './helpers/postgres-agent';
import { assertBuilt, describeRun, runCli } from './helpers/run-cli';
import type { CliResult } from './helpers/run-cli';
import { makeTempDir } from './helpers/temp-db';

const dir = makeTempDir('callguard-pg-cli-users-');
const cleanups: (() => unknown)[] = [];
const PASSWORDS = { alice: 'alice-admin-Pa55word!', bob: 'bob manages acme & globex', carol: 'carol-views-only-🙂🙂', bobNew: 'bob has a brand new password' };

/** An operator's session with both kinds of account, as (arguments, stdin). */
const SCRIPT: [string[], string?][] = [
  [['tenants', 'add', 'acme']],
  [['tenants', 'add', 'globex']],
  [['users', 'add', 'Alice', '--role', 'admin'], `${PASSWORDS.alice}\n`],
  [['users', 'add', 'bob', '--role', 'manager', '--tenant', 'globex', '--tenant', 'acme'], `${PASSWORDS.bob}\r\n`],
  [['users', 'add', 'carol', '--role', 'viewer', '--tenant', 'acme'], PASSWORDS.carol],
  [['users', 'list']],
  [['users', 'add', 'ALICE', '--role', 'viewer', '--tenant', 'acme'], 'a-good-long-password\n'],
  [['users', 'add', 'dave', '--role', 'viewer', '--tenant', 'acme', '--tenant', 'nowhere'], 'a-good-long-password\n'],
  [['users', 'passwd', 'BOB'], `${PASSWORDS.bobNew}\n`],
  [['users', 'passwd', 'nobody'], 'a-good-long-password\n'],
  [['users', 'tenants', 'bob', '--tenant', 'globex']],
  [['users', 'tenants', 'alice', '--tenant', 'acme']],
  [['users', 'remove', 'Carol']],
  [['users', 'remove', 'nobody']],
  [['users', 'list', '--json']],
  [['tokens', 'add', 'CRM', '--role', 'manager', '--tenant', 'acme']],
  [['tokens', 'add', 'backup-bot', '--role', 'admin']],
  [['tokens', 'add', 'crm', '--role', 'viewer', '--tenant', 'acme']],
  [['tokens', 'add', 'bot', '--role', 'viewer', '--tenant', 'nowhere']],
  [['tokens', 'list', '--json']],
  [['tokens', 'remove', 'backup-bot']],
  [['tokens', 'remove', 'nothing']],
  [['tokens', 'list', '--json']],
];

/** What differs between two runs of the same commands: times and the tokens made. */
const normalized = ({ status, stdout, stderr }: CliResult) => {
  const mask = (text: string) =>
    text
      .replace(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/g, '<time>')
      .replace(/"(createdAt|lastUsedAt)": \d+/g, '"$1": <time>')
      .replace(/cg_[A-Za-z0-9_-]{43}/g, '<token>');
  return { status, stdout: mask(stdout), stderr: mask(stderr) };
};

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('users and tokens from the command line on a PostgreSQL store', () => {
  let pool: Pool;
  let url: string;
  const sqliteFile = dir.file('callguard.db');
  const neverFile = dir.file('never.db');
  let onSqlite: CliResult[];
  let onPostgres: CliResult[];

  /** The CLI with no store settings of the caller's own. */
  const cli = (args: string[], input: string | undefined) => runCli(args, { input: input ?? '', env: { CALLGUARD_STORE: undefined, CALLGUARD_CONFIG: undefined } });

  beforeAll(async () => {
    assertBuilt();
    ({ url, pool } = await migratedPostgres(cleanups));
    onSqlite = SCRIPT.map(([args, input]) => cli(['--db', sqliteFile, ...args], input));
    onPostgres = SCRIPT.map(([args, input]) => cli(['--db', neverFile, '--store', url, ...args], input));
  });
  afterAll(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    dir.remove();
  });

  it('prints the same and exits the same as on a SQLite file, writing no SQLite file', () => {
    SCRIPT.forEach(([args], i) => {
      expect(normalized(onPostgres[i]!), `${args.join(' ')}: ${describeRun(onPostgres[i]!)}`).toEqual(normalized(onSqlite[i]!));
    });
    const outcome = (i: number) => `${onPostgres[i]!.status} ${onPostgres[i]!.stdout}${onPostgres[i]!.stderr}`;
    expect(outcome(2)).toBe('0 added admin alice\n');
    expect(outcome(6)).toBe('2 callguard: user "alice" already exists\n');
    expect(outcome(7)).toBe(`2 callguard: unknown tenant "nowhere": add it first with 'callguard tenants add nowhere'\n`);
    expect(outcome(9)).toBe('2 callguard: unknown user "nobody"\n');
    expect(outcome(11)).toBe('2 callguard: user "alice" is an admin and sees every tenant\n');
    expect(onPostgres[15]!.stdout).toMatch(/^cg_[A-Za-z0-9_-]{43}\n$/);
    expect(onPostgres[15]!.stderr).toBe('added manager token crm: copy it now, it will not be shown again\n');
    expect(JSON.parse(onPostgres[22]!.stdout).map((row: { name: string }) => row.name)).toEqual(['crm']);
    expect(existsSync(neverFile)).toBe(false);
  });

  it('keeps the accounts in PostgreSQL with the same audit entries, a password and a token good there', async () => {
    const rows = async (sql: string) => (await pool.query(sql)).rows;
    expect(await rows('SELECT name, role FROM users ORDER BY name')).toEqual([
      { name: 'alice', role: 'admin' },
      { name: 'bob', role: 'manager' },
    ]);
    expect(await rows('SELECT u.name, g.tenant FROM user_tenants g JOIN users u ON u.id = g.user_id ORDER BY 1, 2')).toEqual([{ name: 'bob', tenant: 'globex' }]);
    const token = onPostgres[15]!.stdout.trim();
    expect(await rows('SELECT name, role, token_hash FROM tokens ORDER BY name')).toEqual([{ name: 'crm', role: 'manager', token_hash: sha256(token) }]);
    expect(await rows('SELECT t.name, g.tenant FROM token_tenants g JOIN tokens t ON t.id = g.token_id')).toEqual([{ name: 'crm', tenant: 'acme' }]);

    const columns = 'actor, verb, entity, key, before, after';
    const mine = "entity IN ('user', 'token')";
    const sqlite = openDatabase(sqliteFile);
    try {
      const expected = sqlite.prepare(`SELECT ${columns} FROM audit WHERE ${mine} ORDER BY id`).all();
      expect(expected).toHaveLength(9);
      expect(await rows(`SELECT ${columns} FROM audit WHERE ${mine} ORDER BY id`)).toEqual(expected);
    } finally {
      sqlite.close();
    }
    const everything = JSON.stringify(await rows('SELECT * FROM audit')) + onPostgres.map((run) => run.stdout + run.stderr).join('');
    for (const secret of Object.values(PASSWORDS)) expect(everything).not.toContain(secret);
    expect(everything).not.toContain(sha256(token));

    const accounts = new PostgresUserBackend(pool, 'test');
    expect((await accounts.authenticate('BOB', PASSWORDS.bobNew))?.tenants).toEqual(['globex']);
    expect(await accounts.authenticate('bob', PASSWORDS.bob)).toBeUndefined();
    expect((await accounts.authenticate('alice', PASSWORDS.alice))?.role).toBe('admin');
    expect((await accounts.verifyToken(token))?.name).toBe('crm');
  });
});
