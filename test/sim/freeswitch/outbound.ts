// Outbound mode: the dialplan's `socket <host>:<port> [async] [full]`
// application connects to the agent for one call.

import net from 'node:net';
import type { SimChannel } from './channel';
import { EslSession, type OutboundOptions, type SessionHost } from './session';

export interface OutboundConnectHooks {
  session(s: EslSession): void;
  /** Connection attempt settled. */
  settled(connected: boolean): void;
}

/**
 * Run the socket application for `ch`: fires its CHANNEL_EXECUTE, connects,
 * and hands the socket to an EslSession. A refused connection makes the
 * application return at once, so the call goes on in the dialplan.
 */
export function runSocketApplication(
  host: SessionHost,
  ch: SimChannel,
  agentHost: string,
  agentPort: number,
  opts: OutboundOptions,
  hooks: OutboundConnectHooks,
): net.Socket {
  const flags = [opts.async ? 'async' : '', opts.full ? 'full' : ''].filter(Boolean).join(' ');
  ch.enterOuter('socket', `${agentHost}:${agentPort}${flags ? ` ${flags}` : ''}`);
  ch.setVar('socket_host', agentHost);
  const socket = net.connect({ host: agentHost, port: agentPort });
  let connected = false;
  socket.once('connect', () => {
    connected = true;
    hooks.settled(true);
    hooks.session(new EslSession(host, socket, 'outbound', ch, opts));
  });
  socket.once('error', (err: NodeJS.ErrnoException) => {
    if (connected) return;
    hooks.settled(false);
    // mod_event_socket logs "Socket Error!" and the application returns.
    ch.continueDialplan(err.code === 'ECONNREFUSED' ? 'refused' : `connect-error:${err.code ?? err.message}`);
  });
  return socket;
}
