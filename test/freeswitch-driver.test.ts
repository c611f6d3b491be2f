import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { carryOut } from '../agent/actions/carry-out';
import { DEFAULT_ACTION_SETTINGS } from '../agent/actions/settings';
import type { CallControl } from '../agent/actions/call-control';
import type { CallFacts, Decision } from '../agent/engine/types';
import { factsFromChannel } from '../agent/pbx/freeswitch/channel-facts';
import { BadCredentials, FreeSwitchInboundClient } from '../agent/pbx/freeswitch/inbound-client';
import { ALIVE_UNTIL } from '../agent/pbx/freeswitch/screen-marks';
import { FreeSwitchOutboundServer } from '../agent/pbx/freeswitch/outbound-server';
import type { ChannelDeps } from '../agent/pbx/freeswitch/screen-channel';
import { DEFAULT_FREESWITCH } from '../agent/pbx/settings';
import type { FreeSwitchSettings } from '../agent/pbx/settings';
import type { Screener } from '../agent/screening/screener';
import { PATIENCE_MS, eventually, screeningWorld } from './helpers/screening';
import type { ScreeningWorld } from './helpers/screening';
import { FrameParser, FreeSwitchSim, decodeFrame, getHeader, parseTranscript, streamFrom } from './sim/freeswitch';
import type { CallResult, CallSpec, OutboundCallSpec, SimEvent } from './sim/freeswitch';

const SETTINGS: FreeSwitchSettings = { ...DEFAULT_FREESWITCH, promptDir: '/opt/callguard/prompts', forwardDialString: 'sofia/gateway/trunk/{number}' };
const DID = '15551230000';

let world: ScreeningWorld;
let sim: FreeSwitchSim;
let simPort: number;

beforeEach(async () => {
  world = screeningWorld({ challenge: { digit: '1', timeoutMs: 5000, tries: 2 } });
  sim = new FreeSwitchSim({ password: 'ClueCon' });
  simPort = await sim.start();
});

afterEach(async () => {
  await sim.close();
  world.close();
});

const deps = (): ChannelDeps => ({ screener: world.screener, logger: world.logger, settings: SETTINGS });
const apps = (result: CallResult) => result.apps.map((app) => `${app.app} ${app.arg}`.trim());
const sent = (result: CallResult) => result.commands.map((command) => command.raw).join('');

describe('outbound mode (the dialplan `socket` connects to callguard)', () => {
  let server: FreeSwitchOutboundServer;
  beforeEach(async () => {
    server = new FreeSwitchOutboundServer({ host: '127.0.0.1', port: 0 }, deps());
    await server.start();
  });
  afterEach(async () => {
    await server.stop(200);
  });

  const place = (caller: string, spec: OutboundCallSpec = {}) =>
    sim.placeOutboundCall('127.0.0.1', server.port, { callerIdNumber: caller, callerIdName: 'Alice', destinationNumber: DID, ...spec }).done;

  it('allow: closes the socket so the dialplan takes its next action', async () => {
    const result = await place('+12125551234');
    expect(result.outcome).toBe('continued');
    expect(result.commands.map((command) => command.kind)).toEqual(['connect', 'myevents', 'nixevent', 'event', 'exit']);
    expect(result.apps).toEqual([]);
    expect(world.calls()).toMatchObject([{ action: 'allow', outcome: 'continued', caller: '+12125551234' }]);
  });

  it('allow hands back at once with the synchronous socket, and only after the park with `async`', async () => {
    for (let i = 0; i < 20; i++) expect((await place('+12125551234', { async: false })).outcome).toBe('continued');
    for (let i = 0; i < 20; i++) expect((await place('+12125551234', { async: true, parkDelayMs: i % 4 })).outcome).toBe('continued');
  });

  it('block: early media, the not-accepted prompt, CALL_REJECTED (21)', async () => {
    world.rule('404*', 'block');
    const result = await place('4045551234');
    expect(apps(result)).toEqual(['pre_answer', 'playback /opt/callguard/prompts/callguard-not-accepted.wav', 'hangup CALL_REJECTED']);
    expect(result).toMatchObject({ outcome: 'hungup', hangupCause: 'CALL_REJECTED', hangupCauseCode: 21 });
    expect(result.variables.answer_state ?? 'early').not.toBe('answered');
    expect(world.calls()).toMatchObject([{ action: 'block', outcome: 'rejected', outcome_detail: 'CALL_REJECTED' }]);
  });

  it('busy: USER_BUSY (17) before answer, nothing played', async () => {
    world.rule('404*', 'busy');
    const result = await place('4045551234');
    expect(apps(result)).toEqual(['hangup USER_BUSY']);
    expect(result).toMatchObject({ outcome: 'hungup', hangupCauseCode: 17 });
  });

  it('disconnected: early media, SIT tones and not-in-service prompt, UNALLOCATED_NUMBER (1)', async () => {
    world.rule('404*', 'disconnected');
    const result = await place('4045551234');
    expect(apps(result)).toEqual(['pre_answer', 'playback /opt/callguard/prompts/callguard-not-in-service.wav', 'hangup UNALLOCATED_NUMBER']);
    expect(result).toMatchObject({ outcome: 'hungup', hangupCauseCode: 1 });
  });

  it('challenge passed: answer, ask for a key, 1 continues the normal route', async () => {
    world.rule('404*', 'challenge');
    const result = await place('4045551234', { digits: '1' });
    expect(apps(result)).toEqual([
      'answer',
      'play_and_get_digits 1 1 1 5000 # /opt/callguard/prompts/callguard-challenge.wav silence_stream://250 callguard_digit_1 [0-9*#]',
    ]);
    expect(result.outcome).toBe('continued');
    expect(world.calls()).toMatchObject([{ action: 'challenge', outcome: 'passed', outcome_detail: 'pressed 1' }]);
  });

  it('challenge failed by a wrong key: goodbye at once, no second try', async () => {
    world.rule('404*', 'challenge');
    const result = await place('4045551234', { digits: '7' });
    expect(apps(result).map((line) => line.split(' ')[0])).toEqual(['answer', 'play_and_get_digits', 'playback', 'hangup']);
    expect(apps(result)[2]).toBe('playback /opt/callguard/prompts/callguard-goodbye.wav');
    expect(result).toMatchObject({ outcome: 'hungup', hangupCause: 'NORMAL_CLEARING' });
    expect(world.calls()).toMatchObject([{ outcome: 'failed', outcome_detail: 'pressed 7' }]);
  });

  it('challenge failed by silence: two tries, then goodbye', async () => {
    world.rule('404*', 'challenge');
    const result = await place('4045551234');
    expect(apps(result).map((line) => line.split(' ')[0])).toEqual(['answer', 'play_and_get_digits', 'play_and_get_digits', 'playback', 'hangup']);
    expect(apps(result)[2]).toContain('callguard_digit_2');
    expect(world.calls()).toMatchObject([{ outcome: 'failed', outcome_detail: 'no key in 2 tries' }]);
  });

  it("voicemail: the rule's box, else the number called; nobody rings", async () => {
    world.rule('404*', 'voicemail', '200');
    world.rule('405*', 'voicemail');
    const named = await place('4045551234');
    expect(apps(named)[0]).toBe('voicemail default ${domain_name} 200');
    expect(named.outcome).toBe('voicemail');
    const own = await place('4055551234');
    expect(apps(own)[0]).toBe(`voicemail default \${domain_name} ${DID}`);
    await eventually(() => world.calls().map((row) => row.outcome).join() === 'voicemail,voicemail');
  });

  it('forward answered: bridged through the dial-string template, caller ID untouched', async () => {
    world.rule('404*', 'forward', '+13125550100');
    const result = await place('4045551234', { bridge: { answer: true, talkMs: 5 } });
    expect(apps(result)).toEqual(['set continue_on_fail=true', 'set hangup_after_bridge=true', 'bridge sofia/gateway/trunk/+13125550100']);
    expect(result.outcome).toBe('bridged');
    expect(sent(result)).not.toContain('caller_id');
    await eventually(() => world.calls()[0]?.outcome === 'answered');
  });

  it('forward failed: the call goes on to its normal route', async () => {
    world.rule('404*', 'forward', '+13125550100');
    const result = await place('4045551234', { bridge: { answer: false, cause: 'USER_BUSY' } });
    expect(result.outcome).toBe('continued');
    expect(result.commands.at(-1)?.kind).toBe('exit');
    expect(world.calls()).toMatchObject([{ outcome: 'forward_failed', outcome_detail: '+13125550100' }]);
  });

  it('a caller who hangs up during a prompt or the challenge is cleaned up at once', async () => {
    world.rule('404*', 'block');
    world.rule('405*', 'challenge');
    const baseline = sim.openSockets;
    const duringPrompt = await place('4045551234', { hangupOn: 'playback' });
    const duringChallenge = await place('4055551234', { hangupOn: 'play_and_get_digits' });
    expect(duringPrompt.outcome).toBe('hungup');
    expect(duringChallenge.outcome).toBe('hungup');
    await eventually(() => world.calls().every((row) => row.outcome === 'hungup') && server.inProgress === 0 && sim.openSockets === baseline);
    await eventually(() => server.openConnections === 0);
    expect(world.calls().map((row) => row.outcome_detail)).toEqual(['playback', 'play_and_get_digits']);
  });

  it('survives a socket that dies mid-call and keeps serving', async () => {
    world.rule('404*', 'challenge');
    // Cut the moment the challenge prompt starts: the call is then in the agent's hands, however slow the machine.
    let inProgressAtCut: number | undefined;
    sim.on('event', (event: SimEvent) => {
      if (event.name !== 'PLAYBACK_START' || inProgressAtCut !== undefined) return;
      inProgressAtCut = server.inProgress;
      sim.dropConnections();
    });
    const dying = place('4045551234', { playbackMs: 200 });
    await dying;
    expect(inProgressAtCut).toBe(1);
    await eventually(() => server.inProgress === 0);
    expect((await place('+12125551234')).outcome).toBe('continued');
    expect(world.calls().map((row) => row.outcome)).toEqual(['hungup', 'continued']);
    // A connection cut without a clean end is forgotten too (modesl alone would keep it forever).
    await eventually(() => server.openConnections === 0);
  });

  it('a stopping agent goes on serving I/O while it waits for a connection FreeSWITCH has not answered yet', async () => {
    // Accepted, `connect` sent, no answer: the connection waits in the opening state, which stop() waits for.
    const silent = connect(server.port, '127.0.0.1');
    await eventually(() => server.openConnections === 1, PATIENCE_MS, 'the connection accepted');
    const stopped = server.stop(10 * PATIENCE_MS);
    // Its close must reach the stopping agent (once it spun on a settled promise and saw no I/O for the whole grace).
    silent.destroy();
    await stopped;
    expect(server.openConnections).toBe(0);
    server = new FreeSwitchOutboundServer({ host: '127.0.0.1', port: 0 }, deps());
    await server.start();
  }, 3 * PATIENCE_MS);

  it('treats a channel with no caller ID as anonymous', async () => {
    world.rule('anonymous', 'busy');
    const result = await place('', { callerIdName: '' });
    expect(result).toMatchObject({ hangupCause: 'USER_BUSY' });
  });

  it('a hostile caller name or number never reaches the command stream', async () => {
    world.rule('404*', 'block');
    const name = `O'Brien "Bob"\napi status\n\n\${system(touch /tmp/pwn)}` + 'x'.repeat(10_000);
    for (const caller of ['4045551234', '\napi uuid_kill all\n\n', '${system(id)}', "'; DROP TABLE rules; --"]) {
      const result = await place(caller, { callerIdName: name });
      const stream = sent(result);
      expect(stream).not.toContain('api status');
      expect(stream).not.toContain('system(');
      expect(stream).not.toContain('uuid_kill');
      expect(stream).not.toContain('xxxxxxxxxx');
      expect(result.commands.filter((command) => command.kind === 'api')).toEqual([]);
    }
    expect(world.db.prepare('SELECT COUNT(*) FROM rules').pluck().get()).toBe(1);
  });

  it('a caller name modesl cannot URL-decode (Jos%E9) does not crash the agent', async () => {
    const result = await place('+12125551234', { callerIdName: 'Jos%E9 %ZZ %' });
    expect(result.outcome).toBe('continued');
    expect((await place('+12125551235')).outcome).toBe('continued');
  });

  it('survives arbitrary bytes from a client posing as FreeSWITCH', async () => {
    await new Promise<void>((done) => {
      const socket = connect(server.port, '127.0.0.1', () => {
        socket.write('Content-Length: zz\nContent-Type: command/reply\nCaller-Caller-ID-Name: %E9%\n\n\u0000\u00ff\n\nEvent-Name: x%\n\n');
        setTimeout(() => socket.destroy(), 30);
      });
      socket.on('close', () => done());
      socket.on('error', () => undefined);
    });
    expect((await place('+12125551234')).outcome).toBe('continued');
  });

  it('marks a flagged call with a caller-name prefix and a variable, as plain text', async () => {
    const flagged: Screener = {
      screen: async (call: CallControl, facts: CallFacts) => {
        const decision = { action: 'allow', flagged: true, target: null } as unknown as Decision;
        await carryOut({ call, decision, settings: DEFAULT_ACTION_SETTINGS, rescreen: async () => null });
        return { uid: 'x', decision, outcome: { outcome: 'continued', detail: facts.callerName ?? null } };
      },
    } as unknown as Screener;
    await server.stop(10);
    server = new FreeSwitchOutboundServer({ host: '127.0.0.1', port: 0 }, { ...deps(), screener: flagged });
    await server.start();
    const result = await place('+12125551234', { callerIdName: 'Robo ${system(id)} {x}\\' });
    expect(apps(result)).toEqual(['set effective_caller_id_name=SPAM? Robo system(id) x', 'set callguard_suspected_spam=true']);
    expect(result.variables.effective_caller_id_name).toBe('SPAM? Robo system(id) x');
    expect(result.outcome).toBe('continued');
  });
});

describe('inbound mode (callguard connects to FreeSWITCH and screens parked calls)', () => {
  let client: FreeSwitchInboundClient;
  beforeEach(async () => {
    client = new FreeSwitchInboundClient({ host: '127.0.0.1', port: simPort, password: 'ClueCon' }, deps());
    await client.start();
  });
  afterEach(async () => {
    await client.stop(200);
  });

  const park = (caller: string, spec: CallSpec = {}) =>
    sim.parkCall({ callerIdNumber: caller, destinationNumber: DID, context: 'public', dialplanSet: { callguard_screen: 'true' }, ...spec });

  it('allow transfers the call back to its destination, marked as screened (no loop)', async () => {
    expect(client.connected).toBe(true);
    const result = await park('+12125551234').done;
    expect(result.outcome).toBe('transferred');
    expect(result.transfer).toMatchObject({ destination: DID, context: 'public' });
    // Through the API: the variable is set at once, the transfer taken on the parked channel's next turn.
    expect(result.transfer?.via).toBe('uuid_transfer');
    expect(apps(result)).toEqual([]);
    expect(result.commands.filter((command) => command.kind === 'api').map((command) => `${command.command} ${command.args}`)).toEqual([
      `uuid_setvar ${result.variables.uuid} callguard_screened true`,
      `uuid_transfer ${result.variables.uuid} ${DID} XML public`,
    ]);
    expect(result.variables.callguard_screened).toBe('true');
  });

  it('carries out block on a parked call and logs it', async () => {
    world.rule('404*', 'block');
    const result = await park('4045551234').done;
    expect(apps(result)).toEqual(['pre_answer', 'playback /opt/callguard/prompts/callguard-not-accepted.wav', 'hangup CALL_REJECTED']);
    expect(result.hangupCauseCode).toBe(21);
    await eventually(() => world.calls()[0]?.outcome === 'rejected');
  });

  it('ignores channels the dialplan did not mark, and ones already screened', async () => {
    const unmarked = park('+12125551234', { dialplanSet: {} });
    const screened = park('+12125551234', { dialplanSet: { callguard_screen: 'true', callguard_screened: 'true' } });
    await unmarked.whenParked();
    await screened.whenParked();
    const marked = await park('+12125551235').done;
    expect(marked.outcome).toBe('transferred');
    expect(unmarked.commands.filter((command) => command.uuid === unmarked.uuid)).toEqual([]);
    expect(screened.commands.filter((command) => command.uuid === screened.uuid)).toEqual([]);
    expect(world.calls()).toHaveLength(1);
  });

  it('a destination FreeSWITCH would expand is never transferred to: the call is cleared', async () => {
    const result = await park('+12125551234', { destinationNumber: '${system(id)}' }).done;
    expect(apps(result)).toEqual(['hangup NORMAL_CLEARING']);
    expect(sent(result)).not.toContain('system');
    await eventually(() => world.calls()[0]?.outcome === 'error');
  });

  it('a caller hanging up mid-challenge leaves no listeners behind on the shared connection', async () => {
    world.rule('404*', 'challenge');
    const result = await park('4045551234', { hangupOn: 'play_and_get_digits' }).done;
    expect(result.outcome).toBe('hungup');
    await eventually(() => client.inProgress === 0);
    await eventually(() => world.calls()[0]?.outcome === 'hungup');
    const conn = (client as unknown as { conn: { eventNames(): (string | string[])[] } }).conn;
    const perChannel = conn.eventNames().map(String).filter((name) => name.includes(result.variables.uuid ?? 'none') || /CHANNEL_(HANGUP|BRIDGE|EXECUTE_COMPLETE)::/.test(name));
    expect(perChannel).toEqual([]);
  });

  it('keeps a heartbeat the dialplan checks before parking, refreshed every second and cleared when it stops', async () => {
    await eventually(() => Number(sim.globals.get(ALIVE_UNTIL)) >= Math.floor(Date.now() / 1000) + 3);
    const first = sim.globals.get(ALIVE_UNTIL);
    await eventually(() => sim.globals.get(ALIVE_UNTIL) !== first);
    await client.stop(10);
    expect(sim.globals.get(ALIVE_UNTIL)).toBe('0');
  });

  it('reconnects after the connection drops, and screens again', async () => {
    const accepted = sim.stats.inboundAccepted;
    sim.dropConnections();
    // The client noticed the loss: it opened a new connection (after its 1 s backoff), and that one is ready.
    await eventually(() => sim.stats.inboundAccepted === accepted + 1 && client.connected && sim.openInboundSockets === 1);
    expect(sim.stats.dropped).toBe(1);
    expect((await park('+12125551234').done).outcome).toBe('transferred');
  });

  it('stop waits for a call in progress only for its grace period, then sends it on unscreened rather than leave it parked', async () => {
    world.rule('404*', 'block');
    // The not-accepted prompt plays for longer than any test lasts: the call cannot end by itself.
    const call = park('4045551234', { playbackMs: 10 * PATIENCE_MS });
    await new Promise<void>((resolve) =>
      sim.on('event', (event: SimEvent, channel?: unknown) => {
        if (channel === call && event.name === 'PLAYBACK_START') resolve();
      }),
    );
    expect(client.inProgress).toBe(1);
    await client.stop(20);
    expect(call.playbacks).toEqual(['/opt/callguard/prompts/callguard-not-accepted.wav']);
    // Past the grace the agent lets go of the call as Asterisk's driver does: through to its normal route, not stranded in park.
    expect((await call.done).outcome).toBe('transferred');
    expect(call.getVar('callguard_screened')).toBe('true');
    await eventually(() => client.inProgress === 0);
  });
});

describe('inbound mode at start', () => {
  it('a wrong password rejects start with a clear error', async () => {
    const client = new FreeSwitchInboundClient({ host: '127.0.0.1', port: simPort, password: 'wrong' }, deps());
    await expect(client.start()).rejects.toThrow(BadCredentials);
    await expect(client.start()).rejects.toThrow(/refused the event-socket password/);
    await client.stop(10);
  });

  it('an unreachable FreeSWITCH is retried with backoff until it answers', async () => {
    const port = simPort;
    await sim.stopListening();
    const client = new FreeSwitchInboundClient({ host: '127.0.0.1', port, password: 'ClueCon' }, deps());
    await client.start();
    expect(client.connected).toBe(false);
    const again = new FreeSwitchSim({ password: 'ClueCon', port });
    await again.start();
    try {
      await eventually(() => client.connected);
    } finally {
      await client.stop(10);
      await again.close();
    }
  });
});

const REFERENCE = resolve(__dirname, '../../shared/reference/freeswitch-esl');

describe.skipIf(!existsSync(REFERENCE))('real FreeSWITCH transcripts', () => {
  it('reads the same caller, DID and variables from the real channel data as from the simulator', () => {
    const files = readdirSync(REFERENCE).filter((file) => /^outbound-transcript.*\.txt$/.test(file));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const stream = streamFrom(parseTranscript(readFileSync(join(REFERENCE, file))), true);
      const frame = decodeFrame(new FrameParser().push(stream)[0]!);
      const header = (name: string) => getHeader(frame.headers, name);
      const facts = factsFromChannel(header, SETTINGS);
      expect(facts.from, file).toBe(header('Caller-Caller-ID-Number'));
      expect(facts.from, file).toMatch(/^\+?\d+$/);
      expect(facts.to, file).toBe(header('Caller-Destination-Number'));
      expect(facts.callerName, file).toBe(header('Caller-Caller-ID-Name'));
      expect(header('variable_callguard_mode'), file).toBeDefined();
    }
  });
});
