// The simulator's public data shapes: what a test passes in (CallSpec) and
// reads back (CallResult, CommandRecord, AppRecord), and the contracts
// between channel, applications and simulator.

import type { SimChannel } from './channel';
import type { EventFactory, SimEvent } from './events';
import type { SimScheduler } from './scheduler';

export type CallOutcome = 'continued' | 'transferred' | 'hungup' | 'bridged' | 'voicemail' | 'stranded' | 'parked';

export type CommandKind =
  | 'connect' | 'myevents' | 'linger' | 'nolinger' | 'resume' | 'event' | 'nixevent' | 'noevents' | 'filter'
  | 'sendmsg' | 'api' | 'bgapi' | 'exit' | 'getvar' | 'log' | 'nolog' | 'sendevent' | 'divert_events' | 'auth'
  | 'unknown';

export interface CommandRecord {
  /** ms since the call was created */
  at: number;
  /** The packet as received (command line, header lines, body). */
  raw: string;
  kind: CommandKind;
  /** sendmsg execute: application name and argument as sent (not expanded). */
  app?: string;
  arg?: string;
  /** sendmsg: the call-command header (execute, hangup, ...). */
  callCommand?: string;
  /** sendmsg: target UUID from the command line, if any. */
  uuid?: string;
  /** sendmsg: the Event-UUID the client chose (comes back as Application-UUID). */
  eventUuid?: string;
  /** api/bgapi: command and its arguments. */
  command?: string;
  args?: string;
  /** The reply text sent back (command/reply) or the api body. */
  reply?: string;
}

export interface AppRecord {
  app: string;
  /** Argument as the agent sent it. */
  arg: string;
  /** After FreeSWITCH variable expansion. */
  expandedArg: string;
  /** Application-UUID */
  uuid: string;
  response?: string;
  startedAt: number;
  /** Started by a parked channel's park loop: on which of its 20 ms turns (1 = the first). */
  parkTurn?: number;
  endedAt?: number;
}

export type BridgeOutcome = { answer: true; talkMs?: number; otherUuid?: string } | { answer: false; cause: string };

export interface CallSpec {
  uuid?: string;
  callerIdNumber?: string;
  /** Empty string = no name (the header is then omitted, as FreeSWITCH does). */
  callerIdName?: string;
  destinationNumber?: string;
  context?: string;
  networkAddr?: string;
  channelName?: string;
  privacyHideName?: boolean;
  privacyHideNumber?: boolean;
  /** Caller-Dialplan; FreeSWITCH uses "XML" for sofia calls. */
  dialplan?: string;
  source?: string;
  /** Channel variables present from the start (e.g. from SIP headers). */
  variables?: Record<string, string>;
  /** Variables the dialplan sets with `set` before park/socket; each fires set EXECUTE events. */
  dialplanSet?: Record<string, string>;
  /** DTMF already queued by the caller. */
  digits?: string;
  /** How long one playback "plays" (ms). */
  playbackMs?: number;
  /** Per-file override of playbackMs. */
  playbackDurations?: Record<string, number>;
  /** Delay before each queued application starts (outside park; in park the 20 ms turn applies). */
  appDelayMs?: number;
  /**
   * How often a parked channel looks for work (switch_ivr_park: a 20 ms yield, or one 20 ms
   * frame once media is up). Default 20; 0 turns the model off.
   */
  parkTurnMs?: number;
  /** The caller hangs up when this application starts. */
  hangupOn?: string | { app: string; cause?: string; afterMs?: number };
  /** What a `bridge` reaches. Default: answered, 10 ms conversation. */
  bridge?: BridgeOutcome | ((dialstring: string) => BridgeOutcome);
  /** Outbound only: ms between the connect reply and CHANNEL_PARK (FreeSWITCH: about 1 ms). */
  parkDelayMs?: number;
}

export interface CallResult {
  outcome: CallOutcome;
  hangupCause?: string;
  hangupCauseCode?: number;
  transfer?: { destination: string; dialplan?: string; context?: string; via: TransferVia; parkTurn?: number };
  bridge?: { dialstring: string; answered: boolean; cause?: string; otherUuid?: string };
  /** respond <code>: the SIP status sent to the caller. */
  sipStatus?: number;
  /** Why the socket ended for continued/stranded outcomes. */
  reason?: string;
  commands: CommandRecord[];
  apps: AppRecord[];
  variables: Record<string, string>;
}

export type TransferVia = 'uuid_transfer' | 'transfer' | 'execute_extension' | 'sched_transfer';

export type AnswerState = 'ringing' | 'early' | 'answered' | 'hungup';

/** What a channel needs from the simulator. */
export interface ChannelHost {
  readonly events: EventFactory;
  publish(ev: SimEvent, ch: SimChannel): void;
  timeScale: number;
  globalVar(name: string): string | undefined;
  runApi(command: string, args: string, ch: SimChannel): string | undefined;
  app(name: string): AppHandler | undefined;
  /** A simulator bug or a throwing custom application: recorded, never thrown into sockets. */
  reportError(err: unknown): void;
  readonly scheduler: SimScheduler;
}

export interface AppContext {
  ch: SimChannel;
  app: string;
  /** Expanded argument. */
  arg: string;
  setResponse(text: string): void;
}
export type AppHandler = (ctx: AppContext) => Promise<void> | void;

export interface ExecuteMessage {
  app: string;
  arg: string;
  eventUuid?: string;
  loops?: number;
}
