// Asterisk's .conf reader, done the way main/config.c (config_text_file_load and
// process_text_line) and pbx/pbx_config.c (pbx_load_config) do it in Asterisk 22, so a test
// sees a shipped file exactly as Asterisk will: where a `;` cuts a line, what a `;-- --;`
// block hides, which lines are sections, directives and settings, and how `exten =>` /
// `same =>` lines split into pattern, priority, application and argument. It also reports
// what Asterisk would misread or refuse, and turns dialplan files into a Dialplan the
// simulator can run.
import type { Dialplan, DialplanExtension } from './dialplan';

export interface ConfProblem {
  file: string;
  line: number;
  message: string;
  /** The line as written. */
  text: string;
}

export interface ConfEntry {
  line: number;
  key: string;
  /** After comment removal and `\;` unescaping, trimmed: what Asterisk stores. */
  value: string;
  /** Written with `=>`. */
  object: boolean;
}

export interface ConfSection {
  name: string;
  line: number;
  /** `(!)`, `(+)` and template names after the header. */
  options: string[];
  entries: ConfEntry[];
}

export interface ConfDirective {
  line: number;
  /** `include`, `tryinclude`, `exec`, ... */
  name: string;
  argument: string;
}

export interface ParsedConf {
  file: string;
  sections: ConfSection[];
  directives: ConfDirective[];
  /** Text Asterisk ignores as comments, line by line (without the leading `;`). */
  comments: { line: number; text: string }[];
  problems: ConfProblem[];
}

/** config.c reads with fgets into char buf[8192]: a longer line is skipped with a warning. */
const MAX_LINE = 8190;

/**
 * The comment handling of config_text_file_load for one line, on a NUL-terminated char
 * array as the C code has it: returns what goes to process_text_line (null: nothing), and
 * updates the block-comment depth carried from line to line.
 */
function stripComments(line: string, state: { depth: number }, comments: string[]): { text: string | null; strayEnd: boolean } {
  const buf = [...line, '\0'];
  const strlen = (i: number) => {
    let j = i;
    while (j < buf.length && buf[j] !== '\0') j++;
    return j - i;
  };
  const strchr = (i: number, c: string) => {
    for (let j = i; j < buf.length && buf[j] !== '\0'; j++) if (buf[j] === c) return j;
    return -1;
  };
  const memmove = (dst: number, src: number, n: number) => {
    const chunk = buf.slice(src, src + n);
    for (let k = 0; k < chunk.length; k++) buf[dst + k] = chunk[k]!;
  };
  let strayEnd = false;
  let newBuf = 0;
  let processBuf: number | null = state.depth ? null : 0;
  if (state.depth) comments.push(line);
  for (let p = strchr(newBuf, ';'); p >= 0; p = strchr(newBuf, ';')) {
    if (p > newBuf && buf[p - 1] === '\\') {
      // Escaped semicolons are not comments: the backslash goes.
      memmove(p - 1, p, strlen(p) + 1);
      newBuf = p;
    } else if (buf[p + 1] === '-' && buf[p + 2] === '-' && buf[p + 3] !== '-') {
      // ";--" starts a block comment.
      buf[p] = '\0';
      newBuf = p + 3;
      state.depth += 1;
      if (state.depth === 1) comments.push(buf.slice(p + 1, buf.length - 1).join('').replace(/\0/g, ''));
    } else if (p >= newBuf + 2 && buf[p - 1] === '-' && buf[p - 2] === '-') {
      // "--;" ends one (config.c does not check that one was open).
      state.depth -= 1;
      if (state.depth === -1) strayEnd = true;
      newBuf = p + 1;
      if (state.depth === 0) {
        if (processBuf !== null) {
          const oldptr = processBuf + strlen(processBuf);
          memmove(oldptr, newBuf, strlen(newBuf) + 1);
          newBuf = oldptr;
        } else {
          processBuf = newBuf;
        }
      }
    } else if (state.depth === 0) {
      comments.push(buf.slice(p + 1, p + 1 + strlen(p + 1)).join(''));
      buf[p] = '\0';
      newBuf = p;
    } else {
      newBuf = p + 1;
    }
  }
  if (processBuf === null) return { text: null, strayEnd };
  return { text: buf.slice(processBuf, processBuf + strlen(processBuf)).join('').trim(), strayEnd };
}

const PAIRS: Record<string, string> = { '(': ')', '[': ']', '{': '}' };

/** Parentheses, brackets and braces that do not pair up, as a message; null when they do. */
export function unbalanced(value: string): string | null {
  const stack: { c: string; at: number }[] = [];
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === '\\') {
      i++;
      continue;
    }
    if (PAIRS[c]) stack.push({ c, at: i });
    else if (c === ')' || c === ']' || c === '}') {
      const open = stack.pop();
      if (!open) return `"${c}" at column ${i + 1} closes nothing`;
      if (PAIRS[open.c] !== c) return `"${open.c}" at column ${open.at + 1} is closed by "${c}" at column ${i + 1}`;
    }
  }
  const open = stack.pop();
  return open ? `"${open.c}" at column ${open.at + 1} is never closed` : null;
}

/** A file name #include can take safely: relative to /etc/asterisk, no folders, no quoting. */
export const PLAIN_INCLUDE = /^[A-Za-z0-9][A-Za-z0-9_.-]*\.conf$/;

const DIALPLAN_KEYS = new Set(['exten', 'same', 'include', 'ignorepat', 'switch', 'lswitch', 'eswitch', 'autohints']);

/** pbx_strsep: splits at the first delimiter outside [...], skipping backslash-escaped characters. */
function pbxStrsep(text: string, delim: string): [string, string | null] {
  let square = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '[') square++;
    else if (c === ']') square = Math.max(0, square - 1);
    else if (c === '\\') i++;
    else if (c === delim && !square) return [text.slice(0, i), text.slice(i + 1)];
  }
  return [text, null];
}

interface PriorityPart {
  priority: 'n' | 's' | 'hint' | number;
  label?: string;
  plus: number;
}

function parsePriority(text: string): PriorityPart | string {
  let pri = text.trim();
  let label: string | undefined;
  const open = pri.indexOf('(');
  if (open >= 0) {
    const close = pri.indexOf(')', open);
    if (close < 0) return "label missing its ')'";
    label = pri.slice(open + 1, close);
    if (pri.slice(close + 1).trim() !== '') return `text after the label: "${pri.slice(close + 1)}"`;
    pri = pri.slice(0, open);
  }
  let plus = 0;
  const plusAt = pri.indexOf('+');
  if (plusAt >= 0) {
    plus = Number.parseInt(pri.slice(plusAt + 1), 10) || 0;
    pri = pri.slice(0, plusAt);
  }
  const withLabel = (priority: PriorityPart['priority']): PriorityPart => (label === undefined ? { priority, plus } : { priority, label, plus });
  if (pri === 'hint') return withLabel('hint');
  if (pri === 'n' || pri === 'next') return withLabel('n');
  if (pri === 's' || pri === 'same') return withLabel('s');
  if (/^\d+$/.test(pri) && Number(pri) >= 1) return withLabel(Number(pri));
  return `invalid priority "${pri}"`;
}

/** `App(data)` as pbx_config splits it: name before the first `(`, data up to the last `)`. */
function splitApplication(text: string): { app: string; data: string } | string {
  const open = text.indexOf('(');
  if (open < 0) return `application "${text.trim()}" without "(...)"`;
  const app = text.slice(0, open).trim();
  if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(app)) return `"${app}" is not an application name`;
  const close = text.lastIndexOf(')');
  if (close < open) return `${app}( is never closed`;
  const after = text.slice(close + 1);
  if (after.trim() !== '') return `text after ${app}(...): "${after}" (pbx_config would drop it)`;
  const data = text.slice(open + 1, close);
  const problem = unbalanced(data);
  if (problem) return `${app}(...) does not close where it should: ${problem}`;
  return { app, data };
}

/**
 * Reads a .conf file as Asterisk does and lists what it would misread: lines that are no
 * section, directive or setting; values whose (), [] or {} do not pair up (a `;` that cut
 * one short); dialplan lines that do not split into pattern, priority and App(args); an
 * #include that is not a plain file name in /etc/asterisk.
 */
export function parseAsteriskConf(content: string, file = 'test.conf'): ParsedConf {
  const parsed: ParsedConf = { file, sections: [], directives: [], comments: [], problems: [] };
  const lines = content.replace(/^\uFEFF/, '').split('\n');
  if (lines.at(-1) === '') lines.pop();
  const state = { depth: 0 };
  let section: ConfSection | null = null;
  for (const [index, raw] of lines.entries()) {
    const lineNo = index + 1;
    const problem = (message: string) => parsed.problems.push({ file, line: lineNo, message, text: raw });
    if (raw.length > MAX_LINE) {
      problem(`longer than ${MAX_LINE} characters: Asterisk skips it`);
      continue;
    }
    const comments: string[] = [];
    const { text, strayEnd } = stripComments(raw.replace(/\r$/, ''), state, comments);
    for (const c of comments) parsed.comments.push({ line: lineNo, text: c });
    if (strayEnd) problem('"--;" with no block comment open: Asterisk then reads the rest of the file as a comment');
    if (text === null || text === '') continue;

    if (text.startsWith('[')) {
      const close = text.indexOf(']');
      if (close < 0) {
        problem("section header without ']': Asterisk refuses the whole file");
        continue;
      }
      const name = text.slice(1, close);
      const rest = text.slice(close + 1);
      let options: string[] = [];
      if (rest.startsWith('(')) {
        const end = rest.indexOf(')');
        if (end < 0) {
          problem("section options without ')': Asterisk refuses the whole file");
          continue;
        }
        options = rest.slice(1, end).split(',');
        if (rest.slice(end + 1).trim() !== '') problem(`text after the section options is ignored: "${rest.slice(end + 1)}"`);
        for (const option of options) {
          if (option === '!' || option.startsWith('+')) continue;
          if (!parsed.sections.some((s) => s.name === option)) problem(`template "${option}" is not defined above: Asterisk refuses the whole file`);
        }
      } else if (rest.trim() !== '') {
        problem(`text after the section header is ignored: "${rest}"`);
      }
      if (name === '') problem('empty section name');
      section = { name, line: lineNo, options, entries: [] };
      parsed.sections.push(section);
      continue;
    }

    if (text.startsWith('#')) {
      const m = /^#(\S*)\s*(.*)$/.exec(text)!;
      const name = m[1]!.toLowerCase();
      let argument = m[2]!.trim();
      if ((argument.startsWith('"') && argument.endsWith('"') && argument.length > 1) || (argument.startsWith('<') && argument.endsWith('>'))) argument = argument.slice(1, -1);
      parsed.directives.push({ line: lineNo, name, argument });
      if (name === 'include' || name === 'tryinclude') {
        if (!PLAIN_INCLUDE.test(argument)) problem(`#${name} "${argument}" is not a plain file name in /etc/asterisk`);
      } else if (name === 'exec') {
        problem('#exec runs a program and needs execincludes in asterisk.conf');
      } else {
        problem(`unknown directive "#${m[1]}"`);
      }
      continue;
    }

    if (!section) {
      problem('a setting before any [section]: Asterisk refuses the whole file');
      continue;
    }
    let body = text;
    if (body.startsWith('\\')) {
      body = body.slice(1);
      if (body === '' || body.charCodeAt(0) < 33) {
        problem('invalid escape at the start of the line');
        continue;
      }
    }
    const eq = body.indexOf('=');
    if (eq < 0) {
      problem("not a section, directive or setting (no '='): Asterisk ignores it");
      continue;
    }
    const append = eq > 0 && body[eq - 1] === '+';
    const key = body.slice(0, append ? eq - 1 : eq).trim();
    const object = !append && body[eq + 1] === '>';
    const value = body.slice(eq + 1 + (object ? 1 : 0)).trim();
    if (key === '') {
      problem('no name before the "="');
      continue;
    }
    const balance = unbalanced(value);
    if (balance) problem(`${key}: ${balance}${raw.includes(';') ? ' (cut short by a ";"? write \\; for a literal one)' : ''}`);
    section.entries.push({ line: lineNo, key, value, object });
  }
  if (state.depth > 0) parsed.problems.push({ file, line: lines.length, message: 'a ";--" block comment is never closed', text: '' });

  if (isDialplan(parsed)) checkDialplan(parsed);
  return parsed;
}

/** A file with exten/same lines is dialplan (extensions.conf or a file it #includes). */
export function isDialplan(parsed: ParsedConf): boolean {
  return parsed.sections.some((s) => s.entries.some((e) => e.key.toLowerCase() === 'exten' || e.key.toLowerCase() === 'same'));
}

/** One dialplan line split as pbx_config does, or what is wrong with it. */
function splitDialplanLine(entry: ConfEntry, lastExtension: string | null): { pattern: string; priority: PriorityPart; app: string; data: string } | string {
  let rest: string | null = entry.value;
  let pattern: string;
  if (entry.key.toLowerCase() === 'same') {
    if (lastExtension === null) return '"same =>" with no "exten =>" before it in this context';
    pattern = lastExtension;
  } else {
    [pattern, rest] = pbxStrsep(entry.value, ',');
    pattern = pattern.trim();
    if (pattern === '') return 'no extension before the first ","';
    if (pattern === '_.' || pattern === '_!') return `the pattern "${pattern}" also catches h, i, s and t`;
  }
  if (rest === null) return 'no priority';
  const comma = rest.indexOf(',');
  const priorityText = comma < 0 ? rest : rest.slice(0, comma);
  const priority = parsePriority(priorityText);
  if (typeof priority === 'string') return priority;
  const appText = comma < 0 ? '' : rest.slice(comma + 1);
  if (priority.priority === 'hint') return { pattern, priority, app: appText.trim(), data: '' };
  const split = splitApplication(appText);
  if (typeof split === 'string') return split;
  return { pattern, priority, ...split };
}

function checkDialplan(parsed: ParsedConf): void {
  for (const section of parsed.sections) {
    const context = section.name.toLowerCase();
    if (context === 'general' || context === 'globals') continue;
    let last: string | null = null;
    let lastPriority: number | null = null;
    const labels = new Map<string, Set<string>>();
    for (const entry of section.entries) {
      const problem = (message: string) => parsed.problems.push({ file: parsed.file, line: entry.line, message, text: `${entry.key} => ${entry.value}` });
      const key = entry.key.toLowerCase();
      if (unbalanced(entry.value)) continue; // reported with the setting already
      if (!DIALPLAN_KEYS.has(key)) {
        problem(`"${entry.key}" is not a dialplan keyword: pbx_config ignores it`);
        continue;
      }
      if (key !== 'exten' && key !== 'same') continue;
      const split = splitDialplanLine(entry, last);
      if (typeof split === 'string') {
        problem(split);
        continue;
      }
      if (key === 'exten') {
        if (split.pattern !== last) lastPriority = null;
        last = split.pattern;
      }
      const p = split.priority.priority;
      if ((p === 'n' || p === 's') && lastPriority === null) {
        problem(`priority "${p}" on the first line of extension ${split.pattern}`);
        continue;
      }
      if (p !== 'hint') lastPriority = (p === 'n' ? lastPriority! + 1 : p === 's' ? lastPriority! : p) + split.priority.plus;
      if (split.priority.label !== undefined) {
        const seen = labels.get(split.pattern) ?? new Set<string>();
        if (seen.has(split.priority.label)) problem(`label "${split.priority.label}" used twice in extension ${split.pattern}`);
        seen.add(split.priority.label);
        labels.set(split.pattern, seen);
      }
    }
  }
}

/** The contexts of dialplan files, merged as Asterisk merges same-named contexts, ready for the simulator. */
export function dialplanFromConf(...files: ParsedConf[]): Dialplan {
  const dialplan: Dialplan = new Map();
  for (const parsed of files) {
    for (const section of parsed.sections) {
      const context = section.name;
      if (['general', 'globals'].includes(context.toLowerCase())) continue;
      const extensions = dialplan.get(context) ?? [];
      dialplan.set(context, extensions);
      let last: string | null = null;
      let lastPriority = 0;
      for (const entry of section.entries) {
        const key = entry.key.toLowerCase();
        if (key !== 'exten' && key !== 'same') continue;
        const split = splitDialplanLine(entry, last);
        if (typeof split === 'string') throw new Error(`${parsed.file}:${entry.line}: ${split}`);
        last = split.pattern;
        const p = split.priority.priority;
        if (p === 'hint') continue;
        const priority = (p === 'n' ? lastPriority + 1 : p === 's' ? lastPriority : p) + split.priority.plus;
        lastPriority = priority;
        let extension: DialplanExtension | undefined = extensions.find((e) => e.pattern === split.pattern);
        if (!extension) {
          extension = { pattern: split.pattern, priorities: [] };
          extensions.push(extension);
        }
        extension.priorities.push({
          priority,
          ...(split.priority.label !== undefined ? { label: split.priority.label } : {}),
          app: split.app,
          data: split.data,
          source: `${parsed.file}:${entry.line}`,
        });
      }
    }
  }
  return dialplan;
}

/** The value of `key` in `[section]` (the last one, as a single-valued option takes it). */
export function confValue(parsed: ParsedConf, section: string, key: string): string | undefined {
  const entries = parsed.sections.filter((s) => s.name === section).flatMap((s) => s.entries.filter((e) => e.key === key));
  return entries.at(-1)?.value;
}
