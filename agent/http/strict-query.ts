import { BadInput } from '../engine/bad-input';
import { shownInMessage } from './shown-in-message';

/** Longest value (or name) accepted, in bytes once decoded: caller IDs and URIs are far shorter. */
export const MAX_PARAMETER_BYTES = 1024;

/**
 * `%XX` escapes to bytes, then UTF-8. Leniently, since caller data is only data: a stray
 * `%` stays as it is and bytes that are not UTF-8 (a Latin-1 `%E9`) become U+FFFD rather
 * than an error. `+` stays a plus sign: these values are phone numbers, and a space is `%20`.
 */
function percentDecode(text: string): Buffer {
  const bytes = Buffer.alloc(text.length);
  let length = 0;
  for (let i = 0; i < text.length; i++) {
    const hex = text[i] === '%' ? text.slice(i + 1, i + 3) : '';
    if (/^[0-9a-fA-F]{2}$/.test(hex)) {
      bytes[length++] = parseInt(hex, 16);
      i += 2;
    } else {
      bytes[length++] = text.charCodeAt(i) & 0xff;
    }
  }
  return bytes.subarray(0, length);
}

function decodeLimited(text: string, what: () => string): string {
  // Without escapes the text is plain ASCII (Node refuses other bytes in a URL): one byte per character.
  const bytes = text.includes('%') ? percentDecode(text) : null;
  if ((bytes?.length ?? text.length) > MAX_PARAMETER_BYTES) throw new BadInput(`${what()} is longer than ${MAX_PARAMETER_BYTES} bytes`);
  return bytes ? bytes.toString('utf8') : text;
}

/**
 * The query string of a request, read strictly: every parameter is one of `allowed`,
 * appears at most once and is at most 1 kB. Anything else is refused with a message
 * naming the parameter, so that a typo in a dialplan shows at once instead of being
 * silently ignored. `raw` is the part after `?`, still encoded.
 */
export function parseStrictQuery<Name extends string>(raw: string, allowed: readonly Name[]): Map<Name, string> {
  const params = new Map<Name, string>();
  for (const piece of raw.split('&')) {
    if (piece === '') continue;
    const equals = piece.indexOf('=');
    const rawName = equals < 0 ? piece : piece.slice(0, equals);
    const name = decodeLimited(rawName, () => `a parameter name`);
    const value = decodeLimited(equals < 0 ? '' : piece.slice(equals + 1), () => `parameter "${shownInMessage(name)}"`);
    if (!(allowed as readonly string[]).includes(name)) {
      throw new BadInput(`unknown parameter "${shownInMessage(name)}": expected ${allowed.join(', ')}`);
    }
    if (params.has(name as Name)) throw new BadInput(`parameter "${name}" is given more than once`);
    params.set(name as Name, value);
  }
  return params;
}

/** Whether the raw query asks for `format=text`, looked at before it is validated so that even its errors come as text. */
export function asksForText(raw: string): boolean {
  return raw.split('&').includes('format=text');
}
