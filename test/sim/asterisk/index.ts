/*
 * Asterisk 22 ARI simulator for tests: real HTTP + WebSocket on 127.0.0.1, driven by the
 * real `ari-client`. Behaviour and Swagger follow /work/shared/reference/asterisk-ari.
 *
 *   const sim = await startAsteriskSim();                          // user callguard / secret
 *   const ari = await require('ari-client').connect(sim.url, sim.username, sim.password);
 *   await ari.start('callguard');                                  // the agent does this part
 *   const call = sim.placeCall({ callerNumber: '+14045551234', callerName: 'Alice', exten: '+18005550100' });
 *   await call.sendDtmf('1');                                      // caller presses 1
 *   const result = await call.done;   // { outcome: 'hungup', hangupReason: 'rejected', hangupCause: 21, requests: [...] }
 *   ari.stop();
 *   await sim.close();
 *
 * With ari.conf's channelvars and a dialplan read from .conf files (conf.ts), calls run the
 * dialplan up to Stasis() and on after a continue (a Stasis() no WebSocket serves fails over
 * at once and the dialplan goes on, maybe into another Stasis(): call.enteredApps lists the
 * applications a call entered), snapshots carry the channelvars as
 * Asterisk evaluates them per channel type, and sim.asteriskLog holds what Asterisk would
 * log (see test/asterisk-channelvars.test.ts):
 *   const sim = await startAsteriskSim({ channelvars: parseChannelvars('CALLGUARD_PAI,CALLERID(pres)'),
 *     dialplan: dialplanFromConf(parseAsteriskConf(extensionsConfText, 'extensions.conf')) });
 *
 * Pitfalls of ari-client 2.2 worth knowing (see test/asterisk-sim.test.ts):
 *  - wrong credentials make connect() reject with a string AND throw that string as an
 *    uncaught exception (swagger-client throws inside its HTTP callback);
 *  - credentials are stored in a process-wide swagger-client singleton: the last
 *    connect() wins for every client's REST calls in the process;
 *  - a REST call to an unreachable Asterisk never settles (no error, no timeout).
 */
import { PATIENCE_MS, until } from '../../helpers/patience';
import { EventHub, type SentEvent } from './hub';
import type { OriginateInfo, OriginateOutcome, PlaceCallOptions, SimCall } from './call';
import type { Dialplan } from './dialplan';
import type { AsteriskLogLine } from './functions';
import { Engine } from './model';
import type { AriEventType } from './shapes';
import { SimServer } from './server';

export * from './shapes';
export { HANGUP_REASON_CAUSES, causeText, SOFTHANGUP_EXPLICIT } from './causes';
export type { SentEvent } from './hub';
export type { AsteriskLogLine, AsteriskLogLevel } from './functions';
export { channelType, parseChannelvars, type StirShakenResult } from './functions';
export type { Dialplan, DialplanStop } from './dialplan';
export { SIM_TRUNK_ADDRESS } from './model';
export { confValue, dialplanFromConf, parseAsteriskConf, type ConfProblem, type ParsedConf } from './conf';
export type {
  CallOutcome,
  CallResult,
  CallerHangupPlan,
  OriginateInfo,
  OriginateOutcome,
  PlaceCallOptions,
  PlaybackRecord,
  RequestLogEntry,
  SimCall,
} from './call';
export { API_DECLARATIONS, RESOURCE_LISTING, ROUTE_OPERATIONS, SIM_EVENT_TYPES, swaggerDocument } from './swagger';

export interface AsteriskSimOptions {
  username?: string;
  password?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Application placeCall() targets by default. */
  app?: string;
  /** How long each media item plays (ms); default 20. */
  mediaDurationMs?: number | ((mediaUri: string) => number);
  /** Media URIs that do not exist: a missing `sound:` finishes "failed", others are skipped. */
  missingMedia?: string[];
  /** A continued channel hangs up in the dialplan after this long (ms); null keeps it. Default 0. */
  continuedHangupAfterMs?: number | null;
  /** Gap between DTMF digits sent with call.sendDtmf (ms); default 10. */
  dtmfGapMs?: number;
  asteriskId?: string;
  maxBodyBytes?: number;
  /**
   * ari.conf `[general] channelvars` (names as Asterisk splits the line: see parseChannelvars).
   * Every channel snapshot then carries them, evaluated on that channel as Asterisk does; a
   * function that fails there gives "" and an ERROR in asteriskLog. Default: none.
   */
  channelvars?: string[];
  /** chan_pjsip loaded (default true); without it PJSIP_HEADER is "not registered". */
  pjsipLoaded?: boolean;
  /** res_stir_shaken loaded (default false); without it STIR_SHAKEN() is "not registered". */
  stirShakenLoaded?: boolean;
  /**
   * The dialplan (see dialplanFromConf): placeCall then runs the call from its context and
   * priority 1 up to Stasis(), and continueInDialplan runs it on to the first application
   * the simulator does not run (Dial, VoiceMail, ...; CallResult.dialplanStop) or into the
   * next Stasis() whose application a WebSocket serves.
   */
  dialplan?: Dialplan;
}

export class AsteriskSim {
  readonly username: string;
  readonly password: string;
  /** Every event put on a WebSocket, in order. */
  readonly sentEvents: SentEvent[] = [];
  private readonly engine: Engine;
  private readonly hub: EventHub;
  private readonly server: SimServer;
  private readonly waiters = new Set<(e: SentEvent) => void>();

  /** Use startAsteriskSim(). */
  constructor(opts: AsteriskSimOptions = {}) {
    this.username = opts.username ?? 'callguard';
    this.password = opts.password ?? 'secret';
    this.hub = new EventHub(opts.asteriskId ?? '52:54:00:12:34:56', (e) => {
      this.sentEvents.push(e);
      for (const w of [...this.waiters]) w(e);
    });
    const duration = opts.mediaDurationMs ?? 20;
    this.engine = new Engine(this.hub, {
      mediaDurationMs: typeof duration === 'number' ? () => duration : duration,
      missingMedia: new Set(opts.missingMedia ?? []),
      continuedHangupAfterMs: opts.continuedHangupAfterMs === undefined ? 0 : opts.continuedHangupAfterMs,
      dtmfGapMs: opts.dtmfGapMs ?? 10,
      defaultApp: opts.app ?? 'callguard',
      channelvars: opts.channelvars ?? null,
      pjsipLoaded: opts.pjsipLoaded ?? true,
      stirShakenLoaded: opts.stirShakenLoaded ?? false,
      dialplan: opts.dialplan ?? null,
    });
    this.server = new SimServer(this.engine, this.hub, {
      username: this.username,
      password: this.password,
      maxBodyBytes: opts.maxBodyBytes ?? 40960,
    });
  }

  /** @internal */
  async listen(port: number): Promise<void> {
    await this.server.listen(port);
  }

  get port(): number {
    return this.server.port;
  }

  /** Base URL for ari-client.connect(). */
  get url(): string {
    return `http://127.0.0.1:${this.server.port}`;
  }

  /** Every REST request (api-docs fetches excluded), in arrival order. */
  get requests() {
    return this.server.requests;
  }

  /** Each WebSocket that registered applications, in order, with the count of REST requests that came before it. */
  get registrations() {
    return this.server.registrations;
  }

  /** Runs `listener` as each WebSocket registers its applications (a call placed there enters Stasis before anything else happens). */
  onRegistration(listener: (apps: readonly string[]) => void): void {
    this.server.registrationListeners.push(listener);
  }

  /** Every event reaches its WebSocket `ms` late, in order (REST answers do not wait). */
  delayEvents(ms: number): void {
    this.hub.eventDelayMs = ms;
  }

  /** Handler exceptions the simulator turned into 500s; should stay empty. */
  get internalErrors(): unknown[] {
    return this.server.internalErrors;
  }

  /** Every line Asterisk would have logged (ERROR, WARNING, NOTICE, ...) from channelvars, the simulated dialplan and playbacks. */
  get asteriskLog(): readonly AsteriskLogLine[] {
    return this.engine.asteriskLog;
  }

  get authFailures(): number {
    return this.server.authFailures;
  }

  /** Inbound calls and originated legs, in creation order. */
  get calls(): SimCall[] {
    return this.engine.calls;
  }

  get outboundCalls(): SimCall[] {
    return this.engine.calls.filter((c) => c.direction === 'outbound');
  }

  /** A call arrives from the PBX dialplan into Stasis(app). */
  placeCall(options: PlaceCallOptions): SimCall {
    return this.engine.placeCall(options);
  }

  /** Decide what each originated leg does (default: rings, answers after 5 ms). */
  onOriginate(handler: (info: OriginateInfo) => OriginateOutcome): void {
    this.engine.originateHandler = handler;
  }

  /** Cut every event WebSocket abruptly; ari-client reconnects by itself. Returns how many. */
  dropWebSockets(): number {
    return this.hub.dropAll();
  }

  /** Cut the WebSockets serving `app` abruptly (the others stay), as a killed agent's socket closes. Returns how many. */
  dropWebSocketsOf(app: string): number {
    return this.hub.dropApp(app);
  }

  /** Stop accepting connections (ECONNREFUSED); open ones are cut unless keepExisting. */
  refuseConnections(opts: { keepExisting?: boolean } = {}): Promise<void> {
    return this.server.refuse(!opts.keepExisting);
  }

  acceptConnections(): Promise<void> {
    return this.server.accept();
  }

  openWebSocketCount(): number {
    return this.hub.openCount();
  }

  /** Is a WebSocket currently serving this application? */
  isAppConnected(app: string): boolean {
    return this.hub.isActive(app);
  }

  /** A global variable as GET /asterisk/variable reads it ("" when unset). */
  globalVariable(name: string): string {
    return this.engine.globals.get(name) ?? '';
  }

  liveChannelIds(): string[] {
    return [...this.engine.channels.keys()];
  }

  liveChannelCount(): number {
    return this.engine.channels.size;
  }

  /** Playbacks queued or playing. */
  activePlaybackCount(): number {
    return this.engine.playbacks.size;
  }

  bridgeIds(): string[] {
    return [...this.engine.bridges.keys()];
  }

  /**
   * Resolves with the first sent event (past or future) of `type` matching `filter`; gives up
   * only after `timeoutMs` (a hang detector: see test/helpers/patience.ts).
   */
  waitForEvent(type: AriEventType, filter: (e: SentEvent) => boolean = () => true, timeoutMs = PATIENCE_MS): Promise<SentEvent> {
    const past = this.sentEvents.find((e) => e.event.type === type && filter(e));
    if (past) return Promise.resolve(past);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(w);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${type}`));
      }, timeoutMs);
      const w = (e: SentEvent) => {
        if (e.event.type !== type || !filter(e)) return;
        clearTimeout(timer);
        this.waiters.delete(w);
        resolve(e);
      };
      this.waiters.add(w);
    });
  }

  /** Polls `cond` until true (for counters such as openWebSocketCount); gives up only after `timeoutMs` (a hang detector). */
  async waitUntil(cond: () => boolean, timeoutMs = PATIENCE_MS, what = 'condition'): Promise<void> {
    await until(cond, what, timeoutMs);
  }

  /** Ends unfinished calls with outcome `sim_closed` and closes every socket. */
  async close(): Promise<void> {
    this.engine.close();
    await this.server.close();
  }
}

export async function startAsteriskSim(opts: AsteriskSimOptions = {}): Promise<AsteriskSim> {
  const sim = new AsteriskSim(opts);
  await sim.listen(opts.port ?? 0);
  return sim;
}
