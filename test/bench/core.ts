import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Database } from 'better-sqlite3';
import { decide } from '../../agent/engine/decide';
import { CategoryStore } from '../../agent/store/categories';
import { ProtectionStore } from '../../agent/store/protection';
import { openDatabase } from '../../agent/store/database';
import { SqliteDecisionStore } from '../../agent/store/decision-view';
import { packageRoot } from '../../agent/store/package-root';
import { TenantStore } from '../../agent/store/tenants';
import { EXACT_RULES, TENANTS, benchNumber, didOf, writeRulesCsv } from './dataset';
import { mb, ms, spread, timeUs, us } from './measure';
import type { Row } from './measure';

export const CALLGUARD_BIN = join(packageRoot(), 'bin', 'callguard.js');
const RSS_HOOK = join(packageRoot(), 'test', 'bench', 'rss-at-exit.js');

/** Runs the CLI as a fresh process; returns wall time and peak RSS. */
export function runCli(args: string[], dir: string): { wallMs: number; rss: number; stdout: string } {
  const rssFile = join(dir, `rss-${process.hrtime.bigint()}`);
  const start = process.hrtime.bigint();
  const result = spawnSync(process.execPath, ['--require', RSS_HOOK, CALLGUARD_BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, CALLGUARD_RSS_FILE: rssFile },
    maxBuffer: 64 * 1024 * 1024,
  });
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0) throw new Error(`callguard ${args.join(' ')} failed: ${result.stderr}`);
  return { wallMs, rss: Number(readFileSync(rssFile, 'utf8')), stdout: result.stdout };
}

/** Tenants and DIDs first (they must exist before rules name them), then the CSV import as the CLI runs it. */
export async function buildDatabase(dir: string, dbPath: string): Promise<Row[]> {
  const db = openDatabase(dbPath);
  const tenants = new TenantStore(db);
  db.transaction(() => {
    for (let t = 0; t < TENANTS; t++) {
      tenants.add(`t${t}`);
      tenants.addDid(didOf(t) as never, `t${t}`);
    }
  })();
  new CategoryStore(db).set('global', 'anonymous', 'challenge');
  new CategoryStore(db).set('global', 'invalid', 'block');
  db.close();
  const csv = join(dir, 'rules.csv');
  const count = await writeRulesCsv(csv);
  const imported = runCli(['--db', dbPath, 'rules', 'import', csv], dir);
  const parseOnly = csvParseMs(csv);
  return [
    {
      metric: `import ${count.toLocaleString('en-US')} rules from CSV (wall)`,
      measured: ms(imported.wallMs),
      target: '≤ 20000 ms',
      baseline: `csv-parse alone ${ms(parseOnly)}`,
      ok: imported.wallMs <= 20_000,
    },
    { metric: 'import peak RSS', measured: mb(imported.rss), target: '≤ 300 MB', baseline: '', ok: imported.rss <= 300 * 1024 * 1024 },
  ];
}

/** The baseline for the import: only reading and splitting the same file, in this process. */
function csvParseMs(csv: string): number {
  const { parse } = require('csv-parse/sync') as typeof import('csv-parse/sync');
  const start = process.hrtime.bigint();
  parse(readFileSync(csv), { skip_empty_lines: true, trim: true });
  return Number(process.hrtime.bigint() - start) / 1e6;
}

export interface DecisionTimes {
  readonly decision: ReturnType<typeof spread>;
  readonly lookup: ReturnType<typeof spread>;
}

/** A decision against one raw indexed point lookup on the same database, interleaved so both see the same noise. */
export function timeDecisions(dbPath: string, rounds: number, label: string): DecisionTimes {
  const db: Database = openDatabase(dbPath);
  const store = new SqliteDecisionStore(db);
  const pointLookup = db.prepare('SELECT * FROM rules WHERE key = ?');
  let seed = 12345;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  /** A third call a number with its own rule (to that rule's tenant), a third numbers only prefixes may catch, a third anyone. */
  const calls = (i: number): { from: string; to: string } => {
    const kind = i % 3;
    if (kind === 0) {
      const n = random(EXACT_RULES);
      return { from: benchNumber(n), to: didOf(n % TENANTS) };
    }
    const to = didOf(random(TENANTS));
    if (kind === 1) return { from: benchNumber(EXACT_RULES + random(400_000)), to };
    return { from: random(10) === 0 ? 'anonymous' : `+1${901 + random(98)}${2000000 + random(7000000)}`, to };
  };
  const decisionTimes: number[] = [];
  const lookupTimes: number[] = [];
  const actions = new Map<string, number>();
  const run = (measure: boolean) => {
    for (let i = 0; i < rounds; i++) {
      const { from, to } = calls(i);
      const key = benchNumber(random(EXACT_RULES));
      let action = '';
      const decision = timeUs(() => {
        action = decide({ kind: 'call', from, to }, store, { country: 'US', now: Date.now() }).action;
      });
      const lookup = timeUs(() => pointLookup.get(key));
      if (measure) {
        decisionTimes.push(decision);
        lookupTimes.push(lookup);
        actions.set(action, (actions.get(action) ?? 0) + 1);
      }
    }
  };
  run(false); // warm the page cache and the JIT
  run(true);
  db.close();
  const mix = [...actions].map(([action, n]) => `${action} ${Math.round((100 * n) / rounds)}%`).join(', ');
  console.log(`decisions measured ${label}: ${rounds.toLocaleString('en-US')} (${mix})`);
  return { decision: spread(decisionTimes), lookup: spread(lookupTimes) };
}

export function benchDecisions(dbPath: string, rounds = 200_000): Row[] {
  const { decision: decisionSpread, lookup: lookupSpread } = timeDecisions(dbPath, rounds, 'with protection off');
  const ratio = decisionSpread.median / lookupSpread.median;
  return [
    { metric: 'one decision, median', measured: us(decisionSpread.median), target: '≤ 50 µs', baseline: `point lookup ${us(lookupSpread.median)}`, ok: decisionSpread.median <= 50 },
    { metric: 'one decision, p99', measured: us(decisionSpread.p99), target: '≤ 200 µs', baseline: `point lookup ${us(lookupSpread.p99)}`, ok: decisionSpread.p99 <= 200 },
    { metric: 'decision ÷ point lookup (medians)', measured: `${ratio.toFixed(2)}×`, target: '≤ 3×', baseline: '', ok: ratio <= 3 },
  ];
}

/** `callguard explain` as a fresh process, against the million-rule database. */
export function benchExplain(dbPath: string, dir: string, runs = 15): Row[] {
  runCli(['--db', dbPath, 'explain', '--from', benchNumber(7), '--to', didOf(7)], dir);
  const walls: number[] = [];
  let nodeOnly = Infinity;
  for (let i = 0; i < runs; i++) {
    walls.push(runCli(['--db', dbPath, 'explain', '--from', benchNumber(i * 31), '--to', didOf(i)], dir).wallMs);
    const start = process.hrtime.bigint();
    spawnSync(process.execPath, ['-e', '0']);
    nodeOnly = Math.min(nodeOnly, Number(process.hrtime.bigint() - start) / 1e6);
  }
  const median = spread(walls).median;
  return [{ metric: '`callguard explain`, fresh process (median wall)', measured: ms(median), target: '≤ 300 ms', baseline: `bare node start ${ms(nodeOnly)}`, ok: median <= 300 }];
}

/** A million call-log rows (callers of the benchmark's numbers, over the last 30 days) for velocity and history to count. */
function fillCallLog(dbPath: string, rows = 1_000_000): void {
  const db = openDatabase(dbPath);
  const insert = db.prepare(`INSERT INTO calls (uid, at, kind, source, tenant, did, caller, action, reasons, outcome)
    VALUES (?, ?, 'call', 'bench', 'default', ?, ?, 'allow', '[]', ?)`);
  const now = Date.now();
  db.transaction(() => {
    for (let i = 0; i < rows; i++) {
      const outcome = i % 50 === 0 ? 'failed' : i % 50 === 1 ? 'passed' : 'continued';
      insert.run(`bench-${i}`, now - ((i * 2_591_999) % 2_592_000_000), didOf(i % TENANTS), benchNumber((i * 7) % (EXACT_RULES + 400_000)), outcome);
    }
  })();
  db.close();
}

/** The same decisions with protection on (velocity and history from a million call-log rows) against protection off. */
export function benchProtection(dbPath: string, rounds = 100_000): Row[] {
  fillCallLog(dbPath);
  const off = timeDecisions(dbPath, rounds, 'with protection off, 1M call-log rows');
  const db = openDatabase(dbPath);
  new ProtectionStore(db).set({ scope: 'global', enabled: true, threshold: 70, flagThreshold: 50, action: 'block' });
  db.close();
  const on = timeDecisions(dbPath, rounds, 'with protection on');
  const ratio = on.decision.median / off.decision.median;
  return [
    { metric: 'decision with protection on (median)', measured: us(on.decision.median), target: '', baseline: `protection off ${us(off.decision.median)}`, ok: true },
    { metric: 'protection on ÷ off (medians)', measured: `${ratio.toFixed(2)}×`, target: '≤ 2×', baseline: `point lookup ${us(on.lookup.median)}`, ok: ratio <= 2 },
  ];
}
