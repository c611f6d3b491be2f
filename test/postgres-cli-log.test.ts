// `callguard log`, `stats`, `audit` and `block` with a PostgreSQL store, as an operator runs
// them: the fleet's calls (delivered as an agent's shipper delivers them) read, counted and
// turned into rules in PostgreSQL, each command printing what it prints for a SQLite file
// holding the same calls; refusals as on SQLite; no SQLite file written.
import { existsSync } from 'node:fs';
import type { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Decision } from '../agent/engine/types';
import type { CallEntry } from '../agent/store/call-log';
import { openDatabase } from '../agent/store/database';
import { logToPostgres, logToSqlite } from './helpers/call-writers';
import type { LoggedOutcome } from './helpers/call-writers';
import { migratedPostgres } from './helpers/postgres-agent';
import { assertBuilt, describeRun, runCli } from './helpers/run-cli';
import type { CliResult } from './helpers/run-cli';
import { makeTempDir } from './helpers/temp-db';

const dir = makeTempDir('callguard-pg-cli-log-');
const cleanups: (() => unknown)[] = [];
beforeAll(() => assertBuilt());
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  dir.remove();
});

const MINUTE = 60_000;
const ACME_DID = '+14045550100';

/** A call `ago` ms before `now`, to acme's DID unless said otherwise. */
function call(n: number, now: number, ago: number, decision: Partial<Decision>, ip?: string): CallEntry {
  const full = {
    action: 'allow', target: null, kind: 'call', tenant: 'acme', did: ACME_DID, caller: `+1212555000${n}`, callerKind: 'number', scope: null, ruleId: null,
    category: null, categories: [], score: null, signals: [], flagged: false, reasons: [`reason ${n}`], ...decision,
  } as Decision;
  return { uid: `cli-${n}`, at: now - ago, source: 'freeswitch', pbx: 'freeswitch', channel: null, facts: { kind: full.kind, from: full.caller ?? 'anonymous', to: full.did ?? '', ip }, decision: full, decidedUs: 90 };
}

/** The CLI with no store settings of the caller's own. */
const cli = (args: string[]): CliResult => runCli(args, { env: { CALLGUARD_STORE: undefined, CALLGUARD_CONFIG: undefined } });

function ok(result: CliResult): string {
  expect(result.status, describeRun(result)).toBe(0);
  return result.stdout;
}

describe('the call log from the command line on a PostgreSQL store', () => {
  let pool: Pool;
  let onPostgres: (...args: string[]) => CliResult;
  let onSqlite: (...args: string[]) => CliResult;
  const neverWritten = dir.file('never.db');
  const sqlite = dir.file('same-calls.db');

  beforeAll(async () => {
    const store = await migratedPostgres(cleanups);
    pool = store.pool;
    onPostgres = (...args) => cli(['--db', neverWritten, '--store', store.url, ...args]);
    onSqlite = (...args) => cli(['--db', sqlite, ...args]);
    for (const run of [onPostgres, onSqlite]) {
      ok(run('tenants', 'add', 'acme'));
      ok(run('tenants', 'add', 'globex'));
      ok(run('dids', 'add', ACME_DID, '--tenant', 'acme'));
      ok(run('dids', 'add', '+13125550100', '--tenant', 'globex'));
    }
    const now = Date.now();
    const calls = [
      call(1, now, 3 * 24 * 60 * MINUTE, { score: 20 }),
      call(2, now, 150 * MINUTE, { action: 'block', ruleId: 3 }, '203.0.113.9'),
      call(3, now, 70 * MINUTE, { action: 'challenge', tenant: 'globex', did: '+13125550100' as never, score: 90 }),
      call(4, now, 30 * MINUTE, { flagged: true, score: 55 }),
      call(5, now, 10 * MINUTE, { action: 'voicemail', kind: 'sms' }),
      call(6, now, 2 * MINUTE, {}),
    ];
    const outcomes: LoggedOutcome[] = [
      { uid: 'cli-2', outcome: { outcome: 'rejected', detail: null }, at: now },
      { uid: 'cli-3', outcome: { outcome: 'failed', detail: 'wrong key' }, at: now },
    ];
    await logToPostgres(pool, calls, []);
    await logToPostgres(pool, [], outcomes); // the outcomes a later batch
    const db = openDatabase(sqlite);
    logToSqlite(db, calls, outcomes);
    db.close();
  });

  /** The same command on both stores prints the same (exit 0). */
  const same = (...args: string[]): string => {
    const printed = ok(onPostgres(...args));
    expect(printed, args.join(' ')).toBe(ok(onSqlite(...args)));
    return printed;
  };

  it('lists the log with its filters, counts it, and charts it per hour, as for a SQLite file', () => {
    const all = JSON.parse(same('log', '--json')) as { id: number; caller: string; outcome: string | null; flagged: boolean }[];
    expect(all.map((row) => row.id)).toEqual([6, 5, 4, 3, 2, 1]);
    expect(all.find((row) => row.id === 3)).toMatchObject({ outcome: 'failed', flagged: false });
    expect(same('log')).toMatch(/^ID +TIME +KIND +PBX +TENANT +DID +CALLER +ACTION .*\n6 +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d +call +freeswitch +acme +\+14045550100 +\+12125550006 +allow/);
    expect(JSON.parse(same('log', '--tenant', 'globex', '--json'))).toHaveLength(1);
    expect(JSON.parse(same('log', '--action', 'block', '--rule', '#3', '--json'))).toHaveLength(1);
    expect(JSON.parse(same('log', '--since', '1h', '--limit', '2', '--json')).map((row: { id: number }) => row.id)).toEqual([6, 5]);

    expect(JSON.parse(same('stats', '--json'))).toMatchObject({ total: 6, scanned: 3, blocked: 2, flagged: 1, legitimate: 2, challenged: 1, challengeFailed: 1, voicemail: 1 });
    expect(JSON.parse(same('stats', '--tenant', 'acme', '--since', '1d', '--json'))).toMatchObject({ total: 4, blocked: 1, flagged: 1, legitimate: 1 });
    expect(same('stats')).toMatch(/^COUNTER +CALLS\nTotal +6\n/);
    const day = JSON.parse(same('stats', '--per-hour', '24', '--json')) as { total: number }[];
    expect(day).toHaveLength(24);
    expect(day.reduce((sum, hour) => sum + hour.total, 0)).toBe(5);
    expect(JSON.parse(same('stats', '--per-hour', '168', '--tenant', 'acme', '--json')).reduce((sum: number, hour: { total: number }) => sum + hour.total, 0)).toBe(5);
    expect(same('stats', '--per-hour', '24')).toMatch(/^HOUR \(UTC\) +TOTAL +BLOCKED +FLAGGED +LEGITIMATE +OTHER\n/);
    expect(existsSync(neverWritten)).toBe(false);
  });

  it('refuses what it refuses on a SQLite file, in the same words', () => {
    for (const args of [
      ['log', '--tenant', 'nobody'],
      ['log', '--action', 'explode'],
      ['stats', '--per-hour', '12'],
      ['stats', '--tenant', 'nobody'],
      ['stats', '--since', 'lately'],
      ['audit', '--since', 'whenever'],
      ['block', '999'],
      ['block', '--last', '--did', '+19995550000'],
      ['block', '6', '--by', 'ip'],
      ['log', 'retention', 'forever'],
    ]) {
      const [postgres, file] = [onPostgres(...args), onSqlite(...args)];
      expect(postgres.status, describeRun(postgres)).toBe(2);
      expect(postgres.stderr, args.join(' ')).toBe(file.stderr);
      expect(postgres.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    }
    expect(onPostgres('log', '--tenant', 'nobody').stderr).toBe(`callguard: unknown tenant "nobody": add it first with 'callguard tenants add nobody'\n`);
    expect(existsSync(neverWritten)).toBe(false);
  });

  it("blocks a logged call's caller, and the newest caller to a DID, with the rules in PostgreSQL", async () => {
    expect(same('block', '2', '--by', 'ip', '--action', 'busy')).toBe('added #1 busy 203.0.113.9 (tenant:acme) from call 2\n');
    expect(same('block', '--last', '--did', '404-555-0100')).toBe('added #2 block +12125550006 (tenant:acme) from call 6\n');
    const { rows } = await pool.query('SELECT id, scope, kind, pattern, action, note FROM rules ORDER BY id');
    expect(rows).toEqual([
      { id: 1, scope: 'tenant:acme', kind: 'ip', pattern: '203.0.113.9', action: 'busy', note: 'from call 2' },
      { id: 2, scope: 'tenant:acme', kind: 'number', pattern: '+12125550006', action: 'block', note: 'from call 6' },
    ]);
    expect(existsSync(neverWritten)).toBe(false);
  });

  it('keeps and prunes by the retention, and shows the audit trail, as for a SQLite file', async () => {
    expect(same('log', 'retention')).toBe('call log kept for 90d\n');
    expect(same('log', 'retention', '2d')).toBe('call log kept for 2d\n');
    expect(same('log', 'prune')).toBe('pruned 1 row(s)\n');
    expect(same('log', 'prune')).toBe('pruned 0 row(s)\n');
    expect(JSON.parse(same('stats', '--json'))).toMatchObject({ total: 5 });
    expect((await pool.query('SELECT SUM(total)::int AS total FROM call_hours')).rows).toEqual([{ total: 5 }]);
    expect((await pool.query("SELECT value FROM settings WHERE key = 'log_retention'")).rows).toEqual([{ value: '2d' }]);

    type Change = { id: number; at: number; actor: string; verb: string; entity: string; key: string; before: unknown; after: unknown };
    const changes = (run: (...args: string[]) => CliResult) => JSON.parse(ok(run('audit', '--json'))) as Change[];
    const trail = changes(onPostgres);
    // Who changed what, in which order; the times differ (and the rows' own times in before and after).
    const who = ({ id, actor, verb, entity, key }: Change) => ({ id, actor, verb, entity, key });
    expect(trail.map(who)).toEqual(changes(onSqlite).map(who));
    expect(trail.map((change) => `${change.verb} ${change.entity} ${change.key}`)).toEqual([
      'add setting log_retention',
      'add rule #2',
      'add rule #1',
      'add did +13125550100',
      'add did +14045550100',
      'add tenant globex',
      'add tenant acme',
    ]);
    expect(trail[0]).toMatchObject({ actor: expect.stringMatching(/^cli:/), before: null, after: '2d' });
    expect(ok(onPostgres('audit'))).toMatch(/^TIME +WHO +WHAT +KEY +BEFORE +AFTER\n\d{4}-.* +cli:\S+ +add setting +log_retention +"2d"\n/);
    expect(JSON.parse(ok(onPostgres('audit', '--since', '1h', '--json')))).toHaveLength(7);
    expect(existsSync(neverWritten)).toBe(false);
  });
});
