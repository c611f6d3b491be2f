// `callguard store copy`: a SQLite store full of real content goes to PostgreSQL and back
// (and PostgreSQL to PostgreSQL, SQLite to SQLite) with every row as it was, decisions
// unchanged; a target holding data is refused untouched; a row refused midway leaves the
// target empty; a bad URL, password, port or file is one line and exit 1.
import { copyFileSync, existsSync } from 'node:fs';
import { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decide } from '../agent/engine/decide';
import type { Decision, E164 } from '../agent/engine/types';
import { addCarrier } from '../agent/operations/carriers';
import { cliActing } from '../agent/operations/acting';
import { setCategory } from '../agent/operations/categories';
import { explain } from '../agent/operations/explain';
import type { ExplainInput } from '../agent/operations/explain';
import { setProtection } from '../agent/operations/protection';
import { addRules, removeRules, setListEnabled } from '../agent/operations/rules';
import { SqliteCategoryBackend } from '../agent/store/sqlite-category-backend';
import { sqliteProtectionStores } from '../agent/store/sqlite-protection-backend';
import { SqliteRuleBackend } from '../agent/store/sqlite-rule-backend';
import { SqliteTenantBackend } from '../agent/store/sqlite-tenant-backend';
import { decideFromPostgres } from '../agent/screening/decide-from-postgres';
import { deciderOn } from '../agent/screening/decide-with-reputation';
import type { CallDecider } from '../agent/screening/decide-with-reputation';
import { ReputationClient } from '../agent/screening/reputation';
import { CallLog } from '../agent/store/call-log';
import { callUid } from '../agent/store/call-uid';
import { COPIED_TABLES } from '../agent/store/copied-tables';
import { openDatabase } from '../agent/store/database';
import { SqliteDecisionStore } from '../agent/store/decision-view';
import { migratePostgres } from '../agent/store/postgres/migrate';
import { numericTypes } from '../agent/store/postgres/pg-types';
import { ProtectionStore } from '../agent/store/protection';
import { SessionStore } from '../agent/store/sessions';
import { SettingsStore } from '../agent/store/settings';
import { TenantStore } from '../agent/store/tenants';
import { TokenStore } from '../agent/store/tokens';
import { UserStore } from '../agent/store/users';
import { freePort } from './helpers/free-port';
import { databaseUrl, freshDatabase, postgresAdminUrl } from './helpers/postgres';
import { assertBuilt, describeRun, runCli } from './helpers/run-cli';
import type { CliResult } from './helpers/run-cli';
import { SqliteReputationBackend } from '../agent/store/sqlite-reputation-backend';
import { makeTempDir, withDatabase } from './helpers/temp-db';
import type { TempDir } from './helpers/temp-db';

const ACTOR = 'cli:copy-test';
const acting = cliActing(ACTOR);
const COUNTRY = 'US';
const DID = '+15551230000';

/** Caller names as a PBX may signal them: every character COPY's text format treats specially, and more. */
const HOSTILE_NAMES = [
  'Tab\there',
  'New\nline',
  'CR\r\nLF',
  'Back\\slash \\N \\t',
  '\\N',
  '\\.',
  'Quote "double" \'single\' `back`',
  'Unicode 日本語 ☎️ 𝄞 Ünïcödé',
  '',
  'comma,semi;pipe|${x}',
  'NUL\u0000byte',
];

let dir: TempDir;
let original: string;
/** A rule removed after it was added: its id must never be handed out again. */
let removedRuleId: number;

/** Fills a SQLite store through the store's own operations, as the CLI, API and agent would. */
async function buildStore(path: string): Promise<void> {
  const db = openDatabase(path);
  try {
    const tenants = new TenantStore(db, ACTOR);
    tenants.add('acme');
    tenants.add('globex');
    tenants.addDid(DID as E164, 'acme');
    tenants.addDid('+15551239999' as E164, 'globex');
    const rules = new SqliteRuleBackend(db, ACTOR);
    const add = (patterns: string, action: string, more: Record<string, string | boolean> = {}) => addRules(rules, acting, { patterns, action, ...more }, COUNTRY);
    await add('702-500-4000, 212-900-8000, 217*', 'block');
    await add('404-555', 'challenge', { scope: 'tenant:acme' });
    await add('404-555-1234', 'allow', { scope: `did:${DID}`, sms: true });
    await add('anonymous', 'voicemail:200', { expires: '30d' });
    await add('203.0.113.0/24', 'busy', { note: 'SIP scanner\twith "tab"\nand newline' });
    await add('*@spam.example', 'disconnected', { list: 'spam' });
    await add('+1 415 555 0101', 'allow', { list: 'vip' });
    await add('312*', 'forward', { to: '+14045550000' });
    await add('2001:db8::/32', 'block', { when: 'mon-fri 09:00-17:00', tz: 'America/New_York' });
    await setListEnabled(rules, acting, 'spam', false, COUNTRY);
    removedRuleId = (await add('+14045559999', 'block'))[0]!.id;
    await removeRules(rules, acting, [removedRuleId], COUNTRY);
    const categoryStores = { categories: new SqliteCategoryBackend(db, ACTOR), tenants: new SqliteTenantBackend(db, ACTOR) };
    await setCategory(categoryStores, acting, { category: 'anonymous', action: 'challenge' });
    await setCategory(categoryStores, acting, { category: 'international', tenant: 'acme', action: 'block', when: 'sat 10:00-14:00', tz: 'UTC' });
    const protectionStores = sqliteProtectionStores(db, ACTOR);
    await setProtection(protectionStores, acting, { tenant: 'acme', enabled: true, threshold: 60, action: 'challenge' });
    const protection = new ProtectionStore(db, ACTOR);
    protection.tune('attestation_a', '-25');
    await addCarrier(protectionStores, acting, { pattern: 'Robo Telecom', scope: 'tenant:acme' }, COUNTRY);
    await addCarrier(protectionStores, acting, { pattern: 'Bandwidth' }, COUNTRY);
    // Nobody listens there: every store explains the same refused lookup.
    await new SqliteReputationBackend(db, ACTOR).add({ name: 'rep', url: 'http://127.0.0.1:9/score/{number}', timeoutMs: 100, weight: 0.25 }, null);
    protection.replacePrefixes([
      ['+1404555', 'Robo Telecom'],
      ['+1212', 'Verizon'],
    ]);
    new SettingsStore(db, ACTOR).set('log_retention', '90d');
    const alice = await new UserStore(db, ACTOR).add('alice', 'admin', [], 'correct horse battery staple');
    await new UserStore(db, ACTOR).add('bob', 'manager', ['acme', 'globex'], 'another long passphrase');
    new TokenStore(db, ACTOR).add('crm', 'manager', ['acme']);
    new TokenStore(db, ACTOR).add('ops', 'admin', []);
    new SessionStore(db).create(alice.id);
    // The call log: real decisions, hostile caller names, outcomes after the fact, spread over hours.
    const log = new CallLog(db);
    const store = new SqliteDecisionStore(db);
    const callers = ['702-500-4000', '(404) 555-1234', '404-555-7777', 'anonymous', '+1 312 555 0000', '+44 20 7946 0000', '+1 415 555 0101'];
    const outcomes = ['continued', 'rejected', 'passed', 'failed', 'voicemail', 'answered', 'hungup'] as const;
    const start = Date.UTC(2026, 11, 1, 8, 0);
    for (let i = 0; i < 70; i++) {
      const at = start + i * 17 * 60_000;
      const facts = { kind: i % 9 === 0 ? ('sms' as const) : ('call' as const), from: callers[i % callers.length]!, to: i % 2 ? DID : '+15551239999', callerName: HOSTILE_NAMES[i % HOSTILE_NAMES.length], ip: i % 5 === 0 ? '203.0.113.7' : undefined, sipFrom: i % 3 === 0 ? `sip:caller-${i}@example.com` : undefined };
      const uid = callUid(at);
      log.record({ uid, at, source: i % 2 ? 'freeswitch' : 'asterisk', pbx: i % 3 === 0 ? null : i % 2 ? 'fs-east' : 'ast-1', channel: `chan\t${i}`, facts, decision: decide(facts, store, { country: COUNTRY, now: at }), decidedUs: 10 + i });
      if (i % 4 !== 3) log.finish(uid, { outcome: outcomes[i % outcomes.length]!, detail: i % 6 === 0 ? 'detail "with"\nlines\\' : null }, at + 30_000);
    }
    log.close();
  } finally {
    db.close();
  }
}

/** A table's rows in a stable order, as plain objects. */
function rowsOf(path: string, table: string, leaveOut: readonly string[] = []): Record<string, unknown>[] {
  return withDatabase(path, (db) => {
    const columns = (db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((column) => column.name).filter((name) => !leaveOut.includes(name));
    return db.prepare(`SELECT ${columns.join(', ')} FROM ${table} ORDER BY ${columns.join(', ')}`).all() as Record<string, unknown>[];
  });
}

/** Every copied table, the call_hours rollup and the id counters. */
const COMPARED = [...COPIED_TABLES.map((table) => table.name), 'call_hours', 'sqlite_sequence'];

/** What a trip through PostgreSQL leaves of a row: NUL characters removed (PostgreSQL text cannot hold them). */
const withoutNul = (rows: Record<string, unknown>[]) =>
  rows.map((row) => Object.fromEntries(Object.entries(row).map(([key, value]) => [key, typeof value === 'string' ? value.replaceAll('\u0000', '') : value])));

function copy(from: string, to: string): CliResult {
  return runCli(['store', 'copy', '--from', from, '--to', to]);
}

function copied(from: string, to: string): CliResult {
  const result = copy(from, to);
  expect(result.status, describeRun(result)).toBe(0);
  expect(result.stdout).toMatch(/^copied \d+ row\(s\) from .* every table's count checked: tenants 3, lists 2, dids 2, rules 11, /);
  return result;
}

/** A refusal: exit 1 and one line on stderr, nothing on stdout. */
function refused(result: CliResult): string {
  expect(result.status, describeRun(result)).toBe(1);
  expect(result.stdout).toBe('');
  const lines = result.stderr.trim().split('\n');
  expect(lines, describeRun(result)).toHaveLength(1);
  return lines[0]!;
}

async function withPool<T>(url: string, work: (pool: Pool) => Promise<T>): Promise<T> {
  const pool = new Pool({ connectionString: url, max: 1, types: numericTypes });
  try {
    return await work(pool);
  } finally {
    await pool.end();
  }
}

/** Rows per copied table in PostgreSQL, the seeded tenant `default` not counted. */
async function postgresData(url: string): Promise<Record<string, number>> {
  return withPool(url, async (pool) => {
    const counts: Record<string, number> = {};
    for (const table of COPIED_TABLES) {
      counts[table.name] = (await pool.query<{ n: number }>(`SELECT count(*) AS n FROM ${table.name}${table.seedsDefault ? " WHERE name <> 'default'" : ''}`)).rows[0]!.n;
    }
    return counts;
  });
}

const EMPTY = Object.fromEntries(COPIED_TABLES.map((table) => [table.name, 0]));

/** A time to decide at, the same for every store, so that windows and expiry read alike. */
const AT = new Date().toISOString();

const ASKS: readonly ExplainInput[] = [
  { from: '702-500-4000', to: DID },
  { from: '(404) 555-1234', to: DID },
  { from: '(404) 555-1234', to: DID, sms: true },
  { from: '404-555-7777', to: DID },
  { from: 'anonymous', to: '+15551239999' },
  { from: '+1 312 555 0000', to: DID },
  { from: '+1 415 555 0101', to: DID },
  { from: '+14045559999', to: '+15551239999' },
  { from: '+1 646 555 0199', to: DID, ip: '203.0.113.7' },
  { from: '+1 646 555 0199', to: DID, sipFrom: 'sip:bob@spam.example' },
  { from: '+1 646 555 0199', to: DID, carrier: 'Robo Telecom, Inc.', attestation: 'A' },
  { from: '+44 20 7946 0000', to: DID, attestation: 'C' },
];

/** What `callguard explain` answers for each ask, decided by `decideCall`. */
async function decisionsBy(decideCall: CallDecider): Promise<Decision[]> {
  const decisions = [];
  for (const ask of ASKS) decisions.push(await explain(decideCall, acting, { ...ask, at: AT }, COUNTRY, new ReputationClient()));
  return decisions;
}

/** What `callguard explain` answers for each ask, decided from the SQLite file at `path`. */
async function decisionsOf(path: string): Promise<Decision[]> {
  const db = openDatabase(path);
  try {
    return await decisionsBy(deciderOn(new SqliteDecisionStore(db)));
  } finally {
    db.close();
  }
}

beforeAll(async () => {
  assertBuilt();
  dir = makeTempDir('callguard-store-copy-');
  original = dir.file('original.db');
  await buildStore(original);
});

afterAll(() => dir?.remove());

describe('callguard store copy', () => {
  it('carries every row from SQLite to PostgreSQL, on to another PostgreSQL, back to SQLite and to another SQLite file, as it was', async () => {
    const pg1 = await freshDatabase(); // no schema yet: the copy gives it one
    const pg2 = await freshDatabase();
    const back = dir.file('back.db');
    const again = dir.file('again.db');
    const toPostgres = copied(original, pg1);
    const nuls = rowsOf(original, 'calls').filter((row) => String(row.caller_name).includes('\u0000')).length;
    expect(nuls).toBeGreaterThan(0);
    expect(toPostgres.stdout).toContain(`note: removed ${nuls} NUL character(s) from text values: PostgreSQL text cannot hold them`);
    copied(pg1, pg2);
    copied(pg2, back);
    copied(back, again);

    for (const table of COMPARED) {
      const before = withoutNul(rowsOf(original, table));
      expect(rowsOf(back, table), `${table} after SQLite → PostgreSQL → PostgreSQL → SQLite`).toEqual(before);
      expect(rowsOf(again, table), `${table} after one more SQLite → SQLite`).toEqual(before);
    }
    expect(rowsOf(original, 'calls').length).toBe(70);
    expect(rowsOf(original, 'call_hours').length).toBeGreaterThan(10);
    expect(rowsOf(original, 'sessions')).toHaveLength(1);
    expect(rowsOf(back, 'sessions')).toEqual([]); // not copied: each holds a live CSRF secret
    const decisions = await decisionsOf(original);
    expect(new Set(decisions.map((decision) => decision.action))).toEqual(new Set(['block', 'allow', 'challenge', 'voicemail', 'forward', 'busy']));
    expect(await decisionsOf(again)).toEqual(decisions);

    await withPool(pg2, async (pool) => {
      // explain away from any agent reads PostgreSQL itself, and must answer as the SQLite file does.
      expect(await decisionsBy(decideFromPostgres(pool))).toEqual(decisions);
      const audit = await pool.query<{ uid: string }>('SELECT uid FROM audit');
      expect(audit.rows.length).toBe(rowsOf(original, 'audit').length);
      expect(new Set(audit.rows.map((row) => row.uid)).size).toBe(audit.rows.length);
      // The counters go on past every id ever handed out, the removed rule's included.
      const next = await pool.query<{ rule: number; call: number }>("SELECT nextval(pg_get_serial_sequence('rules', 'id')) AS rule, nextval(pg_get_serial_sequence('calls', 'id')) AS call");
      expect(next.rows[0]!.rule).toBe(removedRuleId + 1);
      expect(next.rows[0]!.call).toBe(71);
    });
  });

  it('refuses a target that holds data and writes nothing to it', async () => {
    const url = await freshDatabase();
    copied(original, url);
    const before = await postgresData(url);
    const feed = await withPool(url, async (pool) => (await pool.query<{ n: number }>('SELECT count(*) AS n FROM changes')).rows[0]!.n);
    expect(refused(copy(original, url))).toMatch(/^callguard: PostgreSQL at 127\.0\.0\.1:\d+\/callguard_\w+ already holds data \(tenants, lists, dids, rules, .*\): store copy fills only an empty store, so it wrote nothing$/);
    expect(await postgresData(url)).toEqual(before);
    expect(await withPool(url, async (pool) => (await pool.query<{ n: number }>('SELECT count(*) AS n FROM changes')).rows[0]!.n)).toBe(feed);

    const file = dir.file('busy.db');
    const db = openDatabase(file);
    new TenantStore(db, ACTOR).add('existing');
    db.close();
    const contents = () => COMPARED.map((table) => rowsOf(file, table));
    const held = contents();
    expect(refused(copy(url, file))).toBe(`callguard: the SQLite file ${file} already holds data (tenants, audit): store copy fills only an empty store, so it wrote nothing`);
    expect(contents()).toEqual(held);
  });

  it('a row the target refuses midway leaves it empty: one transaction', async () => {
    // A grant naming a token that does not exist, written behind the store's back: every
    // table before it (tenants, rules …) is copied by then, and the target's foreign key refuses it.
    const broken = dir.file('broken.db');
    copyFileSync(original, broken);
    const db = openDatabase(broken);
    db.pragma('foreign_keys = OFF');
    db.prepare("INSERT INTO token_tenants (token_id, tenant) VALUES (999, 'acme')").run();
    db.close();

    const url = await freshDatabase();
    expect(refused(copy(broken, url))).toMatch(/^callguard: copying token_tenants into PostgreSQL at .* failed: .*foreign key.*: rolled back, nothing was written to PostgreSQL at /);
    expect(await postgresData(url)).toEqual(EMPTY);
    expect(await withPool(url, async (pool) => (await pool.query("SELECT name FROM tenants")).rows)).toEqual([{ name: 'default' }]);
    copied(original, url); // and it can be filled once the source is right

    const file = dir.file('never.db');
    expect(refused(copy(broken, file))).toMatch(/FOREIGN KEY constraint failed: rolled back, nothing was written to the SQLite file /);
    expect(existsSync(file)).toBe(false); // the file it made for the copy goes with it

    // A value PostgreSQL's column type refuses, in the very last table.
    const typed = dir.file('typed.db');
    copyFileSync(original, typed);
    const other = openDatabase(typed);
    other.prepare("UPDATE audit SET at = 'yesterday' WHERE id = (SELECT max(id) FROM audit)").run();
    other.close();
    const target = await freshDatabase();
    expect(refused(copy(typed, target))).toMatch(/^callguard: copying audit into PostgreSQL at .* failed: invalid input syntax for type bigint: "yesterday" \(COPY audit, line \d+, column at: "yesterday"\): rolled back/);
    expect(await postgresData(target)).toEqual(EMPTY);
  });

  it('a table whose count differs on the target after the copy rolls everything back, naming it and both counts', async () => {
    // A trigger someone left on the target that quietly drops a row: only the count check can see it.
    const url = await freshDatabase();
    await withPool(url, async (pool) => {
      await migratePostgres(pool);
      await pool.query(`CREATE FUNCTION drop_retention() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN IF NEW.key = 'log_retention' THEN RETURN NULL; END IF; RETURN NEW; END $$`);
      await pool.query('CREATE TRIGGER drop_retention BEFORE INSERT ON settings FOR EACH ROW EXECUTE FUNCTION drop_retention()');
    });
    const settings = rowsOf(original, 'settings').length;
    expect(refused(copy(original, url))).toMatch(
      new RegExp(`^callguard: settings: the SQLite file ${original} has ${settings} row\\(s\\) but PostgreSQL at .* would hold ${settings - 1}: rolled back, nothing was written$`),
    );
    expect(await postgresData(url)).toEqual(EMPTY);
  });

  it('a bad URL, a wrong password, an unreachable server or a missing file is one line and exit 1, never the password', async () => {
    const admin = new URL(postgresAdminUrl());
    const password = decodeURIComponent(admin.password);
    const bad = refused(copy(original, 'postgres://copier:S3cretPassw0rd@127.0.0.1:notaport/db'));
    expect(bad).toBe('callguard: the store URL is not a PostgreSQL URL: expected postgres://user:password@host:5432/database');
    expect(refused(copy(original, 'mysql://copier:S3cretPassw0rd@127.0.0.1/db'))).toBe(bad);

    const wrong = new URL(databaseUrl('postgres'));
    wrong.password = 'Wr0ngPassw0rd';
    const rejected = refused(copy(original, wrong.toString()));
    expect(rejected).toMatch(/^callguard: PostgreSQL at 127\.0\.0\.1:\d+\/postgres rejected the password of user "postgres"/);
    expect(rejected).not.toContain('Wr0ngPassw0rd');

    const port = await freePort();
    const away = refused(copy(`postgres://postgres:${password}@127.0.0.1:${port}/callguard`, dir.file('away.db')));
    expect(away).toBe(`callguard: cannot reach PostgreSQL at 127.0.0.1:${port}: connection refused. Is it running and listening there? Check the store URL (store.url, --store or CALLGUARD_STORE)`);
    expect(away).not.toContain(password);
    expect(existsSync(dir.file('away.db'))).toBe(false);

    const missing = dir.file('missing.db');
    expect(refused(copy(missing, dir.file('new.db')))).toBe(`callguard: there is no SQLite file at ${missing} to copy from`);
    expect(existsSync(missing)).toBe(false);
    expect(existsSync(dir.file('new.db'))).toBe(false);
  });
});
