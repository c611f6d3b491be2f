// The Asterisk ARI simulator, exercised through the real ari-client over real sockets.
import { execFile } from 'node:child_process';
import diagnostics from 'node:diagnostics_channel';
import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { PATIENCE_MS } from './helpers/patience';
import {
  API_DECLARATIONS,
  RESOURCE_LISTING,
  dialplanFromConf,
  parseAsteriskConf,
  startAsteriskSim,
  type AsteriskSim,
  type AsteriskSimOptions,
  type SentEvent,
  type SimCall,
} from './sim/asterisk';

const requireCjs = createRequire(__filename);
const ARI_CLIENT_PATH = requireCjs.resolve('ari-client');
const REFERENCE_DIR = path.resolve(__dirname, '../../shared/reference/asterisk-ari');

// ari-client ships no types; this is the part the tests touch.
type AriOp = (opts?: Record<string, unknown>) => Promise<any>;
type Ops<K extends string> = Record<K, AriOp>;
interface AriClient {
  start(apps: string | string[]): Promise<void>;
  stop(): void;
  on(event: string, cb: (event: any, resource?: any) => void): void;
  removeListener(event: string, cb: (event: any, resource?: any) => void): void;
  channels: Ops<'get' | 'originate' | 'hangup' | 'continueInDialplan' | 'answer' | 'play' | 'getChannelVar' | 'setChannelVar'>;
  bridges: Ops<'create' | 'destroy' | 'addChannel' | 'removeChannel'>;
  playbacks: Ops<'get' | 'stop'>;
  applications: Ops<'get' | 'subscribe'>;
  asterisk: Ops<'getGlobalVar' | 'setGlobalVar'>;
}
const ari = requireCjs('ari-client') as { connect(url: string, user: string, pass: string): Promise<AriClient> };

let sim: AsteriskSim | undefined;
let clients: AriClient[] = [];

/** ari.connect without swagger-client's "deprecated version of Swagger" console line. */
async function connect(url: string, user: string, pass: string): Promise<AriClient> {
  const log = console.log;
  console.log = (...args: unknown[]) => {
    if (!(Array.isArray(args[0]) && /deprecated version of Swagger/.test(String(args[0][0])))) log(...args);
  };
  try {
    return await ari.connect(url, user, pass);
  } finally {
    console.log = log;
  }
}

async function setup(opts: AsteriskSimOptions = {}): Promise<{ sim: AsteriskSim; client: AriClient }> {
  sim = await startAsteriskSim(opts);
  const client = await connect(sim.url, sim.username, sim.password);
  clients.push(client);
  await client.start('callguard');
  return { sim, client };
}

afterEach(async () => {
  for (const c of clients) c.stop();
  clients = [];
  if (sim) {
    expect(sim.internalErrors).toEqual([]);
    await sim.close();
  }
  sim = undefined;
});

/** Next ari-client event of `type` matching `pred`; gives up only after `timeoutMs` (a hang detector: see helpers/patience.ts). */
function nextEvent(client: AriClient, type: string, pred: (e: any) => boolean = () => true, timeoutMs = PATIENCE_MS): Promise<any> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.removeListener(type, onEvent);
      reject(new Error(`no ${type} within ${timeoutMs} ms`));
    }, timeoutMs);
    function onEvent(e: any) {
      if (!pred(e)) return;
      clearTimeout(timer);
      client.removeListener(type, onEvent);
      resolve(e);
    }
    client.on(type, onEvent);
  });
}

/** Rejection message of an ari-client REST call (it is the JSON error body). */
async function restError(p: Promise<unknown>): Promise<{ message?: string; error?: string }> {
  const err = await p.then(
    () => {
      throw new Error('expected the request to fail');
    },
    (e: unknown) => e,
  );
  return JSON.parse((err as Error).message);
}

function rawRequest(
  s: AsteriskSim,
  method: string,
  pathAndQuery: string,
  opts: { body?: Buffer | string; headers?: Record<string, string>; auth?: boolean } = {},
): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (opts.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(opts.body));
    if (opts.auth !== false) headers.Authorization = `Basic ${Buffer.from(`${s.username}:${s.password}`).toString('base64')}`;
    const req = http.request({ host: '127.0.0.1', port: s.port, method, path: pathAndQuery, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
    });
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

const eventsOf = (call: SimCall, type: string) => call.events.filter((e) => e.event.type === type);

describe('connecting with ari-client', () => {
  it('loads the Swagger, exposes exactly the offered operations and opens the event WebSocket', async () => {
    const { sim, client } = await setup();
    expect(sim.openWebSocketCount()).toBe(1);
    expect(sim.isAppConnected('callguard')).toBe(true);
    const ops = (r: object) => Object.entries(r).filter(([, v]) => typeof v === 'function').map(([k]) => k).sort();
    expect(ops(client.channels)).toEqual(
      ['answer', 'continueInDialplan', 'dial', 'get', 'getChannelVar', 'hangup', 'originate', 'play', 'progress', 'ring', 'setChannelVar'].sort(),
    );
    expect(ops(client.bridges)).toEqual(['addChannel', 'create', 'destroy', 'get', 'removeChannel']);
    expect(ops(client.playbacks)).toEqual(['get', 'stop']);
    expect(ops(client.applications)).toEqual(['get', 'subscribe']);
    expect(ops(client.asterisk)).toEqual(['getGlobalVar', 'setGlobalVar']);
  });

  it('fails on wrong credentials (ari-client also throws the error as an uncaught exception)', async () => {
    sim = await startAsteriskSim();
    // Run in a child: ari-client 2.2 throws the failure uncaught and keeps credentials in a
    // process-wide singleton, neither of which may leak into this test process. The child reports
    // once it has both the outcome and the uncaught exception (or, failing that, after a long while).
    const script = `
      let uncaught = null;
      let outcome = null;
      const report = () => { console.log(JSON.stringify({ ...outcome, uncaught })); process.exit(0); };
      const reportIfDone = () => { if (outcome && uncaught !== null) report(); };
      setTimeout(report, ${PATIENCE_MS / 2}).unref();
      process.on('uncaughtException', (e) => { uncaught = String(e); reportIfDone(); });
      require(${JSON.stringify(ARI_CLIENT_PATH)}).connect(${JSON.stringify(sim.url)}, 'callguard', 'wrong')
        .then(() => ({ connected: true }), (e) => ({ connected: false, error: String(e && e.message || e) }))
        .then((r) => { outcome = r; reportIfDone(); });`;
    const out = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['-e', script], { timeout: PATIENCE_MS }, (err, stdout) => (err ? reject(err) : resolve(stdout))),
    );
    const result = JSON.parse(out.trim().split('\n').pop() ?? '{}');
    expect(result.connected).toBe(false);
    expect(result.error).toMatch(/^401\b/);
    expect(result.uncaught).toBe(result.error);
    expect(sim.authFailures).toBeGreaterThan(0);
  });

  it('answers 401 with a Basic challenge on REST and on the WebSocket upgrade', async () => {
    sim = await startAsteriskSim();
    const rest = await rawRequest(sim, 'GET', '/ari/applications/callguard', { auth: false });
    expect(rest.status).toBe(401);
    expect(JSON.parse(rest.body)).toEqual({ message: 'Authentication required' });
    expect(rest.headers['www-authenticate']).toBe('Basic realm="Asterisk REST Interface"');
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${sim!.port}/ari/events?app=callguard&api_key=callguard:nope`);
      ws.on('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        ws.terminate();
      });
      ws.on('open', () => resolve(101));
      ws.on('error', () => undefined);
    });
    expect(status).toBe(401);
    expect(sim.openWebSocketCount()).toBe(0);
  });
});

describe('an inbound call', () => {
  it('enters Stasis ringing with the caller and DID as the PBX has them', async () => {
    const { sim, client } = await setup();
    const started = nextEvent(client, 'StasisStart');
    const call = sim.placeCall({ callerNumber: '+14045551234', callerName: 'Alice', exten: '+18005550100', context: 'from-trunk' });
    const e = await started;
    expect(e.channel.id).toBe(call.channelId);
    expect(e.channel.state).toBe('Ring');
    expect(e.channel.caller).toEqual({ name: 'Alice', number: '+14045551234' });
    expect(e.channel.dialplan).toMatchObject({ context: 'from-trunk', exten: '+18005550100', priority: 1, app_name: 'Stasis' });
    expect(e.args).toEqual([]);
    expect(e.application).toBe('callguard');
  });

  it('answers, plays to the end and hangs up as rejected (cause 21); StasisEnd is the last event', async () => {
    const { sim, client } = await setup();
    const started = nextEvent(client, 'StasisStart');
    const call = sim.placeCall({ callerNumber: '+14045551234', exten: '+18005550100' });
    const id = (await started).channel.id;

    const up = nextEvent(client, 'ChannelStateChange', (e) => e.channel.id === id);
    await client.channels.answer({ channelId: id });
    expect((await up).channel.state).toBe('Up');

    const finished = nextEvent(client, 'PlaybackFinished');
    const pb = await client.channels.play({ channelId: id, media: 'sound:hello-world', playbackId: 'pb-1' });
    expect(pb).toMatchObject({ id: 'pb-1', media_uri: 'sound:hello-world', target_uri: `channel:${id}`, state: 'queued' });
    expect((await finished).playback).toMatchObject({ id: 'pb-1', state: 'done' });

    const ended = nextEvent(client, 'StasisEnd');
    await client.channels.hangup({ channelId: id, reason: 'rejected' });
    await ended;
    const result = await call.done;
    expect(result).toMatchObject({ outcome: 'hungup', hangupBy: 'ari', hangupReason: 'rejected', hangupCause: 21, answered: true });
    expect(result.playbacks).toEqual([{ id: 'pb-1', media: ['sound:hello-world'], state: 'done', stopped: false }]);
    const types = call.events.map((e) => e.event.type);
    expect(types).toEqual(['StasisStart', 'ChannelStateChange', 'PlaybackStarted', 'PlaybackFinished', 'ChannelHangupRequest', 'StasisEnd']);
    expect(eventsOf(call, 'ChannelHangupRequest')[0]!.event).toMatchObject({ cause: 32, soft: true });
    expect(result.requests.map((r) => `${r.method} ${r.route} ${r.status}`)).toEqual([
      'POST /channels/{channelId}/answer 204',
      'POST /channels/{channelId}/play 201',
      'DELETE /channels/{channelId} 204',
    ]);
    expect(result.requests[2]!.query).toEqual({ reason: 'rejected' });
    await sim.waitUntil(() => sim.liveChannelCount() === 0);
    expect((await restError(client.channels.get({ channelId: id }))).message).toBe('Channel not found');
  });

  it.each([
    ['busy', 17],
    ['unallocated', 1],
    ['normal', 16],
  ])('records hangup reason %s as cause %i', async (reason, cause) => {
    const { sim, client } = await setup();
    const started = nextEvent(client, 'StasisStart');
    const call = sim.placeCall({ callerNumber: '100', exten: '200' });
    await started;
    await client.channels.hangup({ channelId: call.channelId, reason });
    expect(await call.done).toMatchObject({ outcome: 'hungup', hangupReason: reason, hangupCause: cause });
  });

  it('takes reason_code as the cause and answers 400 to an unknown reason', async () => {
    const { sim, client } = await setup();
    const started = nextEvent(client, 'StasisStart');
    const call = sim.placeCall({ callerNumber: '100', exten: '200' });
    await started;
    const bad = await rawRequest(sim, 'DELETE', `/ari/channels/${call.channelId}?reason=go_away`);
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body).message).toMatch(/Invalid reason/);
    expect(sim.liveChannelCount()).toBe(1);
    await client.channels.hangup({ channelId: call.channelId, reason_code: '42' });
    expect(await call.done).toMatchObject({ hangupReasonCode: '42', hangupCause: 42 });
  });

  it('continueInDialplan ends Stasis with outcome continued and the target recorded', async () => {
    const { sim, client } = await setup();
    const started = nextEvent(client, 'StasisStart');
    const call = sim.placeCall({ callerNumber: '100', exten: '200', context: 'from-trunk', priority: 2 });
    await started;
    const ended = nextEvent(client, 'StasisEnd');
    await client.channels.continueInDialplan({ channelId: call.channelId, context: 'callguard-allow', extension: '200', priority: 1 });
    await ended;
    const result = await call.done;
    expect(result).toMatchObject({ outcome: 'continued', stasisStatus: 'SUCCESS', continuedTo: { context: 'callguard-allow', extension: '200', priority: 1 } });
    expect(result.hangupCause).toBeUndefined();
  });

  it('continueInDialplan without arguments goes to the next priority', async () => {
    const { sim, client } = await setup();
    const started = nextEvent(client, 'StasisStart');
    const call = sim.placeCall({ callerNumber: '100', exten: '200', context: 'from-trunk', priority: 2 });
    await started;
    await client.channels.continueInDialplan({ channelId: call.channelId });
    expect((await call.done).continuedTo).toEqual({ context: 'from-trunk', extension: '200', priority: 3 });
  });

  it('delivers DTMF as ChannelDtmfReceived without stopping a playback, which DELETE /playbacks stops', async () => {
    // A playback longer than any test lasts: only the DELETE below ends it.
    const { sim, client } = await setup({ mediaDurationMs: 10 * PATIENCE_MS });
    const started = nextEvent(client, 'StasisStart');
    const call = sim.placeCall({ callerNumber: '100', exten: '200' });
    const id = (await started).channel.id;
    const playing = nextEvent(client, 'PlaybackStarted');
    const pb = await client.channels.play({ channelId: id, media: 'sound:press-1' });
    await playing;
    const dtmf = nextEvent(client, 'ChannelDtmfReceived');
    await call.sendDtmf('1');
    const e = await dtmf;
    expect(e).toMatchObject({ digit: '1', duration_ms: 100, channel: { id, state: 'Ring' } });
    expect(sim.activePlaybackCount()).toBe(1);
    expect((await client.playbacks.get({ playbackId: pb.id })).state).toBe('playing');
    const finished = nextEvent(client, 'PlaybackFinished');
    await client.playbacks.stop({ playbackId: pb.id });
    expect((await finished).playback.state).toBe('done');
    expect(sim.activePlaybackCount()).toBe(0);
    expect((await restError(client.playbacks.stop({ playbackId: pb.id }))).message).toBe('Playback not found');
  });

  it('plays before answer without answering, and an answer waits for a running playback', async () => {
    // A playback longer than any test lasts: it is still running when the answer arrives, however slow the machine.
    const { sim, client } = await setup({ mediaDurationMs: 10 * PATIENCE_MS });
    const started = nextEvent(client, 'StasisStart');
    const call = sim.placeCall({ callerNumber: '100', exten: '200' });
    const id = (await started).channel.id;
    const playing = nextEvent(client, 'PlaybackStarted');
    const pb = await client.channels.play({ channelId: id, media: 'sound:greeting' });
    await playing;
    expect(call.snapshot()!.state).toBe('Ring');
    let answered = false;
    const answer = client.channels.answer({ channelId: id }).then(() => (answered = true));
    await sim.waitUntil(() => call.requests.some((r) => r.nickname === 'answer'), PATIENCE_MS, 'the answer request');
    // Asterisk runs channel commands one at a time: the answer waits for the playback.
    expect(call.snapshot()!.state).toBe('Ring');
    expect(answered).toBe(false);
    await client.playbacks.stop({ playbackId: pb.id });
    await answer;
    expect(call.snapshot()!.state).toBe('Up');
    expect(call.events.map((e) => e.event.type)).toEqual(['StasisStart', 'PlaybackStarted', 'PlaybackFinished', 'ChannelStateChange']);
  });

  it('answers 409 to answer and play after StasisEnd, and 404 once the channel is gone', async () => {
    const { sim, client } = await setup({ continuedHangupAfterMs: null });
    const started = nextEvent(client, 'StasisStart');
    const call = sim.placeCall({ callerNumber: '100', exten: '200' });
    await started;
    await client.channels.continueInDialplan({ channelId: call.channelId });
    await call.done;
    const notInStasis = { message: 'Channel not in Stasis application' };
    expect(await restError(client.channels.play({ channelId: call.channelId, media: 'sound:x' }))).toEqual(notInStasis);
    expect(await restError(client.channels.answer({ channelId: call.channelId }))).toEqual(notInStasis);
    expect((await client.channels.get({ channelId: call.channelId })).id).toBe(call.channelId);
    await client.channels.hangup({ channelId: call.channelId });
    expect(sim.liveChannelCount()).toBe(0);
    expect(await restError(client.channels.answer({ channelId: call.channelId }))).toEqual({ message: 'Channel not found' });
  });

  it('lets the caller hang up when a playback starts (cause 16, not soft); ChannelDestroyed only when subscribed', async () => {
    const { sim, client } = await setup();
    const started = nextEvent(client, 'StasisStart');
    const call = sim.placeCall({ callerNumber: '100', exten: '200', callerHangup: { onPlaybackStart: 1 } });
    const id = (await started).channel.id;
    await client.applications.subscribe({ applicationName: 'callguard', eventSource: `channel:${id}` });
    const destroyed = nextEvent(client, 'ChannelDestroyed');
    await client.channels.play({ channelId: id, media: 'sound:hello' });
    const result = await call.done;
    expect(result).toMatchObject({ outcome: 'caller_hungup', hangupBy: 'caller', hangupCause: 16 });
    expect((await destroyed).cause).toBe(16);
    expect(call.events.map((e) => e.event.type)).toEqual([
      'StasisStart',
      'PlaybackStarted',
      'ChannelHangupRequest',
      'PlaybackFinished',
      'StasisEnd',
      'ChannelDestroyed',
    ]);
    const hangup = eventsOf(call, 'ChannelHangupRequest')[0]!.event as unknown as Record<string, unknown>;
    expect(hangup.cause).toBe(16);
    expect(hangup).not.toHaveProperty('soft');
  });

  it('keeps a hostile caller name intact and out of REST paths', async () => {
    const { sim, client } = await setup();
    const name = 'Eve "the" \'quoter\'\n../../bridges?a=b&reason=busy#x %2F+';
    const started = nextEvent(client, 'StasisStart');
    const call = sim.placeCall({ callerNumber: '+1 (404) 555-0000', callerName: name, exten: '200' });
    const e = await started;
    expect(e.channel.caller).toEqual({ name, number: '+1 (404) 555-0000' });

    await client.channels.setChannelVar({ channelId: call.channelId, variable: 'CG_CALLER', value: name });
    expect((await client.channels.getChannelVar({ channelId: call.channelId, variable: 'CG_CALLER' })).value).toBe(name);
    expect((await restError(client.channels.get({ channelId: name }))).message).toBe('Channel not found');
    const last = sim.requests.at(-1)!;
    expect(last.route).toBe('/channels/{channelId}');
    expect(last.pathParams).toEqual({ channelId: name });
    const setVar = call.requests.find((r) => r.nickname === 'setChannelVar')!;
    expect(setVar.route).toBe('/channels/{channelId}/variable');
    expect(setVar.query).toEqual({ variable: 'CG_CALLER', value: name });
    expect(sim.liveChannelCount()).toBe(1);
    expect(sim.bridgeIds()).toEqual([]);
  });

  it('fails over at once when no WebSocket serves the application', async () => {
    sim = await startAsteriskSim();
    const call = sim.placeCall({ callerNumber: '100', exten: '200' });
    expect(await call.done).toMatchObject({ outcome: 'stasis_failed', stasisStatus: 'FAILED' });
    expect(sim.liveChannelCount()).toBe(0);
  });
});

describe('originate and bridge', () => {
  it('bridges the caller with an answered leg', async () => {
    const { sim, client } = await setup();
    const started = nextEvent(client, 'StasisStart');
    const inbound = sim.placeCall({ callerNumber: '+14045551234', exten: '+18005550100' });
    await started;
    await client.channels.answer({ channelId: inbound.channelId });

    const outStarted = nextEvent(client, 'StasisStart', (e) => e.channel.id !== inbound.channelId);
    const out = await client.channels.originate({
      endpoint: 'PJSIP/+15555550123@trunk',
      app: 'callguard',
      appArgs: `forward,${inbound.channelId}`,
      callerId: '"Alice" <+14045551234>',
      timeout: 20,
      variables: { CG_FORWARDED: '1' },
    });
    expect(out).toMatchObject({ state: 'Down', caller: { name: 'Alice', number: '+14045551234' } });
    const s = await outStarted;
    expect(s.channel.id).toBe(out.id);
    expect(s.args).toEqual(['forward', inbound.channelId]);
    expect(s.channel.state).toBe('Up');
    const leg = sim.outboundCalls[0]!;
    expect(leg.events.map((e) => e.event.type)).toContain('ChannelStateChange');
    expect(leg.variable('CG_FORWARDED')).toBe('1');
    expect((await client.channels.getChannelVar({ channelId: out.id, variable: 'CALLERID(num)' })).value).toBe('+14045551234');

    const bridge = await client.bridges.create({ type: 'mixing', name: 'fwd' });
    expect(bridge).toMatchObject({ bridge_type: 'mixing', channels: [] });
    const entered: any[] = [];
    const onEntered = (e: any) => entered.push(e);
    client.on('ChannelEnteredBridge', onEntered);
    await client.bridges.addChannel({ bridgeId: bridge.id, channel: [inbound.channelId, out.id] });
    await sim.waitUntil(() => entered.length === 2, PATIENCE_MS, 'two ChannelEnteredBridge');
    expect(entered.map((e) => e.channel.id)).toEqual([inbound.channelId, out.id]);
    expect(entered[1].bridge.channels).toEqual([inbound.channelId, out.id]);

    inbound.hangup();
    const result = await inbound.done;
    expect(result).toMatchObject({ outcome: 'bridged', hangupBy: 'caller', hangupCause: 16, bridgedWith: [out.id] });
    expect(result.requests.map((r) => r.nickname)).toEqual(['answer', 'originate', 'addChannel']);
  });

  it('reports the cause of a leg that fails, and refuses to bridge it while it rings (422)', async () => {
    const { sim, client } = await setup();
    // One leg rings for longer than any test lasts, so the bridge attempt always finds it ringing; the other is busy.
    sim.onOriginate((info) => (info.endpoint.includes('ringing') ? { answer: true, afterMs: 10 * PATIENCE_MS } : { answer: false, cause: 17, afterMs: 100 }));
    const ringing = await client.channels.originate({ endpoint: 'PJSIP/ringing@trunk', app: 'callguard' });
    const bridge = await client.bridges.create({ type: 'mixing' });
    expect(await restError(client.bridges.addChannel({ bridgeId: bridge.id, channel: ringing.id }))).toEqual({
      message: 'Channel not in Stasis application',
    });
    const out = await client.channels.originate({ endpoint: 'PJSIP/+15555550123@trunk', app: 'callguard' });
    const destroyed = await nextEvent(client, 'ChannelDestroyed', (e) => e.channel.id === out.id);
    expect(destroyed).toMatchObject({ cause: 17, cause_txt: 'User busy' });
    const leg = sim.outboundCalls.find((c) => c.channelId === out.id)!;
    expect(await leg.done).toMatchObject({ outcome: 'failed', hangupCause: 17, answered: false });
    expect(leg.events.some((e) => e.event.type === 'StasisStart')).toBe(false);
    expect(eventsOf(leg, 'Dial').map((e) => (e.event as { dialstatus: string }).dialstatus)).toEqual(['', 'RINGING', 'BUSY']);
    expect(await restError(client.bridges.addChannel({ bridgeId: 'nope', channel: out.id }))).toEqual({ message: 'Bridge not found' });
  });

  it('refuses a channel id that is a prefix of an existing one (409)', async () => {
    const { sim, client } = await setup();
    const err = await restError(
      client.channels.originate({ endpoint: 'Local/100@default', app: 'callguard', channelId: 'fwd-c', otherChannelId: 'fwd' }),
    );
    expect(err).toEqual({ message: 'Channel with given unique ID already exists' });
    const ok = await client.channels.originate({ endpoint: 'Local/100@default', app: 'callguard', channelId: 'leg', otherChannelId: 'leg-2' });
    expect(ok.id).toBe('leg');
    expect(sim.liveChannelIds()).toEqual(expect.arrayContaining(['leg', 'leg-2']));
    expect(await restError(client.channels.originate({ endpoint: 'PJSIP/x', app: 'callguard', channelId: 'le' }))).toEqual(err);
  });
});

describe('channelvars and the dialplan, evaluated as Asterisk does', () => {
  const problems = (s: AsteriskSim) => s.asteriskLog.filter((l) => l.level === 'ERROR' || l.level === 'WARNING').map((l) => `${l.level} ${l.channel?.split('/')[0]}: ${l.message}`);
  const channelvarsOf = (e: any) => e.channel.channelvars as Record<string, string> | undefined;

  it('snapshots carry channelvars evaluated on each channel: a PJSIP function fails on others, with an ERROR each time', async () => {
    const { sim, client } = await setup({ channelvars: ['CALLGUARD_X', 'PJSIP_HEADER(read,From)', 'CALLERID(pres)'] });
    const started = nextEvent(client, 'StasisStart');
    const inbound = sim.placeCall({ callerNumber: '+14045551234', exten: '+18005550100', sipHeaders: { From: '"A, B" <sip:+14045551234@carrier.example>;tag=1' } });
    expect(channelvarsOf(await started)).toEqual({ CALLGUARD_X: '', 'PJSIP_HEADER(read,From)': '"A, B" <sip:+14045551234@carrier.example>;tag=1', 'CALLERID(pres)': 'allowed_not_screened' });
    expect(sim.asteriskLog).toEqual([]);
    // A plain variable shows in the next snapshot; unset it is "" and costs no log line.
    const varset = nextEvent(client, 'ChannelVarset', (e) => e.variable === 'CALLGUARD_X');
    await client.channels.setChannelVar({ channelId: inbound.channelId, variable: 'CALLGUARD_X', value: 'x' });
    expect(channelvarsOf(await varset)?.CALLGUARD_X).toBe('x');
    expect(sim.asteriskLog).toEqual([]);

    // A Local leg the application originates: every snapshot of it logs the failing function.
    const localStarted = nextEvent(client, 'StasisStart', (e) => e.channel.name.startsWith('Local/'));
    await client.channels.originate({ endpoint: 'Local/100@from-internal', app: 'callguard' });
    expect(channelvarsOf(await localStarted)).toEqual({ CALLGUARD_X: '', 'PJSIP_HEADER(read,From)': '', 'CALLERID(pres)': 'allowed_not_screened' });
    expect(new Set(problems(sim))).toEqual(new Set(['ERROR Local: This function requires a PJSIP channel.', 'ERROR Local: Error invoking function PJSIP_HEADER(read,From)']));
    // An outbound PJSIP leg received no INVITE: the header read fails too (quietly), and channel.c still says so.
    const before = sim.asteriskLog.length;
    const pjsipStarted = nextEvent(client, 'StasisStart', (e) => e.channel.name.startsWith('PJSIP/') && e.channel.id !== inbound.channelId);
    await client.channels.originate({ endpoint: 'PJSIP/+15125550100@trunk', app: 'callguard' });
    await pjsipStarted;
    expect(new Set(sim.asteriskLog.slice(before).map((l) => l.message))).toEqual(new Set(['Error invoking function PJSIP_HEADER(read,From)']));
  });

  it('without channelvars in ari.conf, snapshots carry none', async () => {
    const { sim, client } = await setup();
    const started = nextEvent(client, 'StasisStart');
    sim.placeCall({ callerNumber: '100', exten: '200' });
    expect((await started).channel).not.toHaveProperty('channelvars');
  });

  it('without chan_pjsip, PJSIP_HEADER is not registered', async () => {
    const { sim, client } = await setup({ channelvars: ['PJSIP_HEADER(read,From)'], pjsipLoaded: false });
    const started = nextEvent(client, 'StasisStart');
    sim.placeCall({ callerNumber: '100', exten: '200', endpoint: 'IAX2/provider' });
    expect(channelvarsOf(await started)).toEqual({ 'PJSIP_HEADER(read,From)': '' });
    expect(new Set(problems(sim))).toEqual(new Set(['ERROR IAX2: Function PJSIP_HEADER not registered', 'ERROR IAX2: Error invoking function PJSIP_HEADER(read,From)']));
  });

  const DIALPLAN = dialplanFromConf(
    parseAsteriskConf(
      [
        '[in]',
        'exten => _X.,1,ExecIf($["${CHANNEL(channeltype)}" = "PJSIP"]?Set(GUARDED=${PJSIP_HEADER(read,From)}))',
        ' same => n,GotoIf($["${CHANNEL(channeltype)}" != "PJSIP"]?go)',
        ' same => n,Set(SKIPPED=${PJSIP_HEADER(read,From)})',
        ' same => n(go),Stasis(callguard,${CHANNEL(channeltype)},${EXTEN:1:3})',
        ' same => n,Set(AFTER=a,b\\;"c")',
        ' same => n,Dial(PJSIP/reception,30)',
        '[box]',
        'exten => _[a-z]!,1,VoiceMail(${EXTEN}@default,u)',
      ].join('\n'),
      'test.conf',
    ),
  );

  it('runs the dialplan to Stasis(): a whole priority is expanded first, so ExecIf() does not keep a PJSIP function off an IAX2 call; GotoIf() does', async () => {
    const { sim, client } = await setup({ dialplan: DIALPLAN, continuedHangupAfterMs: null });
    const started = nextEvent(client, 'StasisStart');
    const call = sim.placeCall({ callerNumber: '100', exten: '2001', context: 'in', endpoint: 'IAX2/provider' });
    const start = await started;
    expect(start.args).toEqual(['IAX2', '001']);
    expect(start.channel.dialplan).toMatchObject({ context: 'in', exten: '2001', priority: 4, app_name: 'Stasis' });
    expect(problems(sim)).toEqual(['ERROR IAX2: This function requires a PJSIP channel.']);
    expect([call.variable('GUARDED'), call.variable('SKIPPED')]).toEqual([undefined, undefined]);
    await client.channels.continueInDialplan({ channelId: call.channelId });
    const result = await call.done;
    // Set() keeps commas, a literal (escaped) semicolon and quotes in the value.
    expect(call.variable('AFTER')).toBe('a,b;"c"');
    expect(result.dialplanStop).toEqual({ how: 'application', context: 'in', exten: '2001', priority: 6, app: 'Dial', data: 'PJSIP/reception,30' });
  });

  it('a PJSIP call runs the guarded lines; continuing to a label, or to an extension that does not exist', async () => {
    const { sim, client } = await setup({ dialplan: DIALPLAN, continuedHangupAfterMs: null });
    const from = '"Doe, John" <sip:+14045551234@carrier.example>;tag=x';
    const started = nextEvent(client, 'StasisStart');
    const call = sim.placeCall({ callerNumber: '100', exten: '2001', context: 'in', sipHeaders: { From: from } });
    await started;
    expect([call.variable('GUARDED'), call.variable('SKIPPED')]).toEqual([from, from]);
    await client.channels.continueInDialplan({ channelId: call.channelId, context: 'box', extension: 'sales' });
    expect((await call.done).dialplanStop).toMatchObject({ how: 'application', app: 'VoiceMail', data: 'sales@default,u' });

    const second = nextEvent(client, 'StasisStart');
    const lost = sim.placeCall({ callerNumber: '100', exten: '2002', context: 'in' });
    await second;
    await client.channels.continueInDialplan({ channelId: lost.channelId, context: 'box', extension: '42' });
    expect((await lost.done).dialplanStop).toMatchObject({ how: 'invalid', context: 'box', exten: '42' });
    expect(problems(sim)).toEqual([`WARNING PJSIP: Channel '${lost.snapshot()!.name}' sent to invalid extension but no invalid handler: context,exten,priority=box,42,1`]);
  });

  it('with no application connected, Stasis() fails and the shipped dialplan takes the normal route, with its warning', async () => {
    const extensions = fs.readFileSync(path.resolve(__dirname, '../dialplan/asterisk/extensions.conf'), 'utf8');
    sim = await startAsteriskSim({ dialplan: dialplanFromConf(parseAsteriskConf(extensions, 'extensions.conf')), continuedHangupAfterMs: null });
    const call = sim.placeCall({ callerNumber: '100', exten: '+18005550100', context: 'callguard-inbound' });
    const result = await call.done;
    expect(result).toMatchObject({ outcome: 'stasis_failed', stasisStatus: 'FAILED' });
    expect(result.dialplanStop).toMatchObject({ how: 'application', context: 'callguard-normal', exten: '+18005550100', app: 'Dial' });
    expect(problems(sim)).toEqual(['WARNING PJSIP: callguard is not connected: the call to +18005550100 goes through unscreened']);
  });
});

describe('a failover pair: Stasis() failing over, global variables, one application cut', () => {
  const EXTENSIONS = dialplanFromConf(parseAsteriskConf(fs.readFileSync(path.resolve(__dirname, '../dialplan/asterisk/extensions.conf'), 'utf8'), 'extensions.conf'));
  const DID = '+18005550100';
  const placePair = (s: AsteriskSim) => s.placeCall({ callerNumber: '100', exten: DID, context: 'callguard-inbound-pair' });
  const warnings = (s: AsteriskSim) => s.asteriskLog.filter((l) => l.level === 'ERROR' || l.level === 'WARNING').map((l) => l.message);

  async function serving(s: AsteriskSim, app: string): Promise<AriClient> {
    const client = await connect(s.url, s.username, s.password);
    clients.push(client);
    await client.start(app);
    return client;
  }

  it('a Stasis() no WebSocket serves fails over at once, and the dialplan goes on into the next one', async () => {
    sim = await startAsteriskSim({ dialplan: EXTENSIONS, continuedHangupAfterMs: null });
    const b = await serving(sim, 'callguard-b');
    const started = nextEvent(b, 'StasisStart');
    const call = placePair(sim);
    const start = await started;
    expect(start.application).toBe('callguard-b');
    expect(start.channel.dialplan).toMatchObject({ context: 'callguard-inbound-pair', exten: DID, priority: 14, app_name: 'Stasis', app_data: 'callguard-b' });
    expect(call.variable('STASISSTATUS')).toBe('FAILED');
    await b.channels.continueInDialplan({ channelId: call.channelId });
    expect(await call.done).toMatchObject({
      outcome: 'continued',
      stasisStatus: 'SUCCESS',
      enteredApps: ['callguard-b'],
      dialplanStop: { how: 'application', context: 'callguard-normal', exten: DID, app: 'Dial' },
    });
    expect(warnings(sim)).toEqual([]);
  });

  it('with neither application served, each Stasis() fails over and the call takes its normal route, with the warning', async () => {
    sim = await startAsteriskSim({ dialplan: EXTENSIONS, continuedHangupAfterMs: null });
    expect(await placePair(sim).done).toMatchObject({ outcome: 'stasis_failed', stasisStatus: 'FAILED', enteredApps: [], dialplanStop: { how: 'application', context: 'callguard-normal', app: 'Dial' } });
    expect(warnings(sim)).toEqual([`callguard is not connected: the call to ${DID} goes through unscreened`]);
  });

  it('a continue can run the dialplan into another Stasis(): the channel enters that application, and the call ends there', async () => {
    sim = await startAsteriskSim({ dialplan: EXTENSIONS, continuedHangupAfterMs: null });
    const a = await serving(sim, 'callguard-a');
    const b = await serving(sim, 'callguard-b');
    const inA = nextEvent(a, 'StasisStart');
    const handedOver = placePair(sim);
    await inA;
    const inB = nextEvent(b, 'StasisStart');
    await a.channels.setChannelVar({ channelId: handedOver.channelId, variable: 'CALLGUARD_STOPPING', value: 'yes' });
    await a.channels.continueInDialplan({ channelId: handedOver.channelId });
    expect((await inB).channel.dialplan).toMatchObject({ priority: 14, app_data: 'callguard-b' });
    expect(handedOver.finished).toBeUndefined();
    await b.channels.hangup({ channelId: handedOver.channelId, reason: 'busy' });
    const result = await handedOver.done;
    expect(result).toMatchObject({ outcome: 'hungup', hangupCause: 17, enteredApps: ['callguard-a', 'callguard-b'] });
    expect(result.continuedTo).toBeUndefined();
    expect(result.events.map((e) => `${e.application} ${e.event.type}`)).toEqual([
      'callguard-a StasisStart',
      'callguard-a ChannelVarset',
      'callguard-a StasisEnd',
      'callguard-b StasisStart',
      'callguard-b ChannelHangupRequest',
      'callguard-b StasisEnd',
    ]);

    // Continued without the mark, a call goes on to its normal route.
    const secondInA = nextEvent(a, 'StasisStart');
    const through = placePair(sim);
    await secondInA;
    await a.channels.continueInDialplan({ channelId: through.channelId });
    expect(await through.done).toMatchObject({ outcome: 'continued', enteredApps: ['callguard-a'], dialplanStop: { context: 'callguard-normal', app: 'Dial' } });
  });

  it('cuts one application\'s WebSocket: the others stay, and its channels stay in Stasis, listed by GET /applications', async () => {
    sim = await startAsteriskSim({ dialplan: EXTENSIONS, continuedHangupAfterMs: null });
    const s = sim;
    // A bare WebSocket, which (unlike ari-client) does not reconnect: a killed agent's.
    const dead = new WebSocket(`ws://127.0.0.1:${s.port}/ari/events?app=callguard-a&api_key=callguard:secret`);
    await new Promise((resolve) => dead.on('open', resolve));
    const b = await serving(s, 'callguard-b');
    const stranded = placePair(s);
    await s.waitForEvent('StasisStart', (e) => e.application === 'callguard-a');
    const closed = new Promise((resolve) => dead.on('close', resolve));
    expect(s.dropWebSocketsOf('callguard-a')).toBe(1);
    await closed;
    expect([s.isAppConnected('callguard-a'), s.isAppConnected('callguard-b')]).toEqual([false, true]);
    expect((await b.applications.get({ applicationName: 'callguard-a' })).channel_ids).toEqual([stranded.channelId]);
    // Stasis(callguard-a) fails over now.
    const inB = nextEvent(b, 'StasisStart');
    const next = placePair(s);
    await inB;
    expect(next.enteredApps).toEqual(['callguard-b']);
    // Any application's client may send the stranded channel on.
    await b.channels.continueInDialplan({ channelId: stranded.channelId });
    expect(await stranded.done).toMatchObject({ outcome: 'continued', enteredApps: ['callguard-a'], dialplanStop: { context: 'callguard-normal' } });
    // With no channel left in it and no WebSocket, the application is forgotten.
    expect((await restError(b.applications.get({ applicationName: 'callguard-a' }))).message).toBe('Application not found');
  });

  it('global variables: unset reads "", set and read back, a value left out unsets, no name is a 400', async () => {
    const { sim, client } = await setup();
    expect((await client.asterisk.getGlobalVar({ variable: 'CALLGUARD_ALIVE_UNTIL_A' })).value).toBe('');
    await client.asterisk.setGlobalVar({ variable: 'CALLGUARD_ALIVE_UNTIL_A', value: '1700000004' });
    expect((await client.asterisk.getGlobalVar({ variable: 'CALLGUARD_ALIVE_UNTIL_A' })).value).toBe('1700000004');
    expect(sim.globalVariable('CALLGUARD_ALIVE_UNTIL_A')).toBe('1700000004');
    await client.asterisk.setGlobalVar({ variable: 'CALLGUARD_ALIVE_UNTIL_A' });
    expect(sim.globalVariable('CALLGUARD_ALIVE_UNTIL_A')).toBe('');
    for (const method of ['GET', 'POST']) {
      const missing = await rawRequest(sim, method, '/ari/asterisk/variable');
      expect([missing.status, JSON.parse(missing.body)]).toEqual([400, { message: 'Variable name is required' }]);
    }
    expect(sim.requests.filter((r) => r.route === '/asterisk/variable').map((r) => `${r.method} ${r.status}`)).toEqual([
      'GET 200',
      'POST 204',
      'GET 200',
      'POST 204',
      'GET 400',
      'POST 400',
    ]);
  });
});

describe('WebSocket loss', () => {
  it('ari-client reconnects and GET /applications lists the channels still in Stasis', async () => {
    const { sim, client } = await setup();
    const started = nextEvent(client, 'StasisStart');
    const call = sim.placeCall({ callerNumber: '100', exten: '200' });
    await started;
    const reconnected = nextEvent(client, 'WebSocketConnected');
    expect(sim.dropWebSockets()).toBe(1);
    expect(sim.isAppConnected('callguard')).toBe(false);
    // While nobody serves the application, new calls fail over to the dialplan.
    expect((await sim.placeCall({ callerNumber: '101', exten: '200' }).done).outcome).toBe('stasis_failed');
    await reconnected;
    expect(sim.openWebSocketCount()).toBe(1);
    const app = await client.applications.get({ applicationName: 'callguard' });
    expect(app.channel_ids).toEqual([call.channelId]);
    expect(sim.sentEvents.filter((e) => e.event.type === 'StasisStart')).toHaveLength(1);
    await client.channels.hangup({ channelId: call.channelId, reason: 'normal' });
    expect(await call.done).toMatchObject({ outcome: 'hungup', hangupCause: 16 });
  });

  it('refused connections make the WebSocket retry until the simulator accepts again', async () => {
    const { sim, client } = await setup();
    const reconnecting = nextEvent(client, 'WebSocketReconnecting');
    await sim.refuseConnections();
    await reconnecting;
    expect(sim.openWebSocketCount()).toBe(0);
    const reconnected = nextEvent(client, 'WebSocketConnected');
    await sim.acceptConnections();
    await reconnected;
    expect(sim.isAppConnected('callguard')).toBe(true);
  });
});

describe('ari-client against an unreachable Asterisk', () => {
  it('leaves REST calls pending forever while connections are refused (no timeout, no error)', async () => {
    const { sim, client } = await setup();
    await sim.refuseConnections();
    // Follow the HTTP request the REST call makes, to know when its refused connection has been dealt with.
    const requests: http.ClientRequest[] = [];
    const onRequest = (message: unknown) => requests.push((message as { request: http.ClientRequest }).request);
    diagnostics.subscribe('http.client.request.start', onRequest);
    let outcome = 'pending';
    try {
      void client.channels.get({ channelId: 'any' }).then(
        () => (outcome = 'resolved'),
        () => (outcome = 'rejected'),
      );
      await sim.waitUntil(() => requests.some((r) => r.path === '/ari/channels/any'), PATIENCE_MS, 'the REST request');
    } finally {
      diagnostics.unsubscribe('http.client.request.start', onRequest);
    }
    const request = requests.find((r) => r.path === '/ari/channels/any')!;
    // The connection was refused and the request closed; once everything that follows from that has run, the call is still pending.
    if (!request.destroyed) await new Promise((resolve) => request.once('close', resolve));
    await new Promise((resolve) => setTimeout(resolve, 0));
    await new Promise((resolve) => setImmediate(resolve));
    expect(request.destroyed).toBe(true);
    expect(outcome).toBe('pending');
  });
});

describe('robustness', () => {
  it('never crashes on arbitrary paths, queries and bodies', async () => {
    sim = await startAsteriskSim();
    const s = sim;
    const ws = new WebSocket(`ws://127.0.0.1:${s.port}/ari/events?app=callguard&api_key=callguard:secret`);
    await new Promise((resolve) => ws.on('open', resolve));
    const live = s.placeCall({ callerNumber: '100', exten: '200' });
    const segment = fc.oneof(
      fc.constantFrom('channels', 'bridges', 'playbacks', 'applications', 'events', 'api-docs', live.channelId, 'play', 'variable', '{channelId}', '..', '%', '%2F', ''),
      fc.string({ maxLength: 12 }).map(encodeURIComponent),
    );
    const arb = fc.record({
      method: fc.constantFrom('GET', 'POST', 'DELETE', 'PUT', 'OPTIONS', 'PATCH'),
      segments: fc.array(segment, { minLength: 1, maxLength: 4 }),
      // Raw (not re-encoded) so broken escapes such as `%zz` or a lone `%` reach the parser.
      query: fc.stringMatching(/^[A-Za-z0-9%&=+,;:@!$'()*._~\-/?]{0,40}$/),
      contentType: fc.constantFrom('application/json', 'application/x-www-form-urlencoded', 'text/plain', 'application/json; charset=utf-8'),
      body: fc.oneof(fc.json(), fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b).toString('latin1')), fc.constant('')),
    });
    await fc.assert(
      fc.asyncProperty(arb, async ({ method, segments, query, contentType, body }) => {
        const p = `/ari/${segments.join('/')}?${query}`;
        const res = await rawRequest(s, method, p, { body, headers: { 'Content-Type': contentType } });
        expect([200, 201, 204, 400, 404, 405, 409, 412, 413, 422, 426, 500]).toContain(res.status);
        if (res.status >= 400) {
          const parsed = JSON.parse(res.body);
          expect(typeof (parsed.message ?? parsed.error)).toBe('string');
        }
      }),
      { numRuns: 150 },
    );
    expect(s.internalErrors).toEqual([]);
    const alive = await rawRequest(s, 'GET', '/ari/applications/callguard');
    expect(alive.status).toBe(200);
    ws.terminate();
  });
});

// ---- conformance with the recorded Asterisk 22 reference ----------------------------

interface RefParam { name: string; paramType: string; dataType: string; required?: boolean; allowMultiple?: boolean; allowableValues?: unknown }
interface RefOperation { httpMethod: string; nickname: string; responseClass: string; parameters?: RefParam[] }
interface RefModel { id: string; properties: Record<string, { type: string; required?: boolean; allowableValues?: { values?: string[] } }>; subTypes?: string[] }
interface RefDecl { apis: { path: string; operations: RefOperation[] }[]; models: Record<string, RefModel> }

function loadReference(): { listing: { apis: { path: string }[] }; decls: Record<string, RefDecl>; models: Record<string, RefModel> } {
  const read = (f: string) => JSON.parse(fs.readFileSync(path.join(REFERENCE_DIR, f), 'utf8'));
  const listing = read('resources.json');
  const decls: Record<string, RefDecl> = {};
  const models: Record<string, RefModel> = {};
  for (const f of fs.readdirSync(REFERENCE_DIR).filter((n) => n.endsWith('.json') && n !== 'resources.json')) {
    const d = read(f) as RefDecl;
    decls[f.replace(/\.json$/, '')] = d;
    Object.assign(models, d.models);
  }
  return { listing, decls, models };
}

/** Problems of `value` against reference model `type` (required fields, types, undeclared fields). */
function conform(value: unknown, type: string, models: Record<string, RefModel>, where: string, out: string[]): void {
  const list = /^List\[(.+)\]$/.exec(type);
  if (list) {
    if (!Array.isArray(value)) out.push(`${where}: expected ${type}`);
    else value.forEach((v, i) => conform(v, list[1]!, models, `${where}[${i}]`, out));
    return;
  }
  switch (type) {
    case 'string':
      if (typeof value !== 'string') out.push(`${where}: expected string`);
      return;
    case 'int':
    case 'long':
      if (!Number.isInteger(value)) out.push(`${where}: expected ${type}`);
      return;
    case 'boolean':
      if (typeof value !== 'boolean') out.push(`${where}: expected boolean`);
      return;
    case 'Date':
      if (typeof value !== 'string' || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4}$/.test(value)) out.push(`${where}: expected Date`);
      return;
    case 'object':
      if (typeof value !== 'object' || value === null) out.push(`${where}: expected object`);
      return;
  }
  const m = models[type];
  if (!m) {
    out.push(`${where}: unknown model ${type}`);
    return;
  }
  if (typeof value !== 'object' || value === null) {
    out.push(`${where}: expected ${type} object`);
    return;
  }
  // Events inherit Message and Event properties.
  const props = { ...m.properties };
  if (models.Event?.subTypes?.includes(type)) Object.assign(props, models.Message!.properties, models.Event.properties);
  const obj = value as Record<string, unknown>;
  for (const [k, p] of Object.entries(props)) {
    if (obj[k] === undefined) {
      if (p.required) out.push(`${where}.${k}: required field missing`);
      continue;
    }
    conform(obj[k], p.type, models, `${where}.${k}`, out);
    const allowed = p.allowableValues?.values;
    if (allowed && !allowed.includes(obj[k] as string)) out.push(`${where}.${k}: ${String(obj[k])} not allowed`);
  }
  for (const k of Object.keys(obj)) if (!(k in props)) out.push(`${where}.${k}: not declared in ${type}`);
}

describe.skipIf(!fs.existsSync(REFERENCE_DIR))('conformance with the Asterisk 22 reference', () => {
  it('offers only operations that exist in the reference, with the same path, method, nickname and parameters', () => {
    const ref = loadReference();
    const refPaths = ref.listing.apis.map((a) => a.path);
    for (const api of RESOURCE_LISTING.apis) expect(refPaths).toContain(api.path);
    let count = 0;
    for (const [resource, decl] of Object.entries(API_DECLARATIONS)) {
      const refDecl = ref.decls[resource];
      expect(refDecl, resource).toBeDefined();
      for (const api of decl.apis) {
        const refApi = refDecl!.apis.find((a) => a.path === api.path);
        expect(refApi, `${resource} ${api.path}`).toBeDefined();
        for (const op of api.operations) {
          count++;
          const refOp = refApi!.operations.find((o) => o.httpMethod === op.httpMethod);
          expect(refOp, `${op.httpMethod} ${api.path}`).toBeDefined();
          expect(op.nickname).toBe(refOp!.nickname);
          expect(op.responseClass).toBe(refOp!.responseClass);
          const mine = op.parameters.map((p) => ({ ...p, description: undefined }));
          const theirs = (refOp!.parameters ?? []).map((p) => ({
            name: p.name,
            description: undefined,
            paramType: p.paramType,
            required: p.required ?? false,
            allowMultiple: p.allowMultiple ?? false,
            dataType: p.dataType,
            ...(p.allowableValues ? { allowableValues: p.allowableValues } : {}),
          }));
          expect(mine, `${op.nickname} ${api.path}`).toEqual(theirs);
        }
      }
    }
    expect(count).toBe(23);
  });

  it('declares models with the reference properties, types and required flags', () => {
    const ref = loadReference();
    for (const decl of Object.values(API_DECLARATIONS)) {
      for (const [id, m] of Object.entries(decl.models)) {
        const r = ref.models[id];
        expect(r, id).toBeDefined();
        const norm = (props: Record<string, { type: string; required?: boolean }>) =>
          Object.fromEntries(Object.entries(props).map(([k, p]) => [k, { type: p.type, required: p.required ?? false }]));
        expect(norm(m.properties), id).toEqual(norm(r!.properties));
        for (const sub of m.subTypes ?? []) expect(r!.subTypes, id).toContain(sub);
      }
    }
  });

  it('sends events and REST bodies that carry every field the reference requires', async () => {
    const ref = loadReference();
    const { sim, client } = await setup();
    const started = nextEvent(client, 'StasisStart');
    const inbound = sim.placeCall({ callerNumber: '100', callerName: 'A', exten: '200' });
    await started;
    const bodies: [unknown, string][] = [];
    bodies.push([await client.channels.get({ channelId: inbound.channelId }), 'Channel']);
    await client.applications.subscribe({ applicationName: 'callguard', eventSource: `channel:${inbound.channelId}` });
    await client.channels.answer({ channelId: inbound.channelId });
    await client.channels.setChannelVar({ channelId: inbound.channelId, variable: 'X', value: '1' });
    bodies.push([await client.channels.getChannelVar({ channelId: inbound.channelId, variable: 'X' }), 'Variable']);
    const finished = nextEvent(client, 'PlaybackFinished');
    bodies.push([await client.channels.play({ channelId: inbound.channelId, media: ['sound:a', 'sound:b'] }), 'Playback']);
    await finished;
    await inbound.sendDtmf('5#');
    const outStarted = nextEvent(client, 'StasisStart', (e) => e.channel.id !== inbound.channelId);
    const out = await client.channels.originate({ endpoint: 'PJSIP/200', app: 'callguard' });
    bodies.push([out, 'Channel']);
    await outStarted;
    const bridge = await client.bridges.create({});
    bodies.push([bridge, 'Bridge']);
    await client.bridges.addChannel({ bridgeId: bridge.id, channel: [inbound.channelId, out.id] });
    await client.bridges.removeChannel({ bridgeId: bridge.id, channel: out.id });
    bodies.push([await client.applications.get({ applicationName: 'callguard' }), 'Application']);
    bodies.push([await client.asterisk.getGlobalVar({ variable: 'CALLGUARD_ALIVE_UNTIL_A' }), 'Variable']);
    await client.bridges.destroy({ bridgeId: bridge.id });
    await client.channels.hangup({ channelId: out.id });
    await client.channels.hangup({ channelId: inbound.channelId, reason: 'busy' });
    await inbound.done;
    await sim.waitForEvent('BridgeDestroyed');

    const problems: string[] = [];
    for (const [body, model] of bodies) conform(JSON.parse(JSON.stringify(body, (k, v) => (k === '_client' ? undefined : v))), model, ref.models, model, problems);
    const seen = new Set<string>();
    sim.sentEvents.forEach((e: SentEvent, i) => {
      seen.add(e.event.type);
      conform(e.event, e.event.type, ref.models, `event#${i}(${e.event.type})`, problems);
    });
    expect(problems).toEqual([]);
    expect([...seen].sort()).toEqual(
      [
        'BridgeDestroyed', 'ChannelDestroyed', 'ChannelDtmfReceived', 'ChannelEnteredBridge', 'ChannelHangupRequest',
        'ChannelLeftBridge', 'ChannelStateChange', 'ChannelVarset', 'Dial', 'PlaybackContinuing', 'PlaybackFinished',
        'PlaybackStarted', 'StasisEnd', 'StasisStart',
      ].sort(),
    );
  });
});
