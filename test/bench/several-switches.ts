import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { packageRoot } from '../../agent/store/package-root';
import { freePort } from '../helpers/free-port';
import { startAsteriskSim } from '../sim/asterisk';
import type { AsteriskSim } from '../sim/asterisk';
import { FreeSwitchSim } from '../sim/freeswitch';
import type { CommandLogEntry } from '../sim/freeswitch';
import { firstRequestAt } from './asterisk';
import { EXACT_RULES, TENANTS, benchNumber, didOf } from './dataset';
import { firstActionLatencies } from './freeswitch';
import { spread } from './measure';
import type { Row } from './measure';
import { sustainedLanes } from './sustained-lanes';

const WARMUP_MS = 1000;
const SUSTAINED_MS = 5000;
/** Calls kept going in all, shared out among the switches driven. */
const IN_FLIGHT = 63;
const PACED_PER_SECOND = 150;
const PACED_CALLS = 1500;
const ESL_PASSWORD = 'bench-esl';
const ARI_PASSWORD = 'bench-ari';
/** workerData of the thread that runs the three simulators: the switches are other machines, not the agent's event loop. */
const SWITCHES_THREAD = 'callguard-several-switches';

type SwitchName = 'fs-east' | 'fs-west' | 'ast-1';
const ALL: readonly SwitchName[] = ['fs-east', 'fs-west', 'ast-1'];
type Command = { readonly kind: 'sustained' | 'paced'; readonly switches: readonly SwitchName[] };

interface Switches {
  readonly east: FreeSwitchSim;
  readonly eastPort: number;
  readonly west: FreeSwitchSim;
  readonly parks: ReturnType<typeof parkLatencies>;
  readonly ast: AsteriskSim;
}

// ---- the switches' thread ----------------------------------------------------

/** For each parked channel followed, the time from CHANNEL_PARK to the first command the agent sends about it. */
function parkLatencies(sim: FreeSwitchSim): { follow(uuid: string, parkedAt: Promise<number>): Promise<number> } {
  const waiting = new Map<string, (at: number) => void>();
  sim.on('command', (entry: CommandLogEntry) => {
    if (entry.kind !== 'inbound') return;
    const uuid = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/.exec(entry.command.command)?.[0];
    const resolve = uuid === undefined ? undefined : waiting.get(uuid);
    if (!resolve) return;
    waiting.delete(uuid!);
    resolve(performance.now());
  });
  return {
    follow: (uuid, parkedAt) => new Promise<number>((resolve) => waiting.set(uuid, resolve)).then(async (at) => at - (await parkedAt)),
  };
}

let sequence = 0;
/**
 * The i-th call, the same mix on every switch: a third from numbers a rule blocks, the rest
 * from area code 904, which no rule of the database names (let through). No challenges: the
 * simulated Asterisk caller presses no key, and each would hold its lane for the timeout.
 */
function nextCall(): { callerIdNumber: string; destinationNumber: string; playbackMs: number; async: boolean } {
  const i = sequence++;
  const n = (i * 7919) % EXACT_RULES;
  const from = i % 3 === 0 ? benchNumber(n) : `+1904${2000000 + (i % 7_000_000)}`;
  return { callerIdNumber: from, destinationNumber: didOf(n % TENANTS).slice(1), playbackMs: 0, async: false };
}

/** One call on a switch; resolves once over, with its first-command latency when asked (the outbound one is timed from the sim's command log). */
function placeOn(sw: Switches, name: SwitchName): { done: Promise<unknown>; latency: Promise<number> | null } {
  const spec = nextCall();
  if (name === 'fs-east') return { done: sw.east.placeOutboundCall('127.0.0.1', sw.eastPort, spec).done, latency: null };
  if (name === 'fs-west') {
    const call = sw.west.parkCall({ ...spec, context: 'public', dialplanSet: { callguard_screen: 'true' } });
    return { done: call.done, latency: sw.parks.follow(call.uuid, call.whenParked().then(() => performance.now())) };
  }
  const call = sw.ast.placeCall({ callerNumber: spec.callerIdNumber, exten: spec.destinationNumber, context: 'callguard-inbound', priority: 2 });
  const sentAt = performance.now(); // placeCall has written StasisStart to the WebSocket
  return { done: call.done, latency: firstRequestAt(call).then((at) => at - sentAt) };
}

/** IN_FLIGHT calls shared among `names` for the warm-up and then SUSTAINED_MS; finished calls per second. */
function sustainedRate(sw: Switches, names: readonly SwitchName[]): Promise<number> {
  return sustainedLanes(IN_FLIGHT, (lane) => placeOn(sw, names[lane % names.length]!).done, WARMUP_MS, SUSTAINED_MS);
}

/** PACED_PER_SECOND calls in all, taking the switches in turn; the p99 of call in → first command (ms). */
async function pacedP99(sw: Switches, names: readonly SwitchName[]): Promise<number> {
  const outbound = firstActionLatencies(sw.east);
  const calls: Promise<unknown>[] = [];
  const others: Promise<number>[] = [];
  const begin = performance.now();
  for (let i = 0; i < PACED_CALLS; i++) {
    const due = begin + (i * 1000) / PACED_PER_SECOND;
    if (due > performance.now()) await new Promise((resolve) => setTimeout(resolve, due - performance.now()));
    const { done, latency } = placeOn(sw, names[i % names.length]!);
    calls.push(done);
    if (latency) others.push(latency);
  }
  await Promise.all(calls);
  outbound.stop();
  return spread([...outbound.samples, ...(await Promise.all(others))]).p99;
}

async function switchesThread(port: NonNullable<typeof parentPort>): Promise<void> {
  const east = new FreeSwitchSim();
  const west = new FreeSwitchSim({ password: ESL_PASSWORD });
  const westPort = await west.start();
  const ast = await startAsteriskSim({ password: ARI_PASSWORD, mediaDurationMs: 0 });
  const sw: Switches = { east, eastPort: (workerData as { eastPort: number }).eastPort, west, parks: parkLatencies(west), ast };
  port.postMessage({ westPort, astUrl: ast.url, astUser: ast.username });
  port.on('message', async (command: Command) => {
    // The simulators keep every call: the logs are emptied so their heaps do not grow into GC pauses.
    const answer = command.kind === 'sustained' ? await sustainedRate(sw, command.switches) : await pacedP99(sw, command.switches);
    east.commandLog.length = 0;
    west.commandLog.length = 0;
    port.postMessage(answer);
  });
}

if (!isMainThread && (workerData as { role?: string } | null)?.role === SWITCHES_THREAD && parentPort) void switchesThread(parentPort);

async function ask<T>(thread: Worker, command: Command): Promise<T> {
  thread.postMessage(command);
  return (await once(thread, 'message'))[0] as T;
}

// ---- the agent ---------------------------------------------------------------

async function untilConnected(http: number, agent: ChildProcess): Promise<void> {
  for (let waited = 0; waited < 300_000; waited += 50) {
    if (agent.exitCode !== null) throw new Error('callguard serve exited before every switch was connected');
    const health = await fetch(`http://127.0.0.1:${http}/healthz`).then((answer) => answer.json() as Promise<{ pbx: boolean }>, () => ({ pbx: false }));
    if (health.pbx) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('callguard serve did not connect every switch');
}

/**
 * One `callguard serve` with three switches from `pbxes` (FreeSWITCH outbound, FreeSWITCH
 * inbound, Asterisk), on the million-rule database, driven on all three at once: calls per
 * second sustained and, at PACED_PER_SECOND, the p99 of call in → first command; each
 * beside the same agent driven through one switch (FreeSWITCH outbound) alone.
 */
export async function benchSeveralSwitches(dbPath: string): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), 'callguard-bench-switches-'));
  const [eastPort, http] = [await freePort(), await freePort()];
  const thread = new Worker(__filename, { workerData: { role: SWITCHES_THREAD, eastPort } });
  let agent: ChildProcess | undefined;
  try {
    const { westPort, astUrl, astUser } = (await once(thread, 'message'))[0] as { westPort: number; astUrl: string; astUser: string };
    const config = join(dir, 'callguard.json');
    writeFileSync(config, JSON.stringify({
      // The simulated Asterisk sends no channelvars, which the agent warns about once: not news here.
      logLevel: 'error',
      http: { listen: `127.0.0.1:${http}` },
      console: { enabled: false },
      pbxes: [
        { name: 'fs-east', pbx: 'freeswitch', mode: 'outbound', listen: `127.0.0.1:${eastPort}` },
        { name: 'fs-west', pbx: 'freeswitch', mode: 'inbound', esl: `127.0.0.1:${westPort}` },
        { name: 'ast-1', pbx: 'asterisk', url: astUrl, user: astUser },
      ],
    }));
    agent = spawn(process.execPath, [join(packageRoot(), 'bin', 'callguard.js'), '--db', dbPath, '--config', config, 'serve'], {
      env: { ...process.env, CALLGUARD_DB: '', CALLGUARD_CONFIG: '', CALLGUARD_STORE: '', CALLGUARD_PBX_FS_WEST_PASSWORD: ESL_PASSWORD, CALLGUARD_PBX_AST_1_PASSWORD: ARI_PASSWORD },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    agent.stderr?.on('data', (chunk: Buffer) => process.stderr.write(chunk));
    await untilConnected(http, agent);

    await ask<number>(thread, { kind: 'sustained', switches: ALL }); // warm-up: page cache and JIT on every path
    // Paced before the measured sustained runs, as in the Asterisk benchmark: those grow the simulators' heaps.
    const oneP99 = await ask<number>(thread, { kind: 'paced', switches: ['fs-east'] });
    const threeP99 = await ask<number>(thread, { kind: 'paced', switches: ALL });
    const oneRate = await ask<number>(thread, { kind: 'sustained', switches: ['fs-east'] });
    const threeRate = await ask<number>(thread, { kind: 'sustained', switches: ALL });
    return [
      {
        metric: 'Three switches, one agent (FS outbound + FS inbound + Asterisk): screened calls/s sustained',
        measured: `${threeRate.toFixed(0)}/s`,
        target: '≥ 500/s',
        baseline: `one switch (FS outbound) ${oneRate.toFixed(0)}/s`,
        ok: threeRate >= 500,
      },
      {
        metric: `Three switches, one agent: call in → first command, p99 at ${PACED_PER_SECOND}/s in all`,
        measured: `${threeP99.toFixed(2)} ms`,
        // Serving more switches must not slow a call's first command: measured against one switch on the same machine and moment.
        target: '≤ one switch + 2 ms',
        baseline: `one switch (FS outbound) ${oneP99.toFixed(2)} ms`,
        ok: threeP99 <= oneP99 + 2,
      },
    ];
  } finally {
    if (agent && agent.exitCode === null) {
      agent.kill('SIGTERM');
      await once(agent, 'exit');
    }
    await thread.terminate();
    rmSync(dir, { recursive: true, force: true });
  }
}
