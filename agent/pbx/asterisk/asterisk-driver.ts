import { BadInput } from '../../engine/bad-input';
import type { Logger } from '../../log/logger';
import type { CallScreener } from '../../screening/screener';
import { Backoff } from '../backoff';
import type { PbxDriver } from '../driver';
import type { AsteriskSettings } from '../settings';
import { loadAriClient, type AriChannel, type AriClient, type AriEvent, type AriModule } from './ari-api';
import { AriCall } from './ari-call';
import type { CallDeps } from './call-deps';
import { channelFacts, channelvarsAdvice, variablesRead } from './channel-facts';
import { guardAriMessages } from './ari-guard';
import { AriCredentialsRejected, closeWebSocket, openAriClient, type AriEndpoint } from './connect';
import { EventRouter } from './event-router';
import { isForwardLeg } from './forward';
import type { PairLetter } from '../pair';
import { PairHeartbeat, pairApp } from './pair-heartbeat';
import { ariErrorMessage, AriRest, isApplicationNotFound, isChannelGone, withDeadline } from './rest';
import { TrackedTimers } from './tracked-timers';

export interface AsteriskDriverOptions extends AriEndpoint {
  /** The Stasis application the dialplan sends calls to (`Stasis(callguard)`); a pair's agents serve `<app>-a` and `<app>-b`. */
  readonly app: string;
  /** One agent of a failover pair on this Asterisk (dialplan [callguard-inbound-pair]): which one. */
  readonly pairAs?: PairLetter | null;
  readonly settings: AsteriskSettings;
  /** Deadline of every ARI request (default 5 s): past it the call fails open. */
  readonly requestTimeoutMs?: number;
}

export interface AsteriskDriverDeps {
  readonly screener: CallScreener;
  readonly logger: Logger;
}

/** What the driver still holds; all zero (listeners: as after start) once calls are over. */
export interface AsteriskDebugCounts {
  readonly calls: number;
  readonly routedChannels: number;
  readonly routedPlaybacks: number;
  readonly timers: number;
  /** Listeners on the ari-client (ours are a fixed set per connection). */
  readonly clientListeners: number;
  /** ari-client's per-resource listeners (channel.on(...)); the driver never adds any. */
  readonly instanceListeners: number;
}

export interface AsteriskDriver extends PbxDriver {
  debugCounts(): AsteriskDebugCounts;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 5000;
const DEFAULT_GRACE_MS = 10_000;

/**
 * Set on a call that arrives while the agent is stopping, before it goes back to the
 * dialplan: the pair's dialplan then sends it to the other agent instead of on.
 */
const STOPPING_VARIABLE = 'CALLGUARD_STOPPING';

/** `id` is one of `channelIds`, or the second half of a Local channel named after one (`<id>;2`). */
/** Longer than a StasisStart takes to follow the channel into the application's listing. */
const STASIS_START_IN_FLIGHT_MS = 1000;

const isOneOf = (channelIds: readonly string[], id: string) => channelIds.some((own) => id === own || id.startsWith(`${own};`));

/**
 * `callguard serve --pbx asterisk`: screens every channel that enters our Stasis
 * application. Asterisk unreachable: logged, and retried after 1 s doubling to 30 s, for
 * ever (start() does not wait for it). Wrong credentials at start: start() rejects, so
 * serve exits 1. A dropped WebSocket: calls being screened fail open, ari-client
 * reconnects (we start over if it gives up), and channels left in Stasis are sent on in
 * the dialplan, since Asterisk replays no StasisStart. Stopping: new calls go back to the
 * dialplan at once (to the other agent of a pair), calls held are finished.
 */
export function createAsteriskDriver(options: AsteriskDriverOptions, deps: AsteriskDriverDeps): AsteriskDriver {
  if (!/^https?:\/\/[^/?#\s]+\/?$/i.test(options.url)) {
    throw new BadInput(`bad --ari-url "${options.url}": expected http://host:port (https:// for TLS), e.g. http://127.0.0.1:8088`);
  }
  return new AriDriver(options, deps);
}

class AriDriver implements AsteriskDriver {
  private readonly ari: AriModule;
  private readonly logger: Logger;
  private readonly timers = new TrackedTimers();
  private readonly router = new EventRouter((event) => this.onNewChannel(event));
  private readonly rest: AriRest;
  private readonly callDeps: CallDeps;
  private readonly calls = new Map<string, AriCall>();
  private readonly whenIdle = new Set<() => void>();
  /** Our Stasis application. */
  private readonly app: string;
  private readonly heartbeat: PairHeartbeat | null;
  /** Hand-overs under way: stop() sees them through before it closes the connection. */
  private readonly handingOver = new Set<Promise<void>>();
  /** For each look at the channels left in Stasis after a connection: the StasisStarts that came meanwhile. */
  private readonly arrivalsWatched = new Set<Set<string>>();
  /** Wakes the looks waiting out StasisStarts in flight, so that stop() need not. */
  private readonly settleWaits = new Set<() => void>();
  private current: AriClient | null = null;
  private isConnected = false;
  private stopping = false;
  private retrying = false;
  private cancelRetryWait: (() => void) | null = null;
  private checkedChannelvars = false;

  constructor(
    private readonly options: AsteriskDriverOptions,
    private readonly deps: AsteriskDriverDeps,
  ) {
    this.ari = loadAriClient();
    this.app = options.pairAs ? pairApp(options.app, options.pairAs) : options.app;
    this.logger = deps.logger.child({ pbx: 'asterisk', url: options.url, app: this.app });
    this.rest = new AriRest(this, this.timers, options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS);
    this.callDeps = { rest: this.rest, router: this.router, timers: this.timers, settings: options.settings, app: this.app, logger: this.logger };
    this.heartbeat = options.pairAs
      ? new PairHeartbeat(options.pairAs, options.app, {
          rest: this.rest,
          timers: this.timers,
          logger: this.logger,
          serving: () => this.isConnected,
          sendOn: (channelId, why) => this.sendOn(channelId, why),
        })
      : null;
  }

  /** The client REST requests go through (AriRest reads it per request, so a new connection is picked up). */
  get client(): AriClient {
    if (!this.current) throw new Error('not connected to Asterisk ARI');
    return this.current;
  }

  get connected(): boolean {
    return this.isConnected;
  }

  get inProgress(): number {
    return this.calls.size;
  }

  /**
   * Resolves once connected, or once the first attempt has failed and retries are under
   * way in the background; rejects when ARI refuses the credentials.
   */
  async start(): Promise<void> {
    this.stopping = false;
    try {
      await this.connectOnce();
    } catch (error) {
      if (error instanceof AriCredentialsRejected) {
        this.logger.error(error.message);
        throw error;
      }
      void this.keepTrying(error);
    }
    this.heartbeat?.start();
  }

  /**
   * New calls go back to the dialplan at once, marked as arriving while stopping; calls held
   * are screened to their end (up to `graceMs`). A pair's heartbeat is cleared first: the
   * other agent has nothing of ours to rescue.
   */
  async stop(graceMs = DEFAULT_GRACE_MS): Promise<void> {
    this.stopping = true;
    this.cancelRetryWait?.();
    for (const wake of this.settleWaits) wake();
    const heartbeatCleared = this.heartbeat?.stop();
    await this.callsOver(graceMs);
    // Calls still held, and their forward legs: a bridged call stays up in our application.
    const held = this.router.routedChannelIds();
    if (this.calls.size > 0) {
      this.logger.warn({ calls: this.calls.size }, 'stopping: calls still being screened go through unscreened; bridged calls stay up');
      for (const call of this.calls.values()) {
        call.refuseWaits('the agent is stopping');
        call.dispose();
      }
      await this.callsOver(this.rest.timeoutMs);
    }
    await heartbeatCleared;
    const client = this.current;
    if (client) {
      const wasConnected = this.isConnected;
      this.isConnected = false;
      await withDeadline(this.timers, this.rest.timeoutMs, 'closing the ARI WebSocket', () => this.retire(client)).catch((error: unknown) =>
        this.logger.warn({ reason: ariErrorMessage(error) }, 'the ARI WebSocket did not close in time'),
      );
      if (wasConnected) await this.handOverUnseen(held);
    }
    this.current = null;
    this.isConnected = false;
  }

  debugCounts(): AsteriskDebugCounts {
    const client = this.current;
    const instance = (client as { _instanceListeners?: Record<string, unknown[]> } | null)?._instanceListeners ?? {};
    return {
      calls: this.calls.size,
      routedChannels: this.router.counts.channels,
      routedPlaybacks: this.router.counts.playbacks,
      timers: this.timers.count,
      clientListeners: client ? client.eventNames().reduce((sum, name) => sum + client.listenerCount(name), 0) : 0,
      instanceListeners: Object.values(instance).reduce((sum, list) => sum + list.length, 0),
    };
  }

  // ---- connection --------------------------------------------------------------

  /** Retries after 1 s, doubling up to 30 s, until connected or stopped; every failure is logged. */
  private async keepTrying(failure: unknown): Promise<void> {
    if (this.retrying) return;
    this.retrying = true;
    const backoff = new Backoff();
    for (let attempt = 1; !this.stopping; attempt++) {
      const delay = backoff.next();
      const reason = failure instanceof Error ? failure.message : String(failure);
      const level = failure instanceof AriCredentialsRejected ? 'error' : 'warn';
      this.logger[level]({ attempt, retryInMs: delay, reason }, `cannot connect to Asterisk ARI at ${this.options.url}; retrying in ${delay / 1000} s`);
      const wait = this.timers.sleep(delay);
      this.cancelRetryWait = wait.cancel;
      await wait.done;
      this.cancelRetryWait = null;
      if (this.stopping) break;
      try {
        await this.connectOnce();
        break;
      } catch (error) {
        failure = error;
      }
    }
    this.retrying = false;
  }

  private async connectOnce(): Promise<void> {
    const client = await openAriClient(this.ari, this.options, this.timers, this.rest.timeoutMs);
    if (this.stopping) return;
    this.current = client;
    this.router.attach(client); // before the WebSocket opens: the first StasisStart may follow at once
    guardAriMessages(client, (error) => this.logger.warn({ err: error }, 'ignored an ARI event that could not be read'));
    await this.heartbeat?.announce();
    try {
      await client.start(this.app);
    } catch (error) {
      void this.retire(client);
      this.current = null;
      throw error;
    }
    client.on('WebSocketConnected', this.onConnected);
    client.on('WebSocketReconnecting', this.onDisconnected);
    client.on('WebSocketMaxRetries', this.onGaveUp);
    await this.becameConnected();
  }

  private async becameConnected(): Promise<void> {
    this.isConnected = true;
    this.logger.info('connected to Asterisk ARI; Stasis application registered');
    await this.sendOnUnhandledChannels();
  }

  private readonly onConnected = () => void this.becameConnected();

  private readonly onDisconnected = () => {
    if (this.isConnected) this.logger.warn({ calls: this.calls.size }, 'lost the ARI WebSocket; calls being screened go through; reconnecting');
    this.isConnected = false;
    for (const call of this.calls.values()) call.refuseWaits('the ARI event connection was lost');
  };

  /** ari-client stops after ten quick tries: start over with our own slower retry, for ever. */
  private readonly onGaveUp = (error?: Error) => {
    if (this.current) void this.retire(this.current);
    this.current = null;
    void this.keepTrying(new Error(`ari-client gave up reconnecting the WebSocket: ${error?.message ?? 'unknown'}`));
  };

  /**
   * Lets go of a client: our listeners off, WebSocket closed, and closed again should a
   * pending retry of ari-client reopen it. Resolves once the WebSocket is closed.
   */
  private retire(client: AriClient): Promise<void> {
    client.removeListener('WebSocketConnected', this.onConnected);
    client.removeListener('WebSocketReconnecting', this.onDisconnected);
    client.removeListener('WebSocketMaxRetries', this.onGaveUp);
    if (this.current === client) this.router.detach();
    client.once('WebSocketConnected', () => client.stop());
    return closeWebSocket(client);
  }

  /**
   * After every (re)connection: Asterisk replays no StasisStart, so channels waiting in our
   * application that nobody handles are sent on in the dialplan (fail open), and forward
   * legs without their call are hung up. A channel that entered just after we registered
   * is listed too, while its StasisStart may still be on its way (another socket): those
   * are waited for a moment, and a channel whose StasisStart came is ours to screen.
   */
  private async sendOnUnhandledChannels(): Promise<void> {
    // Only calls held before the listing was asked for: one whose StasisStart came meanwhile may be missing from it.
    const heldBefore = [...this.calls.values()];
    const arrived = new Set<string>();
    this.arrivalsWatched.add(arrived);
    try {
      const present = await this.channelsInStasis();
      if (!present) return;
      for (const call of heldBefore) call.reconcile(present);
      const ours = this.router.routedChannelIds();
      const unhandled = [...present].filter((id) => !isOneOf(ours, id) && !arrived.has(id));
      if (unhandled.length === 0) return;
      const settle = this.timers.sleep(STASIS_START_IN_FLIGHT_MS);
      this.settleWaits.add(settle.cancel);
      await settle.done;
      this.settleWaits.delete(settle.cancel);
      if (this.stopping) return; // stop() hands over what is left in our application
      for (const id of unhandled) if (!arrived.has(id)) void this.sendOn(id, 'found in Stasis after a reconnect');
    } finally {
      this.arrivalsWatched.delete(arrived);
    }
  }

  /**
   * stop(), once our WebSocket is closed and Stasis() fails over from our application: a
   * channel that entered it while the socket closed never had its StasisStart handled, so
   * it is handed over too. Every hand-over is seen through: nothing is left waiting in our
   * application once stop() returns and the process exits.
   */
  private async handOverUnseen(held: readonly string[]): Promise<void> {
    await Promise.all(this.handingOver);
    const present = (await this.channelsInStasis()) ?? [];
    const orphanLegs: Promise<void>[] = [];
    for (const id of present) {
      if (isOneOf(held, id)) continue;
      if (isForwardLeg(id)) orphanLegs.push(this.hangUpOrphanLeg(id));
      else this.handOver(id);
    }
    await Promise.all([...this.handingOver, ...orphanLegs]);
  }

  /** The channels in our application (GET /applications/{app}); null when they cannot be listed (logged). */
  private async channelsInStasis(): Promise<ReadonlySet<string> | null> {
    try {
      const application = await this.rest.send('listing channels in Stasis', (client) => client.applications.get({ applicationName: this.app }));
      return new Set(application.channel_ids);
    } catch (error) {
      if (isApplicationNotFound(error)) return new Set();
      this.logger.warn({ reason: ariErrorMessage(error) }, 'could not list the channels left in Stasis');
      return null;
    }
  }

  // ---- calls -------------------------------------------------------------------

  private onNewChannel(event: AriEvent): void {
    const channel = event.channel;
    if (typeof channel !== 'object' || channel === null || typeof channel.id !== 'string') return;
    for (const arrived of this.arrivalsWatched) arrived.add(channel.id);
    if (isForwardLeg(channel.id)) void this.hangUpOrphanLeg(channel.id); // answered after its call gave up on it
    else if (this.stopping) this.handOver(channel.id);
    else void this.screen(channel);
  }

  private async screen(channel: AriChannel): Promise<void> {
    this.warnAboutChannelvars(channel);
    const call = new AriCall(channel, this.callDeps);
    this.calls.set(channel.id, call);
    try {
      await this.deps.screener.screen(call, channelFacts(channel, this.options.settings), 'asterisk', channel.id);
      await call.released;
    } catch (error) {
      this.logger.error({ err: error, channel: channel.id }, 'screening failed');
    } finally {
      call.dispose();
      this.calls.delete(channel.id);
      // Its fail-open continue failed (Asterisk unreachable), maybe after a reconnect already looked for such
      // channels: sent on now if connected, else by the next reconnect (it is no longer ours then).
      if (call.inStasis && this.isConnected && !this.stopping) void this.continueUnscreened(channel.id, 'left in Stasis by a screening that could not hand it back');
      if (this.calls.size === 0) for (const wake of [...this.whenIdle]) wake();
    }
  }

  /**
   * A call that arrives while we stop goes back to the dialplan unscreened, marked
   * CALLGUARD_STOPPING=yes so that the pair's dialplan sends it to the other agent. Only
   * here: a call sent on after a failure may have been screened and logged already.
   */
  private handOver(channelId: string): void {
    const handing = (async () => {
      try {
        await this.rest.send('hand over', (client) => client.channels.setChannelVar({ channelId, variable: STOPPING_VARIABLE, value: 'yes' }));
      } catch (error) {
        if (isChannelGone(error)) return;
        this.logger.warn({ channel: channelId, reason: ariErrorMessage(error) }, `could not set ${STOPPING_VARIABLE}: the call takes its normal route`);
      }
      if (this.heartbeat) this.logger.info({ channel: channelId }, 'channel arrived while stopping: handing it to the other agent of the pair');
      else this.logger.warn({ channel: channelId }, 'channel arrived while stopping: continuing it unscreened');
      await this.continueInDialplan(channelId);
    })();
    this.handingOver.add(handing);
    void handing.finally(() => this.handingOver.delete(handing));
  }

  /** A channel nobody screens: a forward leg is hung up (its call is gone), any other continues unscreened. */
  private sendOn(channelId: string, why: string): Promise<void> {
    if (!isForwardLeg(channelId)) return this.continueUnscreened(channelId, why);
    this.logger.warn({ channel: channelId }, `forward leg ${why}: hanging it up`);
    return this.hangUpOrphanLeg(channelId);
  }

  private continueUnscreened(channelId: string, why: string): Promise<void> {
    this.logger.warn({ channel: channelId }, `channel ${why}: continuing it unscreened`);
    return this.continueInDialplan(channelId);
  }

  /** Never rejects: a failure is logged. */
  private async continueInDialplan(channelId: string): Promise<void> {
    try {
      await this.rest.send('continue', (client) => client.channels.continueInDialplan({ channelId }));
    } catch (error) {
      this.logger.warn({ channel: channelId, reason: ariErrorMessage(error) }, 'could not continue the channel');
    }
  }

  private async hangUpOrphanLeg(channelId: string): Promise<void> {
    await this.rest.send('hang up', (client) => client.channels.hangup({ channelId, reason: 'normal' })).catch(() => undefined);
  }

  /** Once, on the first call screened: what ari.conf's channelvars lacks or should not list. */
  private warnAboutChannelvars(channel: AriChannel): void {
    if (this.checkedChannelvars) return;
    this.checkedChannelvars = true;
    const channelvars = typeof channel.channelvars === 'object' && channel.channelvars !== null ? channel.channelvars : undefined;
    for (const advice of channelvarsAdvice(channelvars, this.options.settings)) {
      this.logger.warn({ expected: variablesRead(this.options.settings) }, advice);
    }
  }

  /** Resolves when no call is left, or after `ms`. */
  private callsOver(ms: number): Promise<void> {
    if (this.calls.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        cancel();
        this.whenIdle.delete(done);
        resolve();
      };
      const cancel = this.timers.after(ms, done);
      this.whenIdle.add(done);
    });
  }
}
