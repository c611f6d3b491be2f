// Channel operations the agent uses, with Asterisk 22's paths, nicknames and parameter names.
import { bodyParam, declaration, list, model, pathParam, prop, queryParam, type SwaggerApi } from './types';

const channelId = pathParam('channelId', 'Channel id');
const notFound = { code: 404, reason: 'Channel not found' };
const notInStasis = { code: 409, reason: 'Channel not in a Stasis application' };
const badState = { code: 412, reason: 'Channel in invalid state' };

// The hangup reasons ARI accepts; each maps to a Q.850 cause (see causes.ts).
export const HANGUP_REASON_VALUES = [
  'normal', 'busy', 'congestion', 'no_answer', 'timeout', 'rejected', 'unallocated',
  'normal_unspecified', 'number_incomplete', 'codec_mismatch', 'interworking', 'failure', 'answered_elsewhere',
];

const apis: SwaggerApi[] = [
  {
    path: '/channels',
    description: 'Channels',
    operations: [
      {
        httpMethod: 'POST',
        summary: 'Originate a call to an endpoint.',
        nickname: 'originate',
        responseClass: 'Channel',
        parameters: [
          queryParam('endpoint', 'string', 'Endpoint to dial (tech/resource).', { required: true }),
          queryParam('extension', 'string', 'Extension to run once answered (instead of app).'),
          queryParam('context', 'string', 'Context for extension.'),
          queryParam('priority', 'long', 'Priority for extension.'),
          queryParam('label', 'string', 'Label for extension; wins over priority.'),
          queryParam('app', 'string', 'Stasis application that receives the answered channel.'),
          queryParam('appArgs', 'string', 'Comma separated arguments for app.'),
          queryParam('callerId', 'string', 'Caller id for the new channel.'),
          queryParam('timeout', 'int', 'Seconds to wait for an answer.'),
          bodyParam('variables', 'containers', 'Object of channel variables, under a "variables" key.'),
          queryParam('channelId', 'string', 'Id for the new channel.'),
          queryParam('otherChannelId', 'string', 'Id for the second half of a Local channel.'),
          queryParam('originator', 'string', 'Id of the channel that causes this originate.'),
          queryParam('formats', 'string', 'Comma separated format names for the new channel.'),
        ],
        errorResponses: [
          { code: 400, reason: 'Invalid originate parameters.' },
          { code: 409, reason: 'A channel with this id already exists.' },
        ],
      },
    ],
  },
  {
    path: '/channels/{channelId}',
    description: 'One channel',
    operations: [
      {
        httpMethod: 'GET',
        summary: 'Channel snapshot.',
        nickname: 'get',
        responseClass: 'Channel',
        parameters: [channelId],
        errorResponses: [notFound],
      },
      {
        httpMethod: 'DELETE',
        summary: 'Hang up a channel.',
        nickname: 'hangup',
        responseClass: 'void',
        parameters: [
          channelId,
          queryParam('reason_code', 'string', 'Numeric hangup cause.'),
          queryParam('reason', 'string', 'Named hangup reason.', { allowableValues: list(...HANGUP_REASON_VALUES) }),
        ],
        errorResponses: [{ code: 400, reason: 'Unknown hangup reason' }, notFound],
      },
    ],
  },
  {
    path: '/channels/{channelId}/continue',
    description: 'Leave Stasis',
    operations: [
      {
        httpMethod: 'POST',
        summary: 'Leave the application and go on in the dialplan.',
        nickname: 'continueInDialplan',
        responseClass: 'void',
        parameters: [
          channelId,
          queryParam('context', 'string', 'Context to go on in.'),
          queryParam('extension', 'string', 'Extension to go on in.'),
          queryParam('priority', 'int', 'Priority to go on at.'),
          queryParam('label', 'string', 'Label to go on at; wins over priority.'),
        ],
        errorResponses: [notFound, notInStasis, badState],
      },
    ],
  },
  {
    path: '/channels/{channelId}/answer',
    description: 'Answer',
    operations: [
      {
        httpMethod: 'POST',
        summary: 'Answer the channel.',
        nickname: 'answer',
        responseClass: 'void',
        parameters: [channelId],
        errorResponses: [notFound, notInStasis, badState],
      },
    ],
  },
  {
    path: '/channels/{channelId}/ring',
    description: 'Ringing indication',
    operations: [
      {
        httpMethod: 'POST',
        summary: 'Send ringing to the caller.',
        nickname: 'ring',
        responseClass: 'void',
        parameters: [channelId],
        errorResponses: [notFound, notInStasis, badState],
      },
    ],
  },
  {
    path: '/channels/{channelId}/progress',
    description: 'Progress indication',
    operations: [
      {
        httpMethod: 'POST',
        summary: 'Send progress (early media) to the caller.',
        nickname: 'progress',
        responseClass: 'void',
        parameters: [channelId],
        errorResponses: [notFound, notInStasis, badState],
      },
    ],
  },
  {
    path: '/channels/{channelId}/play',
    description: 'Media playback',
    operations: [
      {
        httpMethod: 'POST',
        summary: 'Play media to the channel.',
        nickname: 'play',
        responseClass: 'Playback',
        parameters: [
          channelId,
          queryParam('media', 'string', 'Media URIs (sound:, tone:, digits: ...).', { required: true, allowMultiple: true }),
          queryParam('lang', 'string', 'Language of the sounds.'),
          queryParam('offsetms', 'int', 'Milliseconds to skip at the start.'),
          queryParam('skipms', 'int', 'Milliseconds to skip on forward/reverse.'),
          queryParam('playbackId', 'string', 'Id for the playback.'),
        ],
        errorResponses: [notFound, notInStasis, badState],
      },
    ],
  },
  {
    path: '/channels/{channelId}/variable',
    description: 'Channel variables',
    operations: [
      {
        httpMethod: 'GET',
        summary: 'Read a channel variable or function.',
        nickname: 'getChannelVar',
        responseClass: 'Variable',
        parameters: [channelId, queryParam('variable', 'string', 'Variable or function name.', { required: true })],
        errorResponses: [{ code: 400, reason: 'Variable name missing.' }, { code: 404, reason: 'Channel or variable not found' }, notInStasis],
      },
      {
        httpMethod: 'POST',
        summary: 'Set a channel variable or function.',
        nickname: 'setChannelVar',
        responseClass: 'void',
        parameters: [
          channelId,
          queryParam('variable', 'string', 'Variable or function name.', { required: true }),
          queryParam('value', 'string', 'Value; absent unsets the variable.'),
          queryParam('report_events', 'boolean', 'Report later changes as events.'),
        ],
        errorResponses: [{ code: 400, reason: 'Variable name missing.' }, notFound, notInStasis],
      },
    ],
  },
  {
    path: '/channels/{channelId}/dial',
    description: 'Dial a created channel',
    operations: [
      {
        httpMethod: 'POST',
        summary: 'Dial a channel that is still Down.',
        nickname: 'dial',
        responseClass: 'void',
        parameters: [
          channelId,
          queryParam('caller', 'string', 'Channel id of the caller.'),
          queryParam('timeout', 'int', 'Seconds to wait for an answer.', { allowableValues: { valueType: 'RANGE', min: 0 } }),
        ],
        errorResponses: [{ code: 404, reason: 'Channel not found.' }, { code: 409, reason: 'Channel cannot be dialed.' }],
      },
    ],
  },
];

const models = [
  model('CallerID', 'Caller id', {
    name: prop('string', true, 'Name'),
    number: prop('string', true, 'Number'),
  }),
  model('DialplanCEP', 'Dialplan position', {
    context: prop('string', true, 'Context'),
    exten: prop('string', true, 'Extension'),
    priority: prop('long', true, 'Priority'),
    app_name: prop('string', true, 'Current dialplan application'),
    app_data: prop('string', true, 'Its arguments'),
  }),
  model('Channel', 'A channel', {
    id: prop('string', true, 'Unique id'),
    protocol_id: prop('string', true, 'Protocol id (SIP Call-ID), may be empty'),
    name: prop('string', true, 'Channel name'),
    state: prop('string', true, 'Channel state', list('Down', 'Rsrved', 'OffHook', 'Dialing', 'Ring', 'Ringing', 'Up', 'Busy', 'Dialing Offhook', 'Pre-ring', 'Unknown')),
    caller: prop('CallerID', true, 'Caller'),
    connected: prop('CallerID', true, 'Connected line'),
    accountcode: prop('string', true, 'Account code'),
    dialplan: prop('DialplanCEP', true, 'Dialplan position'),
    creationtime: prop('Date', true, 'Creation time'),
    language: prop('string', true, 'Language'),
    channelvars: prop('object', false, 'Variables configured in ari.conf'),
    caller_rdnis: prop('string', false, 'Redirecting number'),
    tenantid: prop('string', false, 'Tenant id'),
  }),
  model('Variable', 'A variable value', {
    value: prop('string', true, 'Value'),
  }),
];

export const channelsDeclaration = declaration('channels', apis, models);
