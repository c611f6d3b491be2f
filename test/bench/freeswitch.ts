import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { freePort } from '../helpers/free-port';
import { packageRoot } from '../../agent/store/package-root';
import { FreeSwitchSim } from '../sim/freeswitch';
import type { CommandLogEntry, OutboundCallSpec } from '../sim/freeswitch';
import { EXACT_RULES, TENANTS, benchNumber, didOf } from './dataset';
import { mb, spread } from './measure';
import type { Row } from './measure';

const SUSTAIN_MS = 5000;
const IN_FLIGHT = 64;
const PACED_RATE = 200;
const PACED_CALLS = 2000;


/** Peak resident memory of a process, from /proc. */
function peakRss(pid: number): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? 0) * 1024;
}

/** A process listening on `port`: `callguard serve` as an operator runs it, or the bare baseline agent. */
async function startAgent([command, ...args]: string[], port: number): Promise<ChildProcess> {
  const child = spawn(command!, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr?.on('data', (chunk: Buffer) => process.stderr.write(chunk));
  for (let i = 0; i < 200; i++) {
    const ready = await new Promise<boolean>((resolve) => {
      const probe = createServer();
      probe.once('error', () => resolve(true));
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(false)));
    });
    if (ready) return child;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  child.kill('SIGKILL');
  throw new Error('callguard serve did not start listening');
}

/** Run as the operator runs it: the executable itself, so its interpreter line (and node flags) apply. */
const serveArgs = (dbPath: string, port: number) => [
  join(packageRoot(), 'bin', 'callguard.js'),
  '--db',
  dbPath,
  'serve',
  '--no-console',
  '--pbx',
  'freeswitch',
  '--mode',
  'outbound',
  '--listen',
  `127.0.0.1:${port}`,
  '--log-level',
  'warn',
];

async function stopAgent(child: ChildProcess): Promise<void> {
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
}

let sequence = 0;
/** A third of calls from numbers with a block or busy rule of their tenant, the rest from anyone. */
function nextCall(): OutboundCallSpec {
  const i = sequence++;
  const n = (i * 7919) % EXACT_RULES;
  const from = i % 3 === 0 ? benchNumber(n) : benchNumber(EXACT_RULES + ((i * 31) % 400_000));
  // The synchronous `socket`, as the dialplan snippet runs it.
  return { callerIdNumber: from, destinationNumber: didOf(i % 3 === 0 ? n % TENANTS : i % TENANTS).slice(1), playbackMs: 0, async: false, digits: '1' };
}

/** Time from the channel data going out to the first command that acts on the call (sendmsg or exit). */
export function firstActionLatencies(sim: FreeSwitchSim): { samples: number[]; stop(): void } {
  const started = new Map<string, bigint>();
  const samples: number[] = [];
  const onCommand = (entry: CommandLogEntry) => {
    if (entry.kind !== 'outbound' || !entry.callUuid) return;
    const verb = entry.command.command.split(' ')[0];
    if (verb === 'connect') started.set(entry.callUuid, process.hrtime.bigint());
    else if ((verb === 'sendmsg' || verb === 'exit') && started.has(entry.callUuid)) {
      samples.push(Number(process.hrtime.bigint() - started.get(entry.callUuid)!) / 1e6);
      started.delete(entry.callUuid);
    }
  };
  sim.on('command', onCommand);
  return { samples, stop: () => sim.off('command', onCommand) };
}

async function sustained(sim: FreeSwitchSim, port: number): Promise<number> {
  let done = 0;
  const deadline = Date.now() + SUSTAIN_MS;
  const worker = async () => {
    while (Date.now() < deadline) {
      await sim.placeOutboundCall('127.0.0.1', port, nextCall()).done;
      done++;
    }
  };
  const start = process.hrtime.bigint();
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  sim.commandLog.length = 0;
  return done / (Number(process.hrtime.bigint() - start) / 1e9);
}

async function paced(sim: FreeSwitchSim, port: number): Promise<number[]> {
  const latencies = firstActionLatencies(sim);
  const calls: Promise<unknown>[] = [];
  const start = Date.now();
  for (let i = 0; i < PACED_CALLS; i++) {
    const due = start + (i * 1000) / PACED_RATE;
    if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
    calls.push(sim.placeOutboundCall('127.0.0.1', port, nextCall()).done);
  }
  await Promise.all(calls);
  latencies.stop();
  sim.commandLog.length = 0;
  return latencies.samples;
}

/** Screened calls through the event-socket simulator against `callguard serve` with the million-rule database. */
export async function benchFreeSwitch(dbPath: string): Promise<Row[]> {
  const sim = new FreeSwitchSim({});
  const basePort = await freePort();
  const bare = await startAgent([process.execPath, join(__dirname, 'bare-esl-agent.js'), String(basePort)], basePort);
  await sustained(sim, basePort);
  const baseRate = await sustained(sim, basePort);
  const baseLatency = spread(await paced(sim, basePort));
  const baseRss = peakRss(bare.pid!);
  await stopAgent(bare);

  const port = await freePort();
  const agent = await startAgent(serveArgs(dbPath, port), port);
  try {
    await sustained(sim, port); // warm-up: page cache and JIT
    const rate = await sustained(sim, port);
    const latency = spread(await paced(sim, port));
    const rss = peakRss(agent.pid!);
    return [
      { metric: 'FreeSWITCH outbound: screened calls/s sustained', measured: `${rate.toFixed(0)}/s`, target: '≥ 1000/s', baseline: `bare modesl agent ${baseRate.toFixed(0)}/s`, ok: rate >= 1000 },
      { metric: 'FreeSWITCH: call in → first command, p99 at 200/s', measured: `${latency.p99.toFixed(2)} ms`, target: '≤ 5 ms', baseline: `bare modesl agent ${baseLatency.p99.toFixed(2)} ms`, ok: latency.p99 <= 5 },
      { metric: 'FreeSWITCH: agent peak RSS serving 1M rules', measured: mb(rss), target: '≤ 150 MB', baseline: `bare modesl agent ${mb(baseRss)}`, ok: rss <= 150 * 1024 * 1024 },
    ];
  } finally {
    await stopAgent(agent);
    await sim.close();
  }
}

