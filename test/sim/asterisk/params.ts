// Strict request parsing driven by the Swagger parameter declarations.
//
// Asterisk reads query (and form) parameters, then lets keys of a JSON object body
// override them. Unlike Asterisk (which uses atoi and ignores mistyped JSON values) the
// simulator answers 400 for a malformed typed value, so agent bugs surface in tests.
// Nothing here throws on hostile input.
import type { SwaggerOperation, SwaggerParam } from './swagger';

export type ArgValue = string | number | boolean | string[] | Record<string, unknown>;
export type Args = Record<string, ArgValue | undefined>;

export type ParseResult = { ok: true; args: Args; ignored: string[] } | { ok: false; status: number; message: string };

/**
 * Percent-decoding as Asterisk's legacy URI decoder does it: `+` is a space, a valid
 * `%XX` is a byte, anything else stays literal. Bytes are then read as UTF-8.
 */
export function decodeUriComponentLenient(s: string): string {
  if (!/[%+]/.test(s)) return s;
  const bytes: number[] = [];
  const src = Buffer.from(s, 'utf8');
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === 0x2b) {
      bytes.push(0x20);
    } else if (c === 0x25 && i + 2 < src.length && isHex(src[i + 1]!) && isHex(src[i + 2]!)) {
      bytes.push(parseInt(String.fromCharCode(src[i + 1]!, src[i + 2]!), 16));
      i += 2;
    } else {
      bytes.push(c);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

/** `a=1&b=2` → ordered pairs; a name without `=` gets the empty value. */
export function parseQueryPairs(qs: string): [string, string][] {
  const pairs: [string, string][] = [];
  for (const part of qs.split('&')) {
    if (part.length === 0) continue;
    const eq = part.indexOf('=');
    const name = decodeUriComponentLenient(eq < 0 ? part : part.slice(0, eq));
    const value = eq < 0 ? '' : decodeUriComponentLenient(part.slice(eq + 1));
    if (name.length > 0) pairs.push([name, value]);
  }
  return pairs;
}

/** Query pairs as a record for logs: repeated names become arrays. */
export function pairsToRecord(pairs: [string, string][]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = Object.create(null);
  for (const [k, v] of pairs) {
    const prev = out[k];
    if (prev === undefined) out[k] = v;
    else if (Array.isArray(prev)) prev.push(v);
    else out[k] = [prev, v];
  }
  return { ...out };
}

const AST_TRUE = new Set(['yes', 'true', 'y', 't', '1', 'on']);
const AST_FALSE = new Set(['no', 'false', 'n', 'f', '0', 'off']);
const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

type Conv = { ok: true; value: ArgValue } | { ok: false };

function fromString(p: SwaggerParam, raw: string): Conv {
  if (p.allowMultiple) {
    // Asterisk splits multi-valued query parameters on commas.
    return { ok: true, value: raw.split(',') };
  }
  switch (p.dataType) {
    case 'string':
      return { ok: true, value: raw };
    case 'int':
    case 'long': {
      if (!/^[+-]?\d{1,19}$/.test(raw)) return { ok: false };
      const n = Number(raw);
      if (!Number.isSafeInteger(n)) return { ok: false };
      if (p.dataType === 'int' && (n < INT32_MIN || n > INT32_MAX)) return { ok: false };
      return { ok: true, value: n };
    }
    case 'boolean': {
      const lower = raw.toLowerCase();
      if (AST_TRUE.has(lower)) return { ok: true, value: true };
      if (AST_FALSE.has(lower)) return { ok: true, value: false };
      return { ok: false };
    }
    default:
      return { ok: false };
  }
}

function fromJson(p: SwaggerParam, v: unknown): Conv {
  if (p.allowMultiple) {
    if (typeof v === 'string') return { ok: true, value: [v] };
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return { ok: true, value: [...(v as string[])] };
    return { ok: false };
  }
  switch (p.dataType) {
    case 'string':
      return typeof v === 'string' ? { ok: true, value: v } : { ok: false };
    case 'int':
    case 'long':
      if (typeof v !== 'number' || !Number.isSafeInteger(v)) return { ok: false };
      if (p.dataType === 'int' && (v < INT32_MIN || v > INT32_MAX)) return { ok: false };
      return { ok: true, value: v };
    case 'boolean':
      return typeof v === 'boolean' ? { ok: true, value: v } : { ok: false };
    default:
      return { ok: false };
  }
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Build the typed arguments of `op`. `formPairs` come first and `queryPairs` after, so
 * that (as in Asterisk) a later value of the same name wins; JSON body keys win last.
 */
export function parseArgs(
  op: SwaggerOperation,
  pathParams: Record<string, string>,
  queryPairs: [string, string][],
  formPairs: [string, string][],
  body: unknown,
): ParseResult {
  const args: Args = Object.create(null);
  const declared = new Map(op.parameters.map((p) => [p.name, p]));
  const ignored: string[] = [];

  for (const p of op.parameters) {
    if (p.paramType === 'path') args[p.name] = pathParams[p.name];
  }

  for (const [name, raw] of [...formPairs, ...queryPairs]) {
    const p = declared.get(name);
    if (!p || p.paramType !== 'query') {
      if (name !== 'api_key') ignored.push(name);
      continue;
    }
    const conv = fromString(p, raw);
    if (!conv.ok) return { ok: false, status: 400, message: `Invalid value for parameter '${name}'` };
    args[name] = conv.value;
  }

  if (body !== undefined) {
    if (!isPlainObject(body)) return { ok: false, status: 400, message: 'Request body must be a JSON object' };
    for (const p of op.parameters) {
      if (!Object.prototype.hasOwnProperty.call(body, p.name)) continue;
      const v = body[p.name];
      if (p.paramType === 'query') {
        const conv = fromJson(p, v);
        if (!conv.ok) return { ok: false, status: 400, message: `Invalid value for parameter '${p.name}'` };
        args[p.name] = conv.value;
      } else if (p.paramType === 'body') {
        if (!isPlainObject(v)) return { ok: false, status: 400, message: `'${p.name}' must be a JSON object` };
        args[p.name] = v;
      }
    }
  }

  return { ok: true, args: { ...args }, ignored };
}

export function argString(args: Args, name: string): string | undefined {
  const v = args[name];
  return typeof v === 'string' ? v : undefined;
}

export function argNumber(args: Args, name: string): number | undefined {
  const v = args[name];
  return typeof v === 'number' ? v : undefined;
}

export function argList(args: Args, name: string): string[] {
  const v = args[name];
  return Array.isArray(v) ? v : [];
}

export function argObject(args: Args, name: string): Record<string, unknown> | undefined {
  const v = args[name];
  return isPlainObject(v) ? v : undefined;
}
