import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import pino from 'pino';
import { DEFAULT_ACTION_SETTINGS } from '../../agent/actions/settings';
import { decide } from '../../agent/engine/decide';
import { parsePattern } from '../../agent/engine/patterns';
import type { ActionName } from '../../agent/engine/types';
import { loadAriClient, type AriClient } from '../../agent/pbx/asterisk/ari-api';
import { createAsteriskDriver, type AsteriskDriver } from '../../agent/pbx/asterisk/asterisk-driver';
import { openAriClient, type AriEndpoint } from '../../agent/pbx/asterisk/connect';
import { TrackedTimers } from '../../agent/pbx/asterisk/tracked-timers';
import { DEFAULT_ASTERISK } from '../../agent/pbx/settings';
import { Screener } from '../../agent/screening/screener';
import { CallLog } from '../../agent/store/call-log';
import { openDatabase } from '../../agent/store/database';
import { SqliteDecisionStore } from '../../agent/store/decision-view';
import { RuleStore } from '../../agent/store/rules';
import { startAsteriskSim, type AsteriskSim, type SimCall } from '../sim/asterisk';
import { EXACT_RULES, TENANTS, benchNumber, didOf } from './dataset';
import { spread } from './measure';
import { sustainedLanes } from './sustained-lanes';
import type { Row } from './measure';

const AGENT_APP = 'callguard';
/** A bare ari-client application that continues every call at once: the floor under the agent. */
const BARE_APP = 'bare';
const SUSTAINED_MS = 5000;
const WARMUP_MS = 1000;
const IN_FLIGHT = 64;
const PACED_PER_SECOND = 100;
const PACED_CALLS = 500;
/** Callers with no rule (the dataset's rules cover area codes 201-900). */
const ALLOWED_AREA = '+1917';
/** Busy rules this bench adds for the run and removes afterwards. */
const BUSY_CALLERS = Array.from({ length: 100 }, (_, i) => `+1646555${String(1000 + i)}`);
/** workerData of the thread that runs the simulator. */
const SIM_THREAD = 'callguard-asterisk-sim';

interface Caller {
  readonly from: string;
  readonly to: string;
}

/** The i-th call of the mix: a third blocked (a dataset rule), a third busy, a third let through. */
function callerOf(i: number): Caller {
  const n = (i * 7919) % EXACT_RULES;
  const to = didOf(n % TENANTS);
  switch (i % 3) {
    case 0:
      return { from: benchNumber(n), to };
    case 1:
      return { from: BUSY_CALLERS[i % BUSY_CALLERS.length]!, to };
    default:
      return { from: `${ALLOWED_AREA}${2000000 + (n % 7_000_000)}`, to };
  }
}

// ---- the simulator's thread: Asterisk is another process, so it must not share the agent's event loop

type SimCommand = { readonly kind: 'sustained'; readonly app: string } | { readonly kind: 'paced'; readonly apps: readonly string[] };

/** Resolves with the time the simulator files the call's first REST request. */
export function firstRequestAt(call: SimCall): Promise<number> {
  return new Promise((resolve) => {
    const requests = call.requests;
    const push = requests.push.bind(requests);
    requests.push = (...entries) => {
      if (requests.length === 0) resolve(performance.now());
      return push(...entries);
    };
  });
}

/** Keeps IN_FLIGHT calls going to `app` for the warm-up and then SUSTAINED_MS; finished calls per second. */
function sustainedRate(sim: AsteriskSim, app: string): Promise<number> {
  let i = 0;
  return sustainedLanes(
    IN_FLIGHT,
    () => {
      const { from, to } = callerOf(i++);
      return sim.placeCall({ callerNumber: from, exten: to, app }).done;
    },
    WARMUP_MS,
    SUSTAINED_MS,
  );
}

/**
 * PACED_PER_SECOND calls to each app, side by side so both see the same noise; for each,
 * the p99 of StasisStart sent → first REST request received (ms).
 */
async function pacedFirstRequestP99(sim: AsteriskSim, apps: readonly string[]): Promise<number[]> {
  const delays = apps.map(() => [] as Promise<number>[]);
  for (let i = 0; i < PACED_CALLS; i++) {
    const { from, to } = callerOf(i);
    // Take turns at going first: the first StasisStart of a tick is also the first handled.
    for (let k = 0; k < apps.length; k++) {
      const a = (i + k) % apps.length;
      const call = sim.placeCall({ callerNumber: from, exten: to, app: apps[a]! });
      const sentAt = performance.now(); // placeCall has written StasisStart to the WebSocket
      delays[a]!.push(firstRequestAt(call).then((at) => at - sentAt));
    }
    await new Promise((resolve) => setTimeout(resolve, 1000 / PACED_PER_SECOND));
  }
  return Promise.all(delays.map(async (each) => spread(await Promise.all(each)).p99));
}

async function simThread(port: NonNullable<typeof parentPort>): Promise<void> {
  const sim = await startAsteriskSim({ mediaDurationMs: 0 });
  const endpoint: AriEndpoint = { url: sim.url, user: sim.username, password: sim.password };
  port.postMessage(endpoint);
  port.on('message', async (command: SimCommand) => {
    port.postMessage(command.kind === 'sustained' ? await sustainedRate(sim, command.app) : await pacedFirstRequestP99(sim, command.apps));
  });
}

if (!isMainThread && workerData === SIM_THREAD && parentPort) void simThread(parentPort);

/** One command to the simulator's thread and its answer. */
async function ask<T>(thread: Worker, command: SimCommand): Promise<T> {
  thread.postMessage(command);
  return (await once(thread, 'message'))[0] as T;
}

// ---- the agent's side --------------------------------------------------------

/** Checks that the mix really is block, busy and allow against this database. */
function checkMix(store: SqliteDecisionStore): void {
  const expected: ActionName[] = ['block', 'busy', 'allow'];
  for (let i = 0; i < 30; i++) {
    const { from, to } = callerOf(i);
    const action = decide({ kind: 'call', from, to }, store, { country: 'US', now: Date.now() }).action;
    if (action !== expected[i % 3]) throw new Error(`bench mix: ${from} → ${to} decided ${action}, expected ${expected[i % 3]}`);
  }
}

async function bareApp(endpoint: AriEndpoint): Promise<AriClient> {
  const client = await openAriClient(loadAriClient(), endpoint, new TrackedTimers(), 5000);
  client.on('StasisStart', (event) => {
    const channelId = event.channel?.id;
    if (channelId) client.channels.continueInDialplan({ channelId }).then(undefined, () => undefined);
  });
  await client.start(BARE_APP);
  return client;
}

/**
 * Screening through the ARI simulator (in its own thread) with the real ari-client, on
 * the million-rule database: sustained calls per second (block, busy and allow; prompts of
 * ~0 ms) and, at 100 calls/s, the p99 from StasisStart to the first REST request. Each
 * beside a bare ari-client application that continues every call at once, measured in
 * the same run.
 */
export async function benchAsterisk(dbPath: string): Promise<Row[]> {
  const db = openDatabase(dbPath);
  const rules = new RuleStore(db);
  const busyRules = rules.add(
    BUSY_CALLERS.map((caller) => ({ ...parsePattern(caller, 'US'), scope: 'global', action: 'busy' as const, target: null, sms: false, note: null, list: null, expiresAt: null })),
  );
  const thread = new Worker(__filename, { workerData: SIM_THREAD });
  const logger = pino({ level: 'error' });
  const callLog = new CallLog(db);
  const store = new SqliteDecisionStore(db);
  let driver: AsteriskDriver | undefined;
  let bare: AriClient | undefined;
  try {
    checkMix(store);
    const endpoint = (await once(thread, 'message'))[0] as AriEndpoint;
    const screener = new Screener(store, callLog, { country: 'US', failMode: 'open', actions: DEFAULT_ACTION_SETTINGS }, logger);
    driver = createAsteriskDriver({ ...endpoint, app: AGENT_APP, settings: DEFAULT_ASTERISK }, { screener, logger });
    await driver.start();
    bare = await bareApp(endpoint);

    // Paced first: the simulator keeps every call it has seen, and its heap grown by the
    // sustained runs would add its own GC pauses to the latency.
    const [agentP99, bareP99] = await ask<[number, number]>(thread, { kind: 'paced', apps: [AGENT_APP, BARE_APP] });
    const bareRate = await ask<number>(thread, { kind: 'sustained', app: BARE_APP });
    const agentRate = await ask<number>(thread, { kind: 'sustained', app: AGENT_APP });
    return [
      {
        metric: 'Asterisk: screened calls/s, sustained (block/busy/allow)',
        measured: `${agentRate.toFixed(0)} /s`,
        target: '≥ 500 /s',
        baseline: `bare ari-client agent ${bareRate.toFixed(0)} /s`,
        ok: agentRate >= 500,
      },
      {
        metric: 'Asterisk: StasisStart → first REST at 100 calls/s, p99',
        measured: `${agentP99.toFixed(2)} ms`,
        target: '≤ 5 ms',
        baseline: `bare ari-client agent ${bareP99.toFixed(2)} ms`,
        ok: agentP99 <= 5,
      },
    ];
  } finally {
    await driver?.stop(1000);
    bare?.stop();
    await thread.terminate();
    callLog.close();
    rules.removeIds(busyRules);
    db.close();
  }
}
