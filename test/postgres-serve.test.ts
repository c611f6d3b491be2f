// `callguard serve --store postgres://…` as an operator runs it, on the FreeSWITCH
// simulator: it refuses a database it cannot use in one line; a rule stored in
// PostgreSQL blocks the next call once its change arrives (the time it took is printed,
// never asserted), and so does the rule the hook's block-last (*32) writes there; with
// PostgreSQL away calls are still decided from the local copy and
// their log rows reach PostgreSQL once, after it is back, also across a kill and restart;
// /healthz and /metrics show the store's state and queue depth; a stop delivers what is
// queued; with no store URL nothing changes from the SQLite file.
import { existsSync } from 'node:fs';
import type { Pool } from 'pg';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from './helpers/free-port';
import { PATIENCE_MS } from './helpers/patience';
import { freshDatabase } from './helpers/postgres';
import { DID, addRule, migratedPostgres, serveAgent, untilAsync } from './helpers/postgres-agent';
import type { Agent, ServeOptions } from './helpers/postgres-agent';
import { proxyPostgres } from './helpers/postgres-proxy';
import { assertBuilt, runCli } from './helpers/run-cli';
import { makeTempDir, withDatabase } from './helpers/temp-db';
import type { TempDir } from './helpers/temp-db';

const cleanups: (() => unknown)[] = [];
beforeAll(() => assertBuilt());
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function newDir(): TempDir {
  const dir = makeTempDir('callguard-pg-serve-');
  cleanups.push(() => dir.remove());
  return dir;
}

/** `callguard serve` on the simulator, in `options.dir` or a new state directory. */
const serve = (storeUrl: string | null, options: ServeOptions & { readonly dir?: TempDir } = {}): Promise<Agent> => serveAgent(storeUrl, options.dir ?? newDir(), cleanups, options);

const migratedStore = () => migratedPostgres(cleanups);

/** The rows PostgreSQL has for a caller's calls through the PBX (not the hook's verdicts): each action and outcome, one per call. */
async function loggedCalls(pool: Pool, caller: string): Promise<{ action: string; outcome: string | null }[]> {
  const { rows } = await pool.query("SELECT action, outcome FROM calls WHERE caller = $1 AND source <> 'hook' ORDER BY at, uid", [caller]);
  return rows as { action: string; outcome: string | null }[];
}

const unreachable = (agent: Agent) => async () => (await health(agent)).store.state === 'unreachable';
const metric = (text: string, name: string) => Number(new RegExp(`^${name.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
const health = async (agent: Agent) => JSON.parse((await agent.get('/healthz')).body) as { store: { kind: string; state: string; queueDepth: number } };

describe('serve with a PostgreSQL store it cannot use', () => {
  it('refuses an unmigrated database, naming `callguard migrate`, and a server not there: one line, exit 1, no password', async () => {
    const url = await freshDatabase();
    const password = decodeURIComponent(new URL(url).password);
    const unmigrated = await serve(url);
    expect(await unmigrated.exited).toBe(1);
    expect(unmigrated.stderr()).toMatch(/^callguard: the PostgreSQL schema has no callguard schema yet, this callguard needs \d+: run `callguard migrate --store postgres:\/\/postgres@127\.0\.0\.1:\d+\/\w+`\n$/);
    expect(unmigrated.stderr()).not.toContain(password);

    const away = new URL(url);
    away.port = String(await freePort());
    const unreachable = await serve(away.toString());
    expect(await unreachable.exited).toBe(1);
    expect(unreachable.stderr()).toMatch(/^callguard: cannot reach PostgreSQL at 127\.0\.0\.1:\d+: connection refused\. .*\n$/);
    expect(unreachable.stderr()).not.toContain(password);
  });
});

describe('serve deciding from PostgreSQL', () => {
  it('a rule added in PostgreSQL blocks the next call; every call is logged there once, the last ones delivered by the stop', async () => {
    const { url, pool } = await migratedStore();
    const agent = await serve(url);
    expect(agent.child.exitCode).toBeNull();
    expect(await agent.call('+14045550100')).toBe('continued');

    const health0 = await health(agent);
    expect(health0.store).toMatchObject({ kind: 'postgres', state: 'connected' });
    expect(metric((await agent.get('/metrics')).body, 'callguard_store_up{store="postgres"}')).toBe(1);

    await addRule(pool, '404*', 'block');
    const committed = performance.now();
    // Asked of the hook over and over (another caller, so the calls below stay countable) until the rule is in effect.
    let verdict = '';
    while (verdict !== 'block') {
      expect(performance.now() - committed, 'the rule to take effect').toBeLessThan(PATIENCE_MS);
      const answer = await agent.get(`/v1/decide?from=%2B14045550199&to=${DID}&kind=call`);
      expect(answer.status, answer.body).toBe(200);
      verdict = JSON.parse(answer.body).action;
    }
    console.log(`a rule committed in PostgreSQL was in effect on the agent ${(performance.now() - committed).toFixed(1)} ms later (the first /v1/decide answering block)`);
    expect(await agent.call('+14045550100')).toBe('hungup:CALL_REJECTED');
    expect(await agent.call('+12125550100')).toBe('continued');

    // The *32 feature code, dialled seconds after the call (by then it is logged): the newest caller to the DID
    // blocked for every agent, the rule written to PostgreSQL.
    await untilAsync(async () => (await loggedCalls(pool, '+12125550100')).length === 1, 'the call to be logged');
    const blocked = await agent.post(`/v1/block-last?did=${DID}`);
    expect(blocked.status, blocked.body).toBe(200);
    expect(JSON.parse(blocked.body)).toMatchObject({ pattern: '+12125550100', scope: 'tenant:default', action: 'block' });
    const { rows: added } = await pool.query("SELECT scope, kind, pattern, action FROM rules WHERE note LIKE 'from call %'");
    expect(added).toEqual([{ scope: 'tenant:default', kind: 'number', pattern: '+12125550100', action: 'block' }]);
    expect((await pool.query("SELECT actor FROM audit WHERE entity = 'rule' ORDER BY id DESC LIMIT 1")).rows).toEqual([{ actor: 'http:hook' }]);
    await untilAsync(async () => JSON.parse((await agent.get(`/v1/decide?from=%2B12125550100&to=${DID}&kind=call`)).body).action === 'block', 'the blocked caller\'s rule to take effect');
    expect(await agent.call('+12125550100')).toBe('hungup:CALL_REJECTED');
    const unknown = await agent.post('/v1/block-last?did=%2B15559990000');
    expect([unknown.status, JSON.parse(unknown.body).error]).toEqual([400, 'no call to +15559990000 in the call log']);

    agent.child.kill('SIGTERM');
    expect(await agent.exited).toBe(0);
    expect(await loggedCalls(pool, '+14045550100')).toEqual([
      { action: 'allow', outcome: 'continued' },
      { action: 'block', outcome: 'rejected' },
    ]);
    expect(await loggedCalls(pool, '+12125550100')).toEqual([
      { action: 'allow', outcome: 'continued' },
      { action: 'block', outcome: 'rejected' },
    ]);
    expect(agent.stderr()).toMatch(/"queued":0,"delivered":\d+,"msg":"the call-log queue is closed/);
    expect(agent.stderr()).not.toContain(decodeURIComponent(new URL(url).password));
  });

  it('with PostgreSQL away, calls are decided from the local copy and their rows arrive once it is back, exactly once', async () => {
    const { url, pool } = await migratedStore();
    await addRule(pool, '404*', 'block');
    const { proxy, url: proxied } = await proxyPostgres(url);
    cleanups.push(() => proxy.close());
    const token = runCli(['--store', url, 'tokens', 'add', 'ops', '--role', 'admin']).stdout.trim();
    const agent = await serve(proxied, { via: 'env', console: true });
    const rulesByApi = () => fetch(`http://127.0.0.1:${agent.console}/v1/rules`, { headers: { authorization: `Bearer ${token}` } });
    expect((await rulesByApi()).status).toBe(200);
    expect(await agent.call('+14045550111')).toBe('hungup:CALL_REJECTED');
    await untilAsync(async () => (await loggedCalls(pool, '+14045550111')).length === 1, 'the first call to be logged');

    await proxy.close();
    const cut = Date.now();
    await untilAsync(unreachable(agent), 'the agent to notice PostgreSQL is away');
    console.log(`the agent reported PostgreSQL unreachable ${Date.now() - cut} ms after it went away`);
    expect(await agent.call('+14045550111')).toBe('hungup:CALL_REJECTED');
    expect(await agent.call('+14045550111')).toBe('hungup:CALL_REJECTED');
    expect(await agent.call('+12125550111')).toBe('continued');
    await untilAsync(async () => (await health(agent)).store.queueDepth >= 6, 'the rows to wait in the queue');
    const metrics = (await agent.get('/metrics')).body;
    expect(metric(metrics, 'callguard_store_up{store="postgres"}')).toBe(0);
    expect(metric(metrics, 'callguard_store_queue_depth')).toBeGreaterThanOrEqual(6);
    expect((await agent.get('/healthz')).status).toBe(200); // decisions go on: the agent is healthy
    expect(await loggedCalls(pool, '+14045550111')).toHaveLength(1);
    // The console and REST API work on PostgreSQL itself: away, they say so (503), and the agent goes on.
    const away = await rulesByApi();
    expect([away.status, await away.json()]).toEqual([503, { error: 'the store (PostgreSQL) cannot be reached just now: try again in a moment' }]);

    await proxy.open();
    const back = Date.now();
    await untilAsync(async () => (await health(agent)).store.state === 'connected' && (await health(agent)).store.queueDepth === 0, 'the queue to drain');
    console.log(`the queued call log reached PostgreSQL ${Date.now() - back} ms after it came back (outage of ${back - cut} ms)`);
    expect(await loggedCalls(pool, '+14045550111')).toEqual([
      { action: 'block', outcome: 'rejected' },
      { action: 'block', outcome: 'rejected' },
      { action: 'block', outcome: 'rejected' },
    ]);
    expect(await loggedCalls(pool, '+12125550111')).toEqual([{ action: 'allow', outcome: 'continued' }]);
    expect(metric((await agent.get('/metrics')).body, 'callguard_store_up{store="postgres"}')).toBe(1);
    expect((await rulesByApi()).status).toBe(200);

    agent.child.kill('SIGTERM');
    expect(await agent.exited).toBe(0);
    expect(await loggedCalls(pool, '+14045550111')).toHaveLength(3);
    expect(agent.stderr()).toContain('"url":"[redacted]"'); // CALLGUARD_STORE, in the settings it logs at start
    expect(agent.stderr()).not.toContain(decodeURIComponent(new URL(url).password));
  });
});

describe('serve killed while PostgreSQL is away', () => {
  it('keeps the rows queued on disk; the next start delivers them once, deciding from the copy it kept', async () => {
    const { url, pool } = await migratedStore();
    await addRule(pool, '404*', 'block');
    const { proxy, url: proxied } = await proxyPostgres(url);
    cleanups.push(() => proxy.close());
    const dir = newDir();
    const first = await serve(proxied, { dir });
    await proxy.close();
    await untilAsync(unreachable(first), 'the agent to notice PostgreSQL is away');
    expect(await first.call('+14045550122')).toBe('hungup:CALL_REJECTED');
    expect(await first.call('+12125550122')).toBe('continued');
    await untilAsync(async () => (await health(first)).store.queueDepth === 4, 'both calls and their outcomes to be queued');
    first.child.kill('SIGKILL');
    await first.exited;
    expect(existsSync(dir.file('agent.replica.db')) && existsSync(dir.file('agent.log-queue.db'))).toBe(true);
    expect(existsSync(dir.file('agent.db'))).toBe(false); // the SQLite store is never the copy

    await proxy.open();
    const second = await serve(proxied, { dir });
    await untilAsync(async () => (await health(second)).store.queueDepth === 0 && (await loggedCalls(pool, '+12125550122')).length === 1, 'the queue to drain');
    expect(await loggedCalls(pool, '+14045550122')).toEqual([{ action: 'block', outcome: 'rejected' }]);
    expect(await loggedCalls(pool, '+12125550122')).toEqual([{ action: 'allow', outcome: 'continued' }]);
    expect(second.stderr()).not.toContain('loaded the local copy from PostgreSQL'); // caught up from where it was, no full load
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });
});

describe('serve with no store URL', () => {
  it('decides from and logs to the SQLite file, as before, and says so on /healthz and /metrics', async () => {
    const dir = newDir();
    const agent = await serve(null, { dir });
    expect(await agent.call('+14045550133')).toBe('continued');
    expect((await health(agent)).store).toEqual({ kind: 'sqlite' });
    const metrics = (await agent.get('/metrics')).body;
    expect(metric(metrics, 'callguard_store_up{store="sqlite"}')).toBe(1);
    expect(metric(metrics, 'callguard_store_queue_depth')).toBe(0);
    agent.child.kill('SIGTERM');
    expect(await agent.exited).toBe(0);
    expect(withDatabase(dir.file('agent.db'), (db) => db.prepare('SELECT caller, action, outcome FROM calls').all())).toEqual([{ caller: '+14045550133', action: 'allow', outcome: 'continued' }]);
    expect(existsSync(dir.file('agent.replica.db')) || existsSync(dir.file('agent.log-queue.db'))).toBe(false);
  });
});
