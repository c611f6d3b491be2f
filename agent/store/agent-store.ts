import type { Database } from 'better-sqlite3';
import type { Pool } from 'pg';
import type { StoreChoice } from '../config/store-choice';
import type { Logger } from '../log/logger';
import { CALL_SQL, CallLog } from './call-log';
import type { CallSink } from './call-log';
import { createPrivately, openDatabase } from './database';
import { SqliteDecisionStore } from './decision-view';
import { createFollowedCalls } from './followed-calls';
import { LogWriter } from './log-writer';
import { FleetCallLog } from './postgres/fleet-call-log';
import { FleetHistoryFollower } from './postgres/fleet-history';
import { keepFleetStoreTidy } from './postgres/fleet-housekeeping';
import { fleetFiles } from './postgres/local-files';
import { LogQueue } from './postgres/log-queue';
import { LogShipper } from './postgres/log-shipper';
import { PostgresReplica } from './postgres/replica';
import { StoreUnavailable, connectStore, requireSchema } from './postgres/store-unavailable';

/** What /healthz and the metrics say of the store. */
export type StoreStatus =
  | { readonly kind: 'sqlite' }
  | { readonly kind: 'postgres'; readonly state: 'connected' | 'unreachable'; readonly queueDepth: number };

/** What `serve` decides from and logs to, whichever the store. */
export interface AgentStore {
  /** The SQLite database decisions read: the store itself, or the local copy of PostgreSQL's decision tables. */
  readonly db: Database;
  /** What the engine decides from: rules and lists from `db`, history from this agent's log (and with PostgreSQL, the fleet's). */
  readonly decisions: SqliteDecisionStore;
  readonly log: CallSink;
  /** A fleet's PostgreSQL (null with the SQLite store): where what the agent changes for the whole fleet goes (block-last's rule). */
  readonly postgres: Pool | null;
  status(): StoreStatus;
  /** Writes what is left; with PostgreSQL delivers what it can within `graceMs`, the rest stays queued for the next start. */
  close(graceMs: number): Promise<void>;
}

/** The fleet's call log and change feed are pruned hourly, as a SQLite agent prunes its file. */
const TIDY_EVERY_MS = 60 * 60_000;

/** A local connection's wait for the call-log thread (its transactions take milliseconds). */
const LOCAL_BUSY_MS = 2000;

/** The SQLite store, as `serve` always ran. */
function sqliteStore(db: Database, logger: Logger): AgentStore {
  // The agent never waits on a lock: decisions only read (WAL), and the call log retries its batch.
  db.pragma('busy_timeout = 0');
  // Call-log rows are written (and the WAL checkpointed) by a thread of their own: never on the call path.
  const writer = new LogWriter(db.name, CALL_SQL, logger);
  const log = new CallLog(db, { writer });
  return {
    db,
    decisions: new SqliteDecisionStore(db),
    log,
    postgres: null,
    status: () => ({ kind: 'sqlite' }),
    async close() {
      log.close();
      await writer.stop();
    },
  };
}

/**
 * A fleet's PostgreSQL store: refused on a schema this callguard cannot work with; the
 * decision tables followed into a local copy (decisions never wait on the network); the
 * call log queued in a local file and shipped (nothing lost while PostgreSQL is away);
 * the calls the other agents logged followed into the local copy for history.
 */
async function postgresStore(url: string, sqlitePath: string, logger: Logger): Promise<AgentStore> {
  const store = await connectStore(url, { logger, applicationName: 'callguard serve' });
  const files = fleetFiles(sqlitePath);
  const opened: { db?: Database; replica?: PostgresReplica; queue?: LogQueue } = {};
  try {
    await requireSchema(store, url);
    opened.db = openDatabase(files.replica, { busyTimeoutMs: LOCAL_BUSY_MS });
    createFollowedCalls(opened.db);
    try {
      opened.replica = await PostgresReplica.start(store.pool, opened.db, logger);
    } catch (error) {
      throw new StoreUnavailable(`cannot load the rules from PostgreSQL at ${store.address.label}: ${error instanceof Error ? error.message : String(error)}`);
    }
    createPrivately(files.queue);
    opened.queue = new LogQueue(files.queue);
  } catch (error) {
    await opened.replica?.stop();
    opened.db?.close();
    await store.pool.end();
    throw error;
  }
  const { db, replica, queue } = opened as Required<typeof opened>;
  const writer = new LogWriter(db.name, CALL_SQL, logger);
  const localLog = new CallLog(db, { writer });
  const shipper = new LogShipper(queue, store.pool, { logger });
  shipper.start();
  const decisions = new SqliteDecisionStore(db, { fleetHistory: true });
  const history = new FleetHistoryFollower(store.pool, db.name, () => decisions.view().score, logger);
  history.start();
  const tidy = () => {
    keepFleetStoreTidy(store.pool).then(
      (done) => {
        if (done.calls + done.changes + done.outboundCalls > 0) {
          logger.info({ calls: done.calls, changes: done.changes, outboundCalls: done.outboundCalls }, 'pruned the fleet store: call-log rows past the retention, old change-feed rows and outbound calls');
        }
      },
      (error: unknown) => logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'could not prune the fleet store this time; the next pass tries again'),
    );
  };
  tidy();
  const tidying = setInterval(tidy, TIDY_EVERY_MS);
  logger.info({ store: store.address.label, replica: files.replica, queue: files.queue, queued: queue.depth() }, 'deciding from the local copy of PostgreSQL; the call log ships through the local queue');
  return {
    db,
    decisions,
    log: new FleetCallLog(queue, localLog),
    postgres: store.pool,
    status: () => ({
      kind: 'postgres',
      state: replica.state === 'connected' && shipper.state === 'connected' && history.state === 'connected' ? 'connected' : 'unreachable',
      queueDepth: shipper.depth,
    }),
    async close(graceMs) {
      clearInterval(tidying);
      localLog.close();
      await writer.stop();
      await shipper.stop(graceMs);
      const queued = shipper.depth;
      const lost = queue.close();
      if (lost > 0) logger.error({ lost }, 'call-log rows could not be written to the local queue before stopping');
      logger.info({ queued, delivered: shipper.deliveredCalls }, 'the call-log queue is closed; rows still queued are delivered at the next start');
      await history.stop();
      await replica.stop();
      await store.pool.end();
      db.close();
    },
  };
}

/** `sqlitePath` is the SQLite file, or with PostgreSQL where the local files go (named after it); `sqlite` opens that file. */
export function openAgentStore(choice: StoreChoice, sqlitePath: string, sqlite: () => Database, logger: Logger): Promise<AgentStore> {
  return choice.kind === 'postgres' ? postgresStore(choice.url, sqlitePath, logger) : Promise.resolve(sqliteStore(sqlite(), logger));
}
