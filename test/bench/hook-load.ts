import { spread } from './measure';

/** The part of autocannon (which ships no types) the benchmark uses. */
export interface CannonRequest {
  readonly method?: string;
  readonly path?: string;
  readonly setupRequest?: (request: CannonRequest) => CannonRequest;
}
interface CannonResult {
  readonly requests: { readonly average: number; readonly total: number };
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
  warmup?: { connections: number; duration: number };
  requests: CannonRequest[];
}) => CannonRun;
const autocannon = require('autocannon') as Autocannon;

export interface LoadOptions {
  readonly connections: number;
  readonly seconds: number;
  /** Load before the measured part, left out of the figures (0: none). */
  readonly warmupSeconds: number;
}

export interface Load {
  readonly perSecond: number;
  /** Requests answered in the measured part. */
  readonly total: number;
  readonly p99Ms: number;
  readonly failures: number;
}

/** Keep-alive load flat out; p99 from every response's own time (autocannon's histogram keeps whole milliseconds). */
export async function hookLoad(port: number, request: CannonRequest, options: LoadOptions): Promise<Load> {
  const times: number[] = [];
  const run = autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: options.connections,
    duration: options.seconds,
    ...(options.warmupSeconds > 0 ? { warmup: { connections: options.connections, duration: options.warmupSeconds } } : {}),
    requests: [request],
  });
  run.on('response', (_client, _status, _bytes, ms) => times.push(ms));
  const result = await run;
  return { perSecond: result.requests.average, total: result.requests.total, p99Ms: spread(times).p99, failures: result.errors + result.timeouts + result.non2xx };
}
