// The fleet-history follower against a real PostgreSQL: it brings the calls other agents
// logged (and their later outcomes) into the local copy, where the decision store counts
// them beside the agent's own log; none missed when the shippers commit out of order,
// none counted twice, and rows past the windows pruned.
import type { Database } from 'better-sqlite3';
import type { Pool } from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { scoreSettings } from '../agent/engine/score-settings';
import type { E164 } from '../agent/engine/types';
import { createLogger } from '../agent/log/logger';
import { processPart } from '../agent/store/call-uid';
import { openDatabase } from '../agent/store/database';
import { SqliteDecisionStore } from '../agent/store/decision-view';
import { createFollowedCalls } from '../agent/store/followed-calls';
import { FleetHistoryFollower } from '../agent/store/postgres/fleet-history';
import { until } from './helpers/patience';
import { migratedPostgres } from './helpers/postgres-agent';
import { makeTempDir } from './helpers/temp-db';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

async function setUp(): Promise<{ pool: Pool; db: Database; decisions: SqliteDecisionStore; follower: FleetHistoryFollower }> {
  const { pool } = await migratedPostgres(cleanups);
  const dir = makeTempDir('callguard-fleet-history-');
  cleanups.push(() => dir.remove());
  const db = openDatabase(dir.file('agent.replica.db'));
  cleanups.push(() => db.close());
  createFollowedCalls(db);
  const decisions = new SqliteDecisionStore(db, { fleetHistory: true });
  const follower = new FleetHistoryFollower(pool, db.name, () => scoreSettings(new Map()), createLogger('silent'), { pollEveryMs: 20, pruneEveryMs: 20 });
  cleanups.push(() => follower.stop());
  return { pool, db, decisions, follower };
}

let counter = 0;
/** A uid as another agent (another process part) or this one would give it. */
const uidOf = (part = 'other1234') => `${Date.now().toString(36).padStart(9, '0')}-${part}-${(counter++).toString(36).padStart(4, '0')}`;

const INSERT = "INSERT INTO calls (uid, at, kind, source, tenant, did, caller, action, reasons, outcome) VALUES ($1, $2, 'call', 'hook', 'default', $3, $4, 'allow', '[]', $5)";

const history = (decisions: SqliteDecisionStore, caller: string) => decisions.history(caller as E164, Date.now() - 10 * MINUTE, Date.now() - 30 * DAY);

describe('FleetHistoryFollower', () => {
  it("counts other agents' calls and a challenge failed there, even when the shippers commit out of order", async () => {
    const { pool, decisions, follower } = await setUp();
    const caller = '+13125550101';
    await pool.query(INSERT, [uidOf(), Date.now(), '+15550000001', caller, null]); // before the follower started: read by time
    follower.start();
    await until(() => history(decisions, caller).calls === 1, 'the call logged before the start');

    // A shipper's transaction that began first (and took its id first) commits after a later one.
    const slow = await pool.connect();
    cleanups.push(() => slow.release());
    await slow.query('BEGIN');
    await slow.query(INSERT, [uidOf(), Date.now(), '+15550000002', caller, null]);
    await pool.query(INSERT, [uidOf(), Date.now(), '+15550000003', caller, null]);
    await until(() => history(decisions, caller).calls === 2, 'the call committed first');
    await slow.query('COMMIT');
    await until(() => history(decisions, caller).dids === 3, 'the call committed last');

    await pool.query("UPDATE calls SET outcome = 'failed' WHERE did = '+15550000002'");
    await until(() => history(decisions, caller).failed === 1, 'the challenge failed on the other agent');
    expect(history(decisions, caller)).toEqual({ calls: 3, dids: 3, passed: 0, failed: 1 });
  });

  it("counts this agent's own calls once: this run's are not followed, an earlier run's are found in its log", async () => {
    const { pool, db, decisions, follower } = await setUp();
    const caller = '+13125550102';
    const earlierRun = uidOf('earlier99');
    db.prepare("INSERT INTO calls (uid, at, kind, source, tenant, did, caller, action, reasons) VALUES (?, ?, 'call', 'hook', 'default', '+15550000001', ?, 'allow', '[]')").run(earlierRun, Date.now(), caller);
    await pool.query(INSERT, [earlierRun, Date.now(), '+15550000001', caller, null]);
    await pool.query(INSERT, [uidOf(processPart), Date.now(), '+15550000002', caller, null]);
    await pool.query(INSERT, [uidOf(), Date.now(), '+15550000003', caller, null]); // another agent's, the last committed
    follower.start();
    await until(() => follower.followed >= 2 && history(decisions, caller).calls === 2, "the other agent's call");
    expect(db.prepare('SELECT count(*) FROM followed_calls WHERE caller = ?').pluck().get(caller)).toBe(1);
  });

  it('prunes followed rows no window counts: calls past the velocity window, challenge outcomes past the history window', async () => {
    const { db, follower } = await setUp();
    const add = db.prepare('INSERT INTO followed_calls (uid, at, tenant, did, caller, outcome) VALUES (?, ?, ?, ?, ?, ?)');
    const now = Date.now();
    add.run('recent', now, 'default', null, '+1', null);
    add.run('old-call', now - 20 * MINUTE, 'default', null, '+1', 'continued');
    add.run('old-failure', now - 20 * MINUTE, 'default', null, '+1', 'failed');
    add.run('ancient-failure', now - 40 * DAY, 'default', null, '+1', 'failed');
    follower.start();
    const left = () => db.prepare('SELECT uid FROM followed_calls ORDER BY uid').pluck().all();
    await until(() => left().length === 2, 'the rows past the windows to be pruned');
    expect(left()).toEqual(['old-failure', 'recent']);
  });
});
