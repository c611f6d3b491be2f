import { BadInput } from './bad-input';

/** Days are 0 (Sunday) to 6; minutes since local midnight. */
interface Window {
  readonly days: ReadonlySet<number>;
  readonly start: number;
  readonly end: number;
}

/** One or more weekly windows, read in an IANA time zone. */
export interface Schedule {
  readonly text: string;
  readonly tz: string;
  readonly windows: readonly Window[];
}

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
const HELP = 'expected windows such as "mon-fri 09:00-17:00", "sat-sun 10:00-14:00, 22:00-07:00" (days optional, overnight allowed)';

function day(text: string, whole: string): number {
  const index = DAYS.indexOf(text.slice(0, 3).toLowerCase() as (typeof DAYS)[number]);
  if (index < 0 || !/^[a-z]{3,9}$/i.test(text)) throw new BadInput(`bad window "${whole}": unknown day "${text}"; ${HELP}`);
  return index;
}

function minutes(text: string, whole: string): number {
  const match = /^([01]\d|2[0-4]):([0-5]\d)$/.exec(text);
  const value = match ? Number(match[1]) * 60 + Number(match[2]) : NaN;
  if (!match || value > 24 * 60) throw new BadInput(`bad window "${whole}": bad time "${text}"; ${HELP}`);
  return value;
}

export function checkTimeZone(tz: string): string {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return tz;
  } catch {
    throw new BadInput(`unknown time zone "${tz}": expected an IANA zone such as America/New_York or Europe/London`);
  }
}

/** The zone of this machine: the default for `--tz`. */
export function systemTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

export function parseSchedule(text: string, tz: string): Schedule {
  checkTimeZone(tz);
  const windows = text.split(',').map((part) => {
    const words = part.trim().split(/\s+/);
    if (words.length === 0 || words.length > 2 || words[0] === '') throw new BadInput(`bad window "${part.trim()}": ${HELP}`);
    const range = words.at(-1)!;
    const [from, to] = range.split('-');
    if (from === undefined || to === undefined) throw new BadInput(`bad window "${part.trim()}": ${HELP}`);
    const start = minutes(from, part.trim());
    const end = minutes(to, part.trim());
    if (start === end) throw new BadInput(`bad window "${part.trim()}": it starts and ends at the same time`);
    let days = new Set([0, 1, 2, 3, 4, 5, 6]);
    if (words.length === 2 && !/^(daily|every)$/i.test(words[0]!)) {
      const [first, last] = words[0]!.split('-');
      const a = day(first!, part.trim());
      const b = last === undefined ? a : day(last, part.trim());
      days = new Set();
      for (let d = a; ; d = (d + 1) % 7) {
        days.add(d);
        if (d === b) break;
      }
    }
    return { days, start, end };
  });
  return { text: text.trim(), tz, windows };
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Weekday and minute of the day at `at` in `tz`, DST included. */
function localTime(at: number, tz: string): { day: number; minute: number } {
  let format = formatters.get(tz);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', { timeZone: tz, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formatters.set(tz, format);
  }
  let weekday = 0;
  let hour = 0;
  let minute = 0;
  for (const part of format.formatToParts(at)) {
    if (part.type === 'weekday') weekday = DAYS.indexOf(part.value.toLowerCase() as (typeof DAYS)[number]);
    else if (part.type === 'hour') hour = Number(part.value);
    else if (part.type === 'minute') minute = Number(part.value);
  }
  return { day: weekday, minute: hour * 60 + minute };
}

/** Open from the start minute (inclusive) to the end minute (exclusive); an overnight window runs into the next day. */
export function isOpen(schedule: Schedule, at: number): boolean {
  const { day: today, minute } = localTime(at, schedule.tz);
  const yesterday = (today + 6) % 7;
  return schedule.windows.some(({ days, start, end }) =>
    start < end ? days.has(today) && minute >= start && minute < end : (days.has(today) && minute >= start) || (days.has(yesterday) && minute < end),
  );
}
