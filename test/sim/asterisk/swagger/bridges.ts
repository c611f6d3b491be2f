// Bridge operations the agent uses to connect the caller with a forwarded leg, and to see who is in one.
import { bodyParam, declaration, list, model, pathParam, prop, queryParam, type SwaggerApi } from './types';

const bridgeId = pathParam('bridgeId', 'Bridge id');
const bridgeNotFound = { code: 404, reason: 'Bridge not found' };

const apis: SwaggerApi[] = [
  {
    path: '/bridges',
    description: 'Bridges',
    operations: [
      {
        httpMethod: 'POST',
        summary: 'Create a bridge.',
        nickname: 'create',
        responseClass: 'Bridge',
        parameters: [
          queryParam('type', 'string', 'Comma separated bridge features (mixing, holding, ...).'),
          queryParam('bridgeId', 'string', 'Id for the bridge.'),
          queryParam('name', 'string', 'Name for the bridge.'),
          bodyParam('variables', 'containers', 'Object of bridge variables, under a "variables" key.'),
        ],
        errorResponses: [{ code: 409, reason: 'Bridge id already in use' }],
      },
    ],
  },
  {
    path: '/bridges/{bridgeId}',
    description: 'One bridge',
    operations: [
      {
        httpMethod: 'GET',
        summary: 'Get bridge details.',
        nickname: 'get',
        responseClass: 'Bridge',
        parameters: [bridgeId],
        errorResponses: [bridgeNotFound],
      },
      {
        httpMethod: 'DELETE',
        summary: 'Destroy a bridge; its channels leave it.',
        nickname: 'destroy',
        responseClass: 'void',
        parameters: [bridgeId],
        errorResponses: [bridgeNotFound],
      },
    ],
  },
  {
    path: '/bridges/{bridgeId}/addChannel',
    description: 'Add channels',
    operations: [
      {
        httpMethod: 'POST',
        summary: 'Add channels to the bridge.',
        nickname: 'addChannel',
        responseClass: 'void',
        parameters: [
          bridgeId,
          queryParam('channel', 'string', 'Channel ids to add.', { required: true, allowMultiple: true }),
          queryParam('role', 'string', 'Role of the channels in the bridge.'),
          queryParam('absorbDTMF', 'boolean', 'Keep DTMF from the other participants.'),
          queryParam('mute', 'boolean', 'Mute the channels in the bridge.'),
          queryParam('inhibitConnectedLineUpdates', 'boolean', 'Do not pass connected line updates.'),
        ],
        errorResponses: [
          { code: 400, reason: 'Channel not found' },
          bridgeNotFound,
          { code: 409, reason: 'Bridge not in Stasis application; Channel currently recording' },
          { code: 422, reason: 'Channel not in Stasis application' },
        ],
      },
    ],
  },
  {
    path: '/bridges/{bridgeId}/removeChannel',
    description: 'Remove channels',
    operations: [
      {
        httpMethod: 'POST',
        summary: 'Remove channels from the bridge.',
        nickname: 'removeChannel',
        responseClass: 'void',
        parameters: [bridgeId, queryParam('channel', 'string', 'Channel ids to remove.', { required: true, allowMultiple: true })],
        errorResponses: [
          { code: 400, reason: 'Channel not found' },
          bridgeNotFound,
          { code: 409, reason: 'Bridge not in Stasis application' },
          { code: 422, reason: 'Channel not in this bridge' },
        ],
      },
    ],
  },
];

const models = [
  model('Bridge', 'A bridge', {
    id: prop('string', true, 'Unique id'),
    technology: prop('string', true, 'Bridging technology in use'),
    bridge_type: prop('string', true, 'Bridge type', list('mixing', 'holding')),
    bridge_class: prop('string', true, 'Bridge class'),
    creator: prop('string', true, 'Creator'),
    name: prop('string', true, 'Name'),
    channels: prop('List[string]', true, 'Ids of the channels in the bridge'),
    video_mode: prop('string', false, 'Video mode'),
    video_source_id: prop('string', false, 'Video source channel'),
    creationtime: prop('Date', true, 'Creation time'),
    bridgevars: prop('object', false, 'Bridge variables'),
  }),
];

export const bridgesDeclaration = declaration('bridges', apis, models);
