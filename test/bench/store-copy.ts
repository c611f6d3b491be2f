import { dirname } from 'node:path';
import { COPIED_TABLES } from '../../agent/store/copied-tables';
import { openDatabase } from '../../agent/store/database';
import { runCli } from './core';
import { mb, ms } from './measure';
import type { Row } from './measure';

/** The baseline: only reading every row the copy carries from the SQLite file, in this process. */
function readAllMs(dbPath: string): { ms: number; rows: number } {
  const db = openDatabase(dbPath);
  try {
    const start = process.hrtime.bigint();
    let rows = 0;
    for (const table of COPIED_TABLES) {
      for (const row of db.prepare(`SELECT * FROM ${table.name}`).raw().iterate()) if (row) rows++;
    }
    return { ms: Number(process.hrtime.bigint() - start) / 1e6, rows };
  } finally {
    db.close();
  }
}

/**
 * `callguard store copy` of the benchmark's database (1,000,000 rules, and whatever call
 * log it holds by then) into `url`, an empty PostgreSQL database, as a fresh process,
 * beside reading the same rows from SQLite alone.
 */
export function benchStoreCopy(dbPath: string, url: string): Row[] {
  const read = readAllMs(dbPath);
  const copied = runCli(['store', 'copy', '--from', dbPath, '--to', url], dirname(dbPath));
  const rules = /rules (\d+)/.exec(copied.stdout)?.[1] ?? '?';
  const calls = /calls (\d+)/.exec(copied.stdout)?.[1] ?? '?';
  const what = `${Number(rules).toLocaleString('en-US')} rules, ${Number(calls).toLocaleString('en-US')} call-log rows`;
  return [
    {
      metric: `store copy SQLite → PostgreSQL, ${what} (wall)`,
      measured: ms(copied.wallMs),
      target: '≤ 30000 ms',
      baseline: `reading the ${read.rows.toLocaleString('en-US')} rows from SQLite alone ${ms(read.ms)}`,
      ok: copied.wallMs <= 30_000,
    },
    { metric: 'store copy peak RSS', measured: mb(copied.rss), target: '≤ 300 MB', baseline: '', ok: copied.rss <= 300 * 1024 * 1024 },
  ];
}
