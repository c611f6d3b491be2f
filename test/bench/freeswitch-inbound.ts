import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../agent/store/package-root';
import { INSTALL, stockConf } from '../helpers/freeswitch-conf';
import { FreeSwitchSim } from '../sim/freeswitch';
import type { RouteResult, XmlNode } from '../sim/freeswitch';
import { ms, spread } from './measure';
import type { Row } from './measure';

const CALLS = 300;
const RATE = 50;
/** Calls placed one after another once the agent is killed, to find the longest a caller waits. */
const AFTER_KILL = [0, 400, 800, 1200, 1600, 2000, 2400, 2800, 3200];
const DID = '15551230000';

/** Callers no rule of the benchmark's database names (area code 904 is outside it): every decision is allow. */
const caller = (i: number) => `+1904${2000000 + (i % 7_000_000)}`;

function start(args: string[]): ChildProcess {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, CALLGUARD_ESL_PASSWORD: 'ClueCon' } });
  child.stderr?.on('data', (chunk: Buffer) => process.stderr.write(chunk));
  return child;
}

async function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill(signal);
  await new Promise((resolve) => child.once('exit', resolve));
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !check(); waited += 20) {
    if (waited > 60_000) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Arrival → normal route, for calls placed at an even rate through the shipped inbound snippet. */
async function setupTimes(sim: FreeSwitchSim, context: XmlNode, label: string): Promise<number[]> {
  const routed: Promise<RouteResult>[] = [];
  const begin = Date.now();
  for (let i = 0; i < CALLS; i++) {
    const due = begin + (i * 1000) / RATE;
    if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
    routed.push(sim.routeInboundCall({ callerIdNumber: caller(i), destinationNumber: DID, context: 'public' }, context).routed);
  }
  const results = await Promise.all(routed);
  const astray = results.filter((result) => result.ending !== 'normal-route');
  if (astray.length) throw new Error(`${label}: ${astray.length} calls did not reach their normal route (${astray[0]!.ending})`);
  return results.map((result) => result.atMs);
}

/**
 * Inbound mode through the event-socket simulator, which makes a parked channel take work
 * only on the 20 ms turns of its park loop: what letting a call through adds to call setup,
 * beside a bare agent that only sends one uuid_transfer (the floor), both over the plain
 * route; and, with the agent killed, the longest any caller waits before the normal route.
 */
export async function benchFreeSwitchInbound(dbPath: string): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), 'callguard-bench-conf-'));
  const sim = new FreeSwitchSim({ password: 'ClueCon' });
  const port = await sim.start();
  const context = stockConf(dir, { [INSTALL.inbound]: 'callguard-inbound.xml' }).context('dialplan', 'public');
  const alive = () => Number(sim.globals.get('callguard_alive_until') ?? 0) > Date.now() / 1000 && sim.openInboundSockets === 1;
  const children: ChildProcess[] = [];
  try {
    const plain = spread(await setupTimes(sim, context, 'plain route')).median;

    const bare = start([join(__dirname, 'bare-inbound-agent.js'), String(port)]);
    children.push(bare);
    await until(alive, 'the bare agent');
    await setupTimes(sim, context, 'bare agent (warm-up)');
    const floor = spread(await setupTimes(sim, context, 'bare agent')).median - plain;
    await stop(bare);
    sim.globals.delete('callguard_alive_until');
    await until(() => sim.openInboundSockets === 0, 'the bare agent to go');

    const serve = [join(packageRoot(), 'bin', 'callguard.js'), '--db', dbPath, 'serve', '--pbx', 'freeswitch', '--mode', 'inbound', '--esl', `127.0.0.1:${port}`, '--no-http', '--no-console', '--log-level', 'warn'];
    const agent = start(serve);
    children.push(agent);
    await until(alive, 'callguard serve');
    await setupTimes(sim, context, 'callguard (warm-up)');
    const added = spread(await setupTimes(sim, context, 'callguard')).median - plain;

    await stop(agent, 'SIGKILL');
    await until(() => sim.openInboundSockets === 0, 'the killed agent to go');
    const killedAt = Date.now();
    const waits = await Promise.all(
      AFTER_KILL.map(async (delay, i) => {
        await new Promise((resolve) => setTimeout(resolve, killedAt + delay - Date.now()));
        const result = await sim.routeInboundCall({ callerIdNumber: caller(i), destinationNumber: DID, context: 'public' }, context).routed;
        if (result.ending !== 'normal-route') throw new Error(`a call placed ${delay} ms after the kill ended ${result.ending}`);
        return result.atMs;
      }),
    );
    const worst = Math.max(...waits);
    return [
      {
        metric: 'FreeSWITCH inbound: allow adds to call setup (median)',
        measured: `${added.toFixed(1)} ms`,
        target: `≤ floor + 2 ms`,
        baseline: `bare uuid_transfer agent ${floor.toFixed(1)} ms`,
        ok: added <= floor + 2,
      },
      { metric: 'FreeSWITCH inbound: agent SIGKILLed, longest caller wait', measured: ms(worst), target: '≤ 3000 ms', baseline: `plain route ${plain.toFixed(1)} ms`, ok: worst <= 3000 },
    ];
  } finally {
    for (const child of children) await stop(child, 'SIGKILL');
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
