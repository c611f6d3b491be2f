import { BadInput } from './bad-input';

const USER = /^[^\s@;<>"*]+$/;
const HOST = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$|^\[[0-9a-f:.]+\]$/;

export interface SipPattern {
  readonly key: string;
  readonly exact: boolean;
}

/** `user@example.com` (one From URI) or `*@example.com` (a whole domain). */
export function parseSipPattern(text: string): SipPattern {
  const address = addressOf(text);
  if (address) {
    if (address.user === '*') return { key: `sipdomain:${address.host}`, exact: false };
    if (USER.test(address.user)) return { key: `sip:${address.user}@${address.host}`, exact: true };
  }
  throw new BadInput(`bad SIP pattern "${text}": expected user@example.com or *@example.com`);
}

/** The keys a signalled From URI can match: itself and its domain. Untrusted input: never throws. */
export function sipKeys(fromUri: string): string[] {
  const address = addressOf(fromUri);
  if (!address || !USER.test(address.user)) return address ? [`sipdomain:${address.host}`] : [];
  return [`sip:${address.user}@${address.host}`, `sipdomain:${address.host}`];
}

function addressOf(text: string): { user: string; host: string } | null {
  if (text.length > 512) return null;
  let uri = text.trim();
  const open = uri.indexOf('<');
  if (open >= 0) {
    const close = uri.indexOf('>', open);
    uri = uri.slice(open + 1, close < 0 ? undefined : close);
  }
  uri = uri.replace(/^sips?:/i, '');
  const cut = uri.search(/[;?>]/);
  if (cut >= 0) uri = uri.slice(0, cut);
  const at = uri.lastIndexOf('@');
  if (at <= 0) return null;
  const user = uri.slice(0, at);
  const host = uri.slice(at + 1).toLowerCase().replace(/:\d+$/, '');
  if (!HOST.test(host)) return null;
  return { user, host };
}
