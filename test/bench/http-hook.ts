import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { decidePath } from './hook-requests';
import { hookLoad } from './hook-load';
import type { CannonRequest, Load, LoadOptions } from './hook-load';
import type { Row } from './measure';

const CONNECTIONS = 32;
const PACED_RATE = 3000;
const DURATION_S = 8;
const WARMUP_S = 2;

const FLAT_OUT: LoadOptions = { connections: CONNECTIONS, seconds: DURATION_S, warmupSeconds: WARMUP_S };

/** Latency at PACED_RATE, evenly spaced, from test/bench/paced-load in a process of its own. */
async function pacedLoad(port: number, kind: 'decide' | 'healthz'): Promise<Load> {
  const child = spawn(process.execPath, [join(__dirname, 'paced-load.js'), String(port), String(PACED_RATE), String(DURATION_S), kind], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve));
  const { p99, count, failures } = JSON.parse(line) as { p99: number; count: number; failures: number };
  return { perSecond: count / DURATION_S, total: count, p99Ms: p99, failures };
}

/** Starts test/bench/hook-agent in its own process and reads the port it prints. */
async function startHookAgent(dbPath: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [join(__dirname, 'hook-agent.js'), dbPath], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    const fail = (why: string) => {
      clearTimeout(timer);
      reject(new Error(why));
    };
    const timer = setTimeout(() => fail('the hook agent printed no port within 15 s'), 15_000);
    child.once('exit', (code) => fail(`the hook agent exited (code ${code}) before listening`));
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      resolve(Number(line));
    });
  });
  return { child, port };
}

async function stopHookAgent(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** The HTTP hook under keep-alive load, beside the same load on /healthz (the HTTP stack alone) in the same process. */
export async function benchHook(dbPath: string): Promise<Row[]> {
  const { child, port } = await startHookAgent(dbPath);
  try {
    const healthz = { method: 'GET', path: '/healthz' } as const;
    let sequence = 0;
    const decideRequest: CannonRequest = { method: 'GET', setupRequest: (request) => ({ ...request, path: decidePath(sequence++) }) };
    // Throughput flat out; latency at the rate the target names, as a PBX would load it.
    const baseline = await hookLoad(port, healthz, FLAT_OUT);
    const decide = await hookLoad(port, decideRequest, FLAT_OUT);
    const pacedBaseline = await pacedLoad(port, 'healthz');
    const paced = await pacedLoad(port, 'decide');
    console.log(`hook: ${sequence.toLocaleString('en-US')} /v1/decide requests sent, ${decide.failures + paced.failures} failed; /healthz ${baseline.failures + pacedBaseline.failures} failed`);
    const healthy = decide.failures + paced.failures === 0 && baseline.failures + pacedBaseline.failures === 0;
    return [
      {
        metric: `HTTP hook /v1/decide, ${CONNECTIONS} keep-alive connections`,
        measured: `${decide.perSecond.toFixed(0)} req/s`,
        target: '≥ 3000 req/s',
        baseline: `/healthz ${baseline.perSecond.toFixed(0)} req/s`,
        ok: healthy && decide.perSecond >= 3000,
      },
      {
        metric: `HTTP hook /v1/decide, p99 at ${PACED_RATE} req/s`,
        measured: `${paced.p99Ms.toFixed(2)} ms`,
        target: '≤ 5 ms',
        baseline: `/healthz ${pacedBaseline.p99Ms.toFixed(2)} ms`,
        ok: healthy && paced.p99Ms <= 5,
      },
    ];
  } finally {
    await stopHookAgent(child);
  }
}
