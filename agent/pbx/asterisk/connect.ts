import type { EventEmitter } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import type { AriClient, AriModule } from './ari-api';
import { withDeadline } from './rest';
import type { TrackedTimers } from './tracked-timers';

export interface AriEndpoint {
  readonly url: string;
  readonly user: string;
  readonly password: string;
}

/** Asterisk refused the user or password: retrying will not help. */
export class AriCredentialsRejected extends Error {
  override readonly name = 'AriCredentialsRejected';
  constructor(endpoint: AriEndpoint) {
    super(
      `Asterisk ARI at ${endpoint.url} refused user "${endpoint.user}" (HTTP 401): check the [${endpoint.user}] section of ari.conf and --ari-user/--ari-password`,
    );
  }
}

/**
 * One authenticated GET of the ARI resource listing, before ari-client sees the
 * credentials: ari-client 2.2 reports wrong credentials by rejecting connect() AND
 * throwing the same text as an uncaught exception, and stores them process-wide.
 */
function probeAri(endpoint: AriEndpoint, timeoutMs: number): Promise<void> {
  const url = new URL('/ari/api-docs/resources.json', endpoint.url);
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const request = transport.get(url, { auth: `${endpoint.user}:${endpoint.password}`, timeout: timeoutMs }, (response) => {
      response.resume();
      const status = response.statusCode ?? 0;
      if (status === 200) resolve();
      else if (status === 401 || status === 403) reject(new AriCredentialsRejected(endpoint));
      else reject(new Error(`Asterisk answered HTTP ${status} for ${url.pathname}: is ARI enabled in ari.conf and http.conf?`));
    });
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on('error', (error: NodeJS.ErrnoException) => reject(new Error(`cannot reach Asterisk ARI at ${endpoint.url}: ${error.code ?? error.message}`)));
  });
}

const isSwaggerNotice = (args: unknown[]) => Array.isArray(args[0]) && /deprecated version of Swagger/.test(String(args[0][0]));

/**
 * Runs ari-client's connect() with its two side effects contained, and only while it
 * runs: swagger-client throws any load failure as an uncaught exception (a string) after
 * connect() has already rejected with it, and prints a notice on stdout.
 */
async function containingSwaggerQuirks<T>(work: () => Promise<T>): Promise<T> {
  const onUncaught = (error: unknown) => {
    if (typeof error === 'string') return; // swagger-client's second report of the failure connect() returns
    if (process.listenerCount('uncaughtException') > 1) return; // someone else handles it
    // Not ours and nobody else listens: let it crash the process as it would have.
    process.removeListener('uncaughtException', onUncaught);
    setImmediate(() => {
      throw error;
    });
  };
  const log = console.log;
  console.log = (...args: unknown[]) => {
    if (!isSwaggerNotice(args)) log(...args);
  };
  process.on('uncaughtException', onUncaught);
  try {
    return await work();
  } finally {
    process.removeListener('uncaughtException', onUncaught);
    console.log = log;
  }
}

/** Checks the credentials, then loads ARI's API into a new ari-client (no WebSocket yet). */
export async function openAriClient(ari: AriModule, endpoint: AriEndpoint, timers: TrackedTimers, timeoutMs: number): Promise<AriClient> {
  await probeAri(endpoint, timeoutMs);
  return containingSwaggerQuirks(() =>
    withDeadline(timers, timeoutMs, 'loading the ARI API', () => ari.connect(endpoint.url, endpoint.user, endpoint.password)),
  );
}

/** ws's readyState once a socket is closed. */
const WS_CLOSED = 3;

/**
 * Closes the event WebSocket; resolves once it is closed, since only then has Asterisk let
 * go of the application (Stasis() fails over from it). ari-client 2.2's stop() starts the
 * close handshake and reports nothing of its end.
 */
export function closeWebSocket(client: AriClient): Promise<void> {
  const ws = (client as unknown as { _ws?: EventEmitter & { readonly readyState: number } })._ws;
  if (!ws) return Promise.resolve(); // none was ever opened (and stop() would throw)
  const closed = ws.readyState === WS_CLOSED ? Promise.resolve() : new Promise<void>((resolve) => ws.once('close', () => resolve()));
  client.stop();
  return closed;
}
