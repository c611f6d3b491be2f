import { readFileSync } from 'node:fs';
import { BadInput } from '../engine/bad-input';
import { isLoopbackHost } from '../http/loopback';
import { consoleStatic } from '../console/static';
import { ReputationClient } from '../screening/reputation';
import { buildApi } from './server';
import type { ApiDeps } from './server';
import { StoreAuthenticator } from './store-authenticator';

export interface ConsoleSettings {
  readonly listen: string;
  readonly behindProxy: boolean;
  readonly tlsCert: string | null;
  readonly tlsKey: string | null;
}

export interface RunningConsole {
  /** The port listened on (the real one when asked for 0). */
  readonly port: number;
  stop(): Promise<void>;
}

/** `host:port`, IPv6 in brackets. */
function hostPort(text: string): { host: string; port: number } {
  const colon = text.lastIndexOf(':');
  return { host: text.slice(0, colon).replace(/^\[|\]$/g, ''), port: Number(text.slice(colon + 1)) };
}

/**
 * The web console (its pages and the REST API under /v1/) on its own port. Passwords and session cookies must
 * never cross a network in clear, so an address other than loopback needs TLS here or a
 * reverse proxy in front that terminates it.
 */
export async function startConsole(
  settings: ConsoleSettings,
  deps: Pick<ApiDeps, 'store' | 'country' | 'logger' | 'callerIds' | 'reputationHealth'>,
): Promise<RunningConsole> {
  const { host, port } = hostPort(settings.listen);
  if ((settings.tlsCert === null) !== (settings.tlsKey === null)) throw new BadInput('console TLS needs both files: console.tlsCert and console.tlsKey');
  const tls = settings.tlsCert && settings.tlsKey ? { cert: readFileSync(settings.tlsCert), key: readFileSync(settings.tlsKey) } : undefined;
  if (!isLoopbackHost(host) && !tls && !settings.behindProxy) {
    throw new BadInput(`the console would send passwords in clear on ${settings.listen}: give it TLS (console.tlsCert and console.tlsKey) or say it sits behind a TLS reverse proxy (console.behindProxy), or listen on 127.0.0.1`);
  }
  const app = await buildApi({
    store: deps.store,
    country: deps.country,
    callerIds: deps.callerIds,
    authenticator: new StoreAuthenticator(deps.store.as('console').users),
    reputation: new ReputationClient(),
    logger: deps.logger,
    secure: Boolean(tls) || settings.behindProxy,
    tls,
    behindProxy: settings.behindProxy,
    reputationHealth: deps.reputationHealth,
  });
  await app.register(consoleStatic());
  await app.listen({ host, port });
  const address = app.server.address();
  deps.logger.info({ listen: settings.listen, tls: Boolean(tls), behindProxy: settings.behindProxy }, 'console listening');
  return { port: typeof address === 'object' && address ? address.port : port, stop: () => app.close() };
}
