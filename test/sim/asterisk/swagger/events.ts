// The event WebSocket and the event models the simulator sends. ari-client looks every
// received message up in these models (an unknown `type` makes it throw), so every
// event type the simulator emits must be declared here.
import { declaration, model, prop, queryParam, type SwaggerApi, type SwaggerModel } from './types';

const apis: SwaggerApi[] = [
  {
    path: '/events',
    description: 'Event WebSocket',
    operations: [
      {
        httpMethod: 'GET',
        upgrade: 'websocket',
        websocketProtocol: 'ari',
        summary: 'WebSocket carrying events for the given applications.',
        nickname: 'eventWebsocket',
        responseClass: 'Message',
        parameters: [
          queryParam('app', 'string', 'Comma separated application names.', { required: true, allowMultiple: true }),
          queryParam('subscribeAll', 'boolean', 'Receive events for every channel, bridge and endpoint.'),
        ],
      },
    ],
  },
];

const channel = (required: boolean, what: string) => prop('Channel', required, what);

const eventModels: SwaggerModel[] = [
  model('StasisStart', 'A channel entered the application', {
    args: prop('List[string]', true, 'Application arguments'),
    channel: channel(true, 'The channel'),
    replace_channel: channel(false, 'Channel this one replaces'),
  }),
  model('StasisEnd', 'A channel left the application', { channel: channel(true, 'The channel') }),
  model('ChannelStateChange', 'Channel state changed', { channel: channel(true, 'The channel') }),
  model('ChannelDtmfReceived', 'A DTMF digit ended', {
    digit: prop('string', true, 'Digit'),
    duration_ms: prop('int', true, 'Duration in ms'),
    channel: channel(true, 'The channel'),
  }),
  model('ChannelHangupRequest', 'Hangup requested', {
    cause: prop('int', false, 'Cause (32 for an ARI soft hangup)'),
    tech_cause: prop('int', false, 'Technology cause'),
    soft: prop('boolean', false, 'Soft hangup'),
    channel: channel(true, 'The channel'),
  }),
  model('ChannelDestroyed', 'Channel gone', {
    cause: prop('int', true, 'Q.850 cause'),
    cause_txt: prop('string', true, 'Cause text'),
    tech_cause: prop('int', false, 'Technology cause'),
    channel: channel(true, 'The channel'),
  }),
  model('ChannelVarset', 'A channel variable was set', {
    variable: prop('string', true, 'Variable'),
    value: prop('string', true, 'New value'),
    channel: channel(false, 'The channel; absent for globals'),
  }),
  model('PlaybackStarted', 'Playback started', { playback: prop('Playback', true, 'Playback') }),
  model('PlaybackContinuing', 'Playback moved to its next media', { playback: prop('Playback', true, 'Playback') }),
  model('PlaybackFinished', 'Playback ended', { playback: prop('Playback', true, 'Playback') }),
  model('ChannelEnteredBridge', 'A channel joined a bridge', {
    bridge: prop('Bridge', true, 'The bridge'),
    channel: channel(false, 'The channel'),
  }),
  model('ChannelLeftBridge', 'A channel left a bridge', {
    bridge: prop('Bridge', true, 'The bridge'),
    channel: channel(true, 'The channel'),
  }),
  model('BridgeDestroyed', 'A bridge was destroyed', { bridge: prop('Bridge', true, 'The bridge') }),
  model('Dial', 'Dialing state of a channel', {
    caller: channel(false, 'Calling channel'),
    peer: channel(true, 'Dialed channel'),
    forward: prop('string', false, 'Forward target'),
    forwarded: channel(false, 'Forwarded channel'),
    dialstring: prop('string', false, 'Dial string'),
    dialstatus: prop('string', true, 'Dial status (empty, RINGING, ANSWER, BUSY, ...)'),
  }),
  model('ApplicationReplaced', 'Another WebSocket took over this application', {}),
];

export const SIM_EVENT_TYPES = eventModels.map((m) => m.id);

const message: SwaggerModel = {
  ...model('Message', 'Base of events', {
    type: prop('string', true, 'Message type'),
    asterisk_id: prop('string', false, 'Id of the Asterisk instance'),
  }),
  discriminator: 'type',
  subTypes: ['Event'],
};

const event: SwaggerModel = {
  ...model('Event', 'Base of application events', {
    application: prop('string', true, 'Receiving application'),
    timestamp: prop('Date', true, 'Event time'),
  }),
  subTypes: SIM_EVENT_TYPES,
};

export const eventsDeclaration = declaration('events', apis, [message, event, ...eventModels], '1.2');
