// Outbound mode: the dialplan's `socket <host>:<port>[|<host>:<port>…] [async] [full]`
// application connects to the agent for one call: to the first of the listed agents that
// takes the connection, as mod_event_socket's socket_function tries its hosts in turn.

import net from 'node:net';
import type { SimChannel } from './channel';
import { EslSession, type OutboundOptions, type SessionHost } from './session';

export interface OutboundConnectHooks {
  session(s: EslSession): void;
  /** Connection attempt settled. */
  settled(connected: boolean): void;
}

/** One agent the socket application may connect to. */
export interface AgentAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * Run the socket application for `ch`: fires its CHANNEL_EXECUTE, connects to the first
 * of `agents` that takes the connection (socket_host names the one being tried), and hands
 * the socket to an EslSession. When none does, the application returns at once, so the
 * call goes on in the dialplan.
 */
export function runSocketApplication(
  host: SessionHost,
  ch: SimChannel,
  agents: readonly AgentAddress[],
  opts: OutboundOptions,
  hooks: OutboundConnectHooks,
): net.Socket {
  const flags = [opts.async ? 'async' : '', opts.full ? 'full' : ''].filter(Boolean).join(' ');
  ch.enterOuter('socket', `${agents.map((agent) => `${agent.host}:${agent.port}`).join('|')}${flags ? ` ${flags}` : ''}`);
  const tryAgent = (index: number): net.Socket => {
    const agent = agents[index]!;
    ch.setVar('socket_host', agent.host);
    const socket = net.connect({ host: agent.host, port: agent.port });
    let connected = false;
    socket.once('connect', () => {
      connected = true;
      hooks.settled(true);
      hooks.session(new EslSession(host, socket, 'outbound', ch, opts));
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      if (connected) return;
      // mod_event_socket logs "Socket Error: …" and tries the next host.
      if (index + 1 < agents.length) return void tryAgent(index + 1);
      hooks.settled(false);
      // "Socket Error!" and the application returns.
      ch.continueDialplan(err.code === 'ECONNREFUSED' ? 'refused' : `connect-error:${err.code ?? err.message}`);
    });
    return socket;
  };
  return tryAgent(0);
}
