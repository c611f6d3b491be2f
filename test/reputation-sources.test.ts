// Reputation sources: an ordered list of services, each with its own timeout and weight,
// kept in the store (SQLite or a fleet's PostgreSQL) and managed by one operation behind the
// CLI and the REST API, audited. Each trusted source's score × weight is its own signal, in
// the sources' order; the upgrade carries a configured reputation_url over as the first
// source; and a replay decides logged calls on the answers they had, of either shape.
import type { Database } from 'better-sqlite3';
import BetterSqlite3 from 'better-sqlite3';
import { Pool } from 'pg';
import pino from 'pino';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../agent/api/server';
import type { ReputationSource } from '../agent/engine/decision-store';
import type { Decision, E164 } from '../agent/engine/types';
import { Forbidden, NotFound, cliActing } from '../agent/operations/acting';
import { explain } from '../agent/operations/explain';
import { setProtection } from '../agent/operations/protection';
import { addSource, listSources, moveSource, removeSource } from '../agent/operations/reputation';
import { sqliteBackends } from '../agent/operations/store-backends';
import type { Backends } from '../agent/operations/store-backends';
import { loggedCallPages } from '../agent/replay/logged-call-pages';
import { NO_CHANGE } from '../agent/replay/proposal';
import { replay } from '../agent/replay/replay';
import type { Replayed } from '../agent/replay/replay';
import { ReputationClient } from '../agent/screening/reputation';
import { Screener } from '../agent/screening/screener';
import { DEFAULT_ACTION_SETTINGS } from '../agent/actions/settings';
import { CallLog } from '../agent/store/call-log';
import { openDatabase } from '../agent/store/database';
import { SqliteDecisionStore } from '../agent/store/decision-view';
import { migrate, migrationsIn } from '../agent/store/migrate';
import { migratePostgres, postgresMigrationsIn } from '../agent/store/postgres/migrate';
import { numericTypes } from '../agent/store/postgres/pg-types';
import { PostgresReputationBackend } from '../agent/store/postgres/reputation-backend';
import { PostgresReplica } from '../agent/store/postgres/replica';
import type { ReputationBackend } from '../agent/store/reputation-backend';
import { SqliteReputationBackend } from '../agent/store/sqlite-reputation-backend';
import { ACME_MANAGER, ADMIN, MemoryAuthenticator, as } from './helpers/api';
import { migratedPostgres } from './helpers/postgres-agent';
import { freshDatabase } from './helpers/postgres';
import { PATIENCE_MS } from './helpers/patience';
import { startReputationService } from './helpers/reputation-service';
import type { ReputationService } from './helpers/reputation-service';
import { assertBuilt, cliFor, jsonOf } from './helpers/run-cli';
import { makeTempDir } from './helpers/temp-db';

const DID = '15551230000';
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
beforeAll(() => assertBuilt());

function sqliteFile(): { db: Database; path: string } {
  const dir = makeTempDir('callguard-reputation-sources-');
  const path = dir.file('callguard.db');
  const db = openDatabase(path);
  cleanups.push(() => dir.remove(), () => db.close());
  return { db, path };
}

async function service(answer: (number: string) => string): Promise<ReputationService> {
  const started = await startReputationService();
  started.answer = (number) => ({ body: answer(number) });
  cleanups.push(() => started.close());
  return started;
}

const reputationSignals = (decision: Decision) => decision.signals.filter((signal) => signal.signal.startsWith('reputation:'));

describe('an ordered list of sources, each with its weight', () => {
  it("adds each source's score × weight as its own signal in the sources' order; one that fails adds 0 saying why; explain shows each", async () => {
    const { db } = sqliteFile();
    const backends = sqliteBackends(db).as('cli:test');
    const acting = cliActing('cli:test');
    await setProtection(backends, acting, { enabled: true, threshold: 100 });
    const first = await service(() => '{"score": 80}');
    const second = await service(() => '{"risk": 30}');
    const failing = await startReputationService();
    failing.answer = () => ({ status: 503, body: 'down' });
    cleanups.push(() => failing.close());
    // Timeouts far past what a busy machine takes: only what each service does decides its signal.
    await addSource(backends, acting, { name: 'first', url: first.url, weight: 0.5, timeoutMs: 5000 });
    await addSource(backends, acting, { name: 'second', url: second.url, weight: '1', timeoutMs: '5000' });
    await addSource(backends, acting, { name: 'failing', url: failing.url, timeoutMs: '10000', weight: 0.25, position: 1 });
    expect((await listSources(backends, acting)).map(({ name, position, timeoutMs, weight }) => ({ name, position, timeoutMs, weight }))).toEqual([
      { name: 'failing', position: 1, timeoutMs: 10_000, weight: 0.25 },
      { name: 'first', position: 2, timeoutMs: 5000, weight: 0.5 },
      { name: 'second', position: 3, timeoutMs: 5000, weight: 1 },
    ]);

    const client = new ReputationClient({ budgetMs: 10_000 });
    const asked = () => explain(backends.decideCall, acting, { from: '+14045551234', to: DID, attestation: 'A' }, 'US', client);
    const decision = await asked();
    expect(reputationSignals(decision)).toEqual([
      { signal: 'reputation:failing', points: 0, why: 'reputation source failing gave no score (HTTP 503); scored without it' },
      { signal: 'reputation:first', points: 40, why: 'reputation source first scores this number 80/100 (weight 0.5)' },
      { signal: 'reputation:second', points: 30, why: 'reputation source second scores this number 30/100 (weight 1)' },
    ]);
    expect(decision.score).toBe(-20 + 40 + 30);
    expect(decision.reasons).toEqual(expect.arrayContaining(['Step 3: +40 reputation:first: reputation source first scores this number 80/100 (weight 0.5).']));
    // Every source was asked for the caller, its number URL-encoded in the template.
    for (const one of [first, second, failing]) expect(one.asked).toEqual(['+14045551234']);

    await moveSource(backends, acting, 'second', '1');
    expect(reputationSignals(await asked()).map((signal) => signal.signal)).toEqual(['reputation:second', 'reputation:failing', 'reputation:first']);
    await removeSource(backends, acting, 'failing');
    expect(reputationSignals(await asked()).map((signal) => signal.signal)).toEqual(['reputation:second', 'reputation:first']);
  });
});

/** The source operations on one backend: what they write, audit and refuse. */
async function exerciseOperations(backend: ReputationBackend, audit: () => Promise<{ verb: string; key: string; before: unknown; after: unknown }[]>): Promise<void> {
  const stores = { reputation: backend };
  const url = 'https://rep.example/v1/score?number={number}&key=k';
  await addSource(stores, ADMIN, { name: 'alpha', url });
  await addSource(stores, ADMIN, { name: 'beta', url, timeoutMs: 100, weight: 0.2 });
  await addSource(stores, ADMIN, { name: 'gamma', url, position: 1 });
  await addSource(stores, ADMIN, { name: 'delta', url, position: 99 });
  const order = async () => (await listSources(stores, ADMIN)).map((row) => `${row.position}:${row.name}`);
  expect(await order()).toEqual(['1:gamma', '2:alpha', '3:beta', '4:delta']);
  expect(await moveSource(stores, ADMIN, 'delta', 2)).toEqual({ name: 'delta', position: 2, url, timeoutMs: 200, weight: 0.5 });
  expect(await order()).toEqual(['1:gamma', '2:delta', '3:alpha', '4:beta']);
  expect(await removeSource(stores, ADMIN, 'gamma')).toMatchObject({ name: 'gamma', position: 1 });
  expect(await order()).toEqual(['1:delta', '2:alpha', '3:beta']);
  expect(await listSources(stores, ADMIN)).toContainEqual({ name: 'beta', position: 3, url, timeoutMs: 100, weight: 0.2 });

  // Refused, with nothing written.
  const before = await listSources(stores, ADMIN);
  const trail = (await audit()).length;
  await expect(addSource(stores, ADMIN, { name: 'alpha', url })).rejects.toMatchObject({ field: 'name', message: expect.stringMatching(/already exists/) });
  await expect(addSource(stores, ACME_MANAGER, { name: 'mine', url })).rejects.toBeInstanceOf(Forbidden);
  await expect(listSources(stores, ACME_MANAGER)).rejects.toBeInstanceOf(Forbidden);
  await expect(removeSource(stores, ADMIN, 'nobody')).rejects.toBeInstanceOf(NotFound);
  await expect(moveSource(stores, ADMIN, 'nobody', 1)).rejects.toBeInstanceOf(NotFound);
  await expect(moveSource(stores, ADMIN, 'alpha', 0)).rejects.toMatchObject({ field: 'position' });
  expect(await listSources(stores, ADMIN)).toEqual(before);
  expect(await audit()).toHaveLength(trail);

  expect(await audit()).toEqual([
    { verb: 'add', key: 'alpha', before: null, after: { name: 'alpha', url, timeoutMs: 200, weight: 0.5, position: 1 } },
    { verb: 'add', key: 'beta', before: null, after: { name: 'beta', url, timeoutMs: 100, weight: 0.2, position: 2 } },
    { verb: 'add', key: 'gamma', before: null, after: { name: 'gamma', url, timeoutMs: 200, weight: 0.5, position: 1 } },
    { verb: 'add', key: 'delta', before: null, after: { name: 'delta', url, timeoutMs: 200, weight: 0.5, position: 4 } },
    { verb: 'change', key: 'delta', before: { position: 4 }, after: { position: 2 } },
    { verb: 'remove', key: 'gamma', before: { name: 'gamma', position: 1, url, timeoutMs: 200, weight: 0.5 }, after: null },
  ]);
}

describe('the source operations', () => {
  it('on SQLite: add at a position, move, remove (the later ones move up), audited; refusals write nothing', async () => {
    const { db } = sqliteFile();
    await exerciseOperations(new SqliteReputationBackend(db, 'token:ops'), async () =>
      (db.prepare("SELECT verb, key, before, after FROM audit WHERE entity = 'reputation_source' ORDER BY id").all() as { verb: string; key: string; before: string | null; after: string | null }[]).map(
        (row) => ({ ...row, before: row.before && JSON.parse(row.before), after: row.after && JSON.parse(row.after) }),
      ),
    );
  });

  it('on PostgreSQL: the same, entry for entry', async () => {
    const { pool } = await migratedPostgres(cleanups);
    await exerciseOperations(new PostgresReputationBackend(pool, 'token:ops'), async () =>
      (await pool.query<{ verb: string; key: string; before: string | null; after: string | null }>("SELECT verb, key, before, after FROM audit WHERE entity = 'reputation_source' ORDER BY id")).rows.map(
        (row) => ({ ...row, before: row.before && JSON.parse(row.before), after: row.after && JSON.parse(row.after) }),
      ),
    );
  });

  it.each([
    [{ name: 'Bad Name', url: 'https://x/{number}' }, 'name', /bad reputation source name "Bad Name": expected a short slug/],
    [{ name: '-x', url: 'https://x/{number}' }, 'name', /short slug/],
    [{ name: 'x', url: 'ftp://x/{number}' }, 'url', /expected an http\(s\) URL containing \{number\}/],
    [{ name: 'x', url: 'https://x/score' }, 'url', /containing \{number\}/],
    [{ name: 'x', url: 'https://x/{number} y' }, 'url', /http\(s\) URL/],
    [{ name: 'x', url: 'https://x/{number}', timeoutMs: '9' }, 'timeoutMs', /bad timeout "9": expected a whole number from 10 to 10000/],
    [{ name: 'x', url: 'https://x/{number}', timeoutMs: 10_001 }, 'timeoutMs', /from 10 to 10000/],
    [{ name: 'x', url: 'https://x/{number}', timeoutMs: '150.5' }, 'timeoutMs', /whole number/],
    [{ name: 'x', url: 'https://x/{number}', weight: '1.5' }, 'weight', /bad weight "1.5": expected a number from 0 to 1/],
    [{ name: 'x', url: 'https://x/{number}', weight: '' }, 'weight', /bad weight/],
    [{ name: 'x', url: 'https://x/{number}', position: '0' }, 'position', /bad position "0"/],
  ])('refuses %j naming %s', async (input, field, message) => {
    const { db } = sqliteFile();
    const stores = { reputation: new SqliteReputationBackend(db, 'test') };
    await expect(addSource(stores, ADMIN, input)).rejects.toMatchObject({ field, message: expect.stringMatching(message) });
    expect(await listSources(stores, ADMIN)).toEqual([]);
  });
});

describe('the command line', () => {
  it('adds, lists, moves and removes sources, audited as the operator; refuses the old score settings', () => {
    const { path } = sqliteFile();
    const cli = cliFor(path);
    expect(cli('reputation', 'add', 'alpha', '--url', 'https://a.example/{number}').stdout).toBe('added 1. alpha: https://a.example/{number}, timeout 200 ms, weight 0.5\n');
    expect(cli('reputation', 'add', 'beta', '--url', 'https://b.example/?n={number}', '--timeout-ms', '120', '--weight', '0.8', '--position', '1').status).toBe(0);
    expect(jsonOf(cli('reputation', 'list', '--json'))).toEqual([
      { name: 'beta', position: 1, url: 'https://b.example/?n={number}', timeoutMs: 120, weight: 0.8 },
      { name: 'alpha', position: 2, url: 'https://a.example/{number}', timeoutMs: 200, weight: 0.5 },
    ]);
    expect(cli('reputation', 'move', 'alpha', '1').stdout).toBe('moved 1. alpha: https://a.example/{number}, timeout 200 ms, weight 0.5\n');
    expect(cli('reputation', 'list').stdout.split('\n')[1]).toMatch(/^1 +alpha +https:\/\/a\.example\/\{number\} +200 +0\.5$/);
    expect(cli('reputation', 'remove', 'beta').stdout).toBe('removed 2. beta: https://b.example/?n={number}, timeout 120 ms, weight 0.8\n');
    expect(cli('audit').stdout).toMatch(/add reputation_source +alpha/);

    const tune = cli('protection', 'tune', 'reputation_weight', '0.7');
    expect(tune.status).toBe(2);
    expect(tune.stderr.trim().split('\n')).toHaveLength(1);
    expect(tune.stderr).toMatch(/reputation_weight is no longer a score setting: reputation services are sources now \(callguard reputation add <name> --url …\)/);
  });

  it.each([
    [['reputation', 'add', 'x', '--url', 'https://x.example/score'], /containing \{number\}/],
    [['reputation', 'add', 'x', '--url', 'https://x.example/{number}', '--timeout-ms', 'soon'], /bad timeout "soon"/],
    [['reputation', 'add', 'x', '--url', 'https://x.example/{number}', '--weight', '2'], /bad weight "2"/],
    [['reputation', 'add', 'X!', '--url', 'https://x.example/{number}'], /bad reputation source name/],
    [['reputation', 'add', 'kept', '--url', 'https://x.example/{number}'], /reputation source "kept" already exists/],
    [['reputation', 'move', 'kept', 'first'], /bad position "first"/],
    [['reputation', 'remove', 'nobody'], /no reputation source "nobody"/],
  ])('%j exits 2 with one line and writes nothing', (args, message) => {
    const { db, path } = sqliteFile();
    const cli = cliFor(path);
    expect(cli('reputation', 'add', 'kept', '--url', 'https://kept.example/{number}').status).toBe(0);
    const rows = () => db.prepare('SELECT * FROM reputation_sources').all();
    const audits = () => db.prepare('SELECT count(*) FROM audit').pluck().get();
    const [before, audited] = [rows(), audits()];
    const result = cli(...args);
    expect(result.status).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(message);
    expect(rows()).toEqual(before);
    expect(audits()).toBe(audited);
  });
});

describe('the REST API', () => {
  it('lists, adds, moves and removes sources (administrators only); bad input is a 400 naming the field, nothing written', async () => {
    const { db } = sqliteFile();
    const api = await buildApi({ store: sqliteBackends(db), country: 'US', authenticator: new MemoryAuthenticator(), reputation: new ReputationClient(), logger: pino({ level: 'silent' }), secure: false });
    cleanups.push(() => api.close());
    const call = async (token: string, method: 'GET' | 'POST' | 'DELETE', url: string, payload?: Record<string, unknown>) => {
      const response = await api.inject({ method, url, headers: as(token), ...(payload && { payload }) });
      return { status: response.statusCode, body: response.json() };
    };
    const url = 'https://rep.example/{number}';
    expect(await call('cg_admin', 'POST', '/v1/reputation/sources', { name: 'alpha', url })).toEqual({ status: 201, body: { name: 'alpha', position: 1, url, timeoutMs: 200, weight: 0.5 } });
    expect((await call('cg_admin', 'POST', '/v1/reputation/sources', { name: 'beta', url, timeoutMs: 80, weight: 1, position: 1 })).status).toBe(201);
    expect((await call('cg_admin', 'POST', '/v1/reputation/sources/alpha/move', { position: 1 })).body).toMatchObject({ name: 'alpha', position: 1 });
    expect((await call('cg_admin', 'GET', '/v1/reputation/sources')).body.sources.map((source: ReputationSource) => source.name)).toEqual(['alpha', 'beta']);

    for (const [payload, field] of [
      [{ name: 'Nope', url }, 'name'],
      [{ name: 'x', url: 'gopher://x/{number}' }, 'url'],
      [{ name: 'x', url, timeoutMs: 5 }, 'timeoutMs'],
      [{ name: 'x', url, timeoutMs: 'slow' }, 'timeoutMs'],
      [{ name: 'x', url, weight: -0.1 }, 'weight'],
      [{ name: 'x', url, position: 0 }, 'position'],
      [{ name: 'x', url, extra: 1 }, 'extra'],
      [{ url }, 'name'],
      [{ name: 'alpha', url }, 'name'],
    ] as const) {
      const { status, body } = await call('cg_admin', 'POST', '/v1/reputation/sources', payload);
      expect(status, JSON.stringify(payload)).toBe(400);
      expect(body.field, `${JSON.stringify(payload)}: ${body.error}`).toBe(field);
    }
    expect((await call('cg_admin', 'POST', '/v1/reputation/sources/beta/move', { position: 'top' })).body.field).toBe('position');
    expect((await call('cg_acme', 'GET', '/v1/reputation/sources')).status).toBe(403);
    expect((await call('cg_acme', 'POST', '/v1/reputation/sources', { name: 'mine', url })).status).toBe(403);
    expect((await call('cg_admin', 'DELETE', '/v1/reputation/sources/nobody')).status).toBe(404);
    expect(db.prepare('SELECT name FROM reputation_sources ORDER BY position').pluck().all()).toEqual(['alpha', 'beta']);

    expect(await call('cg_admin', 'DELETE', '/v1/reputation/sources/alpha')).toEqual({ status: 200, body: { removed: { name: 'alpha', position: 1, url, timeoutMs: 200, weight: 0.5 } } });
    expect(db.prepare('SELECT name, position FROM reputation_sources').all()).toEqual([{ name: 'beta', position: 1 }]);
    const documented = (await api.inject({ method: 'GET', url: '/v1/openapi.json', headers: as('cg_admin') })).json().paths;
    expect(Object.keys(documented)).toEqual(expect.arrayContaining(['/v1/reputation/sources', '/v1/reputation/sources/{name}', '/v1/reputation/sources/{name}/move']));
  });
});

describe('the upgrade (migration 015, PostgreSQL 011)', () => {
  const OLD = [
    ['reputation_url', 'https://rep.example/v1/score?number={number}'],
    ['reputation_timeout_ms', '150'],
    ['reputation_weight', '0.8'],
    ['neighbor', '30'],
  ];

  it('on SQLite carries a configured reputation_url over as the first source, with its timeout and weight, and retires the three settings', () => {
    const dir = makeTempDir('callguard-reputation-upgrade-');
    const db = new BetterSqlite3(dir.file('old.db'));
    cleanups.push(() => dir.remove(), () => db.close());
    migrate(db, migrationsIn().filter((migration) => migration.version < 15));
    for (const [key, value] of OLD) db.prepare('INSERT INTO score_settings (key, value) VALUES (?, ?)').run(key, value);
    expect(migrate(db)).toContain(15);
    expect(db.prepare('SELECT name, position, url, timeout_ms AS timeoutMs, weight FROM reputation_sources').all()).toEqual([
      { name: 'reputation', position: 1, url: 'https://rep.example/v1/score?number={number}', timeoutMs: 150, weight: 0.8 },
    ]);
    expect(db.prepare('SELECT key, value FROM score_settings').all()).toEqual([{ key: 'neighbor', value: '30' }]);
  });

  it('on SQLite makes no source of an unset or empty reputation_url, and takes the old defaults for what was not tuned', () => {
    for (const settings of [[], [['reputation_url', '']], [['reputation_url', 'http://r.example/{number}']]]) {
      const dir = makeTempDir('callguard-reputation-upgrade-');
      const db = new BetterSqlite3(dir.file('old.db'));
      cleanups.push(() => dir.remove(), () => db.close());
      migrate(db, migrationsIn().filter((migration) => migration.version < 15));
      for (const [key, value] of settings) db.prepare('INSERT INTO score_settings (key, value) VALUES (?, ?)').run(key, value);
      migrate(db);
      const made = db.prepare('SELECT name, url, timeout_ms AS timeoutMs, weight FROM reputation_sources').all();
      expect(made).toEqual(settings[0]?.[1] ? [{ name: 'reputation', url: settings[0][1], timeoutMs: 200, weight: 0.5 }] : []);
    }
  });

  it('on PostgreSQL does the same, and the change feed carries the sources to every agent', async () => {
    const pool = new Pool({ connectionString: await freshDatabase(), max: 2, types: numericTypes });
    pool.on('error', () => undefined);
    cleanups.push(() => pool.end());
    await migratePostgres(pool, postgresMigrationsIn().filter((migration) => migration.version < 11));
    for (const [key, value] of OLD) await pool.query('INSERT INTO score_settings (key, value) VALUES ($1, $2)', [key, value]);
    expect(await migratePostgres(pool)).toContain(11);
    expect((await pool.query('SELECT name, position, url, timeout_ms AS "timeoutMs", weight FROM reputation_sources')).rows).toEqual([
      { name: 'reputation', position: 1, url: 'https://rep.example/v1/score?number={number}', timeoutMs: 150, weight: 0.8 },
    ]);
    expect((await pool.query('SELECT key, value FROM score_settings')).rows).toEqual([{ key: 'neighbor', value: '30' }]);
    const { rows } = await pool.query<{ seq: number }>("SELECT count(*)::int AS seq FROM changes WHERE entity = 'reputation_sources'");
    const seen = rows[0]!.seq;
    await new PostgresReputationBackend(pool, 'test').add({ name: 'second', url: 'https://two.example/{number}', timeoutMs: 100, weight: 0.1 }, null);
    expect((await pool.query<{ seq: number }>("SELECT count(*)::int AS seq FROM changes WHERE entity = 'reputation_sources'")).rows[0]!.seq).toBeGreaterThan(seen);
  });
});

describe('a replay of logged calls', () => {
  it('decides again on the answers each call had: the single answer of rows logged before sources, and each source\'s answer since', async () => {
    const { db } = sqliteFile();
    const backends: Backends = sqliteBackends(db).as('cli:test');
    const acting = cliActing('cli:test');
    await setProtection(backends, acting, { enabled: true, threshold: 60, flagThreshold: 30, action: 'block' });
    const scores = new Map([['+14045551001', 90], ['+14045551002', 40], ['+14045551003', 5]]);
    const main = await service((number) => String(scores.get(number) ?? 0));
    const other = await service(() => '{"score": 70}');
    // The source the upgrade made of a reputation_url whose weight was 0.8.
    await addSource(backends, acting, { name: 'reputation', url: main.url, weight: 0.8, timeoutMs: 10_000 });
    const log = new CallLog(db, { flushMs: 5 });
    cleanups.push(() => log.close(200));
    // The limit and the budget are hang detectors here: what each call's score holds must not depend on the machine's load.
    const settings = { country: 'US', failMode: 'open' as const, actions: DEFAULT_ACTION_SETTINGS, decisionLimitMs: PATIENCE_MS };
    const screener = new Screener(new SqliteDecisionStore(db), log, settings, pino({ level: 'silent' }), null, new ReputationClient({ budgetMs: PATIENCE_MS }));
    for (const from of scores.keys()) await screener.verdict({ kind: 'call', from, to: DID, attestation: 'B' }, 'test');
    log.flush();
    // What those rows would hold had they been logged before migration 015: the service's one answer.
    for (const row of db.prepare('SELECT id, facts FROM calls').all() as { id: number; facts: string }[]) {
      const facts = JSON.parse(row.facts) as { reputation: { source: string; weight: number; kind: string }[] };
      const [{ source, weight, ...single }] = facts.reputation as [{ source: string; weight: number; kind: string }];
      expect({ source, weight }).toEqual({ source: 'reputation', weight: 0.8 });
      db.prepare('UPDATE calls SET facts = ? WHERE id = ?').run(JSON.stringify({ ...facts, reputation: single }), row.id);
    }
    // Since then: two sources, and a failing one.
    await addSource(backends, acting, { name: 'other', url: other.url, weight: 0.3, timeoutMs: 10_000 });
    await addSource(backends, acting, { name: 'dead', url: 'http://127.0.0.1:9/{number}', timeoutMs: 50 });
    for (const from of scores.keys()) await screener.verdict({ kind: 'call', from, to: DID, attestation: 'B' }, 'test');
    log.flush();

    const rows = db.prepare('SELECT id, action, score, flagged, facts FROM calls ORDER BY at, id').all() as { id: number; action: string; score: number; flagged: number; facts: string }[];
    expect(rows.map((row) => row.score)).toEqual([10 + 72, 10 + 32, 10 + 4, 10 + 72 + 21, 10 + 32 + 21, 10 + 4 + 21].map((score) => Math.min(100, score)));
    expect(rows.map((row) => row.action)).toEqual(['block', 'allow', 'allow', 'block', 'block', 'allow']);
    expect(JSON.parse(rows[0]!.facts).reputation).toEqual({ kind: 'score', score: 90 });

    const replayed: Replayed[] = [];
    await replay(await backends.replayTables(), loggedCallPages(backends.calls), { from: 0, until: Date.now() + 1 }, NO_CHANGE, (one) => void replayed.push(one), 'US');
    expect(replayed.map((one) => ({ id: one.call.id, action: one.before.action, score: one.before.score, flagged: one.before.flagged ? 1 : 0 }))).toEqual(
      rows.map(({ id, action, score, flagged }) => ({ id, action, score, flagged })),
    );
    expect(reputationSignals(replayed[0]!.before)).toEqual([{ signal: 'reputation:reputation', points: 72, why: 'reputation source reputation scores this number 90/100 (weight 0.8)' }]);
    expect(reputationSignals(replayed[3]!.before).map((signal) => `${signal.signal} ${signal.points}`)).toEqual(['reputation:reputation 72', 'reputation:other 21', 'reputation:dead 0']);
    // Replayed from the log, never asked again (the second round's answers of main came from the cache).
    expect(main.asked).toHaveLength(3);
    expect(other.asked).toHaveLength(3);
  });
});

describe('a fleet', () => {
  it("every agent's local copy holds the sources as PostgreSQL has them, and its next decision uses them", async () => {
    const { pool } = await migratedPostgres(cleanups);
    const dir = makeTempDir('callguard-reputation-replica-');
    const local = openDatabase(dir.file('local.db'));
    cleanups.push(() => dir.remove(), () => local.close());
    const replica = await PostgresReplica.start(pool, local, undefined, { pollEveryMs: 3_600_000 });
    cleanups.push(() => replica.stop());
    const caughtUp = async () => replica.caughtUp((await pool.query('SELECT max(seq) AS seq FROM changes')).rows[0].seq as number, PATIENCE_MS);
    const fleet = { reputation: new PostgresReputationBackend(pool, 'cli:ops') };
    const src = await service(() => '{"score": 70}');
    await addSource(fleet, ADMIN, { name: 'alpha', url: src.url, weight: 0.5 });
    await addSource(fleet, ADMIN, { name: 'beta', url: src.url, weight: 0.1, position: 1 });
    await caughtUp();
    const view = new SqliteDecisionStore(local);
    expect(view.view().reputationSources).toEqual([
      { name: 'beta', url: src.url, timeoutMs: 200, weight: 0.1 },
      { name: 'alpha', url: src.url, timeoutMs: 200, weight: 0.5 },
    ]);
    await removeSource(fleet, ADMIN, 'beta');
    await caughtUp();
    expect(view.view().reputationSources.map((source) => source.name)).toEqual(['alpha']);
  });
});

describe('an agent decides with the sources as they are now', () => {
  it('sees a source added from another connection at its very next decision', async () => {
    const { db, path } = sqliteFile();
    const src = await service(() => '60');
    await setProtection(sqliteBackends(db).as('test'), cliActing('test'), { enabled: true, threshold: 100 });
    const client = new ReputationClient({ budgetMs: 10_000 });
    const { decideCall } = sqliteBackends(db).as('test');
    const decide = () => decideCall({ kind: 'call', from: '+14045551234', to: DID, attestation: 'A' }, { country: 'US', now: Date.now() }, client);
    expect(reputationSignals(await decide())).toEqual([]);
    expect(cliFor(path)('reputation', 'add', 'fresh', '--url', src.url, '--weight', '1', '--timeout-ms', '10000').status).toBe(0);
    expect(reputationSignals(await decide())).toEqual([expect.objectContaining({ signal: 'reputation:fresh', points: 60 })]);
    expect(src.asked).toEqual(['+14045551234' as E164]);
  });
});
