import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Database } from 'better-sqlite3';
import { decide } from '../../agent/engine/decide';
import { openDatabase } from '../../agent/store/database';
import { SqliteDecisionStore } from '../../agent/store/decision-view';
import { TENANTS, didOf } from './dataset';
import { spread, timeUs, us } from './measure';
import type { Row } from './measure';

export const OUTBOUND_CALLS = 100_000;
const DAY = 86_400_000;

/** The k-th number a tenant's users called (tenant t(k % TENANTS)): area codes 901-998, exchanges 200-499, no rule of the benchmark's matches. */
function calledNumber(k: number): string {
  return `+1${901 + (k % 98)}${2000000 + ((k * 7919) % 3000000)}`;
}

/** The caller of the i-th call: every fifth one calls back a number its tenant called; the rest are numbers (exchanges 600-899) no one called. */
function callerOf(i: number): string {
  if (i % 5 === 0) return calledNumber((i % TENANTS) + TENANTS * ((i >> 10) % (OUTBOUND_CALLS / TENANTS)));
  return `+1${901 + (i % 98)}${6000000 + ((i * 7919) % 3000000)}`;
}

/**
 * A decision with 100,000 outbound calls in the store (spread over the last 29 days, every
 * tenant's) against the same decision with none (another copy of the database), the same
 * calls, a fifth of them callbacks, interleaved so both see the same noise.
 */
export function benchTrustedCallbacks(dbPath: string, dir: string, rounds = 100_000): Row[] {
  // Two fresh copies of the same database, so that neither side gains from a compacted file.
  const [withoutCalls, withCalls] = [join(dir, 'no-callbacks.db'), join(dir, 'callbacks.db')];
  const source = openDatabase(dbPath);
  for (const copy of [withoutCalls, withCalls]) source.prepare('VACUUM INTO ?').run(copy);
  source.close();
  const called = openDatabase(withCalls);
  const now = Date.now();
  const insert = called.prepare('INSERT INTO outbound_calls (tenant, number, caller, at) VALUES (?, ?, NULL, ?)');
  called.transaction(() => {
    for (let k = 0; k < OUTBOUND_CALLS; k++) insert.run(`t${k % TENANTS}`, calledNumber(k), now - (k % 29) * DAY - 1000);
  })();
  const plain: Database = openDatabase(withoutCalls);
  const stores = [new SqliteDecisionStore(plain), new SqliteDecisionStore(called)] as const;
  const times: [number[], number[]] = [[], []];
  /** The calls from numbers no one called: what the lookup costs a call it does not let through. */
  const strangers: [number[], number[]] = [[], []];
  const trusted = [0, 0];
  const run = (measure: boolean) => {
    for (let i = 0; i < rounds; i++) {
      const facts = { kind: 'call' as const, from: callerOf(i), to: didOf(i % TENANTS) };
      // Alternate which goes first, so neither always finds the other's pages cached.
      for (const which of i % 2 === 0 ? ([0, 1] as const) : ([1, 0] as const)) {
        let last = '';
        const took = timeUs(() => {
          last = decide(facts, stores[which], { country: 'US', now }).reasons.at(-1) ?? '';
        });
        if (measure) {
          times[which].push(took);
          if (i % 5 !== 0) strangers[which].push(took);
          if (last.startsWith('You called this number')) trusted[which]! += 1;
        }
      }
    }
  };
  run(false);
  run(true);
  plain.close();
  called.close();
  for (const copy of [withoutCalls, withCalls]) rmSync(copy, { force: true });
  const [without, withRows] = [spread(times[0]), spread(times[1])];
  const ratio = withRows.median / without.median;
  const [strangersWithout, strangersWith] = [spread(strangers[0]), spread(strangers[1])];
  console.log(`trusted-callback decisions measured: ${rounds.toLocaleString('en-US')} each (callbacks trusted: ${trusted[0]} without outbound calls, ${trusted[1]} with)`);
  return [
    { metric: `decision with ${OUTBOUND_CALLS.toLocaleString('en-US')} outbound calls, a fifth callbacks (median)`, measured: us(withRows.median), target: '', baseline: `no outbound calls ${us(without.median)}`, ok: trusted[1] === Math.ceil(rounds / 5) },
    { metric: 'decision with outbound calls, p99', measured: us(withRows.p99), target: '', baseline: `no outbound calls ${us(without.p99)}`, ok: true },
    { metric: 'the same, callers no one called (median)', measured: us(strangersWith.median), target: '', baseline: `no outbound calls ${us(strangersWithout.median)}`, ok: true },
    { metric: 'outbound calls ÷ none (medians)', measured: `${ratio.toFixed(2)}×`, target: '≤ 1.2×', baseline: '', ok: ratio <= 1.2 },
  ];
}
