import type { Logger } from '../../log/logger';
import { ariErrorMessage, isApplicationNotFound, type AriRest } from './rest';
import type { TrackedTimers } from './tracked-timers';
import { partnerOf, type PairLetter } from '../pair';


/** The Stasis application agent `letter` of the pair serves. */
export const pairApp = (app: string, letter: PairLetter): string => `${app}-${letter}`;

/** The Asterisk global variable holding the epoch second until which agent `letter` counts as alive; 0 once it stopped cleanly. */
const aliveVariable = (letter: PairLetter): string => `CALLGUARD_ALIVE_UNTIL_${letter.toUpperCase()}`;

const BEAT_MS = 1000;
/** A few beats' worth: one slow request does not make the partner think we died. */
const ALIVE_FOR_S = 4;
/**
 * How long the partner's channels are looked for once its heartbeat has run out: Stasis()
 * fails over from a dead application at once, so only the calls it held are left, and
 * they are found on the first beats.
 */
const RESCUE_FOR_MS = 30_000;

export interface PairHeartbeatDeps {
  readonly rest: AriRest;
  readonly timers: TrackedTimers;
  readonly logger: Logger;
  /** Our application is registered (its WebSocket is up): only then do we say we are alive. */
  readonly serving: () => boolean;
  /** Sends on, unscreened, a channel the partner left in Stasis; never rejects. */
  readonly sendOn: (channelId: string, why: string) => Promise<void>;
}

/**
 * One agent of a failover pair on one Asterisk. Every second it sets its heartbeat to a few
 * seconds ahead and reads its partner's. A channel left in Stasis by an application nobody
 * serves any more waits there for ever, so while the partner's heartbeat is an epoch second
 * in the past (it died without stopping: killed, crashed, cut off) the channels still in
 * the partner's application are sent on in the dialplan. Unscreened: the partner may
 * already have logged them. A clean stop sets the heartbeat to 0, since that agent
 * finishes its own calls.
 */
export class PairHeartbeat {
  private readonly ownVariable: string;
  private readonly partnerVariable: string;
  private readonly partnerApp: string;
  private running = false;
  /** An "alive" may have reached Asterisk: stop() must say otherwise. */
  private saidAlive = false;
  private cancelNextBeat: () => void = () => undefined;
  private beating: Promise<void> = Promise.resolve();
  /** The partner's run-out heartbeat, and when we first saw it so. */
  private stale: { readonly until: number; readonly since: number } | null = null;

  constructor(
    own: PairLetter,
    app: string,
    private readonly deps: PairHeartbeatDeps,
  ) {
    this.ownVariable = aliveVariable(own);
    this.partnerVariable = aliveVariable(partnerOf(own));
    this.partnerApp = pairApp(app, partnerOf(own));
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.scheduleBeat(0);
  }

  /** Stops beating and sets the heartbeat to 0: a clean stop leaves the partner nothing to rescue. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.cancelNextBeat();
    await this.beating; // an "alive" on its way must not land after the 0
    if (!this.saidAlive) return;
    try {
      await this.setOwn(0);
      this.saidAlive = false;
    } catch (error) {
      this.deps.logger.warn({ reason: ariErrorMessage(error) }, 'could not clear the pair heartbeat: once it runs out, the other agent sends on the calls still held here, unscreened');
    }
  }

  private scheduleBeat(ms: number): void {
    this.cancelNextBeat = this.deps.timers.after(ms, () => {
      this.beating = this.beat()
        .catch((error: unknown) => this.deps.logger.warn({ err: error }, 'pair heartbeat failed'))
        .finally(() => {
          if (this.running) this.scheduleBeat(BEAT_MS);
        });
    });
  }

  /**
   * Says we are alive before our application is registered, so that a partner reading our
   * heartbeat again after listing our application's channels (see watchPartner) never
   * takes a call this run was given. A failure is only logged: the beats retry.
   */
  async announce(): Promise<void> {
    this.saidAlive = true;
    try {
      await this.setOwn(this.aliveUntil());
    } catch (error) {
      this.deps.logger.debug({ reason: ariErrorMessage(error) }, 'could not set the pair heartbeat');
    }
  }

  private async beat(): Promise<void> {
    if (!this.deps.serving()) return;
    await this.announce();
    await this.watchPartner();
  }

  private aliveUntil(): number {
    return Math.floor(Date.now() / 1000) + ALIVE_FOR_S;
  }

  private setOwn(value: number): Promise<unknown> {
    return this.deps.rest.send('pair heartbeat', (client) => client.asterisk.setGlobalVar({ variable: this.ownVariable, value: String(value) }));
  }

  /** The epoch second the partner said it is alive until (0: stopped cleanly or never started); null when it cannot be read (logged). */
  private async partnerAliveUntil(): Promise<number | null> {
    try {
      const { value } = await this.deps.rest.send('reading the partner heartbeat', (client) => client.asterisk.getGlobalVar({ variable: this.partnerVariable }));
      return /^\d{1,12}$/.test(String(value)) ? Number(value) : 0;
    } catch (error) {
      this.deps.logger.debug({ reason: ariErrorMessage(error) }, 'could not read the partner heartbeat');
      return null;
    }
  }

  private async watchPartner(): Promise<void> {
    const until = await this.partnerAliveUntil();
    if (until === null) return;
    const now = Date.now();
    if (until === 0 || until * 1000 > now) {
      this.stale = null; // alive, stopped cleanly, or never started
      return;
    }
    if (this.stale?.until !== until) {
      this.stale = { until, since: now };
      this.deps.logger.warn({ partner: this.partnerApp, aliveUntil: until }, `the other agent of the pair (${this.partnerApp}) stopped without a clean stop: sending on the calls it left in Stasis`);
    }
    if (now - this.stale.since > RESCUE_FOR_MS) return;
    const channels = await this.partnerChannels();
    if (channels.length === 0) return;
    // A restarted partner announces itself before it registers: if it has meanwhile, these may be its new calls.
    if ((await this.partnerAliveUntil()) !== until) return;
    const why = `left in Stasis by ${this.partnerApp}, whose heartbeat ran out`;
    await Promise.all(channels.map((channelId) => this.deps.sendOn(channelId, why)));
  }

  /**
   * The partner's channels waiting in Stasis. A bridged one (a forward that connected) is
   * left in its conversation: sending it on would cut the call.
   */
  private async partnerChannels(): Promise<readonly string[]> {
    try {
      const application = await this.deps.rest.send('listing the partner channels', (client) => client.applications.get({ applicationName: this.partnerApp }));
      const bridges = await Promise.all(application.bridge_ids.map((bridgeId) => this.deps.rest.send('listing a partner bridge', (client) => client.bridges.get({ bridgeId }))));
      const bridged = new Set(bridges.flatMap((bridge) => bridge.channels));
      return application.channel_ids.filter((id) => !bridged.has(id));
    } catch (error) {
      // Asterisk forgets an application nobody serves once its last channel has gone.
      if (!isApplicationNotFound(error)) this.deps.logger.warn({ partner: this.partnerApp, reason: ariErrorMessage(error) }, 'could not list the channels the other agent left in Stasis');
      return [];
    }
  }
}
