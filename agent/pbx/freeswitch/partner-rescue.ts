import type { Connection } from 'modesl';
import type { Logger } from '../../log/logger';
import { channelVariable, continueUnscreened, listChannels, rowText, WAITING_IN } from './parked-calls';
import { AGENT_MARK, aliveVariable, SCREENED_MARK } from './screen-marks';
import type { PairLetter } from '../pair';

/**
 * A call parked for the partner and still waiting this long after it was created cannot be
 * one its own fail-open transfer will send on (that runs within 2.5 s): the partner had
 * claimed it and died screening it.
 */
const STRANDED_AFTER_S = 4;
/** Calls are parked for a dead partner only until its heartbeat runs out: looking this long after is enough. */
const RESCUE_FOR_MS = 30_000;

/**
 * Inbound failover pair: a call the partner had taken and was screening when it died
 * (SIGKILL, a crash, a lost connection) waits in park for ever, since FreeSWITCH runs
 * nothing by itself for it. While the partner's heartbeat is a past epoch second (a clean
 * stop sets it to 0 and finishes its own calls), each beat looks for such calls and sends
 * them on unscreened: the partner may already have logged them, so they are not screened
 * again.
 */
export class PartnerRescue {
  private readonly heartbeat: string;
  /** When the partner's heartbeat was first seen run out, and which value it had. */
  private stale: { readonly since: number; readonly value: string } | null = null;
  private looking = false;

  constructor(
    private readonly partner: PairLetter,
    private readonly logger: Logger,
  ) {
    this.heartbeat = aliveVariable(partner);
  }

  /** Called on each of our own heartbeats while connected. */
  beat(conn: Connection): void {
    if (this.looking) return;
    this.looking = true;
    void this.look(conn).finally(() => (this.looking = false));
  }

  private async look(conn: Connection): Promise<void> {
    const value = await new Promise<string>((resolve) => conn.api('global_getvar', this.heartbeat, (reply) => resolve(reply.getBody()?.trim() ?? '')));
    const until = /^\d{1,12}$/.test(value) ? Number(value) : 0;
    const now = Date.now();
    if (until === 0 || until * 1000 > now) {
      this.stale = null;
      return;
    }
    if (this.stale?.value !== value) this.stale = { since: now, value };
    if (now - this.stale.since > RESCUE_FOR_MS) return;
    const oldEnough = Math.floor(now / 1000) - STRANDED_AFTER_S;
    const waiting = (await listChannels(conn)).filter(
      (row) => WAITING_IN.has(rowText(row.application)) && rowText(row.application) !== 'bridge' && Number(rowText(row.created_epoch)) <= oldEnough,
    );
    for (const row of waiting) {
      const [agent, screened] = await Promise.all([channelVariable(conn, row.uuid, AGENT_MARK), channelVariable(conn, row.uuid, SCREENED_MARK)]);
      if (agent === this.partner && screened === '') continueUnscreened(conn, row, this.logger, `call left by agent ${this.partner} of the pair, whose heartbeat ran out`);
    }
  }
}
