// Inbound mode with callguard killed outright (SIGKILL, as the OOM killer would): no caller
// is left waiting in park. Calls arrive through the shipped inbound snippet, installed in a
// stock-layout dialplan and run by the simulator: while the dead agent's heartbeat is still
// fresh they are parked and sent on by the transfer each scheduled for itself (at most
// 2.5 s later: FreeSWITCH runs a "+2" task on the second second, checked twice a second);
// once it has run out they are not parked at all. An agent that comes back takes over a
// call still waiting, or leaves it to a fail-open already under way: never both.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { ALIVE_UNTIL, FAIL_OPEN_TASK, SCREENED_MARK } from '../agent/pbx/freeswitch/screen-marks';
import { INSTALL, stockConf } from './helpers/freeswitch-conf';
import { binPath, repoRoot, runCli } from './helpers/run-cli';
import { eventually } from './helpers/screening';
import { makeTempDir } from './helpers/temp-db';
import { FreeSwitchSim } from './sim/freeswitch';
import type { RouteResult, SimCall } from './sim/freeswitch';

const DID = '15551230000';
/** Far past any plausible wait on a busy machine: nothing here races a clock. */
const PATIENCE_MS = 60_000;

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function startAgent(args: string[]) {
  const child = spawn(process.execPath, [binPath, ...args], {
    cwd: repoRoot,
    env: { ...process.env, CALLGUARD_DB: '', CALLGUARD_CONFIG: '', CALLGUARD_ESL_PASSWORD: 'ClueCon' },
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_, signal) => resolve(signal)));
  cleanups.push(() => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'));
  return { child, exited };
}

/** How a call got to its normal route: parked and sent on by its own scheduled transfer, or never parked. */
function failedOpen(call: SimCall, result: RouteResult): 'sched_transfer' | 'not parked' | 'screened' {
  if (!result.hunts[0]?.includes('callguard-screen')) return 'not parked';
  if (result.leftParkVia !== 'sched_transfer') return 'screened';
  // The dialplan scheduled it two seconds ahead, and the call was marked as having failed open.
  expect(call.apps.find((app) => app.app === 'sched_transfer')?.expandedArg).toBe(`+2 ${DID} XML public`);
  expect(call.getVar(SCREENED_MARK)).toBe('fail-open');
  return 'sched_transfer';
}

describe('inbound mode, callguard killed with SIGKILL', () => {
  it('calls placed at once and 1, 2 and 5 s after the kill take their normal route on their own; one parked across a restart is handled once', async () => {
    const dir = makeTempDir('callguard-fail-open-');
    cleanups.push(() => dir.remove());
    const db = dir.file('callguard.db');
    const config = dir.file('callguard.json');
    writeFileSync(config, JSON.stringify({ http: { enabled: false } }));
    expect(runCli(['--db', db, 'rules', 'add', '404*', '--action', 'block']).status).toBe(0);

    const sim = new FreeSwitchSim({ password: 'ClueCon' });
    const port = await sim.start();
    cleanups.push(() => sim.close());
    const publicContext = stockConf(dir.file('conf'), { [INSTALL.inbound]: 'callguard-inbound.xml' }).context('dialplan', 'public');
    const route = (caller: string) => sim.routeInboundCall({ callerIdNumber: caller, destinationNumber: DID, context: 'public' }, publicContext);
    const serve = ['--db', db, '--config', config, 'serve', '--no-console', '--pbx', 'freeswitch', '--mode', 'inbound', '--esl', `127.0.0.1:${port}`];
    const heartbeatFresh = () => Number(sim.globals.get(ALIVE_UNTIL) ?? 0) > Date.now() / 1000;

    // Alive: a blocked caller is cleared, anyone else let through by callguard.
    let agent = startAgent(serve);
    await eventually(() => heartbeatFresh() && sim.openInboundSockets === 1, PATIENCE_MS);
    const blocked = route('+14045550100');
    expect(await blocked.routed).toMatchObject({ ending: 'hungup' });
    expect(blocked.call.hangupCause?.code).toBe(21);
    expect(await route('+12125550100').routed).toMatchObject({ ending: 'normal-route', leftParkVia: 'uuid_transfer' });

    agent.child.kill('SIGKILL');
    expect(await agent.exited).toBe('SIGKILL');
    await eventually(() => sim.openInboundSockets === 0, PATIENCE_MS);
    // The worst case: killed just after a heartbeat, which is then good for 4 s more. Set here
    // rather than raced against, so a slow machine still puts the first calls through park.
    sim.globals.set(ALIVE_UNTIL, String(Math.floor(Date.now() / 1000) + 4));
    const afterKill = await Promise.all(
      [0, 1000, 2000, 5000].map(async (delayMs) => {
        await new Promise((resolve) => setTimeout(resolve, delayMs));
        // A caller callguard would block: with callguard dead, the call must still go through.
        const { call, routed } = route('+14045550100');
        const result = await routed;
        return { delayMs, call, result };
      }),
    );
    for (const { delayMs, call, result } of afterKill) {
      expect(result.ending, `call placed ${delayMs} ms after the kill`).toBe('normal-route');
      expect(result.normalRoute).toBe('bridge user/1000');
      expect(failedOpen(call, result), `call placed ${delayMs} ms after the kill`).not.toBe('screened');
    }
    // The first calls met a heartbeat still fresh (it is good for 4 s): they were parked and failed open.
    expect(failedOpen(afterKill[0]!.call, afterKill[0]!.result)).toBe('sched_transfer');

    // Killed again with a call just parked, then back before or after its fail-open ran:
    // the returning agent cancels the transfer and screens the call, or leaves it be.
    agent = startAgent(serve);
    await eventually(() => heartbeatFresh() && sim.openInboundSockets === 1, PATIENCE_MS);
    agent.child.kill('SIGKILL');
    await agent.exited;
    await eventually(() => sim.openInboundSockets === 0, PATIENCE_MS);
    const across = route('+14045550100');
    await across.call.whenParked();
    agent = startAgent(serve);
    const result = await across.routed;
    if (result.ending === 'hungup') {
      // Taken over: the transfer was cancelled, and callguard blocked the call once.
      expect(across.call.hangupCause?.code).toBe(21);
      expect(sim.commandLog.some((entry) => entry.command.command === `api sched_del ${across.call.getVar(FAIL_OPEN_TASK)}`)).toBe(true);
    } else {
      expect(result.ending).toBe('normal-route');
      expect(failedOpen(across.call, result)).toBe('sched_transfer');
      expect(across.call.commands.filter((command) => command.kind === 'sendmsg')).toEqual([]);
    }
    await eventually(() => heartbeatFresh() && sim.openInboundSockets === 1, PATIENCE_MS);
    expect(sim.scheduler.pending).toBe(0);
    agent.child.kill('SIGTERM');
    await agent.exited;
  }, 180_000);
});
