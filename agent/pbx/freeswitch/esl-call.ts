import type { Connection, Event } from 'modesl';
import { CallerGone } from '../../actions/call-control';
import type { CallControl, HangupCause, Prompt } from '../../actions/call-control';
import type { E164 } from '../../engine/types';
import { fillTemplate } from '../driver';
import type { FreeSwitchSettings } from '../settings';
import { commandArg, displayName } from './esl-text';

export interface EslCallOptions {
  readonly mode: 'outbound' | 'inbound';
  readonly settings: FreeSwitchSettings;
  /** Where an inbound-mode call goes back to: its own destination and context, when plainly safe. */
  readonly route: { readonly destination: string; readonly context: string } | null;
  /** The mailbox when a rule names none: the number called, digits only. */
  readonly didMailbox: string | null;
  readonly callerName: string | undefined;
  /**
   * Outbound `socket … async`: FreeSWITCH parks the channel just after connecting, and a
   * socket closed before that strands the call; this settles once the channel is parked.
   */
  readonly parked: Promise<void> | null;
}

/** How long to wait for that park before handing back anyway. */
const PARK_WAIT_MS = 2000;

/**
 * One FreeSWITCH channel under callguard's control, over modesl, in either event-socket
 * mode. Applications run with `sendmsg … execute` and are awaited through their
 * CHANNEL_EXECUTE_COMPLETE; once the channel is gone every pending wait rejects with
 * CallerGone and modesl's per-channel listeners are removed.
 */
export class EslCall implements CallControl {
  private goneReason: string | null = null;
  private readonly waiters = new Set<(error?: Error) => void>();
  private bridged = false;
  private prompts = 0;

  constructor(
    private readonly conn: Connection,
    readonly uuid: string,
    private readonly options: EslCallOptions,
  ) {}

  get isGone(): boolean {
    return this.goneReason !== null;
  }

  /** The caller has been connected to a forward target. */
  get isBridged(): boolean {
    return this.bridged;
  }

  /** Pending application waits: zero when the call is over (tests count it). */
  get pendingWaits(): number {
    return this.waiters.size;
  }

  /**
   * The channel hung up, its socket closed, or control was handed back. With `error`, the
   * waits end with it instead of CallerGone: the caller may still be there (the inbound
   * event socket was lost), and the screener then applies the fail mode.
   */
  gone(reason: string, error?: Error): void {
    if (this.goneReason !== null) return;
    this.goneReason = reason;
    for (const reject of this.waiters) reject(error);
    this.waiters.clear();
    this.conn.removeAllListeners(`esl::event::CHANNEL_EXECUTE_COMPLETE::${this.uuid}`);
  }

  noteBridged(): void {
    this.bridged = true;
  }


  private execute(app: string, arg = ''): Promise<Event> {
    if (this.goneReason !== null) return Promise.reject(new CallerGone(app));
    commandArg(arg);
    return new Promise((resolve, reject) => {
      const onGone = (error?: Error) => reject(error ?? new CallerGone(app));
      this.waiters.add(onGone);
      this.conn.execute(app, arg, this.uuid, (complete) => {
        this.waiters.delete(onGone);
        resolve(complete);
      });
    });
  }

  private promptFile(prompt: Prompt): string {
    return `${this.options.settings.promptDir}/callguard-${prompt}.wav`;
  }

  async earlyMedia(): Promise<void> {
    await this.execute('pre_answer');
  }

  async answer(): Promise<void> {
    await this.execute('answer');
  }

  async play(prompt: Prompt): Promise<void> {
    await this.execute('playback', this.promptFile(prompt));
  }

  async promptForDigit(prompt: Prompt, timeoutMs: number): Promise<string | null> {
    // A fresh variable each time, so an earlier try's key is never read again.
    const variable = `callguard_digit_${++this.prompts}`;
    const args = `1 1 1 ${Math.round(timeoutMs)} # ${this.promptFile(prompt)} silence_stream://250 ${variable} [0-9*#]`;
    const complete = await this.execute('play_and_get_digits', args);
    return complete.getHeader(`variable_${variable}`) || null;
  }

  async hangup(cause: HangupCause): Promise<void> {
    try {
      await this.execute('hangup', cause);
    } catch (error) {
      // The hangup itself ends the channel: its completion may never be reported.
      if (!(error instanceof CallerGone)) throw error;
    }
  }

  async continueRoute(): Promise<void> {
    if (this.options.mode === 'outbound') {
      // The dialplan goes on with the action after `socket` as soon as the socket goes.
      if (this.options.parked) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([this.options.parked, new Promise((resolve) => (timer = setTimeout(resolve, PARK_WAIT_MS)))]);
        clearTimeout(timer);
      }
      this.gone('handed back');
      if (this.conn.socket) this.conn.disconnect();
      return;
    }
    const route = this.options.route;
    if (!route) {
      await this.hangup('NORMAL_CLEARING');
      throw new Error('the call has no destination that can be transferred to safely; it was cleared');
    }
    await this.execute('set', 'callguard_screened=true');
    await this.execute('transfer', `${route.destination} XML ${route.context}`);
    this.gone('transferred');
  }

  async voicemail(box: string | null): Promise<void> {
    const mailbox = box ?? this.options.didMailbox;
    if (mailbox === null) throw new Error('no mailbox: the number called is not a phone number');
    const { voicemailApp, voicemailArg } = this.options.settings;
    try {
      await this.execute(voicemailApp, fillTemplate(voicemailArg, { box: mailbox }));
    } catch (error) {
      // Callers hang up once they have left their message: voicemail was reached all the same.
      if (error instanceof CallerGone) return;
      throw error;
    }
    await this.hangup('NORMAL_CLEARING');
  }

  async forward(number: E164): Promise<'answered' | 'failed'> {
    await this.execute('set', 'continue_on_fail=true');
    await this.execute('set', 'hangup_after_bridge=true');
    try {
      const complete = await this.execute('bridge', fillTemplate(this.options.settings.forwardDialString, { number }));
      return this.bridged || complete.getHeader('variable_originate_disposition') === 'SUCCESS' ? 'answered' : 'failed';
    } catch (error) {
      // After a bridge the channel hangs up with the far end: that is a forward that worked.
      if (error instanceof CallerGone && this.bridged) return 'answered';
      throw error;
    }
  }

  async markSuspected(namePrefix: string, variable: string): Promise<void> {
    // Set as plain text, never as `${caller_id_name}`: FreeSWITCH would expand what the caller sent.
    await this.execute('set', `effective_caller_id_name=${displayName(namePrefix + (this.options.callerName ?? ''))}`);
    await this.execute('set', `${variable}=true`);
  }
}
