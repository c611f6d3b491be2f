// A small part of Asterisk's PBX core, enough to run the shipped callguard contexts in the
// simulator: extension patterns, ${...} and $[...] substitution of a whole priority before
// its application runs (main/pbx_variables.c), and the applications NoOp, Set, Log, GotoIf,
// Goto, ExecIf and Stasis. Any other application ends the simulated run there (Dial,
// VoiceMail, ...: the call has reached it); an unknown function or expression throws, so a
// test never passes on something the simulator does not model.
import { readFunction, splitFunction, standardArgs, UnmodelledFunction, type AsteriskLogLevel, type FunctionChannel, type FunctionHost } from './functions';

export interface DialplanPriority {
  priority: number;
  label?: string;
  /** Application name as written. */
  app: string;
  /** Its argument text as written (between the first `(` and the last `)`), not yet substituted. */
  data: string;
  /** Where it was written, for messages. */
  source?: string;
}

export interface DialplanExtension {
  /** `_[+0-9].`, `s`, `*32`, ... */
  pattern: string;
  priorities: DialplanPriority[];
}

/** Contexts → their extensions, in file order. */
export type Dialplan = Map<string, DialplanExtension[]>;

export interface DialplanLocation {
  context: string;
  exten: string;
  priority: number;
}

/** Where a simulated dialplan run ended. */
export type DialplanStop =
  | (DialplanLocation & { how: 'stasis'; app: string; args: string[] })
  /** An application the simulator does not run (Dial, VoiceMail, Hangup, ...), with its substituted argument. */
  | (DialplanLocation & { how: 'application'; app: string; data: string })
  /** No such extension (Asterisk logs a WARNING and hangs up). */
  | (DialplanLocation & { how: 'invalid' })
  /** Past the last priority (autofallthrough). */
  | (DialplanLocation & { how: 'ended' });

export interface DialplanHost extends FunctionHost {
  /** pbx_builtin_setvar_helper: a plain variable, or a function write such as CALLERID(name). */
  setVariable(ch: FunctionChannel, name: string, value: string): void;
  /** The channel moved to a priority (updates its snapshot's dialplan). */
  position(ch: FunctionChannel, at: DialplanLocation & { app: string; data: string }): void;
}

// ---- extension patterns -------------------------------------------------------------

function patternRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 1; i < pattern.length; i++) {
    const c = pattern[i]!;
    const upper = c.toUpperCase();
    if (upper === 'X') re += '[0-9]';
    else if (upper === 'Z') re += '[1-9]';
    else if (upper === 'N') re += '[2-9]';
    else if (c === '.') re += '.+';
    else if (c === '!') re += '.*';
    else if (c === '[') {
      const end = pattern.indexOf(']', i);
      if (end < 0) throw new UnmodelledFunction(`pattern ${pattern}: no closing ]`);
      const set = pattern.slice(i + 1, end).replace(/[\\\]^]/g, '\\$&');
      re += `[${set}]`;
      i = end;
    } else re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's');
}

export function extensionMatches(pattern: string, exten: string): boolean {
  return pattern.startsWith('_') ? patternRegExp(pattern).test(exten) : pattern === exten;
}

/** The extension a number runs in: an exact one, else the one pattern that matches. */
export function findExtension(dialplan: Dialplan, context: string, exten: string): DialplanExtension | undefined {
  const extensions = dialplan.get(context) ?? [];
  const exact = extensions.find((e) => e.pattern === exten);
  if (exact) return exact;
  const matching = extensions.filter((e) => e.pattern.startsWith('_') && extensionMatches(e.pattern, exten));
  if (matching.length > 1) throw new UnmodelledFunction(`${exten}@${context} matches ${matching.map((e) => e.pattern).join(' and ')}: the simulator does not rank patterns`);
  return matching[0];
}

// ---- substitution ---------------------------------------------------------------------

/** parse_variable_name + substring(): `NAME:offset:length`. */
function cut(value: string, offset: number, length: number): string {
  const n = value.length;
  let start = offset < 0 ? Math.max(0, n + offset) : offset;
  if (start >= n) return '';
  if (length >= 0) return value.slice(start, start + length);
  const end = n + length;
  return end > start ? value.slice(start, end) : '';
}

function splitOffset(expr: string): { name: string; offset: number; length: number } {
  let parens = 0;
  for (let i = 0; i < expr.length; i++) {
    const c = expr[i];
    if (c === '(') parens++;
    else if (c === ')') parens--;
    else if (c === ':' && parens === 0) {
      const [o, l] = expr.slice(i + 1).split(':');
      const offset = Number.parseInt(o ?? '', 10);
      const length = Number.parseInt(l ?? '', 10);
      return { name: expr.slice(0, i), offset: Number.isNaN(offset) ? 0 : offset, length: Number.isNaN(length) ? Number.MAX_SAFE_INTEGER : length };
    }
  }
  return { name: expr, offset: 0, length: Number.MAX_SAFE_INTEGER };
}

/** pbx_checkcondition: "" and numbers that are 0 are false, other strings true. */
export function checkCondition(condition: string): boolean {
  if (condition === '') return false;
  const n = /^\s*[+-]?\d+/.exec(condition);
  return n ? Number.parseInt(n[0], 10) !== 0 : true;
}

/** The part of ast_expr the shipped dialplans use: one operand, or `a = b`, `a != b` (quoted or bare). */
export function evaluateExpression(expr: string): string {
  const TOKEN = /"[^"]*"|!=|=|[^\s"=!]+/g;
  const tokens = expr.match(TOKEN) ?? [];
  if (expr.replace(TOKEN, '').trim() !== '') throw new UnmodelledFunction(`expression $[${expr}]`);
  const value = (t: string) => (t.startsWith('"') ? t.slice(1, -1) : t);
  if (tokens.length === 1 && tokens[0] !== '=' && tokens[0] !== '!=') return value(tokens[0]!);
  if (tokens.length === 3 && (tokens[1] === '=' || tokens[1] === '!=')) {
    const [a, b] = [value(tokens[0]!), value(tokens[2]!)];
    const numeric = /^[+-]?\d+$/.test(a) && /^[+-]?\d+$/.test(b);
    const equal = numeric ? Number(a) === Number(b) : a === b;
    return (tokens[1] === '=') === equal ? '1' : '0';
  }
  throw new UnmodelledFunction(`expression $[${expr}]`);
}

const BUILTIN_VARIABLES: Record<string, (ch: FunctionChannel, at: DialplanLocation) => string> = {
  EXTEN: (_, at) => at.exten,
  CONTEXT: (_, at) => at.context,
  PRIORITY: (_, at) => String(at.priority),
  CHANNEL: (ch) => ch.name,
  UNIQUEID: (ch) => ch.id,
};

/**
 * pbx_substitute_variables_helper_full: every ${...} and $[...] of `text`, innermost first.
 * Functions are called whatever application the text is for, which is why a PJSIP function
 * inside ExecIf() or IF() still runs (and logs) on a channel of another type.
 */
export function substitute(host: FunctionHost, ch: FunctionChannel, at: DialplanLocation, text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const opener = text[i] === '$' ? text[i + 1] : undefined;
    if (opener !== '{' && opener !== '[') {
      out += text[i];
      i += 1;
      continue;
    }
    const closer = opener === '{' ? '}' : ']';
    let depth = 1;
    let needsSub = false;
    let j = i + 2;
    for (; j < text.length && depth > 0; j++) {
      if (text[j] === '$' && (text[j + 1] === '{' || text[j + 1] === '[')) needsSub = true;
      else if (text[j] === opener) depth++;
      else if (text[j] === closer) depth--;
    }
    if (depth > 0) {
      host.log({ level: 'WARNING', file: 'pbx_variables.c', message: `Error in extension logic (missing '${closer}')`, channel: ch.name });
      j = text.length + 1;
    }
    const raw = text.slice(i + 2, j - 1);
    const inner = needsSub ? substitute(host, ch, at, raw) : raw;
    if (opener === '[') out += evaluateExpression(inner);
    else {
      const { name, offset, length } = splitOffset(inner);
      let value: string;
      if (splitFunction(name)) value = readFunction(host, ch, name) ?? '';
      else value = ch.vars.get(name) ?? BUILTIN_VARIABLES[name]?.(ch, at) ?? '';
      out += cut(value, offset, length);
    }
    i = j;
  }
  return out;
}

// ---- running ------------------------------------------------------------------------

function logLevel(name: string): AsteriskLogLevel | null {
  const upper = name.trim().toUpperCase();
  return upper === 'ERROR' || upper === 'WARNING' || upper === 'NOTICE' || upper === 'VERBOSE' || upper === 'DEBUG' ? upper : null;
}

/**
 * Runs a channel through the dialplan from `from` until it reaches Stasis(), an application
 * the simulator does not run, an invalid extension or the end of its extension.
 */
export function runDialplan(
  dialplan: Dialplan,
  host: DialplanHost,
  ch: FunctionChannel,
  from: { context: string; exten: string; priority?: number; label?: string },
): DialplanStop {
  let at: DialplanLocation = { context: from.context, exten: from.exten, priority: from.priority ?? 1 };
  let label = from.label;
  const warn = (message: string) => host.log({ level: 'WARNING', file: 'pbx.c', message, channel: ch.name });
  for (let steps = 0; steps < 1000; steps++) {
    const extension = findExtension(dialplan, at.context, at.exten);
    if (!extension) {
      warn(`Channel '${ch.name}' sent to invalid extension but no invalid handler: context,exten,priority=${at.context},${at.exten},${at.priority}`);
      return { how: 'invalid', ...at };
    }
    if (label !== undefined) {
      const labelled = extension.priorities.find((p) => p.label === label);
      if (!labelled) {
        warn(`Priority '${label}' must be a number > 0, or valid label`);
        return { how: 'invalid', ...at };
      }
      at = { ...at, priority: labelled.priority };
      label = undefined;
    }
    const step = extension.priorities.find((p) => p.priority === at.priority);
    if (!step) return { how: 'ended', ...at };
    // The whole argument text is substituted before the application runs.
    const data = substitute(host, ch, at, step.data);
    host.position(ch, { ...at, app: step.app, data });
    const jump = runApplication(host, ch, at, step.app, data);
    if (jump === 'next') {
      at = { ...at, priority: at.priority + 1 };
      continue;
    }
    if ('how' in jump) return jump;
    at = { context: jump.context ?? at.context, exten: jump.exten ?? at.exten, priority: jump.priority ?? at.priority };
    label = jump.label;
  }
  throw new Error(`the simulated dialplan ran 1000 priorities without stopping at ${at.context},${at.exten},${at.priority}`);
}

type Jump = 'next' | DialplanStop | { context?: string; exten?: string; priority?: number; label?: string };

/** ast_parseable_goto: `[[context,]exten,]priority-or-label`. */
function parseGoto(branch: string): Jump {
  const parts = branch.split(',').map((p) => p.trim());
  const [context, exten, target] = parts.length >= 3 ? parts : parts.length === 2 ? [undefined, parts[0], parts[1]] : [undefined, undefined, parts[0]];
  const jump: { context?: string; exten?: string; priority?: number; label?: string } = {};
  if (context) jump.context = context;
  if (exten) jump.exten = exten;
  if (/^\d+$/.test(target ?? '')) jump.priority = Number(target);
  else jump.label = target ?? '';
  return jump;
}

function runApplication(host: DialplanHost, ch: FunctionChannel, at: DialplanLocation, app: string, data: string): Jump {
  switch (app.trim().toLowerCase()) {
    case 'noop':
      return 'next';
    case 'set': {
      // pbx_builtin_setvar: everything after the first "=" is the value, commas and all.
      const eq = data.indexOf('=');
      if (data === '') host.log({ level: 'WARNING', file: 'pbx_variables.c', message: 'Set requires one variable name/value pair.', channel: ch.name });
      else if (eq < 0) host.log({ level: 'WARNING', file: 'pbx_variables.c', message: "Set requires an '=' to be a valid assignment.", channel: ch.name });
      else {
        const name = data.slice(0, eq);
        const value = data.slice(eq + 1);
        if (name.includes(' ')) {
          host.log({ level: 'WARNING', file: 'pbx_variables.c', message: `Please avoid unnecessary spaces on variables as it may lead to unexpected results ('${name}' set to '${value}').`, channel: ch.name });
        }
        host.setVariable(ch, name, value);
      }
      return 'next';
    }
    case 'log': {
      const [level = '', message = ''] = standardArgs(data, 2);
      const known = logLevel(level);
      if (!known) throw new UnmodelledFunction(`Log level ${level}`);
      host.log({ level: known, file: `Ext. ${at.exten}:${at.priority} @ ${at.context}`, message, channel: ch.name });
      return 'next';
    }
    case 'gotoif': {
      const q = data.indexOf('?');
      const condition = q < 0 ? data : data.slice(0, q);
      const branches = q < 0 ? '' : data.slice(q + 1);
      const colon = branches.indexOf(':');
      const branch = checkCondition(condition) ? (colon < 0 ? branches : branches.slice(0, colon)) : colon < 0 ? '' : branches.slice(colon + 1);
      return branch === '' ? 'next' : parseGoto(branch);
    }
    case 'goto':
      return parseGoto(data);
    case 'execif': {
      const q = data.indexOf('?');
      const comma = data.indexOf(',');
      if (q < 0 || (comma >= 0 && comma < q)) throw new UnmodelledFunction(`ExecIf in its deprecated form: ${data}`);
      const [chosenTrue = '', chosenFalse] = standardRaw(data.slice(q + 1), ':');
      const chosen = checkCondition(data.slice(0, q)) ? chosenTrue : chosenFalse;
      if (!chosen) return 'next';
      const open = chosen.indexOf('(');
      const close = chosen.lastIndexOf(')');
      const inner = open < 0 ? '' : chosen.slice(open + 1, close > open ? close : undefined);
      const name = open < 0 ? chosen : chosen.slice(0, open);
      // The argument was substituted with the whole priority; it is not substituted again.
      const jump = runApplication(host, ch, at, name, inner);
      if (jump !== 'next') throw new UnmodelledFunction(`ExecIf(...?${name}(...)) that jumps or stops`);
      return 'next';
    }
    case 'stasis': {
      const [name = '', ...args] = standardArgs(data);
      return { how: 'stasis', ...at, app: name, args };
    }
    default:
      return { how: 'application', ...at, app, data };
  }
}

/** __ast_app_separate_args without removing quotes or backslashes (AST_NONSTANDARD_RAW_ARGS), in two parts. */
function standardRaw(text: string, delim: string): [string, string | undefined] {
  let paren = 0;
  let bracket = 0;
  let quote = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') paren++;
    else if (c === ')') paren = Math.max(0, paren - 1);
    else if (c === '[') bracket++;
    else if (c === ']') bracket = Math.max(0, bracket - 1);
    else if (c === '"') quote = !quote;
    else if (c === '\\') i++;
    else if (c === delim && !paren && !bracket && !quote) return [text.slice(0, i), text.slice(i + 1)];
  }
  return [text, undefined];
}
