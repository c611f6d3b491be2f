import type { Pool } from 'pg';
import { parseDuration } from '../../engine/duration';
import type { ScoreSettings } from '../../engine/score-settings';
import type { Logger } from '../../log/logger';
import { processPart } from '../call-uid';
import { FOLLOW, FOLLOWED_CALL_SQL, PRUNE, followParameters, pruneParameters } from '../followed-calls';
import type { FollowedCall } from '../followed-calls';
import { LogWriter } from '../log-writer';
import type { StoreState } from './log-shipper';

export interface FleetHistoryOptions {
  /** How often PostgreSQL is asked for the calls other agents logged since the last time. */
  readonly pollEveryMs?: number;
  /** Longest wait between tries while PostgreSQL is away (doubled from pollEveryMs). */
  readonly retryMaxMs?: number;
  /** How often followed rows past the windows are deleted. */
  readonly pruneEveryMs?: number;
}

/** The columns history reads, of the rows the other agents logged: calls within the velocity window, challenge outcomes within the history window. */
const WANTED = `c.caller IS NOT NULL
   AND (c.at >= $1 OR (c.at >= $2 AND c.outcome IN ('passed', 'failed')))
   AND split_part(c.uid, '-', 2) <> $3`;

/**
 * Every statement also reads where the next one starts: the transactions its snapshot
 * could not see, those still running (xip) and those not begun (from xmax on). The next
 * read takes the rows those wrote (`history_xact`, migrations/postgres/002_fleet_history.sql):
 * none is missed whichever order the shippers commit in, and a long transaction elsewhere
 * holds back nothing but its own rows.
 */
const FRONTIER = `WITH frontier AS (
  SELECT pg_snapshot_xmax(s)::text AS xmax, ARRAY(SELECT x::text FROM pg_snapshot_xip(s) AS x) AS xip
    FROM (SELECT pg_current_snapshot() AS s) AS now)`;
const COLUMNS = 'frontier.xmax, frontier.xip, c.uid, c.at, c.tenant, c.did, c.caller, c.outcome';

/** At start: the windows as they are now, found by time (rows from before the migration carry no transaction). */
const WINDOWS_SQL = `${FRONTIER} SELECT ${COLUMNS} FROM frontier LEFT JOIN calls AS c ON ${WANTED}`;

/** Then: what the transactions unseen at the last read wrote, inserts and outcomes alike. */
const SINCE_SQL = `${FRONTIER} SELECT ${COLUMNS} FROM frontier LEFT JOIN calls AS c
    ON (c.history_xact >= $4::xid8 OR c.history_xact = ANY ($5::xid8[])) AND ${WANTED}`;

/** The transactions a read could not see. */
interface Unseen {
  readonly xmax: string;
  readonly xip: readonly string[];
}

type FollowedRow = Unseen & ({ uid: null } | FollowedCall);

/**
 * Fleet-wide history for an agent with a PostgreSQL store: follows the calls every other
 * agent logged into `calls` (and their outcomes, e.g. a challenge failed there) into the
 * local copy's followed_calls, which the decision store counts beside this agent's own
 * log. A decision reads them locally and never waits on the network; they are as fresh as
 * the other agent's shipping plus one poll (about half a second). Only what history
 * reads, only within its windows (the score settings as the local copy has them); this
 * agent's own rows are left out (they are in its log already, by uid). Rows are written by
 * a thread of their own, so a large batch never pauses the calls being answered.
 */
export class FleetHistoryFollower {
  state: StoreState = 'connected';
  /** Rows read from PostgreSQL since start (a row read again after its outcome changed counts again). */
  followed = 0;
  /** When the last read finished: history counts what other agents had shipped by then. */
  lastReadAt: number | null = null;

  private readonly writer: LogWriter;
  private readonly pollEveryMs: number;
  private readonly retryMaxMs: number;
  private readonly pruneEveryMs: number;
  /** Where the next read starts; null until the windows were read once. */
  private unseen: Unseen | null = null;
  private waitMs: number;
  private timer: NodeJS.Timeout | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  private reading: Promise<void> | null = null;
  private stopped = false;

  /** `localPath`: the local copy, whose followed_calls exists already (createFollowedCalls). */
  constructor(
    private readonly pool: Pool,
    localPath: string,
    private readonly settings: () => ScoreSettings,
    private readonly logger: Logger,
    options: FleetHistoryOptions = {},
  ) {
    this.pollEveryMs = options.pollEveryMs ?? 250;
    this.retryMaxMs = options.retryMaxMs ?? 5_000;
    this.pruneEveryMs = options.pruneEveryMs ?? 60_000;
    this.waitMs = this.pollEveryMs;
    this.writer = new LogWriter(localPath, FOLLOWED_CALL_SQL, logger);
  }

  /** Reads the windows at once, then follows; never throws (PostgreSQL away: tried again, the state says so). */
  start(): void {
    this.schedule(0);
    this.prune();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.pruneTimer);
    await this.reading;
    await this.writer.stop();
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.reading = this.readOnce().finally(() => {
        this.reading = null;
        this.schedule(this.waitMs);
      });
    }, ms);
  }

  private async readOnce(): Promise<void> {
    const { velocitySince, historySince } = this.windows();
    const parameters: unknown[] = [velocitySince, historySince, processPart];
    try {
      const { rows } = this.unseen === null
        ? await this.pool.query<FollowedRow>(WINDOWS_SQL, parameters)
        : await this.pool.query<FollowedRow>(SINCE_SQL, [...parameters, this.unseen.xmax, this.unseen.xip]);
      const followed = rows.filter((row): row is Unseen & FollowedCall => row.uid !== null);
      this.writer.post(followed.map((row) => [FOLLOW, followParameters(row)]));
      this.followed += followed.length;
      this.unseen = rows[0] ? { xmax: rows[0].xmax, xip: rows[0].xip } : this.unseen;
      this.lastReadAt = Date.now();
      this.waitMs = this.pollEveryMs;
      this.setState('connected');
    } catch (error) {
      this.waitMs = Math.min(this.waitMs * 2, this.retryMaxMs);
      if (this.state === 'connected') this.logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'cannot read the fleet\'s calls from PostgreSQL: history counts this agent\'s calls and those followed so far until it can');
      this.setState('unreachable');
    }
  }

  /** Drops the followed rows no window counts any more. */
  private prune(): void {
    if (this.stopped) return;
    const { velocitySince, historySince } = this.windows();
    this.writer.post([[PRUNE, pruneParameters(velocitySince, historySince)]]);
    this.pruneTimer = setTimeout(() => this.prune(), this.pruneEveryMs);
  }

  private windows(now = Date.now()): { velocitySince: number; historySince: number } {
    const settings = this.settings();
    return {
      velocitySince: now - parseDuration(settings.velocity_window, 'velocity_window'),
      historySince: now - parseDuration(settings.history_window, 'history_window'),
    };
  }

  private setState(state: StoreState): void {
    if (state === this.state) return;
    this.state = state;
    if (state === 'connected') this.logger.info('following the fleet\'s calls from PostgreSQL again');
  }
}
