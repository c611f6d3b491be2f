// FreeSWITCH string handling the agent's arguments go through:
// - switch_channel_expand_variables: ${var}, $${global}, ${var:offset:len},
//   ${api args} / ${api(args)} (API calls!), and - the dangerous part - the
//   *value* of a variable is expanded again, recursively. A caller name of
//   "${uuid}" referenced as ${caller_id_name} therefore turns into the UUID.
// - switch_separate_string: how applications split their argument.

export interface ExpandContext {
  /** Channel variable (or caller-profile field); undefined when unset. */
  variable(name: string): string | undefined;
  /** Global variable for $${name}. */
  global(name: string): string | undefined;
  /** ${cmd args}: runs an API; undefined when the command does not exist. */
  api(command: string, args: string): string | undefined;
}

const MAX_DEPTH = 100;

function needsExpansion(s: string): boolean {
  // switch_string_var_check_const: "$" then (backslashes) then "{"
  let dol = false;
  for (const ch of s) {
    if (ch === '$') dol = true;
    else if (dol) {
      if (ch === '{') return true;
      if (ch !== '\\') dol = false;
    }
  }
  // switch_string_has_escaped_data
  return /\\[\\nst']/.test(s);
}

export function expandVariables(input: string, ctx: ExpandContext, depth = 0): string {
  if (depth > MAX_DEPTH || input === '' || !needsExpansion(input)) return input;
  let out = '';
  let i = 0;
  const s = input;
  while (i < s.length) {
    let ch = s[i]!;
    let literal = false;
    if (ch === '\\') {
      const next = s[i + 1];
      if (next === '$') {
        // "\$" emits "$" and suppresses expansion ("\$$" emits one "$" too)
        i++;
        if (s[i + 1] === '$') i++;
        ch = '$';
        literal = true;
      } else if (next === "'") {
        i += 2; // "\'" vanishes entirely
        continue;
      } else if (next === '\\') {
        out += '\\';
        i += 2;
        continue;
      }
    }
    if (!literal && ch === '$') {
      let global = false;
      let j = i;
      if (s[j + 1] === '$') {
        j++;
        global = true;
      }
      if (s[j + 1] === '{') {
        const parsed = readBraced(s, j + 2);
        out += substitute(parsed.inner, global, ctx, depth);
        i = parsed.end;
        continue;
      }
      out += '$';
      i++;
      continue;
    }
    out += ch;
    i++;
  }
  return out;
}

function readBraced(s: string, start: number): { inner: string; end: number } {
  let level = 1;
  let k = start;
  while (k < s.length) {
    const c = s[k]!;
    if (c === '{' && k !== start) level++;
    else if (c === '}') {
      level--;
      if (level === 0) return { inner: s.slice(start, k), end: k + 1 };
    }
    k++;
  }
  // Unterminated: FreeSWITCH consumes to the end of the string.
  return { inner: s.slice(start), end: s.length };
}

function substitute(inner: string, global: boolean, ctx: ExpandContext, depth: number): string {
  // A space or "(" in the name makes it an API call.
  const sp = inner.search(/[ (]/);
  if (sp >= 0 && !global) {
    const name = inner.slice(0, sp).trimEnd();
    let args = inner.slice(sp + 1);
    if (inner[sp] === '(') {
      let level = 1;
      for (let k = 0; k < args.length; k++) {
        if (args[k] === '(') level++;
        else if (args[k] === ')' && --level === 0) {
          args = args.slice(0, k);
          break;
        }
      }
    }
    const cmd = expandVariables(name, ctx, depth + 1);
    const arg = expandVariables(args, ctx, depth + 1);
    return ctx.api(cmd, arg) ?? '';
  }
  let name = expandVariables(inner, ctx, depth + 1);
  let offset = 0;
  let length = 0;
  const colon = name.indexOf(':');
  if (colon >= 0) {
    const rest = name.slice(colon + 1);
    name = name.slice(0, colon);
    const [o, l] = rest.split(':');
    offset = Number.parseInt(o ?? '0', 10) || 0;
    length = Number.parseInt(l ?? '0', 10) || 0;
  }
  const bracket = name.indexOf('[');
  if (bracket >= 0 && name.indexOf(']', bracket) >= 0) name = name.slice(0, bracket);
  const raw = global ? ctx.global(name) : ctx.variable(name);
  if (raw === undefined) return '';
  let val = expandVariables(raw, ctx, depth + 1);
  if (offset > 0) val = offset > val.length ? '' : val.slice(offset);
  else if (offset < 0 && -offset <= val.length) val = val.slice(val.length + offset);
  if (length > 0 && length < val.length) val = val.slice(0, length);
  return val;
}

const UNESCAPE: Record<string, string> = { n: '\n', r: '\r', t: '\t', s: ' ' };

function cleanupToken(tok: string): string {
  let i = 0;
  while (tok[i] === ' ') i++;
  let out = '';
  let end = 0;
  let inQuotes = false;
  for (; i < tok.length; i++) {
    const c = tok[i]!;
    if (c === '\\' && i + 1 < tok.length) {
      const e = tok[i + 1]!;
      if (e === "'" || e === '"' || e === '\\' || UNESCAPE[e] !== undefined) {
        out += UNESCAPE[e] ?? e;
        end = out.length;
        i++;
        continue;
      }
    }
    if (c === "'" && (inQuotes || tok.indexOf("'", i + 1) >= 0)) {
      inQuotes = !inQuotes;
      if (inQuotes) end = out.length;
      continue;
    }
    out += c;
    if (c !== ' ' || inQuotes) end = out.length;
  }
  return out.slice(0, end);
}

/**
 * switch_separate_string(buf, ' ', argv, max): space-separated, single quotes
 * group, backslash escapes; the last slot receives the unsplit remainder.
 */
export function separateString(input: string, max = 128): string[] {
  const slots: string[] = [];
  let i = 0;
  let inQuotes = false;
  let cur = -1;
  let state: 'start' | 'skipInitial' | 'find' | 'skipEnding' = 'start';
  let buf = '';
  while (i < input.length && (slots.length < max || state !== 'start')) {
    const c = input[i]!;
    if (state === 'start') {
      if (slots.length >= max) break;
      cur = slots.length;
      slots.push('');
      buf = '';
      state = 'skipInitial';
      continue;
    }
    if (state === 'skipInitial') {
      if (c === ' ') {
        i++;
        continue;
      }
      state = 'find';
      continue;
    }
    if (state === 'find') {
      if (c === '\\') {
        buf += c + (input[i + 1] ?? '');
        i += 2;
        slots[cur] = buf;
        continue;
      }
      if (c === "'") inQuotes = !inQuotes;
      else if (c === ' ' && !inQuotes && cur < max - 1) {
        state = 'skipEnding';
        i++;
        continue;
      }
      buf += c;
      slots[cur] = buf;
      i++;
      continue;
    }
    // skipEnding
    if (c === ' ') {
      i++;
      continue;
    }
    state = 'start';
  }
  return slots.map(cleanupToken);
}
