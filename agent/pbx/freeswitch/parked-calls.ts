import type { Connection } from 'modesl';
import type { Logger } from '../../log/logger';
import { routeToken } from './esl-text';
import { SCREENED_MARK } from './screen-marks';

/** A channel as `show channels as json` lists it: the columns read here. */
export interface ChannelRow {
  readonly uuid: string;
  readonly application?: unknown;
  readonly dest?: unknown;
  readonly context?: unknown;
  readonly cid_num?: unknown;
  readonly cid_name?: unknown;
  readonly ip_addr?: unknown;
  readonly created_epoch?: unknown;
}

const CHANNEL_UUID = /^[0-9A-Fa-f-]{1,64}$/;

export const rowText = (value: unknown): string => (typeof value === 'string' ? value : '');

/**
 * Where a call waits for nobody once its screening connection is gone: in park, or back in
 * park after one of the applications screening runs (`show channels` names the last one),
 * a forward that had not connected included. A call in voicemail is left to it.
 */
export const WAITING_IN: ReadonlySet<string> = new Set(['park', 'pre_answer', 'answer', 'playback', 'play_and_get_digits', 'set', 'bridge']);

/** Every channel on the switch, with a uuid safe to put into a command. */
export function listChannels(conn: Connection): Promise<ChannelRow[]> {
  return new Promise((resolve) => {
    conn.api('show', 'channels as json', (reply) => {
      let rows: unknown;
      try {
        rows = (JSON.parse(reply.getBody() ?? '') as { rows?: unknown }).rows;
      } catch {
        rows = [];
      }
      resolve((Array.isArray(rows) ? rows : []).filter((row): row is ChannelRow => typeof row?.uuid === 'string' && CHANNEL_UUID.test(row.uuid)));
    });
  });
}

/** One channel variable (`_undef_` and empty both read as ''). */
export function channelVariable(conn: Connection, uuid: string, name: string): Promise<string> {
  return new Promise((resolve) => {
    conn.api('uuid_getvar', `${uuid} ${name}`, (reply) => {
      const value = reply.getBody()?.trim() ?? '';
      resolve(value === '_undef_' ? '' : value);
    });
  });
}

/**
 * Through to the normal route unscreened, as allow would (marked screened, transferred back
 * to its own number); cleared if its destination is not plainly safe to transfer to.
 */
export function continueUnscreened(conn: Connection, row: ChannelRow, logger: Logger, why: string): void {
  logger.warn({ channel: row.uuid }, `${why}: continuing it unscreened`);
  const destination = routeToken(rowText(row.dest));
  const context = routeToken(rowText(row.context));
  if (!destination || !context) {
    conn.api('uuid_kill', `${row.uuid} NORMAL_CLEARING`);
    return;
  }
  conn.api('uuid_setvar', `${row.uuid} ${SCREENED_MARK} true`);
  conn.api('uuid_transfer', `${row.uuid} ${destination} XML ${context}`);
}
