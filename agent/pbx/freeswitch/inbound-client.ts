import { Connection } from 'modesl';
import type { Event } from 'modesl';
import type { PbxDriver } from '../driver';
import { guardModesl } from './modesl-guard';
import type { EslCall } from './esl-call';
import { screenChannel } from './screen-channel';
import type { ChannelDeps } from './screen-channel';

/** The channel variable the dialplan snippet sets before `park`, and the one set once screened. */
export const SCREEN_MARK = 'callguard_screen';
export const SCREENED_MARK = 'callguard_screened';

/**
 * Global variable holding the epoch second until which callguard counts as alive. Parked
 * calls never fail open in FreeSWITCH, so the dialplan parks a call for screening only
 * while this lies in the future; it is refreshed well before it runs out.
 */
export const ALIVE_UNTIL = 'callguard_alive_until';
const ALIVE_FOR_S = 15;
const HEARTBEAT_MS = 5000;

const FIRST_RETRY_MS = 1000;
const LAST_RETRY_MS = 30_000;

export class BadCredentials extends Error {
  override readonly name = 'BadCredentials';
}

/**
 * Inbound mode: callguard connects to FreeSWITCH's event socket, receives only the
 * events of channels the dialplan marked and parked, and screens each; allow
 * transfers the call back to its destination, which the dialplan then routes past
 * the screening step. A lost connection is retried with backoff (1 s doubling to 30 s).
 */
export class FreeSwitchInboundClient implements PbxDriver {
  private conn: Connection | null = null;
  private readonly active = new Map<string, { readonly call: EslCall; readonly conn: Connection; readonly done: Promise<void> }>();
  private retryTimer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private retryMs = FIRST_RETRY_MS;
  private stopping = false;
  private ready = false;

  constructor(
    private readonly target: { readonly host: string; readonly port: number; readonly password: string },
    private readonly deps: ChannelDeps,
  ) {
    guardModesl();
  }

  get connected(): boolean {
    return this.ready;
  }

  get inProgress(): number {
    return this.active.size;
  }

  /** Resolves once connected, or once a first attempt failed and retries are under way; rejects on a wrong password. */
  async start(): Promise<void> {
    const result = await this.connect();
    if (result === 'bad-credentials') {
      await this.stop(0);
      throw new BadCredentials(`FreeSWITCH at ${this.target.host}:${this.target.port} refused the event-socket password`);
    }
  }

  private connect(): Promise<'ready' | 'bad-credentials' | 'unreachable'> {
    const { host, port, password } = this.target;
    return new Promise((resolve) => {
      let settled = false;
      const settle = (result: 'ready' | 'bad-credentials' | 'unreachable') => {
        if (!settled) {
          settled = true;
          resolve(result);
        }
      };
      const conn = new Connection(host, port, password, () => {
        conn.socket?.setNoDelay(true);
        // Only marked channels' events reach us; everything else on the switch is filtered out there.
        conn.filter(`variable_${SCREEN_MARK}`, 'true', () => {
          conn.events('plain', ['CHANNEL_PARK', 'CHANNEL_HANGUP', 'CHANNEL_BRIDGE'], () => {
            this.conn = conn;
            this.ready = true;
            this.retryMs = FIRST_RETRY_MS;
            this.beat();
            this.deps.logger.info({ host, port }, 'connected to FreeSWITCH event socket');
            settle('ready');
          });
        });
      });
      conn.on('error', (error: unknown) => {
        this.deps.logger.warn({ err: error, host, port }, 'FreeSWITCH event socket error');
        settle('unreachable');
        this.lost(conn);
      });
      conn.on('esl::event::auth::fail', () => {
        this.deps.logger.error({ host, port }, 'FreeSWITCH refused the event-socket password');
        settle('bad-credentials');
        this.lost(conn);
      });
      conn.on('esl::end', () => {
        settle('unreachable');
        this.lost(conn);
      });
      conn.on('esl::event::CHANNEL_PARK::*', (event: Event) => this.onPark(conn, event));
    });
  }

  /** Tells the dialplan callguard is here, now and every few seconds while connected. */
  private beat(): void {
    clearTimeout(this.heartbeat);
    this.conn?.api('global_setvar', `${ALIVE_UNTIL}=${Math.floor(Date.now() / 1000) + ALIVE_FOR_S}`);
    this.heartbeat = setTimeout(() => this.beat(), HEARTBEAT_MS);
  }

  /** The connection is over: its calls lose their control (they stay parked in FreeSWITCH), and a retry is scheduled. */
  private lost(conn: Connection): void {
    conn.removeAllListeners('esl::event::CHANNEL_PARK::*');
    for (const entry of this.active.values()) if (entry.conn === conn) entry.call.gone('event socket lost');
    if (this.conn === conn) {
      this.conn = null;
      this.ready = false;
      clearTimeout(this.heartbeat);
    }
    conn.socket?.destroy();
    if (this.stopping || this.retryTimer || this.conn) return;
    this.deps.logger.warn({ retryInMs: this.retryMs }, 'FreeSWITCH event socket lost; retrying');
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.connect();
    }, this.retryMs);
    this.retryMs = Math.min(LAST_RETRY_MS, this.retryMs * 2);
  }

  private onPark(conn: Connection, event: Event): void {
    const uuid = event.getHeader('Unique-ID');
    if (!uuid || this.stopping || this.active.has(uuid)) return;
    if (event.getHeader(`variable_${SCREEN_MARK}`) !== 'true' || event.getHeader(`variable_${SCREENED_MARK}`) === 'true') return;
    const { call, done } = screenChannel(conn, event, 'inbound', this.deps);
    this.active.set(uuid, { call, conn, done: done.finally(() => this.active.delete(uuid)) });
  }

  async stop(graceMs = 10_000): Promise<void> {
    this.stopping = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    await Promise.race([Promise.allSettled([...this.active.values()].map((entry) => entry.done)), new Promise((resolve) => setTimeout(resolve, graceMs).unref())]);
    clearTimeout(this.heartbeat);
    const conn = this.conn;
    this.conn = null;
    this.ready = false;
    if (!conn?.socket) return;
    // New calls stop being parked for screening at once, rather than when the heartbeat runs out.
    await new Promise<void>((resolve) => conn.api('global_setvar', `${ALIVE_UNTIL}=0`, () => resolve()));
    conn.disconnect();
  }
}
