// Global variables: what a failover pair of agents keeps its heartbeats in.
import { declaration, model, prop, queryParam, type SwaggerApi } from './types';

const missingVariable = { code: 400, reason: 'Missing variable parameter.' };

const apis: SwaggerApi[] = [
  {
    path: '/asterisk/variable',
    description: 'Global variables',
    operations: [
      {
        httpMethod: 'GET',
        summary: 'Get the value of a global variable.',
        nickname: 'getGlobalVar',
        responseClass: 'Variable',
        parameters: [queryParam('variable', 'string', 'The variable to get', { required: true })],
        errorResponses: [missingVariable],
      },
      {
        httpMethod: 'POST',
        summary: 'Set the value of a global variable.',
        nickname: 'setGlobalVar',
        responseClass: 'void',
        parameters: [queryParam('variable', 'string', 'The variable to set', { required: true }), queryParam('value', 'string', 'The value to set the variable to')],
        errorResponses: [missingVariable],
      },
    ],
  },
];

const models = [model('Variable', 'The value of a channel variable', { value: prop('string', true, 'The value of the variable requested') })];

export const asteriskDeclaration = declaration('asterisk', apis, models);
