// A failover pair on FreeSWITCH outbound: two `callguard serve` agents on one PostgreSQL
// store, the dialplan's socket naming both (`socket <a>|<b> full`: mod_event_socket tries
// its hosts in turn and takes the first that answers). Every call is screened exactly once
// while either agent is up, by the first that is, and takes its normal route when neither
// is; an allowed call is never handed to the second agent as well.
import type { Pool } from 'pg';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { addRule, migratedPostgres, serveAgent, untilAsync } from './helpers/postgres-agent';
import type { Agent } from './helpers/postgres-agent';
import { DID } from './helpers/postgres-agent';
import { assertBuilt } from './helpers/run-cli';
import { makeTempDir } from './helpers/temp-db';
import { FreeSwitchSim } from './sim/freeswitch/sim';

const cleanups: (() => unknown)[] = [];
beforeAll(() => assertBuilt());
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The rows PostgreSQL holds for each call (by the switch's channel uuid). */
async function rowsPerChannel(pool: Pool): Promise<Map<string, { action: string; outcome: string | null }[]>> {
  const { rows } = await pool.query<{ channel: string; action: string; outcome: string | null }>('SELECT channel, action, outcome FROM calls ORDER BY id');
  const byChannel = new Map<string, { action: string; outcome: string | null }[]>();
  for (const row of rows) byChannel.set(row.channel, [...(byChannel.get(row.channel) ?? []), { action: row.action, outcome: row.outcome }]);
  return byChannel;
}

async function queueDrained(agent: Agent): Promise<boolean> {
  const health = JSON.parse((await agent.get('/healthz')).body) as { store: { queueDepth: number } };
  return health.store.queueDepth === 0;
}

describe('a failover pair of agents on FreeSWITCH outbound', () => {
  it('screens each call once on the first agent up, moves to the second when the first is killed, and lets calls take their normal route when both are down', async () => {
    const { url, pool } = await migratedPostgres(cleanups);
    await addRule(pool, '404*', 'block');
    const [dirA, dirB] = [makeTempDir('callguard-pair-a-'), makeTempDir('callguard-pair-b-')];
    cleanups.push(() => dirA.remove(), () => dirB.remove());
    const a = await serveAgent(url, dirA, cleanups);
    const b = await serveAgent(url, dirB, cleanups);
    const sim = new FreeSwitchSim();
    cleanups.push(() => sim.close());
    const pair = [
      { host: '127.0.0.1', port: a.pbx },
      { host: '127.0.0.1', port: b.pbx },
    ];
    const expected = new Map<string, { action: string; outcome: string } | null>();
    let n = 0;
    /** A round of calls through the pair, half from a blocked prefix: each call's end, and what its log row must say (null: no row). */
    const round = async (screened: boolean): Promise<string[]> => {
      const calls = Array.from({ length: 20 }, () => {
        const blocked = n % 2 === 0;
        const caller = `+1${blocked ? '404' : '212'}555${String(1000 + n++).padStart(4, '0')}`;
        const channel = sim.placeOutboundCallVia(pair, { callerIdNumber: caller, destinationNumber: DID, async: false });
        expected.set(channel.uuid, screened ? (blocked ? { action: 'block', outcome: 'rejected' } : { action: 'allow', outcome: 'continued' }) : null);
        return channel.done.then((result) => (result.outcome === 'hungup' ? `hungup:${result.hangupCause}` : result.outcome));
      });
      return Promise.all(calls);
    };

    const both = await round(true);
    expect(both.filter((end) => end === 'hungup:CALL_REJECTED')).toHaveLength(10);
    expect(both.filter((end) => end === 'continued')).toHaveLength(10);

    // Its rows in PostgreSQL first: a killed agent's queue waits on its disk for its next start.
    await untilAsync(() => queueDrained(a), "agent A's call log to reach PostgreSQL");
    a.child.kill('SIGKILL');
    await a.exited;
    const second = await round(true);
    expect(second.filter((end) => end === 'hungup:CALL_REJECTED')).toHaveLength(10);
    expect(second.filter((end) => end === 'continued')).toHaveLength(10);

    b.child.kill('SIGTERM');
    expect(await b.exited).toBe(0);
    // Neither agent: the socket application returns and every call takes its normal route, unscreened.
    expect(new Set(await round(false))).toEqual(new Set(['continued']));

    // B delivered its queue on SIGTERM. Every screened call is in the log once, by whichever agent took it.
    const logged = await rowsPerChannel(pool);
    for (const [channel, row] of expected) expect(logged.get(channel), channel).toEqual(row === null ? undefined : [row]);
    expect([...logged.keys()].filter((channel) => !expected.has(channel))).toEqual([]);
  });
});
