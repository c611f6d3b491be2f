import { chmodSync, closeSync, existsSync, openSync, renameSync, rmSync } from 'node:fs';
import type { Command } from 'commander';
import BetterSqlite3 from 'better-sqlite3';
import { BadInput } from '../engine/bad-input';
import { withContext } from './action';

/**
 * An online, consistent copy through SQLite's backup API: a running agent keeps
 * deciding and logging while it is taken. Written beside the target and renamed into
 * place only when complete and checked, so a failed backup leaves no half file.
 */
export function registerBackup(program: Command): void {
  program
    .command('backup <file>')
    .description('copy the database while callguard runs (SQLite online backup); restore: stop callguard, copy the file back')
    .option('--force', 'overwrite an existing file')
    .action(
      withContext(async (ctx, file: string, flags: { force?: boolean }) => {
        if (existsSync(file) && !flags.force) throw new BadInput(`${file} exists: pass --force to overwrite it`);
        const partial = `${file}.partial-${process.pid}`;
        try {
          // Owner-only from the first byte: the copy holds every rule and call.
          closeSync(openSync(partial, 'w', 0o600));
          chmodSync(partial, 0o600);
          await ctx.db.backup(partial);
          const copy = new BetterSqlite3(partial);
          // A backup is one self-contained file: no -wal or -shm beside it.
          copy.pragma('journal_mode = DELETE');
          const check = copy.pragma('integrity_check', { simple: true });
          const rules = copy.prepare('SELECT COUNT(*) FROM rules').pluck().get() as number;
          const calls = copy.prepare('SELECT COUNT(*) FROM calls').pluck().get() as number;
          copy.close();
          if (check !== 'ok') throw new Error(`the copy failed its integrity check: ${String(check)}`);
          renameSync(partial, file);
          console.log(`backed up ${ctx.dbPath} to ${file} (${rules} rules, ${calls} call-log rows; integrity ok)`);
        } finally {
          for (const leftover of [partial, `${partial}-wal`, `${partial}-shm`, `${partial}-journal`]) rmSync(leftover, { force: true });
        }
      }),
    );
}
