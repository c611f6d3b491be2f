import { didOf } from './dataset';

/** How long one agent may take before the bench gives up on a rule ever arriving. */
const GIVE_UP_MS = 30_000;

/** Asks an agent's HTTP hook, as a switch would, until a call from `caller` is blocked; resolves with the time that took. */
async function untilBlocked(http: number, caller: string, since: number): Promise<number> {
  const path = `http://127.0.0.1:${http}/v1/decide?kind=call&from=${encodeURIComponent(caller)}&to=${encodeURIComponent(didOf(0))}`;
  for (;;) {
    const answer = await fetch(path);
    if (!answer.ok) throw new Error(`/v1/decide answered ${answer.status}: ${await answer.text()}`);
    const { action } = (await answer.json()) as { action: string };
    const elapsed = performance.now() - since;
    if (action === 'block') return elapsed;
    if (elapsed > GIVE_UP_MS) throw new Error(`a rule blocking ${caller} was not in effect on the agent on port ${http} after ${GIVE_UP_MS} ms`);
  }
}

/**
 * Rule propagation: for each round, `commit` stores a rule blocking a caller no rule
 * matched before, and the round takes as long as the slowest agent needed to block that
 * caller. Milliseconds per round, from the commit's return.
 */
export async function timePropagation(https: readonly number[], rounds: number, commit: (caller: string) => Promise<void>): Promise<number[]> {
  const times: number[] = [];
  for (let round = 0; round < rounds; round++) {
    // Area code 904: no bench rule or prefix reaches it (they stop at 900).
    const caller = `+1904555${1000 + round}`;
    await commit(caller);
    const committed = performance.now();
    const each = await Promise.all(https.map((http) => untilBlocked(http, caller, committed)));
    times.push(Math.max(...each));
  }
  return times;
}
