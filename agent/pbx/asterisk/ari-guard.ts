import type { EventEmitter } from 'node:events';
import type { AriClient } from './ari-api';

const GUARDED = Symbol('callguard.guarded');

type Listener = ((...args: unknown[]) => unknown) & { [GUARDED]?: true };

/**
 * ari-client 2.2 parses every WebSocket message and emits its event inside the socket's
 * 'message' handler: a message that is not JSON, not an object, of a type missing from its
 * events.json, or whose channel has no id throws there, an uncaught exception that takes
 * the whole process down (so would any listener that throws). On every (re)connection the
 * new socket's handler is wrapped: such a message is reported to `onError` and dropped.
 * Returns the function that stops guarding (the sockets already wrapped stay so).
 */
export function guardAriMessages(client: AriClient, onError: (error: unknown) => void): () => void {
  const wrap = () => {
    const ws = (client as unknown as { _ws?: EventEmitter })._ws;
    if (!ws) return;
    for (const listener of ws.listeners('message') as Listener[]) {
      if (listener[GUARDED]) continue;
      const guarded: Listener = function guardedMessage(this: unknown, ...args: unknown[]) {
        try {
          return listener.apply(this, args);
        } catch (error) {
          onError(error);
          return undefined;
        }
      };
      guarded[GUARDED] = true;
      ws.removeListener('message', listener);
      ws.on('message', guarded);
    }
  };
  // Emitted from the socket's 'open' handler, before any message can arrive on it.
  client.on('WebSocketConnected', wrap);
  return () => client.removeListener('WebSocketConnected', wrap);
}
