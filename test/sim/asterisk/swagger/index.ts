// The Swagger served at /ari/api-docs: a resource listing plus one API declaration per
// resource. basePath is rewritten per request from the Host header, as Asterisk does,
// because swagger-client builds every REST URL from it.
import { applicationsDeclaration } from './applications';
import { asteriskDeclaration } from './asterisk';
import { bridgesDeclaration } from './bridges';
import { channelsDeclaration } from './channels';
import { eventsDeclaration } from './events';
import { playbacksDeclaration } from './playbacks';
import type { ApiDeclaration, HttpMethod, ResourceListing, SwaggerOperation } from './types';

export * from './types';
export { HANGUP_REASON_VALUES } from './channels';
export { SIM_EVENT_TYPES } from './events';

export const API_DECLARATIONS: Record<string, ApiDeclaration> = {
  channels: channelsDeclaration,
  bridges: bridgesDeclaration,
  playbacks: playbacksDeclaration,
  events: eventsDeclaration,
  applications: applicationsDeclaration,
  asterisk: asteriskDeclaration,
};

const RESOURCE_DESCRIPTIONS: Record<string, string> = {
  channels: 'Channel resources',
  bridges: 'Bridge resources',
  playbacks: 'Playback control resources',
  events: 'WebSocket resource',
  applications: 'Stasis application resources',
  asterisk: 'Asterisk resources',
};

export const RESOURCE_LISTING: ResourceListing = {
  apiVersion: '10.0.0',
  swaggerVersion: '1.1',
  basePath: 'http://localhost:8088/ari',
  apis: Object.keys(API_DECLARATIONS).map((name) => ({
    path: `/api-docs/${name}.{format}`,
    description: RESOURCE_DESCRIPTIONS[name] ?? name,
  })),
};

/** The document for `/ari/api-docs/<file>` (e.g. `resources.json`), or undefined. */
export function swaggerDocument(file: string, host: string | undefined): object | undefined {
  let doc: ResourceListing | ApiDeclaration | undefined;
  if (file === 'resources.json') doc = RESOURCE_LISTING;
  else if (file.endsWith('.json') && Object.prototype.hasOwnProperty.call(API_DECLARATIONS, file.slice(0, -5))) {
    doc = API_DECLARATIONS[file.slice(0, -5)];
  }
  if (!doc) return undefined;
  const copy: Record<string, unknown> = JSON.parse(JSON.stringify(doc));
  if (host) copy.basePath = `http://${host}/ari`;
  else delete copy.basePath;
  return copy;
}

export interface RouteOperation {
  resource: string;
  /** Swagger path, e.g. `/channels/{channelId}/play`. */
  path: string;
  segments: string[];
  method: HttpMethod;
  operation: SwaggerOperation;
}

/** Every REST operation offered, flattened (the events WebSocket included). */
export const ROUTE_OPERATIONS: RouteOperation[] = Object.entries(API_DECLARATIONS).flatMap(([resource, decl]) =>
  decl.apis.flatMap((api) =>
    api.operations.map((operation) => ({
      resource,
      path: api.path,
      segments: api.path.split('/').filter((s) => s.length > 0),
      method: operation.httpMethod,
      operation,
    })),
  ),
);
