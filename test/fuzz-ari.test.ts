// Property tests (fast-check, seeded): whatever arrives on the ARI event WebSocket (text that
// is not JSON, JSON that is not an event, events of unknown types or with fields of any
// shape), and whatever event objects reach the driver's handlers, nothing throws out of a
// handler, no promise is left rejected, every route and timer goes with its call, and the
// agent goes on screening. CALLGUARD_FUZZ_SEED / CALLGUARD_FUZZ_SCALE replay or lengthen a run.
import type { Database } from 'better-sqlite3';
import fc from 'fast-check';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { DEFAULT_ACTION_SETTINGS } from '../agent/actions/settings';
import { parsePattern } from '../agent/engine/patterns';
import type { AriClient, AriEvent } from '../agent/pbx/asterisk/ari-api';
import { createAsteriskDriver } from '../agent/pbx/asterisk/asterisk-driver';
import type { AsteriskDriver } from '../agent/pbx/asterisk/asterisk-driver';
import { DEFAULT_ASTERISK } from '../agent/pbx/settings';
import { Screener } from '../agent/screening/screener';
import { CallLog } from '../agent/store/call-log';
import { openDatabase } from '../agent/store/database';
import { SqliteDecisionStore } from '../agent/store/decision-view';
import { RuleStore } from '../agent/store/rules';
import { PATIENCE_MS } from './helpers/patience';
import { makeTempDir } from './helpers/temp-db';
import type { TempDir } from './helpers/temp-db';
import { SIM_EVENT_TYPES, sampleChannel, samplePlayback, startAsteriskSim } from './sim/asterisk';
import type { AsteriskSim } from './sim/asterisk';

const SEED = Number(process.env.CALLGUARD_FUZZ_SEED ?? 20_251_121);
const SCALE = Number(process.env.CALLGUARD_FUZZ_SCALE ?? 1);
const runs = (n: number) => ({ seed: SEED, numRuns: Math.max(1, Math.round(n * SCALE)) });

/** The events the driver listens for, and the rest of what Asterisk may send. */
const HANDLED = ['StasisStart', 'StasisEnd', 'ChannelHangupRequest', 'ChannelDestroyed', 'ChannelDtmfReceived', 'PlaybackFinished'];
const eventType = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...HANDLED) }, { weight: 2, arbitrary: fc.constantFrom(...SIM_EVENT_TYPES) }, { weight: 1, arbitrary: fc.string({ maxLength: 20 }) });
const oddValue = fc.oneof(fc.constant(null), fc.boolean(), fc.integer(), fc.double(), fc.string({ unit: 'binary', maxLength: 30 }), fc.array(fc.integer(), { maxLength: 3 }), fc.object({ maxDepth: 1 }));
/** A channel as Asterisk sends it, with any of its fields replaced by anything (or missing). */
const channel = fc
  .tuple(
    fc.oneof(fc.uuid(), fc.constantFrom('callguard-leg-x', '1700000000.1', '../../applications', ''), oddValue),
    fc.record({ id: oddValue, caller: oddValue, dialplan: oddValue, channelvars: oddValue, name: oddValue }, { requiredKeys: [] }),
    fc.record({ name: fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), oddValue), number: fc.oneof(fc.string({ maxLength: 20 }), oddValue) }, { requiredKeys: [] }),
  )
  .map(([id, replaced, caller]) => ({ ...sampleChannel({ id: id as string }), caller: { ...sampleChannel().caller, ...caller }, ...replaced }));
const event = fc
  .tuple(eventType, fc.option(channel, { nil: undefined }), fc.option(fc.oneof(fc.constant(samplePlayback({})), oddValue), { nil: undefined }), fc.option(oddValue, { nil: undefined }), fc.dictionary(fc.string({ maxLength: 8 }), oddValue, { maxKeys: 3 }))
  .map(([type, ch, playback, digit, extra]) => ({ ...extra, type, timestamp: new Date().toISOString(), application: 'callguard', ...(ch === undefined ? {} : { channel: ch }), ...(playback === undefined ? {} : { playback }), ...(digit === undefined ? {} : { digit }) }));
/** One WebSocket message: an event, any JSON, or any text at all. */
const message = fc.oneof(
  { weight: 4, arbitrary: event.map((value) => JSON.stringify(value)) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }).map((value) => JSON.stringify(value)) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 80 }) },
  { weight: 1, arbitrary: fc.constantFrom('', 'null', '[]', '{}', '{"type":null}', '{"type":"StasisStart"}', '{"type":"StasisStart","channel":5}', '{"type":"StasisStart","channel":{"id":7}}', '{"type":"PlaybackFinished","playback":{}}', '{"type":"Nope"}', '{"type":"__proto__"}', '{"type":"toString"}') },
);

const escaped: unknown[] = [];
const onRejection = (reason: unknown) => escaped.push(reason);
const onException = (error: unknown) => escaped.push(error);

let dir: TempDir;
let db: Database;
let callLog: CallLog;
let sim: AsteriskSim;
let driver: AsteriskDriver;
let baseline: ReturnType<AsteriskDriver['debugCounts']>;
const logs: Record<string, unknown>[] = [];

beforeAll(async () => {
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtExceptionMonitor', onException);
  dir = makeTempDir('callguard-fuzz-ari-');
  db = openDatabase(dir.file('callguard.db'));
  new RuleStore(db).add([{ ...parsePattern('+14045550001', 'US'), scope: 'global', action: 'block', target: null, sms: false, note: null, list: null, expiresAt: null }]);
  callLog = new CallLog(db, { flushMs: 5 });
  const logger = pino({ level: 'warn' }, { write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>) });
  const screener = new Screener(new SqliteDecisionStore(db), callLog, { country: 'US', failMode: 'open', actions: { ...DEFAULT_ACTION_SETTINGS, challenge: { digit: '1', timeoutMs: 50, tries: 1 } } }, logger);
  sim = await startAsteriskSim({ mediaDurationMs: 5 });
  // No request may time out (that would be a fail-open, not what is checked here): the deadline is a hang detector.
  driver = createAsteriskDriver({ url: sim.url, user: sim.username, password: sim.password, app: 'callguard', settings: DEFAULT_ASTERISK, requestTimeoutMs: PATIENCE_MS }, { screener, logger });
  await driver.start();
  baseline = driver.debugCounts();
});

afterAll(async () => {
  process.off('unhandledRejection', onRejection);
  process.off('uncaughtExceptionMonitor', onException);
  await driver.stop(200);
  await sim.close();
  callLog.close();
  db.close();
  dir.remove();
});

const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

/** The WebSocket the simulator serves the application on (its own side). */
function simSocket(): WebSocket {
  const hub = (sim as unknown as { hub: { owners: Map<string, { ws: WebSocket }> } }).hub;
  return hub.owners.get('callguard')!.ws;
}

async function quiet(): Promise<void> {
  await sim.waitUntil(() => driver.inProgress === 0 && driver.debugCounts().timers === 0, PATIENCE_MS, 'the driver to let go of every call');
  expect(driver.debugCounts()).toEqual(baseline);
}

async function stillScreens(): Promise<void> {
  const call = sim.placeCall({ callerNumber: '+14045550001', exten: '+18005550100' });
  expect(await call.done).toMatchObject({ hangupCause: 21 });
  await sim.waitUntil(() => driver.inProgress === 0, PATIENCE_MS, 'the call to be logged');
}

describe('the ARI event WebSocket, fed anything', () => {
  it('no message, however malformed, escapes as an exception; the agent keeps screening', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(message, { minLength: 1, maxLength: 5 }), async (messages) => {
        const ws = simSocket();
        for (const text of messages) ws.send(text);
        await tick();
      }),
      runs(300),
    );
    await quiet();
    expect(escaped).toEqual([]);
    // What ari-client could not read was reported and dropped, not thrown.
    expect(logs.filter((line) => /ignored an ARI event/.test(String(line.msg))).length).toBeGreaterThan(10);
    expect(driver.connected).toBe(true);
    await stillScreens();
  });
});

describe("the driver's event handlers, called with any event object", () => {
  it('never throw, and leave no route, timer or call behind', async () => {
    const client = (driver as unknown as { current: AriClient & { emit(type: string, event: unknown): boolean } }).current;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.constantFrom(...HANDLED), fc.oneof({ weight: 4, arbitrary: event as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: fc.anything() })), { minLength: 1, maxLength: 5 }), async (emits) => {
        for (const [type, payload] of emits) expect(() => client.emit(type, payload as AriEvent)).not.toThrow();
        await tick();
      }),
      runs(500),
    );
    await quiet();
    expect(escaped).toEqual([]);
    await stillScreens();
  });

  it('every well-formed StasisStart among them was screened and logged exactly once', async () => {
    callLog.flush();
    const rows = db.prepare('SELECT channel, outcome FROM calls').all() as { channel: string; outcome: string | null }[];
    expect(rows.length).toBeGreaterThan(20);
    expect(rows.filter((row) => row.outcome === null)).toEqual([]);
    const real = rows.filter((row) => sim.calls.some((call) => call.channelId === row.channel));
    expect(new Set(real.map((row) => row.channel)).size).toBe(real.length);
  });
});
