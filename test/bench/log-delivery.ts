import { decidePath } from './hook-requests';
import { hookLoad } from './hook-load';
import type { CannonRequest } from './hook-load';

const LOAD_S = 10;
const CONNECTIONS_PER_AGENT = 8;
const SAMPLE_EVERY_MS = 50;
/** The log is taken as all there when its count has not moved for this long after the load. */
const SETTLED_MS = 2_000;

/** Counts the log rows stored at or after `epochMs`, wherever the agents' log is kept. */
export type CountSince = (epochMs: number) => Promise<number>;

export interface LogDelivery {
  /** Calls the agents answered per second, all together. */
  readonly callsPerSecond: number;
  /** Log rows that arrived per second (see the function that measured it for over what time). */
  readonly rowsPerSecond: number;
  readonly served: number;
  readonly delivered: number;
  readonly failures: number;
}

interface Served {
  readonly served: number;
  readonly failures: number;
  readonly callsPerSecond: number;
}

/** Every agent's HTTP hook loaded flat out at once for LOAD_S: each answer is a call, and logged. */
async function loadAgents(https: readonly number[]): Promise<Served> {
  let sequence = 0;
  const request: CannonRequest = { method: 'GET', setupRequest: (req) => ({ ...req, path: decidePath(sequence++) }) };
  const results = await Promise.all(https.map((http) => hookLoad(http, request, { connections: CONNECTIONS_PER_AGENT, seconds: LOAD_S, warmupSeconds: 0 })));
  const served = results.reduce((sum, load) => sum + load.total, 0);
  return { served, failures: results.reduce((sum, load) => sum + load.failures, 0), callsPerSecond: served / LOAD_S };
}

/** Follows the count while `busy` holds and then until it has settled; the last count and when it last moved. */
async function followCount(countSince: CountSince, since: number, busy: () => boolean): Promise<{ delivered: number; lastArrival: number }> {
  let delivered = await countSince(since);
  let lastArrival = performance.now();
  while (busy() || performance.now() - lastArrival < SETTLED_MS) {
    await new Promise((resolve) => setTimeout(resolve, SAMPLE_EVERY_MS));
    const now = await countSince(since);
    if (now !== delivered) lastArrival = performance.now();
    delivered = now;
  }
  return { delivered, lastArrival };
}

/** Log rows per second while the agents serve calls flat out: from the load's start until the last row arrived. */
export async function timeLogDelivery(https: readonly number[], countSince: CountSince): Promise<LogDelivery> {
  const since = Date.now();
  const start = performance.now();
  let loading = true;
  const load = loadAgents(https).finally(() => (loading = false));
  const { delivered, lastArrival } = await followCount(countSince, since, () => loading);
  const served = await load;
  return { ...served, delivered, rowsPerSecond: delivered / ((lastArrival - start) / 1000) };
}

/**
 * What the store can take in: the agents serve calls flat out while `hold` keeps the
 * log's table from being written (their rows wait in their local queues), then the
 * rows per second from the release until the backlog has all arrived.
 */
export async function timeBacklogDelivery(https: readonly number[], countSince: CountSince, hold: () => Promise<() => Promise<void>>): Promise<LogDelivery> {
  const since = Date.now();
  const release = await hold();
  let served: Served;
  let before: number;
  try {
    served = await loadAgents(https);
    before = await countSince(since);
  } finally {
    await release();
  }
  const released = performance.now();
  const { delivered, lastArrival } = await followCount(countSince, since, () => false);
  return { ...served, delivered, rowsPerSecond: (delivered - before) / ((lastArrival - released) / 1000) };
}
