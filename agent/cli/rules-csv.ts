import { createReadStream, statSync } from 'node:fs';
import { once } from 'node:events';
import { BadInput } from '../engine/bad-input';
import type { CliContext } from './context';
import { cliActing } from '../operations/acting';
import type { RuleFlags } from '../operations/rule-options';
import { ImportRefused, exportRulesCsv, importRulesCsv } from '../operations/rules-csv';
import type { ImportFormat } from '../operations/rules-csv';

export { CSV_COLUMNS, parseImportFormat } from '../operations/rules-csv';
export type { ImportFormat } from '../operations/rules-csv';

/** A progress bar on a terminal; nothing when output goes to a file or a pipe. */
function progressBar(totalBytes: number): { update(bytes: number, rows: number): void; stop(): void } {
  if (!process.stdout.isTTY) return { update() {}, stop() {} };
  const { SingleBar, Presets } = require('cli-progress') as typeof import('cli-progress');
  const bar = new SingleBar({ format: 'importing [{bar}] {percentage}% | {rows} rows', hideCursor: true }, Presets.shades_classic);
  bar.start(totalBytes, 0, { rows: 0 });
  return {
    update(bytes, rows) {
      bar.update(bytes, { rows });
    },
    stop() {
      bar.stop();
    },
  };
}

/**
 * Streams a CSV file into one transaction through the import operation, on whichever store
 * was chosen: every row is written or none is, and a bad row names the file and its line.
 * Flags given on the command line override the columns.
 */
export async function importRules(ctx: CliContext, file: string, flags: Partial<RuleFlags>, format: ImportFormat = 'callguard'): Promise<void> {
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    throw new BadInput(`cannot read ${file}: no such file`);
  }
  const bar = progressBar(size);
  const input = createReadStream(file);
  let result;
  try {
    result = await importRulesCsv((await ctx.backends()).rules, cliActing(ctx.actor), input, { action: flags.action, scope: flags.scope, list: flags.list }, ctx.country, {
      format,
      label: `import ${file}`,
      onProgress: (bytes, rows) => bar.update(bytes, rows),
    });
  } catch (error) {
    if (error instanceof ImportRefused) throw new BadInput(error.from(file));
    throw error;
  } finally {
    input.destroy();
    bar.stop();
  }
  console.log(`imported ${result.rows} rule(s) from ${file}${result.skipped ? `; skipped ${result.skipped} row(s) without a new, complete number` : ''}`);
}

/** Writes the rules as CSV with a header, streaming, in the form importRules reads back. */
export async function exportRules(ctx: CliContext, flags: { list?: string; scope?: string }): Promise<void> {
  for await (const chunk of exportRulesCsv((await ctx.backends()).rules, cliActing(ctx.actor), flags, ctx.country)) {
    if (!process.stdout.write(chunk)) await once(process.stdout, 'drain');
  }
}
