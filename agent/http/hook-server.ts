import { createServer } from 'node:http';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PbxState } from '../pbx/pbx-group';
import { decisionJson } from '../screening/decision-json';
import { BadInput } from '../engine/bad-input';
import type { Logger } from '../log/logger';
import type { Metrics } from '../metrics/metrics';
import type { SourceReport } from '../screening/reputation-health';
import type { Screener } from '../screening/screener';
import type { BlockedCaller } from '../operations/block-caller';
import type { RecordedOutboundCall } from '../operations/called-numbers';
import type { CallLogQueries } from '../store/call-log-queries';
import type { StoreStatus } from '../store/agent-store';
import { bearerTokenCheck } from './bearer-token';
import type { AttestationWords } from '../engine/attestation';
import { parseDecideQuery } from './decide-query';
import { decisionText, errorText } from './dialplan-text';
import { isLoopbackHost } from './loopback';
import { hasBody, send, sendJson, sendText } from './responses';
import { shownInMessage } from './shown-in-message';
import { parseStatsQuery } from './stats-query';
import { asksForText, parseStrictQuery } from './strict-query';

export interface HookServerOptions {
  readonly host: string;
  /** 0 picks a free port; `HookServer.port` then tells which. */
  readonly port: number;
  /** When set, every path but /healthz needs `Authorization: Bearer <token>`. Required off loopback. */
  readonly token: string | null;
  /** How the operator sets the token (e.g. `--hook-token`), named when it is missing. */
  readonly tokenName?: string;
}

export interface HookDeps {
  readonly screener: Pick<Screener, 'verdict'>;
  readonly queries: Pick<CallLogQueries, 'counters'>;
  /**
   * `pbxConnected`: every PBX connection up; `pbxes`, when given, each connection's name, kind and state.
   * `store`, when given, is shown as it is (the store's kind, and PostgreSQL's state and queue depth).
   * `reputation`, when given, each reputation source's state: a flagged one is shown, and is no
   * reason for a 503 (its answers are simply not trusted; calls are still decided).
   */
  health(): { pbxConnected: boolean; pbxes?: readonly PbxState[]; databaseWritable: boolean; store?: StoreStatus; reputation?: readonly SourceReport[] };
  readonly metrics: Pick<Metrics, 'text' | 'contentType'>;
  readonly logger: Logger;
  /** Blocks the newest caller to a DID (the *32 feature code); BadInput when there is none. */
  readonly blockLast: (did: string) => Promise<BlockedCaller>;
  /** Records an outbound call (`POST /v1/called`), so a callback from the number dialled is trusted; BadInput names the field at fault. */
  readonly recordCall: (input: { from: string; to: string; tenant?: string | undefined }) => Promise<RecordedOutboundCall>;
  /** What each `attestation=` word means (config attestation.words); the built-in words when absent. */
  readonly attestationWords?: AttestationWords | undefined;
}

export interface HookServer {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The port listened on (the real one once started, also when asked for port 0). */
  readonly port: number;
}

/** Requests are one short line of headers; this leaves room for 1 kB parameters and refuses the rest with 431. */
const MAX_HEADER_BYTES = 16 * 1024;
/** A dialplan waits on every answer: slow clients are cut off well before anyone notices. */
const HEADERS_TIMEOUT_MS = 5_000;
const REQUEST_TIMEOUT_MS = 10_000;
const KEEP_ALIVE_TIMEOUT_MS = 5_000;
const IDLE_SOCKET_MS = 30_000;
/** In-flight answers get this long to finish when the server stops. */
const STOP_GRACE_MS = 3_000;

type Handler = (req: IncomingMessage, res: ServerResponse, query: string) => void | Promise<void>;
interface Route {
  readonly method: 'GET' | 'POST';
  readonly handle: Handler;
}
const get = (handle: Handler): Route => ({ method: 'GET', handle });

const where = (host: string, port: number) => `${host.includes(':') ? `[${host}]` : host}:${port}`;

/**
 * The HTTP hook: a verdict for dialplans and chatplans that only want to know what to do
 * (`/v1/decide`), the call-log counters (`/v1/stats`), liveness (`/healthz`) and
 * Prometheus metrics (`/metrics`); and the two POSTs a switch's dialplan makes (the *32
 * feature code's `/v1/block-last`, each outbound call's `/v1/called`). Every parameter
 * checked, and no failure of one request reaches another: the worst answer is a 500 and a
 * log line.
 */
export function createHookServer(options: HookServerOptions, deps: HookDeps): HookServer {
  const { host, port } = options;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new BadInput(`bad hook port ${port}: expected 0 to 65535`);
  if (options.token === null && !isLoopbackHost(host)) {
    throw new BadInput(
      `refusing to serve the HTTP hook on ${where(host, port)} without a token: anyone who can reach that address could ask for verdicts and read the call counters. ` +
        `Set a token${options.tokenName ? ` (${options.tokenName})` : ''}, or listen on 127.0.0.1.`,
    );
  }
  const checkToken = options.token === null ? null : bearerTokenCheck(options.token);

  const routes = new Map<string, Route>([
    [
      '/v1/decide',
      get(async (req, res, query) => {
        const { facts, format } = parseDecideQuery(query, deps.attestationWords);
        const { uid, decision } = await deps.screener.verdict(facts, 'hook');
        deps.logger.debug({ callId: uid, kind: decision.kind, action: decision.action }, 'hook verdict');
        // Monitor mode: the dialplan is told to let the call through; what would have happened comes beside it.
        const carried = decision.monitored ? { ...decision, action: 'allow' as const, target: null } : decision;
        if (format === 'text') sendText(req, res, 200, decisionText(carried, uid));
        else sendJson(req, res, 200, { ...decisionJson(carried), ...(decision.monitored && { wouldHaveBeen: decision.action }), callId: uid });
      }),
    ],
    ['/v1/stats', get((req, res, query) => sendJson(req, res, 200, deps.queries.counters(parseStatsQuery(query, Date.now()))))],
    [
      '/v1/block-last',
      {
        method: 'POST',
        handle: async (req, res, query) => {
          const did = parseStrictQuery(query, ['did']).get('did');
          if (!did) throw new BadInput('missing did: POST /v1/block-last?did=<the number whose last caller to block>');
          const blocked = await deps.blockLast(did);
          deps.logger.info({ ruleId: blocked.ruleId, scope: blocked.scope }, 'blocked the last caller through the hook');
          sendJson(req, res, 200, blocked);
        },
      },
    ],
    [
      '/v1/called',
      {
        method: 'POST',
        handle: async (req, res, query) => {
          const params = parseStrictQuery(query, ['from', 'to', 'tenant']);
          const required = (name: 'from' | 'to') => {
            const value = params.get(name);
            if (!value) throw new BadInput(`missing ${name}: POST /v1/called?from=<the caller's number or extension>&to=<the number dialled>`, name);
            return value;
          };
          // An empty tenant is none: a dialplan sends its variable whether the phone's entry sets it or not.
          const recorded = await deps.recordCall({ from: required('from'), to: required('to'), tenant: params.get('tenant') || undefined });
          deps.logger.debug({ tenant: recorded.tenant }, 'outbound call recorded through the hook');
          sendJson(req, res, 200, recorded);
        },
      },
    ],
    [
      '/healthz',
      get((req, res, query) => {
        parseStrictQuery(query, []);
        const { pbxConnected, pbxes, databaseWritable, store, reputation } = deps.health();
        const connections = pbxes?.map(({ name, kind, connected }) => ({ name, kind, connected }));
        const sources = reputation?.map(({ name, state, detail }) => ({ name, state, detail }));
        sendJson(req, res, databaseWritable ? 200 : 503, {
          up: true,
          pbx: pbxConnected,
          ...(connections && { pbxes: connections }),
          database: databaseWritable,
          ...(store && { store }),
          ...(sources && { reputation: sources }),
        });
      }),
    ],
    [
      '/metrics',
      get(async (req, res, query) => {
        parseStrictQuery(query, []);
        send(req, res, 200, await deps.metrics.text(), deps.metrics.contentType);
      }),
    ],
  ]);

  async function handle(req: IncomingMessage, res: ServerResponse, path: string, query: string): Promise<void> {
    // Paths are compared as sent, never normalised, so `/x/../healthz` cannot dodge the token.
    const asText = path === '/v1/decide' && asksForText(query);
    const refuse = (status: number, message: string, headers?: OutgoingHttpHeaders) =>
      asText ? sendText(req, res, status, errorText(message), headers) : sendJson(req, res, status, { error: message }, headers);

    if (checkToken && path !== '/healthz') {
      const token = checkToken(req.headers.authorization);
      if (token === 'missing') return refuse(401, 'missing bearer token: send "Authorization: Bearer <token>"', { 'WWW-Authenticate': 'Bearer' });
      if (token === 'wrong') return refuse(403, 'wrong bearer token');
    }
    const route = routes.get(path);
    if (!route) return refuse(404, `no such path "${shownInMessage(path)}": expected /v1/decide, /v1/stats, /v1/block-last, /v1/called, /healthz or /metrics`);
    if (req.method !== route.method) return refuse(405, `method ${shownInMessage(req.method ?? '')} is not allowed: use ${route.method}`, { Allow: route.method });
    if (route.method === 'GET' && hasBody(req)) return refuse(400, 'a GET request takes no body');
    // A POST's body means nothing here (Asterisk's CURL() needs one to POST at all): read and dropped.
    if (route.method === 'POST') req.resume();
    try {
      await route.handle(req, res, query);
    } catch (error) {
      if (error instanceof BadInput) return refuse(400, error.message);
      throw error;
    }
  }

  const server = createServer(
    { maxHeaderSize: MAX_HEADER_BYTES, headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS, connectionsCheckingInterval: 1_000 },
    (req, res) => {
      const target = req.url ?? '/';
      const mark = target.indexOf('?');
      const path = mark < 0 ? target : target.slice(0, mark);
      handle(req, res, path, mark < 0 ? '' : target.slice(mark + 1)).catch((error: unknown) => {
        deps.logger.error({ err: error, method: req.method, path: shownInMessage(path) }, 'hook request failed');
        if (res.headersSent) res.destroy();
        else sendJson(req, res, 500, { error: 'internal error: see the agent log' });
      });
    },
  );
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.setTimeout(IDLE_SOCKET_MS);
  const listeningPort = () => (server.address() as AddressInfo | null)?.port ?? port;

  return {
    get port() {
      return listeningPort();
    },

    start() {
      return new Promise<void>((resolve, reject) => {
        const failed = (error: Error) => reject(new Error(`the HTTP hook cannot listen on ${where(host, port)}: ${error.message}`));
        server.once('error', failed);
        server.listen(port, host, () => {
          server.off('error', failed);
          server.on('error', (error) => deps.logger.error({ err: error }, 'HTTP hook server error'));
          deps.logger.info({ address: where(host, listeningPort()), tokenRequired: checkToken !== null }, 'HTTP hook listening');
          resolve();
        });
      });
    },

    stop() {
      return new Promise<void>((resolve, reject) => {
        if (!server.listening) return resolve();
        const straggler = setTimeout(() => server.closeAllConnections(), STOP_GRACE_MS).unref();
        server.close((error) => {
          clearTimeout(straggler);
          if (error) reject(error);
          else resolve();
        });
        server.closeIdleConnections();
      });
    },
  };
}
