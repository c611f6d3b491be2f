// A failover pair on FreeSWITCH outbound: two `callguard serve` agents on one PostgreSQL
// store, the dialplan's socket naming both (`socket <a>|<b> full`: mod_event_socket tries
// its hosts in turn and takes the first that answers). Every call is screened exactly once
// while either agent is up, by the first that is, and takes its normal route when neither
// is; an allowed call is never handed to the second agent as well.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Pool } from 'pg';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SCREEN_MARK, SCREENED_MARK } from '../agent/pbx/freeswitch/screen-marks';
import { freePort } from './helpers/free-port';
import { INSTALL, stockConf } from './helpers/freeswitch-conf';
import { addRule, migratedPostgres, serveAgent, untilAsync } from './helpers/postgres-agent';
import type { Agent } from './helpers/postgres-agent';
import { DID } from './helpers/postgres-agent';
import { PATIENCE_MS } from './helpers/patience';
import { assertBuilt, repoRoot } from './helpers/run-cli';
import { serveWithConfig } from './helpers/serve-process';
import type { ServeProcess } from './helpers/serve-process';
import { makeTempDir } from './helpers/temp-db';
import { dialplanFromConf, parseAsteriskConf, startAsteriskSim } from './sim/asterisk';
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

// The pair on three switches at once, each agent serving a FreeSWITCH whose dialplan
// connects to it (socket a|b), a FreeSWITCH both connect to (the pair's inbound dialplan)
// and an Asterisk ([callguard-inbound-pair]), under an even 200 calls/s while agent A is
// SIGKILLed, restarted, then SIGTERMed.
const ESL_PASSWORD = 'pair-esl-secret';
const ARI_PASSWORD = 'pair-ari-secret';
const CALL_EVERY_MS = 5;

type Kind = 'fs-east' | 'fs-west' | 'ast';
/** How a call ended: rejected by callguard, or through to its normal route (screened or not). */
type End = 'rejected' | 'through' | `other:${string}`;

interface Placed {
  readonly kind: Kind;
  readonly channel: string;
  readonly blocked: boolean;
  readonly placedAt: number;
  /** How it ended, whether an agent screened it (as the switch shows it), and when. */
  readonly end: Promise<{ end: End; screened: boolean; at: number }>;
}

interface PairHealth {
  readonly pbx: boolean;
  readonly store: { readonly queueDepth: number };
}

/** Two agents, a and b, each serving the three switches, on one PostgreSQL store; and calls for them. */
async function pairOnThreeSwitches() {
  const { url, pool } = await migratedPostgres(cleanups);
  await addRule(pool, '404*', 'block');
  const confDir = makeTempDir('callguard-pair-conf-');
  cleanups.push(() => confDir.remove());
  const east = new FreeSwitchSim();
  const west = new FreeSwitchSim({ password: ESL_PASSWORD });
  await west.start();
  const extensions = readFileSync(join(repoRoot, 'dialplan', 'asterisk', 'extensions.conf'), 'utf8');
  const ast = await startAsteriskSim({ password: ARI_PASSWORD, dialplan: dialplanFromConf(parseAsteriskConf(extensions, 'extensions.conf')) });
  cleanups.push(() => east.close(), () => west.close(), () => ast.close());
  const westContext = stockConf(confDir.dir, { [INSTALL.inbound]: 'callguard-inbound-pair.xml' }).context('dialplan', 'public');

  const ports = { a: { east: await freePort(), http: await freePort() }, b: { east: await freePort(), http: await freePort() } };
  const dirs = { a: makeTempDir('callguard-pair-a-'), b: makeTempDir('callguard-pair-b-') };
  cleanups.push(() => dirs.a.remove(), () => dirs.b.remove());
  /** Agent a or b, started (again, on the same files) and connected to all three switches. */
  const start = async (letter: 'a' | 'b'): Promise<ServeProcess> => {
    const agent = await serveWithConfig(
      dirs[letter],
      {
        pbxes: [
          { name: 'fs-east', pbx: 'freeswitch', mode: 'outbound', listen: `127.0.0.1:${ports[letter].east}` },
          { name: 'fs-west', pbx: 'freeswitch', mode: 'inbound', esl: `127.0.0.1:${west.port}`, pairAs: letter },
          { name: 'ast', pbx: 'asterisk', url: ast.url, user: ast.username, pairAs: letter },
        ],
        http: { listen: `127.0.0.1:${ports[letter].http}` },
        console: { enabled: false },
      },
      cleanups,
      { storeUrl: url, env: { CALLGUARD_PBX_FS_WEST_PASSWORD: ESL_PASSWORD, CALLGUARD_PBX_AST_PASSWORD: ARI_PASSWORD } },
    );
    await agent.healthWhen<PairHealth>((health) => health.pbx, `agent ${letter} connected to every switch`);
    return agent;
  };

  const eastPair = [ports.a.east, ports.b.east].map((port) => ({ host: '127.0.0.1', port }));
  /** Call n: on each switch in turn, from a blocked caller for three calls, then an allowed one for three. */
  const place = (n: number): Placed => {
    const kind = (['fs-east', 'fs-west', 'ast'] as const)[n % 3]!;
    const blocked = Math.floor(n / 3) % 2 === 0;
    const caller = `+1${blocked ? '404' : '212'}555${String(n % 10_000).padStart(4, '0')}`;
    const placedAt = Date.now();
    const ended = (end: End, screened: boolean) => ({ end, screened, at: Date.now() });
    if (kind === 'fs-east') {
      const call = east.placeOutboundCallVia(eastPair, { callerIdNumber: caller, destinationNumber: DID, async: false });
      const end = call.done.then((result) =>
        ended(result.outcome === 'continued' ? 'through' : result.hangupCause === 'CALL_REJECTED' ? 'rejected' : `other:${result.outcome}`, result.commands.some((command) => command.kind === 'connect')),
      );
      return { kind, channel: call.uuid, blocked, placedAt, end };
    }
    if (kind === 'fs-west') {
      const { call, routed } = west.routeInboundCall({ callerIdNumber: caller, destinationNumber: DID, context: 'public' }, westContext);
      const end = routed.then((result) =>
        ended(result.ending === 'normal-route' ? 'through' : call.hangupCause?.code === 21 ? 'rejected' : `other:${result.ending}`, call.getVar(SCREEN_MARK) === 'true' && call.getVar(SCREENED_MARK) !== 'fail-open'),
      );
      return { kind, channel: call.uuid, blocked, placedAt, end };
    }
    const call = ast.placeCall({ callerNumber: caller, exten: DID, context: 'callguard-inbound-pair' });
    const end = call.done.then((result) =>
      ended(result.outcome === 'continued' || result.outcome === 'stasis_failed' ? 'through' : result.hangupCause === 21 ? 'rejected' : `other:${result.outcome}`, result.enteredApps.length > 0),
    );
    return { kind, channel: call.channelId, blocked, placedAt, end };
  };

  /** An even 200 calls/s over the three switches until stopped; what was placed. */
  const load = () => {
    const placed: Placed[] = [];
    let n = 0;
    const timer = setInterval(() => placed.push(place(n++)), CALL_EVERY_MS);
    cleanups.push(() => clearInterval(timer));
    return { placed, stop: () => clearInterval(timer) };
  };

  /** Every call's end (none stranded: each must end) and the log rows PostgreSQL holds for each. */
  const outcome = async (placed: readonly Placed[]) => ({ ends: await allEnded(placed), rowsOf: await rowsByChannel(pool, placed) });
  return { start, load, outcome };
}

/** How each call ended; fails naming the calls still up (stranded) if they do not all end within PATIENCE_MS. */
async function allEnded(placed: readonly Placed[]): Promise<Awaited<Placed['end']>[]> {
  const ends: (Awaited<Placed['end']> | undefined)[] = placed.map(() => undefined);
  placed.forEach((call, i) => void call.end.then((end) => (ends[i] = end)));
  const deadline = Date.now() + PATIENCE_MS;
  while (ends.includes(undefined)) {
    if (Date.now() > deadline) {
      const stranded = placed.filter((_, i) => ends[i] === undefined).map((call) => `${call.kind} ${call.channel}`);
      throw new Error(`${stranded.length} calls never ended (stranded): ${stranded.slice(0, 10).join(', ')}`);
    }
    await pause(50);
  }
  return ends as Awaited<Placed['end']>[];
}

/** PostgreSQL's call-log rows by channel; each is one of `placed`, on its own switch. */
async function rowsByChannel(pool: Pool, placed: readonly Placed[]): Promise<Map<string, LoggedRow[]>> {
  const { rows } = await pool.query<LoggedRow>('SELECT channel, pbx, action, outcome FROM calls');
  const kinds = new Map(placed.map((call) => [call.channel, call.kind]));
  expect(rows.filter((row) => kinds.get(row.channel) !== row.pbx)).toEqual([]);
  const rowsOf = new Map<string, LoggedRow[]>();
  for (const row of rows) rowsOf.set(row.channel, [...(rowsOf.get(row.channel) ?? []), row]);
  return rowsOf;
}

interface LoggedRow {
  readonly channel: string;
  readonly pbx: string;
  readonly action: string;
  readonly outcome: string | null;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What is wrong with how a call ended against its row: a rejection without its block row, a row that says otherwise. */
function endProblems(call: Placed, end: End, logged: LoggedRow | undefined): string[] {
  const what = `${call.kind} ${call.channel} (${call.blocked ? 'blocked' : 'allowed'} caller): ended ${end}, row ${JSON.stringify(logged ?? null)}`;
  const problems: string[] = [];
  if (end.startsWith('other:')) problems.push(`${what}: neither rejected nor on its normal route`);
  if (end === 'rejected' && (!call.blocked || logged?.action !== 'block')) problems.push(`${what}: rejected without its block row`);
  if (logged?.outcome === 'rejected' && end !== 'rejected') problems.push(`${what}: logged rejected but was not`);
  if (logged?.outcome === 'continued' && end !== 'through') problems.push(`${what}: logged continued but was not`);
  return problems;
}

describe('a failover pair on three switches under 200 calls/s', () => {
  it('A SIGKILLed, restarted, then SIGTERMed: every call screened once or on its normal route, none stranded, each screened call logged once', async () => {
    const pair = await pairOnThreeSwitches();
    let a = await pair.start('a');
    const b = await pair.start('b');
    const calls = pair.load();
    await pause(2000);
    const killedAt = Date.now();
    a.child.kill('SIGKILL');
    await a.exited;
    await pause(3000);
    a = await pair.start('a');
    const restartedAt = Date.now();
    await pause(2000);
    const termAt = Date.now();
    a.child.kill('SIGTERM');
    expect(await a.exited).toBe(0);
    await pause(1500);
    calls.stop();

    // None stranded: every call ends (one parked or in Stasis when A was killed is sent on by B or by A's next run).
    const ends = await allEnded(calls.placed);
    b.child.kill('SIGTERM');
    expect(await b.exited).toBe(0);
    const { rowsOf } = await pair.outcome(calls.placed);
    expect([...rowsOf].filter(([, logged]) => logged.length > 1)).toEqual([]);
    const problems: string[] = [];
    let unscreened = 0;
    calls.placed.forEach((call, i) => {
      const { end, screened, at } = ends[i]!;
      const logged = rowsOf.get(call.channel)?.[0];
      problems.push(...endProblems(call, end, logged));
      // While both agents were up (before the kill, and from A's restart to its SIGTERM) a screened call is logged.
      const calm = at < killedAt || (call.placedAt > restartedAt && at < termAt);
      if (calm && screened && !logged) problems.push(`${call.kind} ${call.channel}: screened while both agents were up, but not logged`);
      if (!logged) unscreened++;
    });
    expect(problems).toEqual([]);
    const rejected = ends.filter((ended) => ended.end === 'rejected').length;
    expect(rejected).toBeGreaterThan(calls.placed.length / 4);
    console.log(
      `pair, A killed: ${calls.placed.length} calls; ${rowsOf.size} screened and logged once (${rejected} rejected), ${unscreened} on their normal route unscreened; ` +
        `A back ${restartedAt - killedAt} ms after the kill`,
    );
  });

  it('a rolling restart (A stopped and started, then B) loses no call: each is screened exactly once, bar a socket reset by a closing listener or a call failed open', async () => {
    const pair = await pairOnThreeSwitches();
    let a = await pair.start('a');
    let b = await pair.start('b');
    const calls = pair.load();
    for (const letter of ['a', 'b'] as const) {
      await pause(1500);
      const agent = letter === 'a' ? a : b;
      agent.child.kill('SIGTERM');
      expect(await agent.exited).toBe(0);
      await pause(1000);
      if (letter === 'a') a = await pair.start('a');
      else b = await pair.start('b');
    }
    await pause(1500);
    calls.stop();
    const { ends } = await pair.outcome(calls.placed);
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
    expect([await a.exited, await b.exited]).toEqual([0, 0]);
    const { rowsOf } = await pair.outcome(calls.placed);
    const problems: string[] = [];
    let resetAtClose = 0;
    let failedOpen = 0;
    calls.placed.forEach((call, i) => {
      const logged = rowsOf.get(call.channel) ?? [];
      const { end, screened } = ends[i]!;
      problems.push(...endProblems(call, end, logged[0]));
      const unscreenedThrough = !screened && end === 'through' && logged.length === 0;
      // The one call a stopping agent cannot hand over: a FreeSWITCH socket the kernel had accepted in the
      // instant the listener closed is reset before the agent reads it, and the dialplan goes on unscreened.
      if (call.kind === 'fs-east' && unscreenedThrough) {
        resetAtClose++;
        return;
      }
      // A parked call no agent took within its fail-open time (a machine too busy) goes on by its own transfer, by design.
      if (call.kind === 'fs-west' && unscreenedThrough) {
        failedOpen++;
        return;
      }
      if (logged.length !== 1) problems.push(`${call.kind} ${call.channel}: ${logged.length} rows, not 1`);
      if (call.blocked !== (end === 'rejected')) problems.push(`${call.kind} ${call.channel}: a ${call.blocked ? 'blocked' : 'allowed'} caller ended ${end}`);
    });
    expect(problems).toEqual([]);
    console.log(`pair, rolling restart: ${calls.placed.length} calls, all screened and logged once but ${resetAtClose} reset by a closing outbound listener and ${failedOpen} failed open`);
  });
});
