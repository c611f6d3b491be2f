import { randomUUID } from 'node:crypto';
import { CallerGone } from '../../actions/call-control';
import type { E164 } from '../../engine/types';
import type { AriChannel, AriClient, AriEvent } from './ari-api';
import type { CallDeps } from './call-deps';
import { callerIdVariables } from './caller-id-values';
import { forwardEndpoint } from './dialplan-targets';
import { CHANNEL_LEFT } from './event-router';
import { ariErrorMessage, AriTimeout } from './rest';
import type { Waiter } from './waiter';

/**
 * Channel ids of the legs the agent originates: their StasisStart is never screened,
 * and one found without its call (after a reconnect or a restart) is hung up.
 */
const LEG_ID_PREFIX = 'callguard-leg-';

export function isForwardLeg(channelId: string): boolean {
  return channelId.startsWith(LEG_ID_PREFIX);
}

/** How long the target may ring (originate's timeout); then the call takes its normal route. */
const RING_SECONDS = 30;
/** Our own deadline past Asterisk's, should the leg's end never be reported. */
const RING_GRACE_MS = 5000;

/** The inbound call as a forward sees it. */
export interface InboundLeg {
  readonly channel: AriChannel;
  /** The caller has hung up or left the application. */
  readonly left: boolean;
  /** A request about the inbound channel; rejects with CallerGone once the caller has left. */
  request<T>(during: string, send: (client: AriClient) => PromiseLike<T>): Promise<T>;
  /** A wait that ends early (CallerGone) when the caller leaves. */
  waiter<T>(during: string): Waiter<T>;
}

const ignore = () => undefined;

/**
 * Forward: ring the caller, originate the target into our own application with the
 * caller's ID, wait for it to answer, then answer the caller and join both in a mixing
 * bridge. Once bridged, whichever side hangs up ends the other and the bridge.
 */
export class Forward {
  private readonly legId = LEG_ID_PREFIX + randomUUID();
  private bridgeId: string | null = null;
  /** Originate was sent and not refused: the leg may exist. */
  private originated = false;
  private legLeft = false;
  private bridged = false;
  private answered: Waiter<boolean> | null = null;
  private unrouteLeg: () => void = ignore;
  private closing: Promise<void> | null = null;
  private markEnded: () => void = ignore;
  /** Resolves once the forward is over: leg and bridge gone (or left to Asterisk by release()). */
  readonly ended = new Promise<void>((resolve) => (this.markEnded = resolve));

  constructor(
    private readonly deps: CallDeps,
    private readonly inbound: InboundLeg,
  ) {}

  async connect(number: E164): Promise<'answered' | 'failed'> {
    try {
      const endpoint = forwardEndpoint(this.deps.settings, number);
      this.unrouteLeg = this.deps.router.routeChannel(this.legId, (event) => this.onLegEvent(event));
      if ((await this.dial(endpoint)) && (await this.bridge())) return 'answered';
      await this.close();
      return 'failed';
    } catch (error) {
      await this.close();
      throw error;
    }
  }

  /** The caller left while bridged: hang up the target. */
  inboundLeft(): void {
    if (this.bridged) void this.close();
  }

  /** After a reconnect: a bridged leg missing from the application has ended unseen. */
  reconcile(present: ReadonlySet<string>): void {
    if (this.bridged && !present.has(this.legId)) this.onLegEvent({ type: 'ChannelDestroyed' });
  }

  /** Stops following the call without touching it (the agent is stopping): the parties stay bridged. */
  release(): void {
    this.unrouteLeg();
    this.markEnded();
  }

  private onLegEvent(event: AriEvent): void {
    if (event.type === 'StasisStart') this.answered?.resolve(true);
    else if (CHANNEL_LEFT.has(event.type) && !this.legLeft) {
      this.legLeft = true;
      this.answered?.resolve(false);
      if (this.bridged) void this.close();
    }
  }

  /** True when the target answered in time. */
  private async dial(endpoint: string): Promise<boolean> {
    const inboundId = this.inbound.channel.id;
    await this.inbound.request('forward', (client) => client.channels.ring({ channelId: inboundId }));
    const answered = this.inbound.waiter<boolean>('forward');
    this.answered = answered;
    answered.onSettle(() => (this.answered = null));
    answered.onSettle(this.deps.timers.after(RING_SECONDS * 1000 + RING_GRACE_MS, () => answered.resolve(false)));
    this.originated = true;
    this.deps.rest
      .send('forward', (client) =>
        client.channels.originate({
          endpoint,
          app: this.deps.app,
          channelId: this.legId,
          originator: inboundId,
          timeout: RING_SECONDS,
          variables: callerIdVariables(this.inbound.channel.caller),
        }),
      )
      .catch((error: unknown) => {
        this.originated = error instanceof AriTimeout; // refused by Asterisk: there is no leg
        this.deps.logger.warn({ channel: inboundId, endpoint, reason: ariErrorMessage(error) }, 'forward: originate failed');
        answered.resolve(false);
      });
    return answered.promise;
  }

  /** True once both are in the bridge; false when the target hung up before that. */
  private async bridge(): Promise<boolean> {
    if (this.legLeft) return false; // answered and hung up at once
    const inboundId = this.inbound.channel.id;
    await this.inbound.request('forward', (client) => client.channels.answer({ channelId: inboundId }));
    const bridgeId = randomUUID();
    this.bridgeId = bridgeId;
    try {
      await this.deps.rest.send('forward', (client) => client.bridges.create({ type: 'mixing', bridgeId, name: 'callguard-forward' }));
      // Either channel may be the one missing if this fails: it is not the caller's 404 alone.
      await this.deps.rest.send('forward', (client) => client.bridges.addChannel({ bridgeId, channel: [inboundId, this.legId] }));
    } catch (error) {
      if (this.inbound.left) throw new CallerGone('forward');
      if (this.legLeft) return false;
      throw error;
    }
    this.bridged = true;
    // Connected, however briefly: a side that left meanwhile ends the call now.
    if (this.legLeft || this.inbound.left) void this.close();
    return true;
  }

  /** Hangs up whichever side is still there and destroys the bridge; once. */
  private close(): Promise<void> {
    this.closing ??= this.tearDown();
    return this.closing;
  }

  private async tearDown(): Promise<void> {
    const { rest } = this.deps;
    const hangup = (channelId: string) => rest.send('forward: hang up', (client) => client.channels.hangup({ channelId, reason: 'normal' })).catch(ignore);
    if (this.originated && !this.legLeft) await hangup(this.legId);
    if (this.bridged && !this.inbound.left) await hangup(this.inbound.channel.id);
    const bridgeId = this.bridgeId;
    if (bridgeId) await rest.send('forward: destroy bridge', (client) => client.bridges.destroy({ bridgeId })).catch(ignore);
    this.unrouteLeg();
    this.markEnded();
  }
}
