// Playback control: the agent stops a prompt once the caller has answered the screen.
import { declaration, list, model, pathParam, prop, type SwaggerApi } from './types';

const playbackId = pathParam('playbackId', 'Playback id');
const notFound = { code: 404, reason: 'Playback not found' };

const apis: SwaggerApi[] = [
  {
    path: '/playbacks/{playbackId}',
    description: 'One playback',
    operations: [
      {
        httpMethod: 'GET',
        summary: 'Playback state.',
        nickname: 'get',
        responseClass: 'Playback',
        parameters: [playbackId],
        errorResponses: [notFound],
      },
      {
        httpMethod: 'DELETE',
        summary: 'Stop a playback.',
        nickname: 'stop',
        responseClass: 'void',
        parameters: [playbackId],
        errorResponses: [notFound],
      },
    ],
  },
];

const models = [
  model('Playback', 'Media played to a channel or bridge', {
    id: prop('string', true, 'Playback id'),
    media_uri: prop('string', true, 'Media being played'),
    next_media_uri: prop('string', false, 'Media played next'),
    target_uri: prop('string', true, 'Target, e.g. channel:ID'),
    language: prop('string', false, 'Language'),
    state: prop('string', true, 'State', list('queued', 'playing', 'continuing', 'done', 'failed')),
  }),
];

export const playbacksDeclaration = declaration('playbacks', apis, models);
