// Dialplan functions as Asterisk 22 evaluates them on a channel, with what they write to
// Asterisk's log. Used for ari.conf's `channelvars` (main/channel.c
// channel_get_external_vars) and for ${...} in the simulated dialplan (main/pbx_variables.c).
//
// Facts from the Asterisk source (22.10.1):
//  - ast_func_read2 (main/pbx_functions.c) logs ERROR "Function X not registered" for an
//    unknown function (PJSIP_HEADER when chan_pjsip/res_pjsip_header_funcs is not loaded).
//  - channelvars: a function that fails gives "" and an ERROR "Error invoking function X"
//    for every snapshot of every channel; a plain variable unset gives "" and logs nothing.
//  - ${...} in the dialplan: a function that fails gives "" and logs nothing more than the
//    function itself logs.
//  - PJSIP_HEADER(read,...) on a channel that is not PJSIP: ERROR "This function requires a
//    PJSIP channel." (res/res_pjsip_header_funcs.c). On a PJSIP channel without the header
//    (or an outbound one, which has no incoming INVITE): fails with a debug line only.
//  - CHANNEL(pjsip,...) on a channel that is not PJSIP: WARNING "Unknown or unavailable item
//    requested: 'pjsip,...'" (funcs/func_channel.c).
import type { CallerIdJson } from './shapes';

export type AsteriskLogLevel = 'ERROR' | 'WARNING' | 'NOTICE' | 'VERBOSE' | 'DEBUG';

/** One line of the simulated Asterisk log (the `full` log without timestamp and thread). */
export interface AsteriskLogLine {
  level: AsteriskLogLevel;
  /** Source file that logs it in Asterisk, e.g. `channel.c`. */
  file: string;
  message: string;
  /** Name of the channel it was logged for, when there is one. */
  channel?: string;
}

/** What a function needs of a channel. */
export interface FunctionChannel {
  readonly name: string;
  readonly id: string;
  readonly state: string;
  readonly caller: CallerIdJson;
  readonly presentation: string;
  /** Headers of the INVITE that created an inbound PJSIP channel; null for any other channel. */
  readonly sipHeaders: Readonly<Record<string, string>> | null;
  /** Signalling peer `address:port` of a PJSIP channel. */
  readonly remoteAddr: string | null;
  readonly vars: ReadonlyMap<string, string>;
  /** res_stir_shaken's verification results on the channel (an inbound PJSIP call with an Identity header); none by default. */
  readonly stirShaken?: readonly StirShakenResult[] | undefined;
}

/** One STIR_SHAKEN(index, ...) result: `verify_result` as Asterisk 22 names it (`success`, `signature_validation`, ...). */
export interface StirShakenResult {
  readonly identity: string;
  readonly attestation: string;
  readonly verify_result: string;
}

export interface FunctionHost {
  log(line: AsteriskLogLine): void;
  /** chan_pjsip and res_pjsip_header_funcs loaded (default). */
  readonly pjsipLoaded: boolean;
  /** res_stir_shaken loaded (default not): STIR_SHAKEN() is "not registered" without it. */
  readonly stirShakenLoaded?: boolean | undefined;
}

/** A dialplan function the simulator does not model: a test using it must fail loudly, never pass by accident. */
export class UnmodelledFunction extends Error {
  override readonly name = 'UnmodelledFunction';
}

/** CHANNEL(channeltype): the technology of a channel, from its name (`PJSIP/trunk-0001` → `PJSIP`, `Local/...` → `Local`). */
export function channelType(name: string): string {
  const slash = name.indexOf('/');
  return slash < 0 ? '' : name.slice(0, slash);
}

/** `NAME(args)` → name and args as func_args() splits them (first `(`, last `)`); null for a plain variable. */
export function splitFunction(expr: string): { name: string; args: string } | null {
  const open = expr.indexOf('(');
  if (open < 0) return null;
  const close = expr.lastIndexOf(')');
  return { name: expr.slice(0, open).trim().toUpperCase(), args: close > open ? expr.slice(open + 1, close) : expr.slice(open + 1) };
}

/**
 * __ast_app_separate_args with `,` and remove_chars (AST_STANDARD_APP_ARGS): commas inside
 * (), [] or "" do not split; quotes and backslashes are removed. `max` caps the count; the
 * last argument then takes the rest.
 */
export function standardArgs(text: string, max = 128, delim = ','): string[] {
  const args: string[] = [];
  let current = '';
  let paren = 0;
  let bracket = 0;
  let quote = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (args.length === max - 1) {
      current += c;
      continue;
    }
    if (c === '(') paren++;
    else if (c === ')') paren = Math.max(0, paren - 1);
    else if (c === '[') bracket++;
    else if (c === ']') bracket = Math.max(0, bracket - 1);
    else if (c === '"' && delim !== '"') {
      quote = !quote;
      continue;
    } else if (c === '\\') {
      i++;
      if (i < text.length) current += text[i];
      continue;
    } else if (c === delim && !paren && !quote && !bracket) {
      args.push(current);
      current = '';
      continue;
    }
    current += c;
  }
  if (current !== '' || args.length > 0 || text.endsWith(delim)) args.push(current);
  return args;
}

/** FILTER's allowed-characters argument (`+0-9`, `a-zA-Z`) as a set test. */
function allowedChars(spec: string): (c: string) => boolean {
  const ranges: [number, number][] = [];
  for (let i = 0; i < spec.length; i++) {
    const from = spec.charCodeAt(i);
    if (spec[i + 1] === '-' && i + 2 < spec.length) {
      ranges.push([from, spec.charCodeAt(i + 2)]);
      i += 2;
    } else ranges.push([from, from]);
  }
  return (c) => ranges.some(([a, b]) => c.charCodeAt(0) >= a && c.charCodeAt(0) <= b);
}

/**
 * ast_func_read2: the value of `NAME(args)` on a channel, or null when the function fails
 * (having logged what Asterisk logs).
 */
export function readFunction(host: FunctionHost, ch: FunctionChannel, expr: string): string | null {
  const fn = splitFunction(expr);
  if (!fn) throw new UnmodelledFunction(`not a function: ${expr}`);
  const log = (level: AsteriskLogLevel, file: string, message: string) => host.log({ level, file, message, channel: ch.name });
  const isPjsip = channelType(ch.name) === 'PJSIP';
  switch (fn.name) {
    case 'CALLERID': {
      const field = fn.args.trim().toLowerCase();
      const values: Record<string, string> = {
        name: ch.caller.name,
        num: ch.caller.number,
        number: ch.caller.number,
        all: ch.caller.name ? `"${ch.caller.name}" <${ch.caller.number}>` : `<${ch.caller.number}>`,
        pres: ch.presentation,
      };
      const value = values[field];
      if (value === undefined) throw new UnmodelledFunction(`CALLERID(${fn.args})`);
      return value;
    }
    case 'CHANNEL': {
      const item = fn.args.trim();
      const lower = item.toLowerCase();
      const plain: Record<string, string> = { channeltype: channelType(ch.name), name: ch.name, uniqueid: ch.id, language: 'en', state: ch.state };
      if (plain[lower] !== undefined) return plain[lower]!;
      if (lower.startsWith('pjsip,')) {
        if (!isPjsip) {
          // Not ours: func_channel.c hands it to the channel technology, which does not know it.
          log('WARNING', 'func_channel.c', `Unknown or unavailable item requested: '${item}'`);
          return null;
        }
        const field = lower.slice('pjsip,'.length).trim();
        if (field === 'remote_addr') return ch.remoteAddr ?? '';
        throw new UnmodelledFunction(`CHANNEL(${item})`);
      }
      throw new UnmodelledFunction(`CHANNEL(${item})`);
    }
    case 'PJSIP_HEADER': {
      if (!host.pjsipLoaded) {
        log('ERROR', 'pbx_functions.c', 'Function PJSIP_HEADER not registered');
        return null;
      }
      const [action = '', header = '', nth = '1'] = standardArgs(fn.args, 3);
      if (!isPjsip) {
        log('ERROR', 'res_pjsip_header_funcs.c', 'This function requires a PJSIP channel.');
        return null;
      }
      if (action.trim().toLowerCase() !== 'read') throw new UnmodelledFunction(`PJSIP_HEADER(${fn.args})`);
      if (!header) {
        log('ERROR', 'res_pjsip_header_funcs.c', 'This function requires a header name.');
        return null;
      }
      if (Number(nth) > 1) return null;
      // No incoming INVITE (an outbound channel) or no such header: a debug line only.
      const headers = ch.sipHeaders;
      if (!headers) return null;
      const found = Object.entries(headers).find(([k]) => k.toLowerCase() === header.trim().toLowerCase());
      return found ? found[1] : null;
    }
    // funcs/func_module.c: "1" when the module is loaded, else "0".
    case 'IFMODULE': {
      const module = fn.args.trim();
      if (module === 'res_stir_shaken.so') return host.stirShakenLoaded ? '1' : '0';
      if (module === 'chan_pjsip.so' || module === 'res_pjsip_header_funcs.so') return host.pjsipLoaded ? '1' : '0';
      throw new UnmodelledFunction(`IFMODULE(${fn.args})`);
    }
    // res/res_stir_shaken (Asterisk 22): count, or a field of the result at an index (a WARNING when there is none).
    case 'STIR_SHAKEN': {
      if (!host.stirShakenLoaded) {
        log('ERROR', 'pbx_functions.c', 'Function STIR_SHAKEN not registered');
        return null;
      }
      const [index = '', field = ''] = standardArgs(fn.args, 2).map((arg) => arg.trim());
      const results = ch.stirShaken ?? [];
      if (index === 'count') return String(results.length);
      const result = /^\d+$/.test(index) ? results[Number(index)] : undefined;
      if (!result) {
        log('WARNING', 'res_stir_shaken.c', `No STIR/SHAKEN results for index '${index}'`);
        return null;
      }
      if (field !== 'identity' && field !== 'attestation' && field !== 'verify_result') throw new UnmodelledFunction(`STIR_SHAKEN(${fn.args})`);
      return result[field];
    }
    case 'FILTER': {
      const [allowed = '', text = ''] = standardArgs(fn.args, 2);
      const ok = allowedChars(allowed);
      return [...text].filter(ok).join('');
    }
    default:
      throw new UnmodelledFunction(`the simulator does not model ${fn.name}()`);
  }
}

/**
 * channel_get_external_vars for ari.conf's `channelvars`: every name, in order, with its
 * value on this channel ("" when unset or when the function failed, which logs an ERROR).
 */
export function evaluateChannelvars(host: FunctionHost, ch: FunctionChannel, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    if (name.includes('(')) {
      const value = readFunction(host, ch, name);
      if (value === null) host.log({ level: 'ERROR', file: 'channel.c', message: `Error invoking function ${name}`, channel: ch.name });
      out[name] = value ?? '';
    } else {
      out[name] = ch.vars.get(name) ?? '';
    }
  }
  return out;
}

/** ari.conf `channelvars = a,b(c,d)` → the names Asterisk keeps (res/ari/config.c: AST_STANDARD_APP_ARGS). */
export function parseChannelvars(value: string): string[] {
  return standardArgs(value).filter((name) => name !== '');
}
