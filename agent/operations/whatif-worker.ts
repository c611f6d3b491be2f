import { parentPort, workerData } from 'node:worker_threads';
import { loggedCallPages } from '../replay/logged-call-pages';
import { openDatabase } from '../store/database';
import { sqliteBackends } from './store-backends';
import { tallyHere } from './whatif';
import type { WhatIfPart } from './whatif-threads';

/** A thread of a split replay (whatif-threads.ts): its part of the period, replayed from its own connection to the file, tallied and handed back. */
async function replayPart({ file, job }: WhatIfPart): Promise<void> {
  const db = openDatabase(file, { readonly: true });
  try {
    const backends = sqliteBackends(db).as(job.counted.acting.actor);
    const tally = await tallyHere(await backends.replayTables(), loggedCallPages(backends.calls), job);
    parentPort!.postMessage(tally.state());
  } finally {
    db.close();
  }
}

void replayPart(workerData as WhatIfPart).catch((error: unknown) => {
  // Thrown again outside the promise: the Worker's 'error' event carries it to the replay waiting for this part.
  setImmediate(() => {
    throw error;
  });
});
