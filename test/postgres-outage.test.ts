// Issue 13's outage test: three real `callguard serve` agents on the FreeSWITCH simulator,
// their store URL pointing through a proxy in front of one PostgreSQL, are offered calls
// at an even ~200 calls/s in total (a timer placing one every 5 ms, round robin) for
// ~14 s, and PostgreSQL is cut (connections refused, open ones cut) for 10 s in the
// middle. Every call offered must get the agent's decision, /healthz must show the store
// unreachable during the cut and connected after it, and once PostgreSQL is back its
// calls table must hold exactly one row per call offered, each with its outcome, also
// after the agents stop. The rate achieved, the queue depth and the delivery times are
// printed for the record, never asserted; every wait is on the event itself.
import type { Pool } from 'pg';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { addRule, migratedPostgres, serveAgent, untilAsync } from './helpers/postgres-agent';
import type { Agent } from './helpers/postgres-agent';
import { proxyPostgres } from './helpers/postgres-proxy';
import { assertBuilt } from './helpers/run-cli';
import { makeTempDir } from './helpers/temp-db';

const cleanups: (() => unknown)[] = [];
beforeAll(() => assertBuilt());
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** One call offered every INTERVAL_MS over all agents (200 calls/s), for OFFER_MS. */
const INTERVAL_MS = 5;
const OFFER_MS = 14_000;
/** PostgreSQL is cut CUT_AT_MS into the calls, for at least OUTAGE_MS. */
const CUT_AT_MS = 2_000;
const OUTAGE_MS = 10_000;
/** At most this many calls at once when a late timer catches up (a slow machine offers fewer calls, never a flood). */
const MAX_PER_TICK = 4;

/** A decision is never given up on for being slow here: the machine may be busy, and a fail-open call would look like a lost decision. */
const FLAGS = ['--decision-limit', '10000'];

interface Health {
  readonly store: { kind: string; state: string; queueDepth: number };
}
const healthOf = async (agent: Agent): Promise<Health> => JSON.parse((await agent.get('/healthz')).body) as Health;

/** Call i's caller: unique to it; even calls come from 404 (blocked by the rule), odd ones from 212 (allowed). */
const callerOf = (i: number) => `+1${i % 2 === 0 ? '404' : '212'}555${String(i).padStart(4, '0')}`;
const expectedOf = (i: number) => (i % 2 === 0 ? { answer: 'hungup:CALL_REJECTED', action: 'block', outcome: 'rejected' } : { answer: 'continued', action: 'allow', outcome: 'continued' });

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function deliveredRows(pool: Pool, callers: readonly string[]): Promise<number> {
  const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM calls WHERE caller = ANY($1) AND outcome IS NOT NULL', [callers]);
  return rows[0]!.n;
}

describe('three agents on one PostgreSQL that goes away for 10 s under 200 calls/s', () => {
  it('loses no call and no log row, and every row arrives once when it returns', async () => {
    const { url, pool } = await migratedPostgres(cleanups);
    await addRule(pool, '404*', 'block'); // in every agent's local copy from its start
    const { proxy, url: proxied } = await proxyPostgres(url);
    cleanups.push(() => proxy.close());
    const agents = await Promise.all(
      ['a', 'b', 'c'].map((name) => {
        const dir = makeTempDir(`callguard-pg-outage-${name}-`);
        cleanups.push(() => dir.remove());
        return serveAgent(proxied, dir, cleanups, { flags: FLAGS });
      }),
    );
    // Each agent's /healthz, whoever asks: the store states it showed and its queue depth.
    const seen = agents.map(() => new Set<string>());
    const peakDepth = agents.map(() => 0);
    const health = async (agent: Agent): Promise<Health> => {
      const answer = await healthOf(agent);
      const i = agents.indexOf(agent);
      seen[i]!.add(answer.store.state);
      peakDepth[i] = Math.max(peakDepth[i]!, answer.store.queueDepth);
      return answer;
    };
    for (const agent of agents) {
      expect(agent.child.exitCode, agent.stderr()).toBeNull();
      expect((await health(agent)).store).toMatchObject({ kind: 'postgres', state: 'connected' });
    }

    // Sampled throughout, for the queue depth of all agents together.
    let peakTotalDepth = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const states = await Promise.all(agents.map((agent) => health(agent).catch(() => null)));
        peakTotalDepth = Math.max(peakTotalDepth, states.reduce((total, state) => total + (state?.store.queueDepth ?? 0), 0));
        await sleep(50);
      }
    })();

    // The calls: one due every INTERVAL_MS, round robin over the agents, for OFFER_MS.
    const callers: string[] = [];
    const answers: Promise<string>[] = [];
    const perAgent = agents.map(() => 0);
    const started = performance.now();
    const offering = new Promise<number>((resolve) => {
      const timer = setInterval(() => {
        const elapsed = performance.now() - started;
        const due = Math.floor(elapsed / INTERVAL_MS) + 1;
        for (let n = 0; n < MAX_PER_TICK && callers.length < due; n++) {
          const i = callers.length;
          const caller = callerOf(i);
          callers.push(caller);
          perAgent[i % agents.length]!++;
          answers.push(agents[i % agents.length]!.call(caller).catch((error: unknown) => `failed:${String(error)}`));
        }
        if (elapsed >= OFFER_MS) {
          clearInterval(timer);
          resolve(performance.now() - started);
        }
      }, INTERVAL_MS);
    });

    // The outage: from CUT_AT_MS, for OUTAGE_MS, and at least until every agent has said so on /healthz.
    await sleep(CUT_AT_MS);
    await proxy.close();
    const cut = performance.now();
    const callsAtCut = callers.length;
    await Promise.all(agents.map((agent) => untilAsync(async () => (await health(agent)).store.state === 'unreachable', 'the agent to report PostgreSQL unreachable')));
    const noticed = performance.now() - cut;
    await sleep(Math.max(0, OUTAGE_MS - (performance.now() - cut)));
    const { rows: duringCut } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM calls');
    await proxy.open();
    const restored = performance.now();
    const callsDuringCut = callers.length - callsAtCut;

    // Delivery, watched from the restore on: when the last row (with its outcome) is in PostgreSQL.
    let offeringDone = false;
    let lastRowAfterRestore = NaN;
    const delivery = (async () => {
      await untilAsync(async () => offeringDone && (await deliveredRows(pool, callers)) >= callers.length, 'every call offered to reach PostgreSQL with its outcome');
      lastRowAfterRestore = performance.now() - restored;
    })();

    const offeredFor = await offering;
    const outcomes = await Promise.all(answers);
    offeringDone = true;
    await delivery;
    await Promise.all(
      agents.map((agent) =>
        untilAsync(async () => {
          const { store } = await health(agent);
          return store.state === 'connected' && store.queueDepth === 0;
        }, 'the agent to report PostgreSQL connected and its queue empty'),
      ),
    );
    sampling = false;
    await sampler;

    const offered = callers.length;
    console.log(
      `offered ${offered} calls in ${(offeredFor / 1000).toFixed(1)} s (${((offered * 1000) / offeredFor).toFixed(0)} calls/s achieved, ${perAgent.join('/')} per agent), ` +
        `${callsDuringCut} of them while PostgreSQL was away (${((restored - cut) / 1000).toFixed(1)} s; every agent reported it unreachable within ${noticed.toFixed(0)} ms); ` +
        `queue depth peak ${peakTotalDepth} in all (${peakDepth.join('/')} per agent); ` +
        `the last row reached PostgreSQL ${lastRowAfterRestore.toFixed(0)} ms after it came back (${(lastRowAfterRestore - (offeredFor - (restored - started))).toFixed(0)} ms after the last call was offered)`,
    );

    // Every call offered got the agent's decision: the block rule's rejection or the allowed call continuing.
    const wrong = outcomes.flatMap((answer, i) => (answer === expectedOf(i).answer ? [] : [`${callers[i]}: ${answer}`]));
    expect(wrong, 'calls without their decision').toEqual([]);
    expect(outcomes).toHaveLength(offered);
    expect(callsDuringCut).toBeGreaterThan(0);

    // /healthz said unreachable during the cut and connected after it; the rows waited in the queue meanwhile.
    for (const states of seen) expect([...states].sort()).toEqual(['connected', 'unreachable']);
    expect(peakTotalDepth).toBeGreaterThan(0);
    expect(duringCut[0]!.n).toBeLessThan(offered);

    // PostgreSQL holds exactly one row per call offered, with its decision and outcome, and nothing else.
    const expectCallLog = async () => {
      const { rows: counts } = await pool.query<{ n: number; uids: number; callers: number }>('SELECT count(*)::int AS n, count(DISTINCT uid)::int AS uids, count(DISTINCT caller)::int AS callers FROM calls');
      expect(counts[0]).toEqual({ n: offered, uids: offered, callers: offered });
      const { rows } = await pool.query<{ caller: string; action: string; outcome: string | null }>('SELECT caller, action, outcome FROM calls');
      const logged = new Map(rows.map((row) => [row.caller, row]));
      const mismatched = callers.flatMap((caller, i) => {
        const row = logged.get(caller);
        const expected = expectedOf(i);
        return row && row.action === expected.action && row.outcome === expected.outcome ? [] : [`${caller}: ${row ? `${row.action}/${row.outcome}` : 'no row'}`];
      });
      expect(mismatched, 'calls without their row').toEqual([]);
    };
    await expectCallLog();

    // A stop delivers nothing more: no row doubled on the way out.
    for (const agent of agents) agent.child.kill('SIGTERM');
    for (const agent of agents) expect(await agent.exited, agent.stderr().slice(-2000)).toBe(0);
    await expectCallLog();
  });
});
