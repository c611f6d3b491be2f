// Swagger 1.1 shapes as Asterisk serves them (resources.json + api-docs/*.json),
// plus small builders so each declaration file stays readable.

export type ParamType = 'path' | 'query' | 'body';
export type HttpMethod = 'GET' | 'POST' | 'DELETE' | 'PUT';

export type AllowableValues =
  | { valueType: 'LIST'; values: string[] }
  | { valueType: 'RANGE'; min?: number; max?: number };

export interface SwaggerParam {
  name: string;
  description: string;
  paramType: ParamType;
  required: boolean;
  allowMultiple: boolean;
  dataType: string;
  allowableValues?: AllowableValues;
}

export interface SwaggerErrorResponse {
  code: number;
  reason: string;
}

export interface SwaggerOperation {
  httpMethod: HttpMethod;
  summary: string;
  nickname: string;
  responseClass: string;
  parameters: SwaggerParam[];
  errorResponses?: SwaggerErrorResponse[];
  upgrade?: 'websocket';
  websocketProtocol?: string;
}

export interface SwaggerApi {
  path: string;
  description: string;
  operations: SwaggerOperation[];
}

export interface SwaggerModelProperty {
  type: string;
  required?: boolean;
  description?: string;
  allowableValues?: AllowableValues;
}

export interface SwaggerModel {
  id: string;
  description: string;
  properties: Record<string, SwaggerModelProperty>;
  discriminator?: string;
  subTypes?: string[];
}

export interface ApiDeclaration {
  apiVersion: string;
  swaggerVersion: string;
  basePath: string;
  resourcePath: string;
  apis: SwaggerApi[];
  models: Record<string, SwaggerModel>;
}

export interface ResourceListing {
  apiVersion: string;
  swaggerVersion: string;
  basePath: string;
  apis: { path: string; description: string }[];
}

// Asterisk ships this placeholder; it is rewritten per request from the Host header.
export const PLACEHOLDER_BASE_PATH = 'http://localhost:8088/ari';

export function pathParam(name: string, description: string): SwaggerParam {
  return { name, description, paramType: 'path', required: true, allowMultiple: false, dataType: 'string' };
}

export function queryParam(
  name: string,
  dataType: string,
  description: string,
  opts: { required?: boolean; allowMultiple?: boolean; allowableValues?: AllowableValues } = {},
): SwaggerParam {
  const p: SwaggerParam = {
    name,
    description,
    paramType: 'query',
    required: opts.required ?? false,
    allowMultiple: opts.allowMultiple ?? false,
    dataType,
  };
  if (opts.allowableValues) p.allowableValues = opts.allowableValues;
  return p;
}

export function bodyParam(name: string, dataType: string, description: string, required = false): SwaggerParam {
  return { name, description, paramType: 'body', required, allowMultiple: false, dataType };
}

export function list(...values: string[]): AllowableValues {
  return { valueType: 'LIST', values };
}

export function prop(type: string, required: boolean, description: string, allowableValues?: AllowableValues): SwaggerModelProperty {
  const p: SwaggerModelProperty = { type, required, description };
  if (allowableValues) p.allowableValues = allowableValues;
  return p;
}

export function model(id: string, description: string, properties: Record<string, SwaggerModelProperty>): SwaggerModel {
  return { id, description, properties };
}

export function declaration(resource: string, apis: SwaggerApi[], models: SwaggerModel[], swaggerVersion = '1.1'): ApiDeclaration {
  return {
    apiVersion: '2.0.0',
    swaggerVersion,
    basePath: PLACEHOLDER_BASE_PATH,
    resourcePath: `/api-docs/${resource}.{format}`,
    apis,
    models: Object.fromEntries(models.map((m) => [m.id, m])),
  };
}
