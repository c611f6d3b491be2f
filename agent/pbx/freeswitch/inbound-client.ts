import { Connection, Event } from 'modesl';
import type { PbxDriver } from '../driver';
import { guardModesl } from './modesl-guard';
import type { EslCall } from './esl-call';
import { Backoff } from '../backoff';
import { channelVariable, continueUnscreened, listChannels, rowText, WAITING_IN } from './parked-calls';
import type { ChannelRow } from './parked-calls';
import { PartnerRescue } from './partner-rescue';
import { screenChannel } from './screen-channel';
import type { ChannelDeps } from './screen-channel';
import { AGENT_MARK, aliveVariable, FAIL_OPEN_TASK, SCREEN_MARK, SCREENED_MARK } from './screen-marks';
import { partnerOf, type PairLetter } from '../pair';

/**
 * The heartbeat: refreshed every second, good for a few. A parked call never fails open in
 * FreeSWITCH by itself, so the dialplan parks calls only while it is fresh; calls parked
 * just before callguard died are sent on by the transfer each schedules for itself.
 */
const ALIVE_FOR_S = 4;
const HEARTBEAT_MS = 1000;

/** A FreeSWITCH that takes the connection but does not finish the handshake in this time is given up on (and retried). */
const HANDSHAKE_MS = 5000;
/** How long a stopping agent still takes calls parked for it after its heartbeat went to 0. */
const HANDOVER_MS = 1000;
/** How long stopping waits for FreeSWITCH at each step (taking the heartbeat down, sending calls on). */
const GOODBYE_MS = 1000;

export class BadCredentials extends Error {
  override readonly name = 'BadCredentials';
}

/**
 * Inbound mode: callguard connects to FreeSWITCH's event socket, receives only the
 * events of channels the dialplan marked and parked, and screens each; allow
 * transfers the call back to its destination, which the dialplan then routes past
 * the screening step. A lost connection is retried with backoff (1 s doubling to 30 s).
 *
 * One agent of a failover pair (`pairAs`) has a heartbeat of its own, and the dialplan
 * marks each call with the letter of the agent it parks it for: a while a's heartbeat is
 * fresh, else b. Each agent filters on its letter, so no call is screened by both, and
 * sends on the calls its partner died holding (PartnerRescue).
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
  /** Stopping: no reconnection. */
  private stopping = false;
  /** Cleared on stop once FreeSWITCH parks no more calls for this agent. */
  private takingCalls = true;
  private ready = false;
  private readonly heartbeatVariable: string;
  /** The event filter: the mark every call parked for this agent carries. */
  private readonly mine: { readonly header: string; readonly value: string };
  private readonly partner: PartnerRescue | null;

  constructor(
    private readonly target: { readonly host: string; readonly port: number; readonly password: string; readonly pairAs?: PairLetter | null },
    private readonly deps: ChannelDeps,
  ) {
    guardModesl();
    const pairAs = target.pairAs ?? null;
    this.heartbeatVariable = aliveVariable(pairAs);
    this.mine = pairAs ? { header: AGENT_MARK, value: pairAs } : { header: SCREEN_MARK, value: 'true' };
    this.partner = pairAs ? new PartnerRescue(partnerOf(pairAs), deps.logger) : null;
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
        conn.filter(`variable_${this.mine.header}`, this.mine.value, () => {
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
    if (!this.conn) return;
    this.conn.api('global_setvar', `${this.heartbeatVariable}=${Math.floor(Date.now() / 1000) + ALIVE_FOR_S}`);
    this.partner?.beat(this.conn);
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
   * already), one parked for us while we were away is screened now, on the caller ID that
   * `show channels` gives.
   */
  private takeOverParked(conn: Connection): void {
    void listChannels(conn).then((channels) => {
      for (const uuid of this.cutOff) if (!channels.some((row) => row.uuid === uuid && WAITING_IN.has(rowText(row.application)))) this.cutOff.delete(uuid);
      for (const row of channels) {
        if (this.active.get(row.uuid)?.conn === conn) continue;
        if (!this.cutOff.has(row.uuid) && row.application !== 'park') continue;
        const read = (name: string) => channelVariable(conn, row.uuid, name);
        void Promise.all([read(this.mine.header), read(SCREENED_MARK), read(FAIL_OPEN_TASK)]).then(([mark, screened, failOpenTask]) => {
          if (mark !== this.mine.value || this.conn !== conn || this.active.get(row.uuid)?.conn === conn) return;
          // Cut off between `uuid_setvar callguard_screened true` and its transfer, it is marked screened and still ours.
          if (this.cutOff.delete(row.uuid)) {
            continueUnscreened(conn, row, this.deps.logger, 'call left parked by the lost event socket');
            return;
          }
          if (screened !== '') return;
          this.onPark(conn, parkEvent(row, this.mine, failOpenTask), row);
        });
      }
    });
  }

  /**
   * A call the dialplan parked for screening. Its fail-open transfer is cancelled first
   * (sched_del); if it has already run (callguard was too late), the call is on its way
   * to its normal route and is left alone. A call found parked after a (re)start whose
   * transfer is gone had been taken by an earlier run of this agent that died screening
   * it (and may have logged it): it is sent on, not screened again.
   */
  private onPark(conn: Connection, event: Event, found: ChannelRow | null = null): void {
    const uuid = event.getHeader('Unique-ID');
    if (!uuid || !this.takingCalls || this.active.has(uuid) || this.claiming.has(uuid)) return;
    if (event.getHeader(`variable_${this.mine.header}`) !== this.mine.value || event.getHeader(`variable_${SCREENED_MARK}`)) return;
    const task = event.getHeader(`variable_${FAIL_OPEN_TASK}`);
    if (!task || !/^\d{1,10}$/.test(task)) {
      this.screen(conn, uuid, event);
      return;
    }
    this.claiming.add(uuid);
    conn.api('sched_del', task, (reply) => {
      this.claiming.delete(uuid);
      if (/^\+OK Deleted: [1-9]/.test(reply.getBody() ?? '')) this.screen(conn, uuid, event);
      else if (found) continueUnscreened(conn, found, this.deps.logger, 'call left parked by an earlier run of this agent');
      else this.deps.logger.warn({ channel: uuid }, 'the parked call was already failing open to its normal route: left unscreened');
    });
  }

  /** A call claimed is screened, even if the agent began stopping meanwhile: nobody else will take it. */
  private screen(conn: Connection, uuid: string, event: Event): void {
    if (this.active.has(uuid)) return;
    const { call, done } = screenChannel(conn, event, 'inbound', this.deps);
    this.active.set(uuid, { call, conn, done: done.finally(() => this.active.delete(uuid)) });
  }

  /**
   * Hands over first: the heartbeat goes to 0 at once, so FreeSWITCH parks no new call for
   * this agent (the other of a pair gets them); calls parked before it took that in are
   * still taken. Then the calls held are finished within the grace, and any still unfinished
   * are sent on unscreened rather than left parked.
   */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopping = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const pending = this.connecting;
    if (pending) {
      pending.settle('unreachable');
      this.lost(pending.conn);
    }
    clearTimeout(this.heartbeat);
    const conn = this.conn;
    if (conn?.socket) {
      await bounded(new Promise<void>((resolve) => conn.api('global_setvar', `${this.heartbeatVariable}=0`, () => resolve())));
      // A call whose dialplan read the heartbeat just before it went to 0 is parked for us a moment later: still ours.
      if (graceMs > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(HANDOVER_MS, graceMs)));
    }
    this.takingCalls = false;
    await Promise.race([Promise.allSettled([...this.active.values()].map((entry) => entry.done)), new Promise((resolve) => setTimeout(resolve, graceMs).unref())]);
    if (conn?.socket && this.conn === conn) await bounded(this.sendOnUnfinished(conn));
    this.conn = null;
    this.ready = false;
    if (conn?.socket) conn.disconnect();
  }

  /** Past the grace: the calls still being screened go through unscreened; a bridged one stays with its target. */
  private async sendOnUnfinished(conn: Connection): Promise<void> {
    const unfinished = new Set<string>();
    for (const [uuid, entry] of this.active) {
      entry.call.gone('the agent is stopping');
      if (!entry.call.isBridged) unfinished.add(uuid);
    }
    if (unfinished.size === 0) return;
    for (const row of await listChannels(conn)) {
      if (unfinished.has(row.uuid) && WAITING_IN.has(rowText(row.application))) continueUnscreened(conn, row, this.deps.logger, 'call still being screened when the agent stopped');
    }
  }
}

/** A goodbye to FreeSWITCH that gets no answer must not keep the agent from stopping. */
function bounded(work: Promise<void>): Promise<void> {
  return Promise.race([work, new Promise<void>((resolve) => setTimeout(resolve, GOODBYE_MS).unref())]);
}

/** The CHANNEL_PARK FreeSWITCH would have sent for a parked call found by `show channels`. */
function parkEvent(row: ChannelRow, mark: { readonly header: string; readonly value: string }, failOpenTask: string): Event {
  return new Event({
    'Unique-ID': row.uuid,
    'Caller-Caller-ID-Number': rowText(row.cid_num),
    'Caller-Caller-ID-Name': rowText(row.cid_name),
    'Caller-Destination-Number': rowText(row.dest),
    'Caller-Context': rowText(row.context),
    'Caller-Network-Addr': rowText(row.ip_addr),
    [`variable_${mark.header}`]: mark.value,
    ...(failOpenTask ? { [`variable_${FAIL_OPEN_TASK}`]: failOpenTask } : {}),
  });
}
