import { performance } from 'node:perf_hooks';

/**
 * Keeps `lanes` calls going, each lane placing its next as soon as its last is over, for
 * `warmupMs` and then `measureMs`; the calls finished per second while measured.
 */
export async function sustainedLanes(lanes: number, place: (lane: number) => Promise<unknown>, warmupMs: number, measureMs: number): Promise<number> {
  let finished = 0;
  let measuring = false;
  let running = true;
  const going = Array.from({ length: lanes }, async (_, lane) => {
    while (running) {
      await place(lane);
      if (measuring) finished++;
    }
  });
  await new Promise((resolve) => setTimeout(resolve, warmupMs));
  measuring = true;
  const start = performance.now();
  await new Promise((resolve) => setTimeout(resolve, measureMs));
  const rate = (finished * 1000) / (performance.now() - start);
  running = false;
  await Promise.all(going);
  return rate;
}
