// Per-call records handed to tests: the request log, the events sent, and `done`.
import type { DialplanStop } from './dialplan';
import type { StirShakenResult } from './functions';
import type { SentEvent } from './hub';
import type { SimChannel } from './model';
import type { ChannelJson, PlaybackState } from './shapes';

/** One REST request as the simulator received it. */
export interface RequestLogEntry {
  method: string;
  /** Raw path as sent (still percent-encoded), e.g. `/ari/channels/1700000000.1/play`. */
  path: string;
  query: Record<string, string | string[]>;
  /** Parsed JSON or form body, the raw text for other content types, or undefined. */
  body: unknown;
  /** Swagger path that matched, e.g. `/channels/{channelId}/play`. */
  route?: string;
  nickname?: string;
  /** Decoded path parameters of the matched route. */
  pathParams?: Record<string, string>;
  status?: number;
  at: number;
}

export type CallOutcome =
  | 'continued' // left Stasis with continueInDialplan
  | 'hungup' // hung up through ARI (DELETE /channels/{id})
  | 'caller_hungup' // the far end hung up (the caller, or the callee of an outbound leg)
  | 'bridged' // was bridged with another channel before it ended
  | 'failed' // outbound leg never answered
  | 'stasis_failed' // no WebSocket served the application: Stasis() returned FAILED at once
  | 'sim_closed'; // still up when the simulator closed

export interface PlaybackRecord {
  id: string;
  media: string[];
  state: PlaybackState;
  stopped: boolean;
}

export interface CallResult {
  outcome: CallOutcome;
  channelId: string;
  direction: 'inbound' | 'outbound';
  answered: boolean;
  /** `reason` of the ARI hangup, as sent. */
  hangupReason?: string;
  /** `reason_code` of the ARI hangup, as sent. */
  hangupReasonCode?: string;
  /** Q.850 cause the channel ended with. */
  hangupCause?: number;
  hangupBy?: 'ari' | 'caller' | 'network';
  /** Where the last continueInDialplan sent the channel (unset again when it entered another Stasis() after it). */
  continuedTo?: { context: string; extension: string; priority?: number; label?: string };
  /** What the last Stasis() the channel ran returned (SUCCESS once an application continued it). */
  stasisStatus?: 'SUCCESS' | 'FAILED';
  /** The Stasis applications the channel entered, in order (one a Stasis() failed over from is not among them). */
  enteredApps: string[];
  /** With a simulated dialplan: where the channel's last dialplan run stopped (Stasis(), an application such as Dial or VoiceMail, an invalid extension). */
  dialplanStop?: DialplanStop;
  bridgedWith: string[];
  playbacks: PlaybackRecord[];
  /** Variables the application set (last value wins; undefined = unset). */
  variablesSet: Record<string, string | undefined>;
  requests: RequestLogEntry[];
  events: SentEvent[];
}

export interface CallerHangupPlan {
  /** Hang up this many ms after the call enters Stasis. */
  afterMs?: number;
  /** Hang up when the n-th playback (1-based; `true` = first) starts. */
  onPlaybackStart?: number | boolean;
  /** Hang up as soon as the application answers. */
  onAnswer?: boolean;
}

export interface PlaceCallOptions {
  callerNumber: string;
  callerName?: string;
  /** The dialled number (DID). */
  exten: string;
  context?: string;
  priority?: number;
  /** Channel variables set by the dialplan before Stasis(). */
  variables?: Record<string, string>;
  /** CALLERID(pres), e.g. `allowed_not_screened`, `prohib`. */
  presentation?: string;
  /** Application named in Stasis(); default `callguard`. */
  app?: string;
  /** Extra Stasis() arguments (arrive as StasisStart.args). */
  args?: string[];
  channelId?: string;
  /** Endpoint the call arrives on; names the channel (`PJSIP/trunk-0000000a`, `IAX2/provider`, `DAHDI/1`, `Local/100@from-internal`). Its technology is CHANNEL(channeltype). */
  endpoint?: string;
  /** Headers of the INVITE of a PJSIP call (PJSIP_HEADER(read,...)); default a From with the caller's number. PJSIP only. */
  sipHeaders?: Record<string, string>;
  /** Signalling peer `address:port` of a PJSIP call (CHANNEL(pjsip,remote_addr)); default 192.0.2.10:5060. PJSIP only. */
  remoteAddr?: string;
  /** res_stir_shaken's verification of the call's Identity header (STIR_SHAKEN()); needs the sim's stirShakenLoaded. PJSIP only. */
  stirShaken?: StirShakenResult[];
  callerHangup?: CallerHangupPlan;
}

export type OriginateOutcome =
  | { answer: true; afterMs?: number; ring?: boolean }
  | { answer: false; cause: number; afterMs?: number; ring?: boolean };

export interface OriginateInfo {
  endpoint: string;
  channelId: string;
  app?: string;
  appArgs: string[];
  extension?: string;
  context?: string;
  callerId?: string;
  originator?: string;
  timeout: number;
  variables: Record<string, string>;
  call: SimCall;
}

export type ChannelDirection = 'inbound' | 'outbound';

/** What a SimCall needs from the engine (kept narrow to avoid an import cycle). */
export interface CallControl {
  sendDtmf(ch: SimChannel, digits: string, gapMs?: number): Promise<void>;
  remoteHangup(ch: SimChannel, cause: number): void;
}

/** What a test holds for one call (inbound, or an outbound leg the application originated). */
export class SimCall {
  readonly requests: RequestLogEntry[] = [];
  readonly events: SentEvent[] = [];
  /** The Stasis applications the channel has entered so far, in order. */
  readonly enteredApps: string[] = [];
  readonly done: Promise<CallResult>;
  /** @internal */ channel!: SimChannel;
  /** @internal */ answered = false;
  /** @internal */ hangupBy: CallResult['hangupBy'];
  /** @internal */ hangupReason: string | undefined;
  /** @internal */ hangupReasonCode: string | undefined;
  /** @internal */ hangupCause: number | undefined;
  /** @internal */ continuedTo: CallResult['continuedTo'];
  /** @internal */ stasisStatus: CallResult['stasisStatus'];
  /** @internal */ dialplanStop: DialplanStop | undefined;
  /** @internal */ readonly bridgedWith = new Set<string>();
  /** @internal */ readonly playbackRecords: PlaybackRecord[] = [];
  /** @internal */ readonly variablesSet: Record<string, string | undefined> = {};
  /** @internal */ hangupPlan: CallerHangupPlan = {};
  /** @internal */ playbacksStarted = 0;
  private resolveDone!: (r: CallResult) => void;
  private result: CallResult | undefined;

  constructor(
    private readonly engine: CallControl,
    readonly direction: ChannelDirection,
  ) {
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve;
    });
  }

  get channelId(): string {
    return this.channel.id;
  }

  /** Settled result, once `done` has resolved. */
  get finished(): CallResult | undefined {
    return this.result;
  }

  /** Current snapshot as GET /channels/{id} would return it; undefined once destroyed. */
  snapshot(): ChannelJson | undefined {
    return this.channel.destroyed ? undefined : this.channel.toJson();
  }

  variable(name: string): string | undefined {
    return this.channel.vars.get(name);
  }

  /** DTMF from the far end; each digit arrives as ChannelDtmfReceived (duration_ms 100). */
  sendDtmf(digits: string, gapMs?: number): Promise<void> {
    return this.engine.sendDtmf(this.channel, digits, gapMs);
  }

  /** The far end hangs up (cause 16 unless given). */
  hangup(cause = 16): void {
    this.engine.remoteHangup(this.channel, cause);
  }

  /** Hang up when the n-th playback of this call starts (1-based). */
  hangupOnPlaybackStart(n = 1): void {
    this.hangupPlan = { ...this.hangupPlan, onPlaybackStart: n };
  }

  /** @internal */
  finish(outcome?: CallOutcome): void {
    if (this.result) return;
    const r: CallResult = {
      outcome: outcome ?? this.computeOutcome(),
      channelId: this.channel.id,
      direction: this.direction,
      answered: this.answered,
      bridgedWith: [...this.bridgedWith],
      enteredApps: [...this.enteredApps],
      playbacks: this.playbackRecords,
      variablesSet: this.variablesSet,
      requests: this.requests,
      events: this.events,
    };
    if (this.hangupReason !== undefined) r.hangupReason = this.hangupReason;
    if (this.hangupReasonCode !== undefined) r.hangupReasonCode = this.hangupReasonCode;
    if (this.hangupCause !== undefined) r.hangupCause = this.hangupCause;
    if (this.hangupBy !== undefined) r.hangupBy = this.hangupBy;
    if (this.continuedTo !== undefined) r.continuedTo = this.continuedTo;
    if (this.stasisStatus !== undefined) r.stasisStatus = this.stasisStatus;
    if (this.dialplanStop !== undefined) r.dialplanStop = this.dialplanStop;
    this.result = r;
    this.resolveDone(r);
  }

  private computeOutcome(): CallOutcome {
    if (this.continuedTo) return 'continued';
    if (this.bridgedWith.size > 0) return 'bridged';
    if (this.hangupBy === 'ari') return 'hungup';
    if (this.hangupBy === 'network' && !this.answered) return 'failed';
    return 'caller_hungup';
  }
}

