import type { AriCallerId } from './ari-api';

/**
 * Longest caller-ID text sent back to Asterisk. Values travel as variable values (query
 * string or JSON body, never as dialplan), but Asterisk's HTTP server refuses request
 * lines past a few kB, so a 10 kB caller name must not make the request fail.
 */
const MAX_TEXT = 256;

/** `text` cut to MAX_TEXT UTF-16 units without splitting a surrogate pair. */
export function boundedCallerText(text: string): string {
  if (text.length <= MAX_TEXT) return text;
  const cut = text.slice(0, MAX_TEXT);
  return /[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut;
}

/**
 * The caller's ID as channel variables for an originated leg: set this way Asterisk
 * passes name and number through unchanged (originate's `callerId` parameter rewrites them).
 */
export function callerIdVariables(caller: AriCallerId): Record<string, string> {
  return { 'CALLERID(num)': boundedCallerText(caller.number), 'CALLERID(name)': boundedCallerText(caller.name) };
}
