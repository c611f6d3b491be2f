// JSON shapes Asterisk 22 sends over ARI (REST bodies and WebSocket events), exported so
// other tests can build or fuzz events for the agent's handler without running the sim.

export type ChannelState =
  | 'Down' | 'Rsrved' | 'OffHook' | 'Dialing' | 'Ring' | 'Ringing' | 'Up' | 'Busy' | 'Dialing Offhook' | 'Pre-ring' | 'Unknown';

export interface CallerIdJson {
  name: string;
  number: string;
}

export interface DialplanCepJson {
  context: string;
  exten: string;
  priority: number;
  app_name: string;
  app_data: string;
}

export interface ChannelJson {
  id: string;
  name: string;
  state: ChannelState;
  protocol_id: string;
  caller: CallerIdJson;
  connected: CallerIdJson;
  accountcode: string;
  dialplan: DialplanCepJson;
  creationtime: string;
  language: string;
  caller_rdnis?: string;
  channelvars?: Record<string, string>;
  tenantid?: string;
}

export interface BridgeJson {
  id: string;
  technology: string;
  bridge_type: 'mixing' | 'holding';
  bridge_class: string;
  creator: string;
  name: string;
  channels: string[];
  creationtime: string;
  video_mode?: string;
  video_source_id?: string;
  bridgevars?: Record<string, string>;
}

export type PlaybackState = 'queued' | 'playing' | 'continuing' | 'done' | 'failed';

export interface PlaybackJson {
  id: string;
  media_uri: string;
  next_media_uri?: string;
  target_uri: string;
  language?: string;
  state: PlaybackState;
}

export interface ApplicationJson {
  name: string;
  channel_ids: string[];
  bridge_ids: string[];
  endpoint_ids: string[];
  device_names: string[];
  events_allowed: object[];
  events_disallowed: object[];
}

export interface VariableJson {
  value: string;
}

/** Error body of a REST failure, e.g. `{"message":"Channel not found"}`. */
export interface AriErrorJson {
  message: string;
}

/** Fields every event carries on the wire. */
export interface EventEnvelope {
  type: string;
  timestamp: string;
  application: string;
  asterisk_id?: string;
}

export interface StasisStartEvent extends EventEnvelope {
  type: 'StasisStart';
  args: string[];
  channel: ChannelJson;
  replace_channel?: ChannelJson;
}
export interface StasisEndEvent extends EventEnvelope {
  type: 'StasisEnd';
  channel: ChannelJson;
}
export interface ChannelStateChangeEvent extends EventEnvelope {
  type: 'ChannelStateChange';
  channel: ChannelJson;
}
export interface ChannelDtmfReceivedEvent extends EventEnvelope {
  type: 'ChannelDtmfReceived';
  digit: string;
  duration_ms: number;
  channel: ChannelJson;
}
export interface ChannelHangupRequestEvent extends EventEnvelope {
  type: 'ChannelHangupRequest';
  cause?: number;
  tech_cause?: number;
  soft?: boolean;
  channel: ChannelJson;
}
export interface ChannelDestroyedEvent extends EventEnvelope {
  type: 'ChannelDestroyed';
  cause: number;
  cause_txt: string;
  tech_cause?: number;
  channel: ChannelJson;
}
export interface ChannelVarsetEvent extends EventEnvelope {
  type: 'ChannelVarset';
  variable: string;
  value: string;
  channel?: ChannelJson;
}
export interface PlaybackStartedEvent extends EventEnvelope {
  type: 'PlaybackStarted';
  playback: PlaybackJson;
}
export interface PlaybackContinuingEvent extends EventEnvelope {
  type: 'PlaybackContinuing';
  playback: PlaybackJson;
}
export interface PlaybackFinishedEvent extends EventEnvelope {
  type: 'PlaybackFinished';
  playback: PlaybackJson;
}
export interface ChannelEnteredBridgeEvent extends EventEnvelope {
  type: 'ChannelEnteredBridge';
  bridge: BridgeJson;
  channel?: ChannelJson;
}
export interface ChannelLeftBridgeEvent extends EventEnvelope {
  type: 'ChannelLeftBridge';
  bridge: BridgeJson;
  channel: ChannelJson;
}
export interface BridgeDestroyedEvent extends EventEnvelope {
  type: 'BridgeDestroyed';
  bridge: BridgeJson;
}
export interface DialEvent extends EventEnvelope {
  type: 'Dial';
  caller?: ChannelJson;
  peer: ChannelJson;
  forward?: string;
  forwarded?: ChannelJson;
  dialstring?: string;
  dialstatus: string;
}
export interface ApplicationReplacedEvent extends EventEnvelope {
  type: 'ApplicationReplaced';
}

/** Every event type the simulator sends (all declared in its events.json). */
export type AriEvent =
  | StasisStartEvent
  | StasisEndEvent
  | ChannelStateChangeEvent
  | ChannelDtmfReceivedEvent
  | ChannelHangupRequestEvent
  | ChannelDestroyedEvent
  | ChannelVarsetEvent
  | PlaybackStartedEvent
  | PlaybackContinuingEvent
  | PlaybackFinishedEvent
  | ChannelEnteredBridgeEvent
  | ChannelLeftBridgeEvent
  | BridgeDestroyedEvent
  | DialEvent
  | ApplicationReplacedEvent;

export type AriEventType = AriEvent['type'];

/** An event before the hub stamps `application` and `asterisk_id` on it. */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type EventBody = DistributiveOmit<AriEvent, 'application' | 'asterisk_id'>;

/** Asterisk's timestamp format: `2024-05-01T12:34:56.789+0000` (ast_json_timeval, UTC). */
export function asteriskTimestamp(date: Date = new Date()): string {
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return (
    `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}` +
    `T${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}` +
    `.${pad(date.getUTCMilliseconds(), 3)}+0000`
  );
}

// ---- Builders for tests that feed the agent synthetic events -------------------------

let sampleSeq = 0;

/** A plausible inbound channel snapshot; override any field. */
export function sampleChannel(overrides: Partial<ChannelJson> = {}): ChannelJson {
  sampleSeq += 1;
  return {
    id: `1700000000.${sampleSeq}`,
    name: `PJSIP/trunk-${sampleSeq.toString(16).padStart(8, '0')}`,
    state: 'Ring',
    protocol_id: `sample-${sampleSeq}@127.0.0.1`,
    caller: { name: '', number: '+14045551234' },
    connected: { name: '', number: '' },
    accountcode: '',
    dialplan: { context: 'from-trunk', exten: '+18005550100', priority: 1, app_name: 'Stasis', app_data: 'callguard' },
    creationtime: asteriskTimestamp(),
    language: 'en',
    ...overrides,
  };
}

export function samplePlayback(overrides: Partial<PlaybackJson> = {}): PlaybackJson {
  sampleSeq += 1;
  return {
    id: `playback-${sampleSeq}`,
    media_uri: 'sound:hello-world',
    target_uri: 'channel:1700000000.1',
    language: 'en',
    state: 'playing',
    ...overrides,
  };
}

/** Wraps an event body the way the simulator puts it on the wire. */
export function onTheWire<E extends EventBody>(
  body: E,
  application = 'callguard',
  asteriskId = '52:54:00:12:34:56',
): E & { application: string; asterisk_id: string } {
  return { ...body, asterisk_id: asteriskId, application };
}

export function stasisStart(channel: ChannelJson, args: string[] = [], application = 'callguard'): StasisStartEvent {
  return onTheWire({ type: 'StasisStart', timestamp: asteriskTimestamp(), args, channel }, application);
}

export function stasisEnd(channel: ChannelJson, application = 'callguard'): StasisEndEvent {
  return onTheWire({ type: 'StasisEnd', timestamp: asteriskTimestamp(), channel }, application);
}

export function dtmfReceived(channel: ChannelJson, digit: string, application = 'callguard'): ChannelDtmfReceivedEvent {
  return onTheWire({ type: 'ChannelDtmfReceived', timestamp: asteriskTimestamp(), digit, duration_ms: 100, channel }, application);
}

export function hangupRequest(channel: ChannelJson, byCaller: boolean, application = 'callguard'): ChannelHangupRequestEvent {
  const body: Omit<ChannelHangupRequestEvent, 'application' | 'asterisk_id'> = byCaller
    ? { type: 'ChannelHangupRequest', timestamp: asteriskTimestamp(), cause: 16, channel }
    : { type: 'ChannelHangupRequest', timestamp: asteriskTimestamp(), cause: 32, soft: true, channel };
  return onTheWire(body, application);
}

export function playbackEvent(
  type: 'PlaybackStarted' | 'PlaybackContinuing' | 'PlaybackFinished',
  playback: PlaybackJson,
  application = 'callguard',
): PlaybackStartedEvent | PlaybackContinuingEvent | PlaybackFinishedEvent {
  return onTheWire({ type, timestamp: asteriskTimestamp(), playback }, application);
}
