import { BadInput } from './bad-input';

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `30d`, `12h`, `90m`, `2w` → milliseconds. */
export function parseDuration(text: string, what: string): number {
  const match = /^(\d{1,6})\s*([smhdw])$/i.exec(text.trim());
  if (!match) throw new BadInput(`bad ${what} "${text}": expected a duration such as 30d, 12h, 90m or 2w`);
  const ms = Number(match[1]) * (UNIT_MS[match[2]!.toLowerCase()] ?? 0);
  if (ms <= 0) throw new BadInput(`bad ${what} "${text}": must be longer than zero`);
  return ms;
}

/** An expiry as a moment: `30d` from now, or an ISO 8601 date/time. */
export function parseExpiry(text: string, now: number): number {
  const trimmed = text.trim();
  if (/^\d+\s*[smhdw]$/i.test(trimmed)) return now + parseDuration(trimmed, 'expiry');
  if (/^\d{4}-\d{2}-\d{2}/.test(trimmed)) {
    const at = Date.parse(trimmed);
    if (Number.isFinite(at)) return at;
  }
  throw new BadInput(`bad expiry "${text}": expected a duration (30d, 12h) or an ISO date (2026-12-31 or 2026-12-31T18:00:00Z)`);
}
