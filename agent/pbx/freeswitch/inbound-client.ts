import { Connection, Event } from 'modesl';
import type { PbxDriver } from '../driver';
import { guardModesl } from './modesl-guard';
import type { EslCall } from './esl-call';
import { Backoff } from '../backoff';
import { routeToken } from './esl-text';
import { screenChannel } from './screen-channel';
import type { ChannelDeps } from './screen-channel';
import { ALIVE_UNTIL, FAIL_OPEN_TASK, SCREEN_MARK, SCREENED_MARK } from './screen-marks';

/**
 * The heartbeat: refreshed every second, good for a few. A parked call never fails open in
 * FreeSWITCH by itself, so the dialplan parks calls only while it is fresh; calls parked
 * just before callguard died are sent on by the transfer each schedules for itself.
 */
const ALIVE_FOR_S = 4;
const HEARTBEAT_MS = 1000;

/** A FreeSWITCH that takes the connection but does not finish the handshake in this time is given up on (and retried). */
const HANDSHAKE_MS = 5000;
/** How long stopping waits for FreeSWITCH to take the heartbeat down. */
const GOODBYE_MS = 1000;

/** A channel as `show channels as json` lists it: the columns read here. */
interface ChannelRow {
  readonly uuid?: unknown;
  readonly application?: unknown;
  readonly dest?: unknown;
  readonly context?: unknown;
  readonly cid_num?: unknown;
  readonly cid_name?: unknown;
  readonly ip_addr?: unknown;
}

const CHANNEL_UUID = /^[0-9A-Fa-f-]{1,64}$/;
/**
 * Where a call waits for nobody once its screening connection is gone: in park, or back in
 * park after one of the applications screening runs (`show channels` names the last one),
 * a forward that had not connected included. A call in voicemail is left to it.
 */
const WAITING_IN = new Set(['park', 'pre_answer', 'answer', 'playback', 'play_and_get_digits', 'set', 'bridge']);
const text = (value: unknown) => (typeof value === 'string' ? value : '');

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
  /** The connection still shaking hands, if any: stop() must be able to end it too. */
  private connecting: { readonly conn: Connection; readonly settle: (result: 'unreachable') => void } | null = null;
  private readonly active = new Map<string, { readonly call: EslCall; readonly conn: Connection; readonly done: Promise<void> }>();
  /** Parked calls whose fail-open transfer is being cancelled, before their screening starts. */
  private readonly claiming = new Set<string>();
  /** Calls whose screening a lost connection cut off: once back, they go on unscreened. */
  private readonly cutOff = new Set<string>();
  private retryTimer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly backoff = new Backoff();
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
        clearTimeout(handshake);
        if (this.connecting?.conn === conn) this.connecting = null;
        if (!settled) {
          settled = true;
          resolve(result);
        }
      };
      const handshake = setTimeout(() => {
        this.deps.logger.warn({ host, port, waitedMs: HANDSHAKE_MS }, 'FreeSWITCH did not finish the event-socket handshake');
        settle('unreachable');
        this.lost(conn);
      }, HANDSHAKE_MS);
      const conn = new Connection(host, port, password, () => {
        conn.socket?.setNoDelay(true);
        // Only marked channels' events reach us; everything else on the switch is filtered out there.
        conn.filter(`variable_${SCREEN_MARK}`, 'true', () => {
          conn.events('plain', ['CHANNEL_PARK', 'CHANNEL_HANGUP', 'CHANNEL_BRIDGE'], () => {
            this.conn = conn;
            this.ready = true;
            this.backoff.reset();
            this.beat();
            this.deps.logger.info({ host, port }, 'connected to FreeSWITCH event socket');
            settle('ready');
            this.takeOverParked(conn);
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
      this.connecting = { conn, settle };
    });
  }

  /** Tells the dialplan callguard is here, now and every few seconds while connected. */
  private beat(): void {
    clearTimeout(this.heartbeat);
    this.conn?.api('global_setvar', `${ALIVE_UNTIL}=${Math.floor(Date.now() / 1000) + ALIVE_FOR_S}`);
    this.heartbeat = setTimeout(() => this.beat(), HEARTBEAT_MS);
  }

  /**
   * The connection is over: its calls lose their control (they stay parked in FreeSWITCH
   * until takeOverParked sends them on), and a retry is scheduled.
   */
  private lost(conn: Connection): void {
    conn.removeAllListeners('esl::event::CHANNEL_PARK::*');
    // A claim cut off here is retried from takeOverParked, if its fail-open has not sent the call on by then.
    this.claiming.clear();
    for (const [uuid, entry] of this.active) {
      if (entry.conn !== conn) continue;
      entry.call.gone('event socket lost', new Error('the FreeSWITCH event socket was lost'));
      // A call already bridged to its forward target stays with it; any other waits to be sent on.
      if (!entry.call.isBridged) this.cutOff.add(uuid);
    }
    if (this.conn === conn) {
      this.conn = null;
      this.ready = false;
      clearTimeout(this.heartbeat);
    }
    conn.socket?.destroy();
    if (this.stopping || this.retryTimer || this.conn) return;
    const retryInMs = this.backoff.next();
    this.deps.logger.warn({ retryInMs }, 'FreeSWITCH event socket lost; retrying');
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.connect();
    }, retryInMs);
  }

  /**
   * After every (re)connection. FreeSWITCH replays no CHANNEL_PARK, so a call the dialplan
   * parked for screening that nobody screens would wait in park for good: one whose
   * screening a lost connection cut off goes on unscreened (fail open; it is logged
   * already), one parked while callguard was away is screened now, on the caller ID that
   * `show channels` gives.
   */
  private takeOverParked(conn: Connection): void {
    conn.api('show', 'channels as json', (reply) => {
      let rows: ChannelRow[];
      try {
        rows = (JSON.parse(reply.getBody() ?? '') as { rows?: ChannelRow[] }).rows ?? [];
      } catch {
        rows = [];
      }
      const channels = (Array.isArray(rows) ? rows : []).filter(
        (row): row is ChannelRow & { uuid: string } => typeof row?.uuid === 'string' && CHANNEL_UUID.test(row.uuid),
      );
      for (const uuid of this.cutOff) if (!channels.some((row) => row.uuid === uuid && WAITING_IN.has(text(row.application)))) this.cutOff.delete(uuid);
      for (const row of channels) {
        if (this.active.get(row.uuid)?.conn === conn) continue;
        if (!this.cutOff.has(row.uuid) && row.application !== 'park') continue;
        const read = (name: string) => new Promise<string>((resolve) => conn.api('uuid_getvar', `${row.uuid} ${name}`, (reply) => resolve(reply.getBody()?.trim() ?? '')));
        void Promise.all([read(SCREEN_MARK), read(SCREENED_MARK), read(FAIL_OPEN_TASK)]).then(([mark, screened, failOpenTask]) => {
          if (mark !== 'true' || this.conn !== conn || this.active.get(row.uuid)?.conn === conn) return;
          // Cut off between `uuid_setvar callguard_screened true` and its transfer, it is marked screened and still ours.
          if (this.cutOff.delete(row.uuid)) {
            this.sendOn(conn, row.uuid, routeToken(text(row.dest)), routeToken(text(row.context)));
            return;
          }
          if (screened !== '_undef_' && screened !== '') return;
          this.onPark(
            conn,
            new Event({
              'Unique-ID': row.uuid,
              'Caller-Caller-ID-Number': text(row.cid_num),
              'Caller-Caller-ID-Name': text(row.cid_name),
              'Caller-Destination-Number': text(row.dest),
              'Caller-Context': text(row.context),
              'Caller-Network-Addr': text(row.ip_addr),
              [`variable_${SCREEN_MARK}`]: 'true',
              ...(failOpenTask !== '_undef_' ? { [`variable_${FAIL_OPEN_TASK}`]: failOpenTask } : {}),
            }),
          );
        });
      }
    });
  }

  /** Through to the normal route unscreened, as allow would; cleared if its destination is not plainly safe to transfer to. */
  private sendOn(conn: Connection, uuid: string, destination: string | null, context: string | null): void {
    this.deps.logger.warn({ channel: uuid }, 'call left parked by the lost event socket: continuing it unscreened');
    if (!destination || !context) {
      conn.api('uuid_kill', `${uuid} NORMAL_CLEARING`);
      return;
    }
    conn.api('uuid_setvar', `${uuid} ${SCREENED_MARK} true`);
    conn.api('uuid_transfer', `${uuid} ${destination} XML ${context}`);
  }

  /**
   * A call the dialplan parked for screening. Its fail-open transfer is cancelled first
   * (sched_del); if it has already run (callguard was too late), the call is on its way
   * to its normal route and is left alone.
   */
  private onPark(conn: Connection, event: Event): void {
    const uuid = event.getHeader('Unique-ID');
    if (!uuid || this.stopping || this.active.has(uuid) || this.claiming.has(uuid)) return;
    if (event.getHeader(`variable_${SCREEN_MARK}`) !== 'true' || event.getHeader(`variable_${SCREENED_MARK}`)) return;
    const task = event.getHeader(`variable_${FAIL_OPEN_TASK}`);
    if (!task || !/^\d{1,10}$/.test(task)) {
      this.screen(conn, uuid, event);
      return;
    }
    this.claiming.add(uuid);
    conn.api('sched_del', task, (reply) => {
      this.claiming.delete(uuid);
      if (/^\+OK Deleted: [1-9]/.test(reply.getBody() ?? '')) {
        this.screen(conn, uuid, event);
        return;
      }
      this.deps.logger.warn({ channel: uuid }, 'the parked call was already failing open to its normal route: left unscreened');
    });
  }

  private screen(conn: Connection, uuid: string, event: Event): void {
    if (this.stopping || this.active.has(uuid)) return;
    const { call, done } = screenChannel(conn, event, 'inbound', this.deps);
    this.active.set(uuid, { call, conn, done: done.finally(() => this.active.delete(uuid)) });
  }

  async stop(graceMs = 10_000): Promise<void> {
    this.stopping = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const pending = this.connecting;
    if (pending) {
      pending.settle('unreachable');
      this.lost(pending.conn);
    }
    await Promise.race([Promise.allSettled([...this.active.values()].map((entry) => entry.done)), new Promise((resolve) => setTimeout(resolve, graceMs).unref())]);
    clearTimeout(this.heartbeat);
    const conn = this.conn;
    this.conn = null;
    this.ready = false;
    if (!conn?.socket) return;
    // New calls stop being parked for screening at once, rather than when the heartbeat runs out.
    // Bounded: a FreeSWITCH that no longer answers must not keep the agent from stopping.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, GOODBYE_MS);
      conn.api('global_setvar', `${ALIVE_UNTIL}=0`, () => {
        clearTimeout(timer);
        resolve();
      });
    });
    if (conn.socket) conn.disconnect();
  }
}
