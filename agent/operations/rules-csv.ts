/**
 * Rules as CSV, for every face: the format `callguard rules export` writes and `rules import`
 * reads (and the API's `GET /v1/lists/{name}/export` and `POST /v1/rules/import`), on either
 * backend. Parsing, validation and access checks are here; the backend only writes. An import
 * is one transaction, all or nothing; a bad row is refused naming its line.
 */
import { Readable } from 'node:stream';
import { BadInput, inField } from '../engine/bad-input';
import { parsePattern } from '../engine/patterns';
import { isNameKind, prefixedNamePattern, writtenNamePattern } from '../engine/names';
import type { MatchSpec } from '../engine/patterns';
import { checkName, formatScope, parseScope } from '../engine/scope';
import type { RuleBackend } from '../store/rule-backend';
import type { RuleImportWriter } from '../store/rule-import';
import type { RuleOptions, RuleRow } from '../store/rules';
import { unknownTenant } from '../store/tenants';
import { Forbidden, requireChangeIn, tenantOfScope } from './acting';
import type { Acting } from './acting';
import { parseAction, parseRuleOptions } from './rule-options';
import type { RuleFlags } from './rule-options';
import { requireVisibleList, scopesVisibleTo } from './rules';

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
  throw new BadInput(`unknown import format "${text}": expected callguard (the export format) or ftc (FTC Do Not Call complaints)`, 'format');
}

/**
 * An import refused for bad input; nothing was written. Names the line at fault when there
 * is one: the API answers it as the field (`line 7`), the CLI with its file name in front.
 */
export class ImportRefused extends BadInput {
  constructor(
    /** What is wrong, without the line. */
    readonly reason: string,
    /** The line of the CSV (1 is the first), when one line is at fault. */
    readonly line?: number,
    private readonly suffix = '; nothing was imported',
  ) {
    super(`${line === undefined ? '' : `line ${line}: `}${reason}${suffix}`, line === undefined ? undefined : `line ${line}`);
  }

  /** The message with where the CSV came from in front: `rules.csv line 7: …` or `rules.csv: …`. */
  from(source: string): string {
    return `${source}${this.line === undefined ? ':' : ` line ${this.line}:`} ${this.reason}${this.suffix}`;
  }
}

/** Values that replace a column in every row (`--action`, `--scope`, `--list`; the API's query). */
export type ImportOverrides = Partial<Pick<RuleFlags, 'action' | 'scope' | 'list'>>;

export interface ImportOptions {
  readonly format?: ImportFormat | undefined;
  /** What the audit trail calls the import (`import rules.csv`). */
  readonly label: string;
  /** Called at every 10,000 rows written with the bytes read so far (the CLI's progress bar). */
  readonly onProgress?: ((bytesRead: number, rows: number) => void) | undefined;
}

export interface ImportResult {
  /** Rules written (added, or replaced: a rule for the same match and scope is updated). */
  readonly rows: number;
  /** FTC rows without a new, complete number. */
  readonly skipped: number;
}

const PARSE_OPTIONS = { bom: true, relax_column_count: true, skip_empty_lines: true, trim: true, max_record_size: 65_536 } as const;

/** Called once per scope an import writes to: undefined once it is checked, else the check under way. */
type ScopeGate = (scope: string) => Promise<void> | undefined;

/** The checks of each scope an import writes to, each scope once: `acting` may change it, and its tenant exists. */
function scopeGate(rules: RuleBackend, acting: Acting, country: string): ScopeGate {
  const checked = new Set<string>();
  const check = async (scope: string) => {
    requireChangeIn(acting, await tenantOfScope(rules, scope, country));
    const parsed = parseScope(scope, country);
    if (parsed.kind === 'tenant' && !(await rules.tenantExists(parsed.tenant))) throw unknownTenant(parsed.tenant);
    checked.add(scope);
  };
  return (scope) => (checked.has(scope) ? undefined : check(scope));
}

/**
 * Refuses what can be refused before a row is read: someone who only looks, and a bad or
 * foreign override (naming the field: `action`, `scope`, `list`).
 */
async function checkOverrides(rules: RuleBackend, acting: Acting, overrides: ImportOverrides, country: string): Promise<void> {
  if (!acting.mayChange) throw new Forbidden(`${acting.actor} may only look, not change`);
  if (overrides.scope) {
    const scope = inField('scope', () => formatScope(parseScope(overrides.scope!, country)));
    requireChangeIn(acting, await tenantOfScope(rules, scope, country));
  }
  if (overrides.list) inField('list', () => checkName(overrides.list!, 'list'));
  // A bare `forward` takes its number from each row's target column: only its name can be checked here.
  if (overrides.action && !/^\s*forward\s*$/i.test(overrides.action)) inField('action', () => parseAction(overrides.action!, undefined, country));
}

/** A record's failure as the import reports it: naming its line, and that nothing was imported. */
function refusalAt(error: unknown, line: number): unknown {
  if (error instanceof ImportRefused) return error;
  if (error instanceof BadInput) return new ImportRefused(error.message, line);
  if (error instanceof Forbidden) return new Forbidden(`line ${line}: ${error.message}; nothing was imported`);
  return error;
}

/**
 * One record at a time into a writer: the logic every import path shares. A record is
 * handled without waiting unless it needs to (the first row of a scope, whose checks ask the
 * store): then `record` answers a promise to wait for before the next.
 */
function makeImporter(gate: ScopeGate, overrides: ImportOverrides, country: string, format: ImportFormat, now: number) {
  const optionsCache = new Map<string, RuleOptions>();
  let rows = 0;
  let skipped = 0;
  let columns: Map<Column, number> | null = null;
  let ftcHeader: string[] | null = null;
  const seen = new Set<string>();

  /** Writes the rule once its scope is checked: at once when it was already. */
  const writeChecked = (options: RuleOptions, write: () => void): Promise<void> | undefined => {
    const checking = gate(options.scope);
    if (checking) return checking.then(write);
    write();
    return undefined;
  };

  const optionsFor = (ruleFlags: RuleFlags): RuleOptions => {
    const cacheKey = `${ruleFlags.action}|${ruleFlags.to}|${ruleFlags.scope}|${ruleFlags.sms}|${ruleFlags.note}|${ruleFlags.list}|${ruleFlags.expires}|${ruleFlags.when}|${ruleFlags.tz}`;
    let options = optionsCache.get(cacheKey);
    if (!options) {
      options = parseRuleOptions(ruleFlags, country, now, true);
      if (optionsCache.size < 10_000) optionsCache.set(cacheKey, options);
    }
    return options;
  };

  /** One FTC complaint → a block rule for its number, once per number; rows without a usable number are counted, not fatal. */
  const importComplaint = (writer: RuleImportWriter, record: string[], line: number): Promise<void> | undefined => {
    if (ftcHeader === null) {
      ftcHeader = record.map((name) => name.trim());
      if (!ftcHeader.some((name) => name.toLowerCase() === FTC_NUMBER)) throw new ImportRefused('no Company_Phone_Number column; is this the FTC complaint CSV?', line, '');
      return undefined;
    }
    const header = ftcHeader;
    const numberAt = header.findIndex((name) => name.toLowerCase() === FTC_NUMBER);
    let spec;
    try {
      spec = parsePattern(record[numberAt] ?? '', country);
    } catch {
      skipped++;
      return undefined;
    }
    if (spec.kind !== 'number' || seen.has(spec.key)) {
      skipped++;
      return undefined;
    }
    seen.add(spec.key);
    const match = spec;
    const note = header
      .map((name, i) => (i === numberAt || !record[i] ? '' : `${name}: ${record[i]}`))
      .filter(Boolean)
      .join('; ')
      .slice(0, NOTE_LIMIT);
    const options = parseRuleOptions({ action: overrides.action ?? FTC_DEFAULTS.action, scope: overrides.scope, list: overrides.list ?? FTC_DEFAULTS.list, note }, country, now, true);
    return writeChecked(options, () => {
      writer.write(match, options);
      rows++;
    });
  };

  /** One CSV record → one rule, or a refusal naming its line. */
  const importRecord = (writer: RuleImportWriter, record: string[], line: number): Promise<void> | undefined => {
    if (format === 'ftc') return importComplaint(writer, record, line);
    if (columns === null) {
      columns = headerColumns(record);
      if (columns) return undefined;
      columns = POSITIONAL;
    }
    const known = columns;
    const value = (column: Column) => {
      const index = known.get(column);
      return index === undefined ? undefined : record[index] || undefined;
    };
    const action = overrides.action ?? value('action');
    if (!action) throw new BadInput('no action: give an action column or --action');
    const options = optionsFor({
      action,
      to: value('target'),
      scope: overrides.scope ?? value('scope'),
      sms: value('sms'),
      note: value('note'),
      list: overrides.list ?? value('list'),
      expires: value('expires'),
      when: value('when'),
      tz: value('tz'),
    });
    return writeChecked(options, () => {
      const pattern = value('pattern') ?? '';
      writer.write(prefixedNamePattern(pattern) ?? parsePattern(pattern, country), options);
      rows++;
    });
  };

  return {
    /** Writes one record; a bad one is refused naming its line (a foreign scope: Forbidden, naming it too). */
    record(writer: RuleImportWriter, record: string[], line: number): Promise<void> | undefined {
      try {
        return importRecord(writer, record, line)?.catch((error: unknown) => {
          throw refusalAt(error, line);
        });
      } catch (error) {
        throw refusalAt(error, line);
      }
    },
    get rows() {
      return rows;
    },
    result(): ImportResult {
      return { rows, skipped };
    },
  };
}

type Importer = ReturnType<typeof makeImporter>;

/** csv-parse's own errors (an unclosed quote, a record too long) → a refusal, with the line when it tells it. */
function csvRefusal(error: unknown): ImportRefused | null {
  if (!(error instanceof Error && 'code' in error && String(error.code).startsWith('CSV_'))) return null;
  const lines = (error as { lines?: unknown }).lines;
  return new ImportRefused(`not valid CSV (${error.message})`, typeof lines === 'number' && lines > 0 ? lines : undefined);
}

/**
 * Streams CSV through `importer` into `writer`, answering the rows taken. Records are handled
 * as they are parsed, waiting only when one needs it (a scope's checks, a full batch to
 * write): the reading then pauses, and a file of any size never sits in memory.
 */
function streamInto(input: Readable, importer: Importer, writer: RuleImportWriter, onProgress?: ImportOptions['onProgress']): Promise<number> {
  const { parse } = require('csv-parse') as typeof import('csv-parse');
  return new Promise<number>((resolve, reject) => {
    const parser = parse({ ...PARSE_OPTIONS, info: true });
    let bytesRead = 0;
    let reading = false;
    let ended = false;
    let failed = false;
    const fail = (error: unknown) => {
      if (failed) return;
      failed = true;
      input.destroy();
      parser.destroy();
      reject(error);
    };
    const read = async () => {
      if (reading || failed) return;
      reading = true;
      try {
        let entry: { record: string[]; info: { lines: number } } | null;
        while (!failed && (entry = parser.read()) !== null) {
          const before = importer.rows;
          const waiting = importer.record(writer, entry.record, entry.info.lines);
          if (waiting) await waiting;
          if (importer.rows !== before && importer.rows % 10_000 === 0) onProgress?.(bytesRead, importer.rows);
          if (writer.full) await writer.flush();
        }
      } catch (error) {
        fail(error);
      }
      reading = false;
      if (ended && !failed) resolve(importer.rows);
    };
    input.on('data', (chunk: Buffer | string) => (bytesRead += chunk.length));
    input.on('error', fail);
    parser.on('error', fail);
    parser.on('readable', () => void read());
    parser.on('end', () => {
      ended = true;
      if (!reading && !failed) resolve(importer.rows);
    });
    input.pipe(parser);
  });
}

/**
 * Streams CSV into one transaction (the CLI, from a file of any size): every row is written
 * or none is. The overrides replace the columns of every row; `acting` must be allowed to
 * change every scope a row names.
 */
export async function importRulesCsv(rules: RuleBackend, acting: Acting, input: Readable, overrides: ImportOverrides, country: string, options: ImportOptions, now = Date.now()): Promise<ImportResult> {
  await checkOverrides(rules, acting, overrides, country);
  const importer = makeImporter(scopeGate(rules, acting, country), overrides, country, options.format ?? 'callguard', now);
  try {
    await rules.importRules(options.label, now, (writer) => streamInto(input, importer, writer, options.onProgress));
  } catch (error) {
    throw csvRefusal(error) ?? error;
  }
  return importer.result();
}

/**
 * Reads rules in the export format as an import would, every row checked the same way,
 * but writes none: the rules a replay tries (`whatif --rules-file`), each as its match and
 * options, in file order.
 */
export async function readRulesCsv(rules: RuleBackend, acting: Acting, input: Readable, country: string, now = Date.now()): Promise<{ match: MatchSpec; options: RuleOptions }[]> {
  await checkOverrides(rules, acting, {}, country);
  const read: { match: MatchSpec; options: RuleOptions }[] = [];
  const collect: RuleImportWriter = { write: (match, options) => void read.push({ match, options }), full: false, flush: async () => undefined };
  try {
    await streamInto(input, makeImporter(scopeGate(rules, acting, country), {}, country, 'callguard', now), collect);
  } catch (error) {
    throw csvRefusal(error) ?? error;
  }
  return read;
}

/** A writer that writes nothing: the checking pass of an import from memory. */
const NO_WRITES: RuleImportWriter = { write: () => undefined, full: false, flush: async () => undefined };

/** Text in slices ending at a line's end (never inside a character), so that the parser reads a big body a slice at a time. */
function* slicesOf(text: string, size = 65_536): Generator<string> {
  for (let at = 0; at < text.length; ) {
    const newline = text.indexOf('\n', at + size);
    const end = newline < 0 ? text.length : newline + 1;
    yield text.slice(at, end);
    at = end;
  }
}

/**
 * The same for CSV already in memory (an API request's body), in two passes. The first
 * reads and checks every row, writing nothing; the second, which then has nothing to wait
 * for, writes them in one transaction that does not yield, so that on the SQLite file no
 * other request's statements land inside it.
 */
export async function importRulesCsvText(rules: RuleBackend, acting: Acting, text: string, overrides: ImportOverrides, country: string, options: ImportOptions, now = Date.now()): Promise<ImportResult> {
  await checkOverrides(rules, acting, overrides, country);
  const { parse } = require('csv-parse/sync') as typeof import('csv-parse/sync');
  const gate = scopeGate(rules, acting, country);
  const format = options.format ?? 'callguard';
  const importer = makeImporter(gate, overrides, country, format, now);
  try {
    await streamInto(Readable.from(slicesOf(text)), makeImporter(gate, overrides, country, format, now), NO_WRITES);
    await rules.importRules(options.label, now, (writer) => {
      // Each record is written as it is parsed and then dropped: a big body never becomes a big array.
      parse(text, {
        ...PARSE_OPTIONS,
        on_record: (record: string[], context: { lines: number }) => {
          const waiting = importer.record(writer, record, context.lines);
          if (waiting) {
            void waiting.catch(() => undefined);
            throw new Error(`line ${context.lines} names a scope the checking pass did not check`);
          }
          return null;
        },
      });
      return importer.rows;
    });
  } catch (error) {
    throw csvRefusal(error) ?? error;
  }
  return importer.result();
}

export interface ExportFilter {
  readonly list?: string | undefined;
  readonly scope?: string | undefined;
}

/** Rules per page of the export: no query stays open between pages, so a slow reader holds nothing. */
const EXPORT_PAGE = 1_000;

function csvRow(rule: RuleRow): Record<Column, string> {
  return {
    // A caller-name rule is written with its kind in front (`name:V9*`), as import reads it.
    pattern: isNameKind(rule.kind) ? writtenNamePattern(rule.kind, rule.pattern) : rule.pattern,
    action: rule.action,
    target: rule.target ?? '',
    scope: rule.scope,
    sms: rule.sms ? 'yes' : 'no',
    note: rule.note ?? '',
    list: rule.list ?? '',
    expires: rule.expiresAt === null ? '' : new Date(rule.expiresAt).toISOString(),
    when: rule.when ?? '',
    tz: rule.tz ?? '',
  };
}

/**
 * The rules `acting` sees as CSV with a header, in id order, the form the import reads back,
 * as text chunks (the header with the first page). Pages by id keep memory flat for a
 * million rules, and the same rules give the same bytes from either backend.
 */
export async function* exportRulesCsv(rules: RuleBackend, acting: Acting, filter: ExportFilter, country: string): AsyncGenerator<string> {
  const { stringify } = require('csv-stringify/sync') as typeof import('csv-stringify/sync');
  const scope = filter.scope === undefined ? undefined : inField('scope', () => formatScope(parseScope(filter.scope!, country)));
  const scopes = await scopesVisibleTo(rules, acting);
  let afterId: number | undefined;
  let header = true;
  for (;;) {
    const page = await rules.page({ list: filter.list, scope, scopes, afterId, limit: EXPORT_PAGE });
    // Leading or trailing spaces are quoted, or the import (which trims) would lose them.
    if (page.length > 0 || header) yield stringify(page.map(csvRow), { header, columns: [...CSV_COLUMNS], quoted_match: /^\s|\s$/ });
    header = false;
    if (page.length < EXPORT_PAGE) return;
    afterId = page[page.length - 1]!.id;
  }
}

/** One list as CSV (the lists page's export): a list `acting` sees (else NotFound, before a byte is written), with the rules of it they see. */
export async function exportListCsv(rules: RuleBackend, acting: Acting, name: string, country: string): Promise<AsyncGenerator<string>> {
  await requireVisibleList(rules, acting, name, country);
  return exportRulesCsv(rules, acting, { list: name }, country);
}
