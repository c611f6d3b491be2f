import { EventEmitter } from 'node:events';
import type { Database } from 'better-sqlite3';
import { Client } from 'pg';
import type { ClientConfig, Notification, Pool, PoolClient } from 'pg';
import type { Logger } from '../../log/logger';
import { CHANGES_CHANNEL, LAST_SEQ_SQL, changedKeys, feedQuery, readFeedState, rowsByKey, streamTable, summarizeChanges } from './change-feed';
import type { FeedState } from './change-feed';
import { LocalCopy } from './local-copy';
import { withPooledClient } from './pooled-client';
import type { TableChanges } from './local-copy';
import { REPLICATED_TABLES, replicatedTable } from './replicated-tables';

export interface ReplicaOptions {
  /** The safety net: how often the feed is checked for a change no notification announced. */
  readonly pollEveryMs?: number;
  /** LISTEN for notifications (false: polling alone, e.g. behind a pooler that drops LISTEN). */
  readonly listen?: boolean;
  /** More changed rows than this since the local copy's seq are loaded in full instead, which is then faster. */
  readonly fullLoadAbove?: number;
  /** Rows per cursor fetch in a full load. */
  readonly batchRows?: number;
  /** First wait before reconnecting the LISTEN connection, doubled after each failure up to reconnectMaxMs. */
  readonly reconnectFirstMs?: number;
  readonly reconnectMaxMs?: number;
}

/** One batch of the feed applied to the local copy. */
export interface AppliedBatch {
  readonly seq: number;
  /** A full load (every table replaced) rather than only the changed rows. */
  readonly full: boolean;
  /** Rows loaded (full) or keys changed (not). */
  readonly rows: number;
}

/** Whether the last contact with PostgreSQL worked. */
export type ReplicaState = 'connected' | 'unreachable';

/**
 * The local copy an agent decides from: PostgreSQL's decision tables kept in a local
 * SQLite database (callguard's normal schema), so that decisions stay synchronous local
 * reads through SqliteDecisionStore and never wait on the network.
 *
 * It follows the change feed (migrations/postgres/001_schema.sql): a notification on
 * `callguard_changes` starts a catch-up at once, bursts coalesce into one, and a poll
 * every pollEveryMs catches what a lost notification or a dropped LISTEN connection
 * missed. A catch-up reads, in one REPEATABLE READ transaction, the keys changed since
 * the local seq and those rows as they are now, and applies them in one local
 * transaction that bumps the generation. It loads everything instead when the copy is
 * new, from another database, older than the pruned feed, or far behind.
 *
 * Events: 'applied' (AppliedBatch), 'notification' (seq), 'listening' (backend pid),
 * 'state' (ReplicaState).
 */
export class PostgresReplica extends EventEmitter {
  /** Full loads and change batches since start: a restarted agent that was not far behind shows no full load. */
  fullLoads = 0;
  changeBatches = 0;
  /** Notifications heard. */
  notifications = 0;
  state: ReplicaState = 'connected';
  /** The LISTEN connection's backend process id, while it is connected. */
  listenerPid: number | null = null;

  private readonly local: LocalCopy;
  private readonly pollEveryMs: number;
  private readonly listen: boolean;
  private readonly fullLoadAbove: number;
  private readonly batchRows: number;
  private readonly reconnectFirstMs: number;
  private readonly reconnectMaxMs: number;
  private current: number;
  private stopped = false;
  private running: Promise<Error | undefined> | null = null;
  private again = false;
  private pollTimer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | null = null;
  private listener: Client | null = null;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private reconnectDelayMs: number;

  private constructor(
    private readonly pool: Pool,
    localDb: Database,
    private readonly logger: Logger | undefined,
    options: ReplicaOptions,
  ) {
    super();
    this.local = new LocalCopy(localDb);
    this.current = this.local.position().seq ?? 0;
    this.pollEveryMs = options.pollEveryMs ?? 500;
    this.listen = options.listen ?? true;
    this.fullLoadAbove = options.fullLoadAbove ?? 50_000;
    this.batchRows = options.batchRows ?? 10_000;
    this.reconnectFirstMs = options.reconnectFirstMs ?? 250;
    this.reconnectMaxMs = options.reconnectMaxMs ?? 5_000;
    this.reconnectDelayMs = this.reconnectFirstMs;
  }

  /**
   * Brings the local copy up to date, then follows the feed. Throws if PostgreSQL cannot
   * be read and the copy was never loaded; a copy loaded before is used as it is (calls
   * are decided from it) while the replica keeps trying.
   */
  static async start(pool: Pool, localDb: Database, logger?: Logger, options: ReplicaOptions = {}): Promise<PostgresReplica> {
    const replica = new PostgresReplica(pool, localDb, logger, options);
    // LISTEN before the first catch-up, so that nothing committed in between goes unannounced.
    if (replica.listen) await replica.connectListener();
    const failure = await replica.requestCatchUp();
    if (failure) {
      if (replica.local.position().seq === null) {
        await replica.stop();
        throw failure;
      }
      logger?.warn({ err: failure.message, seq: replica.seq }, 'PostgreSQL cannot be read: deciding from the local copy as last loaded until it can');
    }
    replica.schedulePoll();
    return replica;
  }

  /** The change-feed position the local copy is at. */
  get seq(): number {
    return this.current;
  }

  /** Resolves once the local copy is at `seq` or beyond; rejects after `timeoutMs`, if given. */
  caughtUp(seq: number, timeoutMs?: number): Promise<void> {
    if (this.current >= seq) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onApplied = () => {
        if (this.current < seq) return;
        clearTimeout(timer);
        this.off('applied', onApplied);
        resolve();
      };
      const timer = timeoutMs === undefined ? undefined : setTimeout(() => {
        this.off('applied', onApplied);
        reject(new Error(`the local copy did not reach seq ${seq} within ${timeoutMs} ms (it is at ${this.current})`));
      }, timeoutMs);
      this.on('applied', onApplied);
    });
  }

  /** Catches up now (as a notification would); resolves when done, rejects if PostgreSQL could not be read. */
  async refresh(): Promise<void> {
    const failure = await this.requestCatchUp();
    if (failure) throw failure;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.pollTimer);
    clearTimeout(this.reconnectTimer);
    const listener = this.listener;
    this.listener = null;
    this.listenerPid = null;
    await Promise.all([this.running, this.polling, listener?.end().catch(() => undefined)]);
  }

  /**
   * Runs a catch-up, or marks one as wanted after the one running (a burst of
   * notifications costs one or two). Resolves when one that began after this request is
   * done: with the error, if it failed (the poll then tries again; a failing catch-up
   * never loops on its own).
   */
  private requestCatchUp(): Promise<Error | undefined> {
    if (this.stopped) return Promise.resolve(undefined);
    if (this.running) {
      this.again = true;
      return this.running;
    }
    const run = (async () => {
      do {
        this.again = false;
        try {
          await this.syncOnce();
          this.setState('connected');
        } catch (error) {
          this.setState('unreachable');
          this.logger?.warn({ err: messageOf(error), seq: this.current }, 'could not catch up with PostgreSQL: trying again');
          return error instanceof Error ? error : new Error(String(error));
        }
      } while (this.again && !this.stopped);
      return undefined;
    })().finally(() => {
      this.running = null;
    });
    this.running = run;
    return run;
  }

  /** One catch-up, all read in one REPEATABLE READ transaction. */
  private async syncOnce(): Promise<void> {
    await withPooledClient(this.pool, async (client) => {
      await client.query(feedQuery('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY'));
      const feed = await readFeedState(client);
      const at = this.local.position();
      if (at.seq === feed.lastSeq && at.storeId === feed.storeId) {
        await client.query('COMMIT');
        return;
      }
      let full = at.seq === null || at.storeId !== feed.storeId || at.seq < feed.prunedThrough || at.seq > feed.lastSeq;
      if (!full && at.seq !== null) {
        const summary = await summarizeChanges(client, at.seq, feed.lastSeq);
        full = summary.wholeTables > 0 || summary.rows > this.fullLoadAbove;
      }
      if (full || at.seq === null) await this.loadEverything(client, feed);
      else await this.loadChanges(client, at.seq, feed);
      await client.query('COMMIT');
    });
  }

  private async loadEverything(client: PoolClient, feed: FeedState): Promise<void> {
    const started = Date.now();
    const load = this.local.beginFullLoad();
    try {
      for (const table of REPLICATED_TABLES) {
        await streamTable(client, table, this.local.columnsOf(table), this.batchRows, (rows) => load.append(table, rows));
        if (this.stopped) throw new Error('stopped during a full load');
      }
      load.commit(feed.lastSeq, feed.storeId);
    } catch (error) {
      load.abandon();
      throw error;
    }
    this.fullLoads += 1;
    this.logger?.info({ seq: feed.lastSeq, rows: load.rows, ms: Date.now() - started }, 'loaded the local copy from PostgreSQL');
    this.applied({ seq: feed.lastSeq, full: true, rows: load.rows });
  }

  private async loadChanges(client: PoolClient, fromSeq: number, feed: FeedState): Promise<void> {
    const keysByTable = new Map<string, unknown[][]>();
    for (const { entity, key } of await changedKeys(client, fromSeq, feed.lastSeq)) {
      if (key === null || !replicatedTable(entity)) continue; // whole tables went to a full load; other tables are not copied
      let keys = keysByTable.get(entity);
      if (!keys) keysByTable.set(entity, (keys = []));
      keys.push(JSON.parse(key) as unknown[]);
    }
    const changes: TableChanges[] = [];
    let count = 0;
    for (const [name, keys] of keysByTable) {
      const table = replicatedTable(name)!;
      const rows = [];
      for (let i = 0; i < keys.length; i += KEYS_PER_QUERY) {
        rows.push(...(await rowsByKey(client, table, this.local.columnsOf(table), keys.slice(i, i + KEYS_PER_QUERY))));
      }
      changes.push({ table, keys, rows });
      count += keys.length;
    }
    this.local.applyChanges(changes, feed.lastSeq, feed.storeId);
    this.changeBatches += 1;
    this.applied({ seq: feed.lastSeq, full: false, rows: count });
  }

  private applied(batch: AppliedBatch): void {
    this.current = batch.seq;
    this.emit('applied', batch);
  }

  private setState(state: ReplicaState): void {
    if (state === this.state) return;
    this.state = state;
    this.emit('state', state);
  }

  /** Checks the feed's newest seq; a catch-up follows if it moved (or went back: a restored database). */
  private schedulePoll(): void {
    if (this.stopped) return;
    this.pollTimer = setTimeout(() => {
      this.polling = this.poll().finally(() => {
        this.polling = null;
        this.schedulePoll();
      });
    }, this.pollEveryMs);
  }

  private async poll(): Promise<void> {
    if (this.running) return;
    try {
      const { rows } = await this.pool.query<{ seq: number }>(feedQuery(LAST_SEQ_SQL));
      if (rows[0]?.seq !== this.current) void this.requestCatchUp();
      else this.setState('connected');
    } catch (error) {
      if (this.state === 'connected') this.logger?.warn({ err: messageOf(error) }, 'PostgreSQL cannot be read: deciding from the local copy');
      this.setState('unreachable');
    }
  }

  /**
   * A dedicated connection for LISTEN (a pooled one would be handed to other work).
   * Resolves when this attempt has succeeded or failed; a failed one is retried with backoff.
   */
  private connectListener(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    const client = new Client({ ...(this.pool.options as ClientConfig), application_name: 'callguard replica', keepAlive: true });
    let lost = false;
    const onLost = (error?: Error) => {
      if (lost) return;
      lost = true;
      client.removeAllListeners('notification');
      client.end().catch(() => undefined);
      if (this.listener === client) {
        this.listener = null;
        this.listenerPid = null;
      }
      if (this.stopped) return;
      this.logger?.warn({ err: error ? messageOf(error) : 'connection ended', retryInMs: this.reconnectDelayMs }, 'lost the PostgreSQL LISTEN connection: reconnecting');
      this.reconnectTimer = setTimeout(() => void this.connectListener(), this.reconnectDelayMs);
      this.reconnectDelayMs = Math.min(this.reconnectDelayMs * 2, this.reconnectMaxMs);
    };
    client.on('error', onLost);
    client.on('end', () => onLost());
    client.on('notification', (message: Notification) => {
      if (message.channel !== CHANGES_CHANNEL) return;
      const seq = Number(message.payload);
      this.notifications += 1;
      this.emit('notification', seq);
      if (!(seq <= this.current)) void this.requestCatchUp();
    });
    return (async () => {
      await client.connect();
      await client.query(`LISTEN ${CHANGES_CHANNEL}`);
      const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      if (lost) return;
      if (this.stopped) {
        await client.end();
        return;
      }
      this.listener = client;
      this.listenerPid = rows[0]?.pid ?? null;
      this.reconnectDelayMs = this.reconnectFirstMs;
      this.emit('listening', this.listenerPid);
      void this.requestCatchUp(); // whatever was announced while nobody listened
    })().catch((error: Error) => onLost(error));
  }
}

/** Keys looked up per query in a catch-up. */
const KEYS_PER_QUERY = 5_000;

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
