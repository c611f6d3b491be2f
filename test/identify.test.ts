// The identify action on both switches, driven by the real modesl and ari-client against the
// simulators: a caller with no usable caller ID keys in a number, the call is screened again
// as that number (rules, categories, protection), and the log keeps both screenings.
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ActionSettings } from '../agent/actions/settings';
import { configErrors } from '../agent/config/check';
import { decide } from '../agent/engine/decide';
import { parsePattern } from '../agent/engine/patterns';
import type { Decision } from '../agent/engine/types';
import { cliActing } from '../agent/operations/acting';
import { setCategory } from '../agent/operations/categories';
import { addRules } from '../agent/operations/rules';
import { sqliteBackends } from '../agent/operations/store-backends';
import { createAsteriskDriver, type AsteriskDriver } from '../agent/pbx/asterisk/asterisk-driver';
import { FreeSwitchInboundClient } from '../agent/pbx/freeswitch/inbound-client';
import { FreeSwitchOutboundServer } from '../agent/pbx/freeswitch/outbound-server';
import { DEFAULT_ASTERISK, DEFAULT_FREESWITCH } from '../agent/pbx/settings';
import { CallLogQueries } from '../agent/store/call-log-queries';
import { CategoryStore } from '../agent/store/categories';
import { SqliteDecisionStore } from '../agent/store/decision-view';
import { TenantStore } from '../agent/store/tenants';
import { PATIENCE_MS, eventually, screeningWorld } from './helpers/screening';
import type { ScreeningWorld } from './helpers/screening';
import { FreeSwitchSim } from './sim/freeswitch';
import type { CallResult } from './sim/freeswitch';
import { startAsteriskSim } from './sim/asterisk';

const DID = '+14045550100';
const BLOCKED = '4045550666';
const FRIEND = '4045550111';
const IDENTIFY: Partial<ActionSettings> = { identify: { maxDigits: 11, timeoutMs: 1000, digitTimeoutMs: 1000, tries: 2 } };

let world: ScreeningWorld;

beforeEach(() => {
  world = screeningWorld(IDENTIFY);
  world.rule(BLOCKED, 'block');
  new CategoryStore(world.db).set('global', 'anonymous', 'identify');
});

afterEach(() => world.close());

interface LoggedRow {
  id: number;
  action: string;
  outcome: string | null;
  outcome_detail: string | null;
  caller: string | null;
  caller_raw: string | null;
  facts: string | null;
  reasons: string;
}

function rows(): LoggedRow[] {
  world.log.flush();
  return world.db.prepare('SELECT id, action, outcome, outcome_detail, caller, caller_raw, facts, reasons FROM calls ORDER BY id').all() as LoggedRow[];
}

/** The second screening's row, keyed in, beside the first's: both numbers kept. */
function expectIdentified(keyed: string, action: string, outcome: string, raw = keyed): void {
  const [first, second] = rows();
  expect(first).toMatchObject({ action: 'identify', outcome: 'identified', caller: null, caller_raw: 'anonymous' });
  expect(first!.outcome_detail).toMatch(new RegExp(`^keyed in \\+1${keyed}: ${action}, ${outcome} \\(call [0-9a-z-]+\\)$`));
  expect(second).toMatchObject({ action, outcome, caller: `+1${keyed}`, caller_raw: raw });
  expect(JSON.parse(second!.facts!)).toMatchObject({ identifiedFrom: 'anonymous', attestation: 'none', privacy: false });
  expect(JSON.parse(second!.reasons)[0]).toContain('keyed in when asked to identify; the caller ID signalled was "anonymous"');
}

describe('FreeSWITCH (outbound socket, real modesl)', () => {
  let sim: FreeSwitchSim;
  let server: FreeSwitchOutboundServer;

  beforeEach(async () => {
    sim = new FreeSwitchSim({ password: 'ClueCon' });
    await sim.start();
    server = new FreeSwitchOutboundServer({ host: '127.0.0.1', port: 0 }, { screener: world.screener, logger: world.logger, settings: { ...DEFAULT_FREESWITCH, promptDir: '/p' } });
    await server.start();
  });
  afterEach(async () => {
    await server.stop(200);
    await sim.close();
  });

  const place = (digits: string) => sim.placeOutboundCall('127.0.0.1', server.port, { callerIdNumber: 'anonymous', destinationNumber: DID, digits }).done;
  const apps = (result: CallResult) => result.apps.map((app) => `${app.app} ${app.arg}`.trim());
  const ASK = 'play_and_get_digits 1 11 1 1000 # /p/callguard-identify.wav silence_stream://250';

  it('keyed digits are screened again: a blocked number is rejected, and both screenings are logged', async () => {
    const result = await place(`${BLOCKED}#`);
    expect(apps(result)).toEqual(['answer', `${ASK} callguard_digit_1 ^[0-9]+$ 1000`, 'pre_answer', 'playback /p/callguard-not-accepted.wav', 'hangup CALL_REJECTED']);
    expect(result).toMatchObject({ outcome: 'hungup', hangupCauseCode: 21 });
    expectIdentified(BLOCKED, 'block', 'rejected');
  });

  it('a number nothing stops goes on to its normal route, as that number', async () => {
    const result = await place(`1${FRIEND}`);
    expect(result.outcome).toBe('continued');
    expectIdentified(FRIEND, 'allow', 'continued', `1${FRIEND}`);
  });

  it('keys that are not a phone number get another try; silence then ends the call with goodbye', async () => {
    const result = await place('12#');
    expect(apps(result)).toEqual([
      'answer',
      `${ASK} callguard_digit_1 ^[0-9]+$ 1000`,
      `${ASK} callguard_digit_2 ^[0-9]+$ 1000`,
      'playback /p/callguard-goodbye.wav',
      'hangup NORMAL_CLEARING',
    ]);
    expect(rows()).toMatchObject([{ action: 'identify', outcome: 'failed', outcome_detail: 'no number keyed in 2 tries' }]);
  });

  it('a key other than a digit spoils the entry (FreeSWITCH checks the digits-only pattern)', async () => {
    await place(`404*550111#`);
    expect(rows()).toMatchObject([{ action: 'identify', outcome: 'failed' }]);
  });
});

describe('FreeSWITCH inbound mode (a parked call, real modesl)', () => {
  it('the keyed number that nothing stops is transferred back to its destination, marked as screened', async () => {
    const sim = new FreeSwitchSim({ password: 'ClueCon' });
    const port = await sim.start();
    const client = new FreeSwitchInboundClient({ host: '127.0.0.1', port, password: 'ClueCon' }, { screener: world.screener, logger: world.logger, settings: { ...DEFAULT_FREESWITCH, promptDir: '/p' } });
    await client.start();
    try {
      const parked = sim.parkCall({ callerIdNumber: 'anonymous', destinationNumber: DID, context: 'public', dialplanSet: { callguard_screen: 'true' }, digits: `${FRIEND}#` });
      const result = await parked.done;
      expect(result.apps.map((app) => app.app)).toEqual(['answer', 'play_and_get_digits']);
      expect(result).toMatchObject({ outcome: 'transferred', transfer: { destination: DID, context: 'public' } });
      expect(result.variables.callguard_screened).toBe('true');
      await eventually(() => rows()[0]?.outcome === 'identified', PATIENCE_MS, 'both screenings logged');
      expectIdentified(FRIEND, 'allow', 'continued');
    } finally {
      await client.stop(200);
      await sim.close();
    }
  });
});

describe('Asterisk (ARI, real ari-client)', () => {
  let sim: Awaited<ReturnType<typeof startAsteriskSim>>;
  let driver: AsteriskDriver;

  beforeEach(async () => {
    // The first identify prompt plays until a key stops it; every other prompt is short.
    let identifyPrompts = 0;
    sim = await startAsteriskSim({ mediaDurationMs: (uri) => (uri.endsWith('callguard-identify') && identifyPrompts++ === 0 ? 10 * PATIENCE_MS : 20) });
    driver = createAsteriskDriver(
      { url: sim.url, user: sim.username, password: sim.password, app: 'callguard', settings: DEFAULT_ASTERISK, requestTimeoutMs: PATIENCE_MS },
      { screener: world.screener, logger: pino({ level: 'silent' }) },
    );
    await driver.start();
  });
  afterEach(async () => {
    await driver.stop(500);
    expect(sim.internalErrors).toEqual([]);
    await sim.close();
  });

  const promptOf = (channelId: string, sound: string) => (e: { event: unknown }) => {
    const playback = (e.event as { playback?: { target_uri: string; media_uri: string } }).playback;
    return playback?.target_uri === `channel:${channelId}` && playback.media_uri === `sound:callguard/callguard-${sound}`;
  };
  const finish = async (done: Promise<unknown>) => {
    const result = await done;
    await sim.waitUntil(() => driver.inProgress === 0, PATIENCE_MS, 'the driver to finish the call');
    return result;
  };

  it('a key during the prompt stops it; # ends the number; a blocked number is rejected', async () => {
    const call = sim.placeCall({ callerNumber: 'anonymous', exten: DID, context: 'callguard-inbound', priority: 2 });
    await sim.waitForEvent('PlaybackStarted', promptOf(call.channelId, 'identify'));
    await call.sendDtmf(`${BLOCKED}#`);
    const result = await finish(call.done);
    expect(result).toMatchObject({ outcome: 'hungup', hangupReason: 'rejected', answered: true });
    expect((result as { playbacks: { media: string[]; stopped?: boolean }[] }).playbacks[0]).toMatchObject({ media: ['sound:callguard/callguard-identify'], stopped: true });
    expectIdentified(BLOCKED, 'block', 'rejected');
    expect(driver.debugCounts().timers).toBe(0);
  });

  it('the number ends at the last allowed key, or after a pause, without #', async () => {
    const call = sim.placeCall({ callerNumber: 'anonymous', exten: DID, context: 'callguard-inbound', priority: 2 });
    await sim.waitForEvent('PlaybackStarted', promptOf(call.channelId, 'identify'));
    await call.sendDtmf(FRIEND);
    const result = await finish(call.done);
    expect(result).toMatchObject({ outcome: 'continued', answered: true });
    expectIdentified(FRIEND, 'allow', 'continued');
  });

  it('a key other than a digit spoils the entry; the caller is asked again, and silence ends it', async () => {
    const call = sim.placeCall({ callerNumber: 'anonymous', exten: DID, context: 'callguard-inbound', priority: 2 });
    await sim.waitForEvent('PlaybackStarted', promptOf(call.channelId, 'identify'));
    await call.sendDtmf('404*#');
    await sim.waitForEvent('PlaybackStarted', promptOf(call.channelId, 'goodbye'));
    const result = await finish(call.done);
    expect(result).toMatchObject({ outcome: 'hungup', hangupReason: 'normal' });
    expect(rows()).toMatchObject([{ action: 'identify', outcome: 'failed', outcome_detail: 'no number keyed in 2 tries' }]);
  });
});

describe('the engine and the rest', () => {
  const now = Date.UTC(2026, 11, 6, 12);
  const decideOn = (from: string, extra: { identifiedFrom?: string } = {}): Decision =>
    decide({ kind: 'call', from, to: DID, ...extra }, new SqliteDecisionStore(world.db), { country: 'US', now });

  it('allow-only with identify: a keyed number on the allow list rings; any other is blocked, not asked again', async () => {
    const tenants = new TenantStore(world.db);
    tenants.add('acme');
    tenants.addDid(DID as never, 'acme');
    tenants.setAllowOnly('acme', 'identify');
    new CategoryStore(world.db).set('global', 'anonymous', 'allow');
    world.rule(FRIEND, 'allow');
    expect(decideOn('anonymous')).toMatchObject({ action: 'identify', scope: 'tenant:acme' });
    expect(decideOn(FRIEND, { identifiedFrom: 'anonymous' })).toMatchObject({ action: 'allow' });
    const stranger = decideOn('4045550222', { identifiedFrom: 'anonymous' });
    expect(stranger.action).toBe('block');
    expect(stranger.reasons.at(-1)).toBe('The caller already keyed in this number when asked to identify; asking again would only go round: the call is blocked.');
    expect(decideOn('4045550222').action).toBe('identify');
  });

  it('the keyed number meets rules, categories and protection like any caller', () => {
    new CategoryStore(world.db).set('global', 'toll_free', 'voicemail');
    expect(decideOn('8005550199', { identifiedFrom: 'anonymous' })).toMatchObject({ action: 'voicemail', category: 'toll_free' });
    expect(decideOn(BLOCKED, { identifiedFrom: 'anonymous' })).toMatchObject({ action: 'block' });
  });

  it('is more severe than challenge and less than voicemail when categories disagree', () => {
    new CategoryStore(world.db).set('global', 'invalid', 'challenge');
    world.db.prepare("UPDATE category_policies SET action = 'identify' WHERE category = 'anonymous'").run();
    expect(decideOn('anonymous').action).toBe('identify');
  });

  it('an identified call counts once in the counters: the second screening is the call', async () => {
    const before = new CallLogQueries(world.db).counters({ since: 0 });
    const sim = new FreeSwitchSim({ password: 'ClueCon' });
    await sim.start();
    const server = new FreeSwitchOutboundServer({ host: '127.0.0.1', port: 0 }, { screener: world.screener, logger: world.logger, settings: DEFAULT_FREESWITCH });
    await server.start();
    await sim.placeOutboundCall('127.0.0.1', server.port, { callerIdNumber: 'anonymous', destinationNumber: DID, digits: `${BLOCKED}#` }).done;
    await sim.placeOutboundCall('127.0.0.1', server.port, { callerIdNumber: 'anonymous', destinationNumber: DID, digits: '' }).done;
    await server.stop(200);
    await sim.close();
    expect(rows().map((row) => `${row.action}/${row.outcome}`)).toEqual(['identify/identified', 'block/rejected', 'identify/failed']);
    const after = new CallLogQueries(world.db).counters({ since: 0 });
    expect(after.total - before.total).toBe(2);
    expect(after.blocked - before.blocked).toBe(2);
  });

  it('refuses identify where a caller has a number, and an identify wait of 0', async () => {
    const backends = sqliteBackends(world.db).as('cli:tester');
    const acting = cliActing('cli:tester');
    await expect(setCategory(backends, acting, { category: 'toll_free', action: 'identify' })).rejects.toMatchObject({
      field: 'action',
      message: 'identify is for callers with no usable number (anonymous, invalid), not toll_free: a caller with a number could key in another one',
    });
    await expect(setCategory(backends, acting, { category: 'anonymous', action: 'identify' })).resolves.toMatchObject({ inForce: { action: 'identify' } });
    await expect(addRules(backends.rules, acting, { patterns: '404-555-0123', action: 'identify' }, 'US')).rejects.toThrow(/^identify is not a rule action/);
    expect(configErrors({ identify: { timeoutMs: 0 } })).toEqual(['identify.timeoutMs: expected a whole number from 1000 to 60000, got 0']);
    expect(configErrors({ identify: { tries: 0, maxDigits: 40 } })).toHaveLength(2);
    expect(parsePattern(FRIEND, 'US').kind).toBe('number');
  });
});
