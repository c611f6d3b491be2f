// Tests for the FreeSWITCH event-socket simulator (test/sim/freeswitch), driven
// over real TCP sockets by the real `modesl` client, plus conformance checks
// against the recordings of a real FreeSWITCH 1.10.12.

import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import * as fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CommandParser,
  FrameParser,
  FreeSwitchSim,
  GOODBYE,
  decodeFrame,
  fsUrlDecode,
  fsUrlEncode,
  getHeader,
  parseEventPlain,
  parseTranscript,
  serializeEventPlain,
  streamFrom,
  type DecodedFrame,
  type Header,
  type SimCall,
  type SimEvent,
} from './sim/freeswitch';
import { PATIENCE_MS } from './helpers/patience';

// ---------------------------------------------------------------------------
// modesl has no type declarations; this is the part of its API the tests use.

interface EslEvent {
  getHeader(name: string): string | null | undefined;
  getBody(): string;
  type: string;
  headers: Array<{ name: string; value: string }>;
}
interface EslConnection {
  socket: net.Socket | null;
  api(cmd: string, cb: (e: EslEvent) => void): void;
  api(cmd: string, args: string, cb: (e: EslEvent) => void): void;
  bgapi(cmd: string, args: string, cb: (e: EslEvent) => void): void;
  events(format: string, names: string, cb?: (e: EslEvent) => void): void;
  execute(app: string, arg: string, uuid: string, cb?: (e: EslEvent) => void): string;
  execute(app: string, arg: string, cb?: (e: EslEvent) => void): string;
  sendRecv(cmd: string, cb?: (e: EslEvent) => void): void;
  filter(header: string, value: string, cb?: (e: EslEvent) => void): void;
  getInfo(): EslEvent | null;
  disconnect(): void;
  on(name: string, fn: (...args: never[]) => void): void;
  once(name: string, fn: (...args: never[]) => void): void;
  onAny(fn: (name: string, ...args: unknown[]) => void): void;
}
interface EslServer {
  on(name: 'connection::ready' | 'connection::open', fn: (conn: EslConnection, id: string) => void): void;
  close(cb?: () => void): void;
}
interface Modesl {
  Connection: new (...args: unknown[]) => EslConnection;
  Server: new (opts: { server: net.Server; myevents?: boolean }, ready?: () => void) => EslServer;
}
const modesl = require('modesl') as Modesl;

// ---------------------------------------------------------------------------
// helpers

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function newSim(opts: ConstructorParameters<typeof FreeSwitchSim>[0] = {}): Promise<{ sim: FreeSwitchSim; port: number }> {
  const sim = new FreeSwitchSim(opts);
  const port = await sim.start();
  cleanups.push(async () => {
    await sim.close();
    expect(sim.errors).toEqual([]);
  });
  return { sim, port };
}

/** Polls until `pred` holds; gives up only after `timeoutMs` (a hang detector: see helpers/patience.ts). */
async function until(pred: () => boolean, timeoutMs = PATIENCE_MS, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

function connectInbound(port: number, password = 'ClueCon'): Promise<EslConnection> {
  return new Promise((resolve, reject) => {
    const conn = new modesl.Connection('127.0.0.1', port, password, () => resolve(conn));
    // modesl writes each command in pieces; without this Nagle adds ~40 ms per command (BEHAVIOUR.md).
    conn.socket?.setNoDelay(true);
    conn.on('error', (err: never) => reject(err));
    conn.on('esl::event::auth::fail', () => reject(new Error('auth failed')));
    cleanups.push(() => conn.socket?.destroy());
  });
}

const api = (conn: EslConnection, cmd: string): Promise<string> =>
  new Promise((resolve) => conn.api(cmd, (e) => resolve(e.getBody())));

const execute = (conn: EslConnection, app: string, arg: string, uuid: string): Promise<EslEvent> =>
  new Promise((resolve) => conn.execute(app, arg, uuid, resolve));

const nextEvent = (conn: EslConnection, name: string): Promise<EslEvent> =>
  new Promise((resolve) => conn.once(`esl::event::${name}::*`, resolve as never));

const subscribe = (conn: EslConnection, format: string, names: string): Promise<EslEvent> =>
  new Promise((resolve) => conn.events(format, names, resolve));

/** Calls `fn` for each event the simulator publishes about `call` (synchronously, as it goes out). */
function onCallEvent(sim: FreeSwitchSim, call: SimCall, fn: (event: SimEvent) => void): void {
  sim.on('event', (event: SimEvent, channel?: SimCall) => {
    if (channel === call) fn(event);
  });
}

/** Records every delay `call` waits for from now on (digit timeouts, sleeps, playbacks, park-loop turns), in ms as scheduled. */
function recordWaits(call: SimCall): number[] {
  const waits: number[] = [];
  const wait = call.wait.bind(call);
  call.wait = (ms, wake) => {
    waits.push(ms);
    return wait(ms, wake);
  };
  return waits;
}

/** A port with nothing listening on it. */
async function deadPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A modesl outbound Server on an ephemeral port, recording every frame each connection receives. */
async function agentServer(myevents = true): Promise<{
  port: number;
  ready: () => Promise<{ conn: EslConnection; frames: DecodedFrame[] }>;
}> {
  const netServer = net.createServer();
  await new Promise<void>((r) => netServer.listen(0, '127.0.0.1', r));
  const server = new modesl.Server({ server: netServer, myevents });
  const frames = new Map<EslConnection, DecodedFrame[]>();
  const waiting: Array<(v: { conn: EslConnection; frames: DecodedFrame[] }) => void> = [];
  const readyQueue: Array<{ conn: EslConnection; frames: DecodedFrame[] }> = [];
  server.on('connection::open', (conn) => {
    conn.socket?.setNoDelay(true);
    const list: DecodedFrame[] = [];
    frames.set(conn, list);
    const parser = new FrameParser();
    conn.socket?.on('data', (chunk: Buffer) => list.push(...parser.push(chunk).map(decodeFrame)));
    cleanups.push(() => conn.socket?.destroy());
  });
  server.on('connection::ready', (conn) => {
    const item = { conn, frames: frames.get(conn) ?? [] };
    const w = waiting.shift();
    if (w) w(item);
    else readyQueue.push(item);
  });
  cleanups.push(() => new Promise<void>((r) => netServer.close(() => r())));
  return {
    port: (netServer.address() as net.AddressInfo).port,
    ready: () => {
      const item = readyQueue.shift();
      return item ? Promise.resolve(item) : new Promise((r) => waiting.push(r));
    },
  };
}

/** Raw TCP client collecting decoded frames. */
async function rawClient(port: number): Promise<{ sock: net.Socket; frames: DecodedFrame[]; closed: Promise<void> }> {
  const sock = net.connect({ port, host: '127.0.0.1' });
  const frames: DecodedFrame[] = [];
  const parser = new FrameParser();
  sock.on('data', (c: Buffer) => frames.push(...parser.push(c).map(decodeFrame)));
  sock.on('error', () => undefined);
  const closed = new Promise<void>((r) => sock.on('close', () => r()));
  await new Promise<void>((r) => sock.once('connect', () => r()));
  cleanups.push(() => sock.destroy());
  return { sock, frames, closed };
}

/** A bare TCP agent for outbound tests that need byte-level control. */
async function rawAgent(): Promise<{ port: number; next: () => Promise<{ sock: net.Socket; frames: DecodedFrame[] }> }> {
  const queue: Array<{ sock: net.Socket; frames: DecodedFrame[] }> = [];
  const waiting: Array<(v: { sock: net.Socket; frames: DecodedFrame[] }) => void> = [];
  const srv = net.createServer((sock) => {
    const frames: DecodedFrame[] = [];
    const parser = new FrameParser();
    sock.on('data', (c: Buffer) => frames.push(...parser.push(c).map(decodeFrame)));
    sock.on('error', () => undefined);
    cleanups.push(() => sock.destroy());
    const item = { sock, frames };
    const w = waiting.shift();
    if (w) w(item);
    else queue.push(item);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => srv.close(() => r())));
  return {
    port: (srv.address() as net.AddressInfo).port,
    next: () => {
      const item = queue.shift();
      return item ? Promise.resolve(item) : new Promise((r) => waiting.push(r));
    },
  };
}

const eventName = (f: DecodedFrame): string | undefined => (f.event ? getHeader(f.event.headers, 'Event-Name') : undefined);

// ---------------------------------------------------------------------------

describe('wire format', () => {
  it('URL-encodes like FreeSWITCH (values seen in the real transcripts)', () => {
    expect(fsUrlEncode('+14045551234')).toBe('%2B14045551234');
    expect(fsUrlEncode('tone_stream://%(300,0,800)')).toBe('tone_stream%3A//%25(300,0,800)');
    expect(fsUrlEncode('1 1 1 4000 # tone_stream://%(200,0,600) silence_stream://250 cg_digit \\d 1000')).toBe(
      '1%201%201%204000%20%23%20tone_stream%3A//%25(200,0,600)%20silence_stream%3A//250%20cg_digit%20%5Cd%201000',
    );
    expect(fsUrlEncode('"RawProbe" <+14045551234>')).toBe('%22RawProbe%22%20%3C%2B14045551234%3E');
    expect(fsUrlEncode('+OK\n')).toBe('%2BOK%0A');
    expect(fsUrlEncode('fd00::2')).toBe('fd00%3A%3A2');
    // FreeSWITCH does not double-encode an upper-case %XX; a client decoding it gets a different string.
    expect(fsUrlEncode('100%AB off')).toBe('100%AB%20off');
    expect(fsUrlEncode("O'Brien ü")).toBe("O'Brien%20%C3%BC");
    // ...and when that %XX is not valid UTF-8, decodeURIComponent (what modesl uses) throws:
    // a caller name like "Jos%E9" in a plain event or in the outbound CHANNEL_DATA crashes modesl's parser.
    expect(() => decodeURIComponent(fsUrlEncode('Jos%E9'))).toThrow(URIError);
    expect(fsUrlDecode(fsUrlEncode('Jos%E9'))).toBe('Jos\uFFFD');
  });

  it('plain events round-trip any value without an upper-case %XX sequence', () => {
    const unit = fc.oneof(
      fc.constantFrom('%', '%4', '\n', '\r', '\0', ' ', '+', ':', '"', "'", '{', '}', '$', '\\', '_undef_', 'é', '😀', 'A', 'f'),
      fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)),
      fc.integer({ min: 0xa0, max: 0xd7ff }).map((c) => String.fromCharCode(c)),
    );
    const value = fc.string({ unit, maxLength: 40 }).filter((s) => !/%[0-9A-F]{2}/.test(s));
    fc.assert(
      fc.property(value, value, (a, b) => {
        const body = Buffer.from(serializeEventPlain([['Event-Name', 'X'], ['Caller-Caller-ID-Name', a], ['variable_x', b]]));
        const ev = parseEventPlain(body);
        const expectDecoded = (v: string): string => (v === '' ? '_undef_' : v);
        expect(getHeader(ev.headers, 'Caller-Caller-ID-Name')).toBe(expectDecoded(a));
        expect(getHeader(ev.headers, 'variable_x')).toBe(expectDecoded(b));
        // every header stays on its own line whatever the value
        expect(ev.headers.length).toBe(3);
      }),
      { numRuns: 300 },
    );
  });

  it('parsers never throw on arbitrary bytes, split anywhere', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.integer({ min: 1, max: 64 }), (bytes, step) => {
        const cp = new CommandParser({ maxHeaderBytes: 256, maxBodyBytes: 128 });
        const fp = new FrameParser({ maxHeaderBytes: 256, maxBodyBytes: 128 });
        const buf = Buffer.from(bytes);
        for (let i = 0; i < buf.length; i += step) {
          cp.push(buf.subarray(i, i + step));
          for (const f of fp.push(buf.subarray(i, i + step))) decodeFrame(f);
        }
        expect(fsUrlDecode(buf.toString('latin1'))).toBeTypeOf('string');
      }),
      { numRuns: 300 },
    );
  });

  it('parses client commands like read_packet: stray newlines, CR, headers, byte-counted bodies, any chunking', () => {
    const text =
      '\n\r\nauth ClueCon\r\n\r\nsendmsg abc\ncall-command: execute\nexecute-app-name:   playback\ncontent-type: text/plain\ncontent-length: 7\nno colon line\n\nhé.wav' +
      'api status\n\n';
    for (const step of [1, 3, 7, 1000]) {
      const p = new CommandParser();
      const bytes = Buffer.from(text);
      const cmds = [];
      for (let i = 0; i < bytes.length; i += step) cmds.push(...p.push(bytes.subarray(i, i + step)));
      expect(cmds.map((c) => c.command)).toEqual(['auth ClueCon', 'sendmsg abc', 'api status']);
      expect(cmds[1]!.headers).toEqual([
        ['call-command', 'execute'],
        ['execute-app-name', 'playback'],
        ['content-type', 'text/plain'],
        ['content-length', '7'],
      ]);
      expect(cmds[1]!.body).toBe('hé.wav');
    }
  });
});

// ---------------------------------------------------------------------------

describe('inbound event socket (modesl Connection)', () => {
  it('authenticates, answers api status, and says unknown commands are not found', async () => {
    const { sim, port } = await newSim({ password: 's3cret' });
    const conn = await connectInbound(port, 's3cret');
    const status = await api(conn, 'status');
    expect(status).toMatch(/^UP 0 years, /);
    expect(status).toContain('FreeSWITCH (Version 1.10.12-release');
    expect(status).toContain('is ready\n');
    expect(await api(conn, 'no_such_thing a b')).toBe('-ERR no_such_thing Command not found!\n');
    expect(sim.openInboundSockets).toBe(1);
    expect(sim.stats.inboundAccepted).toBe(1);
  });

  it('rejects a wrong password with -ERR invalid and closes the socket', async () => {
    const { sim, port } = await newSim();
    await expect(connectInbound(port, 'wrong')).rejects.toThrow('auth failed');
    const raw = await rawClient(port);
    raw.sock.write('auth nope\n\n');
    await raw.closed;
    expect(raw.frames.map((f) => f.kind)).toEqual(['auth/request', 'command/reply', 'text/disconnect-notice']);
    expect(getHeader(raw.frames[1]!.headers, 'Reply-Text')).toBe('-ERR invalid');
    expect(raw.frames[2]!.body).toBe(GOODBYE);
    await until(() => sim.openSockets === 0, PATIENCE_MS, 'sockets to close');
  });

  it('delivers CHANNEL_PARK with headers URL-decoded exactly, including a hostile caller name', async () => {
    const { sim, port } = await newSim();
    const conn = await connectInbound(port);
    const reply = await subscribe(conn, 'plain', 'CHANNEL_PARK');
    expect(reply.getHeader('Reply-Text')).toBe('+OK event listener enabled plain');
    const nasty = 'O\'Brien "Bob"\napi status\n\nContent-Length: 5%41 ünï ${uuid}';
    const call = sim.parkCall({
      callerIdNumber: '+14045551234',
      callerIdName: nasty,
      destinationNumber: '18005550100',
      context: 'public',
      networkAddr: '198.51.100.7',
      privacyHideNumber: true,
      dialplanSet: { callguard_mode: 'park', cg_note: 'a=b&c d' },
    });
    const park = await nextEvent(conn, 'CHANNEL_PARK');
    expect(park.getHeader('Unique-ID')).toBe(call.uuid);
    // FreeSWITCH leaves "%41" alone when encoding, so it decodes to "A": the only lossy case.
    expect(park.getHeader('Caller-Caller-ID-Name')).toBe(nasty.replace('%41', 'A'));
    expect(park.getHeader('Caller-Caller-ID-Number')).toBe('+14045551234');
    expect(park.getHeader('Caller-Destination-Number')).toBe('18005550100');
    expect(park.getHeader('Caller-Context')).toBe('public');
    expect(park.getHeader('Caller-Network-Addr')).toBe('198.51.100.7');
    expect(park.getHeader('Caller-Privacy-Hide-Number')).toBe('true');
    expect(park.getHeader('Channel-State')).toBe('CS_EXECUTE');
    expect(park.getHeader('Answer-State')).toBe('ringing');
    expect(park.getHeader('variable_callguard_mode')).toBe('park');
    expect(park.getHeader('variable_cg_note')).toBe('a=b&c d');
    expect(park.getHeader('variable_current_application')).toBe('park');
    // the newline in the name did not split the event: the connection still works
    expect(await api(conn, 'uuid_getvar ' + call.uuid + ' callguard_mode')).toBe('park');
  });

  it('executes playback and hangup via sendmsg: EXECUTE_COMPLETE then CHANNEL_HANGUP_COMPLETE with the cause', async () => {
    const { sim, port } = await newSim();
    const conn = await connectInbound(port);
    await subscribe(conn, 'plain', 'CHANNEL_PARK CHANNEL_HANGUP_COMPLETE');
    const call = sim.parkCall({ callerIdNumber: '+15551230000', playbackMs: 5 });
    await call.whenParked();
    const played = await execute(conn, 'playback', 'ivr/${caller_id_number}.wav', call.uuid);
    expect(played.getHeader('Application')).toBe('playback');
    expect(played.getHeader('Application-Data')).toBe('ivr/+15551230000.wav');
    expect(played.getHeader('Application-Response')).toBe('FILE PLAYED');
    expect(played.getHeader('Answer-State')).toBe('early'); // playback pre-answers
    expect(call.apps[0]).toMatchObject({ app: 'playback', arg: 'ivr/${caller_id_number}.wav', expandedArg: 'ivr/+15551230000.wav' });
    const hangupComplete = nextEvent(conn, 'CHANNEL_HANGUP_COMPLETE');
    const hung = await execute(conn, 'hangup', 'USER_BUSY', call.uuid);
    expect(hung.getHeader('Answer-State')).toBe('hangup');
    const hc = await hangupComplete;
    expect(hc.getHeader('Hangup-Cause')).toBe('USER_BUSY');
    expect(hc.getHeader('variable_hangup_cause_q850')).toBe('17');
    expect(hc.getHeader('variable_last_app')).toBe('hangup');
    const result = await call.done;
    expect(result).toMatchObject({ outcome: 'hungup', hangupCause: 'USER_BUSY', hangupCauseCode: 17 });
    expect(result.commands.map((c) => [c.kind, c.app])).toEqual([
      ['sendmsg', 'playback'],
      ['sendmsg', 'hangup'],
    ]);
    expect(call.events.indexOf('CHANNEL_HANGUP')).toBeLessThan(call.events.indexOf('CHANNEL_EXECUTE_COMPLETE:hangup'));
    expect(call.events.slice(-4)).toEqual(['CHANNEL_EXECUTE_COMPLETE:park', 'CHANNEL_STATE', 'CHANNEL_STATE', 'CHANNEL_HANGUP_COMPLETE']);
  });

  it('uuid_transfer unparks the call: outcome transferred', async () => {
    const { sim, port } = await newSim();
    const conn = await connectInbound(port);
    await subscribe(conn, 'json', 'CHANNEL_PARK CHANNEL_UNPARK');
    const call = sim.parkCall();
    await nextEvent(conn, 'CHANNEL_PARK');
    const unpark = nextEvent(conn, 'CHANNEL_UNPARK');
    expect(await api(conn, `uuid_transfer ${call.uuid} 1000 XML default`)).toBe('+OK\n');
    expect((await unpark).getHeader('Unique-ID')).toBe(call.uuid);
    const r = await call.done;
    expect(r.outcome).toBe('transferred');
    // Taken on a turn of the park loop: the first one after the command, or a later one on a busy machine.
    expect(r.transfer).toEqual({ destination: '1000', dialplan: 'XML', context: 'default', via: 'uuid_transfer', parkTurn: expect.any(Number) });
    expect(r.commands[0]).toMatchObject({ kind: 'api', command: 'uuid_transfer' });
    expect(await api(conn, 'uuid_transfer 00000000-0000-0000-0000-000000000000 1000')).toBe('-ERR No such channel!\n');
  });

  it('uuid_kill, uuid_setvar/uuid_getvar, bgapi with BACKGROUND_JOB, sendmsg to an unknown uuid', async () => {
    const { sim, port } = await newSim();
    const conn = await connectInbound(port);
    const call = sim.parkCall();
    await call.whenParked();
    expect(await api(conn, `uuid_setvar ${call.uuid} cg_verdict allow this call`)).toBe('+OK\n');
    expect(await api(conn, `uuid_getvar ${call.uuid} cg_verdict`)).toBe('allow this call');
    expect(await api(conn, `uuid_getvar ${call.uuid} nothing_here`)).toBe('_undef_');
    const job = await new Promise<EslEvent>((resolve) => conn.bgapi('uuid_getvar', `${call.uuid} cg_verdict`, resolve));
    expect(job.getHeader('Job-Command')).toBe('uuid_getvar');
    expect(job.getBody()).toBe('allow this call');
    const raw = await rawClient(port);
    raw.sock.write(`auth ClueCon\n\nsendmsg 11111111-2222-3333-4444-555555555555\ncall-command: execute\nexecute-app-name: answer\n\nbogus\n\n`);
    await until(() => raw.frames.length >= 4);
    expect(raw.frames.slice(1).map((f) => getHeader(f.headers, 'Reply-Text'))).toEqual([
      '+OK accepted',
      '-ERR invalid session id [11111111-2222-3333-4444-555555555555]',
      '-ERR command not found',
    ]);
    expect(await api(conn, `uuid_kill ${call.uuid} CALL_REJECTED`)).toBe('+OK\n');
    expect(await call.done).toMatchObject({ outcome: 'hungup', hangupCause: 'CALL_REJECTED', hangupCauseCode: 21 });
    const other = sim.parkCall();
    await other.whenParked();
    raw.sock.write(`sendmsg ${other.uuid}\ncall-command: hangup\nhangup-cause: UNALLOCATED_NUMBER\n\n`);
    expect(await other.done).toMatchObject({ outcome: 'hungup', hangupCause: 'UNALLOCATED_NUMBER', hangupCauseCode: 1 });
    expect(other.commands[0]).toMatchObject({ kind: 'sendmsg', callCommand: 'hangup', uuid: other.uuid, reply: '+OK' });
  });

  it('filters: only the filtered call reaches the listener; a leading "+" is a filter sign, not part of the value', async () => {
    const { sim, port } = await newSim();
    const conn = await connectInbound(port);
    await subscribe(conn, 'plain', 'CHANNEL_PARK');
    const seen: string[] = [];
    conn.on('esl::event::CHANNEL_PARK::*', ((e: EslEvent) => seen.push(String(e.getHeader('Caller-Caller-ID-Number')))) as never);
    const a = sim.parkCall({ callerIdNumber: '+1111' });
    await until(() => seen.length === 1);
    const target = '0f0f0f0f-0000-4000-8000-000000000003';
    const reply = await new Promise<EslEvent>((r) => conn.filter('Unique-ID', target, r));
    expect(reply.getHeader('Reply-Text')).toBe(`+OK filter added. [Unique-ID]=[${target}]`);
    const b = sim.parkCall({ callerIdNumber: '+2222' });
    const c = sim.parkCall({ uuid: target, callerIdNumber: '+3333' });
    await Promise.all([b.whenParked(), c.whenParked()]);
    await until(() => seen.length === 2);
    // FreeSWITCH reads "+3333" as "positive filter, value 3333": it never matches "+3333".
    await new Promise((r) => conn.sendRecv('filter delete all', r));
    await new Promise((r) => conn.filter('Caller-Caller-ID-Number', '+4444', r));
    const d = sim.parkCall({ callerIdNumber: '+4444' });
    await new Promise((r) => conn.filter('Caller-Caller-ID-Number', '5555', r));
    const e = sim.parkCall({ callerIdNumber: '5555' });
    await Promise.all([d.whenParked(), e.whenParked()]);
    await until(() => seen.length === 3);
    // An api reply goes out after every event already published (all these parks): nothing more is on its way.
    expect(await api(conn, 'status')).toContain('is ready');
    expect(seen).toEqual(['+1111', '+3333', '5555']);
    expect(a.isParked && b.isParked).toBe(true);
  });

  it('expands application arguments like FreeSWITCH, recursively: a caller name can run an API', async () => {
    const { sim, port } = await newSim();
    const conn = await connectInbound(port);
    const call = sim.parkCall({ callerIdName: '${global_getvar domain} ${uuid}' });
    await call.whenParked();
    await execute(conn, 'log', 'INFO caller=${caller_id_name}', call.uuid);
    expect(call.apps[0]!.expandedArg).toBe(`INFO caller=127.0.0.1 ${call.uuid}`);
    expect(call.commands.some((c) => c.kind === 'api' && c.command === 'global_getvar')).toBe(true);
    await execute(conn, 'set', 'cg_x=\\${caller_id_name}', call.uuid);
    expect(call.variables.cg_x).toBe('${caller_id_name}');
  });

  it('play_and_get_digits honours tries and a scaled timeout, then succeeds with a queued digit', async () => {
    const { sim, port } = await newSim({ timeScale: 0.01 });
    const conn = await connectInbound(port);
    const call = sim.parkCall({ playbackMs: 2 });
    await call.whenParked();
    const waits = recordWaits(call);
    const none = await execute(conn, 'play_and_get_digits', '1 1 2 5000 # ask.wav bad.wav cg_digit \\d 3000', call.uuid);
    // Each of the two tries waited 5000 ms scaled by 0.01 for a digit, and nothing waited longer.
    expect(waits.filter((ms) => ms === 50)).toHaveLength(2);
    expect(Math.max(...waits)).toBe(50);
    // with min 1 and nothing pressed switch_ivr_read ends TOO_SMALL: read_result is failure, not timeout
    expect(none.getHeader('variable_read_result')).toBe('failure');
    expect(none.getHeader('variable_cg_digit')).toBeFalsy();
    expect(call.playbacks).toEqual(['ask.wav', 'bad.wav', 'ask.wav', 'bad.wav']);
    // enough digits but fewer than max: read_result timeout, and the digits count
    call.pressDigits('5');
    const some = await execute(conn, 'play_and_get_digits', '1 3 1 5000 # ask.wav bad.wav cg_digits \\d+ 2000', call.uuid);
    expect(some.getHeader('variable_read_result')).toBe('timeout');
    expect(some.getHeader('variable_cg_digits')).toBe('5');
    call.pressDigits('x7');
    const got = await execute(conn, 'play_and_get_digits', '1 1 2 5000 # ask.wav bad.wav cg_digit \\d 3000', call.uuid);
    expect(got.getHeader('variable_read_result')).toBe('success');
    expect(got.getHeader('variable_cg_digit')).toBe('7');
    // a digit that fails the regexp is kept in <var>_invalid
    call.pressDigits('*');
    const bad = await execute(conn, 'play_and_get_digits', '1 1 1 1000 # ask.wav bad.wav cg_digit ^[0-9]$', call.uuid);
    expect(bad.getHeader('variable_cg_digit')).toBeFalsy();
    expect(bad.getHeader('variable_cg_digit_invalid')).toBe('*');
  });

  it('digits pressed during the prompt end it; DTMF events carry digit and source', async () => {
    const { sim, port } = await newSim();
    const conn = await connectInbound(port);
    await subscribe(conn, 'plain', 'DTMF PLAYBACK_STOP');
    const call = sim.parkCall({ playbackMs: 500 });
    await call.whenParked();
    // The caller presses the keys as the prompt starts, however long the machine took to get there.
    onCallEvent(sim, call, (event) => {
      if (event.name === 'PLAYBACK_START') call.pressDigits('42');
    });
    const dtmf = nextEvent(conn, 'DTMF');
    const stopped = nextEvent(conn, 'PLAYBACK_STOP');
    const ev = await execute(conn, 'play_and_get_digits', '2 2 1 3000 # long.wav bad.wav pin', call.uuid);
    expect(ev.getHeader('variable_pin')).toBe('42');
    expect(ev.getHeader('variable_read_result')).toBe('success');
    // The digits cut the prompt short ("break", not "done"), and no second prompt or invalid file followed.
    const stop = await stopped;
    expect(stop.getHeader('Playback-File-Path')).toBe('long.wav');
    expect(stop.getHeader('Playback-Status')).toBe('break');
    expect(call.playbacks).toEqual(['long.wav']);
    const d = await dtmf;
    expect(d.getHeader('DTMF-Digit')).toBe('4');
    expect(d.getHeader('DTMF-Source')).toBe('RTP');
  });

  it('bridge: answered (BRIDGE/UNBRIDGE), failed with continue_on_fail, failed without it', async () => {
    const { sim, port } = await newSim();
    const conn = await connectInbound(port);
    await subscribe(conn, 'plain', 'CHANNEL_BRIDGE CHANNEL_UNBRIDGE');
    const ok = sim.parkCall({ bridge: { answer: true, talkMs: 5 } });
    await ok.whenParked();
    const bridged = nextEvent(conn, 'CHANNEL_BRIDGE');
    const done = await execute(conn, 'bridge', 'sofia/gateway/pstn/+15550001111', ok.uuid);
    expect((await bridged).getHeader('Bridge-A-Unique-ID')).toBe(ok.uuid);
    expect(done.getHeader('variable_originate_disposition')).toBe('SUCCESS');
    expect(ok.events).toContain('CHANNEL_UNBRIDGE');
    expect(await ok.done).toMatchObject({ outcome: 'bridged', bridge: { dialstring: 'sofia/gateway/pstn/+15550001111', answered: true } });

    const busyCont = sim.parkCall({ bridge: { answer: false, cause: 'USER_BUSY' } });
    await busyCont.whenParked();
    await execute(conn, 'set', 'continue_on_fail=true', busyCont.uuid);
    const failed = await execute(conn, 'bridge', 'user/1000', busyCont.uuid);
    expect(failed.getHeader('variable_bridge_hangup_cause')).toBe('USER_BUSY');
    expect(failed.getHeader('variable_originate_disposition')).toBe('USER_BUSY');
    expect(failed.getHeader('variable_DIALSTATUS')).toBe('BUSY');
    expect(busyCont.state).toBe('ringing');

    const busy = sim.parkCall({ bridge: () => ({ answer: false, cause: 'NO_ANSWER' }) });
    await busy.whenParked();
    await execute(conn, 'bridge', 'user/1001', busy.uuid);
    expect(await busy.done).toMatchObject({ outcome: 'hungup', hangupCause: 'NO_ANSWER', hangupCauseCode: 19 });
  });

  it('respond 486 rejects with USER_BUSY; hangupOn makes the caller hang up when an app starts', async () => {
    const { sim, port } = await newSim();
    const conn = await connectInbound(port);
    const call = sim.parkCall();
    await call.whenParked();
    await execute(conn, 'respond', '486 Busy Here', call.uuid);
    expect(await call.done).toMatchObject({ outcome: 'hungup', hangupCause: 'USER_BUSY', sipStatus: 486 });

    const impatient = sim.parkCall({ hangupOn: 'playback', playbackMs: 1000 });
    await impatient.whenParked();
    const ev = await execute(conn, 'playback', 'long.wav', impatient.uuid);
    expect(ev.getHeader('Application-Response')).toBe('PLAYBACK ERROR');
    // The caller hung up as the application started: the file never played, the application ended on the hangup.
    expect(impatient.playbacks).toEqual([]);
    expect(impatient.events).not.toContain('PLAYBACK_START');
    const started = impatient.events.indexOf('CHANNEL_EXECUTE:playback');
    expect(impatient.events.slice(started, started + 3)).toEqual(['CHANNEL_EXECUTE:playback', 'CHANNEL_HANGUP', 'CHANNEL_EXECUTE_COMPLETE:playback']);
    expect(await impatient.done).toMatchObject({ outcome: 'hungup', hangupCause: 'ORIGINATOR_CANCEL', hangupCauseCode: 487 });
  });

  it('runs the other applications: ring_ready, pre_answer, set/export/unset, sleep, read, park, log, info, transfer', async () => {
    const { sim, port } = await newSim({ timeScale: 0.01 });
    const conn = await connectInbound(port);
    await subscribe(conn, 'plain', 'CHANNEL_PROGRESS CHANNEL_PROGRESS_MEDIA CHANNEL_UNPARK');
    const call = sim.parkCall({ callerIdNumber: '+15550009999', digits: '12#' });
    await call.whenParked();
    const progress = nextEvent(conn, 'CHANNEL_PROGRESS');
    await execute(conn, 'ring_ready', '', call.uuid);
    expect((await progress).getHeader('Answer-State')).toBe('ringing');
    const media = nextEvent(conn, 'CHANNEL_PROGRESS_MEDIA');
    await execute(conn, 'pre_answer', '', call.uuid);
    expect((await media).getHeader('Unique-ID')).toBe(call.uuid);
    expect(call.state).toBe('early');
    await execute(conn, 'set', 'cg_a=${caller_id_number}', call.uuid);
    await execute(conn, 'export', 'cg_b=two words', call.uuid);
    const unset = await execute(conn, 'unset', 'cg_a', call.uuid);
    expect(unset.getHeader('variable_cg_a')).toBeFalsy();
    expect(unset.getHeader('variable_cg_b')).toBe('two words');
    expect(unset.getHeader('variable_export_vars')).toBe('cg_b');
    const waits = recordWaits(call);
    await execute(conn, 'sleep', '3000', call.uuid);
    // sleep waited its 3000 ms scaled by 0.01 (the last wait; the ones before are park-loop turns).
    expect(waits.splice(0).at(-1)).toBe(30);
    const read = await execute(conn, 'read', '1 4 prompt.wav cg_pin 5000 #', call.uuid);
    expect(read.getHeader('variable_cg_pin')).toBe('12');
    expect(read.getHeader('variable_read_terminator_used')).toBe('#');
    await execute(conn, 'park', '', call.uuid);
    await execute(conn, 'log', 'NOTICE screened ${caller_id_number}', call.uuid);
    await execute(conn, 'info', '', call.uuid);
    expect(call.logs[0]).toBe('NOTICE screened +15550009999');
    const unpark = nextEvent(conn, 'CHANNEL_UNPARK');
    await execute(conn, 'transfer', 'allowed XML default', call.uuid);
    await unpark;
    expect(await call.done).toMatchObject({ outcome: 'transferred', transfer: { destination: 'allowed', dialplan: 'XML', context: 'default', via: 'transfer' } });
    expect(call.apps.map((a) => a.app)).toEqual(['ring_ready', 'pre_answer', 'set', 'export', 'unset', 'sleep', 'read', 'park', 'log', 'info', 'transfer']);
    expect(call.apps[2]!.expandedArg).toBe('cg_a=+15550009999');
  });

  it('voicemail, unknown applications, uuid_answer, uuid_broadcast and show channels', async () => {
    const { sim, port } = await newSim();
    const conn = await connectInbound(port);
    const vm = sim.parkCall({ playbackMs: 3 });
    const odd = sim.parkCall();
    await Promise.all([vm.whenParked(), odd.whenParked()]);
    const listing = await api(conn, 'show channels');
    expect(listing.split('\n')[0]).toMatch(/^uuid,direction,created,created_epoch,name,state,cid_name,cid_num,/);
    expect(listing).toContain(`${vm.uuid},inbound,`);
    expect(listing.endsWith('\n\n2 total.\n')).toBe(true);
    expect(await api(conn, `uuid_answer ${vm.uuid}`)).toBe('+OK\n');
    expect(vm.state).toBe('answered');
    expect(await api(conn, `uuid_broadcast ${vm.uuid} greeting.wav aleg`)).toBe('+OK Message sent\n');
    await until(() => vm.apps.length === 1 && vm.apps[0]!.response !== undefined);
    expect(vm.playbacks).toEqual(['greeting.wav']);
    await execute(conn, 'voicemail', 'default 127.0.0.1 1000', vm.uuid);
    expect((await vm.done).outcome).toBe('voicemail');
    // FreeSWITCH hangs up a channel asked to run an application it does not have
    conn.execute('no_such_app', 'x', odd.uuid);
    expect(await odd.done).toMatchObject({ outcome: 'hungup', hangupCause: 'DESTINATION_OUT_OF_ORDER', hangupCauseCode: 27 });
    await until(() => vm.isDown);
    expect(await api(conn, 'show channels')).toBe('\n0 total.\n');
  });

  it('survives garbage from clients, before and after auth', async () => {
    const { sim, port } = await newSim();
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 400 }), fc.boolean(), async (bytes, authFirst) => {
        const raw = await rawClient(port);
        if (authFirst) raw.sock.write('auth ClueCon\n\n');
        raw.sock.write(Buffer.from(bytes));
        raw.sock.write('\n\napi status\n\n');
        await new Promise((r) => setTimeout(r, 5));
        for (const f of raw.frames) expect(f.kind).not.toBe('unknown');
        raw.sock.destroy();
      }),
      { numRuns: 30 },
    );
    // a huge unterminated header block or body is cut off, not buffered forever
    const big = await rawClient(port);
    big.sock.write('auth ClueCon\n\napi status\ncontent-length: 999999999\n\n');
    await big.closed;
    await until(() => sim.openSockets === 0, PATIENCE_MS, 'garbage sockets to close');
    const conn = await connectInbound(port);
    expect(await api(conn, 'status')).toContain('is ready');
  });

  it('dropConnections cuts every socket; the agent can reconnect and the parked call stays parked', async () => {
    const { sim, port } = await newSim();
    const conn = await connectInbound(port);
    const call = sim.parkCall();
    await call.whenParked();
    const ended = new Promise<void>((r) => conn.socket!.on('close', () => r()));
    sim.dropConnections();
    await ended;
    await until(() => sim.openSockets === 0);
    expect(sim.stats.dropped).toBe(1);
    const again = await connectInbound(port);
    expect(await api(again, `uuid_getvar ${call.uuid} uuid`)).toBe(call.uuid);
    expect(call.isParked).toBe(true);
    expect(call.outcome).toBeUndefined();
    // a call still parked at shutdown resolves as parked
    await sim.close();
    expect((await call.done).outcome).toBe('parked');
  });
});

describe('inbound subscriptions (raw socket)', () => {
  it('event ALL, nixevent, noevents, json format, myevents <uuid>', async () => {
    const { sim, port } = await newSim();
    const raw = await rawClient(port);
    const replies = (): Array<string | undefined> => raw.frames.filter((f) => f.kind === 'command/reply').map((f) => getHeader(f.headers, 'Reply-Text'));
    const events = (): string[] => raw.frames.filter((f) => f.event).map((f) => `${f.kind.slice(11)}:${eventName(f)}`);
    raw.sock.write('auth ClueCon\n\nevent plain ALL\n\nnixevent CHANNEL_CREATE CHANNEL_CALLSTATE\n\n');
    await until(() => replies().length === 3);
    const one = sim.parkCall();
    await one.whenParked();
    await until(() => events().includes('plain:CHANNEL_PARK'));
    expect(events()).not.toContain('plain:CHANNEL_CREATE');
    expect(events()).toContain('plain:CHANNEL_EXECUTE');
    raw.sock.write(`noevents\n\nevent json CHANNEL_HANGUP\n\nmyevents ${one.uuid}\n\nmyevents ${one.uuid}\n\nevent\n\nmyevents\n\n`);
    await until(() => replies().length === 9);
    expect(replies().slice(1)).toEqual([
      '+OK event listener enabled plain',
      '+OK events nixed',
      '+OK no longer listening for events',
      '+OK event listener enabled json',
      '+OK Events Enabled',
      '-ERR aready enabled.',
      '-ERR no keywords supplied',
      // inbound, "myevents" needs an argument to be recognised at all
      '-ERR command not found',
    ]);
    const before = events().length;
    const other = sim.parkCall();
    await other.whenParked();
    other.callerHangup();
    one.callerHangup();
    await Promise.all([one.done, other.done]);
    // An api reply goes out after every event already published (both calls' hangups): nothing more is on its way.
    raw.sock.write('api status\n\n');
    await until(() => raw.frames.some((f) => f.kind === 'api/response'));
    const after = raw.frames.filter((f) => f.event).slice(before);
    expect(after.every((f) => getHeader(f.event!.headers, 'Unique-ID') === one.uuid)).toBe(true);
    expect(after.map((f) => `${f.kind.slice(11)}:${eventName(f)}`)).toContain('json:CHANNEL_HANGUP_COMPLETE');
  });
});

// ---------------------------------------------------------------------------

describe('outbound event socket (modesl Server)', () => {
  it('connect gives channel data; answer and play_and_get_digits run; closing the socket continues the dialplan', async () => {
    const { sim } = await newSim();
    const agent = await agentServer();
    const call = sim.placeOutboundCall('127.0.0.1', agent.port, {
      callerIdNumber: '+14045551234',
      callerIdName: 'Alice "A" Smith',
      destinationNumber: '1000',
      dialplanSet: { callguard_mode: 'socket' },
      digits: '3',
    });
    const { conn } = await agent.ready();
    const info = conn.getInfo()!;
    expect(info.getHeader('Event-Name')).toBe('CHANNEL_DATA');
    expect(info.getHeader('Unique-ID')).toBe(call.uuid);
    expect(info.getHeader('Caller-Caller-ID-Name')).toBe('Alice "A" Smith');
    expect(info.getHeader('Channel-Caller-ID-Number')).toBe('+14045551234');
    expect(info.getHeader('Caller-Destination-Number')).toBe('1000');
    expect(info.getHeader('variable_callguard_mode')).toBe('socket');
    expect(info.getHeader('variable_socket_host')).toBe('127.0.0.1');
    expect(info.getHeader('Reply-Text')).toBe('+OK\n');
    expect(info.getHeader('Socket-Mode')).toBe('async');
    expect(info.getHeader('Control')).toBe('full');

    const answered = await new Promise<EslEvent>((r) => conn.execute('answer', '', r));
    expect(answered.getHeader('Answer-State')).toBe('answered');
    const pagd = await new Promise<EslEvent>((r) =>
      conn.execute('play_and_get_digits', '1 1 3 5000 # ivr/menu.wav ivr/invalid.wav cg_choice \\d 3000', r),
    );
    expect(pagd.getHeader('variable_cg_choice')).toBe('3');
    expect(pagd.getHeader('variable_read_result')).toBe('success');
    conn.socket!.destroy();
    const r = await call.done;
    expect(r).toMatchObject({ outcome: 'continued', reason: 'agent-closed' });
    expect(r.apps.map((a) => a.app)).toEqual(['answer', 'play_and_get_digits']);
    expect(r.commands.map((c) => c.kind)).toEqual(['connect', 'event', 'myevents', 'sendmsg', 'sendmsg']);
    expect(call.events.slice(-2)).toEqual(['CHANNEL_UNPARK', 'CHANNEL_EXECUTE_COMPLETE:socket']);
    await until(() => sim.openSockets === 0);
  });

  it('exit: +OK bye, disconnect notice, socket closed, the call continues', async () => {
    const { sim } = await newSim();
    const agent = await agentServer();
    const call = sim.placeOutboundCall('127.0.0.1', agent.port);
    const { conn, frames } = await agent.ready();
    const closed = new Promise<void>((res) => conn.on('esl::end', () => res()));
    await new Promise((res) => conn.execute('answer', '', res));
    conn.sendRecv('exit');
    await closed;
    const tail = frames.slice(-2);
    expect(getHeader(tail[0]!.headers, 'Reply-Text')).toBe('+OK bye');
    expect(tail[1]!.kind).toBe('text/disconnect-notice');
    expect(getHeader(tail[1]!.headers, 'Controlled-Session-UUID')).toBe(call.uuid);
    expect(getHeader(tail[1]!.headers, 'Content-Disposition')).toBe('disconnect');
    expect(await call.done).toMatchObject({ outcome: 'continued', reason: 'exit' });
  });

  it('linger: HANGUP_COMPLETE, then a linger notice with Linger-Time -1; the agent must close; exit gets the goodbye', async () => {
    const { sim } = await newSim();
    const agent = await agentServer();
    const call = sim.placeOutboundCall('127.0.0.1', agent.port);
    const { conn, frames } = await agent.ready();
    const reply = await new Promise<EslEvent>((r) => conn.sendRecv('linger', r));
    expect(reply.getHeader('Reply-Text')).toBe('+OK will linger');
    await new Promise((r) => conn.execute('hangup', 'USER_BUSY', r));
    await until(() => frames.some((f) => f.kind === 'text/disconnect-notice'));
    // The reply to a later command comes after anything FreeSWITCH sent since the notice: a goodbye would be here first.
    const status = await api(conn, 'status');
    expect(status).toContain('is ready');
    const seq = seqOf(frames);
    const hc = seq.indexOf('CHANNEL_HANGUP_COMPLETE');
    expect(hc).toBeGreaterThan(seq.indexOf('CHANNEL_EXECUTE_COMPLETE'));
    expect(seq.slice(hc)).toEqual(['CHANNEL_HANGUP_COMPLETE', 'notice:linger', 'api/response']);
    const notice = frames.find((f) => f.kind === 'text/disconnect-notice')!;
    expect(getHeader(notice.headers, 'Linger-Time')).toBe('-1');
    expect(getHeader(notice.headers, 'Content-Length')).toBe('0');
    expect(conn.socket && !conn.socket.destroyed).toBe(true);
    expect(sim.openOutboundSockets).toBe(1);
    expect(await call.done).toMatchObject({ outcome: 'hungup', hangupCause: 'USER_BUSY' });
    const closed = new Promise<void>((r) => conn.on('esl::end', () => r()));
    conn.sendRecv('exit');
    await closed;
    expect(seqOf(frames).slice(-2)).toEqual(['command/reply', 'notice:disconnect']);
    expect(frames[frames.length - 1]!.body).toBe(GOODBYE);
  });

  it('without linger the socket closes on hangup before HANGUP_COMPLETE; a timed linger closes by itself', async () => {
    // 600 s of linger take 60 ms at this scale; unscaled, they would outlast the test's timeout.
    const { sim } = await newSim({ timeScale: 0.0001 });
    const agent = await agentServer();
    const plain = sim.placeOutboundCall('127.0.0.1', agent.port);
    const a = await agent.ready();
    const endA = new Promise<void>((r) => a.conn.on('esl::end', () => r()));
    plain.callerHangup();
    await endA;
    expect(seqOf(a.frames)).not.toContain('CHANNEL_HANGUP_COMPLETE');
    expect(seqOf(a.frames)).toContain('CHANNEL_HANGUP');
    expect(seqOf(a.frames).at(-1)).toBe('notice:disconnect');
    expect(await plain.done).toMatchObject({ outcome: 'hungup', hangupCause: 'ORIGINATOR_CANCEL' });

    const timed = sim.placeOutboundCall('127.0.0.1', agent.port);
    const b = await agent.ready();
    await new Promise((r) => b.conn.sendRecv('linger 600', r));
    const endB = new Promise<void>((r) => b.conn.on('esl::end', () => r()));
    timed.callerHangup('NORMAL_CLEARING');
    await endB;
    // FreeSWITCH closed it when the linger ran out: the notice names the linger, and the agent never sent exit.
    const s = seqOf(b.frames);
    expect(s.slice(-3)).toEqual(['CHANNEL_HANGUP_COMPLETE', 'notice:linger', 'notice:disconnect']);
    expect(getHeader(b.frames.find((f) => f.kind === 'text/disconnect-notice')!.headers, 'Linger-Time')).toBe('600');
    expect(sim.commandLog.filter((e) => e.callUuid === timed.uuid).map((e) => e.command.command)).not.toContain('exit');
  });

  it('nothing listening: connection refused, the call goes on in the dialplan', async () => {
    const { sim } = await newSim();
    const call = sim.placeOutboundCall('127.0.0.1', await deadPort());
    expect(await call.done).toMatchObject({ outcome: 'continued', reason: 'refused', apps: [], commands: [] });
    expect(call.events.slice(-2)).toEqual(['CHANNEL_EXECUTE:socket', 'CHANNEL_EXECUTE_COMPLETE:socket']);
    expect(sim.stats.outboundFailed).toBe(1);
    expect(sim.openSockets).toBe(0);
  });

  it('an agent that leaves before FreeSWITCH parked the channel strands the call', async () => {
    const { sim } = await newSim();
    const raw = net.createServer((sock) => {
      sock.write('connect\n\n');
      sock.once('data', () => sock.end('exit\n\n'));
    });
    await new Promise<void>((r) => raw.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => raw.close(() => r())));
    // FreeSWITCH would park the channel a moment after connect; here not before the agent has left, however slow it is.
    const call = sim.placeOutboundCall('127.0.0.1', (raw.address() as net.AddressInfo).port, { parkDelayMs: 10 * PATIENCE_MS });
    expect(await call.done).toMatchObject({ outcome: 'stranded', reason: 'exit' });
  });

  it('an agent that never sends its first command is given up on after the first-command timeout', async () => {
    const { sim } = await newSim();
    const agent = await rawAgent();
    // FreeSWITCH waits about 24 s, unscaled by default; a short one for this test only.
    const call = sim.placeOutboundCall('127.0.0.1', agent.port, { firstCommandTimeoutMs: 20 });
    const { sock, frames } = await agent.next();
    const result = await call.done;
    expect(result.reason).toBe('no-connect-timeout');
    expect(result.commands).toEqual([]);
    if (!sock.destroyed) await new Promise((r) => sock.once('close', r));
    expect(seqOf(frames)).toEqual(['notice:disconnect']);
    expect(sim.stats.outboundConnected).toBe(1);
  });
});

describe('outbound socket details', () => {
  it('a static socket (no async) answers sendmsg only after the application, its events after the +OK, and never parks', async () => {
    const { sim } = await newSim();
    const agent = await rawAgent();
    const call = sim.placeOutboundCall('127.0.0.1', agent.port, { async: false, playbackMs: 30 });
    const { sock, frames } = await agent.next();
    sock.write('connect\n\nmyevents\n\nsendmsg\ncall-command: execute\nexecute-app-name: playback\nexecute-app-arg: hello.wav\n\n');
    await until(() => frames.some((f) => eventName(f) === 'CHANNEL_EXECUTE_COMPLETE'));
    expect(getHeader(frames[0]!.headers, 'Socket-Mode')).toBe('static');
    const seq = seqOf(frames);
    expect(seq.slice(0, 4)).toEqual(['command/reply', 'command/reply', 'command/reply', 'CHANNEL_EXECUTE']);
    expect(getHeader(frames[2]!.headers, 'Reply-Text')).toBe('+OK');
    expect(call.events).not.toContain('CHANNEL_PARK');
    sock.write('exit\n\n');
    expect(await call.done).toMatchObject({ outcome: 'continued', reason: 'exit' });
  });

  it('linger N / nolinger / resume / getvar replies; applications sent before the park run after it', async () => {
    const { sim } = await newSim();
    const agent = await rawAgent();
    const call = sim.placeOutboundCall('127.0.0.1', agent.port, { parkDelayMs: 40, variables: { cg_route: 'a b' } });
    const { sock, frames } = await agent.next();
    sock.write(
      'connect\n\nsendmsg\ncall-command: execute\nexecute-app-name: set\nexecute-app-arg: cg_seen=1\n\n' +
        'linger 5\n\nnolinger\n\nresume\n\ngetvar cg_route\n\n',
    );
    await until(() => frames.length >= 6);
    expect(frames.slice(1, 6).map((f) => getHeader(f.headers, 'Reply-Text'))).toEqual([
      '+OK',
      '+OK will linger 5 seconds',
      '+OK will not linger',
      '+OK',
      'a b',
    ]);
    await until(() => call.apps.length === 1 && call.apps[0]!.response !== undefined);
    expect(call.events.indexOf('CHANNEL_PARK')).toBeLessThan(call.events.indexOf('CHANNEL_EXECUTE:set'));
    expect(call.variables).toMatchObject({ cg_seen: '1', socket_resume: 'true' });
    call.callerHangup();
    await until(() => frames.some((f) => f.kind === 'text/disconnect-notice'));
    expect(getHeader(frames.at(-1)!.headers, 'Content-Disposition')).toBe('disconnect');
  });

  it('myevents filters out BACKGROUND_JOB (it has no Unique-ID), so bgapi results never reach that socket', async () => {
    const { sim } = await newSim();
    const agent = await agentServer(true);
    sim.placeOutboundCall('127.0.0.1', agent.port);
    const { conn, frames } = await agent.ready();
    const jobPublished = new Promise<void>((r) => sim.on('event', (event: SimEvent) => event.name === 'BACKGROUND_JOB' && r()));
    let called = false;
    const reply = await new Promise<EslEvent>((r) => {
      conn.bgapi('status', '', () => (called = true));
      conn.api('status', r);
    });
    expect(reply.getBody()).toContain('is ready');
    await jobPublished;
    // The reply to an api sent after the job's event went out: had the event reached this socket, it would be here first.
    expect(await api(conn, 'status')).toContain('is ready');
    expect(called).toBe(false);
    expect(frames.some((f) => getHeader(f.headers, 'Reply-Text')?.startsWith('+OK Job-UUID: '))).toBe(true);
  });
});

describe('outbound sockets without myevents', () => {
  it("modesl's own subscription brings other channels' CHANNEL_EXECUTE_COMPLETE too", async () => {
    const { sim } = await newSim();
    const agent = await agentServer(false);
    const a = sim.placeOutboundCall('127.0.0.1', agent.port);
    const first = await agent.ready();
    const b = sim.placeOutboundCall('127.0.0.1', agent.port);
    const second = await agent.ready();
    await new Promise((r) => second.conn.execute('answer', '', r));
    const foreign = (): DecodedFrame[] =>
      first.frames.filter((f) => eventName(f) === 'CHANNEL_EXECUTE_COMPLETE' && getHeader(f.event!.headers, 'Unique-ID') === b.uuid);
    await until(() => foreign().length === 1, PATIENCE_MS, "b's EXECUTE_COMPLETE on a's socket");
    expect(getHeader(foreign()[0]!.event!.headers, 'Application')).toBe('answer');
    expect(first.conn.getInfo()!.getHeader('Unique-ID')).toBe(a.uuid);
  });
});

function seqOf(frames: DecodedFrame[]): string[] {
  return frames.map((f) => eventName(f) ?? (f.kind === 'text/disconnect-notice' ? `notice:${getHeader(f.headers, 'Content-Disposition')}` : f.kind));
}

// ---------------------------------------------------------------------------

const REF = path.resolve(__dirname, '../../shared/reference/freeswitch-esl');
const haveRef = fs.existsSync(REF);
const readRef = (name: string): Buffer => fs.readFileSync(path.join(REF, name));

/** Where a header sits in a FreeSWITCH event/channel-data block. */
function section(name: string): string {
  if (name === 'Event-Name' || name === 'Core-UUID' || name.startsWith('Event-') || name.startsWith('FreeSWITCH-')) return 'event';
  if (name.startsWith('variable_')) return 'variables';
  if (name.startsWith('Caller-')) return 'caller-profile';
  if (/^Channel-(Direction|Logical-Direction|Dialplan|Caller-ID|Orig-Caller|Callee|Network|ANI|Destination|Unique-ID|Source|Context|Channel-|Profile|Screen|Privacy)/.test(name)) {
    return 'channel-profile';
  }
  if (/^(Content-Type|Reply-Text|Socket-Mode|Control)$/.test(name)) return 'reply';
  if (name.startsWith('Application')) return 'application';
  return 'channel';
}

function sections(headers: Header[]): string[] {
  const out: string[] = [];
  for (const [k] of headers) {
    const s = section(k);
    if (out[out.length - 1] !== s) out.push(s);
  }
  return out;
}

/** Headers both have, in the order each has them. */
function commonOrder(a: Header[], b: Header[]): [string[], string[]] {
  const na = a.map(([k]) => k).filter((k) => !k.startsWith('variable_'));
  const nb = b.map(([k]) => k).filter((k) => !k.startsWith('variable_'));
  const setA = new Set(na);
  const setB = new Set(nb);
  return [na.filter((k) => setB.has(k)), nb.filter((k) => setA.has(k))];
}

describe.skipIf(!haveRef)('conformance with the real FreeSWITCH transcripts', () => {
  const files = haveRef ? fs.readdirSync(REF).filter((f) => /transcript.*\.txt$/.test(f)) : [];

  it.each(files)('%s: every FreeSWITCH frame decodes, lengths add up, caller data decodes', (file) => {
    const blocks = parseTranscript(readRef(file));
    const fromFs = blocks.filter((b) => b.fromSwitch && b.data.length);
    expect(fromFs.length).toBeGreaterThanOrEqual(2);
    const parser = new FrameParser();
    const frames = parser.push(streamFrom(blocks, true));
    expect(parser.pending).toBe(0);
    expect(parser.errors).toEqual([]);
    expect(frames.map((f) => f.raw.length)).toEqual(fromFs.map((b) => b.data.length));
    for (const [i, f] of frames.entries()) {
      const d = decodeFrame(f);
      expect(d.kind, `${file} block ${i}`).not.toBe('unknown');
      const len = getHeader(f.headers, 'Content-Length');
      if (len !== undefined) expect(f.body?.length ?? 0).toBe(Number(len));
      if (d.kind === 'text/event-plain') {
        const ev = d.event!;
        expect(getHeader(ev.headers, 'Event-Name')).toMatch(/^[A-Z_]+$/);
        const num = getHeader(ev.headers, 'Caller-Caller-ID-Number');
        if (num !== undefined && getHeader(ev.headers, 'Call-Direction') === 'inbound') expect(num).toBe('+14045551234');
        const dest = getHeader(ev.headers, 'Caller-Destination-Number');
        if (dest !== undefined) expect(dest).toMatch(/^callguard-[a-z0-9-]+$/);
        const inner = getHeader(ev.headers, 'Content-Length');
        if (inner !== undefined) expect(Buffer.byteLength(ev.body ?? '')).toBe(Number(inner));
      }
      if (d.kind === 'text/disconnect-notice' && getHeader(d.headers, 'Content-Disposition') !== 'linger') expect(d.body).toBe(GOODBYE);
    }
    const cmds = new CommandParser().push(streamFrom(blocks, false));
    expect(cmds.length).toBe(blocks.filter((b) => !b.fromSwitch && b.data.length).length);
    for (const c of cmds) expect(c.command).toMatch(/^(auth|api|event|bgapi|sendmsg|exit|connect|myevents|linger)\b/);
  });

  it('the inbound transcript decodes: caller name/number, DTMF, execute completions, the originate job', () => {
    const frames = new FrameParser().push(streamFrom(parseTranscript(readRef('inbound-transcript.txt')), true)).map(decodeFrame);
    const events = frames.filter((f) => f.event).map((f) => f.event!);
    const park = events.find((e) => getHeader(e.headers, 'Event-Name') === 'CHANNEL_PARK')!;
    expect(getHeader(park.headers, 'Caller-Caller-ID-Name')).toBe('RawProbe');
    expect(getHeader(park.headers, 'variable_DP_MATCH')).toBe('ARRAY::callguard-park-1000|:1000');
    const dtmf = events.find((e) => getHeader(e.headers, 'Event-Name') === 'DTMF')!;
    expect([getHeader(dtmf.headers, 'DTMF-Digit'), getHeader(dtmf.headers, 'DTMF-Source')]).toEqual(['7', 'UNKNOWN']);
    const pagd = events.find((e) => getHeader(e.headers, 'Application') === 'play_and_get_digits')!;
    expect(getHeader(pagd.headers, 'Application-Data')).toBe('1 1 1 4000 # tone_stream://%(200,0,600) silence_stream://250 cg_digit \\d 1000');
    expect(getHeader(pagd.headers, 'variable_cg_digit')).toBe('7');
    const job = events.find((e) => getHeader(e.headers, 'Event-Name') === 'BACKGROUND_JOB')!;
    expect(job.body).toBe('+OK 364d9ebd-1612-473b-a75a-a88f01da5b87\n');
    const hc = events.filter((e) => getHeader(e.headers, 'Event-Name') === 'CHANNEL_HANGUP_COMPLETE').at(-1)!;
    expect(getHeader(hc.headers, 'variable_caller_id')).toBe('"RawProbe" <+14045551234>');
  });

  it("the simulator's channel-data reply has the real one's shape", async () => {
    const realFrame = new FrameParser()
      .push(streamFrom(parseTranscript(readRef('outbound-transcript.txt')), true))
      .map(decodeFrame)
      .find((f) => getHeader(f.headers, 'Event-Name') === 'CHANNEL_DATA')!;
    const { sim } = await newSim();
    const srv = net.createServer((sock) => {
      sock.write('connect\n\n');
      cleanups.push(() => sock.destroy());
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => srv.close(() => r())));
    const got = new Promise<DecodedFrame>((resolve) => {
      srv.once('connection', (sock) => {
        const p = new FrameParser();
        sock.on('data', (c: Buffer) => {
          const f = p.push(c)[0];
          if (f) resolve(decodeFrame(f));
        });
      });
    });
    sim.placeOutboundCall('127.0.0.1', (srv.address() as net.AddressInfo).port, { callerIdName: 'Probe' });
    const simFrame = await got;
    for (const f of [realFrame, simFrame]) {
      expect(getHeader(f.headers, 'Content-Length')).toBeUndefined();
      expect(f.headers.slice(-4).map(([k]) => k)).toEqual(['Content-Type', 'Reply-Text', 'Socket-Mode', 'Control']);
      expect(getHeader(f.headers, 'Reply-Text')).toBe('+OK\n');
    }
    expect(sections(simFrame.headers)).toEqual(sections(realFrame.headers));
    const [realOrder, simOrder] = commonOrder(realFrame.headers, simFrame.headers);
    expect(simOrder).toEqual(realOrder);
    const realNames = new Set(realFrame.headers.map(([k]) => k).filter((k) => !k.startsWith('variable_')));
    const simNames = new Set(simFrame.headers.map(([k]) => k).filter((k) => !k.startsWith('variable_')));
    // loopback legs carry a callee id, sofia legs a network address: the only differences allowed
    const loopbackOnly = ['Channel-Callee-ID-Name', 'Channel-Callee-ID-Number', 'Caller-Callee-ID-Name', 'Caller-Callee-ID-Number'];
    const sofiaOnly = ['Channel-Network-Addr', 'Caller-Network-Addr'];
    expect([...realNames].filter((k) => !simNames.has(k))).toEqual(loopbackOnly);
    expect([...simNames].filter((k) => !realNames.has(k))).toEqual(sofiaOnly);
    for (const v of ['variable_uuid', 'variable_call_uuid', 'variable_current_application', 'variable_current_application_data', 'variable_socket_host']) {
      expect(getHeader(simFrame.headers, v), v).toBeDefined();
    }
  });

  it("the simulator's CHANNEL_PARK has the real one's shape", async () => {
    const realPark = new FrameParser()
      .push(streamFrom(parseTranscript(readRef('inbound-transcript.txt')), true))
      .map(decodeFrame)
      .find((f) => f.event && getHeader(f.event.headers, 'Event-Name') === 'CHANNEL_PARK')!;
    const { sim, port } = await newSim();
    const raw = await rawClient(port);
    raw.sock.write('auth ClueCon\n\nevent plain CHANNEL_PARK\n\n');
    await until(() => raw.frames.length >= 3);
    const call = sim.parkCall({ dialplanSet: { callguard_tag: '1000', callguard_mode: 'park' } });
    await until(() => raw.frames.some((f) => f.kind === 'text/event-plain'));
    const simPark = raw.frames.find((f) => f.kind === 'text/event-plain')!;
    expect(simPark.headers.map(([k]) => k)).toEqual(realPark.headers.map(([k]) => k));
    const real = realPark.event!.headers;
    const mine = simPark.event!.headers;
    expect(sections(mine)).toEqual(sections(real));
    const [realOrder, simOrder] = commonOrder(real, mine);
    expect(simOrder).toEqual(realOrder);
    const realNames = new Set(real.map(([k]) => k).filter((k) => !k.startsWith('variable_')));
    const missing = [...realNames].filter((k) => !mine.some(([m]) => m === k));
    expect(missing).toEqual(['Caller-Callee-ID-Name', 'Caller-Callee-ID-Number']);
    // the dialplan's variables, set before park, are there in the same order
    const vars = (h: Header[]): string[] => h.filter(([k]) => /^variable_(callguard_|current_application$)/.test(k)).map(([k]) => k);
    expect(vars(mine)).toEqual(vars(real));
    expect(getHeader(mine, 'Unique-ID')).toBe(call.uuid);
  });
});

