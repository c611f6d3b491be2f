// The shipped ari.conf `channelvars` and [callguard-inbound] dialplan (and its pair twin), run in the ARI
// simulator with the real driver: every action leaves Asterisk's log free of ERROR and
// WARNING lines, a PJSIP call still gives the agent its source IP, SIP From and
// P-Asserted-Identity, a call of another channel type is screened on number, name and
// presentation, and the former channelvars line is shown to flood the log.
import fs from 'node:fs';
import path from 'node:path';
import type { Database } from 'better-sqlite3';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_ACTION_SETTINGS } from '../agent/actions/settings';
import { parsePattern } from '../agent/engine/patterns';
import type { CallFacts, RuleAction } from '../agent/engine/types';
import type { Logger } from '../agent/log/logger';
import { createAsteriskDriver, type AsteriskDriver } from '../agent/pbx/asterisk/asterisk-driver';
import { variablesRead } from '../agent/pbx/asterisk/channel-facts';
import { DEFAULT_ASTERISK, type AsteriskSettings } from '../agent/pbx/settings';
import { Screener } from '../agent/screening/screener';
import { CallLog } from '../agent/store/call-log';
import { openDatabase } from '../agent/store/database';
import { SqliteDecisionStore } from '../agent/store/decision-view';
import { RuleStore } from '../agent/store/rules';
import { PATIENCE_MS } from './helpers/patience';
import { makeTempDir, type TempDir } from './helpers/temp-db';
import {
  confValue,
  dialplanFromConf,
  parseAsteriskConf,
  parseChannelvars,
  startAsteriskSim,
  type AsteriskSim,
  type AsteriskLogLine,
  type PlaceCallOptions,
  type SimCall,
} from './sim/asterisk';

const CONF_DIR = path.resolve(__dirname, '../dialplan/asterisk');
const readConf = (name: string) => parseAsteriskConf(fs.readFileSync(path.join(CONF_DIR, name), 'utf8'), name);

/** ari.conf's channelvars line, split as res/ari/config.c splits it. */
const SHIPPED_CHANNELVARS = parseChannelvars(confValue(readConf('ari.conf'), 'general', 'channelvars') ?? '');
/** The line ari.conf shipped before: PJSIP functions evaluated on every channel. */
const FORMER_CHANNELVARS = parseChannelvars('CHANNEL(pjsip,remote_addr),PJSIP_HEADER(read,From),PJSIP_HEADER(read,P-Asserted-Identity),CALLERID(pres)');
const DIALPLAN = dialplanFromConf(readConf('extensions.conf'));

const DID = '+18005550100';
const FORWARD_TO = '+15125550100';
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
const BLOCKED_ADDRESS = '203.0.113.66';
/** Long enough that a key sent after the prompt is always in time (no wall-clock race). */
const KEY_WAIT_MS = 10 * PATIENCE_MS;
/** How long a wait gives up after: a hang detector, not a time budget (helpers/patience.ts). */
const DEADLINE_MS = PATIENCE_MS;

interface World {
  sim: AsteriskSim;
  driver: AsteriskDriver;
  db: Database;
  callLog: CallLog;
  logs: Record<string, unknown>[];
  /** What the engine was asked to decide on, per call, in order. */
  facts: CallFacts[];
}

let world: World | undefined;
let dir: TempDir | undefined;

class RecordingScreener extends Screener {
  readonly seen: CallFacts[] = [];
  override async decide(facts: CallFacts) {
    this.seen.push(facts);
    return super.decide(facts);
  }
}

async function setup(options: { channelvars: string[]; settings?: Partial<AsteriskSettings>; pjsipLoaded?: boolean; pairAs?: 'a' }): Promise<World> {
  dir = makeTempDir('callguard-channelvars-');
  const sim = await startAsteriskSim({ mediaDurationMs: 20, channelvars: options.channelvars, dialplan: DIALPLAN, pjsipLoaded: options.pjsipLoaded ?? true });
  const db = openDatabase(dir.file('callguard.db'));
  const rules = new RuleStore(db);
  const rule = (pattern: string, action: RuleAction, target: string | null = null) =>
    rules.add([{ ...parsePattern(pattern, 'US'), scope: 'global', action, target, sms: false, note: null, list: null, expiresAt: null }]);
  rule(CALLER.block, 'block');
  rule(CALLER.challenge, 'challenge');
  rule(CALLER.busy, 'busy');
  rule(CALLER.disconnected, 'disconnected');
  rule(CALLER.voicemailBox, 'voicemail', 'sales');
  rule(CALLER.voicemailDid, 'voicemail');
  rule(CALLER.forward, 'forward', FORWARD_TO);
  rule(BLOCKED_ADDRESS, 'block');
  rule('*@robocalls.example', 'busy');
  const logs: Record<string, unknown>[] = [];
  const logger: Logger = pino({ level: 'debug' }, { write: (line: string) => logs.push(JSON.parse(line)) });
  const callLog = new CallLog(db);
  const actions = { ...DEFAULT_ACTION_SETTINGS, challenge: { digit: '1', timeoutMs: KEY_WAIT_MS, tries: 2 } };
  const screener = new RecordingScreener(new SqliteDecisionStore(db), callLog, { country: 'US', failMode: 'open', actions }, logger);
  const driver = createAsteriskDriver(
    { url: sim.url, user: sim.username, password: sim.password, app: 'callguard', pairAs: options.pairAs, settings: { ...DEFAULT_ASTERISK, ...options.settings }, requestTimeoutMs: PATIENCE_MS },
    { screener, logger },
  );
  await driver.start();
  world = { sim, driver, db, callLog, logs, facts: screener.seen };
  return world;
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

/** A call arriving in [callguard-inbound] at priority 1, as the trunk sends it. */
function place(options: Omit<PlaceCallOptions, 'exten'> & { exten?: string }): SimCall {
  return world!.sim.placeCall({ exten: DID, context: 'callguard-inbound', ...options });
}

async function finished(call: SimCall) {
  const { sim, driver, callLog } = world!;
  const result = await call.done;
  await sim.waitUntil(() => driver.inProgress === 0, DEADLINE_MS, 'the driver to finish the call');
  callLog.flush();
  return result;
}

const playbackOf = (channelId: string) => (e: { event: unknown }) => (e.event as { playback?: { target_uri: string } }).playback?.target_uri === `channel:${channelId}`;
const problems = (log: readonly AsteriskLogLine[]) => log.filter((line) => line.level === 'ERROR' || line.level === 'WARNING');
const callRows = () => world!.db.prepare('SELECT action, outcome FROM calls ORDER BY id').all() as { action: string; outcome: string }[];

/** Every action once, each driven to its end; returns the inbound calls. */
async function everyAction(endpoint: string | undefined): Promise<SimCall[]> {
  const { sim } = world!;
  const on = endpoint ? { endpoint } : {};
  const calls: SimCall[] = [];
  const run = async (call: SimCall, drive?: () => Promise<void>) => {
    calls.push(call);
    await drive?.();
    await finished(call);
  };
  await run(place({ ...on, callerNumber: CALLER.allowed, callerName: 'Alice' }));
  await run(place({ ...on, callerNumber: CALLER.block }));
  const passing = place({ ...on, callerNumber: CALLER.challenge });
  await run(passing, async () => {
    await sim.waitForEvent('PlaybackFinished', playbackOf(passing.channelId), DEADLINE_MS);
    await passing.sendDtmf('1');
  });
  const failing = place({ ...on, callerNumber: CALLER.challenge });
  await run(failing, async () => {
    await sim.waitForEvent('PlaybackFinished', playbackOf(failing.channelId), DEADLINE_MS);
    await failing.sendDtmf('2');
  });
  await run(place({ ...on, callerNumber: CALLER.busy }));
  await run(place({ ...on, callerNumber: CALLER.disconnected }));
  await run(place({ ...on, callerNumber: CALLER.voicemailBox }));
  await run(place({ ...on, callerNumber: CALLER.voicemailDid }));
  // Forward answered: the leg enters the bridge, then the far end hangs up.
  sim.onOriginate(() => ({ answer: true, afterMs: 5 }));
  const answered = place({ ...on, callerNumber: CALLER.forward, callerName: 'Alice' });
  await run(answered, async () => {
    await sim.waitUntil(() => sim.outboundCalls.length > 0 && sim.bridgeIds().length === 1, DEADLINE_MS, 'the forward bridge');
    const leg = sim.outboundCalls.at(-1)!;
    await sim.waitForEvent('ChannelEnteredBridge', (e) => (e.event as { channel?: { id: string } }).channel?.id === leg.channelId, DEADLINE_MS);
    leg.hangup();
  });
  // Forward failed: the target is busy, the call continues its normal route.
  sim.onOriginate(() => ({ answer: false, cause: 17, afterMs: 5 }));
  await run(place({ ...on, callerNumber: CALLER.forward }));
  return calls;
}

const EVERY_OUTCOME = [
  { action: 'allow', outcome: 'continued' },
  { action: 'block', outcome: 'rejected' },
  { action: 'challenge', outcome: 'passed' },
  { action: 'challenge', outcome: 'failed' },
  { action: 'busy', outcome: 'rejected' },
  { action: 'disconnected', outcome: 'rejected' },
  { action: 'voicemail', outcome: 'voicemail' },
  { action: 'voicemail', outcome: 'voicemail' },
  { action: 'forward', outcome: 'answered' },
  { action: 'forward', outcome: 'forward_failed' },
];

describe('the shipped ari.conf channelvars and [callguard-inbound]', () => {
  it('lists plain variables and CALLERID(pres) only: no dialplan function that fails on some channel type', () => {
    expect(SHIPPED_CHANNELVARS).toEqual([
      'CALLGUARD_SOURCE_IP',
      'CALLGUARD_SIP_FROM',
      'CALLGUARD_STIR_SHAKEN',
      'CALLGUARD_P_ATTESTATION',
      'CALLGUARD_X_ATTESTATION',
      'CALLGUARD_PAI',
      'CALLERID(pres)',
    ]);
    // The agent reads exactly these by default.
    expect(variablesRead(DEFAULT_ASTERISK)).toEqual(SHIPPED_CHANNELVARS);
  });

  it.each<[string, string | undefined, Partial<AsteriskSettings>]>([
    ['PJSIP calls, forward legs dialled over PJSIP', undefined, {}],
    ['PJSIP calls, forward legs over Local channels', undefined, { forwardEndpoint: 'Local/{number}@from-internal' }],
    ['IAX2 calls', 'IAX2/provider', { forwardEndpoint: 'Local/{number}@from-internal' }],
    ['DAHDI calls', 'DAHDI/1', {}],
    ['Local calls', 'Local/100@from-internal', {}],
  ])('every action on %s: Asterisk logs no ERROR or WARNING, and the agent no channelvars warning', async (_, endpoint, settings) => {
    const { sim, logs } = await setup({ channelvars: SHIPPED_CHANNELVARS, settings });
    const calls = await everyAction(endpoint);
    expect(callRows()).toEqual(EVERY_OUTCOME);
    expect(problems(sim.asteriskLog)).toEqual([]);
    expect(logs.filter((l) => /channelvars/.test(String(l.msg)))).toEqual([]);
    // The forward legs were snapshotted with the channelvars too (their StasisStart, state changes, bridge).
    const legs = sim.outboundCalls;
    expect(legs.length).toBe(2);
    for (const leg of legs) expect(leg.events.some((e) => (e.event as { channel?: { channelvars?: unknown } }).channel?.channelvars !== undefined)).toBe(true);
    const legTechnology = legs.map((leg) => (leg.events.find((e) => e.event.type === 'Dial')?.event as { peer?: { name: string } } | undefined)?.peer?.name.split('/')[0]);
    expect(legTechnology).toEqual(settings.forwardEndpoint ? ['Local', 'Local'] : ['PJSIP', 'PJSIP']);
    // Where the calls the agent let through went on in the shipped dialplan.
    const [allowed, , passed, , , , box, did, , forwardFailed] = await Promise.all(calls.map((c) => c.done));
    for (const through of [allowed, passed, forwardFailed]) {
      expect(through!.dialplanStop).toMatchObject({ how: 'application', context: 'callguard-normal', exten: DID, app: 'Dial' });
    }
    expect(box!.dialplanStop).toMatchObject({ how: 'application', context: 'callguard-voicemail', app: 'VoiceMail', data: 'sales@default,u' });
    expect(did!.dialplanStop).toMatchObject({ how: 'application', context: 'callguard-voicemail', app: 'VoiceMail', data: '18005550100@default,u' });
  });

  it('a PJSIP call gives the agent its source IP, SIP From and P-Asserted-Identity, whole, through the plain variables', async () => {
    const { sim, facts } = await setup({ channelvars: SHIPPED_CHANNELVARS });
    const from = `"Doe, John; \\"Jr\\"" <sip:+14045559999@carrier.example>;tag=a,b;c`;
    const pai = '<sip:+14045559999@carrier.example;user=phone;verstat=TN-Validation-Passed-A>';
    const call = place({ callerNumber: CALLER.allowed, callerName: 'Doe, John', remoteAddr: '198.51.100.7:5060', sipHeaders: { From: from, 'P-Asserted-Identity': pai } });
    await finished(call);
    const start = sim.sentEvents.find((e) => e.event.type === 'StasisStart' && e.event.channel.id === call.channelId)?.event as { channel: { channelvars?: Record<string, string> } };
    expect(start.channel.channelvars).toEqual({
      CALLGUARD_SOURCE_IP: '198.51.100.7:5060',
      CALLGUARD_SIP_FROM: from,
      CALLGUARD_STIR_SHAKEN: '',
      CALLGUARD_P_ATTESTATION: '',
      CALLGUARD_X_ATTESTATION: '',
      CALLGUARD_PAI: pai,
      'CALLERID(pres)': 'allowed_not_screened',
    });
    expect(facts.at(-1)).toMatchObject({ from: CALLER.allowed, callerName: 'Doe, John', ip: '198.51.100.7', sipFrom: from, attestation: 'A', privacy: false });

    // The facts decide: an address rule and a SIP From rule.
    const byAddress = place({ callerNumber: CALLER.allowed, remoteAddr: `${BLOCKED_ADDRESS}:5060` });
    expect(await finished(byAddress)).toMatchObject({ hangupCause: 21 });
    const byFrom = place({ callerNumber: CALLER.allowed, sipHeaders: { From: '<sip:+14045559999@robocalls.example>;tag=1' } });
    expect(await finished(byFrom)).toMatchObject({ hangupCause: 17 });
    const v6 = place({ callerNumber: CALLER.allowed, remoteAddr: '[2001:db8::7]:5061', presentation: 'prohib_not_screened' });
    await finished(v6);
    expect(facts.at(-1)).toMatchObject({ ip: '2001:db8::7', attestation: 'none', privacy: true });
    expect(problems(sim.asteriskLog)).toEqual([]);
  });

  it('a call of another channel type is screened on number, name and presentation, with no SIP facts', async () => {
    const { sim, facts } = await setup({ channelvars: SHIPPED_CHANNELVARS });
    for (const endpoint of ['IAX2/provider', 'DAHDI/1', 'Local/100@from-internal']) {
      const call = place({ endpoint, callerNumber: CALLER.allowed, callerName: 'Bob', presentation: 'prohib_passed_screen' });
      expect(await finished(call)).toMatchObject({ outcome: 'continued' });
      expect(facts.at(-1)).toEqual({ kind: 'call', from: CALLER.allowed, to: DID, callerName: 'Bob', ip: undefined, sipFrom: undefined, carrier: undefined, attestation: 'none', privacy: true });
    }
    expect(problems(sim.asteriskLog)).toEqual([]);
  });

  it('[callguard-inbound-pair] gives agent A the same facts, and logs nothing either', async () => {
    const { sim, facts } = await setup({ channelvars: SHIPPED_CHANNELVARS, pairAs: 'a' });
    const pai = '<sip:+14045559999@carrier.example;user=phone;verstat=TN-Validation-Passed-A>';
    const pjsip = place({ context: 'callguard-inbound-pair', callerNumber: CALLER.allowed, remoteAddr: '198.51.100.7:5060', sipHeaders: { From: '<sip:+14045559999@carrier.example>;tag=1', 'P-Asserted-Identity': pai } });
    expect(await finished(pjsip)).toMatchObject({ outcome: 'continued', enteredApps: ['callguard-a'], dialplanStop: { context: 'callguard-normal', app: 'Dial' } });
    expect(facts.at(-1)).toMatchObject({ from: CALLER.allowed, ip: '198.51.100.7', sipFrom: '<sip:+14045559999@carrier.example>;tag=1', attestation: 'A' });
    const iax = place({ context: 'callguard-inbound-pair', endpoint: 'IAX2/provider', callerNumber: CALLER.block });
    expect(await finished(iax)).toMatchObject({ outcome: 'hungup', hangupCause: 21, enteredApps: ['callguard-a'] });
    expect(facts.at(-1)).toMatchObject({ from: CALLER.block, ip: undefined, sipFrom: undefined });
    expect(problems(sim.asteriskLog)).toEqual([]);
  });

  it('without chan_pjsip loaded, the shipped files log nothing either', async () => {
    const { sim } = await setup({ channelvars: SHIPPED_CHANNELVARS, pjsipLoaded: false, settings: { forwardEndpoint: 'Local/{number}@from-internal' } });
    await everyAction('IAX2/provider');
    expect(problems(sim.asteriskLog)).toEqual([]);
  });
});

describe('the former channelvars line (PJSIP functions)', () => {
  it('floods the log on a forward leg over a Local channel, and on a PJSIP call without P-Asserted-Identity', async () => {
    const { sim, logs } = await setup({ channelvars: FORMER_CHANNELVARS, settings: { forwardEndpoint: 'Local/{number}@from-internal' } });
    sim.onOriginate(() => ({ answer: true, afterMs: 5 }));
    const call = place({ callerNumber: CALLER.forward });
    await sim.waitUntil(() => sim.bridgeIds().length === 1 && sim.outboundCalls.length === 1, DEADLINE_MS, 'the forward bridge');
    const leg = sim.outboundCalls[0]!;
    await sim.waitForEvent('ChannelEnteredBridge', (e) => (e.event as { channel?: { id: string } }).channel?.id === leg.channelId, DEADLINE_MS);
    leg.hangup();
    await finished(call);
    const onLocal = problems(sim.asteriskLog).filter((line) => /^Local\//.test(line.channel ?? ''));
    const messages = new Set(onLocal.map((line) => `${line.level} ${line.message}`));
    expect([...messages].sort()).toEqual([
      'ERROR Error invoking function CHANNEL(pjsip,remote_addr)',
      'ERROR Error invoking function PJSIP_HEADER(read,From)',
      'ERROR Error invoking function PJSIP_HEADER(read,P-Asserted-Identity)',
      'ERROR This function requires a PJSIP channel.',
      "WARNING Unknown or unavailable item requested: 'pjsip,remote_addr'",
    ]);
    // Every snapshot of a leg repeats them (six lines each).
    expect(onLocal.length).toBeGreaterThan(6);
    // The inbound PJSIP channel has no P-Asserted-Identity: that function fails there too.
    const onInbound = problems(sim.asteriskLog).filter((line) => /^PJSIP\/trunk/.test(line.channel ?? ''));
    expect(onInbound.map((line) => line.message)).toContain('Error invoking function PJSIP_HEADER(read,P-Asserted-Identity)');
    // The agent says so once, and what to do (and that the attestation variables added since are not listed).
    expect(logs.filter((l) => /channelvars/.test(String(l.msg))).map((l) => l.msg)).toEqual([
      expect.stringMatching(/does not list CALLGUARD_STIR_SHAKEN, CALLGUARD_P_ATTESTATION, CALLGUARD_X_ATTESTATION:/),
      expect.stringMatching(/lists CHANNEL\(pjsip,remote_addr\), PJSIP_HEADER\(read,From\), PJSIP_HEADER\(read,P-Asserted-Identity\): Asterisk logs an ERROR/),
    ]);
  });

  it('still gives the agent the SIP facts under the default settings (an ari.conf not yet updated)', async () => {
    const { facts } = await setup({ channelvars: FORMER_CHANNELVARS });
    const pai = '<sip:+14045559999@carrier.example;user=phone;verstat=TN-Validation-Passed-B>';
    await finished(place({ callerNumber: CALLER.allowed, remoteAddr: '198.51.100.8:5060', sipHeaders: { From: '<sip:bob@carrier.example>;tag=9', 'P-Asserted-Identity': pai } }));
    expect(facts.at(-1)).toMatchObject({ ip: '198.51.100.8', sipFrom: '<sip:bob@carrier.example>;tag=9', attestation: 'B' });
  });

  it('without chan_pjsip loaded: "Function PJSIP_HEADER not registered" on every snapshot', async () => {
    const { sim } = await setup({ channelvars: FORMER_CHANNELVARS, pjsipLoaded: false });
    await finished(place({ endpoint: 'IAX2/provider', callerNumber: CALLER.allowed }));
    const messages = new Set(problems(sim.asteriskLog).map((line) => line.message));
    expect(messages).toEqual(
      new Set([
        'Function PJSIP_HEADER not registered',
        'Error invoking function PJSIP_HEADER(read,From)',
        'Error invoking function PJSIP_HEADER(read,P-Asserted-Identity)',
        "Unknown or unavailable item requested: 'pjsip,remote_addr'",
        'Error invoking function CHANNEL(pjsip,remote_addr)',
      ]),
    );
  });
});
