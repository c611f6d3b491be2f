import { createReadStream, statSync } from 'node:fs';
import { once } from 'node:events';
import { BadInput } from '../engine/bad-input';
import { parsePattern } from '../engine/patterns';
import { formatScope, parseScope } from '../engine/scope';
import type { RuleOptions, RuleWriter } from '../store/rules';
import type { CliContext } from './context';
import { isoOrEmpty } from './print';
import { parseRuleOptions } from '../operations/rule-options';
import type { RuleFlags } from '../operations/rule-options';

/** The columns `rules export` writes and `rules import` reads, in this order when a file has no header. */
export const CSV_COLUMNS = ['pattern', 'action', 'target', 'scope', 'sms', 'note', 'list', 'expires', 'when', 'tz'] as const;
type Column = (typeof CSV_COLUMNS)[number];
const HEADER_ALIASES: Record<string, Column> = { number: 'pattern', phone: 'pattern', to: 'target', expires_at: 'expires' };

function headerColumns(record: string[]): Map<Column, number> | null {
  const names = record.map((name) => name.trim().toLowerCase());
  const columns = new Map<Column, number>();
  names.forEach((name, i) => {
    const column = (CSV_COLUMNS as readonly string[]).includes(name) ? (name as Column) : HEADER_ALIASES[name];
    if (column && !columns.has(column)) columns.set(column, i);
  });
  return columns.has('pattern') ? columns : null;
}

const POSITIONAL = new Map<Column, number>(CSV_COLUMNS.map((column, i) => [column, i]));

/** The FTC's Do Not Call complaint data: the number is Company_Phone_Number, everything else goes in the note. */
const FTC_NUMBER = 'company_phone_number';
const FTC_DEFAULTS = { action: 'block', list: 'ftc-dnc' } as const;
const NOTE_LIMIT = 500;

export type ImportFormat = 'callguard' | 'ftc';

export function parseImportFormat(text: string | undefined): ImportFormat {
  if (text === undefined || text === 'callguard' || text === 'ftc') return text ?? 'callguard';
  throw new BadInput(`unknown import format "${text}": expected callguard (the export format) or ftc (FTC Do Not Call complaints)`);
}

/** A progress bar on a terminal; nothing when output goes to a file or a pipe. */
function progressBar(totalBytes: number): { update(bytes: number): void; stop(): void } {
  if (!process.stdout.isTTY) return { update() {}, stop() {} };
  const { SingleBar, Presets } = require('cli-progress') as typeof import('cli-progress');
  const bar = new SingleBar({ format: 'importing [{bar}] {percentage}% | {rows} rows', hideCursor: true }, Presets.shades_classic);
  let rows = 0;
  bar.start(totalBytes, 0, { rows });
  return {
    update(bytes) {
      rows += 10_000;
      bar.update(bytes, { rows });
    },
    stop() {
      bar.stop();
    },
  };
}

/**
 * Streams a CSV file into one transaction: every row is written or none is, and
 * a bad row names its line. Flags given on the command line override the columns.
 */
export async function importRules(ctx: CliContext, file: string, flags: Partial<RuleFlags>, format: ImportFormat = 'callguard'): Promise<void> {
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    throw new BadInput(`cannot read ${file}: no such file`);
  }
  const { parse } = require('csv-parse') as typeof import('csv-parse');
  const now = Date.now();
  const optionsCache = new Map<string, RuleOptions>();
  const bar = progressBar(size);
  let rows = 0;
  let skipped = 0;
  let columns: Map<Column, number> | null = null;
  let ftcHeader: string[] | null = null;
  const seen = new Set<string>();

  const optionsFor = (ruleFlags: RuleFlags): RuleOptions => {
    const cacheKey = `${ruleFlags.action}|${ruleFlags.to}|${ruleFlags.scope}|${ruleFlags.sms}|${ruleFlags.note}|${ruleFlags.list}|${ruleFlags.expires}|${ruleFlags.when}|${ruleFlags.tz}`;
    let options = optionsCache.get(cacheKey);
    if (!options) {
      options = parseRuleOptions(ruleFlags, ctx.country, now, true);
      if (optionsCache.size < 10_000) optionsCache.set(cacheKey, options);
    }
    return options;
  };

  /** One FTC complaint → a block rule for its number, once per number; rows without a usable number are counted, not fatal. */
  const importComplaint = (writer: RuleWriter, record: string[], line: number): void => {
    if (ftcHeader === null) {
      ftcHeader = record.map((name) => name.trim());
      if (!ftcHeader.some((name) => name.toLowerCase() === FTC_NUMBER)) throw new BadInput(`${file} line ${line}: no Company_Phone_Number column; is this the FTC complaint CSV?`);
      return;
    }
    const header = ftcHeader;
    const numberAt = header.findIndex((name) => name.toLowerCase() === FTC_NUMBER);
    let spec;
    try {
      spec = parsePattern(record[numberAt] ?? '', ctx.country);
    } catch {
      skipped++;
      return;
    }
    if (spec.kind !== 'number' || seen.has(spec.key)) {
      skipped++;
      return;
    }
    seen.add(spec.key);
    const note = header
      .map((name, i) => (i === numberAt || !record[i] ? '' : `${name}: ${record[i]}`))
      .filter(Boolean)
      .join('; ')
      .slice(0, NOTE_LIMIT);
    const options = parseRuleOptions({ action: flags.action ?? FTC_DEFAULTS.action, scope: flags.scope, list: flags.list ?? FTC_DEFAULTS.list, note }, ctx.country, now, true);
    writer.writeQuietly(spec, options);
    rows++;
    if (rows % 10_000 === 0) bar.update(bytesRead);
  };

  /** One CSV record → one rule, or a BadInput naming its line. */
  const importRecord = (writer: RuleWriter, record: string[], line: number): void => {
    if (format === 'ftc') return importComplaint(writer, record, line);
    if (columns === null) {
      columns = headerColumns(record);
      if (columns) return;
      columns = POSITIONAL;
    }
    const known = columns;
    const value = (column: Column) => {
      const index = known.get(column);
      return index === undefined ? undefined : record[index] || undefined;
    };
    try {
      const action = flags.action ?? value('action');
      if (!action) throw new BadInput('no action: give an action column or --action');
      const options = optionsFor({
        action,
        to: value('target'),
        scope: flags.scope ?? value('scope'),
        sms: value('sms'),
        note: value('note'),
        list: flags.list ?? value('list'),
        expires: value('expires'),
        when: value('when'),
        tz: value('tz'),
      });
      writer.writeQuietly(parsePattern(value('pattern') ?? '', ctx.country), options);
    } catch (error) {
      if (error instanceof BadInput) throw new BadInput(`${file} line ${line}: ${error.message}; nothing was imported`);
      throw error;
    }
    rows++;
    if (rows % 10_000 === 0) bar.update(bytesRead);
  };

  let bytesRead = 0;
  try {
    await ctx.rules.bulk(
      now,
      `import ${file}`,
      (writer) =>
        new Promise<number>((resolve, reject) => {
          const input = createReadStream(file);
          const parser = parse({ bom: true, relax_column_count: true, skip_empty_lines: true, trim: true, max_record_size: 65_536, info: true });
          const fail = (error: unknown) => {
            input.destroy();
            parser.destroy();
            reject(error);
          };
          input.on('data', (chunk) => (bytesRead += chunk.length));
          input.on('error', fail);
          parser.on('error', fail);
          // Records are written synchronously as they are parsed: no per-row promise.
          parser.on('readable', () => {
            try {
              let entry: { record: string[]; info: { lines: number } } | null;
              while ((entry = parser.read()) !== null) importRecord(writer, entry.record, entry.info.lines);
            } catch (error) {
              fail(error);
            }
          });
          parser.on('end', () => resolve(rows));
          input.pipe(parser);
        }),
    );
  } catch (error) {
    if (error instanceof Error && 'code' in error && String(error.code).startsWith('CSV_')) {
      throw new BadInput(`${file}: not valid CSV (${error.message}); nothing was imported`);
    }
    throw error;
  } finally {
    bar.stop();
  }
  console.log(`imported ${rows} rule(s) from ${file}${skipped ? `; skipped ${skipped} row(s) without a new, complete number` : ''}`);
}

/** Writes the rules as CSV with a header, streaming, in the form importRules reads back. */
export async function exportRules(ctx: CliContext, flags: { list?: string; scope?: string }): Promise<void> {
  const { stringify } = require('csv-stringify') as typeof import('csv-stringify');
  const scope = flags.scope === undefined ? undefined : formatScope(parseScope(flags.scope, ctx.country));
  // Leading or trailing spaces are quoted, or the import (which trims) would lose them.
  const out = stringify({ header: true, columns: [...CSV_COLUMNS], quoted_match: /^\s|\s$/ });
  out.pipe(process.stdout);
  for (const rule of ctx.rules.iterate({ list: flags.list, scope })) {
    const row: Record<Column, string> = {
      pattern: rule.pattern,
      action: rule.action,
      target: rule.target ?? '',
      scope: rule.scope,
      sms: rule.sms ? 'yes' : 'no',
      note: rule.note ?? '',
      list: rule.list ?? '',
      expires: isoOrEmpty(rule.expiresAt),
      when: rule.when ?? '',
      tz: rule.tz ?? '',
    };
    if (!out.write(row)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'end');
}
