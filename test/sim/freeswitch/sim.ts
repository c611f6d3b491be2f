// The simulator: owns the inbound listener, the outbound connections, the
// calls, and the event bus every socket subscribes to.

import { EventEmitter } from 'node:events';
import type net from 'node:net';
import { runApi, type ApiHost } from './api';
import { BUILTIN_APPS } from './apps';
import { SimChannel } from './channel';
import { EventFactory, type SimEvent } from './events';
import { InboundServer } from './inbound';
import { runSocketApplication } from './outbound';
import type { AgentAddress } from './outbound';
import { routeCall, type RouteResult } from './route';
import { SimScheduler } from './scheduler';
import type { EslSession, SessionHost } from './session';
import type { AppHandler, CallSpec, ChannelHost } from './types';
import type { Command } from './wire';
import type { XmlNode } from './xml-dialplan';

export interface FreeSwitchSimOptions {
  /** event_socket.conf password (default ClueCon). */
  password?: string;
  /** Listen address for inbound mode (default 127.0.0.1). */
  host?: string;
  /** Listen port (default 0: ephemeral). */
  port?: number;
  /** FreeSWITCH-Hostname / Switchname. */
  hostname?: string;
  /**
   * Factor applied to durations FreeSWITCH itself would wait (digit timeouts,
   * sleep, linger seconds). Default 0.01: a 5 s play_and_get_digits timeout
   * takes 50 ms. Not the outbound first-command timeout: see OutboundCallSpec.
   */
  timeScale?: number;
  /** Defaults merged into every call's spec (e.g. playbackMs, appDelayMs). */
  callDefaults?: Partial<CallSpec>;
}

export interface OutboundCallSpec extends CallSpec {
  /** `socket ... async` (default true). */
  async?: boolean;
  /** `socket ... full` (default true). */
  full?: boolean;
  /**
   * How long the socket application waits for the agent's first command (`connect`) before
   * it gives up on the connection. Default FREESWITCH_FIRST_COMMAND_TIMEOUT_MS, unscaled: an
   * agent on a slow or busy machine must never miss it. A test of the timeout itself sets a
   * short one here.
   */
  firstCommandTimeoutMs?: number;
}

/** mod_event_socket's wait for an outbound socket's first command: about 24 s. */
const FREESWITCH_FIRST_COMMAND_TIMEOUT_MS = 24_000;

export interface SimStats {
  inboundAccepted: number;
  outboundConnected: number;
  outboundFailed: number;
  /** Connections the simulator dropped on purpose (dropConnections). */
  dropped: number;
}

export interface CommandLogEntry {
  session: number;
  kind: 'inbound' | 'outbound';
  callUuid?: string;
  command: Command;
}

export class FreeSwitchSim extends EventEmitter implements SessionHost, ChannelHost, ApiHost {
  readonly password: string;
  readonly timeScale: number;
  readonly events: EventFactory;
  readonly globals = new Map<string, string>([
    ['domain', '127.0.0.1'],
    ['hostname', 'sim'],
    ['sound_prefix', '/usr/share/freeswitch/sounds/en/us/callie'],
  ]);
  readonly startedAt = Date.now();
  readonly hostname: string;
  readonly extraApis = new Map<string, (args: string, from: SimChannel | undefined) => string>();
  /** Every call the simulator created, in order. */
  readonly calls: SimChannel[] = [];
  /** Every command any socket sent, in order. */
  readonly commandLog: CommandLogEntry[] = [];
  readonly stats: SimStats = { inboundAccepted: 0, outboundConnected: 0, outboundFailed: 0, dropped: 0 };
  /** Internal errors (simulator bugs, throwing custom applications); tests can assert it stays empty. */
  readonly errors: Error[] = [];
  /** The core task scheduler (sched_transfer, sched_del). */
  readonly scheduler = new SimScheduler();

  private readonly apps = new Map<string, AppHandler>(Object.entries(BUILTIN_APPS));
  private readonly sessions = new Set<EslSession>();
  private readonly connecting = new Set<net.Socket>();
  private readonly inbound: InboundServer;
  private readonly listenHost: string;
  private readonly listenPort: number;
  private readonly callDefaults: Partial<CallSpec>;
  private closing = false;

  constructor(opts: FreeSwitchSimOptions = {}) {
    super();
    this.password = opts.password ?? 'ClueCon';
    this.timeScale = opts.timeScale ?? 0.01;
    this.hostname = opts.hostname ?? 'sim';
    this.events = new EventFactory(EventFactory.defaultCore(this.hostname));
    this.listenHost = opts.host ?? '127.0.0.1';
    this.listenPort = opts.port ?? 0;
    this.callDefaults = opts.callDefaults ?? {};
    this.globals.set('hostname', this.hostname);
    this.inbound = new InboundServer(this, (s) => {
      this.stats.inboundAccepted++;
      this.addSession(s);
    });
  }

  /** Start listening for inbound connections; resolves with the port. */
  start(): Promise<number> {
    return this.inbound.listen(this.listenHost, this.listenPort);
  }

  /** Stop accepting inbound connections (existing ones stay). start() listens again on the same port. */
  stopListening(): Promise<void> {
    return this.inbound.stop();
  }

  get port(): number {
    return this.inbound.port;
  }

  /** Open event sockets (inbound + outbound) plus outbound connects in flight. */
  get openSockets(): number {
    return this.sessions.size + this.connecting.size;
  }

  get openInboundSockets(): number {
    return [...this.sessions].filter((s) => s.kind === 'inbound').length;
  }

  get openOutboundSockets(): number {
    return [...this.sessions].filter((s) => s.kind === 'outbound').length + this.connecting.size;
  }

  /** Register or replace an application (name is matched case-insensitively). */
  defineApp(name: string, handler: AppHandler): void {
    this.apps.set(name.toLowerCase(), handler);
  }

  /** Register or replace an API command. */
  defineApi(name: string, fn: (args: string, from: SimChannel | undefined) => string): void {
    this.extraApis.set(name.toLowerCase(), fn);
  }

  /**
   * Inbound mode: a call arrives and the dialplan parks it (after its `set`s).
   * CHANNEL_PARK goes out on the next tick; await `call.whenParked()`.
   */
  parkCall(spec: CallSpec = {}): SimChannel {
    const ch = this.newCall('inbound', spec);
    setImmediate(() => {
      if (ch.isDown) return;
      ch.fire('CHANNEL_CREATE');
      ch.runDialplanSets();
      ch.enterOuter('park', '');
      ch.park();
    });
    return ch;
  }

  /**
   * A call arriving in `context` (an XML `<context>` node, e.g. one assembled from the
   * shipped snippets by the preprocessor): the dialplan is hunted and run as FreeSWITCH
   * would, parking included, until the call reaches its normal route or ends.
   */
  routeInboundCall(spec: CallSpec, context: XmlNode): { call: SimChannel; routed: Promise<RouteResult> } {
    const ch = this.newCall('inbound', spec);
    ch.fire('CHANNEL_CREATE');
    return { call: ch, routed: routeCall(ch, context) };
  }

  /**
   * Outbound mode: the dialplan runs `socket <agentHost>:<agentPort> async full`.
   * If nothing listens there, the call continues in the dialplan (outcome continued, reason refused).
   */
  placeOutboundCall(agentHost: string, agentPort: number, spec: OutboundCallSpec = {}): SimChannel {
    return this.placeOutboundCallVia([{ host: agentHost, port: agentPort }], spec);
  }

  /**
   * Outbound mode with a failover list: `socket <a>|<b> async full` connects to the first
   * agent that takes the connection; when none does, the call continues in the dialplan.
   */
  placeOutboundCallVia(agents: readonly AgentAddress[], spec: OutboundCallSpec = {}): SimChannel {
    const ch = this.newCall('outbound', spec);
    const opts = {
      async: spec.async ?? true,
      full: spec.full ?? true,
      firstCommandTimeoutMs: spec.firstCommandTimeoutMs ?? FREESWITCH_FIRST_COMMAND_TIMEOUT_MS,
    };
    ch.fire('CHANNEL_CREATE');
    ch.runDialplanSets();
    const socket = runSocketApplication(this, ch, agents, opts, {
      session: (s) => {
        this.stats.outboundConnected++;
        this.addSession(s);
      },
      settled: (connected) => {
        this.connecting.delete(socket);
        if (!connected) this.stats.outboundFailed++;
      },
    });
    this.connecting.add(socket);
    return ch;
  }

  private newCall(mode: 'inbound' | 'outbound', spec: CallSpec): SimChannel {
    const ch = new SimChannel(this, mode, { ...this.callDefaults, ...spec });
    this.calls.push(ch);
    this.emit('call', ch);
    return ch;
  }

  /** Drop every event socket without a goodbye, as a switch restart or network cut would. */
  dropConnections(): void {
    for (const s of [...this.sessions]) {
      this.stats.dropped++;
      s.destroy();
    }
  }

  findCall(uuid: string): SimChannel | undefined {
    return this.calls.find((c) => c.uuid === uuid);
  }

  liveCalls(): SimChannel[] {
    return this.calls.filter((c) => !c.isDown);
  }

  sessionsSinceStartup(): number {
    return this.calls.length;
  }

  /** Close everything: calls still pending resolve (outcome parked/stranded), sockets get FreeSWITCH's shutdown notice. */
  async close(): Promise<void> {
    this.closing = true;
    this.scheduler.stop();
    for (const c of this.calls) c.abandon();
    for (const s of [...this.sessions]) s.close('shutdown', 'The system is being shut down.\n');
    for (const s of this.connecting) s.destroy();
    this.connecting.clear();
    await this.inbound.stop();
  }

  // ---------------------------------------------------------------- hosts' hooks

  publish(ev: SimEvent, ch?: SimChannel): void {
    for (const s of this.sessions) s.deliver(ev);
    this.emit('event', ev, ch);
  }

  globalVar(name: string): string | undefined {
    return this.globals.get(name);
  }

  runApi(command: string, args: string, from?: SimChannel): string | undefined {
    return runApi(this, command, args, from);
  }

  app(name: string): AppHandler | undefined {
    return this.apps.get(name.toLowerCase());
  }

  reportError(err: unknown): void {
    this.errors.push(err instanceof Error ? err : new Error(String(err)));
  }

  sessionClosed(s: EslSession): void {
    this.sessions.delete(s);
    this.emit('socketClosed', s);
  }

  noteCommand(s: EslSession, command: Command): void {
    const entry: CommandLogEntry = {
      session: s.id,
      kind: s.kind,
      ...(s.channel ? { callUuid: s.channel.uuid } : {}),
      command,
    };
    this.commandLog.push(entry);
    this.emit('command', entry);
  }

  private addSession(s: EslSession): void {
    if (this.closing) {
      s.destroy();
      return;
    }
    this.sessions.add(s);
    this.emit('socketOpened', s);
  }
}
