// Property tests (fast-check, seeded): whatever bytes arrive on an event socket, from a
// FreeSWITCH or from anything posing as one, the agent neither throws nor leaves an
// unhandled rejection, lets go of the connection, and goes on serving calls.
// CALLGUARD_FUZZ_SEED / CALLGUARD_FUZZ_SCALE replay or lengthen a run.
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { connect, createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePattern } from '../agent/engine/patterns';
import { FreeSwitchInboundClient } from '../agent/pbx/freeswitch/inbound-client';
import { guardModesl } from '../agent/pbx/freeswitch/modesl-guard';
import { FreeSwitchOutboundServer } from '../agent/pbx/freeswitch/outbound-server';
import { DEFAULT_FREESWITCH } from '../agent/pbx/settings';
import { RuleStore } from '../agent/store/rules';
import { eventually, PATIENCE_MS, screeningWorld } from './helpers/screening';
import type { ScreeningWorld } from './helpers/screening';
import { FreeSwitchSim, fsUrlEncode } from './sim/freeswitch';

const SEED = Number(process.env.CALLGUARD_FUZZ_SEED ?? 20_251_121);
const SCALE = Number(process.env.CALLGUARD_FUZZ_SCALE ?? 1);
const runs = (n: number) => ({ seed: SEED, numRuns: Math.max(1, Math.round(n * SCALE)) });

// ---- what a (pretend) FreeSWITCH may send ------------------------------------------

const HEADER_NAMES = [
  'Content-Type', 'Content-Length', 'Event-Name', 'Unique-ID', 'Core-UUID', 'Job-UUID', 'Reply-Text', 'Caller-Caller-ID-Name',
  'Caller-Caller-ID-Number', 'Caller-Destination-Number', 'Caller-Context', 'Application', 'Application-UUID', 'Application-Response',
  'variable_callguard_screen', 'variable_callguard_screened', 'variable_current_application_data', 'variable_sip_from_uri', 'variable_sip_Privacy',
  'Caller-Privacy-Hide-Number', 'Event-Subclass', 'Controlled-Session-UUID', 'Content-Disposition',
];
const CONTENT_TYPES = ['text/event-plain', 'text/event-json', 'text/event-xml', 'command/reply', 'api/response', 'auth/request', 'text/disconnect-notice', 'log/data', 'bogus'];
const EVENT_NAMES = ['CHANNEL_DATA', 'CHANNEL_PARK', 'CHANNEL_HANGUP', 'CHANNEL_BRIDGE', 'CHANNEL_EXECUTE_COMPLETE', 'HEARTBEAT', 'CUSTOM', '', '*', 'a::b'];

const text = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.stringMatching(/^(?:%[0-9A-Fa-fZz]{0,2}|[A-Za-z0-9 ${}:*\\-]){0,20}$/), // percent runs FreeSWITCH passes through, broken ones too
  fc.constantFrom(...CONTENT_TYPES, ...EVENT_NAMES, 'true', '+OK', '-ERR nope', '0', '-1', '99999999999', 'NaN', '12abc'),
);
const header = fc.tuple(fc.oneof(fc.constantFrom(...HEADER_NAMES), fc.string({ maxLength: 12 })), text, fc.boolean()).map(([name, value, encode]) => `${name}: ${encode ? fsUrlEncode(value) : value}`);
const headerBlock = fc.array(header, { maxLength: 8 }).map((lines) => lines.join('\n'));
const body = fc.oneof(
  headerBlock.map((block) => `${block}\n\n`),
  fc.jsonValue({ maxDepth: 2 }).map((value) => JSON.stringify(value)),
  fc.string({ maxLength: 60 }).map((inner) => `<event><headers>${inner}</headers></event>`),
  fc.string({ unit: 'binary', maxLength: 60 }),
);
/** One frame: outer headers, a Content-Length that is right, wrong or not a number, and a body. */
const frame = fc
  .tuple(headerBlock, fc.constantFrom(...CONTENT_TYPES), fc.option(body, { nil: undefined }), fc.constantFrom('right', 'wrong', 'text', 'none'), fc.integer({ min: -5, max: 200 }))
  .map(([outer, type, content, length, wrong]) => {
    const bytes = content === undefined ? 0 : Buffer.byteLength(content);
    const lengthLine = content === undefined || length === 'none' ? '' : `Content-Length: ${length === 'right' ? bytes : length === 'wrong' ? wrong : 'zz'}\n`;
    return Buffer.from(`Content-Type: ${type}\n${lengthLine}${outer ? `${outer}\n` : ''}\n${content ?? ''}`);
  });
const noise = fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes));
/** A stream of frames and noise, cut at arbitrary points into the chunks the socket delivers. */
const stream = fc
  .tuple(fc.array(fc.oneof({ weight: 4, arbitrary: frame }, { weight: 1, arbitrary: noise }), { minLength: 1, maxLength: 6 }), fc.array(fc.integer({ min: 1, max: 64 }), { maxLength: 6 }))
  .map(([parts, cuts]) => {
    const whole = Buffer.concat(parts);
    const chunks: Buffer[] = [];
    let at = 0;
    for (const cut of cuts) {
      if (at >= whole.length) break;
      chunks.push(whole.subarray(at, at + cut));
      at += cut;
    }
    if (at < whole.length) chunks.push(whole.subarray(at));
    return chunks;
  });

/** The channel data of an outbound `connect` reply, with fuzzed caller data (sometimes encoded as FreeSWITCH does). */
const channelData = fc
  .tuple(text, text, text, fc.array(header, { maxLength: 4 }), fc.boolean())
  .map(([number, name, destination, extra, encode]) => (uuid: string) => {
    const value = (raw: string) => (encode ? fsUrlEncode(raw) : raw.replace(/[\r\n]/g, ' '));
    return Buffer.from(
      [
        'Content-Type: command/reply',
        'Reply-Text: +OK',
        'Event-Name: CHANNEL_DATA',
        `Unique-ID: ${uuid}`,
        `Channel-Call-UUID: ${uuid}`,
        `Caller-Caller-ID-Number: ${value(number)}`,
        `Caller-Caller-ID-Name: ${value(name)}`,
        `Caller-Destination-Number: ${value(destination)}`,
        ...extra.map((line) => line.replace(/\n/g, ' ')),
        '',
        '',
      ].join('\n'),
    );
  });

// ---- what must never happen --------------------------------------------------------

const escaped: unknown[] = [];
const onRejection = (reason: unknown) => escaped.push(reason);
const onException = (error: unknown) => escaped.push(error);
let world: ScreeningWorld;
let sim: FreeSwitchSim;

beforeAll(async () => {
  guardModesl();
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtExceptionMonitor', onException);
  world = screeningWorld({ challenge: { digit: '1', timeoutMs: 500, tries: 1 } });
  new RuleStore(world.db).add(['404*', '312*'].map((pattern, i) => ({ ...parsePattern(pattern, 'US'), scope: 'global', action: i ? 'challenge' : 'block', target: null, sms: false, note: null, list: null, expiresAt: null })));
  sim = new FreeSwitchSim();
  await sim.start();
});

afterAll(async () => {
  process.off('unhandledRejection', onRejection);
  process.off('uncaughtExceptionMonitor', onException);
  await sim.close();
  world.close();
});

const deps = () => ({ screener: world.screener, logger: world.logger, settings: DEFAULT_FREESWITCH });
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `promise`, or an error naming `what` should it not settle within PATIENCE_MS (a hang detector). */
function withDeadline<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${PATIENCE_MS} ms waiting for ${what}`)), PATIENCE_MS)));
  return Promise.race([promise, hung]).finally(() => clearTimeout(timer));
}

describe("modesl's parser, as callguard patches it", () => {
  it('takes any bytes in any chunking without throwing; what it cannot parse becomes an error event', () => {
    const Parser = require('modesl/lib/esl/Parser') as new (socket: EventEmitter) => EventEmitter;
    let events = 0;
    let errors = 0;
    fc.assert(
      fc.property(stream, (chunks) => {
        const socket = new EventEmitter();
        const parser = new Parser(socket);
        parser.on('esl::event', () => void events++);
        parser.on('error', () => void errors++);
        for (const chunk of chunks) socket.emit('data', chunk);
      }),
      runs(3000),
    );
    expect(events).toBeGreaterThan(1000); // the frames really were frames
    expect(errors).toBeGreaterThan(0); // and some really were broken
    expect(escaped).toEqual([]);
  });
});

describe('the outbound server, fed by a client posing as FreeSWITCH', () => {
  let server: FreeSwitchOutboundServer;
  beforeAll(async () => {
    server = new FreeSwitchOutboundServer({ host: '127.0.0.1', port: 0 }, deps());
    await server.start();
  });
  afterAll(async () => {
    await server.stop(100);
  });

  /**
   * Connects and answers `connect` with `first`; when that is channel data, answers the
   * agent's commands as FreeSWITCH would until it starts screening (its first `sendmsg` or
   * `exit`), so the call is taken. Then sends `chunks`, and hangs up after `holdMs`.
   * Some channel data leaves the agent waiting for an event before its first command: 200 ms
   * after `first` went out (never before: however late `connect` comes, the channel data is
   * what the agent reads first), the chunks go anyway.
   */
  function pose(first: Buffer | null, chunks: Buffer[], holdMs: number): Promise<void> {
    return new Promise((resolve) => {
      const socket = connect(server.port, '127.0.0.1');
      const timers: NodeJS.Timeout[] = [];
      socket.on('error', () => undefined);
      socket.on('close', () => {
        for (const timer of timers) clearTimeout(timer);
        resolve();
      });
      let pending = '';
      let fuzzing = false;
      const fuzz = () => {
        if (fuzzing) return;
        fuzzing = true;
        for (const chunk of chunks) socket.write(chunk);
        timers.push(setTimeout(() => socket.destroy(), holdMs));
      };
      socket.on('data', (data) => {
        if (fuzzing) return;
        pending += data.toString('latin1');
        let end: number;
        while (!fuzzing && (end = pending.indexOf('\n\n')) >= 0) {
          const command = pending.slice(0, end);
          pending = pending.slice(end + 2);
          if (command === 'connect' && first) {
            socket.write(first);
            timers.push(setTimeout(fuzz, 200)); // the agent never got as far as a command
          } else if (command === 'connect' || command.startsWith('sendmsg') || command === 'exit') fuzz();
          else socket.write('Content-Type: command/reply\nReply-Text: +OK\n\n');
        }
        if (!first) fuzz();
      });
      timers.push(setTimeout(fuzz, PATIENCE_MS)); // not even `connect` came: a hang, reported by the checks that follow
    });
  }

  it('survives arbitrary frames and bytes instead of the channel data', async () => {
    await fc.assert(
      fc.asyncProperty(stream, async (chunks) => pose(null, chunks, 2)),
      runs(150),
    );
    await eventually(() => server.inProgress === 0 && server.openConnections === 0);
    expect(escaped).toEqual([]);
    expect((await sim.placeOutboundCall('127.0.0.1', server.port, { callerIdNumber: '+12125551234' }).done).outcome).toBe('continued');
  });

  it('survives channel data with any caller, followed by anything; every call it took is logged once', async () => {
    const before = world.calls().length;
    let taken = 0;
    await fc.assert(
      fc.asyncProperty(channelData, stream, fc.integer({ min: 1, max: 15 }), async (data, chunks, holdMs) => {
        await pose(data(randomUUID()), chunks, holdMs); // each call its own channel, as FreeSWITCH would have it
      }),
      runs(150),
    );
    await eventually(() => server.inProgress === 0 && server.openConnections === 0);
    taken = world.calls().length - before;
    expect(taken).toBeGreaterThan(50); // most channel data was understood and screened
    const channels = world.calls().slice(before).map((row) => row.channel);
    expect(new Set(channels).size).toBe(channels.length);
    expect(world.calls().slice(before).every((row) => row.outcome !== null)).toBe(true);
    expect(escaped).toEqual([]);
    expect((await sim.placeOutboundCall('127.0.0.1', server.port, { callerIdNumber: '+14045551234' }).done).hangupCause).toBe('CALL_REJECTED');
  });
});

describe('the inbound client, connected to a server posing as FreeSWITCH', () => {
  let fake: Server;
  let script: Buffer[] = [];
  /** Sent once the agent has subscribed (`event plain …`), or right after `auth` to garble the handshake. */
  let sendAfter: 'event plain' | 'auth' = 'event plain';
  const sockets = new Set<Socket>();

  beforeAll(async () => {
    fake = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
      socket.write('Content-Type: auth/request\n\n');
      let pending = '';
      let authed = false;
      socket.on('data', (data) => {
        pending += data.toString('latin1');
        let end: number;
        while ((end = pending.indexOf('\n\n')) >= 0) {
          const command = pending.slice(0, end);
          pending = pending.slice(end + 2);
          if (command.startsWith('api ')) socket.write('Content-Type: api/response\nContent-Length: 3\n\n+OK');
          else socket.write('Content-Type: command/reply\nReply-Text: +OK accepted\n\n');
          if (!authed && command.startsWith(sendAfter)) {
            authed = true;
            for (const chunk of script) socket.write(chunk);
          }
        }
      });
    });
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => fake.close(resolve));
  });

  const parkEvent = fc
    .tuple(fc.uuid(), text, text, fc.array(header, { maxLength: 4 }))
    .map(([uuid, number, name, extra]) => {
      const inner = [`Event-Name: CHANNEL_PARK`, `Unique-ID: ${uuid}`, 'variable_callguard_screen: true', `Caller-Caller-ID-Number: ${fsUrlEncode(number)}`, `Caller-Caller-ID-Name: ${fsUrlEncode(name)}`, ...extra.map((line) => line.replace(/\n/g, ' ')), '', ''].join('\n');
      return Buffer.from(`Content-Length: ${Buffer.byteLength(inner)}\nContent-Type: text/event-plain\n\n${inner}`);
    });

  it('survives any event stream, and stops within its grace period whatever state the connection is left in', async () => {
    sendAfter = 'event plain';
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(parkEvent.map((event) => [event]), stream), { minLength: 1, maxLength: 3 }), fc.boolean(), async (parts, cutFirst) => {
        script = parts.flat();
        const client = new FreeSwitchInboundClient({ host: '127.0.0.1', port: (fake.address() as AddressInfo).port, password: 'ClueCon' }, deps());
        await client.start();
        await pause(3);
        if (cutFirst) for (const socket of sockets) socket.destroy();
        // Calls this fake never lets finish, and a goodbye it may never answer: stop() returns all the same
        // (its grace and its goodbye are bounded). A hang is what fails here; how soon is no test's business.
        await withDeadline(client.stop(20), 'stop(20) to return');
        expect(client.connected).toBe(false);
      }),
      runs(25),
    );
    expect(escaped).toEqual([]);
  }, 2 * PATIENCE_MS * SCALE); // a hang detector: slow is not failed

  it('a handshake garbled or left hanging: start() returns once stop() is called, and no connection is left open', async () => {
    sendAfter = 'auth';
    await fc.assert(
      fc.asyncProperty(stream, async (chunks) => {
        script = chunks;
        const client = new FreeSwitchInboundClient({ host: '127.0.0.1', port: (fake.address() as AddressInfo).port, password: 'ClueCon' }, deps());
        const started = client.start();
        await pause(5);
        await client.stop(20);
        await started;
        expect(client.connected).toBe(false);
        await eventually(() => sockets.size === 0, PATIENCE_MS, 'the connection to close');
      }),
      runs(60),
    );
    expect(escaped).toEqual([]);
  }, 2 * PATIENCE_MS * SCALE); // a hang detector: slow is not failed
});
