// Application state: after a reconnect the agent finds its channels here (no StasisStart is replayed).
import { declaration, model, pathParam, prop, queryParam, type SwaggerApi } from './types';

const applicationName = pathParam('applicationName', 'Application name');

const apis: SwaggerApi[] = [
  {
    path: '/applications/{applicationName}',
    description: 'One application',
    operations: [
      {
        httpMethod: 'GET',
        summary: 'Application state.',
        nickname: 'get',
        responseClass: 'Application',
        parameters: [applicationName],
        errorResponses: [{ code: 404, reason: 'Application not found.' }],
      },
    ],
  },
  {
    path: '/applications/{applicationName}/subscription',
    description: 'Event subscriptions',
    operations: [
      {
        httpMethod: 'POST',
        summary: 'Subscribe the application to event sources.',
        nickname: 'subscribe',
        responseClass: 'Application',
        parameters: [
          applicationName,
          queryParam('eventSource', 'string', 'channel:ID, bridge:ID, endpoint:TECH/RES or deviceState:NAME', { required: true, allowMultiple: true }),
        ],
        errorResponses: [
          { code: 400, reason: 'Missing or bad event source.' },
          { code: 404, reason: 'Application not found.' },
          { code: 422, reason: 'Event source not found.' },
        ],
      },
    ],
  },
];

const models = [
  model('Application', 'A Stasis application', {
    name: prop('string', true, 'Name'),
    channel_ids: prop('List[string]', true, 'Subscribed channel ids'),
    bridge_ids: prop('List[string]', true, 'Subscribed bridge ids'),
    endpoint_ids: prop('List[string]', true, 'Subscribed endpoints'),
    device_names: prop('List[string]', true, 'Subscribed device names'),
    events_allowed: prop('List[object]', true, 'Event filter: allowed'),
    events_disallowed: prop('List[object]', true, 'Event filter: disallowed'),
  }),
];

export const applicationsDeclaration = declaration('applications', apis, models);
