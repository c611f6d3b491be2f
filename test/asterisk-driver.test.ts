// The Asterisk driver driving the real ari-client against the ARI simulator: each action
// as the exact REST requests Asterisk would receive, the call log, callers who leave,
// connection faults and hostile caller IDs.
import type { Database } from 'better-sqlite3';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { DEFAULT_ACTION_SETTINGS } from '../agent/actions/settings';
import { parsePattern } from '../agent/engine/patterns';
import type { CallFacts, Decision, RuleAction } from '../agent/engine/types';
import type { Logger } from '../agent/log/logger';
import { channelFacts, channelvarsAdvice } from '../agent/pbx/asterisk/channel-facts';
import { createAsteriskDriver, type AsteriskDriver } from '../agent/pbx/asterisk/asterisk-driver';
import { voicemailLocation, forwardEndpoint } from '../agent/pbx/asterisk/dialplan-targets';
import { DEFAULT_ASTERISK } from '../agent/pbx/settings';
import { Screener } from '../agent/screening/screener';
import { CallLog } from '../agent/store/call-log';
import { openDatabase } from '../agent/store/database';
import { SqliteDecisionStore } from '../agent/store/decision-view';
import { ProtectionStore } from '../agent/store/protection';
import { RuleStore } from '../agent/store/rules';
import { TenantStore } from '../agent/store/tenants';
import { PATIENCE_MS } from './helpers/patience';
import { makeTempDir, type TempDir } from './helpers/temp-db';
import { startAsteriskSim, type AsteriskSimOptions, type PlaceCallOptions, type RequestLogEntry, type SimCall } from './sim/asterisk';

const DID = '+18005550100';
const FORWARD_TO = '+15125550100';
/** A DID of a tenant with robocall protection on (see the flagged test). */
const FLAGGING_DID = '+18005550199';
/** Callers with a rule each (see setup); anyone else is let through. */
const CALLER = {
  block: '+14045550001',
  challenge: '+14045550002',
  busy: '+14045550003',
  disconnected: '+14045550004',
  voicemailBox: '+14045550005',
  voicemailDid: '+14045550006',
  forward: '+14045550007',
  allowed: '+14045559999',
};
const CHALLENGE_TIMEOUT_MS = 150;
/** A key wait that cannot run out before a key or hangup the test sends after the prompt, however slow the machine. */
const PATIENT_CHALLENGE_TIMEOUT_MS = 10 * PATIENCE_MS;
/** A prompt that plays longer than any test lasts: only a key, a hangup or the agent ends it. */
const LONG_PROMPT_MS = 10 * PATIENCE_MS;

interface World {
  sim: Awaited<ReturnType<typeof startAsteriskSim>>;
  driver: AsteriskDriver;
  db: Database;
  callLog: CallLog;
  logs: Record<string, unknown>[];
  /** Listeners on the ari-client right after start: calls must leave it exactly so. */
  baselineListeners: number;
}

let world: World | undefined;
let dir: TempDir | undefined;

/** Forces parts of a decision, for callers no rule can name (hostile caller IDs). */
class ScriptedScreener extends Screener {
  script: (facts: CallFacts) => Partial<Decision> = () => ({});
  override async decide(facts: CallFacts) {
    const made = await super.decide(facts);
    return { ...made, decision: { ...made.decision, ...this.script(facts) } };
  }
}

interface SetupOptions {
  sim?: AsteriskSimOptions;
  /** The driver's REST timeout; default PATIENCE_MS, so that only a test of the timeout sees it run out. */
  requestTimeoutMs?: number;
  /** The challenge's wait for a key; default CHALLENGE_TIMEOUT_MS. */
  challengeTimeoutMs?: number;
  password?: string;
  /** Leave the driver unstarted. */
  noStart?: boolean;
}

async function setup(options: SetupOptions = {}): Promise<World & { screener: ScriptedScreener }> {
  dir = makeTempDir('callguard-asterisk-');
  const sim = await startAsteriskSim({ mediaDurationMs: 20, ...options.sim });
  const db = openDatabase(dir.file('callguard.db'));
  const rules = new RuleStore(db);
  const rule = (caller: string, action: RuleAction, target: string | null = null) =>
    rules.add([{ ...parsePattern(caller, 'US'), scope: 'global', action, target, sms: false, note: null, list: null, expiresAt: null }]);
  rule(CALLER.block, 'block');
  rule(CALLER.challenge, 'challenge');
  rule(CALLER.busy, 'busy');
  rule(CALLER.disconnected, 'disconnected');
  rule(CALLER.voicemailBox, 'voicemail', 'sales');
  rule(CALLER.voicemailDid, 'voicemail');
  rule(CALLER.forward, 'forward', FORWARD_TO);
  const logs: Record<string, unknown>[] = [];
  const logger: Logger = pino({ level: 'debug' }, { write: (line: string) => logs.push(JSON.parse(line)) });
  const callLog = new CallLog(db);
  const actions = { ...DEFAULT_ACTION_SETTINGS, challenge: { digit: '1', timeoutMs: options.challengeTimeoutMs ?? CHALLENGE_TIMEOUT_MS, tries: 2 } };
  const screener = new ScriptedScreener(new SqliteDecisionStore(db), callLog, { country: 'US', failMode: 'open', actions }, logger);
  const driver = createAsteriskDriver(
    {
      url: sim.url,
      user: sim.username,
      password: options.password ?? sim.password,
      app: 'callguard',
      settings: DEFAULT_ASTERISK,
      requestTimeoutMs: options.requestTimeoutMs ?? PATIENCE_MS,
    },
    { screener, logger },
  );
  world = { sim, driver, db, callLog, logs, baselineListeners: 0 };
  if (!options.noStart) await startDriver();
  return { ...world, screener };
}

async function startDriver(): Promise<void> {
  await world!.driver.start();
  world!.baselineListeners = world!.driver.debugCounts().clientListeners;
}

afterEach(async () => {
  if (world) {
    await world.driver.stop(500);
    expect(world.sim.internalErrors).toEqual([]);
    await world.sim.close();
    world.callLog.close();
    world.db.close();
  }
  dir?.remove();
  world = undefined;
  dir = undefined;
});

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

/** `METHOD /path?sorted=query` with the call's id as {id}, forward legs as {leg} and other generated ids as {uuid}. */
function shown(requests: readonly RequestLogEntry[], channelId: string): string[] {
  const ownId = new RegExp(`${escapeRegExp(channelId)}(?![\\d])`, 'g');
  return requests.map((r) => {
    const query = Object.entries(r.query)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k}=${[v].flat().join(',')}`)
      .join('&');
    return `${r.method} ${decodeURIComponent(r.path)}${query ? `?${query}` : ''}`
      .replace(ownId, '{id}')
      .replace(/callguard-leg-[0-9a-f-]{36}/g, '{leg}')
      .replace(UUID, '{uuid}');
  });
}

/** Waits until the sim has finished the call and the driver has let go of it; the call log is then written. */
async function run(call: SimCall) {
  const { sim, driver, callLog } = world!;
  const result = await call.done;
  await sim.waitUntil(() => driver.inProgress === 0, PATIENCE_MS, 'the driver to finish the call');
  callLog.flush();
  return result;
}

function callRows(): { channel: string; action: string; outcome: string; outcome_detail: string | null; flagged: number; caller_name: string | null }[] {
  return world!.db.prepare('SELECT channel, action, outcome, outcome_detail, flagged, caller_name FROM calls ORDER BY id').all() as never;
}

/** Nothing of a finished call is left: no route, timer, playback or bridge, no listener added. */
async function expectNothingLeft(): Promise<void> {
  const { sim, driver, baselineListeners } = world!;
  await sim.waitUntil(() => driver.inProgress === 0, PATIENCE_MS, 'calls to end');
  await sim.waitUntil(() => driver.debugCounts().timers === 0, PATIENCE_MS, 'timers to end');
  expect(driver.debugCounts()).toEqual({ calls: 0, routedChannels: 0, routedPlaybacks: 0, timers: 0, clientListeners: baselineListeners, instanceListeners: 0 });
  expect(sim.activePlaybackCount()).toBe(0);
  expect(sim.bridgeIds()).toEqual([]);
}

const playbackOf = (channelId: string) => (e: { event: unknown }) => (e.event as { playback?: { target_uri: string } }).playback?.target_uri === `channel:${channelId}`;

/** Places a call to DID; `requests()` lists every request since (bridges are filed under no call, hence the sim's global list). */
function place(options: Omit<PlaceCallOptions, 'exten'> & { exten?: string }): { call: SimCall; requests: () => RequestLogEntry[] } {
  const { sim } = world!;
  const mark = sim.requests.length;
  const call = sim.placeCall({ exten: DID, context: 'callguard-inbound', priority: 2, ...options });
  return { call, requests: () => sim.requests.slice(mark) };
}

describe('each action, as the REST requests Asterisk receives', () => {
  it('allow: continues at the next priority (fail-open check, then the normal route)', async () => {
    await setup();
    const { call, requests } = place({ callerNumber: CALLER.allowed, callerName: 'Alice' });
    const result = await run(call);
    expect(shown(requests(), call.channelId)).toEqual(['POST /ari/channels/{id}/continue']);
    expect(result).toMatchObject({ outcome: 'continued', continuedTo: { context: 'callguard-inbound', extension: DID, priority: 3 }, answered: false });
    expect(callRows()).toEqual([{ channel: call.channelId, action: 'allow', outcome: 'continued', outcome_detail: null, flagged: 0, caller_name: 'Alice' }]);
    await expectNothingLeft();
  });

  it('block: early media, the not-accepted prompt, cleared as rejected (21) without answering', async () => {
    await setup();
    const { call, requests } = place({ callerNumber: CALLER.block });
    const result = await run(call);
    expect(shown(requests(), call.channelId)).toEqual([
      'POST /ari/channels/{id}/progress',
      'POST /ari/channels/{id}/play?media=sound:callguard/callguard-not-accepted&playbackId={uuid}',
      'DELETE /ari/channels/{id}?reason=rejected',
    ]);
    expect(result).toMatchObject({ outcome: 'hungup', hangupReason: 'rejected', hangupCause: 21, answered: false });
    expect(result.playbacks.map((p) => [p.media, p.state])).toEqual([[['sound:callguard/callguard-not-accepted'], 'done']]);
    expect(callRows()).toMatchObject([{ action: 'block', outcome: 'rejected', outcome_detail: 'CALL_REJECTED' }]);
    await expectNothingLeft();
  });

  it('challenge passed: a key during the prompt stops it and the call continues', async () => {
    const { sim } = await setup({ sim: { mediaDurationMs: LONG_PROMPT_MS } });
    const { call, requests } = place({ callerNumber: CALLER.challenge });
    await sim.waitForEvent('PlaybackStarted', playbackOf(call.channelId));
    await call.sendDtmf('1');
    const result = await run(call);
    expect(shown(requests(), call.channelId)).toEqual([
      'POST /ari/channels/{id}/answer',
      'POST /ari/channels/{id}/play?media=sound:callguard/callguard-challenge&playbackId={uuid}',
      'DELETE /ari/playbacks/{uuid}',
      'POST /ari/channels/{id}/continue',
    ]);
    expect(result).toMatchObject({ outcome: 'continued', answered: true, continuedTo: { priority: 3 } });
    expect(result.playbacks).toMatchObject([{ stopped: true }]);
    expect(callRows()).toMatchObject([{ action: 'challenge', outcome: 'passed', outcome_detail: 'pressed 1' }]);
    await expectNothingLeft();
  });

  it('challenge failed by a wrong key after the prompt: goodbye, cleared normally (16)', async () => {
    const { sim } = await setup({ challengeTimeoutMs: PATIENT_CHALLENGE_TIMEOUT_MS });
    const { call, requests } = place({ callerNumber: CALLER.challenge });
    await sim.waitForEvent('PlaybackFinished', playbackOf(call.channelId));
    await call.sendDtmf('2');
    const result = await run(call);
    expect(shown(requests(), call.channelId)).toEqual([
      'POST /ari/channels/{id}/answer',
      'POST /ari/channels/{id}/play?media=sound:callguard/callguard-challenge&playbackId={uuid}',
      'POST /ari/channels/{id}/play?media=sound:callguard/callguard-goodbye&playbackId={uuid}',
      'DELETE /ari/channels/{id}?reason=normal',
    ]);
    expect(result).toMatchObject({ outcome: 'hungup', hangupReason: 'normal', hangupCause: 16 });
    expect(callRows()).toMatchObject([{ action: 'challenge', outcome: 'failed', outcome_detail: 'pressed 2' }]);
    await expectNothingLeft();
  });

  it('challenge failed by silence: the prompt twice, each followed by the timeout, then goodbye', async () => {
    await setup();
    const started = Date.now();
    const { call, requests } = place({ callerNumber: CALLER.challenge });
    const result = await run(call);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2 * CHALLENGE_TIMEOUT_MS);
    expect(shown(requests(), call.channelId)).toEqual([
      'POST /ari/channels/{id}/answer',
      'POST /ari/channels/{id}/play?media=sound:callguard/callguard-challenge&playbackId={uuid}',
      'POST /ari/channels/{id}/play?media=sound:callguard/callguard-challenge&playbackId={uuid}',
      'POST /ari/channels/{id}/play?media=sound:callguard/callguard-goodbye&playbackId={uuid}',
      'DELETE /ari/channels/{id}?reason=normal',
    ]);
    expect(result).toMatchObject({ outcome: 'hungup', hangupCause: 16 });
    expect(callRows()).toMatchObject([{ action: 'challenge', outcome: 'failed', outcome_detail: 'no key in 2 tries' }]);
    await expectNothingLeft();
  });

  it('busy: cleared as busy (17) before answer, nothing played', async () => {
    await setup();
    const { call, requests } = place({ callerNumber: CALLER.busy });
    const result = await run(call);
    expect(shown(requests(), call.channelId)).toEqual(['DELETE /ari/channels/{id}?reason=busy']);
    expect(result).toMatchObject({ outcome: 'hungup', hangupCause: 17, answered: false, playbacks: [] });
    expect(callRows()).toMatchObject([{ action: 'busy', outcome: 'rejected', outcome_detail: 'USER_BUSY' }]);
    await expectNothingLeft();
  });

  it('disconnected: early media, SIT tones and not-in-service prompt, cleared as unallocated (1)', async () => {
    await setup();
    const { call, requests } = place({ callerNumber: CALLER.disconnected });
    const result = await run(call);
    expect(shown(requests(), call.channelId)).toEqual([
      'POST /ari/channels/{id}/progress',
      'POST /ari/channels/{id}/play?media=sound:callguard/callguard-not-in-service&playbackId={uuid}',
      'DELETE /ari/channels/{id}?reason=unallocated',
    ]);
    expect(result).toMatchObject({ outcome: 'hungup', hangupCause: 1, answered: false });
    expect(callRows()).toMatchObject([{ action: 'disconnected', outcome: 'rejected', outcome_detail: 'UNALLOCATED_NUMBER' }]);
    await expectNothingLeft();
  });

  it.each([
    ['the rule names a mailbox', CALLER.voicemailBox, 'sales'],
    ['the rule names none: the number called', CALLER.voicemailDid, DID],
  ])('voicemail when %s: continues in the voicemail context, never rings', async (_, caller, box) => {
    await setup();
    const { call, requests } = place({ callerNumber: caller });
    const result = await run(call);
    expect(shown(requests(), call.channelId)).toEqual([`POST /ari/channels/{id}/continue?context=callguard-voicemail&extension=${box}&priority=1`]);
    expect(result).toMatchObject({ outcome: 'continued', answered: false, continuedTo: { context: 'callguard-voicemail', extension: box, priority: 1 } });
    expect(callRows()).toMatchObject([{ action: 'voicemail', outcome: 'voicemail' }]);
    await expectNothingLeft();
  });

  it('forward answered: caller ID kept, a mixing bridge; the leg is not screened; the target hanging up ends both', async () => {
    const { sim } = await setup();
    const originated: { endpoint: string; variables: Record<string, string> }[] = [];
    sim.onOriginate((info) => {
      originated.push({ endpoint: info.endpoint, variables: info.variables });
      return { answer: true, afterMs: 10 };
    });
    const { call, requests } = place({ callerNumber: CALLER.forward, callerName: 'Alice' });
    await sim.waitUntil(() => sim.bridgeIds().length === 1 && call.snapshot() !== undefined && sim.outboundCalls.length === 1, PATIENCE_MS, 'bridge');
    const leg = sim.outboundCalls[0]!;
    await sim.waitForEvent('ChannelEnteredBridge', (e) => (e.event as { channel?: { id: string } }).channel?.id === leg.channelId);
    expect(originated).toEqual([{ endpoint: `PJSIP/${FORWARD_TO}@trunk`, variables: { 'CALLERID(num)': CALLER.forward, 'CALLERID(name)': 'Alice' } }]);
    expect(leg.snapshot()?.caller).toEqual({ name: 'Alice', number: CALLER.forward });
    leg.hangup();
    const result = await run(call);
    expect(shown(requests(), call.channelId)).toEqual([
      'POST /ari/channels/{id}/ring',
      'POST /ari/channels?app=callguard&channelId={leg}&endpoint=PJSIP/+15125550100@trunk&originator={id}&timeout=30',
      'POST /ari/channels/{id}/answer',
      'POST /ari/bridges?bridgeId={uuid}&name=callguard-forward&type=mixing',
      'POST /ari/bridges/{uuid}/addChannel?channel={id},{leg}',
      'DELETE /ari/channels/{id}?reason=normal',
      'DELETE /ari/bridges/{uuid}',
    ]);
    expect(result).toMatchObject({ outcome: 'bridged', bridgedWith: [leg.channelId], hangupCause: 16 });
    expect(await leg.done).toMatchObject({ hangupBy: 'caller' });
    // The leg's StasisStart reached the agent, which screened only the caller.
    expect(sim.sentEvents.some((e) => e.event.type === 'StasisStart' && (e.event as { channel: { id: string } }).channel.id === leg.channelId)).toBe(true);
    expect(callRows()).toMatchObject([{ channel: call.channelId, action: 'forward', outcome: 'answered', outcome_detail: FORWARD_TO }]);
    await expectNothingLeft();
  });

  it('forward answered: the caller hanging up ends the leg and the bridge', async () => {
    const { sim } = await setup();
    const { call, requests } = place({ callerNumber: CALLER.forward });
    await sim.waitUntil(() => sim.outboundCalls.length === 1);
    const leg = sim.outboundCalls[0]!;
    await sim.waitForEvent('ChannelEnteredBridge', (e) => (e.event as { channel?: { id: string } }).channel?.id === leg.channelId);
    call.hangup();
    await run(call);
    expect(await leg.done).toMatchObject({ hangupBy: 'ari', hangupReason: 'normal' });
    expect(shown(requests(), call.channelId).slice(-2)).toEqual(['DELETE /ari/channels/{leg}?reason=normal', 'DELETE /ari/bridges/{uuid}']);
    await expectNothingLeft();
  });

  it('forward failed: the target is busy, so the call continues its normal route', async () => {
    const { sim } = await setup();
    sim.onOriginate(() => ({ answer: false, cause: 17, afterMs: 10 }));
    const { call, requests } = place({ callerNumber: CALLER.forward });
    const result = await run(call);
    expect(shown(requests(), call.channelId)).toEqual([
      'POST /ari/channels/{id}/ring',
      'POST /ari/channels?app=callguard&channelId={leg}&endpoint=PJSIP/+15125550100@trunk&originator={id}&timeout=30',
      'POST /ari/channels/{id}/continue',
    ]);
    expect(result).toMatchObject({ outcome: 'continued', answered: false, continuedTo: { priority: 3 } });
    expect(await sim.outboundCalls[0]!.done).toMatchObject({ outcome: 'failed', hangupCause: 17 });
    expect(callRows()).toMatchObject([{ action: 'forward', outcome: 'forward_failed' }]);
    await expectNothingLeft();
  });

  it('flagged by robocall protection: through with the caller-name prefix and the flag variable', async () => {
    const { db } = await setup();
    // Protection for one tenant, flagging from 10 points: a call without STIR/SHAKEN (+15) is flagged.
    new TenantStore(db).add('acme');
    new TenantStore(db).addDid(FLAGGING_DID as never, 'acme');
    new ProtectionStore(db).set({ scope: 'tenant:acme', enabled: true, threshold: 90, flagThreshold: 10, action: 'block' });
    const { call, requests } = place({ callerNumber: CALLER.allowed, callerName: 'Alice', exten: FLAGGING_DID });
    const result = await run(call);
    expect(shown(requests(), call.channelId)).toEqual([
      'POST /ari/channels/{id}/variable?value=SPAM? Alice&variable=CALLERID(name)',
      'POST /ari/channels/{id}/variable?value=true&variable=callguard_suspected_spam',
      'POST /ari/channels/{id}/continue',
    ]);
    expect(result).toMatchObject({ outcome: 'continued', variablesSet: { 'CALLERID(name)': 'SPAM? Alice', callguard_suspected_spam: 'true' } });
    expect(callRows()).toMatchObject([{ action: 'allow', outcome: 'continued', outcome_detail: 'flagged', flagged: 1 }]);
    await expectNothingLeft();
  });
});

describe('a caller who leaves half way', () => {
  it('hangs up as the block prompt starts: outcome hungup, no hangup sent, nothing left behind', async () => {
    await setup();
    const { call, requests } = place({ callerNumber: CALLER.block, callerHangup: { onPlaybackStart: 1 } });
    const result = await run(call);
    expect(result).toMatchObject({ outcome: 'caller_hungup', hangupBy: 'caller' });
    expect(shown(requests(), call.channelId)).toEqual([
      'POST /ari/channels/{id}/progress',
      'POST /ari/channels/{id}/play?media=sound:callguard/callguard-not-accepted&playbackId={uuid}',
    ]);
    expect(callRows()).toMatchObject([{ action: 'block', outcome: 'hungup', outcome_detail: 'prompt not-accepted' }]);
    await expectNothingLeft();
  });

  it('hangs up while the challenge waits for a key: the key timer and the routes go with the call', async () => {
    const { sim, driver } = await setup({ sim: { mediaDurationMs: 5 }, challengeTimeoutMs: PATIENT_CHALLENGE_TIMEOUT_MS });
    const { call } = place({ callerNumber: CALLER.challenge });
    await sim.waitForEvent('PlaybackFinished', playbackOf(call.channelId));
    await sim.waitUntil(() => driver.debugCounts().timers === 1, PATIENCE_MS, 'the key timer');
    call.hangup();
    await run(call);
    expect(callRows()).toMatchObject([{ action: 'challenge', outcome: 'hungup', outcome_detail: 'prompt challenge' }]);
    await expectNothingLeft();
  });

  it('hangs up during a long challenge prompt: the playback ends with the channel', async () => {
    const { sim } = await setup({ sim: { mediaDurationMs: LONG_PROMPT_MS } });
    const { call } = place({ callerNumber: CALLER.challenge });
    await sim.waitForEvent('PlaybackStarted', playbackOf(call.channelId));
    expect(sim.activePlaybackCount()).toBe(1);
    call.hangup();
    await run(call);
    expect(callRows()).toMatchObject([{ outcome: 'hungup', outcome_detail: 'prompt challenge' }]);
    await expectNothingLeft();
  });

  it('hangs up while the forward target rings: the leg is hung up too', async () => {
    const { sim } = await setup();
    // The target would answer only after the test is long over: the caller hangs up while it rings.
    sim.onOriginate(() => ({ answer: true, afterMs: 10 * PATIENCE_MS }));
    const { call } = place({ callerNumber: CALLER.forward });
    await sim.waitUntil(() => sim.outboundCalls.length === 1);
    call.hangup();
    await run(call);
    expect(await sim.outboundCalls[0]!.done).toMatchObject({ hangupBy: 'ari', answered: false });
    expect(callRows()).toMatchObject([{ action: 'forward', outcome: 'hungup', outcome_detail: 'forward' }]);
    await expectNothingLeft();
  });
});

describe('connection faults', () => {
  it('a dropped WebSocket: the call being screened goes through, the app is registered again, new calls are screened', async () => {
    const { sim, driver, logs } = await setup({ sim: { mediaDurationMs: LONG_PROMPT_MS } });
    const { call } = place({ callerNumber: CALLER.challenge });
    await sim.waitForEvent('PlaybackStarted', playbackOf(call.channelId));
    expect(sim.dropWebSockets()).toBe(1);
    expect(await run(call)).toMatchObject({ outcome: 'continued' });
    // The prompt is stopped first: it would hold up the continue until its end.
    expect(shown(call.requests, call.channelId)).toEqual([
      'POST /ari/channels/{id}/answer',
      'POST /ari/channels/{id}/play?media=sound:callguard/callguard-challenge&playbackId={uuid}',
      'DELETE /ari/playbacks/{uuid}',
      'POST /ari/channels/{id}/continue',
    ]);
    expect(callRows()).toMatchObject([{ action: 'challenge', outcome: 'error', outcome_detail: 'the ARI event connection was lost' }]);
    await sim.waitUntil(() => sim.isAppConnected('callguard') && driver.connected, PATIENCE_MS, 'reconnection');
    expect(sim.openWebSocketCount()).toBe(1);
    expect(logs.some((l) => /lost the ARI WebSocket/.test(String(l.msg)))).toBe(true);
    const next = place({ callerNumber: CALLER.busy });
    expect(await run(next.call)).toMatchObject({ hangupCause: 17 });
    await expectNothingLeft();
  });

  it('Asterisk unreachable mid-call: once back, the channel left in Stasis is continued', async () => {
    const { sim, driver } = await setup({ sim: { mediaDurationMs: 600 }, requestTimeoutMs: 150 });
    const { call } = place({ callerNumber: CALLER.challenge });
    await sim.waitForEvent('PlaybackStarted', playbackOf(call.channelId));
    await sim.refuseConnections();
    // The fail-open continue cannot get through; it times out and the call is given up on.
    await sim.waitUntil(() => driver.inProgress === 0, PATIENCE_MS, 'the screening to give up');
    expect(call.finished).toBeUndefined();
    const mark = sim.requests.length;
    await sim.acceptConnections();
    expect(await call.done).toMatchObject({ outcome: 'continued', continuedTo: { priority: 3 } });
    expect(sim.isAppConnected('callguard')).toBe(true);
    expect(shown(sim.requests.slice(mark), call.channelId)).toEqual(['GET /ari/applications/callguard', 'POST /ari/channels/{id}/continue']);
    world!.callLog.flush();
    expect(callRows()).toMatchObject([{ action: 'challenge', outcome: 'error' }]);
    await expectNothingLeft();
  });

  it('a channel left in Stasis before the agent started is continued unscreened', async () => {
    const { sim } = await setup({ noStart: true });
    const previous = new WebSocket(`ws://127.0.0.1:${sim.port}/ari/events?app=callguard&api_key=callguard:secret`);
    await new Promise((resolve) => previous.on('open', resolve));
    const { call } = place({ callerNumber: CALLER.block });
    await sim.waitForEvent('StasisStart');
    previous.terminate();
    await sim.waitUntil(() => !sim.isAppConnected('callguard'));
    await startDriver();
    expect(await call.done).toMatchObject({ outcome: 'continued', continuedTo: { priority: 3 } });
    // Sent on as it was, not as a hand-over: it may have been screened already.
    expect(call.finished!.variablesSet).toEqual({});
    expect(callRows()).toEqual([]);
    await expectNothingLeft();
  });

  it('a call entering Stasis as the app registers, its StasisStart still on the wire when the channels are listed, is screened once, not sent on', async () => {
    const { sim, logs } = await setup({ noStart: true });
    sim.delayEvents(100);
    let placed: ReturnType<typeof place> | undefined;
    sim.onRegistration((apps) => {
      if (apps.includes('callguard') && !placed) placed = place({ callerNumber: CALLER.block });
    });
    await startDriver();
    expect(placed).toBeDefined();
    const { call } = placed!;
    expect(await run(call)).toMatchObject({ outcome: 'hungup', hangupCause: 21 });
    expect(shown(call.requests, call.channelId)).not.toContain('POST /ari/channels/{id}/continue');
    expect(callRows()).toMatchObject([{ channel: call.channelId, action: 'block', outcome: 'rejected' }]);
    // The listing did show it, before its StasisStart came.
    expect(sim.requests.some((r) => r.route === '/applications/{applicationName}')).toBe(true);
    expect(logs.filter((l) => /found in Stasis after a reconnect/.test(String(l.msg)))).toEqual([]);
    await expectNothingLeft();
  });

  it('wrong credentials: start() rejects with a clear message and nothing crashes', async () => {
    const { sim, driver, logs } = await setup({ password: 'wrong', noStart: true });
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    try {
      await expect(driver.start()).rejects.toThrow(/refused user "callguard" \(HTTP 401\): check the \[callguard\] section of ari\.conf/);
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      process.removeListener('uncaughtException', onUncaught);
    }
    expect(uncaught).toEqual([]);
    expect(sim.authFailures).toBe(1);
    expect(driver.connected).toBe(false);
    expect(driver.debugCounts().timers).toBe(0);
    expect(logs.filter((l) => l.level === 50).map((l) => l.msg)).toEqual([expect.stringMatching(/refused user "callguard"/)]);
  });

  it('Asterisk unreachable at start: start() returns, retries are logged, and it connects once Asterisk answers', async () => {
    const { sim, driver, logs } = await setup({ noStart: true });
    await sim.refuseConnections();
    await startDriver();
    expect(driver.connected).toBe(false);
    expect(logs.find((l) => /cannot connect/.test(String(l.msg)))).toMatchObject({
      level: 40,
      msg: `cannot connect to Asterisk ARI at ${sim.url}; retrying in 1 s`,
      reason: expect.stringMatching(/ECONNREFUSED/),
      attempt: 1,
    });
    expect(driver.debugCounts().timers).toBe(1); // the wait before the next attempt
    await sim.acceptConnections();
    await sim.waitUntil(() => driver.connected, PATIENCE_MS, 'the retry to connect');
    expect(sim.isAppConnected('callguard')).toBe(true);
    world!.baselineListeners = driver.debugCounts().clientListeners;
    const { call } = place({ callerNumber: CALLER.busy });
    expect(await run(call)).toMatchObject({ hangupCause: 17 });
    await expectNothingLeft();
  });
});

describe('stopping', () => {
  it('a call arriving is handed back to the dialplan marked CALLGUARD_STOPPING=yes; the call held is screened to its end', async () => {
    const { sim, driver } = await setup({ challengeTimeoutMs: PATIENT_CHALLENGE_TIMEOUT_MS });
    const held = place({ callerNumber: CALLER.challenge });
    await sim.waitForEvent('PlaybackFinished', playbackOf(held.call.channelId));
    const stopped = driver.stop(PATIENCE_MS);
    const arriving = place({ callerNumber: CALLER.block });
    // Done at once, while the agent still holds the other call.
    const result = await arriving.call.done;
    expect(shown(arriving.requests().filter((r) => r.pathParams?.channelId === arriving.call.channelId), arriving.call.channelId)).toEqual([
      'POST /ari/channels/{id}/variable?value=yes&variable=CALLGUARD_STOPPING',
      'POST /ari/channels/{id}/continue',
    ]);
    expect(result).toMatchObject({ outcome: 'continued', continuedTo: { priority: 3 }, variablesSet: { CALLGUARD_STOPPING: 'yes' } });
    expect(held.call.finished).toBeUndefined();
    await held.call.sendDtmf('1');
    expect(await held.call.done).toMatchObject({ outcome: 'continued', variablesSet: {} });
    await stopped;
    expect(sim.isAppConnected('callguard')).toBe(false);
    world!.callLog.flush();
    expect(callRows()).toMatchObject([{ channel: held.call.channelId, action: 'challenge', outcome: 'passed' }]);
    expect(driver.debugCounts().timers).toBe(0);
  });

  it('a bridged call stays up in the application, neither handed over nor hung up', async () => {
    const { sim, driver } = await setup();
    const { call } = place({ callerNumber: CALLER.forward });
    await sim.waitUntil(() => sim.outboundCalls.length === 1);
    const leg = sim.outboundCalls[0]!;
    await sim.waitForEvent('ChannelEnteredBridge', (e) => (e.event as { channel?: { id: string } }).channel?.id === leg.channelId);
    const mark = sim.requests.length;
    await driver.stop(50);
    expect(sim.requests.slice(mark).filter((r) => r.method !== 'GET')).toEqual([]);
    expect([call.finished, leg.finished]).toEqual([undefined, undefined]);
    expect(sim.bridgeIds()).toHaveLength(1);
  });

  it('a channel whose StasisStart never reached the agent is handed over too, before stop() returns', async () => {
    const { sim, driver } = await setup();
    // Another socket takes the application over for a moment: the channel entering then is never seen by the agent.
    const other = new WebSocket(`ws://127.0.0.1:${sim.port}/ari/events?app=callguard&api_key=callguard:secret`);
    await new Promise((resolve) => other.on('open', resolve));
    const { call } = place({ callerNumber: CALLER.block });
    await sim.waitForEvent('StasisStart', (e) => (e.event as { channel?: { id: string } }).channel?.id === call.channelId);
    const closed = new Promise((resolve) => other.on('close', resolve));
    other.terminate();
    await closed;
    expect(call.finished).toBeUndefined();
    await driver.stop(500);
    const sent = sim.requests.filter((r) => r.pathParams?.channelId === call.channelId);
    expect(shown(sent, call.channelId)).toEqual(['POST /ari/channels/{id}/variable?value=yes&variable=CALLGUARD_STOPPING', 'POST /ari/channels/{id}/continue']);
    expect(await call.done).toMatchObject({ outcome: 'continued', continuedTo: { priority: 3 } });
    expect(callRows()).toEqual([]);
  });
});

describe('hostile caller IDs', () => {
  const HOSTILE = ['../../applications', '?reason=normal', 'line\nbreak\r\n', `"quoted" 'name' \\`, 'x'.repeat(10 * 1024), '📞☎️😀'];
  const ACTIONS: Partial<Decision>[] = [
    { action: 'block' },
    { action: 'allow', flagged: true },
    { action: 'voicemail', target: null },
    { action: 'forward', target: FORWARD_TO },
  ];
  const cut = (text: string) => text.slice(0, 256);

  it('never change a REST path, a query name or a dialplan string; they travel only as values', async () => {
    const { sim, screener } = await setup();
    let next: Partial<Decision> = {};
    screener.script = () => next;
    sim.onOriginate(() => ({ answer: false, cause: 17, afterMs: 5 }));
    const runAs = async (decision: Partial<Decision>, caller: string) => {
      next = decision;
      const { call, requests } = place({ callerNumber: caller, callerName: caller });
      await run(call);
      return { requests: requests(), id: call.channelId };
    };
    for (const decision of ACTIONS) {
      const benign = await runAs(decision, '+14045551234');
      for (const hostile of HOSTILE) {
        const { requests, id } = await runAs(decision, hostile);
        // Same paths, same parameter names, same dialplan strings as for a plain caller.
        const skeleton = (rs: RequestLogEntry[], own: string) =>
          shown(
            rs.map((r) => ({ ...r, query: Object.fromEntries(Object.entries(r.query).map(([k, v]) => [k, k === 'value' ? '…' : v])) })),
            own,
          );
        expect(skeleton(requests, id)).toEqual(skeleton(benign.requests, benign.id));
        for (const r of requests) {
          expect(r.route, r.path).toBeDefined();
          expect(Object.values(r.pathParams ?? {}).every((p) => p === id || /^(callguard-leg-)?[0-9a-f-]{36}$/.test(p))).toBe(true);
        }
        // Where the caller ID is sent back, it is the value, whole or cut, never reinterpreted.
        const nameSet = requests.find((r) => r.query.variable === 'CALLERID(name)');
        if (nameSet) expect(nameSet.query.value).toBe(cut(`SPAM? ${hostile}`));
        const originate = requests.find((r) => r.nickname === 'originate');
        if (originate) expect(originate.body).toEqual({ variables: { 'CALLERID(num)': cut(hostile), 'CALLERID(name)': cut(hostile) } });
      }
    }
    callRowsAreIntact(HOSTILE);
    await expectNothingLeft();
  });

  it('a hostile number called never becomes a voicemail extension: the call goes through instead', async () => {
    const { screener } = await setup();
    screener.script = () => ({ action: 'voicemail', target: null });
    const { call, requests } = place({ callerNumber: CALLER.allowed, exten: '../../x,1' });
    const result = await run(call);
    expect(shown(requests(), call.channelId)).toEqual(['POST /ari/channels/{id}/continue']);
    expect(result).toMatchObject({ outcome: 'continued', continuedTo: { extension: '../../x,1', priority: 3 } });
    expect(callRows()).toMatchObject([{ outcome: 'error', outcome_detail: expect.stringMatching(/refusing to put mailbox/) }]);
    await expectNothingLeft();
  });

  it('a forward target that is not an E.164 number never reaches an endpoint: the call goes through instead', async () => {
    const { screener } = await setup();
    screener.script = () => ({ action: 'forward', target: '+1555@evil/x' });
    const { call, requests } = place({ callerNumber: CALLER.allowed });
    const result = await run(call);
    expect(shown(requests(), call.channelId)).toEqual(['POST /ari/channels/{id}/continue']);
    expect(result).toMatchObject({ outcome: 'continued' });
    expect(callRows()).toMatchObject([{ action: 'forward', outcome: 'error', outcome_detail: expect.stringMatching(/refusing to put forward number/) }]);
    await expectNothingLeft();
  });

  function callRowsAreIntact(hostile: string[]): void {
    const names = new Set(callRows().map((r) => r.caller_name));
    for (const text of hostile) expect(names.has(text.slice(0, 256))).toBe(true);
  }
});

describe('channel facts and dialplan values (pure)', () => {
  const channel = {
    id: '1.1',
    name: 'PJSIP/trunk-00000001',
    state: 'Ring',
    caller: { name: ' Alice ', number: '(404) 555-1234' },
    dialplan: { context: 'callguard-inbound', exten: '+18005550100', priority: 2 },
  };

  it('takes caller and DID as signalled, and IP, From, carrier, attestation and privacy from channelvars', () => {
    const settings = { ...DEFAULT_ASTERISK, carrierVariable: 'CARRIER' };
    const channelvars = {
      CALLGUARD_SOURCE_IP: '203.0.113.7:5060',
      CALLGUARD_SIP_FROM: '"Alice" <sip:alice@spam.example>;tag=as1',
      CARRIER: 'Bandwidth, Inc.',
      CALLGUARD_PAI: '<sip:+14045551234@carrier.example;user=phone;verstat=TN-Validation-Passed-C>',
      'CALLERID(pres)': 'prohib_not_screened',
    };
    expect(channelFacts({ ...channel, channelvars }, settings)).toEqual({
      kind: 'call',
      from: '(404) 555-1234',
      to: '+18005550100',
      callerName: ' Alice ',
      ip: '203.0.113.7',
      sipFrom: '"Alice" <sip:alice@spam.example>;tag=as1',
      carrier: 'Bandwidth, Inc.',
      attestation: 'C',
      privacy: true,
    });
    const v6 = channelFacts({ ...channel, channelvars: { CALLGUARD_SOURCE_IP: '[2001:db8::1]:5061', 'CALLERID(pres)': 'allowed' } }, settings);
    expect(v6).toMatchObject({ ip: '2001:db8::1', carrier: undefined, attestation: 'none', privacy: false });
    expect(channelFacts(channel, settings)).toMatchObject({ ip: undefined, attestation: 'none', privacy: false });
    // A call the dialplan set nothing for (not PJSIP): Asterisk sends the names empty.
    const iax = { CALLGUARD_SOURCE_IP: '', CALLGUARD_SIP_FROM: '', CALLGUARD_PAI: '', 'CALLERID(pres)': 'allowed_not_screened' };
    expect(channelFacts({ ...channel, channelvars: iax }, DEFAULT_ASTERISK)).toMatchObject({ ip: undefined, sipFrom: undefined, attestation: 'none', privacy: false });
  });

  it('still reads the PJSIP functions an older ari.conf lists, by default and when configured by name', () => {
    const former = {
      'CHANNEL(pjsip,remote_addr)': '203.0.113.8:5060',
      'PJSIP_HEADER(read,From)': '<sip:bob@carrier.example>;tag=1',
      'PJSIP_HEADER(read,P-Asserted-Identity)': '<sip:+14045551234@carrier.example;verstat=TN-Validation-Passed-B>',
      'CALLERID(pres)': 'allowed',
    };
    const expected = { ip: '203.0.113.8', sipFrom: '<sip:bob@carrier.example>;tag=1', attestation: 'B' };
    expect(channelFacts({ ...channel, channelvars: former }, DEFAULT_ASTERISK)).toMatchObject(expected);
    const byName = { ...DEFAULT_ASTERISK, sourceIpVariable: 'CHANNEL(pjsip,remote_addr)', sipFromVariable: 'PJSIP_HEADER(read,From)', attestationVariable: 'PJSIP_HEADER(read,P-Asserted-Identity)' };
    expect(channelFacts({ ...channel, channelvars: former }, byName)).toMatchObject(expected);
    // The plain name wins when a snapshot carries both.
    expect(channelFacts({ ...channel, channelvars: { ...former, CALLGUARD_SOURCE_IP: '' } }, DEFAULT_ASTERISK).ip).toBeUndefined();
  });

  it('says what is wrong with the channelvars Asterisk sends', () => {
    const shipped = {
      CALLGUARD_SOURCE_IP: '',
      CALLGUARD_SIP_FROM: '',
      CALLGUARD_STIR_SHAKEN: '',
      CALLGUARD_P_ATTESTATION: '',
      CALLGUARD_X_ATTESTATION: '',
      CALLGUARD_PAI: '',
      'CALLERID(pres)': '',
    };
    expect(channelvarsAdvice(shipped, DEFAULT_ASTERISK)).toEqual([]);
    expect(channelvarsAdvice(undefined, DEFAULT_ASTERISK)).toEqual([expect.stringMatching(/^Asterisk sends no channelvars/)]);
    expect(channelvarsAdvice({ CALLGUARD_SOURCE_IP: '', 'CALLERID(pres)': '' }, { ...DEFAULT_ASTERISK, carrierVariable: 'CALLGUARD_CARRIER' })).toEqual([
      'ari.conf [general] channelvars does not list CALLGUARD_SIP_FROM, CALLGUARD_CARRIER, CALLGUARD_STIR_SHAKEN, CALLGUARD_P_ATTESTATION, CALLGUARD_X_ATTESTATION, CALLGUARD_PAI: callguard does not see what they carry',
    ]);
    const former = { 'CHANNEL(pjsip,remote_addr)': '', 'PJSIP_HEADER(read,From)': '', 'PJSIP_HEADER(read,P-Asserted-Identity)': '', 'CALLERID(pres)': '' };
    expect(channelvarsAdvice(former, DEFAULT_ASTERISK)).toEqual([
      'ari.conf [general] channelvars does not list CALLGUARD_STIR_SHAKEN, CALLGUARD_P_ATTESTATION, CALLGUARD_X_ATTESTATION: callguard does not see what they carry',
      expect.stringMatching(/^ari\.conf \[general\] channelvars lists CHANNEL\(pjsip,remote_addr\), PJSIP_HEADER\(read,From\), PJSIP_HEADER\(read,P-Asserted-Identity\): Asterisk logs an ERROR/),
    ]);
  });

  it('refuses an ARI URL that is not http(s)://host:port before connecting anywhere', () => {
    for (const url of ['127.0.0.1:8088', 'ws://127.0.0.1:8088', 'http://127.0.0.1:8088/ari', 'http://']) {
      expect(() => createAsteriskDriver({ url, user: 'u', password: 'p', app: 'callguard', settings: DEFAULT_ASTERISK }, { screener: null as never, logger: pino({ level: 'silent' }) })).toThrow(
        /bad --ari-url/,
      );
    }
  });

  it('puts only checked values into the dialplan strings', () => {
    expect(voicemailLocation(DEFAULT_ASTERISK, 'sales')).toEqual({ context: 'callguard-voicemail', extension: 'sales', priority: 1 });
    expect(voicemailLocation(DEFAULT_ASTERISK, '+18005550100').extension).toBe('+18005550100');
    for (const bad of ['', '../x', 'a,b', 'a b', 's)', '1\n2', 'x'.repeat(65)]) expect(() => voicemailLocation(DEFAULT_ASTERISK, bad)).toThrow(/refusing/);
    expect(forwardEndpoint(DEFAULT_ASTERISK, '+15125550100' as never)).toBe('PJSIP/+15125550100@trunk');
    expect(() => forwardEndpoint(DEFAULT_ASTERISK, '+1512&x' as never)).toThrow(/refusing/);
  });
});
