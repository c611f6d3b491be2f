import { randomUUID } from 'node:crypto';
import { CallerGone } from '../../actions/call-control';
import type { CallControl, HangupCause, NumberEntry, Prompt } from '../../actions/call-control';
import type { E164 } from '../../engine/types';
import type { AriChannel, AriClient, AriEvent } from './ari-api';
import type { CallDeps } from './call-deps';
import { boundedCallerText } from './caller-id-values';
import { voicemailLocation } from './dialplan-targets';
import { CHANNEL_LEFT } from './event-router';
import { Forward, type InboundLeg } from './forward';
import { isChannelGone } from './rest';
import { Waiter } from './waiter';

/** ARI's hangup reasons for the causes the actions use (Asterisk turns them into the Q.850 cause). */
const HANGUP_REASONS: Record<HangupCause, string> = {
  CALL_REJECTED: 'rejected',
  USER_BUSY: 'busy',
  UNALLOCATED_NUMBER: 'unallocated',
  NORMAL_CLEARING: 'normal',
};

/** Written through ARI as a variable value, so the caller's name is data, never dialplan. */
const CALLER_NAME_VARIABLE = 'CALLERID(name)';

const ignore = () => undefined;

/**
 * CallControl for one inbound channel in our Stasis application. Waits (a prompt to
 * finish, a key, a forward leg) end with CallerGone as soon as the channel leaves; every
 * route and timer a wait sets up is removed when it ends.
 */
export class AriCall implements CallControl, InboundLeg {
  private hasLeft = false;
  /** A request that ends our hold on the channel (continue, hangup) was answered. */
  private handedBack = false;
  /** Set when events can no longer be trusted to arrive: waits fail with it (the screener then fails open). */
  private waitsRefused: Error | null = null;
  /** Waits under way, with what each is part of (for CallerGone). */
  private readonly waiting = new Map<{ reject(error: unknown): void }, string>();
  private onDigit: ((digit: string) => void) | null = null;
  /** Stops the prompt now playing, while one is (a key pressed during a number's prompt). */
  private stopPrompt: (() => void) | null = null;
  private forwarding: Forward | null = null;
  private readonly unroute: () => void;

  constructor(
    readonly channel: AriChannel,
    private readonly deps: CallDeps,
  ) {
    this.unroute = deps.router.routeChannel(channel.id, (event) => this.onEvent(event));
  }

  get id(): string {
    return this.channel.id;
  }

  get left(): boolean {
    return this.hasLeft;
  }

  /** Still waiting in our application as far as we know: neither gone nor handed back. */
  get inStasis(): boolean {
    return !this.hasLeft && !this.handedBack;
  }

  /** Resolves when the driver may forget the call: at once, or when a bridged forward has ended. */
  get released(): Promise<void> {
    return this.forwarding?.ended ?? Promise.resolve();
  }

  /** 183 Session Progress; an Asterisk whose ARI lacks `progress` (older releases) answers instead. */
  async earlyMedia(): Promise<void> {
    await this.request('early media', ({ channels }) =>
      channels.progress ? channels.progress({ channelId: this.id }) : channels.answer({ channelId: this.id }),
    );
  }

  async answer(): Promise<void> {
    await this.request('answer', (client) => client.channels.answer({ channelId: this.id }));
  }

  async play(prompt: Prompt): Promise<void> {
    const finished = this.waiter<void>(`prompt ${prompt}`);
    await this.playing(prompt, finished, () => finished.resolve());
  }

  /** A key pressed while the prompt plays counts (and stops it); the timeout runs from its end. */
  promptForDigit(prompt: Prompt, timeoutMs: number): Promise<string | null> {
    const answer = this.waiter<string | null>(`prompt ${prompt}`);
    this.onDigit = (digit) => answer.resolve(digit);
    answer.onSettle(() => (this.onDigit = null));
    return this.playing(prompt, answer, () => answer.onSettle(this.deps.timers.after(timeoutMs, () => answer.resolve(null))));
  }

  /**
   * Keys are collected as Asterisk's Read() does: the first stops the prompt, `#` or the
   * last allowed key ends the number, and so does a pause longer than `digitTimeoutMs`.
   * A key other than 0-9 spoils the entry (null), as FreeSWITCH's digits-only check does.
   */
  promptForNumber(prompt: Prompt, { maxDigits, timeoutMs, digitTimeoutMs }: NumberEntry): Promise<string | null> {
    const answer = this.waiter<string | null>(`prompt ${prompt}`);
    let keyed = '';
    let spoiled = false;
    const done = () => answer.resolve(keyed === '' || spoiled ? null : keyed);
    let cancelWait: () => void = ignore;
    const waitFor = (ms: number) => {
      cancelWait();
      cancelWait = this.deps.timers.after(ms, done);
    };
    this.onDigit = (digit) => {
      this.stopPrompt?.();
      if (digit === '#') return done();
      if (/^[0-9]$/.test(digit)) keyed += digit;
      else spoiled = true;
      if (keyed.length >= maxDigits) done();
      else waitFor(digitTimeoutMs);
    };
    answer.onSettle(() => {
      this.onDigit = null;
      cancelWait();
    });
    return this.playing(prompt, answer, () => {
      if (keyed === '' && !spoiled) waitFor(timeoutMs);
    });
  }

  async hangup(cause: HangupCause): Promise<void> {
    await this.request('hangup', (client) => client.channels.hangup({ channelId: this.id, reason: HANGUP_REASONS[cause] }));
    this.handedBack = true;
  }

  /** Back to the dialplan at the priority after Stasis(): the normal route. */
  async continueRoute(): Promise<void> {
    await this.request('continue', (client) => client.channels.continueInDialplan({ channelId: this.id }));
    this.handedBack = true;
  }

  async voicemail(box: string | null): Promise<void> {
    const location = voicemailLocation(this.deps.settings, box ?? this.channel.dialplan.exten);
    await this.request('voicemail', (client) => client.channels.continueInDialplan({ channelId: this.id, ...location }));
    this.handedBack = true;
  }

  forward(number: E164): Promise<'answered' | 'failed'> {
    this.forwarding = new Forward(this.deps, this);
    return this.forwarding.connect(number);
  }

  async markSuspected(namePrefix: string, variable: string): Promise<void> {
    const name = boundedCallerText(namePrefix + this.channel.caller.name);
    await this.request('mark suspected', (client) => client.channels.setChannelVar({ channelId: this.id, variable: CALLER_NAME_VARIABLE, value: name }));
    await this.request('mark suspected', (client) => client.channels.setChannelVar({ channelId: this.id, variable, value: 'true' }));
  }

  request<T>(during: string, send: (client: AriClient) => PromiseLike<T>): Promise<T> {
    if (this.hasLeft) return Promise.reject(new CallerGone(during));
    return this.deps.rest.send(during, send).catch((error: unknown) => {
      throw this.hasLeft || isChannelGone(error) ? new CallerGone(during) : error;
    });
  }

  waiter<T>(during: string): Waiter<T> {
    const waiter = new Waiter<T>();
    if (this.hasLeft) waiter.reject(new CallerGone(during));
    else if (this.waitsRefused) waiter.reject(this.waitsRefused);
    else {
      this.waiting.set(waiter, during);
      waiter.onSettle(() => this.waiting.delete(waiter));
    }
    return waiter;
  }

  /**
   * The event connection dropped or the agent is stopping: what this call waits for may
   * never be reported, so every wait ends with `reason` and the screener fails open.
   * Requests still go out. A bridged call has nothing to wait for and is unaffected.
   */
  refuseWaits(reason: string): void {
    this.waitsRefused = new Error(reason);
    for (const waiter of this.waiting.keys()) waiter.reject(this.waitsRefused);
  }

  /** After a reconnect: whatever is missing from the application ended while events were lost. */
  reconcile(present: ReadonlySet<string>): void {
    if (!present.has(this.id)) this.onEvent({ type: 'ChannelDestroyed' });
    this.forwarding?.reconcile(present);
  }

  /** Stops following the call: its routes go; a bridged forward is left to Asterisk. */
  dispose(): void {
    this.unroute();
    this.forwarding?.release();
  }

  private onEvent(event: AriEvent): void {
    if (event.type === 'ChannelDtmfReceived') {
      if (event.digit) this.onDigit?.(event.digit);
      return;
    }
    if (!CHANNEL_LEFT.has(event.type) || this.hasLeft) return;
    this.hasLeft = true;
    for (const [waiter, during] of this.waiting) waiter.reject(new CallerGone(during));
    this.forwarding?.inboundLeft();
  }

  /**
   * Plays `prompt` and waits for `waiter`, which `finished` may settle once the prompt has
   * ended. A prompt still playing when the wait ends otherwise (a key, a lost connection)
   * is stopped: nothing stops an ARI playback by itself, and it would hold up what follows.
   */
  private async playing<T>(prompt: Prompt, waiter: Waiter<T>, finished: () => void): Promise<T> {
    if (waiter.isSettled) return waiter.promise;
    const playbackId = randomUUID();
    let sounding = true;
    waiter.onSettle(
      this.deps.router.routePlayback(playbackId, (event) => {
        sounding = false;
        if (event.playback?.state === 'failed') {
          this.deps.logger.warn({ channel: this.id, media: event.playback.media_uri }, 'prompt could not be played: are the callguard sounds installed?');
        }
        finished();
      }),
    );
    const media = `${this.deps.settings.soundPrefix}callguard-${prompt}`;
    const started = this.request(`prompt ${prompt}`, (client) => client.channels.play({ channelId: this.id, media, playbackId }));
    started.catch((error: unknown) => {
      sounding = false;
      waiter.reject(error);
    });
    this.stopPrompt = () => {
      if (!sounding || this.hasLeft) return;
      sounding = false;
      void this.stopPlayback(started, playbackId);
    };
    waiter.onSettle(() => (this.stopPrompt = null));
    try {
      return await waiter.promise;
    } finally {
      if (sounding && !this.hasLeft) await this.stopPlayback(started, playbackId);
    }
  }

  /** DELETE /playbacks/{id}, once the play request has been answered (nothing to stop before). */
  private async stopPlayback(started: Promise<unknown>, playbackId: string): Promise<void> {
    await started.catch(ignore);
    await this.deps.rest.send('stop prompt', (client) => client.playbacks.stop({ playbackId })).catch(ignore);
  }
}
