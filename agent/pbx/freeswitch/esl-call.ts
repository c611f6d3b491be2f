import type { Connection, Event } from 'modesl';
import { CallerGone } from '../../actions/call-control';
import type { CallControl, HangupCause, NumberEntry, Prompt } from '../../actions/call-control';
import type { E164 } from '../../engine/types';
import { fillTemplate } from '../driver';
import type { FreeSwitchSettings } from '../settings';
import { apiValue, commandArg, displayName } from './esl-text';
import { SCREENED_MARK } from './screen-marks';

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
 * mode. Applications run with `sendmsg … execute`; FreeSWITCH runs them in the order sent.
 * A parked channel only looks for such work on a 20 ms turn and then runs everything
 * queued, so steps whose result nothing waits for (early media, answer, a prompt) are
 * sent at once and only the step that yields something is awaited, through its
 * CHANNEL_EXECUTE_COMPLETE. In inbound mode the hand-back uses the API (uuid_setvar takes
 * effect at once, uuid_transfer on the channel's next turn), so letting a call through
 * costs one turn. Once the channel is gone every pending wait rejects with CallerGone and
 * modesl's per-channel listeners are removed.
 */
export class EslCall implements CallControl {
  private goneReason: string | null = null;
  private readonly waiters = new Set<(error?: Error) => void>();
  /** Applications sent and not yet complete, oldest first: the first is what the caller was in when they left. */
  private readonly inFlight: string[] = [];
  private leftDuring: string | null = null;
  /** Hangup-Cause of the channel's CHANNEL_HANGUP, once seen. */
  private endCause: string | null = null;
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
    this.leftDuring = this.inFlight[0] ?? null;
    for (const reject of this.waiters) reject(error);
    this.waiters.clear();
    this.conn.removeAllListeners(`esl::event::CHANNEL_EXECUTE_COMPLETE::${this.uuid}`);
  }

  noteBridged(): void {
    this.bridged = true;
  }

  /** CHANNEL_HANGUP: the channel is over, cleared with `cause`. */
  noteHangup(cause: string | undefined): void {
    this.endCause = cause ?? null;
    this.gone('hangup');
  }

  private execute(app: string, arg = ''): Promise<Event> {
    if (this.goneReason !== null) return Promise.reject(new CallerGone(app));
    commandArg(arg);
    this.inFlight.push(app);
    return new Promise((resolve, reject) => {
      const onGone = (error?: Error) => reject(error ?? new CallerGone(app));
      this.waiters.add(onGone);
      this.conn.execute(app, arg, this.uuid, (complete) => {
        this.waiters.delete(onGone);
        this.inFlight.splice(this.inFlight.indexOf(app), 1);
        resolve(complete);
      });
    });
  }

  /**
   * Sends an application without waiting for it: FreeSWITCH runs it before anything sent
   * later, and a caller who leaves meanwhile is reported by the next awaited step.
   */
  private queue(app: string, arg = ''): Promise<void> {
    if (this.goneReason !== null) return Promise.reject(new CallerGone(app));
    this.execute(app, arg).catch(() => undefined);
    return Promise.resolve();
  }

  /** An API command about this channel (inbound mode); rejects unless FreeSWITCH answers +OK. */
  private api(command: string, args: string): Promise<string> {
    if (this.goneReason !== null) return Promise.reject(new CallerGone(command));
    commandArg(args);
    return new Promise((resolve, reject) => {
      const onGone = (error?: Error) => reject(error ?? new CallerGone(command));
      this.waiters.add(onGone);
      this.conn.api(command, `${this.uuid} ${args}`, (reply) => {
        this.waiters.delete(onGone);
        const body = reply.getBody()?.trim() ?? '';
        if (body.startsWith('+OK')) resolve(body);
        else if (/No such channel/i.test(body)) reject(new CallerGone(command));
        else reject(new Error(`FreeSWITCH refused ${command}: ${body.slice(0, 120)}`));
      });
    });
  }

  private promptFile(prompt: Prompt): string {
    return `${this.options.settings.promptDir}/callguard-${prompt}.wav`;
  }

  earlyMedia(): Promise<void> {
    return this.queue('pre_answer');
  }

  answer(): Promise<void> {
    return this.queue('answer');
  }

  play(prompt: Prompt): Promise<void> {
    return this.queue('playback', this.promptFile(prompt));
  }

  promptForDigit(prompt: Prompt, timeoutMs: number): Promise<string | null> {
    return this.playAndGetDigits(prompt, `1 1 1 ${Math.round(timeoutMs)} #`, '[0-9*#]');
  }

  /** `#` ends the number and is not part of it; keys that are not all digits leave the variable unset (FreeSWITCH checks the regex). */
  promptForNumber(prompt: Prompt, { maxDigits, timeoutMs, digitTimeoutMs }: NumberEntry): Promise<string | null> {
    return this.playAndGetDigits(prompt, `1 ${maxDigits} 1 ${Math.round(timeoutMs)} #`, `^[0-9]+$ ${Math.round(digitTimeoutMs)}`);
  }

  /** play_and_get_digits <min> <max> <tries> <timeout> <terminators> <file> <invalid_file> <var> <regex> [digit_timeout]. */
  private async playAndGetDigits(prompt: Prompt, counts: string, regexAndAfter: string): Promise<string | null> {
    // A fresh variable each time, so an earlier try's keys are never read again.
    const variable = `callguard_digit_${++this.prompts}`;
    const complete = await this.execute('play_and_get_digits', `${counts} ${this.promptFile(prompt)} silence_stream://250 ${variable} ${regexAndAfter}`);
    return complete.getHeader(`variable_${variable}`) || null;
  }

  async hangup(cause: HangupCause): Promise<void> {
    try {
      await this.execute('hangup', cause);
    } catch (error) {
      if (!(error instanceof CallerGone)) throw error;
      // The hangup itself ends the channel: its completion may never be reported. Any
      // other end means the caller left first, during whatever was still running.
      if (this.endCause !== null && this.endCause !== cause) throw new CallerGone(this.leftDuring ?? 'hangup');
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
    // Sent together: the variable is set at once, and the transfer is taken on the next turn.
    await Promise.all([this.api('uuid_setvar', `${SCREENED_MARK} true`), this.api('uuid_transfer', `${route.destination} XML ${route.context}`)]);
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
    await this.queue('set', 'continue_on_fail=true');
    await this.queue('set', 'hangup_after_bridge=true');
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
    const name = displayName(namePrefix + (this.options.callerName ?? ''));
    if (this.options.mode === 'inbound') {
      // At once, ahead of the hand-back's transfer; a `set` would wait for a turn of its own.
      await Promise.all([this.api('uuid_setvar', `effective_caller_id_name ${apiValue(name)}`), this.api('uuid_setvar', `${variable} true`)]);
      return;
    }
    await this.execute('set', `effective_caller_id_name=${name}`);
    await this.execute('set', `${variable}=true`);
  }
}
