import { copyFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { isValidNumber } from '../../agent/engine/full-metadata';
import type { E164 } from '../../agent/engine/types';
import { openDatabase } from '../../agent/store/database';
import { ruleKeysOf } from '../../agent/engine/decide';
import { loggedCallPages } from '../../agent/replay/logged-call-pages';
import { factsOfLoggedCall } from '../../agent/replay/logged-call';
import { NO_CHANGE } from '../../agent/replay/proposal';
import { replay } from '../../agent/replay/replay';
import { sqliteBackends } from '../../agent/operations/store-backends';
import { runCli } from './core';
import { EXACT_RULES, TENANTS, benchNumber, didOf } from './dataset';
import { mb, ms } from './measure';
import type { Row } from './measure';

const CALLS = 1_000_000;
const WEEK_MS = 7 * 86_400_000;
const PROPOSAL_RULES = 1000;

/**
 * A week of a million logged calls on a copy of the million-rule database (protection on):
 * a third from numbers with their own rule, a third from numbers only prefixes catch, a third
 * from anyone, some calling again within minutes (velocity), a few challenged.
 */
function fillWeek(dbPath: string, now: number): void {
  const db = openDatabase(dbPath);
  db.exec('DELETE FROM calls');
  const insert = db.prepare(`INSERT INTO calls (uid, at, kind, source, tenant, did, caller, caller_raw, facts, action, reasons, outcome, ended_at)
    VALUES (?, ?, 'call', 'bench', ?, ?, ?, ?, '{}', 'allow', '[]', ?, ?)`);
  db.transaction(() => {
    for (let i = 0; i < CALLS; i++) {
      const at = now - WEEK_MS + Math.floor((i * WEEK_MS) / CALLS);
      const kind = i % 3;
      const n = (i * 7919) % (kind === 0 ? EXACT_RULES : 400_000);
      // Every 40th call is from the caller of the call before: repeat callers, for velocity to count.
      const caller = i % 40 === 1 ? benchNumber(EXACT_RULES + ((i - 1) * 7919) % 400_000) : kind === 0 ? benchNumber(n) : kind === 1 ? benchNumber(EXACT_RULES + n) : `+1${901 + (i % 98)}${2000000 + ((i * 104729) % 7000000)}`;
      const tenant = i % TENANTS;
      const outcome = i % 50 === 0 ? 'failed' : i % 50 === 1 ? 'passed' : 'continued';
      insert.run(`week-${i}`, at, `t${tenant}`, didOf(tenant), caller, caller, outcome, at + 5000);
    }
  })();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
}

/** The same rows, read and decided the same way, each once as things are (a replay of no change): what a replay costs at the least. */
async function plainPassMs(dbPath: string, now: number): Promise<number> {
  const db = openDatabase(dbPath);
  try {
    const backends = sqliteBackends(db).as('bench');
    const start = process.hrtime.bigint();
    let decided = 0;
    await replay(await backends.replayTables(), loggedCallPages(backends.calls), { from: now - WEEK_MS, until: now }, NO_CHANGE, () => void decided++, 'US');
    if (decided < CALLS * 0.99) throw new Error(`the plain pass decided ${decided} calls, not about ${CALLS}`);
    return Number(process.hrtime.bigint() - start) / 1e6;
  } finally {
    db.close();
  }
}

/**
 * What any pass over the week costs before it decides anything, each part timed alone on one
 * thread: reading the rows, reading the rules of their keys, and libphonenumber's validity of
 * each caller (the score's invalid_number signal; each distinct number judged once).
 */
async function floorOfAPass(dbPath: string, now: number): Promise<{ rowsMs: number; rulesMs: number; validityMs: number; callers: number }> {
  const db = openDatabase(dbPath, { readonly: true });
  try {
    const backends = sqliteBackends(db).as('bench');
    const tables = await backends.replayTables();
    const elapsed = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6;
    const callers = new Set<E164>();
    let rowsMs = 0;
    let rulesMs = 0;
    let started = process.hrtime.bigint();
    for await (const page of loggedCallPages(backends.calls)({ from: now - WEEK_MS, until: now, velocitySince: now - WEEK_MS })) {
      rowsMs += elapsed(started);
      started = process.hrtime.bigint();
      const keys = new Set(page.flatMap((call) => ruleKeysOf(factsOfLoggedCall(call).facts, tables.view.shape, 'US')));
      tables.preloadRules([...keys]);
      rulesMs += elapsed(started);
      for (const call of page) if (call.caller !== null) callers.add(call.caller as E164);
      started = process.hrtime.bigint();
    }
    const start = process.hrtime.bigint();
    for (const caller of callers) isValidNumber(caller);
    return { rowsMs, rulesMs, validityMs: elapsed(start), callers: callers.size };
  } finally {
    db.close();
  }
}

/** A proposal of a thousand rules in the export format: numbers that call this week, blocked. */
function writeProposal(path: string): void {
  const lines = ['pattern,action,scope'];
  for (let i = 0; i < PROPOSAL_RULES; i++) lines.push(`${benchNumber(EXACT_RULES + ((i * 7919 * 3 + 1) % 400_000))},block,global`);
  writeFileSync(path, `${lines.join('\n')}\n`);
}

/** `callguard whatif` over a week of a million calls with a million rules in place, beside one plain pass of the same rows. */
export async function benchWhatIf(dbPath: string, dir: string): Promise<Row[]> {
  const copy = join(dir, 'whatif.db');
  const bench = openDatabase(dbPath);
  bench.pragma('wal_checkpoint(TRUNCATE)');
  bench.close();
  copyFileSync(dbPath, copy);
  const now = Date.now();
  fillWeek(copy, now);
  const proposal = join(dir, 'proposal.csv');
  writeProposal(proposal);
  // The rows were just written: the page cache is warm for the plain pass as for the replays after it.
  const plain = await plainPassMs(copy, now);
  const floor = await floorOfAPass(copy, now);
  const report = (stdout: string) => JSON.parse(stdout) as { calls: number; changed: number };
  const threshold = runCli(['--db', copy, 'whatif', '--since', '7d', '--threshold', '55', '--json'], dir);
  const rules = runCli(['--db', copy, 'whatif', '--since', '7d', '--rules-file', proposal, '--json'], dir);
  const [byThreshold, byRules] = [report(threshold.stdout), report(rules.stdout)];
  console.log(`whatif: ${byThreshold.calls.toLocaleString('en-US')} calls replayed; threshold 55 changes ${byThreshold.changed.toLocaleString('en-US')}, ${PROPOSAL_RULES} rules change ${byRules.changed.toLocaleString('en-US')}`);
  const rows = (label: string, run: { wallMs: number; rss: number }): Row[] => [
    { metric: `whatif ${label}, 1M calls, 1M rules (wall)`, measured: ms(run.wallMs), target: '≤ 10000 ms', baseline: `one plain pass, one thread ${ms(plain)}`, ok: run.wallMs <= 10_000 },
    { metric: `whatif ${label} ÷ plain pass`, measured: `${(run.wallMs / plain).toFixed(2)}×`, target: '< 2.5×', baseline: '', ok: run.wallMs / plain < 2.5 },
    { metric: `whatif ${label} peak RSS`, measured: mb(run.rss), target: '', baseline: '', ok: true },
  ];
  const cores = availableParallelism();
  const least = floor.rowsMs + floor.rulesMs + floor.validityMs;
  const floorRows: Row[] = [
    { metric: 'floor: reading the 1M rows, one thread', measured: ms(floor.rowsMs), target: '', baseline: '', ok: true },
    { metric: 'floor: reading the rules of their keys, one thread', measured: ms(floor.rulesMs), target: '', baseline: '', ok: true },
    { metric: `floor: validity of the ${floor.callers.toLocaleString('en-US')} distinct callers, one thread`, measured: ms(floor.validityMs), target: '', baseline: '', ok: true },
    { metric: `floor, shared by all ${cores} cores, before any decision`, measured: ms(least / cores), target: '', baseline: `one thread ${ms(least)}`, ok: true },
  ];
  return [...rows('--threshold 55', threshold), ...rows('--rules-file (1,000 rules)', rules), ...floorRows];
}
