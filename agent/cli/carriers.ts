import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { BadInput } from '../engine/bad-input';
import { parsePattern } from '../engine/patterns';
import { cliActing } from '../operations/acting';
import { addCarrier, importCarrierPrefixes, listCarriers, removeCarrierPattern } from '../operations/carriers';
import { withContext } from './action';
import { printJson, printTable } from './print';

/** `201-202`, `201-202-3`, `+1404555`, `1404555`: a number prefix key, or a BadInput naming the line. */
function prefixKey(text: string, country: string, where: string): string {
  const trimmed = text.trim();
  // NANPA's own forms are NANP whatever the default country.
  if (/^[2-9]\d{2}-[2-9]\d{2}(-\d)?$/.test(trimmed)) return `+1${trimmed.replace(/-/g, '')}`;
  try {
    const spec = parsePattern(`${trimmed}*`, country);
    if (spec.kind === 'prefix') return spec.key;
  } catch {
    // reported below with the line
  }
  throw new BadInput(`${where}: bad prefix "${text}": expected NPA-NXX (201-202), NPA-NXX-X (201-202-3) or digits`);
}

/**
 * NANPA's tab-separated utilisation files (State, NPA-NXX or NPA-NXX-X, OCN, Company, …)
 * or a plain `prefix,carrier` CSV (a header line is allowed).
 */
export function readCarrierPrefixes(file: string, country: string): [string, string][] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new BadInput(`cannot read ${file}: no such file`);
  }
  const lines = text.split(/\r?\n/);
  const header = lines[0] ?? '';
  const rows: [string, string][] = [];
  if (header.includes('\t')) {
    const names = header.split('\t').map((name) => name.trim().toLowerCase());
    const prefixColumn = names.findIndex((name) => name === 'npa-nxx-x' || name === 'npa-nxx');
    const companyColumn = names.indexOf('company');
    if (prefixColumn < 0 || companyColumn < 0) throw new BadInput(`${file}: a tab-separated file needs NPA-NXX (or NPA-NXX-X) and Company columns`);
    lines.slice(1).forEach((line, i) => {
      if (line.trim() === '') return;
      const cells = line.split('\t');
      const company = cells[companyColumn]?.trim();
      if (!company) throw new BadInput(`${file} line ${i + 2}: no company`);
      rows.push([prefixKey(cells[prefixColumn] ?? '', country, `${file} line ${i + 2}`), company]);
    });
    return rows;
  }
  const { parse } = require('csv-parse/sync') as typeof import('csv-parse/sync');
  let records: string[][];
  try {
    records = parse(text, { relax_column_count: true, skip_empty_lines: true, trim: true, bom: true });
  } catch (error) {
    throw new BadInput(`${file}: not valid CSV (${error instanceof Error ? error.message : String(error)})`);
  }
  records.forEach((record, i) => {
    if (i === 0 && !/\d/.test(record[0] ?? '')) return; // header
    const [prefix, carrier] = record;
    if (!carrier) throw new BadInput(`${file} line ${i + 1}: expected prefix,carrier`);
    rows.push([prefixKey(prefix ?? '', country, `${file} line ${i + 1}`), carrier]);
  });
  return rows;
}

export function registerCarriers(program: Command): void {
  const carriers = program.command('carriers').description('carrier rules (part of robocall protection) and the prefix → carrier table');
  carriers
    .command('add <pattern>')
    .description('reject calls whose carrier name contains this (case-insensitive) when protection is on')
    .option('--scope <scope>', 'global, tenant:<name> or did:<number>', 'global')
    .action(
      withContext(async (ctx, pattern: string, flags: { scope?: string }) => {
        const row = await addCarrier(await ctx.backends(), cliActing(ctx.actor), { pattern, scope: flags.scope }, ctx.country);
        console.log(`added carrier rule #${row.id} "${row.pattern}" (${row.scope})`);
      }),
    );
  carriers
    .command('remove <pattern>')
    .description('remove a carrier rule (from every scope unless --scope)')
    .option('--scope <scope>', 'only in this scope')
    .action(
      withContext(async (ctx, pattern: string, flags: { scope?: string }) => {
        const removed = await removeCarrierPattern(await ctx.backends(), cliActing(ctx.actor), { pattern, scope: flags.scope }, ctx.country);
        for (const row of removed) console.log(`removed carrier rule #${row.id} "${row.pattern}" (${row.scope})`);
      }),
    );
  carriers
    .command('list')
    .option('--tenant <name>', "only the rules that apply to this tenant's calls (its DIDs', its own and global)")
    .option('--json', 'print JSON')
    .description('list carrier rules')
    .action(
      withContext(async (ctx, flags: { tenant?: string; json?: boolean }) => {
        const rows = await listCarriers(await ctx.backends(), cliActing(ctx.actor), flags.tenant, ctx.country);
        if (flags.json) return printJson(rows);
        printTable(['ID', 'SCOPE', 'PATTERN'], rows.map((row) => [row.id, row.scope, row.pattern]));
      }),
    );
  carriers
    .command('import <file>')
    .description("replace the prefix → carrier table from NANPA's tab-separated files or a prefix,carrier CSV")
    .action(
      withContext(async (ctx, file: string) => {
        const rows = readCarrierPrefixes(file, ctx.country);
        const count = await importCarrierPrefixes(await ctx.backends(), cliActing(ctx.actor), rows, `import ${file}`);
        console.log(`imported ${count} carrier prefix(es) from ${file}`);
      }),
    );
}
