import { createServer } from 'node:net';
import type { AddressInfo, Server as NetServer, Socket } from 'node:net';
import { Server } from 'modesl';
import type { Connection } from 'modesl';
import type { PbxDriver } from '../driver';
import { guardModesl } from './modesl-guard';
import { screenChannel } from './screen-channel';
import type { ChannelDeps } from './screen-channel';

/** The events `myevents` turns on that callguard does not follow (it keeps EXECUTE_COMPLETE, HANGUP, BRIDGE and PARK). */
const UNUSED_CHANNEL_EVENTS = [
  'CHANNEL_ANSWER', 'CHANNEL_APPLICATION', 'CHANNEL_CREATE', 'CHANNEL_DATA', 'CHANNEL_DESTROY', 'CHANNEL_EXECUTE',
  'CHANNEL_HANGUP_COMPLETE', 'CHANNEL_ORIGINATE', 'CHANNEL_UUID', 'CHANNEL_OUTGOING', 'CHANNEL_PROGRESS',
  'CHANNEL_PROGRESS_MEDIA', 'CHANNEL_STATE', 'CHANNEL_UNBRIDGE', 'CHANNEL_UNPARK', 'DETECTED_SPEECH', 'DTMF', 'NOTALK', 'TALK',
];

/**
 * Outbound mode: the dialplan's `socket` application connects here once per call.
 * Allow closes the socket, and FreeSWITCH goes on with the next dialplan action;
 * so does a socket that dies, or an agent that is not listening (fail open).
 */
export class FreeSwitchOutboundServer implements PbxDriver {
  private readonly net: NetServer = createServer();
  private readonly active = new Set<Promise<void>>();
  private readonly sockets = new Set<Socket>();
  /** Connections accepted whose call has not reached screening yet (FreeSWITCH has not answered `connect`). */
  private readonly opening = new Set<Connection>();
  /** Each connection's CHANNEL_PARK, listened for from the first byte: it can come before modesl is ready. */
  private readonly parks = new WeakMap<Connection, Promise<void>>();
  private esl: Server | undefined;

  constructor(
    private readonly listen: { readonly host: string; readonly port: number },
    private readonly deps: ChannelDeps,
  ) {
    guardModesl();
  }

  get connected(): boolean {
    return this.net.listening;
  }

  get inProgress(): number {
    return this.active.size;
  }

  /** Connections modesl still holds (zero once every call is over; tests count it). */
  get openConnections(): number {
    return this.esl ? Object.keys(this.esl.connections).length : 0;
  }

  /** The port actually listened on (the configured one, or the one picked for port 0). */
  get port(): number {
    return (this.net.address() as AddressInfo).port;
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.net.once('error', reject);
      this.net.listen(this.listen.port, this.listen.host, () => {
        this.net.off('error', reject);
        resolve();
      });
    });
    this.net.on('error', (error) => this.deps.logger.error({ err: error }, 'event-socket listener error'));
    this.net.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    const esl = new Server({ server: this.net, myevents: false });
    this.esl = esl;
    esl.on('connection::open', (conn: Connection, id: string) => {
      // modesl writes a command in pieces: without NODELAY each waits ~40 ms for an ACK.
      conn.socket?.setNoDelay(true);
      this.opening.add(conn);
      // modesl forgets a connection only on a clean 'end'; one that is reset or destroyed would stay in its table for good.
      conn.socket?.once('close', () => {
        this.opening.delete(conn);
        delete esl.connections[id];
        conn.removeAllListeners();
        conn.on('error', () => undefined);
      });
      // Right behind `connect`, before FreeSWITCH parks an async-socket channel, so its CHANNEL_PARK is not missed.
      conn.sendRecv('myevents');
      // myevents brings every event of the channel; parsing the ones never used is most of the garbage a call makes.
      conn.sendRecv(`nixevent ${UNUSED_CHANNEL_EVENTS.join(' ')}`);
      this.parks.set(conn, new Promise((resolve) => conn.once('esl::event::CHANNEL_PARK::*', () => resolve())));
      conn.on('error', (error: unknown) => {
        // A write racing FreeSWITCH's own close of a finished call is expected, not worth a warning.
        const code = (error as { code?: string } | null)?.code;
        this.deps.logger[code === 'EPIPE' || code === 'ECONNRESET' ? 'debug' : 'warn']({ err: error }, 'event-socket connection error');
      });
    });
    esl.on('connection::ready', (conn: Connection) => this.take(conn));
    this.deps.logger.info({ host: this.listen.host, port: this.port }, 'listening for FreeSWITCH outbound sockets');
  }

  /**
   * A connection accepted is screened even once stopping has begun: FreeSWITCH tries the
   * next host of its `socket` list only when a connection is refused, so one handed back
   * here would go through unscreened.
   */
  private take(conn: Connection): void {
    this.opening.delete(conn);
    const channel = conn.getInfo();
    if (!channel?.getHeader('Unique-ID')) {
      if (conn.socket) conn.disconnect();
      return;
    }
    const { call, done } = screenChannel(conn, channel, 'outbound', this.deps, this.parks.get(conn) ?? null);
    const socketGone = () => call.gone('socket closed');
    conn.on('esl::end', socketGone);
    conn.socket?.once('close', socketGone);
    const tracked = done.finally(() => {
      conn.removeListener('esl::end', socketGone);
      this.active.delete(tracked);
      if (conn.socket && !conn.socket.destroyed) conn.disconnect();
    });
    this.active.add(tracked);
  }

  /** New connections are refused at once (FreeSWITCH then tries the next agent); the calls held are finished within the grace. */
  async stop(graceMs = 10_000): Promise<void> {
    const closed = new Promise<void>((resolve) => this.net.close(() => resolve()));
    // Every connection already accepted, one whose call has not reached screening yet included, is finished within the grace.
    const deadline = Date.now() + graceMs;
    while ((this.active.size > 0 || this.opening.size > 0) && Date.now() < deadline) {
      const tick = new Promise((resolve) => setTimeout(resolve, Math.min(50, Math.max(0, deadline - Date.now()))).unref());
      // With only opening connections there is nothing to settle: wait on the timer, or the loop would spin on
      // an already settled promise without ever letting those connections' I/O in (the whole grace, agent frozen).
      await (this.active.size > 0 ? Promise.race([Promise.allSettled([...this.active]), tick]) : tick);
    }
    // Past the grace period a socket left open is closed: FreeSWITCH then goes on with the dialplan.
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }
}
