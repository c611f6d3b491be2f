// How a parked FreeSWITCH channel takes work, as the simulator models it from
// switch_ivr_park, and how callguard's driver spends those turns: the loop looks for
// queued sendmsg work once per 20 ms turn and then runs all of it; a transfer flagged from
// outside (uuid_transfer, a scheduled transfer) ends the loop on a turn; uuid_setvar needs
// none. Plus the pieces of FreeSWITCH the inbound snippet leans on: the core scheduler
// (sched_transfer, sched_del), the cond API and the configuration preprocessor.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Connection, Event } from 'modesl';
import { afterEach, describe, expect, it } from 'vitest';
import { block } from '../agent/actions/block';
import { carryOut } from '../agent/actions/carry-out';
import { DEFAULT_ACTION_SETTINGS } from '../agent/actions/settings';
import type { Decision } from '../agent/engine/types';
import { EslCall } from '../agent/pbx/freeswitch/esl-call';
import { DEFAULT_FREESWITCH } from '../agent/pbx/settings';
import { eventually } from './helpers/screening';
import { FrameParser, FreeSwitchSim, decodeFrame, preprocess } from './sim/freeswitch';
import type { DecodedFrame } from './sim/freeswitch';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function started(): Promise<{ sim: FreeSwitchSim; port: number }> {
  const sim = new FreeSwitchSim({ password: 'ClueCon' });
  const port = await sim.start();
  cleanups.push(async () => {
    await sim.close();
    expect(sim.errors).toEqual([]);
  });
  return { sim, port };
}

/** An authenticated raw event-socket client: what it writes reaches FreeSWITCH in one piece. */
async function rawInbound(port: number): Promise<{ send(text: string): void; frames: DecodedFrame[] }> {
  const sock = net.connect({ port, host: '127.0.0.1' });
  sock.setNoDelay(true);
  cleanups.push(() => sock.destroy());
  const frames: DecodedFrame[] = [];
  const parser = new FrameParser();
  sock.on('data', (chunk: Buffer) => frames.push(...parser.push(chunk).map(decodeFrame)));
  await new Promise<void>((resolve) => sock.once('connect', () => resolve()));
  sock.write('auth ClueCon\n\n');
  await eventually(() => frames.some((frame) => frame.headers.some(([, value]) => value.startsWith('+OK accepted'))));
  return { send: (text) => sock.write(text), frames };
}

const execute = (uuid: string, app: string, arg: string) => `sendmsg ${uuid}\ncall-command: execute\nexecute-app-name: ${app}\nexecute-app-arg: ${arg}\n\n`;
const api = (command: string) => `api ${command}\n\n`;

describe('a parked channel takes work on the turns of its park loop', () => {
  it('everything sent together runs on one turn; a step sent after the previous one completed waits for a later turn', async () => {
    const { sim, port } = await started();
    const client = await rawInbound(port);
    const together = sim.parkCall();
    await together.whenParked();
    client.send(execute(together.uuid, 'set', 'a=1') + execute(together.uuid, 'set', 'b=2') + execute(together.uuid, 'transfer', '1000 XML default'));
    const first = await together.done;
    const turns = first.apps.map((app) => app.parkTurn);
    expect(turns).toHaveLength(3);
    expect(new Set(turns).size).toBe(1);
    expect(turns[0]).toBeGreaterThanOrEqual(1);

    const oneByOne = sim.parkCall();
    await oneByOne.whenParked();
    client.send(execute(oneByOne.uuid, 'set', 'a=1'));
    await eventually(() => oneByOne.apps[0]?.endedAt !== undefined);
    client.send(execute(oneByOne.uuid, 'transfer', '1000 XML default'));
    const second = await oneByOne.done;
    expect(second.apps[1]!.parkTurn!).toBeGreaterThan(second.apps[0]!.parkTurn!);
  });

  it('uuid_setvar takes effect at once; uuid_transfer when the loop next looks, and the call leaves park', async () => {
    const { sim, port } = await started();
    const client = await rawInbound(port);
    const call = sim.parkCall();
    await call.whenParked();
    client.send(api(`uuid_setvar ${call.uuid} callguard_screened true`) + api(`uuid_transfer ${call.uuid} 1000 XML default`));
    await eventually(() => call.getVar('callguard_screened') === 'true');
    const result = await call.done;
    expect(result.transfer).toMatchObject({ destination: '1000', via: 'uuid_transfer' });
    expect(result.transfer?.parkTurn).toBeGreaterThanOrEqual(1);
    expect(result.apps).toEqual([]);
  });
});

describe('the driver spends as few turns as it can', () => {
  /** A modesl connection stand-in that records what is sent and completes nothing until told. */
  function recordingConnection() {
    const sent: string[] = [];
    const complete = new Map<string, (event: Event) => void>();
    const conn = {
      execute(app: string, arg: string, _uuid: string, done: (event: Event) => void) {
        sent.push(`${app} ${arg}`.trim());
        complete.set(app, done);
        return '';
      },
      removeAllListeners() {
        return conn;
      },
    };
    return { conn: conn as unknown as Connection, sent, complete };
  }

  it('block sends early media, the prompt and the hangup together: one turn, not three', async () => {
    const { conn, sent, complete } = recordingConnection();
    const call = new EslCall(conn, 'uuid-1', { mode: 'inbound', settings: DEFAULT_FREESWITCH, route: null, didMailbox: null, callerName: undefined, parked: null });
    const outcome = block({ call, decision: { action: 'block' } as Decision, settings: DEFAULT_ACTION_SETTINGS, rescreen: async () => null });
    // Nothing has completed, yet all three are on their way.
    await eventually(() => sent.length === 3);
    expect(sent).toEqual(['pre_answer', `playback ${DEFAULT_FREESWITCH.promptDir}/callguard-not-accepted.wav`, 'hangup CALL_REJECTED']);
    complete.get('pre_answer')!({ getHeader: () => undefined } as unknown as Event);
    complete.get('playback')!({ getHeader: () => undefined } as unknown as Event);
    call.noteHangup('CALL_REJECTED');
    expect(await outcome).toEqual({ outcome: 'rejected', detail: 'CALL_REJECTED' });
  });

  it('a caller who hangs up before the hangup step is counted as gone during the step under way, not as blocked', async () => {
    const { conn } = recordingConnection();
    const call = new EslCall(conn, 'uuid-2', { mode: 'inbound', settings: DEFAULT_FREESWITCH, route: null, didMailbox: null, callerName: undefined, parked: null });
    const outcome = carryOut({ call, decision: { action: 'block' } as Decision, settings: DEFAULT_ACTION_SETTINGS, rescreen: async () => null });
    await new Promise((resolve) => setImmediate(resolve));
    call.noteHangup('ORIGINATOR_CANCEL');
    expect(await outcome).toEqual({ outcome: 'hungup', detail: 'pre_answer' });
  });
});

describe('the core scheduler', () => {
  it('sched_transfer records its task id; sched_del counts it until the next pass frees it; a task whose second has come runs on the next pass', async () => {
    const { sim, port } = await started();
    const client = await rawInbound(port);
    const kept = sim.parkCall();
    await kept.whenParked();
    // An hour ahead: the sched_del below comes before it runs, however slow the machine.
    client.send(execute(kept.uuid, 'sched_transfer', '+3600 1000 XML default'));
    await eventually(() => kept.getVar('last_sched_id') !== undefined);
    const id = kept.getVar('last_sched_id')!;
    client.send(api(`sched_del ${id}`) + api(`sched_del ${id}`));
    await eventually(() => client.frames.filter((frame) => /Deleted/.test(frame.body ?? '')).length === 2);
    // switch_scheduler_del_task_id only marks the task destroyed: both deletions count it (two agents racing for it would both "win").
    expect(client.frames.filter((frame) => /Deleted/.test(frame.body ?? '')).map((frame) => frame.body)).toEqual(['+OK Deleted: 1\n', '+OK Deleted: 1\n']);
    expect(sim.scheduler.pending).toBe(0);
    // The task thread's next pass (every 500 ms) frees it: from then on it is gone.
    await eventually(() => sim.runApi('sched_del', id) === '+OK Deleted: 0\n');

    const sent = sim.parkCall();
    await sent.whenParked();
    client.send(execute(sent.uuid, 'sched_transfer', `${Math.floor(Date.now() / 1000) - 1} 2000 XML default`));
    const result = await sent.done;
    expect(result.transfer).toMatchObject({ destination: '2000', context: 'default', via: 'sched_transfer' });
    expect(kept.outcome).toBeUndefined();
  });
});

describe('the cond API, as the inbound snippet uses it', () => {
  const sim = new FreeSwitchSim();
  const cond = (args: string) => sim.runApi('cond', args);
  it('compares numbers, and treats an empty operand as an error', () => {
    expect(cond('1700000000 < 1700000004 ? yes : no')).toBe('yes');
    expect(cond('1700000004 < 1700000004 ? yes : no')).toBe('no');
    expect(cond('1700000000 <  ? yes : no')).toBe('-ERR');
    expect(cond('1700000000 < 0 ? yes : no')).toBe('no');
    expect(cond('abc == abc ? yes : no')).toBe('yes');
    expect(cond('1 > 2 ? yes')).toBe('');
  });
});

describe('the configuration preprocessor', () => {
  it('resolves a relative include from the folder of the file holding it, and drops whole include-tag lines', () => {
    const dir = mkdtempSync(join(tmpdir(), 'callguard-preprocess-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    mkdirSync(join(dir, 'chatplan', 'default'), { recursive: true });
    writeFileSync(join(dir, 'top.xml'), '<document>\n<X-PRE-PROCESS cmd="include" data="chatplan/*.xml"/>\n</document>\n');
    writeFileSync(join(dir, 'chatplan', 'default.xml'), '<include><context name="default">\n<X-PRE-PROCESS cmd="include" data="default/*.xml"/>\n</context>\n</include>\n');
    writeFileSync(join(dir, 'chatplan', 'default', 'a.xml'), '<include>\n<extension name="a"/>\n</include>\n');
    const { text, files } = preprocess(join(dir, 'top.xml'));
    expect(files).toEqual([join(dir, 'top.xml'), join(dir, 'chatplan', 'default.xml'), join(dir, 'chatplan', 'default', 'a.xml')]);
    // The context opened on the <include> line vanished with it, as on the real switch.
    expect(text.split('\n').filter((line) => line.trim())).toEqual(['<document>', '<extension name="a"/>', '</context>', '</document>']);
  });
});
