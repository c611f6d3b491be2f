/*
 * Soak: callguard under a long, mixed, faulty load, through each simulator in turn
 * (FreeSWITCH outbound, FreeSWITCH inbound, Asterisk). See test/soak/README.md.
 *
 *   npm run soak                         # tsc, then: node dist/test/soak/run.js
 *   node dist/test/soak/run.js --calls 2000 --concurrency 40 --modes asterisk --seed 7
 *
 * The agent (driver, screener, call log, SQLite) runs in this process; the simulators run
 * in a child (sim-host.ts), so that memory, handles and listeners measured here are the
 * agent's. Every call is planned from a seeded generator: every action, hostile caller
 * names now and then, callers hanging up during a prompt, mid-challenge and during a
 * forward; the PBX connection is dropped (and restored) twice mid-run, while the CLI adds
 * and removes rules and switches a list on and off in parallel. The run prints a table and
 * exits 1 if an invariant fails:
 *  - every call that reached the agent is in the call log exactly once, with an outcome;
 *    every call that did not (the PBX found no agent) took its normal route; none is stranded;
 *  - no unhandled rejection or uncaught exception;
 *  - handles (sockets, servers, timers), listeners and the driver's own counters are back
 *    to their idle values once the calls are over;
 *  - RSS after the run is within 20% of RSS after the warm-up;
 *  - every CLI rule change succeeded.
 */
import { fork, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import type { Database } from 'better-sqlite3';
import pino from 'pino';
import { DEFAULT_ACTION_SETTINGS } from '../../agent/actions/settings';
import { parsePattern } from '../../agent/engine/patterns';
import type { ActionName, E164, RuleAction } from '../../agent/engine/types';
import { createAsteriskDriver } from '../../agent/pbx/asterisk/asterisk-driver';
import type { AsteriskDriver } from '../../agent/pbx/asterisk/asterisk-driver';
import type { PbxDriver } from '../../agent/pbx/driver';
import { FreeSwitchInboundClient } from '../../agent/pbx/freeswitch/inbound-client';
import { FreeSwitchOutboundServer } from '../../agent/pbx/freeswitch/outbound-server';
import { DEFAULT_ASTERISK, DEFAULT_FREESWITCH } from '../../agent/pbx/settings';
import { Screener } from '../../agent/screening/screener';
import { CallLog } from '../../agent/store/call-log';
import { openDatabase } from '../../agent/store/database';
import { SqliteDecisionStore } from '../../agent/store/decision-view';
import { ProtectionStore } from '../../agent/store/protection';
import { RuleStore } from '../../agent/store/rules';
import { TenantStore } from '../../agent/store/tenants';
import { binPath } from '../helpers/run-cli';
import type { PlaceCallOptions } from '../sim/asterisk';
import type { OutboundCallSpec } from '../sim/freeswitch';
import type { CallReport, HostRequest } from './sim-host';

// ---- settings -----------------------------------------------------------------------

const MODES = ['freeswitch-outbound', 'freeswitch-inbound', 'asterisk'] as const;
type Mode = (typeof MODES)[number];

function option(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : undefined;
}
const CALLS = Number(option('calls') ?? 10_000);
const CONCURRENCY = Number(option('concurrency') ?? 40);
const SEED = Number(option('seed') ?? 20_251_121);
const ONLY = (option('modes') ?? MODES.join(',')).split(',') as Mode[];
const KEEP = process.argv.includes('--keep');
const RSS_GROWTH_LIMIT = 0.2;
if (!Number.isInteger(CALLS) || CALLS < 30 || !Number.isInteger(CONCURRENCY) || CONCURRENCY < 1 || ONLY.some((mode) => !MODES.includes(mode))) {
  process.stderr.write(`usage: node dist/test/soak/run.js [--calls N>=30] [--concurrency N] [--modes ${MODES.join(',')}] [--seed N] [--keep]\n`);
  process.exit(2);
}

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** mulberry32: the same plan for the same seed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---- what happens, and to whom -----------------------------------------------------

const DID = '+15551230000';
const FLAGGING_DID = '+15551230001';
const FORWARD_TO = '+13125550100';
type Kind = ActionName | 'flagged' | 'churn' | 'none';
/** Callers by area code: each has its rule (or, for 208, robocall protection on the DID it calls). */
const CALLERS: readonly { readonly area: string; readonly kind: Kind; readonly weight: number }[] = [
  { area: '201', kind: 'allow', weight: 12 },
  { area: '202', kind: 'block', weight: 12 },
  { area: '203', kind: 'challenge', weight: 16 },
  { area: '204', kind: 'busy', weight: 10 },
  { area: '205', kind: 'disconnected', weight: 10 },
  { area: '206', kind: 'voicemail', weight: 10 },
  { area: '207', kind: 'forward', weight: 10 },
  { area: '208', kind: 'flagged', weight: 8 },
  { area: '209', kind: 'churn', weight: 7 },
  { area: '212', kind: 'none', weight: 5 },
];
const HOSTILE = ['${system(id)}', '\r\napi status\r\n\r\n', "O'Brien \"Bob\"", '%E9%ZZ%', '../../x?y=z', '\u0000\u2028📞', 'x'.repeat(2000)];

interface Plan {
  readonly kind: Kind;
  readonly number: string;
  readonly name: string;
  readonly did: string;
  /** Where (if anywhere) the caller hangs up of their own accord. */
  readonly hangup: 'prompt' | 'challenge' | 'forward' | 'voicemail' | null;
  readonly digit: '1' | '7' | null;
  readonly forwardAnswers: boolean;
  readonly delayMs: number;
}

function planner(seed: number): () => Plan {
  const rnd = random(seed);
  const total = CALLERS.reduce((sum, caller) => sum + caller.weight, 0);
  const pick = <T>(items: readonly T[]) => items[Math.floor(rnd() * items.length)]!;
  return () => {
    let roll = rnd() * total;
    const caller = CALLERS.find((entry) => (roll -= entry.weight) < 0) ?? CALLERS[0]!;
    const line = String(Math.floor(rnd() * 10_000)).padStart(4, '0');
    const number = caller.kind === 'churn' ? `+12095550${String(Math.floor(rnd() * 100)).padStart(3, '0')}` : `+1${caller.area}${200 + Math.floor(rnd() * 800)}${line}`;
    const r = rnd();
    let hangup: Plan['hangup'] = null;
    let digit: Plan['digit'] = null;
    if (caller.kind === 'challenge') {
      if (r < 0.4) digit = '1';
      else if (r < 0.5) digit = '7';
      else if (r >= 0.8) hangup = 'challenge';
    } else if ((caller.kind === 'block' || caller.kind === 'disconnected') && r < 0.25) hangup = 'prompt';
    else if (caller.kind === 'forward' && r < 0.25) hangup = 'forward';
    else if (caller.kind === 'voicemail' && r < 0.2) hangup = 'voicemail';
    return {
      kind: caller.kind,
      number,
      name: rnd() < 0.05 ? pick(HOSTILE) : `Caller ${line}`,
      did: caller.kind === 'flagged' ? FLAGGING_DID : DID,
      hangup,
      digit,
      forwardAnswers: rnd() < 0.7,
      delayMs: Math.floor(rnd() * 30),
    };
  };
}

function freeswitchSpec(plan: Plan, inbound: boolean): OutboundCallSpec {
  const hangupOn =
    plan.hangup === 'prompt'
      ? { app: 'playback', afterMs: plan.delayMs % 6 }
      : plan.hangup === 'challenge'
        ? { app: 'play_and_get_digits', afterMs: plan.delayMs }
        : plan.hangup === 'forward'
          ? { app: 'bridge', afterMs: plan.delayMs % 10 }
          : plan.hangup === 'voicemail'
            ? { app: 'voicemail', afterMs: 2 }
            : undefined;
  return {
    callerIdNumber: plan.number,
    callerIdName: plan.name,
    destinationNumber: plan.did.slice(1),
    digits: plan.digit ?? '',
    ...(hangupOn ? { hangupOn } : {}),
    bridge: plan.forwardAnswers ? { answer: true, talkMs: 5 + plan.delayMs } : { answer: false, cause: 'USER_BUSY' },
    // `socket … full` without async, as dialplan/freeswitch/callguard-outbound.xml has it.
    async: false,
    ...(inbound ? { context: 'public', dialplanSet: { callguard_screen: 'true' } } : {}),
  };
}

function asteriskCall(plan: Plan): { options: PlaceCallOptions; dtmf?: { afterMs: number; digits: string } } {
  const options: PlaceCallOptions = {
    callerNumber: plan.number,
    callerName: plan.name,
    exten: plan.did,
    context: 'callguard-inbound',
    priority: 2,
    // A bridged forward ends when someone hangs up: here the caller, ringing or talking.
    ...(plan.kind === 'forward' ? { callerHangup: { afterMs: 15 + plan.delayMs * 4 } } : {}),
    ...(plan.hangup === 'prompt' || plan.hangup === 'challenge' ? { callerHangup: { onPlaybackStart: 1 } } : {}),
  };
  return plan.digit ? { options, dtmf: { afterMs: 10 + plan.delayMs, digits: plan.digit } } : { options };
}

// ---- the simulators' process ---------------------------------------------------------

class Host {
  private readonly child: ChildProcess;
  private next = 1;
  private readonly pending = new Map<number, { resolve(answer: unknown): void; reject(error: Error): void }>();

  constructor() {
    this.child = fork(join(__dirname, 'sim-host.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (message: { id: number; answer?: unknown; error?: string }) => {
      const waiter = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (message.error !== undefined) waiter?.reject(new Error(message.error));
      else waiter?.resolve(message.answer);
    });
  }

  ask<T>(request: HostRequest): Promise<T> {
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (answer: unknown) => void, reject });
      this.child.send({ id, request });
    });
  }

  close(): void {
    this.child.disconnect();
  }
}

// ---- the CLI, changing rules while calls run --------------------------------------------

class RuleChurn {
  ops = 0;
  failures: string[] = [];
  private running = false;
  private done: Promise<void> = Promise.resolve();
  private readonly added = new Set<string>();

  constructor(
    private readonly dbPath: string,
    private readonly rnd: () => number,
  ) {}

  start(): void {
    this.running = true;
    this.done = this.loop();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }

  private async loop(): Promise<void> {
    let step = 0;
    while (this.running) {
      const number = `+12095550${String(Math.floor(this.rnd() * 100)).padStart(3, '0')}`;
      const choice = step++ % 6;
      let args: string[];
      if (choice === 2 && this.added.size > 0) args = ['lists', 'disable', 'churn'];
      else if (choice === 3 && this.added.size > 0) args = ['lists', 'enable', 'churn'];
      else if ((choice === 4 || choice === 5) && this.added.size > 0) {
        const [first] = this.added;
        this.added.delete(first!);
        args = ['rules', 'remove', first!];
      } else {
        this.added.add(number);
        args = ['rules', 'add', number, '--action', this.rnd() < 0.5 ? 'block' : 'busy', '--list', 'churn'];
      }
      const { code, stderr } = await cli(this.dbPath, args);
      this.ops++;
      if (code !== 0) this.failures.push(`callguard ${args.join(' ')} → ${code}: ${stderr.trim()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

function cli(dbPath: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [binPath, '--db', dbPath, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) => resolve({ code, stderr }));
  });
}

/** The screener, noting every channel a driver hands it: the calls that reached the agent. */
class CountingScreener extends Screener {
  readonly handed = new Map<string, number>();
  override screen(...args: Parameters<Screener['screen']>): ReturnType<Screener['screen']> {
    const channel = args[3] ?? '(none)';
    this.handed.set(channel, (this.handed.get(channel) ?? 0) + 1);
    return super.screen(...args);
  }
}

// ---- what the agent holds ------------------------------------------------------------

let unhandled = 0;
let uncaught = 0;
process.on('unhandledRejection', (reason) => {
  unhandled++;
  process.stderr.write(`unhandled rejection: ${reason instanceof Error ? reason.stack : String(reason)}\n`);
});
process.on('uncaughtException', (error) => {
  uncaught++;
  process.stderr.write(`uncaught exception: ${error.stack}\n`);
});

type Counts = Record<string, number>;

function handleCounts(): Counts {
  const counts: Counts = {};
  for (const name of process.getActiveResourcesInfo()) counts[`handles.${name}`] = (counts[`handles.${name}`] ?? 0) + 1;
  return counts;
}

function listenerTotal(emitter: { eventNames(): (string | symbol)[]; listenerCount(name: string | symbol): number } | null | undefined): number {
  return emitter ? emitter.eventNames().reduce((sum, name) => sum + emitter.listenerCount(name), 0) : 0;
}

interface Agent {
  readonly driver: PbxDriver;
  /** The driver's own view of what it holds. */
  counts(): Counts;
}

// ---- one simulator -----------------------------------------------------------------

interface ModeResult {
  readonly mode: Mode;
  readonly pushed: number;
  readonly reached: number;
  readonly accountedOnce: number;
  readonly notReached: number;
  readonly lost: string[];
  readonly duplicates: string[];
  readonly missing: string[];
  readonly unexpected: string[];
  readonly connectionFaults: number;
  readonly callerHangups: number;
  readonly ruleChanges: number;
  readonly ruleChangeFailures: string[];
  readonly failedOver: number;
  readonly rssWarm: number;
  readonly rssAfter: number;
  readonly idle: Counts;
  readonly after: Counts;
  readonly outcomes: Record<string, number>;
  readonly seconds: number;
}

async function soak(mode: Mode, host: Host, seedOffset: number): Promise<ModeResult> {
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), `callguard-soak-${mode}-`));
  const dbPath = join(dir, 'callguard.db');
  const db = openDatabase(dbPath);
  seed(db);
  db.pragma('busy_timeout = 0'); // as `serve` runs it
  const log = new CallLog(db);
  const logger = pino({ level: process.env.SOAK_LOG_LEVEL ?? 'warn' }, pino.destination({ dest: join(dir, 'agent.log'), sync: true }));
  let failedOver = 0;
  const observer = { decided: () => undefined, failedOver: () => void failedOver++ };
  const challenge = mode === 'asterisk' ? { digit: '1', timeoutMs: 150, tries: 2 } : { digit: '1', timeoutMs: 5000, tries: 2 };
  const screener = new CountingScreener(new SqliteDecisionStore(db), log, { country: 'US', failMode: 'open', actions: { ...DEFAULT_ACTION_SETTINGS, challenge } }, logger, observer);
  const agent = await startAgent(mode, host, screener, logger);
  const nextPlan = planner(SEED + seedOffset);
  const reports: CallReport[] = [];
  let callerHangups = 0;

  const place = async (plan: Plan): Promise<void> => {
    if (plan.hangup) callerHangups++;
    if (mode === 'asterisk') reports.push(await host.ask<CallReport>({ cmd: 'ast-call', ...asteriskCall(plan) }));
    else if (mode === 'freeswitch-inbound') reports.push(await host.ask<CallReport>({ cmd: 'fs-park', spec: freeswitchSpec(plan, true) }));
    else reports.push(await host.ask<CallReport>({ cmd: 'fs-outbound', agentPort: (agent.driver as FreeSwitchOutboundServer).port, spec: freeswitchSpec(plan, false) }));
  };
  const run = async (count: number, onStart: (index: number) => Promise<void> | void) => {
    let next = 0;
    let ended = 0;
    let lastEnded = Date.now();
    const lanes = Promise.all(
      Array.from({ length: Math.min(CONCURRENCY, count) }, async () => {
        while (next < count) {
          const index = next++;
          await onStart(index);
          await place(nextPlan());
          // While the PBX finds no agent its calls end at once: keep them arriving at a modest pace, not as a flood.
          if (!agent.driver.connected) await new Promise((resolve) => setTimeout(resolve, 250));
          ended++;
          lastEnded = Date.now();
        }
      }),
    );
    // A call that never ends would hold its lane for ever: past a minute without any call ending,
    // the simulators are closed (what is left ends as stranded or parked, and is counted lost).
    let stalled = false;
    const watchdog = setInterval(() => {
      if (stalled || Date.now() - lastEnded < 60_000) return;
      stalled = true;
      void host.ask<unknown[]>({ cmd: 'pending' }).then((pending) => {
        process.stdout.write(`${mode}: stalled with ${count - ended} call(s) not ended: ${JSON.stringify(pending).slice(0, 4000)}\n`);
        return host.ask({ cmd: 'close' });
      });
    }, 1000);
    try {
      await lanes;
    } finally {
      clearInterval(watchdog);
    }
  };
  const drained = async () => {
    const deadline = Date.now() + 30_000;
    while (agent.driver.inProgress > 0 || log.queued > 0) {
      if (Date.now() > deadline) break;
      log.flush();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // Let timers of calls just ended fire or clear (the driver's own deadlines, the call log's batch).
    await new Promise((resolve) => setTimeout(resolve, 300));
    log.flush();
    gc();
    gc();
  };

  // Warm-up: the same mix, no faults, no rule changes; then the idle values and the RSS to compare with.
  const warmUp = Math.min(2000, Math.max(200, Math.round(CALLS / 5)));
  await run(warmUp, () => undefined);
  await drained();
  const rssWarm = process.memoryUsage().rss;
  const idle = { ...handleCounts(), ...agent.counts() };

  // The run: rules change from the CLI all along; the PBX connection goes twice.
  const churn = new RuleChurn(dbPath, random(SEED + seedOffset + 1));
  churn.start();
  let connectionFaults = 0;
  const faultAt = new Set([Math.floor(CALLS / 3), Math.floor((2 * CALLS) / 3)]);
  await run(CALLS, async (index) => {
    if (!faultAt.has(index)) return;
    connectionFaults++;
    if (mode === 'asterisk') {
      if (connectionFaults === 1) await host.ask({ cmd: 'ast-drop' });
      else {
        await host.ask({ cmd: 'ast-outage', ms: 1500 }); // refused for 1.5 s, the WebSocket cut, then back
      }
    } else {
      await host.ask({ cmd: 'fs-drop' });
    }
  });
  await churn.stop();
  // Connected again (the inbound client and the ARI driver reconnect by themselves)?
  const reconnectBy = Date.now() + 35_000;
  while (!agent.driver.connected && Date.now() < reconnectBy) await new Promise((resolve) => setTimeout(resolve, 50));
  await drained();
  const rssAfter = process.memoryUsage().rss;
  const after = { ...handleCounts(), ...agent.counts() };

  // Accounting: the call log against what the simulator saw.
  const rows = db.prepare('SELECT channel, outcome FROM calls').all() as { channel: string | null; outcome: string | null }[];
  const byChannel = new Map<string, number>();
  for (const row of rows) byChannel.set(row.channel ?? '(none)', (byChannel.get(row.channel ?? '(none)') ?? 0) + 1);
  const withOutcome = new Set(rows.filter((row) => row.outcome !== null).map((row) => row.channel));
  const placed = new Set(reports.map((report) => report.id));
  const lost: string[] = [];
  const duplicates: string[] = [];
  const missing: string[] = [];
  let reached = 0;
  let accountedOnce = 0;
  let notReached = 0;
  for (const report of reports) {
    // Every call ends on some route: through, cleared, bridged, voicemail; none waits for good.
    if (['stranded', 'parked', 'sim_closed'].includes(report.outcome)) lost.push(`${report.id} ${report.outcome}`);
    const logged = byChannel.get(report.id) ?? 0;
    const handed = screener.handed.get(report.id) ?? 0;
    if (handed > 1) duplicates.push(`${report.id}: screened ${handed}×`);
    if (handed === 0) {
      // The PBX found no agent to hand it to (Stasis failed, the socket was cut before the channel data): its normal route.
      notReached++;
      if (logged !== 0) duplicates.push(`${report.id}: never screened yet logged ${logged}×`);
      if (!['continued', 'stasis_failed', 'transferred'].includes(report.outcome)) lost.push(`${report.id}: not screened, and ${report.outcome}`);
      continue;
    }
    reached++;
    if (logged === 1 && withOutcome.has(report.id)) accountedOnce++;
    else if (logged > 1) duplicates.push(`${report.id}: logged ${logged}×`);
    else missing.push(`${report.id}: ${logged === 0 ? 'not logged' : 'logged without an outcome'} (PBX: ${report.outcome})`);
  }
  const unexpected = [...byChannel.keys(), ...screener.handed.keys()].filter((channel) => !placed.has(channel));
  const outcomes: Record<string, number> = {};
  for (const row of db.prepare("SELECT action || ' → ' || COALESCE(outcome, 'none') AS what, COUNT(*) AS n FROM calls GROUP BY what ORDER BY n DESC").all() as { what: string; n: number }[]) outcomes[row.what] = row.n;

  await agent.driver.stop(2000);
  await host.ask({ cmd: 'close' });
  log.close();
  db.close();
  if (!KEEP) rmSync(dir, { recursive: true, force: true });
  else process.stdout.write(`kept ${dir}\n`);
  return {
    mode,
    pushed: reports.length,
    reached,
    accountedOnce,
    notReached,
    lost,
    duplicates,
    missing,
    unexpected,
    connectionFaults,
    callerHangups,
    ruleChanges: churn.ops,
    ruleChangeFailures: churn.failures,
    failedOver,
    rssWarm,
    rssAfter,
    idle,
    after,
    outcomes,
    seconds: (Date.now() - started) / 1000,
  };
}

function seed(db: Database): void {
  const rules = new RuleStore(db);
  const rule = (pattern: string, action: RuleAction, target: string | null = null, list: string | null = null) =>
    rules.add([{ ...parsePattern(pattern, 'US'), scope: 'global', action, target, sms: false, note: null, list, expiresAt: null }]);
  rule('+1201*', 'allow');
  rule('+1202*', 'block');
  rule('+1203*', 'challenge');
  rule('+1204*', 'busy');
  rule('+1205*', 'disconnected');
  rule('+1206*', 'voicemail', '200');
  rule('+1207*', 'forward', FORWARD_TO);
  // Robocall protection for one tenant, flagging from 10 points: its callers go through marked.
  new TenantStore(db).add('acme');
  new TenantStore(db).addDid(FLAGGING_DID as E164, 'acme');
  new ProtectionStore(db).set({ scope: 'tenant:acme', enabled: true, threshold: 95, flagThreshold: 10, action: 'block' });
}

async function startAgent(mode: Mode, host: Host, screener: Screener, logger: pino.Logger): Promise<Agent> {
  if (mode === 'freeswitch-outbound') {
    await host.ask({ cmd: 'fs-start' });
    const server = new FreeSwitchOutboundServer({ host: '127.0.0.1', port: 0 }, { screener, logger, settings: DEFAULT_FREESWITCH });
    await server.start();
    const internals = server as unknown as { sockets: Set<unknown>; net: Parameters<typeof listenerTotal>[0] };
    return {
      driver: server,
      counts: () => ({ 'driver.inProgress': server.inProgress, 'driver.connections': server.openConnections, 'driver.sockets': internals.sockets.size, 'driver.serverListeners': listenerTotal(internals.net) }),
    };
  }
  if (mode === 'freeswitch-inbound') {
    const { port } = await host.ask<{ port: number }>({ cmd: 'fs-start' });
    const client = new FreeSwitchInboundClient({ host: '127.0.0.1', port, password: 'ClueCon' }, { screener, logger, settings: DEFAULT_FREESWITCH });
    await client.start();
    const connection = () => (client as unknown as { conn: (Parameters<typeof listenerTotal>[0] & { apiCallbackQueue: unknown[]; cmdCallbackQueue: unknown[] }) | null }).conn;
    return {
      driver: client,
      counts: () => ({
        'driver.inProgress': client.inProgress,
        'driver.connectionListeners': listenerTotal(connection()),
        'driver.pendingApiReplies': connection()?.apiCallbackQueue.length ?? 0,
        'driver.pendingCommandReplies': connection()?.cmdCallbackQueue.length ?? 0,
      }),
    };
  }
  const { url, username, password } = await host.ask<{ url: string; username: string; password: string }>({ cmd: 'ast-start' });
  const driver: AsteriskDriver = createAsteriskDriver({ url, user: username, password, app: 'callguard', settings: DEFAULT_ASTERISK, requestTimeoutMs: 2000 }, { screener, logger });
  await driver.start();
  return { driver, counts: () => Object.fromEntries(Object.entries(driver.debugCounts()).map(([key, value]) => [`driver.${key}`, value])) };
}

// ---- the report -----------------------------------------------------------------------

const mb = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MB`;

function report(results: ModeResult[], wallSeconds: number): string[] {
  const failures: string[] = [];
  const row = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const lines = [
    row(['simulator', 'calls pushed', 'reached agent', 'logged exactly once', 'PBX found no agent (fail open)', 'lost / stranded', 'duplicates', 'connection faults', 'caller hang-ups', 'CLI rule changes', 'failed over', 'RSS after warm-up', 'RSS after run', 'seconds']),
    row(Array(14).fill('---')),
  ];
  for (const result of results) {
    lines.push(
      row([
        result.mode,
        String(result.pushed),
        String(result.reached),
        String(result.accountedOnce),
        String(result.notReached),
        String(result.lost.length),
        String(result.duplicates.length),
        String(result.connectionFaults),
        String(result.callerHangups),
        String(result.ruleChanges),
        String(result.failedOver),
        mb(result.rssWarm),
        `${mb(result.rssAfter)} (${result.rssAfter >= result.rssWarm ? '+' : ''}${(((result.rssAfter - result.rssWarm) / result.rssWarm) * 100).toFixed(1)}%)`,
        result.seconds.toFixed(0),
      ]),
    );
    const fail = (why: string, detail: string[] = []) => failures.push(`${result.mode}: ${why}${detail.length ? `: ${detail.slice(0, 5).join('; ')}${detail.length > 5 ? ` (+${detail.length - 5} more)` : ''}` : ''}`);
    if (result.accountedOnce !== result.reached) fail(`${result.reached - result.accountedOnce} call(s) not logged exactly once`, [...result.missing, ...result.duplicates]);
    if (result.lost.length) fail(`${result.lost.length} call(s) left stranded`, result.lost);
    if (result.duplicates.length) fail('calls logged twice, or logged though they never reached the agent', result.duplicates);
    if (result.unexpected.length) fail('call-log rows for no call placed', result.unexpected);
    if (result.ruleChangeFailures.length) fail('CLI rule changes failed', result.ruleChangeFailures);
    if (result.rssAfter > result.rssWarm * (1 + RSS_GROWTH_LIMIT)) fail(`RSS grew ${(((result.rssAfter - result.rssWarm) / result.rssWarm) * 100).toFixed(1)}% (limit ${RSS_GROWTH_LIMIT * 100}%)`);
    const grown = Object.keys({ ...result.idle, ...result.after })
      .filter((key) => (result.after[key] ?? 0) > (result.idle[key] ?? 0))
      .map((key) => `${key} ${result.idle[key] ?? 0} → ${result.after[key] ?? 0}`);
    if (grown.length) fail('not back to idle', grown);
  }
  const total = (pick: (result: ModeResult) => number) => String(results.reduce((sum, result) => sum + pick(result), 0));
  lines.push(
    row([
      '**all**',
      total((r) => r.pushed),
      total((r) => r.reached),
      total((r) => r.accountedOnce),
      total((r) => r.notReached),
      total((r) => r.lost.length),
      total((r) => r.duplicates.length),
      total((r) => r.connectionFaults),
      total((r) => r.callerHangups),
      total((r) => r.ruleChanges),
      total((r) => r.failedOver),
      '',
      '',
      wallSeconds.toFixed(0),
    ]),
  );
  if (unhandled || uncaught) failures.push(`${unhandled} unhandled rejection(s), ${uncaught} uncaught exception(s)`);
  process.stdout.write(`\ncallguard soak: ${CALLS} calls per simulator (plus warm-up), concurrency ${CONCURRENCY}, seed ${SEED}\n\n${lines.join('\n')}\n\n`);
  for (const result of results) {
    process.stdout.write(`${result.mode}: handles and listeners idle → after: ${Object.keys(result.idle).map((key) => `${key.replace(/^(handles|driver)\./, '')} ${result.idle[key]}→${result.after[key] ?? 0}`).join(', ')}\n`);
    process.stdout.write(`${result.mode}: outcomes ${Object.entries(result.outcomes).map(([what, n]) => `${what} ${n}`).join(', ')}\n`);
  }
  process.stdout.write(`unhandled rejections ${unhandled}, uncaught exceptions ${uncaught}\n\n`);
  return failures;
}

async function main(): Promise<void> {
  const started = Date.now();
  const host = new Host();
  const results: ModeResult[] = [];
  try {
    for (const [index, mode] of ONLY.entries()) {
      process.stdout.write(`soak: ${mode}…\n`);
      results.push(await soak(mode, host, index * 1000));
    }
  } finally {
    host.close();
  }
  const failures = report(results, (Date.now() - started) / 1000);
  if (failures.length) {
    process.stdout.write(`FAILED:\n${failures.map((failure) => `  - ${failure}`).join('\n')}\n`);
    process.exitCode = 1;
  } else {
    process.stdout.write('all invariants hold\n');
  }
}

void main().catch((error: unknown) => {
  process.stderr.write(`soak failed to run: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
