// HTTP + WebSocket front end: authentication, body parsing, routing, request logging,
// the /ari/events upgrade, and the failure knobs (drop sockets, refuse connections).
import http from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { EventHub } from './hub';
import type { RequestLogEntry, SimCall } from './call';
import type { Engine, SimChannel } from './model';
import { decodeUriComponentLenient, pairsToRecord, parseArgs, parseQueryPairs } from './params';
import { error, handlerFor, matchRoute, type RestResult } from './rest';
import { swaggerDocument } from './swagger';

export interface ServerOptions {
  username: string;
  password: string;
  maxBodyBytes: number;
}

const REALM = 'Asterisk REST Interface';
const TRUE_VALUES = new Set(['yes', 'true', 'y', 't', '1', 'on']);

export class SimServer {
  readonly requests: RequestLogEntry[] = [];
  /** Each WebSocket that registered applications, and how many REST requests had arrived by then. */
  readonly registrations: { readonly apps: readonly string[]; readonly afterRequests: number }[] = [];
  /** Called as each WebSocket registers its applications, before any request or event that follows. */
  readonly registrationListeners: ((apps: readonly string[]) => void)[] = [];
  /** Exceptions a handler threw (answered 500); a test can assert there are none. */
  readonly internalErrors: unknown[] = [];
  authFailures = 0;
  port = 0;
  private readonly server: http.Server;
  private readonly wss: WebSocketServer;
  private readonly sockets = new Set<Socket>();
  private refusing = false;

  constructor(
    private readonly engine: Engine,
    private readonly hub: EventHub,
    private readonly opts: ServerOptions,
  ) {
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        this.internalErrors.push(err);
        if (!res.headersSent) send(res, { status: 500, body: { message: 'Internal Server Error' } });
      });
    });
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    // Malformed HTTP: answer 400 and close, never throw.
    this.server.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      else socket.destroy();
    });
    this.wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      handleProtocols: (protocols) => (protocols.has('ari') ? 'ari' : false),
    });
    this.server.on('upgrade', (req, socket, head) => this.upgrade(req, socket, head));
  }

  listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (e: Error) => reject(e);
      this.server.once('error', onError);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', onError);
        const addr = this.server.address();
        if (addr && typeof addr === 'object') this.port = addr.port;
        resolve();
      });
    });
  }

  /** Stop listening (clients get ECONNREFUSED); by default also cut every open connection. */
  async refuse(dropExisting: boolean): Promise<void> {
    if (this.refusing) return;
    this.refusing = true;
    this.server.close();
    if (dropExisting) {
      this.hub.dropAll();
      for (const s of this.sockets) s.destroy();
    }
  }

  async accept(): Promise<void> {
    if (!this.refusing) return;
    this.refusing = false;
    await this.listen(this.port);
  }

  async close(): Promise<void> {
    this.hub.dropAll();
    this.wss.close();
    for (const s of this.sockets) s.destroy();
    if (!this.refusing) {
      await new Promise<void>((resolve) => this.server.close(() => resolve()));
    }
  }

  // ---- HTTP ----------------------------------------------------------------------

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const rawPath = q < 0 ? rawUrl : rawUrl.slice(0, q);
    const queryPairs = parseQueryPairs(q < 0 ? '' : rawUrl.slice(q + 1));

    if (!rawPath.startsWith('/ari/')) {
      // Not an ARI URL: Asterisk's HTTP server answers with its own 404 page.
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('Not Found');
      return;
    }
    const uri = rawPath.slice('/ari/'.length);
    const isDocs = uri.startsWith('api-docs/');

    const raw = await readBody(req, this.opts.maxBodyBytes);
    const ctype = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    let formPairs: [string, string][] = [];
    let body: unknown;
    let logBody: unknown;
    let failure: RestResult | undefined;
    if (raw === 'too_large') {
      failure = error(413, 'Request body too large');
    } else if (raw.length > 0) {
      const text = raw.toString('utf8');
      logBody = text;
      if (ctype === 'application/x-www-form-urlencoded') {
        formPairs = parseQueryPairs(text);
        logBody = pairsToRecord(formPairs);
      } else if (ctype === 'application/json') {
        try {
          body = JSON.parse(text);
          logBody = body;
        } catch {
          failure = error(400, 'Error parsing request body');
        }
      }
    }

    const entry: RequestLogEntry = { method, path: rawPath, query: pairsToRecord(queryPairs), body: logBody, at: Date.now() };
    if (!isDocs) this.requests.push(entry);
    const related = new Set<SimCall>();
    const relate = (ch: SimChannel | undefined) => {
      if (!ch || related.has(ch.call)) return;
      related.add(ch.call);
      ch.call.requests.push(entry);
    };

    let result: RestResult;
    if (failure) {
      result = failure;
    } else if (!this.authorized(req.headers.authorization, [...formPairs, ...queryPairs])) {
      this.authFailures += 1;
      result = { ...error(401, 'Authentication required'), headers: { 'WWW-Authenticate': `Basic realm="${REALM}"` } };
    } else if (uri.endsWith('/')) {
      result = error(404, `ARI URLs do not end with a slash. Try /ari/${uri.slice(0, -1)}`);
    } else if (isDocs) {
      const doc = method === 'GET' ? swaggerDocument(uri.slice('api-docs/'.length), req.headers.host) : undefined;
      result = method !== 'GET' ? error(405, 'Unsupported method') : doc ? { status: 200, body: doc } : error(404, 'Resource not found');
    } else {
      result = await this.dispatch(method, uri, queryPairs, formPairs, body, entry, relate);
    }

    entry.status = result.status;
    send(res, result);
    if (result.after) {
      try {
        result.after();
      } catch (err) {
        this.internalErrors.push(err);
      }
    }
  }

  private async dispatch(
    method: string,
    uri: string,
    queryPairs: [string, string][],
    formPairs: [string, string][],
    body: unknown,
    entry: RequestLogEntry,
    relate: (ch: SimChannel | undefined) => void,
  ): Promise<RestResult> {
    const rawSegments = uri.split('/');
    if (rawSegments.some((s) => s.length === 0)) return error(404, 'Resource not found');
    const segments = rawSegments.map(decodeUriComponentLenient);
    const match = matchRoute(segments, method);
    if (match.kind === 'not_found') return error(404, 'Resource not found');
    if (match.kind === 'bad_method') {
      const allow = match.allow.join(',');
      if (method === 'OPTIONS') return { status: 204, headers: { Allow: allow } };
      return { ...error(405, 'Invalid method'), headers: { Allow: allow } };
    }
    entry.route = match.route.path;
    entry.nickname = match.route.operation.nickname;
    entry.pathParams = match.pathParams;
    const channelId = match.pathParams.channelId;
    if (channelId !== undefined) relate(this.engine.findByNameOrId(channelId));
    if (match.route.operation.upgrade === 'websocket') {
      return { status: 426, body: { message: 'Upgrade Required' } };
    }
    const parsed = parseArgs(match.route.operation, match.pathParams, queryPairs, formPairs, body);
    if (!parsed.ok) return error(parsed.status, parsed.message);
    const handler = handlerFor(match.route);
    if (!handler) return error(501, 'Method not implemented');
    try {
      return await handler({ engine: this.engine, args: parsed.args, relate });
    } catch (err) {
      this.internalErrors.push(err);
      return error(500, 'Internal Server Error');
    }
  }

  /** Basic auth header first, then `api_key=user:pass`, as res_ari does. */
  private authorized(header: string | undefined, pairs: [string, string][]): boolean {
    const split = (s: string): [string, string] | undefined => {
      const colon = s.indexOf(':');
      return colon >= 0 ? [s.slice(0, colon), s.slice(colon + 1)] : undefined;
    };
    const basic = header ? /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header) : null;
    let creds = basic ? split(Buffer.from(basic[1]!, 'base64').toString('utf8')) : undefined;
    if (!creds) {
      // An api_key without a password does not count, as in Asterisk.
      const key = pairs.find(([k]) => k === 'api_key')?.[1];
      const parsed = key ? split(key) : undefined;
      if (parsed && parsed[1].length > 0) creds = parsed;
    }
    return creds !== undefined && creds[0] === this.opts.username && creds[1] === this.opts.password;
  }

  // ---- WebSocket -----------------------------------------------------------------

  private upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    if (this.refusing) {
      socket.destroy();
      return;
    }
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const rawPath = q < 0 ? rawUrl : rawUrl.slice(0, q);
    const pairs = parseQueryPairs(q < 0 ? '' : rawUrl.slice(q + 1));
    if (rawPath !== '/ari/events') return rawReply(socket, 404, { message: 'Resource not found' });
    if (!this.authorized(req.headers.authorization, pairs)) {
      this.authFailures += 1;
      return rawReply(socket, 401, { message: 'Authentication required' }, { 'WWW-Authenticate': `Basic realm="${REALM}"` });
    }
    const appParam = pairs.find(([k]) => k === 'app')?.[1] ?? '';
    const apps = [...new Set(appParam.split(',').map((a) => a.trim()).filter((a) => a.length > 0))];
    if (apps.length === 0) return rawReply(socket, 400, { message: 'HTTP request is missing param: [app]' });
    const subscribeAll = TRUE_VALUES.has((pairs.find(([k]) => k === 'subscribeAll')?.[1] ?? '').toLowerCase());
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const session = this.hub.register(ws, apps, subscribeAll);
      this.registrations.push({ apps, afterRequests: this.requests.length });
      for (const listener of this.registrationListeners) listener(apps);
      ws.on('close', () => this.hub.unregister(session));
      ws.on('error', () => ws.terminate());
      // REST over the WebSocket (Asterisk 22) is not simulated; incoming frames are ignored.
      ws.on('message', () => undefined);
    });
  }
}

function send(res: http.ServerResponse, result: RestResult): void {
  const headers: Record<string, string> = { Server: 'Asterisk/22.10.1', ...(result.headers ?? {}) };
  let payload = '';
  if (result.body !== undefined) {
    payload = JSON.stringify(result.body);
    headers['Content-Type'] = 'application/json';
  }
  headers['Content-Length'] = String(Buffer.byteLength(payload));
  res.writeHead(result.status, headers);
  res.end(payload);
}

function rawReply(socket: Duplex, status: number, body: object, extra: Record<string, string> = {}): void {
  const payload = JSON.stringify(body);
  const lines = [
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}`,
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(payload)}`,
    'Connection: close',
    ...Object.entries(extra).map(([k, v]) => `${k}: ${v}`),
  ];
  socket.end(`${lines.join('\r\n')}\r\n\r\n${payload}`);
}

function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer | 'too_large'> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) tooLarge = true;
      else chunks.push(c);
    });
    req.on('end', () => resolve(tooLarge ? 'too_large' : Buffer.concat(chunks)));
    req.on('error', () => resolve(Buffer.concat(chunks)));
  });
}
