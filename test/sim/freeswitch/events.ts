// Events as FreeSWITCH builds them (common headers, sequence numbers, dates) and
// the per-listener delivery rules of mod_event_socket's event_handler
// (event list, CUSTOM subclasses, filters, myevents).

import { randomUUID } from 'node:crypto';
import { getHeader, type EventFormat, type Header } from './wire';

export interface SimEvent {
  name: string;
  subclass?: string;
  headers: Header[];
  body?: string;
}

export interface CoreInfo {
  coreUuid: string;
  hostname: string;
  switchname: string;
  ipv4: string;
  ipv6: string;
}

/** Where FreeSWITCH 1.10.12 raises each event (Event-Calling-* headers), as seen in the transcripts. */
const ORIGINS: Record<string, [file: string, fn: string, line: number]> = {
  CHANNEL_EXECUTE: ['switch_core_session.c', 'switch_core_session_exec', 2944],
  CHANNEL_EXECUTE_COMPLETE: ['switch_core_session.c', 'switch_core_session_exec', 2967],
  CHANNEL_PARK: ['switch_ivr.c', 'switch_ivr_park', 1002],
  CHANNEL_UNPARK: ['switch_ivr.c', 'switch_ivr_park', 1213],
  CHANNEL_ANSWER: ['switch_channel.c', 'switch_channel_perform_mark_answered', 3846],
  CHANNEL_PROGRESS_MEDIA: ['switch_channel.c', 'switch_channel_perform_mark_pre_answered', 3622],
  CHANNEL_PROGRESS: ['switch_channel.c', 'switch_channel_perform_mark_ring_ready_value', 3535],
  CHANNEL_HANGUP: ['switch_channel.c', 'switch_channel_perform_hangup', 3445],
  CHANNEL_HANGUP_COMPLETE: ['switch_core_state_machine.c', 'switch_core_session_reporting_state', 943],
  CHANNEL_STATE: ['switch_channel.c', 'switch_channel_perform_set_running_state', 2408],
  CHANNEL_CALLSTATE: ['switch_channel.c', 'switch_channel_perform_set_callstate', 324],
  CHANNEL_CREATE: ['switch_core_state_machine.c', 'switch_core_session_run', 608],
  CHANNEL_DESTROY: ['switch_core_session.c', 'switch_core_session_perform_destroy', 1741],
  CHANNEL_BRIDGE: ['switch_ivr_bridge.c', 'audio_bridge_on_exchange_media', 920],
  CHANNEL_UNBRIDGE: ['switch_ivr_bridge.c', 'audio_bridge_on_exchange_media', 1039],
  DTMF: ['switch_channel.c', 'switch_channel_dequeue_dtmf', 677],
  PLAYBACK_START: ['switch_ivr_play_say.c', 'switch_ivr_play_file', 1532],
  PLAYBACK_STOP: ['switch_ivr_play_say.c', 'switch_ivr_play_file', 2000],
  BACKGROUND_JOB: ['mod_event_socket.c', 'api_exec', 1572],
  CHANNEL_DATA: ['mod_event_socket.c', 'parse_command', 2021],
  API: ['switch_loadable_module.c', 'switch_api_execute', 2963],
};

/** Known names for `event` (switch_name_event accepts them case-insensitively). */
export const EVENT_NAMES: readonly string[] = [
  'CUSTOM', 'CLONE', 'CHANNEL_CREATE', 'CHANNEL_DESTROY', 'CHANNEL_STATE', 'CHANNEL_CALLSTATE', 'CHANNEL_ANSWER',
  'CHANNEL_HANGUP', 'CHANNEL_HANGUP_COMPLETE', 'CHANNEL_EXECUTE', 'CHANNEL_EXECUTE_COMPLETE', 'CHANNEL_HOLD',
  'CHANNEL_UNHOLD', 'CHANNEL_BRIDGE', 'CHANNEL_UNBRIDGE', 'CHANNEL_PROGRESS', 'CHANNEL_PROGRESS_MEDIA',
  'CHANNEL_OUTGOING', 'CHANNEL_PARK', 'CHANNEL_UNPARK', 'CHANNEL_APPLICATION', 'CHANNEL_ORIGINATE', 'CHANNEL_UUID',
  'API', 'LOG', 'INBOUND_CHAN', 'OUTBOUND_CHAN', 'STARTUP', 'SHUTDOWN', 'PUBLISH', 'UNPUBLISH', 'TALK', 'NOTALK',
  'SESSION_CRASH', 'MODULE_LOAD', 'MODULE_UNLOAD', 'DTMF', 'MESSAGE', 'PRESENCE_IN', 'NOTIFY_IN', 'PRESENCE_OUT',
  'PRESENCE_PROBE', 'MESSAGE_WAITING', 'MESSAGE_QUERY', 'ROSTER', 'CODEC', 'BACKGROUND_JOB', 'DETECTED_SPEECH',
  'DETECTED_TONE', 'PRIVATE_COMMAND', 'HEARTBEAT', 'TRAP', 'ADD_SCHEDULE', 'DEL_SCHEDULE', 'EXE_SCHEDULE',
  'RE_SCHEDULE', 'RELOADXML', 'NOTIFY', 'PHONE_FEATURE', 'PHONE_FEATURE_SUBSCRIBE', 'SEND_MESSAGE', 'RECV_MESSAGE',
  'REQUEST_PARAMS', 'CHANNEL_DATA', 'GENERAL', 'COMMAND', 'SESSION_HEARTBEAT', 'CLIENT_DISCONNECTED',
  'SERVER_DISCONNECTED', 'SEND_INFO', 'RECV_INFO', 'RECV_RTCP_MESSAGE', 'SEND_RTCP_MESSAGE', 'CALL_SECURE', 'NAT',
  'RECORD_START', 'RECORD_STOP', 'PLAYBACK_START', 'PLAYBACK_STOP', 'CALL_UPDATE', 'FAILURE', 'SOCKET_DATA',
  'MEDIA_BUG_START', 'MEDIA_BUG_STOP', 'CONFERENCE_DATA_QUERY', 'CONFERENCE_DATA', 'CALL_SETUP_REQ',
  'CALL_SETUP_RESULT', 'CALL_DETAIL', 'DEVICE_STATE', 'TEXT', 'SHUTDOWN_REQUESTED', 'ALL',
];
const EVENT_SET = new Set(EVENT_NAMES);

export function normalizeEventName(word: string): string | undefined {
  let w = word.toUpperCase();
  if (w.startsWith('SWITCH_EVENT_')) w = w.slice('SWITCH_EVENT_'.length);
  return EVENT_SET.has(w) ? w : undefined;
}

/** The channel events myevents turns on (parse_command, "myevents"). */
export const MYEVENTS_LIST: readonly string[] = [
  'CHANNEL_ANSWER', 'CHANNEL_APPLICATION', 'CHANNEL_BRIDGE', 'CHANNEL_CREATE', 'CHANNEL_DATA', 'CHANNEL_DESTROY',
  'CHANNEL_EXECUTE', 'CHANNEL_EXECUTE_COMPLETE', 'CHANNEL_HANGUP', 'CHANNEL_HANGUP_COMPLETE', 'CHANNEL_ORIGINATE',
  'CHANNEL_UUID', 'CHANNEL_OUTGOING', 'CHANNEL_PARK', 'CHANNEL_PROGRESS', 'CHANNEL_PROGRESS_MEDIA', 'CHANNEL_STATE',
  'CHANNEL_UNBRIDGE', 'CHANNEL_UNPARK', 'DETECTED_SPEECH', 'DTMF', 'NOTALK', 'TALK',
];

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

export function localStamp(d: Date): string {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Microseconds since the epoch, strictly increasing so orderings are stable. */
let lastMicros = 0;
export function nowMicros(): number {
  const t = Math.floor((performance.timeOrigin + performance.now()) * 1000);
  lastMicros = t > lastMicros ? t : lastMicros + 1;
  return lastMicros;
}

export class EventFactory {
  private seq = 1;
  constructor(readonly core: CoreInfo) {}

  static defaultCore(hostname = 'sim'): CoreInfo {
    return { coreUuid: randomUUID(), hostname, switchname: hostname, ipv4: '192.0.2.2', ipv6: '::1' };
  }

  /** The headers every event starts with (switch_event_prep_for_delivery). */
  base(name: string, subclass?: string): Header[] {
    const micros = nowMicros();
    const d = new Date(Math.floor(micros / 1000));
    const [file, fn, line] = ORIGINS[name] ?? ['switch_event.c', 'switch_event_fire_detailed', 2000];
    const h: Header[] = [['Event-Name', name]];
    if (subclass) h.push(['Event-Subclass', subclass]);
    h.push(
      ['Core-UUID', this.core.coreUuid],
      ['FreeSWITCH-Hostname', this.core.hostname],
      ['FreeSWITCH-Switchname', this.core.switchname],
      ['FreeSWITCH-IPv4', this.core.ipv4],
      ['FreeSWITCH-IPv6', this.core.ipv6],
      ['Event-Date-Local', localStamp(d)],
      ['Event-Date-GMT', d.toUTCString()],
      ['Event-Date-Timestamp', String(micros)],
      ['Event-Calling-File', file],
      ['Event-Calling-Function', fn],
      ['Event-Calling-Line-Number', String(line)],
      ['Event-Sequence', String(this.seq++)],
    );
    return h;
  }
}

/** One listener's subscription state, as parse_command maintains it. */
export class Subscription {
  enabled = false;
  format: EventFormat = 'plain';
  private readonly names = new Set<string>();
  private all = false;
  private readonly subclasses = new Set<string>();
  /** Filters in insertion order; duplicates allowed (EF_UNIQ_HEADERS cleared). */
  filters: Header[] = [];
  /** myevents: only events whose Unique-ID is this (or any Unique-ID when undefined). */
  myevents: { uuid: string | undefined } | undefined;

  /** "event <fmt> <names...>": returns the reply text. */
  subscribe(words: string[]): string {
    let keys = 0;
    let custom = false;
    words.forEach((w, i) => {
      if (i === 0 && /^(plain|json|xml)$/i.test(w)) {
        this.format = w.toLowerCase() as EventFormat;
        return;
      }
      if (custom) {
        this.subclasses.add(w);
        return;
      }
      const name = normalizeEventName(w);
      if (!name) return;
      keys++;
      if (name === 'ALL') this.all = true;
      else this.names.add(name);
      if (name === 'CUSTOM') custom = true;
    });
    if (!keys) return '-ERR no keywords supplied';
    this.enabled = true;
    return `+OK event listener enabled ${this.format}`;
  }

  nix(words: string[]): string {
    let keys = 0;
    let custom = false;
    for (const w of words) {
      if (custom) {
        this.subclasses.delete(w);
        continue;
      }
      const name = normalizeEventName(w);
      if (!name) continue;
      keys++;
      if (name === 'CUSTOM') custom = true;
      else if (name === 'ALL') {
        this.all = false;
        this.names.clear();
      } else {
        if (this.all) {
          // nixing one event out of ALL turns ALL into "every event but this one"
          this.all = false;
          for (const n of EVENT_NAMES) if (n !== 'ALL') this.names.add(n);
        }
        this.names.delete(name);
      }
    }
    if (!keys) return '-ERR no keywords supplied';
    this.enabled = true;
    return '+OK events nixed';
  }

  clear(): string {
    if (!this.enabled) return '-ERR not listening for events';
    this.enabled = false;
    this.all = false;
    this.names.clear();
    this.subclasses.clear();
    return '+OK no longer listening for events';
  }

  enableMyEvents(uuid: string | undefined): void {
    for (const n of MYEVENTS_LIST) this.names.add(n);
    this.myevents = { uuid };
    this.enabled = true;
  }

  wants(ev: SimEvent): boolean {
    if (!this.enabled) return false;
    let send = this.all || (this.names.has(ev.name) && (ev.name !== 'CUSTOM' || !ev.subclass || this.subclasses.has(ev.subclass)));
    if (send && this.filters.length) send = passesFilters(this.filters, ev.headers);
    if (send && this.myevents) {
      const uid = getHeader(ev.headers, 'Unique-ID');
      if (!uid || (this.myevents.uuid !== undefined && uid !== this.myevents.uuid)) send = false;
    }
    return send;
  }
}

/** event_handler's filter loop: any positive match admits, a "-" filter match rejects. */
function passesFilters(filters: readonly Header[], headers: readonly Header[]): boolean {
  let send = false;
  for (const [name, value] of filters) {
    const hval = getHeader(headers, name);
    if (hval === undefined) continue;
    let pos = true;
    let i = 0;
    for (; i < value.length; i++) {
      const c = value[i];
      if (c === '+') pos = true;
      else if (c === '-') pos = false;
      else if (c !== ' ') break;
    }
    if (send && pos) continue;
    const comp = value.slice(i);
    let match: boolean;
    if (value.startsWith('/')) {
      const last = comp.lastIndexOf('/');
      const pattern = last > 0 ? comp.slice(1, last) : comp.slice(1);
      try {
        match = new RegExp(pattern).test(hval);
      } catch {
        match = false;
      }
    } else {
      match = hval.toLowerCase() === comp.toLowerCase();
    }
    if (match) {
      if (pos) send = true;
      else return false;
    }
  }
  return send;
}
