import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { decidePath } from './hook-requests';
import { spread } from './measure';
import type { Row } from './measure';

const CONNECTIONS = 32;
const PACED_RATE = 3000;
const DURATION_S = 8;
const WARMUP_S = 2;

/** The part of autocannon (which ships no types) this benchmark uses. */
interface CannonRequest {
  readonly method?: string;
  readonly path?: string;
  readonly setupRequest?: (request: CannonRequest) => CannonRequest;
}
interface CannonResult {
  readonly requests: { readonly average: number };
  readonly errors: number;
  readonly timeouts: number;
  readonly non2xx: number;
}
interface CannonRun extends PromiseLike<CannonResult> {
  on(event: 'response', listener: (client: unknown, status: number, bytes: number, ms: number) => void): this;
}
type Autocannon = (options: {
  url: string;
  connections: number;
  duration: number;
  warmup: { connections: number; duration: number };
  requests: CannonRequest[];
}) => CannonRun;
const autocannon = require('autocannon') as Autocannon;

interface Load {
  readonly perSecond: number;
  readonly p99Ms: number;
  readonly failures: number;
}

/** Keep-alive load flat out; p99 from every response's own time (autocannon's histogram keeps whole milliseconds). */
async function load(port: number, request: CannonRequest): Promise<Load> {
  const times: number[] = [];
  const run = autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: CONNECTIONS,
    duration: DURATION_S,
    warmup: { connections: CONNECTIONS, duration: WARMUP_S },
    requests: [request],
  });
  run.on('response', (_client, _status, _bytes, ms) => times.push(ms));
  const result = await run;
  return { perSecond: result.requests.average, p99Ms: spread(times).p99, failures: result.errors + result.timeouts + result.non2xx };
}


/** Latency at PACED_RATE, evenly spaced, from test/bench/paced-load in a process of its own. */
async function pacedLoad(port: number, kind: 'decide' | 'healthz'): Promise<Load> {
  const child = spawn(process.execPath, [join(__dirname, 'paced-load.js'), String(port), String(PACED_RATE), String(DURATION_S), kind], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve));
  const { p99, count, failures } = JSON.parse(line) as { p99: number; count: number; failures: number };
  return { perSecond: count / DURATION_S, p99Ms: p99, failures };
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
    const baseline = await load(port, healthz);
    const decide = await load(port, decideRequest);
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
