// One simulated call leg: caller profile, channel variables, answer/hangup
// state, the queue of applications the agent asks for, DTMF, and the events a
// real channel fires at each step (in the order the transcripts show).

import { randomUUID } from 'node:crypto';
import { causeByName, parseCause, type Cause } from './causes';
import { localStamp, nowMicros, type SimEvent } from './events';
import { expandVariables, type ExpandContext } from './expand';
import type {
  AnswerState,
  AppRecord,
  BridgeOutcome,
  TransferVia,
  CallOutcome,
  CallResult,
  CallSpec,
  ChannelHost,
  CommandRecord,
  ExecuteMessage,
} from './types';
import type { Header } from './wire';

interface Waiter {
  resolve: (why: 'timeout' | 'interrupted' | 'digit') => void;
  timer: NodeJS.Timeout | undefined;
  wake: ((digit: string) => boolean) | undefined;
}

interface Dtmf {
  digit: string;
  source: string;
  durationMs: number;
}

const DTMF_RE = /^[0-9*#A-Da-d]$/;

/** Events that carry the channel variables (switch_channel_event_set_extended_data). */
const WITH_VARS = new Set([
  'CHANNEL_CREATE', 'CHANNEL_ORIGINATE', 'CHANNEL_UUID', 'CHANNEL_ANSWER', 'CHANNEL_PARK', 'CHANNEL_UNPARK',
  'CHANNEL_BRIDGE', 'CHANNEL_UNBRIDGE', 'CHANNEL_PROGRESS', 'CHANNEL_PROGRESS_MEDIA', 'CHANNEL_HANGUP',
  'CHANNEL_HANGUP_COMPLETE', 'CHANNEL_DATA', 'CHANNEL_EXECUTE', 'CHANNEL_EXECUTE_COMPLETE', 'CHANNEL_DESTROY',
  'PLAYBACK_START', 'PLAYBACK_STOP', 'CUSTOM',
]);

export class SimChannel {
  readonly uuid: string;
  readonly mode: 'inbound' | 'outbound';
  readonly spec: CallSpec;
  readonly commands: CommandRecord[] = [];
  readonly apps: AppRecord[] = [];
  /** Files played (expanded), in order. */
  readonly playbacks: string[] = [];
  /** Lines the log/info applications wrote. */
  readonly logs: string[] = [];
  /** "EVENT_NAME" or "EVENT_NAME:app", every event this channel fired, in order. */
  readonly events: string[] = [];
  readonly done: Promise<CallResult>;

  outcome: CallOutcome | undefined;
  hangupCause: Cause | undefined;
  sipStatus: number | undefined;
  transferInfo: CallResult['transfer'];
  bridgeInfo: CallResult['bridge'];
  reason: string | undefined;

  // caller profile
  callerIdName: string;
  callerIdNumber: string;
  destinationNumber: string;
  context: string;
  readonly networkAddr: string;
  readonly channelName: string;
  dialplan: string;

  private readonly vars = new Map<string, string>();
  private answered = false;
  private early = false;
  private down = false;
  private reported = false;
  private callState: 'DOWN' | 'RINGING' | 'EARLY' | 'ACTIVE' | 'HANGUP' = 'RINGING';
  private runningState = 'CS_EXECUTE';
  private stateNumber = 4;
  private readonly times = { created: 0, answered: 0, progress: 0, progressMedia: 0, hangup: 0, transfer: 0, bridged: 0 };
  private readonly t0 = Date.now();
  private readonly dtmf: Dtmf[] = [];
  private readonly dialed: string[] = [];
  private waiters = new Set<Waiter>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private queue: Promise<void> = Promise.resolve();
  private running: Promise<void> | undefined;
  private parked = false;
  private parkedAt = 0;
  /** sendmsg work queued and not finished yet. */
  private pendingMessages = 0;
  /** The park loop is working through its queue on this turn: later arrivals join in. */
  private passOpen = false;
  /** The turn the open pass belongs to. */
  private passTurn = 0;
  private outer: { app: string; data: string; uuid: string } | undefined;
  private otherLeg: { uuid: string; dialstring: string } | undefined;
  private settleDone!: (r: CallResult) => void;
  /** A transfer is pending: running applications stop. */
  private breaking = false;
  /** No further queued applications run (transferred, or the socket went away). */
  private detached = false;
  private readonly parkWaiters: Array<() => void> = [];
  /** Queued applications waiting for the park loop to start. */
  private parkGate: Array<() => void> = [];
  /**
   * Outbound async socket: applications sent before the socket application
   * parked the channel only run once it has (the park loop picks them up).
   */
  holdUntilParked = false;
  /** Set by the outbound socket: the channel has left park/socket and is about to report. */
  onBeforeReport: (() => void) | undefined;
  /** Set by the outbound socket: CHANNEL_HANGUP_COMPLETE has been fired. */
  onReported: (() => void) | undefined;
  /** An outbound socket still holds the session: CHANNEL_DESTROY waits for it to close. */
  socketHeld = false;
  private destroyed = false;

  constructor(
    private readonly host: ChannelHost,
    mode: 'inbound' | 'outbound',
    spec: CallSpec,
  ) {
    this.mode = mode;
    this.spec = spec;
    this.uuid = spec.uuid ?? randomUUID();
    this.callerIdNumber = spec.callerIdNumber ?? '+14045551234';
    this.callerIdName = spec.callerIdName ?? this.callerIdNumber;
    this.destinationNumber = spec.destinationNumber ?? '1000';
    this.context = spec.context ?? 'public';
    this.networkAddr = spec.networkAddr ?? '127.0.0.1';
    this.dialplan = spec.dialplan ?? 'XML';
    this.channelName = spec.channelName ?? `sofia/external/${this.callerIdNumber}@${this.networkAddr}`;
    this.times.created = nowMicros();
    this.done = new Promise((resolve) => (this.settleDone = resolve));
    const sessionId = String(++SimChannel.sessions);
    const initial: Record<string, string> = {
      direction: 'inbound',
      uuid: this.uuid,
      session_id: sessionId,
      sip_from_user: this.callerIdNumber,
      sip_from_host: this.networkAddr,
      sip_to_user: this.destinationNumber,
      sip_req_user: this.destinationNumber,
      sip_network_ip: this.networkAddr,
      sip_network_port: '5060',
      sip_call_id: `${randomUUID()}@${this.networkAddr}`,
      channel_name: this.channelName,
      read_codec: 'PCMU',
      read_rate: '8000',
      write_codec: 'PCMU',
      write_rate: '8000',
      endpoint_disposition: 'DELAYED NEGOTIATION',
      call_uuid: this.uuid,
      ...(spec.variables ?? {}),
    };
    for (const [k, v] of Object.entries(initial)) this.vars.set(k, v);
    for (const d of spec.digits ?? '') this.queueDigit(d, 'RTP', 100);
  }

  static sessions = 0;

  // ---------------------------------------------------------------- state

  get state(): AnswerState {
    if (this.down) return 'hungup';
    if (this.answered) return 'answered';
    if (this.early) return 'early';
    return 'ringing';
  }

  get isDown(): boolean {
    return this.down;
  }

  get isParked(): boolean {
    return this.parked;
  }

  get variables(): Record<string, string> {
    return Object.fromEntries(this.vars);
  }

  getVar(name: string): string | undefined {
    return this.vars.get(name);
  }

  /** switch_channel_set_variable: re-setting moves the variable to the end, empty/undefined unsets. */
  setVar(name: string, value: string | undefined): void {
    this.vars.delete(name);
    if (value !== undefined && value !== '') this.vars.set(name, value);
  }

  /** Variables plus the caller-profile fields FreeSWITCH resolves by name. */
  lookup(name: string): string | undefined {
    const v = this.vars.get(name);
    if (v !== undefined) return v;
    switch (name) {
      case 'caller_id_name':
        return this.callerIdName;
      case 'caller_id_number':
      case 'ani':
        return this.callerIdNumber;
      case 'destination_number':
        return this.destinationNumber;
      case 'context':
        return this.context;
      case 'network_addr':
        return this.networkAddr;
      case 'dialplan':
        return this.dialplan;
      case 'chan_name':
        return this.channelName;
      case 'source':
        return this.spec.source ?? 'mod_sofia';
      default:
        return undefined;
    }
  }

  expand(input: string): string {
    const ctx: ExpandContext = {
      variable: (n) => this.lookup(n),
      global: (n) => this.host.globalVar(n),
      api: (cmd, args) => {
        this.commands.push({ at: this.elapsed(), raw: `\${${cmd} ${args}}`, kind: 'api', command: cmd, args });
        return this.host.runApi(cmd, args, this);
      },
    };
    return expandVariables(input, ctx);
  }

  elapsed(): number {
    return Date.now() - this.t0;
  }

  recordCommand(rec: Omit<CommandRecord, 'at'>): CommandRecord {
    const full = { at: this.elapsed(), ...rec };
    this.commands.push(full);
    return full;
  }

  // ---------------------------------------------------------------- events

  private profileHeaders(prefix: string): Header[] {
    const h: Header[] = [
      [`${prefix}-Direction`, 'inbound'],
      [`${prefix}-Logical-Direction`, 'inbound'],
      [`${prefix}-Dialplan`, this.dialplan],
    ];
    if (this.callerIdName) h.push([`${prefix}-Caller-ID-Name`, this.callerIdName]);
    if (this.callerIdNumber) h.push([`${prefix}-Caller-ID-Number`, this.callerIdNumber]);
    if (this.callerIdName) h.push([`${prefix}-Orig-Caller-ID-Name`, this.spec.callerIdName ?? this.callerIdNumber]);
    if (this.callerIdNumber) h.push([`${prefix}-Orig-Caller-ID-Number`, this.spec.callerIdNumber ?? '+14045551234']);
    h.push([`${prefix}-Network-Addr`, this.networkAddr]);
    if (this.callerIdNumber) h.push([`${prefix}-ANI`, this.callerIdNumber]);
    h.push(
      [`${prefix}-Destination-Number`, this.destinationNumber],
      [`${prefix}-Unique-ID`, this.uuid],
      [`${prefix}-Source`, this.spec.source ?? 'mod_sofia'],
      [`${prefix}-Context`, this.context],
      [`${prefix}-Channel-Name`, this.channelName],
      [`${prefix}-Profile-Index`, this.transferInfo ? '2' : '1'],
      [`${prefix}-Profile-Created-Time`, String(this.times.transfer || this.times.created)],
      [`${prefix}-Channel-Created-Time`, String(this.times.created)],
      [`${prefix}-Channel-Answered-Time`, String(this.times.answered)],
      [`${prefix}-Channel-Progress-Time`, String(this.times.progress)],
      [`${prefix}-Channel-Progress-Media-Time`, String(this.times.progressMedia)],
      [`${prefix}-Channel-Hangup-Time`, String(this.reported ? this.times.hangup : 0)],
      [`${prefix}-Channel-Transfer-Time`, String(this.times.transfer)],
      [`${prefix}-Channel-Resurrect-Time`, '0'],
      [`${prefix}-Channel-Bridged-Time`, String(this.times.bridged)],
      [`${prefix}-Channel-Last-Hold`, '0'],
      [`${prefix}-Channel-Hold-Accum`, '0'],
      [`${prefix}-Screen-Bit`, 'true'],
      [`${prefix}-Privacy-Hide-Name`, String(!!this.spec.privacyHideName)],
      [`${prefix}-Privacy-Hide-Number`, String(!!this.spec.privacyHideNumber)],
    );
    return h;
  }

  /** switch_channel_event_set_data: basic channel headers, caller profile, other leg, variables. */
  channelHeaders(withVars: boolean): Header[] {
    const h: Header[] = [
      ['Channel-State', this.runningState],
      ['Channel-Call-State', this.callState],
      ['Channel-State-Number', String(this.stateNumber)],
      ['Channel-Name', this.channelName],
      ['Unique-ID', this.uuid],
      ['Call-Direction', 'inbound'],
      ['Presence-Call-Direction', 'inbound'],
      ['Channel-HIT-Dialplan', 'true'],
      ['Channel-Call-UUID', this.vars.get('call_uuid') ?? this.uuid],
      ['Answer-State', this.down ? 'hangup' : this.answered ? 'answered' : this.early ? 'early' : 'ringing'],
    ];
    if (this.hangupCause) h.push(['Hangup-Cause', this.hangupCause.name]);
    h.push(
      ['Channel-Read-Codec-Name', 'PCMU'],
      ['Channel-Read-Codec-Rate', '8000'],
      ['Channel-Read-Codec-Bit-Rate', '64000'],
      ['Channel-Write-Codec-Name', 'PCMU'],
      ['Channel-Write-Codec-Rate', '8000'],
      ['Channel-Write-Codec-Bit-Rate', '64000'],
      ...this.profileHeaders('Caller'),
    );
    if (this.otherLeg) {
      h.push(
        ['Other-Type', 'originatee'],
        ['Other-Leg-Direction', 'outbound'],
        ['Other-Leg-Logical-Direction', 'outbound'],
        ['Other-Leg-Caller-ID-Name', this.callerIdName],
        ['Other-Leg-Caller-ID-Number', this.callerIdNumber],
        ['Other-Leg-Destination-Number', this.otherLeg.dialstring],
        ['Other-Leg-Unique-ID', this.otherLeg.uuid],
        ['Other-Leg-Channel-Name', `sofia/external/${this.otherLeg.dialstring}`],
      );
    }
    if (withVars) for (const [k, v] of this.vars) h.push([`variable_${k}`, v]);
    return h;
  }

  /** Fire a channel event: common headers, [pre], channel data, [post]. */
  fire(name: string, opts: { pre?: Header[]; post?: Header[]; body?: string; label?: string } = {}): SimEvent {
    const headers = [
      ...this.host.events.base(name),
      ...(opts.pre ?? []),
      ...this.channelHeaders(WITH_VARS.has(name)),
      ...(opts.post ?? []),
    ];
    const ev: SimEvent = { name, headers, ...(opts.body ? { body: opts.body } : {}) };
    this.events.push(opts.label ? `${name}:${opts.label}` : name);
    this.host.publish(ev, this);
    return ev;
  }

  /** The CHANNEL_DATA block an outbound socket gets in reply to `connect`. */
  channelDataHeaders(socketMode: 'async' | 'static', control: 'full' | 'single-channel'): Header[] {
    return [
      ...this.host.events.base('CHANNEL_DATA'),
      ...this.profileHeaders('Channel'),
      ...this.channelHeaders(true),
      ['Content-Type', 'command/reply'],
      ['Reply-Text', '+OK\n'],
      ['Socket-Mode', socketMode],
      ['Control', control],
    ];
  }

  private setCallState(next: 'RINGING' | 'EARLY' | 'ACTIVE' | 'HANGUP'): void {
    if (this.callState === next) return;
    const prev = this.callState;
    this.callState = next;
    const num = { DOWN: 0, RINGING: 4, EARLY: 5, ACTIVE: 1, HANGUP: 10 }[next];
    this.fire('CHANNEL_CALLSTATE', { post: [['Original-Channel-Call-State', prev], ['Channel-Call-State-Number', String(num)]] });
  }

  // ---------------------------------------------------------------- timing helpers

  /** Schedule on the channel so close() can cancel everything. */
  later(ms: number, fn: () => void): NodeJS.Timeout {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, Math.max(0, ms));
    this.timers.add(t);
    return t;
  }

  /**
   * Wait ms; ends early with 'interrupted' (hangup or transfer) or, when
   * `wake` is given, with 'digit' as soon as a queued digit satisfies it.
   */
  wait(ms: number, wake?: (digit: string) => boolean): Promise<'timeout' | 'interrupted' | 'digit'> {
    if (this.down || this.breaking) return Promise.resolve('interrupted');
    if (wake && this.dtmf.some((d) => wake(d.digit))) return Promise.resolve('digit');
    return new Promise((resolve) => {
      const w: Waiter = { resolve: () => undefined, timer: undefined, wake };
      w.resolve = (why) => {
        if (w.timer) {
          clearTimeout(w.timer);
          this.timers.delete(w.timer);
        }
        this.waiters.delete(w);
        resolve(why);
      };
      if (Number.isFinite(ms)) w.timer = this.later(ms, () => w.resolve('timeout'));
      this.waiters.add(w);
    });
  }

  /** Milliseconds FreeSWITCH would wait, scaled for tests. */
  scaled(ms: number): number {
    return Math.max(0, Math.round(ms * this.host.timeScale));
  }

  private interruptAll(): void {
    for (const w of [...this.waiters]) w.resolve('interrupted');
  }

  /** uuid_break: the current wait (playback, sleep, digit wait) ends now. */
  breakApplication(): void {
    this.interruptAll();
  }

  // ---------------------------------------------------------------- DTMF

  private queueDigit(digit: string, source: string, durationMs: number): void {
    if (!DTMF_RE.test(digit)) return;
    this.dtmf.push({ digit: digit.toUpperCase(), source, durationMs });
  }

  /**
   * The caller presses keys. Digits wait in the channel until an application
   * that reads DTMF (play_and_get_digits, read, a playback terminator) takes them.
   */
  pressDigits(digits: string, opts: { source?: string; durationMs?: number } = {}): void {
    if (this.down) return;
    for (const d of digits) this.queueDigit(d, opts.source ?? 'RTP', opts.durationMs ?? 100);
    for (const w of [...this.waiters]) {
      const wake = w.wake;
      if (wake && this.dtmf.some((d) => wake(d.digit))) w.resolve('digit');
    }
  }

  /** Dequeue one digit (the first one `which` accepts), firing DTMF like switch_channel_dequeue_dtmf. */
  takeDigit(which?: (digit: string) => boolean): string | undefined {
    const idx = which ? this.dtmf.findIndex((x) => which(x.digit)) : 0;
    if (idx < 0) return undefined;
    const d = this.dtmf.splice(idx, 1)[0];
    if (!d) return undefined;
    this.dialed.push(d.digit);
    this.fire('DTMF', {
      post: [
        ['DTMF-Digit', d.digit],
        ['DTMF-Duration', String(d.durationMs * 8)],
        ['DTMF-Source', d.source],
      ],
    });
    return d.digit;
  }

  // ---------------------------------------------------------------- answer state

  answer(): void {
    if (this.down || this.answered) return;
    this.answered = true;
    this.times.answered = nowMicros();
    if (!this.times.progressMedia) this.times.progressMedia = this.times.answered;
    this.fire('CHANNEL_ANSWER');
    this.setVar('endpoint_disposition', 'ANSWER');
    this.setCallState('ACTIVE');
  }

  preAnswer(): void {
    if (this.down || this.answered || this.early) return;
    this.early = true;
    this.times.progressMedia = nowMicros();
    this.fire('CHANNEL_PROGRESS_MEDIA');
    this.setVar('endpoint_disposition', 'EARLY MEDIA');
    this.setCallState('EARLY');
  }

  ringReady(): void {
    if (this.down || this.answered || this.times.progress) return;
    this.times.progress = nowMicros();
    this.fire('CHANNEL_PROGRESS');
  }

  // ---------------------------------------------------------------- lifecycle

  /** The dialplan's `set` applications before park/socket (only for visibility in events). */
  runDialplanSets(): void {
    for (const [k, v] of Object.entries(this.spec.dialplanSet ?? {})) {
      const uuid = randomUUID();
      const data = `${k}=${v}`;
      this.setVar('current_application_data', data);
      this.setVar('current_application', 'set');
      this.fire('CHANNEL_EXECUTE', { post: [['Application', 'set'], ['Application-Data', data], ['Application-UUID', uuid]], label: 'set' });
      this.setVar(k, v);
      this.fire('CHANNEL_EXECUTE_COMPLETE', {
        post: [['Application', 'set'], ['Application-Data', data], ['Application-Response', '_none_'], ['Application-UUID', uuid]],
        label: 'set',
      });
    }
  }

  /** Enter the long-running dialplan application (park for inbound, socket for outbound). */
  enterOuter(app: 'park' | 'socket', data: string): void {
    const uuid = randomUUID();
    this.outer = { app, data, uuid };
    this.setVar('current_application', app);
    this.setVar('current_application_data', data || undefined);
    this.fire('CHANNEL_EXECUTE', {
      post: [['Application', app], ...(data ? ([['Application-Data', data]] as Header[]) : []), ['Application-UUID', uuid]],
      label: app,
    });
    // switch_core_session_exec sets current_application once more after CHANNEL_EXECUTE
    this.setVar('current_application', app);
  }

  /** switch_ivr_park: fires CHANNEL_PARK. */
  park(): void {
    if (this.down || this.parked) return;
    this.parked = true;
    this.parkedAt = Date.now();
    this.fire('CHANNEL_PARK');
    for (const f of this.parkWaiters.splice(0)) f();
    this.openParkGate();
  }

  private openParkGate(): void {
    for (const f of this.parkGate.splice(0)) f();
  }

  /**
   * switch_ivr_park looks for work once per turn: a 20 ms yield while the channel has no
   * media, one 20 ms frame once it has. On a turn it runs every queued sendmsg, one after
   * the other (switch_ivr_parse_all_events), and a transfer flagged from outside (the
   * uuid_transfer API, a scheduled transfer) ends the loop. An API that only sets a
   * variable (uuid_setvar) needs no turn.
   */
  private get inParkLoop(): boolean {
    return this.parked && !this.down && this.turnMs > 0;
  }

  private get turnMs(): number {
    return this.spec.parkTurnMs ?? PARK_TURN_MS;
  }

  /** The number of the park loop's next turn (1 = the first, one turn after the park). */
  private nextTurnNumber(): number {
    return Math.floor((Date.now() - this.parkedAt) / this.turnMs) + 1;
  }

  /** Milliseconds from now to the park loop's next turn. */
  private untilNextTurn(): number {
    return this.turnMs - ((Date.now() - this.parkedAt) % this.turnMs);
  }

  /** switch_ivr_schedule_transfer: the scheduler sends this channel on at `runtime` (epoch s). */
  scheduleTransfer(runtime: number, extension: string, dialplan: string | undefined, context: string | undefined): number {
    return this.host.scheduler.add(runtime, this.uuid, () => this.transfer(extension, dialplan, context, 'sched_transfer'));
  }

  /** Resolves once the channel is parked (or immediately if it already is). */
  whenParked(): Promise<void> {
    if (this.parked) return Promise.resolve();
    return new Promise((resolve) => this.parkWaiters.push(resolve));
  }

  /** Leave park / the socket application: UNPARK, then the outer application's EXECUTE_COMPLETE. */
  private leaveOuter(): void {
    if (this.parked) {
      this.parked = false;
      this.fire('CHANNEL_UNPARK');
    }
    if (this.outer) {
      const o = this.outer;
      this.outer = undefined;
      const resp = this.vars.get('current_application_response') ?? '_none_';
      this.fire('CHANNEL_EXECUTE_COMPLETE', {
        post: [
          ['Application', o.app],
          ...(o.data ? ([['Application-Data', o.data]] as Header[]) : []),
          ['Application-Response', resp],
          ['Application-UUID', o.uuid],
        ],
        label: o.app,
      });
    }
  }

  private settle(outcome: CallOutcome): void {
    if (this.outcome) return;
    this.outcome = outcome;
    this.settleDone(this.result());
  }

  result(): CallResult {
    return {
      outcome: this.outcome ?? 'parked',
      ...(this.hangupCause ? { hangupCause: this.hangupCause.name, hangupCauseCode: this.hangupCause.code } : {}),
      ...(this.transferInfo ? { transfer: this.transferInfo } : {}),
      ...(this.bridgeInfo ? { bridge: this.bridgeInfo } : {}),
      ...(this.sipStatus !== undefined ? { sipStatus: this.sipStatus } : {}),
      ...(this.reason ? { reason: this.reason } : {}),
      commands: [...this.commands],
      apps: [...this.apps],
      variables: this.variables,
    };
  }

  /** Resolve `done` with outcome bridged (the call is connected to its destination). */
  markBridged(info: NonNullable<CallResult['bridge']>): void {
    this.bridgeInfo = info;
    this.settle('bridged');
  }

  markVoicemail(): void {
    this.settle('voicemail');
  }

  setOtherLeg(leg: { uuid: string; dialstring: string } | undefined): void {
    this.otherLeg = leg;
    if (leg) this.times.bridged = nowMicros();
  }

  /**
   * switch_channel_hangup. The running application (if any) is interrupted and
   * completes; then the channel leaves park/socket and reports.
   */
  hangup(cause: Cause | string = 'NORMAL_CLEARING', opts: { sipStatus?: number } = {}): boolean {
    if (this.down) return false;
    const c = typeof cause === 'string' ? parseCause(cause) : cause;
    this.down = true;
    this.hangupCause = c;
    if (opts.sipStatus !== undefined) this.sipStatus = opts.sipStatus;
    this.stateNumber = 10;
    this.times.hangup = nowMicros();
    this.fire('CHANNEL_HANGUP');
    this.interruptAll();
    this.openParkGate();
    const after = this.running ?? Promise.resolve();
    void after.then(() => setImmediate(() => this.report()));
    return true;
  }

  /** The caller hangs up (CANCEL before answer, BYE after). */
  callerHangup(cause?: string): void {
    this.hangup(cause ?? (this.answered ? 'NORMAL_CLEARING' : 'ORIGINATOR_CANCEL'));
  }

  private report(): void {
    if (this.reported) return;
    this.leaveOuter();
    this.onBeforeReport?.();
    this.runningState = 'CS_HANGUP';
    this.fire('CHANNEL_STATE');
    this.reported = true;
    this.runningState = 'CS_REPORTING';
    this.stateNumber = 11;
    this.callState = 'HANGUP';
    this.setHangupVariables();
    this.fire('CHANNEL_STATE');
    this.fire('CHANNEL_HANGUP_COMPLETE', { pre: [['Hangup-Cause', this.hangupCause?.name ?? 'NORMAL_CLEARING']] });
    this.settle('hungup');
    this.onReported?.();
    this.clearTimers();
    if (!this.socketHeld) setImmediate(() => this.destroy());
  }

  /** Fired once nothing holds the session any more (after an outbound socket closed). */
  destroy(): void {
    if (!this.reported || this.destroyed) return;
    this.destroyed = true;
    this.runningState = 'CS_DESTROY';
    this.stateNumber = 12;
    this.fire('CHANNEL_DESTROY');
  }

  private setHangupVariables(): void {
    const c = this.hangupCause ?? causeByName('NORMAL_CLEARING');
    const us = (t: number): string => String(t);
    const secs = (t: number): string => String(Math.floor(t / 1e6));
    const stamp = (t: number): string => localStamp(new Date(Math.floor(t / 1000)));
    const end = this.times.hangup || nowMicros();
    const start = this.times.created;
    const ans = this.times.answered;
    const last = this.apps[this.apps.length - 1];
    this.setVar('hangup_cause', c.name);
    this.setVar('hangup_cause_q850', String(c.code));
    this.setVar('digits_dialed', this.dialed.length ? this.dialed.join('') : 'none');
    this.setVar('start_stamp', stamp(start));
    this.setVar('profile_start_stamp', stamp(start));
    if (ans) this.setVar('answer_stamp', stamp(ans));
    this.setVar('end_stamp', stamp(end));
    this.setVar('start_epoch', secs(start));
    this.setVar('start_uepoch', us(start));
    this.setVar('answer_epoch', ans ? secs(ans) : '0');
    this.setVar('answer_uepoch', us(ans));
    this.setVar('end_epoch', secs(end));
    this.setVar('end_uepoch', us(end));
    if (last) {
      this.setVar('last_app', last.app);
      if (last.expandedArg) this.setVar('last_arg', last.expandedArg);
    }
    this.setVar('caller_id', `"${this.callerIdName}" <${this.callerIdNumber}>`);
    this.setVar('duration', String(Math.round((end - start) / 1e6)));
    this.setVar('billsec', String(ans ? Math.round((end - ans) / 1e6) : 0));
    this.setVar('mduration', String(Math.round((end - start) / 1000)));
    this.setVar('billmsec', String(ans ? Math.round((end - ans) / 1000) : 0));
    this.setVar('uduration', String(end - start));
    this.setVar('billusec', String(ans ? end - ans : 0));
    if (this.sipStatus !== undefined) this.setVar('sip_term_status', String(this.sipStatus));
  }

  /**
   * uuid_transfer / the transfer application: the call leaves park (or the
   * socket application) for another extension.
   */
  transfer(destination: string, dialplan: string | undefined, context: string | undefined, via: TransferVia): boolean {
    if (this.down || this.breaking || this.detached) return false;
    this.breaking = true;
    this.detached = true;
    this.interruptAll();
    // An idle parked channel notices a transfer from outside on its next turn.
    const parkTurn = this.inParkLoop ? (this.running ? this.passTurn : this.nextTurnNumber()) : undefined;
    const after = this.running ?? (this.inParkLoop ? new Promise<void>((resolve) => this.later(this.untilNextTurn(), resolve)) : Promise.resolve());
    void after.then(() =>
      setImmediate(() => {
        this.breaking = false;
        if (this.down) return;
        this.times.transfer = nowMicros();
        this.transferInfo = { destination, ...(dialplan ? { dialplan } : {}), ...(context ? { context } : {}), via, ...(parkTurn ? { parkTurn } : {}) };
        this.setVar('transfer_source', `${Math.floor(this.times.transfer / 1e6)}:${this.uuid}:${via}:${destination}/${context ?? this.context}/${dialplan ?? this.dialplan}`);
        this.leaveOuter();
        this.destinationNumber = destination;
        if (context) this.context = context;
        if (dialplan) this.dialplan = dialplan;
        this.settle('transferred');
      }),
    );
    return true;
  }

  /**
   * The outbound socket ended while the channel is alive: after the running
   * application, the socket application returns and the dialplan goes on.
   */
  continueDialplan(reason: string): void {
    if (this.down || this.outcome) return;
    this.reason = reason;
    this.detached = true;
    this.openParkGate();
    const after = this.running ?? Promise.resolve();
    void after.then(() =>
      setImmediate(() => {
        if (this.down || this.outcome) return;
        this.leaveOuter();
        this.settle('continued');
      }),
    );
  }

  /** The socket went away before FreeSWITCH parked the channel: it parks later and stays there. */
  strand(reason: string): void {
    if (this.down || this.outcome) return;
    this.reason = reason;
    this.settle('stranded');
  }

  /** Resolve `done` for a call still parked when the simulator shuts down. */
  abandon(): void {
    this.clearTimers();
    this.interruptAll();
    this.detached = true;
    this.openParkGate();
    this.settle(this.outcome ?? 'parked');
  }

  private clearTimers(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  // ---------------------------------------------------------------- applications

  /**
   * Queue an application like a sendmsg execute does; applications run one
   * after the other. Resolves when this one has completed (or was dropped).
   */
  execute(msg: ExecuteMessage): Promise<void> {
    this.pendingMessages++;
    const run = this.queue
      .then(() => this.runMessage(msg))
      .catch((err: unknown) => this.host.reportError(err))
      .finally(() => {
        if (--this.pendingMessages === 0) this.passOpen = false;
      });
    this.queue = run;
    return run;
  }

  private async runMessage(msg: ExecuteMessage): Promise<void> {
    if (this.holdUntilParked && !this.parked && !this.down && !this.detached) {
      await new Promise<void>((r) => this.parkGate.push(r));
    }
    if (this.inParkLoop) {
      if (!this.passOpen) {
        this.passTurn = this.nextTurnNumber();
        await this.wait(this.untilNextTurn());
        this.passOpen = true;
      }
    } else {
      const delay = this.spec.appDelayMs ?? DEFAULT_APP_DELAY_MS;
      if (delay > 0) await new Promise<void>((r) => this.later(delay, r));
    }
    const loops = msg.loops && msg.loops > 0 ? msg.loops : 1;
    for (let i = 0; i < loops; i++) {
      if (this.down || this.detached) return;
      this.setVar('current_loop', String(i + 1));
      this.setVar('total_loops', String(loops));
      await this.execApp(msg.app, msg.arg, msg.eventUuid ?? randomUUID());
    }
    this.setVar('current_loop', undefined);
    this.setVar('total_loops', undefined);
  }

  /** An application the dialplan itself runs (not sent over a socket): same events, no queue. */
  runDialplanApp(app: string, arg: string): Promise<void> {
    return this.execApp(app, arg, randomUUID());
  }

  private execApp(app: string, rawArg: string, appUuid: string): Promise<void> {
    // `running` is set before the application starts so a hangup it causes waits for its completion.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    this.running = gate;
    return this.execAppInner(app, rawArg, appUuid).finally(() => {
      if (this.running === gate) this.running = undefined;
      release();
    });
  }

  private async execAppInner(appName: string, rawArg: string, appUuid: string): Promise<void> {
    const name = appName.toLowerCase();
    const impl = this.host.app(name);
    if (!impl) {
      // switch_core_session_execute_application: "Invalid Application", hang up.
      this.hangup('DESTINATION_OUT_OF_ORDER');
      return;
    }
    const expanded = rawArg ? this.expand(rawArg) : '';
    const parkTurn = this.inParkLoop && this.passOpen ? this.passTurn : undefined;
    const rec: AppRecord = { app: name, arg: rawArg, expandedArg: expanded, uuid: appUuid, startedAt: this.elapsed(), ...(parkTurn ? { parkTurn } : {}) };
    this.apps.push(rec);
    this.setVar('current_application', name);
    this.setVar('current_application_data', expanded || undefined);
    this.setVar('current_application_response', undefined);
    const dataHeader: Header[] = expanded ? [['Application-Data', expanded]] : [];
    this.fire('CHANNEL_EXECUTE', { post: [['Application', name], ...dataHeader, ['Application-UUID', appUuid]], label: name });
    this.setVar('current_application', name);
    this.checkHangupOn(name);
    try {
      await impl({
        ch: this,
        app: name,
        arg: expanded,
        setResponse: (text) => this.setVar('current_application_response', text),
      });
    } catch (err) {
      this.host.reportError(err);
      this.setVar('current_application_response', `-ERR ${(err as Error).message}`);
    }
    const resp = this.vars.get('current_application_response') ?? '_none_';
    rec.response = resp;
    rec.endedAt = this.elapsed();
    this.fire('CHANNEL_EXECUTE_COMPLETE', {
      post: [['Application', name], ...dataHeader, ['Application-Response', resp], ['Application-UUID', appUuid]],
      label: name,
    });
  }

  private checkHangupOn(app: string): void {
    const h = this.spec.hangupOn;
    if (!h) return;
    const spec = typeof h === 'string' ? { app: h } : h;
    if (spec.app.toLowerCase() !== app) return;
    const go = (): void => this.callerHangup(spec.cause);
    if (spec.afterMs) this.later(spec.afterMs, go);
    else go();
  }

  /** The bridge result the test chose for this dialstring. */
  bridgeOutcome(dialstring: string): BridgeOutcome {
    const b = this.spec.bridge;
    if (!b) return { answer: true, talkMs: 10 };
    return typeof b === 'function' ? b(dialstring) : b;
  }

  playbackDuration(file: string): number {
    return this.spec.playbackDurations?.[file] ?? this.spec.playbackMs ?? DEFAULT_PLAYBACK_MS;
  }

  /** Whether the application currently running should stop (hangup or transfer). */
  get stopping(): boolean {
    return this.down || this.breaking;
  }
}

export const DEFAULT_APP_DELAY_MS = 2;
export const PARK_TURN_MS = 20;
export const DEFAULT_PLAYBACK_MS = 5;
