// Three real `callguard serve` agents on the FreeSWITCH simulator sharing one PostgreSQL
// database, as a fleet runs: a rule added with the CLI on one machine's config blocks on every agent; a
// challenge failed on agent A raises the caller's score on agent C; calls from one
// number spread over the agents are counted together; an agent stopped while a rule was
// added catches up when it starts again. Every wait is on the event itself, with a
// generous deadline; the times it took are printed for the record, never asserted.
import { writeFileSync } from 'node:fs';
import type { Pool } from 'pg';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { formatScope, parseScope } from '../agent/engine/scope';
import { DID, addRule, migratedPostgres, serveAgent, untilAsync } from './helpers/postgres-agent';
import type { Agent } from './helpers/postgres-agent';
import { assertBuilt, describeRun, runCli } from './helpers/run-cli';
import { makeTempDir } from './helpers/temp-db';
import type { TempDir } from './helpers/temp-db';

const cleanups: (() => unknown)[] = [];
beforeAll(() => assertBuilt());
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A challenge nobody answers fails after one try of the shortest wait the config allows. */
const SHORT_CHALLENGE = ['--challenge-timeout', '500', '--challenge-tries', '1'];

interface Fleet {
  readonly url: string;
  readonly pool: Pool;
  readonly dirs: readonly TempDir[];
  readonly agents: Agent[];
}

async function startFleet(): Promise<Fleet> {
  const { url, pool } = await migratedPostgres(cleanups);
  const dirs = ['a', 'b', 'c'].map((name) => {
    const dir = makeTempDir(`callguard-pg-fleet-${name}-`);
    cleanups.push(() => dir.remove());
    return dir;
  });
  const agents = await Promise.all(dirs.map((dir) => serveAgent(url, dir, cleanups, { flags: SHORT_CHALLENGE })));
  for (const agent of agents) expect(agent.child.exitCode, agent.stderr()).toBeNull();
  return { url, pool, dirs, agents };
}

interface Verdict {
  readonly action: string;
  readonly score: number | null;
  readonly signals: readonly { signal: string; points: number; why: string }[];
}

/** The HTTP hook's verdict (logged as a call of this agent, like any other). */
async function decide(agent: Agent, caller: string, did = DID): Promise<Verdict> {
  const answer = await agent.get(`/v1/decide?from=${encodeURIComponent(caller)}&to=${did}&kind=call`);
  expect(answer.status, answer.body).toBe(200);
  return JSON.parse(answer.body) as Verdict;
}

/** Asks until `holds`; resolves with that verdict and how long it took (ms). */
async function decideUntil(agent: Agent, caller: string, did: string, holds: (verdict: Verdict) => boolean, what: string): Promise<{ verdict: Verdict; ms: number }> {
  const started = performance.now();
  let verdict: Verdict | undefined;
  await untilAsync(async () => holds((verdict = await decide(agent, caller, did))), what);
  return { verdict: verdict!, ms: performance.now() - started };
}

/** The risk score (and so history) is read only under a protection policy: on, and high enough that these calls still go through. */
async function enableProtection(pool: Pool): Promise<void> {
  await pool.query("INSERT INTO protection (scope, enabled, threshold, flag_threshold, action, updated_at) VALUES ('global', 1, 100, NULL, 'block', $1)", [Date.now()]);
}

const signal = (verdict: Verdict, name: string) => verdict.signals.find((candidate) => candidate.signal === name);

describe('a fleet of three agents on one PostgreSQL', () => {
  it('a rule added with the CLI on one machine\'s config blocks the next call on all three', async () => {
    const { url, dirs, agents } = await startFleet();
    for (const agent of agents) expect(await agent.call('+14045550100')).toBe('continued');

    const config = dirs[0]!.file('callguard.json');
    writeFileSync(config, JSON.stringify({ store: { url } }));
    const added = runCli(['--config', config, 'rules', 'add', '404*', '--action', 'block'], { env: { CALLGUARD_STORE: undefined, CALLGUARD_CONFIG: undefined } });
    expect(added.status, describeRun(added)).toBe(0);
    const committed = performance.now();
    // Each agent asked over and over (another caller of the prefix) until the rule is in effect there.
    const took = await Promise.all(
      agents.map(async (agent) => {
        await decideUntil(agent, '+14045550199', DID, (verdict) => verdict.action === 'block', 'the rule to take effect');
        return performance.now() - committed;
      }),
    );
    console.log(`a rule added with the CLI was in effect ${took.map((ms, i) => `on agent ${'ABC'[i]} ${ms.toFixed(1)} ms`).join(', ')} later`);
    for (const agent of agents) expect(await agent.call('+14045550100')).toBe('hungup:CALL_REJECTED');
  });

  it('a challenge failed on agent A raises the score of the caller on agent C', async () => {
    const { pool, agents } = await startFleet();
    const [a, , c] = agents as [Agent, Agent, Agent];
    await enableProtection(pool);
    const caller = '+13125550142';
    // Challenged on agent A's number only, so that on C the caller is scored rather than matched by the rule.
    const didOfA = '15551230001';
    await addRule(pool, '312555*', 'challenge', formatScope(parseScope(`did:${didOfA}`, 'US')));
    await decideUntil(a, '+13125550100', didOfA, (verdict) => verdict.action === 'challenge', 'the challenge rule to take effect on A');
    const before = (await decideUntil(c, caller, DID, (verdict) => verdict.score !== null, 'C to score the caller')).verdict;
    expect(signal(before, 'failed_challenges')).toBeUndefined();

    expect(await a.call(caller, didOfA)).not.toBe('continued'); // nobody pressed the key
    await untilAsync(async () => (await pool.query('SELECT 1 FROM calls WHERE caller = $1 AND outcome = $2', [caller, 'failed'])).rowCount === 1, "A's failed challenge to reach PostgreSQL");
    const inPostgres = performance.now();

    const { verdict: after } = await decideUntil(c, caller, DID, (verdict) => signal(verdict, 'failed_challenges') !== undefined, 'C to count the challenge failed on A');
    console.log(`a challenge failed on agent A counted on agent C within ${(performance.now() - inPostgres).toFixed(1)} ms of its outcome being seen in PostgreSQL`);
    expect(signal(after, 'failed_challenges')!.why).toMatch(/^1 failed challenge\(s\) within 30d$/);
    expect(after.score!).toBeGreaterThan(before.score!);
  });

  it('calls from one number spread over the three agents are counted together', async () => {
    const { pool, agents } = await startFleet();
    const [a, b, c] = agents as [Agent, Agent, Agent];
    await enableProtection(pool);
    await decideUntil(a, '+19175550100', DID, (verdict) => verdict.score !== null, 'the protection policy to take effect on A');
    await decideUntil(b, '+19175550100', DID, (verdict) => verdict.score !== null, 'the protection policy to take effect on B');
    await decideUntil(c, '+19175550100', DID, (verdict) => verdict.score !== null, 'the protection policy to take effect on C');

    // Three different numbers called (velocity_dids is 3): one on A, one on B, and C, asked again and again, only ever sees the third.
    const caller = '+17185550177';
    expect(signal(await decide(a, caller, '15551230011'), 'velocity_dids')).toBeUndefined();
    expect(signal(await decide(b, caller, '15551230012'), 'velocity_dids')).toBeUndefined();
    const { verdict, ms } = await decideUntil(c, caller, '15551230013', (candidate) => signal(candidate, 'velocity_dids') !== undefined, 'C to count the calls A and B saw');
    console.log(`calls decided on agents A and B were counted on agent C within ${ms.toFixed(1)} ms (C asking again and again)`);
    expect(signal(verdict, 'velocity_dids')!.why).toMatch(/^calls to 3 different numbers within 10m/);
    // Each agent ships its rows to PostgreSQL after deciding: C's may still be on its way.
    const distinctDids = async () => (await pool.query<{ n: number }>('SELECT count(DISTINCT did)::int AS n FROM calls WHERE caller = $1', [caller])).rows[0]!.n;
    await untilAsync(async () => (await distinctDids()) === 3, "the three agents' rows of the caller, three numbers called, in PostgreSQL");
  });

  it('an agent stopped while a rule was added catches up when it starts again and blocks with it', async () => {
    const { url, pool, dirs, agents } = await startFleet();
    const c = agents[2]!;
    expect(await c.call('+12125550100')).toBe('continued');
    c.child.kill('SIGTERM');
    expect(await c.exited).toBe(0);

    await addRule(pool, '212*', 'block');
    await Promise.all(agents.slice(0, 2).map((agent) => decideUntil(agent, '+12125550199', DID, (verdict) => verdict.action === 'block', 'the rule on the running agents')));

    const started = performance.now();
    const restarted = await serveAgent(url, dirs[2]!, cleanups, { flags: SHORT_CHALLENGE });
    const { ms } = await decideUntil(restarted, '+12125550199', DID, (verdict) => verdict.action === 'block', 'the restarted agent to block with the rule');
    console.log(`the restarted agent blocked with the rule added while it was down ${(performance.now() - started).toFixed(1)} ms after it was started (${ms.toFixed(1)} ms after it took calls)`);
    expect(await restarted.call('+12125550100')).toBe('hungup:CALL_REJECTED');
    expect(restarted.stderr()).not.toContain('loaded the local copy from PostgreSQL'); // only what changed, no full load
    restarted.child.kill('SIGTERM');
    expect(await restarted.exited).toBe(0);
  });
});
