// Property tests (fast-check, seeded): any caller name or number (unicode, control
// characters, `${…}`, line breaks, `%XX`, thousands of characters) leaves the command
// stream to the PBX exactly as it is for a plain caller, except where the design puts the
// caller's text, and there only as clean data:
//  - FreeSWITCH (outbound and inbound event socket): only inside
//    `set effective_caller_id_name=…` of a flagged call, without line breaks, `$`, braces
//    or backslashes, so FreeSWITCH has nothing to expand;
//  - Asterisk (ARI): only as a variable value (query or JSON body), never in a path.
// CALLGUARD_FUZZ_SEED / CALLGUARD_FUZZ_SCALE replay or lengthen a run.
import fc from 'fast-check';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ACTION_SETTINGS } from '../agent/actions/settings';
import type { CallFacts, Decision } from '../agent/engine/types';
import { createAsteriskDriver } from '../agent/pbx/asterisk/asterisk-driver';
import type { AsteriskDriver } from '../agent/pbx/asterisk/asterisk-driver';
import { displayName } from '../agent/pbx/freeswitch/esl-text';
import { FreeSwitchInboundClient } from '../agent/pbx/freeswitch/inbound-client';
import { FreeSwitchOutboundServer } from '../agent/pbx/freeswitch/outbound-server';
import { DEFAULT_ASTERISK, DEFAULT_FREESWITCH } from '../agent/pbx/settings';
import { Screener } from '../agent/screening/screener';
import { CallLog } from '../agent/store/call-log';
import { openDatabase } from '../agent/store/database';
import { SqliteDecisionStore } from '../agent/store/decision-view';
import { PATIENCE_MS, until } from './helpers/patience';
import { makeTempDir } from './helpers/temp-db';
import type { TempDir } from './helpers/temp-db';
import { startAsteriskSim } from './sim/asterisk';
import type { AsteriskSim, RequestLogEntry } from './sim/asterisk';
import { FreeSwitchSim } from './sim/freeswitch';
import type { CallResult } from './sim/freeswitch';

const SEED = Number(process.env.CALLGUARD_FUZZ_SEED ?? 20_251_121);
const SCALE = Number(process.env.CALLGUARD_FUZZ_SCALE ?? 1);
const runs = (n: number) => ({ seed: SEED, numRuns: Math.max(1, Math.round(n * SCALE)) });

const DID = '15551230000';
const BENIGN = { number: '+14045551234', name: 'Alice' };

/** Text a hostile caller might signal, in pieces and whole. */
const FRAGMENTS = ['${system(id)}', '${caller_id_name}', '$', '{', '}', '\\', '\n', '\r\n', '\r\napi status\r\n\r\n', '\n\nsendmsg\ncall-command: hangup\n\n', '%0A', '%0d%0a', '%', '%E9', '%ZZ', '%24%7B', "'", '"', ';', '|', '&', '../', '?x=y', '#', ' ', '\u0000', '\u007f', '\u2028', 'é', '📞', '\ud800', 'x'.repeat(1000)];
const callerText = fc.oneof(
  fc.array(fc.oneof(fc.constantFrom(...FRAGMENTS), fc.string({ unit: 'binary', maxLength: 20 }), fc.string({ unit: 'grapheme', maxLength: 10 })), { minLength: 1, maxLength: 8 }).map((parts) => parts.join('')),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 60 }),
);

/** The decisions under test: every action, and a flagged allow (the one that sends the caller's name back). */
const DECISIONS: readonly Partial<Decision>[] = [
  { action: 'allow', flagged: true },
  { action: 'allow', flagged: false },
  { action: 'block' },
  { action: 'busy' },
  { action: 'disconnected' },
  { action: 'challenge' },
  { action: 'voicemail', target: null },
  { action: 'forward', target: '+13125550100' },
];
const decisionIndex = fc.integer({ min: 0, max: DECISIONS.length - 1 });

/** A screener whose decision the test picks, so that any caller can meet any action. */
class ScriptedScreener extends Screener {
  next: Partial<Decision> = {};
  override async decide(facts: CallFacts) {
    const made = await super.decide(facts);
    return { ...made, decision: { ...made.decision, ...this.next } };
  }
}

let dir: TempDir;
let callLog: CallLog;
let screener: ScriptedScreener;
const logger = pino({ level: 'silent' });

beforeAll(() => {
  dir = makeTempDir('callguard-fuzz-commands-');
  const db = openDatabase(dir.file('callguard.db'));
  callLog = new CallLog(db, { flushMs: 20 });
  screener = new ScriptedScreener(new SqliteDecisionStore(db), callLog, { country: 'US', failMode: 'open', actions: { ...DEFAULT_ACTION_SETTINGS, challenge: { digit: '1', timeoutMs: 50, tries: 1 } } }, logger);
  return () => {
    callLog.close();
    db.close();
    dir.remove();
  };
});

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
/** Where FreeSWITCH would expand `${…}` or split a command: nothing of the caller's may carry these. */
const UNSAFE_IN_COMMAND = /[\p{Cc}\u2028\u2029$\\{}]/u;

describe('FreeSWITCH: the event-socket command stream', () => {
  let sim: FreeSwitchSim;
  let server: FreeSwitchOutboundServer;
  let client: FreeSwitchInboundClient;

  beforeAll(async () => {
    sim = new FreeSwitchSim({ password: 'ClueCon' });
    const port = await sim.start();
    const deps = { screener, logger, settings: DEFAULT_FREESWITCH };
    server = new FreeSwitchOutboundServer({ host: '127.0.0.1', port: 0 }, deps);
    await server.start();
    client = new FreeSwitchInboundClient({ host: '127.0.0.1', port, password: 'ClueCon' }, deps);
    await client.start();
  });

  afterAll(async () => {
    await client.stop(100);
    await server.stop(100);
    await sim.close();
  });

  /** The commands for one call, each with generated ids and the flagged name's value blanked out. */
  function skeleton(result: CallResult): string[] {
    return result.commands.map((command) =>
      command.raw
        .replace(UUID, '{uuid}')
        .replace(/^(execute-app-arg: effective_caller_id_name=)[^\n]*$/m, '$1…')
        .replace(/^(api uuid_setvar \{uuid\} effective_caller_id_name )[^\n]*$/m, '$1…'),
    );
  }

  /**
   * The name as sent for the caller, if the call was flagged: a `set` application's
   * argument (outbound), or uuid_setvar's value (inbound), where each single quote is
   * escaped for FreeSWITCH's argument splitter and nothing else.
   */
  function nameSet(result: CallResult): string | undefined {
    const set = result.apps.find((app) => app.app === 'set' && app.arg.startsWith('effective_caller_id_name='));
    if (set) return set.arg.slice('effective_caller_id_name='.length);
    const api = result.commands.find((command) => command.command === 'uuid_setvar' && command.args?.split(' ')[1] === 'effective_caller_id_name');
    return api?.args?.split(' ').slice(2).join(' ').replace(/\\'/g, "'");
  }

  async function outbound(decision: Partial<Decision>, number: string, name: string): Promise<CallResult> {
    screener.next = decision;
    const result = await sim.placeOutboundCall('127.0.0.1', server.port, { callerIdNumber: number, callerIdName: name, destinationNumber: DID, digits: '' }).done;
    await waitFor(() => server.inProgress === 0);
    return result;
  }

  async function inbound(decision: Partial<Decision>, number: string, name: string): Promise<CallResult> {
    screener.next = decision;
    const call = sim.parkCall({ callerIdNumber: number, callerIdName: name, destinationNumber: DID, context: 'public', dialplanSet: { callguard_screen: 'true' } });
    const result = await call.done;
    await waitFor(() => client.inProgress === 0);
    // The shared connection's commands (heartbeat, subscriptions) are not this call's.
    return { ...result, commands: result.commands.filter((command) => command.uuid === call.uuid || (command.kind === 'api' && command.args?.startsWith(call.uuid))) };
  }

  for (const [mode, place] of [
    ['outbound', outbound],
    ['inbound', inbound],
  ] as const) {
    it(`${mode} mode: any caller, any action, the same commands as for a plain caller but for a cleaned name`, async () => {
      const expected = new Map<number, string[]>();
      for (const [index, decision] of DECISIONS.entries()) expected.set(index, skeleton(await place(decision, BENIGN.number, BENIGN.name)));
      expect(nameSet(await place(DECISIONS[0]!, BENIGN.number, BENIGN.name))).toBe(`SPAM? ${BENIGN.name}`);
      await fc.assert(
        fc.asyncProperty(decisionIndex, callerText, callerText, async (index, number, name) => {
          const result = await place(DECISIONS[index]!, number, name);
          expect(skeleton(result)).toEqual(expected.get(index));
          for (const app of result.apps) {
            // FreeSWITCH expanded nothing but what the operator's voicemail template asks for.
            if (app.app !== 'voicemail') expect(app.expandedArg, `${app.app} ${app.arg}`).toBe(app.arg);
          }
          const set = nameSet(result);
          if (DECISIONS[index]!.flagged) {
            expect(set).toBeDefined();
            expect(set!.startsWith('SPAM? ')).toBe(true);
            expect(set).not.toMatch(UNSAFE_IN_COMMAND);
            expect(set!.length).toBeLessThanOrEqual(80);
            expect(result.variables.effective_caller_id_name).toBe(set); // FreeSWITCH holds the text as sent, nothing expanded
          } else {
            expect(set).toBeUndefined();
          }
        }),
        runs(mode === 'outbound' ? 200 : 100),
      );
    }, 2 * PATIENCE_MS * SCALE); // a hang detector: slow is not failed
  }
});

describe('Asterisk: the ARI requests', () => {
  let sim: AsteriskSim;
  let driver: AsteriskDriver;

  beforeAll(async () => {
    sim = await startAsteriskSim({ mediaDurationMs: 2 });
    sim.onOriginate(() => ({ answer: false, cause: 17, afterMs: 2 }));
    // No request may time out here (that would be a fail-open, not the commands under test): the deadline is a hang detector.
    driver = createAsteriskDriver({ url: sim.url, user: sim.username, password: sim.password, app: 'callguard', settings: DEFAULT_ASTERISK, requestTimeoutMs: PATIENCE_MS }, { screener, logger });
    await driver.start();
  });

  afterAll(async () => {
    await driver.stop(100);
    await sim.close();
  });

  async function place(decision: Partial<Decision>, number: string, name: string): Promise<{ requests: RequestLogEntry[]; id: string }> {
    screener.next = decision;
    const mark = sim.requests.length;
    // Every action ends the call by itself; the caller's hang-up only ends one the agent would leave hanging,
    // never one that is merely slow (which would change its requests).
    const call = sim.placeCall({ callerNumber: number, callerName: name, exten: `+${DID}`, context: 'callguard-inbound', priority: 2, callerHangup: { afterMs: PATIENCE_MS } });
    await call.done;
    await waitFor(() => driver.inProgress === 0);
    return { requests: sim.requests.slice(mark), id: call.channelId };
  }

  /** Method, route, path parameters and query names of each request; query values too, but for the caller's own. */
  function skeleton(requests: RequestLogEntry[], id: string): string[] {
    return requests.map((request) => {
      const query = Object.entries(request.query)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([key, value]) => `${key}=${key === 'value' ? '…' : [value].flat().join(',')}`)
        .join('&');
      return `${request.method} ${request.route ?? `UNROUTED ${request.path}`}?${query}`.split(id).join('{id}').replace(/callguard-leg-[0-9a-f-]{36}/g, '{leg}').replace(UUID, '{uuid}');
    });
  }

  it('any caller, any action: the same paths and parameter names as for a plain caller; the caller only ever as a value', async () => {
    const expected = new Map<number, string[]>();
    for (const [index, decision] of DECISIONS.entries()) {
      const { requests, id } = await place(decision, BENIGN.number, BENIGN.name);
      expected.set(index, skeleton(requests, id));
    }
    await fc.assert(
      fc.asyncProperty(decisionIndex, callerText, callerText, async (index, number, name) => {
        const { requests, id } = await place(DECISIONS[index]!, number, name);
        expect(skeleton(requests, id)).toEqual(expected.get(index));
        for (const request of requests) {
          expect(request.route, request.path).toBeDefined();
          for (const param of Object.values(request.pathParams ?? {})) expect(param === id || /^(callguard-leg-)?[0-9a-f-]{36}$/.test(param), param).toBe(true);
        }
        const cut = (text: string) => (text.length <= 256 ? text : text.slice(0, /[\ud800-\udbff]/.test(text[255]!) ? 255 : 256));
        const nameRequest = requests.find((request) => request.query.variable === 'CALLERID(name)');
        if (nameRequest) expect(nameRequest.query.value).toBe(cut(`SPAM? ${name}`));
        const originate = requests.find((request) => request.nickname === 'originate');
        if (originate) expect(originate.body).toEqual({ variables: { 'CALLERID(num)': cut(number), 'CALLERID(name)': cut(name) } });
      }),
      runs(120),
    );
  }, 2 * PATIENCE_MS * SCALE); // a hang detector: slow is not failed
});

/** Until `check` holds (polled every millisecond); a hang detector, not a time budget. */
function waitFor(check: () => boolean): Promise<void> {
  return until(check, 'the call to be over', PATIENCE_MS, 1);
}

describe('what these properties found (kept as plain examples)', () => {
  it('a flagged caller name loses every control character (C1 too) and line separator, and is cut whole', () => {
    expect(displayName('A\u0085B\u2028C\u2029D\u009b\u0000E${x}\\{y}')).toBe('ABCDExy');
    const long = `${'x'.repeat(79)}📞tail`;
    expect(displayName(long)).toBe('x'.repeat(79));
    expect(displayName(`${'x'.repeat(78)}📞tail`)).toBe(`${'x'.repeat(78)}📞`);
  });
});
