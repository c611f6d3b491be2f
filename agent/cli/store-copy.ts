import type { Command } from 'commander';
import { copyBetween } from '../store/copy-between';
import type { CopyProgress } from '../store/store-copy';

/** A bar on stderr while stderr is a terminal (stdout keeps the one-line report); nothing otherwise. */
function progressOnStderr(): { onProgress: CopyProgress; stop(): void } {
  if (!process.stderr.isTTY) return { onProgress: () => {}, stop: () => {} };
  const { SingleBar, Presets } = require('cli-progress') as typeof import('cli-progress');
  const bar = new SingleBar({ format: 'copying [{bar}] {percentage}% | {value}/{total} rows | {table}', stream: process.stderr, hideCursor: true }, Presets.shades_classic);
  let started = false;
  return {
    onProgress: (done, total, table) => {
      if (!started) bar.start(total, done, { table });
      started = true;
      bar.update(done, { table });
    },
    stop: () => bar.stop(),
  };
}

export function registerStoreCopy(program: Command): void {
  program
    .command('store')
    .description('move a store between a SQLite file and PostgreSQL')
    .command('copy')
    .description(
      'copy every rule, setting, user, token and call-log row from one store into an empty one, in one transaction, then check each table\'s row count; a new SQLite file or a PostgreSQL database without the schema is given it first (console sessions are not copied: sign in again)',
    )
    .requiredOption('--from <source>', 'the store to copy: a SQLite file or postgres://user:password@host:5432/database')
    .requiredOption('--to <target>', 'the empty store to fill: a SQLite file (made if missing) or postgres://…')
    .action(async (flags: { from: string; to: string }) => {
      const started = Date.now();
      const progress = progressOnStderr();
      let report;
      try {
        report = await copyBetween(flags.from, flags.to, progress.onProgress);
      } finally {
        progress.stop();
      }
      const rows = report.tables.reduce((sum, table) => sum + table.rows, 0);
      const tables = report.tables.map((table) => `${table.table} ${table.rows}`).join(', ');
      console.log(`copied ${rows} row(s) from ${report.from} to ${report.to} in ${((Date.now() - started) / 1000).toFixed(1)} s, every table's count checked: ${tables}`);
      for (const note of report.notes) console.log(`note: ${note}`);
    });
}
