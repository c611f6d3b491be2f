let sequence = 0;
/** This process's part of every uid it gives: a fleet's history follower knows its own rows by it. */
export const processPart = `${process.pid.toString(36)}${Math.floor(Math.random() * 36 ** 4).toString(36).padStart(4, '0')}`;

/**
 * The handle that ties a call's outcome to its decision row. Time first, so the unique
 * index only ever grows at its end (a random UUID scattered every insert across it);
 * the process part and a counter keep two agents on one database apart.
 */
export function callUid(now = Date.now()): string {
  sequence = (sequence + 1) % 36 ** 4;
  return `${now.toString(36).padStart(9, '0')}-${processPart}-${sequence.toString(36).padStart(4, '0')}`;
}
