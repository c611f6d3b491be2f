import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { WhatIfTally } from '../replay/whatif-report';
import type { TallyState } from '../replay/whatif-report';
import { packageRoot } from '../store/package-root';
import type { ReplaySplit } from './store-backends';
import type { WhatIfJob } from './whatif';

/** How many threads share a replay, and from how many calls a period is worth splitting (a thread takes a moment to start). */
export interface Threading {
  readonly threads: number;
  readonly fromCalls: number;
}

/** One thread per core, up to four; a period of fewer than 50,000 calls is replayed here. */
export const DEFAULT_THREADING: Threading = { threads: Math.min(availableParallelism(), 4), fromCalls: 50_000 };

/** What a thread is handed: the store's file and its part of the job. */
export interface WhatIfPart {
  readonly file: string;
  readonly job: WhatIfJob;
}

/** The compiled thread's script (whatif-worker.js), also when this runs from the TypeScript source (tests). */
function workerScript(): string {
  const beside = join(__dirname, 'whatif-worker.js');
  return existsSync(beside) ? beside : join(packageRoot(), 'dist', 'agent', 'operations', 'whatif-worker.js');
}

/**
 * Replays the job's period in parts side by side, one thread each, every thread reading the
 * store itself, and tallies the parts in time order: the same tally one pass makes (each part
 * counts its callers' history from before it, as a pass does). Null when the store cannot be
 * split or the period is too small to be worth it: the caller replays it in one pass.
 */
export async function tallyInThreads(split: ReplaySplit | null, job: WhatIfJob, threading: Threading): Promise<WhatIfTally | null> {
  if (!split || threading.threads < 2) return null;
  const boundaries = await split.boundaries(job.period, threading.threads, threading.fromCalls);
  if (boundaries.length === 0) return null;
  const edges = [job.period.from, ...boundaries, job.period.until];
  const workers: Worker[] = [];
  try {
    const parts = await Promise.all(edges.slice(1).map((until, i) => inThread({ file: split.file, job: { ...job, period: { from: edges[i]!, until } } }, workers)));
    const tally = new WhatIfTally(job.list);
    for (const part of parts) tally.absorb(part);
    return tally;
  } catch (error) {
    // One part failed: the others are not waited for.
    await Promise.all(workers.map((worker) => worker.terminate()));
    throw error;
  }
}

function inThread(part: WhatIfPart, workers: Worker[]): Promise<TallyState> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(workerScript(), { workerData: part });
    workers.push(worker);
    let answered = false;
    worker.once('message', (state: TallyState) => {
      answered = true;
      resolve(state);
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (!answered) reject(new Error(`a replay thread stopped (exit code ${code}) before it answered`));
    });
  });
}
