import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Database } from 'better-sqlite3';
import { Client } from 'pg';
import { parsePattern } from '../../agent/engine/patterns';
import { openDatabase } from '../../agent/store/database';
import { fleetFiles } from '../../agent/store/postgres/local-files';
import { RuleStore } from '../../agent/store/rules';
import { startPostgresCluster } from '../helpers/postgres-cluster';
import { timeDecisions } from './core';
import { timeBacklogDelivery, timeLogDelivery } from './log-delivery';
import { spread, us } from './measure';
import type { Row } from './measure';
import { timePropagation } from './rule-propagation';
import { startServeAgent } from './serve-agent';
import type { ServeAgent } from './serve-agent';
import { benchStoreCopy } from './store-copy';

const FLEET_SIZE = 3;
const PROPAGATION_ROUNDS = 25;
const DECISION_ROUNDS = 100_000;

const msTenth = (value: number) => `${value.toFixed(1)} ms`;
const perSecond = (value: number) => `${Math.round(value).toLocaleString('en-US')}/s`;

/** A new, empty database on the cluster; its URL. */
async function createDatabase(adminUrl: string, name: string): Promise<string> {
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Keeps the call log's table from being written (reads go on) until the returned release: the agents' rows wait in their local queues. */
async function holdCallLog(url: string): Promise<() => Promise<void>> {
  const locker = new Client({ connectionString: url });
  await locker.connect();
  await locker.query('BEGIN');
  await locker.query('LOCK TABLE calls IN EXCLUSIVE MODE');
  return async () => {
    try {
      await locker.query('COMMIT');
    } finally {
      await locker.end();
    }
  };
}

/** Starts an agent on `url` for each path, all at once; every one that started is in `agents`, even if another failed. */
async function startAll(paths: readonly string[], url: string, agents: ServeAgent[]): Promise<void> {
  const started = await Promise.allSettled(paths.map((path) => startServeAgent(path, url)));
  for (const result of started) if (result.status === 'fulfilled') agents.push(result.value);
  const failed = started.find((result) => result.status === 'rejected');
  if (failed) throw failed.reason;
}

/** The CLI cannot write rules to PostgreSQL yet: stored as another machine's callguard would, one committed row. */
async function addRuleInPostgres(client: Client, caller: string): Promise<void> {
  const { kind, key, pattern, span } = parsePattern(caller, 'US');
  await client.query(
    `INSERT INTO rules (scope, kind, key, pattern, span, action, created_at, updated_at) VALUES ('global', $1, $2, $3, $4, 'block', $5, $5)`,
    [kind, key, pattern, span, Date.now()],
  );
}

/**
 * Issue 13's figures: `store copy` of the benchmark's database into a throwaway
 * PostgreSQL cluster, then FLEET_SIZE `callguard serve` agents sharing it: how soon a
 * committed rule is in effect on every agent, how many log rows per second reach the
 * store, and a decision's time on an agent's local copy against one indexed lookup. The
 * SQLite figures beside them come from one more agent, on a copy of the SQLite file.
 */
export async function benchFleet(dbPath: string): Promise<Row[]> {
  const cluster = await startPostgresCluster();
  const dir = mkdtempSync(join(tmpdir(), 'callguard-bench-fleet-'));
  const agents: ServeAgent[] = [];
  const sqlitePath = join(dir, 'sqlite.db');
  const open: { client?: Client; sqlite?: Database } = {};
  try {
    const url = await createDatabase(cluster.adminUrl, 'fleet_bench');
    const copyRows = benchStoreCopy(dbPath, url);
    const client = (open.client = new Client({ connectionString: url }));
    await client.connect();

    const agentPaths = Array.from({ length: FLEET_SIZE }, (_, i) => {
      mkdirSync(join(dir, `agent-${i}`));
      return join(dir, `agent-${i}`, 'agent.db');
    });
    const loadStart = performance.now();
    await startAll(agentPaths, url, agents);
    console.log(`fleet: ${FLEET_SIZE} agents loaded their local copies from PostgreSQL in ${(performance.now() - loadStart).toFixed(0)} ms`);
    copyFileSync(dbPath, sqlitePath);
    const sqliteAgent = await startServeAgent(sqlitePath, null);
    agents.push(sqliteAgent);
    const fleet = agents.slice(0, FLEET_SIZE).map((agent) => agent.http);

    const propagation = spread(await timePropagation(fleet, PROPAGATION_ROUNDS, (caller) => addRuleInPostgres(client, caller)));
    const sqlite = (open.sqlite = openDatabase(sqlitePath));
    const rules = new RuleStore(sqlite, 'bench');
    const sqlitePropagation = spread(
      await timePropagation([sqliteAgent.http], PROPAGATION_ROUNDS, async (caller) => {
        rules.add([{ ...parsePattern(caller, 'US'), scope: 'global', action: 'block', target: null, sms: false, note: null, list: null, expiresAt: null }]);
      }),
    );

    const pgCount = async (since: number) => Number((await client.query('SELECT count(*) AS n FROM calls WHERE at >= $1', [since])).rows[0].n);
    const pgLog = await timeLogDelivery(fleet, pgCount);
    const backlog = await timeBacklogDelivery(fleet, pgCount, () => holdCallLog(url));
    const sqliteCount = sqlite.prepare('SELECT count(*) FROM calls WHERE at >= ?').pluck();
    const sqliteLog = await timeLogDelivery([sqliteAgent.http], async (since) => sqliteCount.get(since) as number);
    console.log(`fleet: ${pgLog.served} calls served, ${pgLog.delivered} log rows in PostgreSQL, ${pgLog.failures} failed; SQLite agent ${sqliteLog.served} served, ${sqliteLog.delivered} rows, ${sqliteLog.failures} failed`);
    console.log(`fleet: with the call log held, ${backlog.served} calls served, ${backlog.delivered} log rows in PostgreSQL after the release, ${backlog.failures} failed`);

    // Decisions timed in this process on the copy an agent built, once the agents are stopped (no noise from them).
    await Promise.all(agents.splice(0).map((agent) => agent.stop()));
    const fromCopy = timeDecisions(fleetFiles(agentPaths[0]!).replica, DECISION_ROUNDS, "on a PostgreSQL agent's local copy");
    const fromFile = timeDecisions(sqlitePath, DECISION_ROUNDS, 'on the SQLite file');
    const ratio = fromCopy.decision.median / fromCopy.lookup.median;

    return [
      ...copyRows,
      {
        metric: `fleet: a rule committed in PostgreSQL in effect on all ${FLEET_SIZE} agents, p50`,
        measured: msTenth(propagation.median),
        target: '≤ 1000 ms',
        baseline: `SQLite agent, rule added to its file: ${msTenth(sqlitePropagation.median)}`,
        ok: propagation.median <= 1000,
      },
      {
        metric: `fleet: a rule committed in PostgreSQL in effect on all ${FLEET_SIZE} agents, p99 (${propagation.count} rules)`,
        measured: msTenth(propagation.p99),
        target: '≤ 1000 ms',
        baseline: `SQLite agent, rule added to its file: ${msTenth(sqlitePropagation.p99)}`,
        ok: propagation.p99 <= 1000,
      },
      {
        metric: "fleet: one decision from a PostgreSQL agent's local copy, 1M rules (median)",
        measured: `${us(fromCopy.decision.median)} (${ratio.toFixed(2)}× lookup)`,
        target: '≤ 3× point lookup',
        baseline: `point lookup ${us(fromCopy.lookup.median)}; SQLite store ${us(fromFile.decision.median)}`,
        ok: ratio <= 3,
      },
      {
        // The calls this machine's agents can serve bound this figure: it shows delivery keeping pace with them.
        metric: `fleet: call-log rows into PostgreSQL, ${FLEET_SIZE} agents serving calls flat out`,
        measured: `${perSecond(pgLog.rowsPerSecond)} (${perSecond(pgLog.callsPerSecond)} calls served)`,
        target: 'every call, keeping pace',
        baseline: `one SQLite agent into its file: ${perSecond(sqliteLog.rowsPerSecond)} (${perSecond(sqliteLog.callsPerSecond)} calls served)`,
        ok: pgLog.failures === 0 && pgLog.delivered >= pgLog.served && pgLog.rowsPerSecond >= 0.9 * pgLog.callsPerSecond,
      },
      {
        // What the store takes in when the agents offer more than it: their queued rows, delivered back to back.
        metric: `fleet: call-log rows into PostgreSQL, a backlog of ${backlog.delivered.toLocaleString('en-US')} from ${FLEET_SIZE} agents`,
        measured: perSecond(backlog.rowsPerSecond),
        target: '≥ 5,000/s',
        baseline: `calls served meanwhile ${perSecond(backlog.callsPerSecond)}`,
        ok: backlog.rowsPerSecond >= 5000 && backlog.failures === 0 && backlog.delivered >= backlog.served,
      },
    ];
  } finally {
    await Promise.all(agents.map((agent) => agent.stop()));
    open.sqlite?.close();
    await open.client?.end().catch(() => undefined);
    cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
