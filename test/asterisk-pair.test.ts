// A failover pair of agents on one Asterisk: the shipped [callguard-inbound-pair] dialplan
// in the ARI simulator, two real drivers (agent A serves callguard-a, agent B callguard-b)
// with real screeners. Every call is screened once, by A while it is up; a call that
// arrives while A stops gracefully goes to B, and the calls A holds finish on A; the calls
// a killed A held are sent on by B, unscreened; with neither agent, calls take their normal
// route. Each agent logs to its own database here (in production both share PostgreSQL), so
// the logs tell which agent screened a call.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import type { RuleAction } from '../agent/engine/types';
import { createAsteriskDriver, type AsteriskDriver } from '../agent/pbx/asterisk/asterisk-driver';
import { DEFAULT_ASTERISK } from '../agent/pbx/settings';
import { bundleChildScript } from './helpers/child-script';
import { PATIENCE_MS, until } from './helpers/patience';
import { repoRoot } from './helpers/run-cli';
import { screeningWorld, type ScreeningWorld } from './helpers/screening';
import { makeTempDir } from './helpers/temp-db';
import { confValue, dialplanFromConf, parseAsteriskConf, parseChannelvars, startAsteriskSim, type AsteriskSim, type CallResult, type SimCall } from './sim/asterisk';

const CONF_DIR = path.resolve(__dirname, '../dialplan/asterisk');
const readConf = (name: string) => parseAsteriskConf(fs.readFileSync(path.join(CONF_DIR, name), 'utf8'), name);
const DIALPLAN = dialplanFromConf(readConf('extensions.conf'));
const CHANNELVARS = parseChannelvars(confValue(readConf('ari.conf'), 'general', 'channelvars') ?? '');

const DID = '+18005550100';
const CALLER = { blocked: '+14045550001', challenged: '+14045550002', forwarded: '+14045550003', allowed: '+14045559999' };
const FORWARD_TO = '+15125550100';
const RULES: [string, RuleAction, string | null][] = [
  [CALLER.blocked, 'block', null],
  [CALLER.challenged, 'challenge', null],
  [CALLER.forwarded, 'forward', FORWARD_TO],
];
/** Longer than any test: a challenged call is held until the test presses a key or its agent goes. */
const KEY_WAIT_MS = 10 * PATIENCE_MS;
const CHALLENGE = { digit: '1', timeoutMs: KEY_WAIT_MS, tries: 1 };
const NORMAL_ROUTE = { how: 'application', context: 'callguard-normal', exten: DID, app: 'Dial' };

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startSim(): Promise<AsteriskSim> {
  const sim = await startAsteriskSim({ dialplan: DIALPLAN, channelvars: CHANNELVARS, mediaDurationMs: 20 });
  cleanups.push(async () => {
    expect(sim.internalErrors).toEqual([]);
    await sim.close();
  });
  return sim;
}

interface Agent {
  readonly driver: AsteriskDriver;
  readonly world: ScreeningWorld;
  readonly logs: Record<string, unknown>[];
}

/** An agent of the pair in this process. */
async function startAgent(sim: AsteriskSim, pairAs: 'a' | 'b'): Promise<Agent> {
  const world = screeningWorld({ challenge: CHALLENGE });
  for (const [caller, action, target] of RULES) world.rule(caller, action, target);
  const logs: Record<string, unknown>[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>) });
  const driver = createAsteriskDriver(
    { url: sim.url, user: sim.username, password: sim.password, app: 'callguard', pairAs, settings: DEFAULT_ASTERISK, requestTimeoutMs: PATIENCE_MS },
    { screener: world.screener, logger },
  );
  cleanups.push(async () => {
    await driver.stop(500);
    expect(driver.debugCounts().timers).toBe(0);
    world.close();
  });
  await driver.start();
  await aliveSaid(sim, pairAs);
  return { driver, world, logs };
}

/** The epoch second agent `letter`'s heartbeat says it is alive until (0: stopped cleanly, NaN: never set). */
const aliveUntil = (sim: AsteriskSim, letter: 'a' | 'b') => Number.parseInt(sim.globalVariable(`CALLGUARD_ALIVE_UNTIL_${letter.toUpperCase()}`), 10);

async function aliveSaid(sim: AsteriskSim, letter: 'a' | 'b'): Promise<void> {
  await sim.waitUntil(() => sim.isAppConnected(`callguard-${letter}`) && aliveUntil(sim, letter) > 0, PATIENCE_MS, `agent ${letter} up and beating`);
}

/** A call from the trunk, into the pair's context. */
const place = (sim: AsteriskSim, callerNumber: string): SimCall => sim.placeCall({ callerNumber, exten: DID, context: 'callguard-inbound-pair' });

const playbackOf = (channelId: string) => (e: { event: unknown }) => (e.event as { playback?: { target_uri: string } }).playback?.target_uri === `channel:${channelId}`;

/** The call's end, waited for as a hang detector. */
async function ended(sim: AsteriskSim, call: SimCall, what: string): Promise<CallResult> {
  await sim.waitUntil(() => call.finished !== undefined, PATIENCE_MS, what);
  return call.finished!;
}

/** Waits until the in-process agents hold no call, so that their logs are complete. */
async function idle(sim: AsteriskSim, ...agents: Agent[]): Promise<void> {
  await sim.waitUntil(() => agents.every((agent) => agent.driver.inProgress === 0), PATIENCE_MS, 'the agents to finish their calls');
}

/** What each agent logged for the call: `a block rejected`, ... */
function screenings(call: SimCall, agents: Record<string, Agent>): string[] {
  return Object.entries(agents).flatMap(([letter, agent]) =>
    agent.world
      .calls()
      .filter((row) => row.channel === call.channelId)
      .map((row) => `${letter} ${row.action} ${row.outcome}`),
  );
}

const warnings = (sim: AsteriskSim) => sim.asteriskLog.filter((l) => l.level === 'ERROR' || l.level === 'WARNING').map((l) => l.message);
const messages = (agent: Agent) => agent.logs.map((l) => String(l.msg));

describe('a failover pair of agents on one Asterisk', () => {
  it('both up: every call is screened once, by agent A; a blocked caller is rejected, an allowed one reaches the normal route once', async () => {
    const sim = await startSim();
    const a = await startAgent(sim, 'a');
    const b = await startAgent(sim, 'b');
    const blocked = place(sim, CALLER.blocked);
    const allowed = place(sim, CALLER.allowed);
    expect(await ended(sim, blocked, 'the blocked call')).toMatchObject({ outcome: 'hungup', hangupReason: 'rejected', hangupCause: 21, enteredApps: ['callguard-a'] });
    const through = await ended(sim, allowed, 'the allowed call');
    expect(through).toMatchObject({ outcome: 'continued', enteredApps: ['callguard-a'], dialplanStop: NORMAL_ROUTE });
    expect(through.requests.filter((r) => r.nickname === 'continueInDialplan')).toHaveLength(1);
    await idle(sim, a, b);
    expect(screenings(blocked, { a, b })).toEqual(['a block rejected']);
    expect(screenings(allowed, { a, b })).toEqual(['a allow continued']);
    // Each says it is alive, a few seconds ahead.
    for (const letter of ['a', 'b'] as const) expect(aliveUntil(sim, letter) * 1000).toBeGreaterThan(Date.now());
    expect(warnings(sim)).toEqual([]);
  });

  it('A stopped gracefully: the call it holds finishes on A; calls arriving meanwhile are handed to B and screened once, there', async () => {
    const sim = await startSim();
    const a = await startAgent(sim, 'a');
    const b = await startAgent(sim, 'b');
    const held = place(sim, CALLER.challenged);
    await sim.waitForEvent('PlaybackFinished', playbackOf(held.channelId)); // A waits for the key
    const stopped = a.driver.stop(PATIENCE_MS);

    const blocked = place(sim, CALLER.blocked);
    const allowed = place(sim, CALLER.allowed);
    expect(await ended(sim, blocked, 'the blocked call, through B')).toMatchObject({ outcome: 'hungup', hangupCause: 21, enteredApps: ['callguard-a', 'callguard-b'] });
    const through = await ended(sim, allowed, 'the allowed call, through B');
    expect(through).toMatchObject({ outcome: 'continued', enteredApps: ['callguard-a', 'callguard-b'], dialplanStop: NORMAL_ROUTE });
    // A handed them back marked, which sent them to B.
    expect(through.variablesSet).toEqual({ CALLGUARD_STOPPING: 'yes' });
    // A clean stop: nothing for B to rescue.
    expect(sim.globalVariable('CALLGUARD_ALIVE_UNTIL_A')).toBe('0');

    // The held call is still A's, to its end.
    expect(held.finished).toBeUndefined();
    await held.sendDtmf('1');
    expect(await ended(sim, held, 'the held call')).toMatchObject({ outcome: 'continued', enteredApps: ['callguard-a'], dialplanStop: NORMAL_ROUTE });
    await stopped;
    expect(sim.isAppConnected('callguard-a')).toBe(false);
    expect(a.driver.debugCounts().timers).toBe(0);

    // A gone: Stasis(callguard-a) fails over to B at once.
    const later = place(sim, CALLER.blocked);
    expect(await ended(sim, later, 'a call after A stopped')).toMatchObject({ hangupCause: 21, enteredApps: ['callguard-b'] });
    await idle(sim, b);
    expect(screenings(held, { a, b })).toEqual(['a challenge passed']);
    expect(screenings(blocked, { a, b })).toEqual(['b block rejected']);
    expect(screenings(allowed, { a, b })).toEqual(['b allow continued']);
    expect(screenings(later, { a, b })).toEqual(['b block rejected']);
    expect(messages(b).filter((m) => /without a clean stop|continuing it unscreened/.test(m))).toEqual([]);
    expect(sim.liveChannelCount()).toBe(0);
    expect(warnings(sim)).toEqual([]);
  });

  it('A killed while it holds calls: new calls go to B at once; B sends the held ones on once A\'s heartbeat runs out, unscreened', async () => {
    const sim = await startSim();
    const a = await startChildAgentA(sim);
    const b = await startAgent(sim, 'b');
    const held = [place(sim, CALLER.challenged), place(sim, CALLER.challenged)];
    for (const call of held) await sim.waitForEvent('PlaybackFinished', playbackOf(call.channelId));
    // And a call A forwarded, in conversation with its target.
    sim.onOriginate(() => ({ answer: true, afterMs: 10 }));
    const forwarded = place(sim, CALLER.forwarded);
    await sim.waitUntil(() => sim.outboundCalls.length === 1, PATIENCE_MS, 'the forward leg');
    const leg = sim.outboundCalls[0]!;
    await sim.waitForEvent('ChannelEnteredBridge', (e) => (e.event as { channel?: { id: string } }).channel?.id === leg.channelId);
    // A has logged them before it dies.
    await until(() => a.rows().filter((row) => held.some((call) => call.channelId === row.channel)).length === 2, "A's call log rows");
    a.child.kill('SIGKILL');
    await a.exited;
    await sim.waitUntil(() => !sim.isAppConnected('callguard-a'), PATIENCE_MS, "A's WebSocket to close");

    const fresh = place(sim, CALLER.blocked);
    expect(await ended(sim, fresh, 'a new call, through B')).toMatchObject({ hangupCause: 21, enteredApps: ['callguard-b'] });
    for (const call of held) {
      expect(await ended(sim, call, 'B to send on a call A held')).toMatchObject({ outcome: 'continued', enteredApps: ['callguard-a'], dialplanStop: NORMAL_ROUTE });
    }
    // The forwarded call is left in its conversation, not sent on: it ends when the caller hangs up.
    expect(forwarded.finished).toBeUndefined();
    forwarded.hangup();
    expect(await ended(sim, forwarded, 'the forwarded call, hung up by its caller')).toMatchObject({ outcome: 'bridged', bridgedWith: [leg.channelId] });
    leg.hangup();
    await sim.waitUntil(() => sim.liveChannelCount() === 0, PATIENCE_MS, 'no channel left');
    await idle(sim, b);
    // Screened once each: the held calls by A (whose rows stay as A left them), the new one by B.
    expect(a.rows().filter((row) => row.action !== 'forward').map((row) => `${row.channel} ${row.action}`).sort()).toEqual(held.map((call) => `${call.channelId} challenge`).sort());
    expect(b.world.calls().map((row) => [row.channel, row.action, row.outcome])).toEqual([[fresh.channelId, 'block', 'rejected']]);
    const rescued = b.logs.filter((l) => /left in Stasis by callguard-a, whose heartbeat ran out: continuing it unscreened/.test(String(l.msg)));
    expect(rescued.map((l) => l.channel).sort()).toEqual(held.map((call) => call.channelId).sort());
    expect(messages(b).filter((m) => /stopped without a clean stop/.test(m))).toHaveLength(1);
  });

  it('both down: a call takes its normal route, unscreened, with the warning', async () => {
    const sim = await startSim();
    const a = await startAgent(sim, 'a');
    const b = await startAgent(sim, 'b');
    await a.driver.stop(500);
    await b.driver.stop(500);
    expect([sim.globalVariable('CALLGUARD_ALIVE_UNTIL_A'), sim.globalVariable('CALLGUARD_ALIVE_UNTIL_B')]).toEqual(['0', '0']);
    const call = place(sim, CALLER.blocked);
    expect(await ended(sim, call, 'the call')).toMatchObject({ outcome: 'stasis_failed', stasisStatus: 'FAILED', enteredApps: [], dialplanStop: NORMAL_ROUTE });
    expect(screenings(call, { a, b })).toEqual([]);
    expect(warnings(sim)).toEqual([`callguard is not connected: the call to ${DID} goes through unscreened`]);
  });

  it('B looks for the calls a dead A left for a while only, and again once A has been alive', async () => {
    const sim = await startSim();
    const b = await startAgent(sim, 'b');
    const setAliveUntil = (value: number) => setGlobal(sim, 'CALLGUARD_ALIVE_UNTIL_A', String(value));
    const reads = () => sim.requests.filter((r) => r.route === '/asterisk/variable' && r.method === 'GET').length;
    const listings = () => sim.requests.filter((r) => r.route === '/applications/{applicationName}' && r.pathParams?.applicationName === 'callguard-a').length;
    vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true });
    cleanups.push(() => vi.useRealTimers());
    const now = () => Math.floor(Date.now() / 1000);

    await setAliveUntil(now() + 3600);
    const first = await strandInA(sim);
    expect(first.finished).toBeUndefined();
    const diedAt = now() - 1;
    await setAliveUntil(diedAt);
    expect(await ended(sim, first, 'B to send on the first stranded call')).toMatchObject({ outcome: 'continued', enteredApps: ['callguard-a'] });

    // Long after A's heartbeat ran out, B no longer looks.
    vi.setSystemTime(Date.now() + 31_000);
    // A beat that read the clock before the jump is over once another beat has begun.
    const readsAtJump = reads();
    await sim.waitUntil(() => reads() > readsAtJump, PATIENCE_MS, 'a heartbeat of B after the jump');
    const second = await strandInA(sim);
    const [readsBefore, listingsBefore] = [reads(), listings()];
    await sim.waitUntil(() => reads() >= readsBefore + 3, PATIENCE_MS, 'three more heartbeats of B');
    expect(listings()).toBe(listingsBefore);
    expect(second.finished).toBeUndefined();

    // Seen alive again, then dead again (at the very same second): B looks again.
    await setAliveUntil(now() + 3600);
    const readsAfterAlive = reads();
    // The second read since has begun after the beat of the first ended: B has seen A alive.
    await sim.waitUntil(() => reads() >= readsAfterAlive + 2, PATIENCE_MS, 'B to read the new heartbeat');
    await setAliveUntil(diedAt);
    expect(await ended(sim, second, 'B to send on the second stranded call')).toMatchObject({ outcome: 'continued', enteredApps: ['callguard-a'] });
    expect(messages(b).filter((m) => /stopped without a clean stop/.test(m))).toHaveLength(2);
  });

  it('A restarted while B still sends on what a dead A left: A says it is alive before it registers, B reads the heartbeat again after listing, so A keeps its new calls', async () => {
    const sim = await startSim();
    const b = await startAgent(sim, 'b');
    await setGlobal(sim, 'CALLGUARD_ALIVE_UNTIL_A', String(Math.floor(Date.now() / 1000) - 1));
    const stranded = await strandInA(sim);
    expect(await ended(sim, stranded, 'B to send on the stranded call')).toMatchObject({ outcome: 'continued', enteredApps: ['callguard-a'] });

    // B sent it on only after reading A's heartbeat again, past its listing of A's channels.
    const requests = sim.requests;
    const isHeartbeatRead = (r: (typeof requests)[number]) => r.method === 'GET' && r.route === '/asterisk/variable' && r.query.variable === 'CALLGUARD_ALIVE_UNTIL_A';
    const sentOn = requests.findIndex((r) => r.nickname === 'continueInDialplan' && r.pathParams?.channelId === stranded.channelId);
    const listings = requests.flatMap((r, i) => (i < sentOn && r.route === '/applications/{applicationName}' && r.pathParams?.applicationName === 'callguard-a' ? [i] : []));
    const listed = listings.at(-1)!;
    expect(listings.length).toBeGreaterThan(0);
    expect(requests.slice(listed + 1, sentOn).filter(isHeartbeatRead)).toHaveLength(1);

    // A comes back: its heartbeat is ahead before its application is registered, so B's second read sees it alive.
    const a = await startAgent(sim, 'a');
    const registered = sim.registrations.filter((registration) => registration.apps.includes('callguard-a')).at(-1)!;
    const announced = requests
      .slice(0, registered.afterRequests)
      .filter((r) => r.method === 'POST' && r.route === '/asterisk/variable' && r.query.variable === 'CALLGUARD_ALIVE_UNTIL_A' && r.status === 204);
    expect(announced.length).toBeGreaterThan(0);
    expect(Number(announced.at(-1)!.query.value) * 1000).toBeGreaterThan(announced.at(-1)!.at);

    // A call A holds (a challenge waiting for its key) outlasts several beats of B, and is A's alone.
    const held = place(sim, CALLER.challenged);
    await sim.waitForEvent('PlaybackFinished', playbackOf(held.channelId));
    const readsBefore = requests.filter(isHeartbeatRead).length;
    await sim.waitUntil(() => requests.filter(isHeartbeatRead).length >= readsBefore + 3, PATIENCE_MS, 'three more heartbeats of B');
    expect(held.finished).toBeUndefined();
    await held.sendDtmf('1');
    expect(await ended(sim, held, 'the challenged call, passed')).toMatchObject({ outcome: 'continued', enteredApps: ['callguard-a'] });
    await idle(sim, a, b);
    expect(screenings(held, { a, b })).toEqual(['a challenge passed']);
  });
});

/** A call left in Stasis(callguard-a) by a WebSocket that then closes (a stand-in for a dead agent A). */
async function strandInA(sim: AsteriskSim): Promise<SimCall> {
  const socket = new WebSocket(`ws://127.0.0.1:${sim.port}/ari/events?app=callguard-a&api_key=${sim.username}:${sim.password}`);
  await new Promise((resolve) => socket.on('open', resolve));
  const call = place(sim, CALLER.allowed);
  expect(call.enteredApps).toEqual(['callguard-a']);
  const closed = new Promise((resolve) => socket.on('close', resolve));
  expect(sim.dropWebSocketsOf('callguard-a')).toBe(1);
  await closed;
  return call;
}

async function setGlobal(sim: AsteriskSim, variable: string, value: string): Promise<void> {
  const query = new URLSearchParams({ variable, value });
  const response = await fetch(`${sim.url}/ari/asterisk/variable?${query}`, {
    method: 'POST',
    headers: { Authorization: `Basic ${Buffer.from(`${sim.username}:${sim.password}`).toString('base64')}` },
  });
  expect(response.status).toBe(204);
}

/** Agent A in a child process, so that it can be killed for real (SIGKILL: no stop, no last word to Asterisk). */
async function startChildAgentA(sim: AsteriskSim): Promise<{ child: ChildProcess; exited: Promise<unknown>; rows(): { channel: string; action: string }[] }> {
  const dir = makeTempDir('callguard-pair-a-');
  cleanups.push(() => dir.remove());
  // The agent finds its migrations beside the package.json above the running script.
  fs.writeFileSync(dir.file('package.json'), '{}');
  fs.symlinkSync(path.join(repoRoot, 'migrations'), dir.file('migrations'));
  const script = dir.file('agent-a.js');
  bundleChildScript(
    `
      import pino from 'pino';
      import { DEFAULT_ACTION_SETTINGS } from './agent/actions/settings';
      import { parsePattern } from './agent/engine/patterns';
      import { createAsteriskDriver } from './agent/pbx/asterisk/asterisk-driver';
      import { DEFAULT_ASTERISK } from './agent/pbx/settings';
      import { Screener } from './agent/screening/screener';
      import { CallLog } from './agent/store/call-log';
      import { openDatabase } from './agent/store/database';
      import { SqliteDecisionStore } from './agent/store/decision-view';
      import { RuleStore } from './agent/store/rules';
      const [url, user, password, dbPath, rules, challenge] = process.argv.slice(2);
      const db = openDatabase(dbPath);
      for (const [caller, action, target] of JSON.parse(rules)) {
        new RuleStore(db).add([{ ...parsePattern(caller, 'US'), scope: 'global', action, target, sms: false, note: null, list: null, expiresAt: null }]);
      }
      const logger = pino({ level: 'warn' }, pino.destination(2));
      const actions = { ...DEFAULT_ACTION_SETTINGS, challenge: JSON.parse(challenge) };
      const screener = new Screener(new SqliteDecisionStore(db), new CallLog(db, { flushMs: 5 }), { country: 'US', failMode: 'open', actions }, logger);
      const driver = createAsteriskDriver({ url, user, password, app: 'callguard', pairAs: 'a', settings: DEFAULT_ASTERISK, requestTimeoutMs: ${PATIENCE_MS} }, { screener, logger });
      driver.start().then(() => process.stdout.write('started\\n'));
    `,
    script,
    ['ari-client', 'better-sqlite3', 'pino'],
  );
  const dbPath = dir.file('callguard.db');
  const child = spawn(process.execPath, [script, sim.url, sim.username, sim.password, dbPath, JSON.stringify(RULES), JSON.stringify(CHALLENGE)], {
    env: { ...process.env, NODE_PATH: path.join(repoRoot, 'node_modules') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  let output = '';
  let errors = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (errors += chunk.toString()));
  await until(() => output.includes('started') || errors !== '' || child.exitCode !== null, 'agent A to start');
  expect(errors).toBe('');
  await aliveSaid(sim, 'a');
  const rows = () => {
    const db = new BetterSqlite3(dbPath, { readonly: true, fileMustExist: true });
    try {
      return db.prepare('SELECT channel, action FROM calls ORDER BY id').all() as { channel: string; action: string }[];
    } finally {
      db.close();
    }
  };
  return { child, exited, rows };
}
