import { BadInput, inField } from '../engine/bad-input';
import { parseExpiry } from '../engine/duration';
import { parseSchedule, systemTimeZone } from '../engine/time-window';
import { requireNumber } from '../engine/numbers';
import { checkName, formatScope, parseScope } from '../engine/scope';
import { RULE_ACTIONS } from '../engine/types';
import type { RuleAction } from '../engine/types';
import type { RuleOptions } from '../store/rules';

/** Mailboxes end up in dial strings and dialplan arguments: a deliberately plain alphabet. */
const MAILBOX = /^[A-Za-z0-9_.-]{1,64}$/;

export interface ActionChoice {
  readonly action: RuleAction;
  readonly target: string | null;
}

/** `--action block`, `--action voicemail:200`, `--action forward:+14045550000` or `--action forward --to …`. */
export function parseAction(text: string, to: string | undefined, country: string): ActionChoice {
  const colon = text.indexOf(':');
  const name = (colon < 0 ? text : text.slice(0, colon)).trim().toLowerCase();
  const inline = colon < 0 ? undefined : text.slice(colon + 1).trim();
  if (name === 'identify') {
    throw new BadInput('identify is not a rule action: a rule matched by number already has one. Set it as the anonymous or invalid category policy (categories set anonymous identify), or as an allow-only action');
  }
  if (!(RULE_ACTIONS as readonly string[]).includes(name)) {
    throw new BadInput(`unknown action "${text}": expected one of ${RULE_ACTIONS.join(', ')}`);
  }
  const action = name as RuleAction;
  if (inline !== undefined && to !== undefined) throw new BadInput(`give the target once: either --action ${name}:<target> or --to`);
  const target = inline ?? to;
  switch (action) {
    case 'forward':
      if (!target) throw new BadInput('forward needs a number: --action forward --to <number>');
      return { action, target: requireNumber(target, country, 'forward number') };
    case 'voicemail':
      if (target !== undefined && !MAILBOX.test(target)) {
        throw new BadInput(`bad mailbox "${target}": expected letters, digits, '.', '_' or '-'`);
      }
      return { action, target: target ?? null };
    default:
      if (target !== undefined) throw new BadInput(`--to goes with forward or voicemail, not ${action}`);
      return { action, target: null };
  }
}

export interface RuleFlags {
  readonly action: string;
  readonly to?: string | undefined;
  readonly scope?: string | undefined;
  readonly sms?: boolean | string | undefined;
  readonly note?: string | undefined;
  readonly list?: string | undefined;
  readonly expires?: string | undefined;
  readonly when?: string | undefined;
  readonly tz?: string | undefined;
}

/** `--when` (with `--tz`, default the machine's zone) → a checked window, or none. */
export function parseWindow(when: string | undefined, tz: string | undefined): { when: string; tz: string } | null {
  if (!when) {
    if (tz) throw new BadInput('--tz goes with --when');
    return null;
  }
  const schedule = parseSchedule(when, tz || systemTimeZone());
  return { when: schedule.text, tz: schedule.tz };
}

const YES = new Set(['1', 'true', 'yes', 'y']);
const NO = new Set(['', '0', 'false', 'no', 'n']);

function parseFlag(value: boolean | string | undefined): boolean {
  if (typeof value === 'boolean' || value === undefined) return value ?? false;
  const text = value.trim().toLowerCase();
  if (YES.has(text)) return true;
  if (NO.has(text)) return false;
  throw new BadInput(`bad sms value "${value}": expected yes or no`);
}

/**
 * Flags (or a CSV row's columns) → the options every rule carries. An import may
 * carry rules that have expired since they were exported; a new rule may not.
 */
export function parseRuleOptions(flags: RuleFlags, country: string, now: number, pastExpiryAllowed = false): RuleOptions {
  const { action, target } = inField('action', () => parseAction(flags.action, flags.to || undefined, country));
  const scope = inField('scope', () => formatScope(parseScope(flags.scope || 'global', country)));
  const list = flags.list ? inField('list', () => checkName(flags.list!, 'list')) : null;
  const expiresAt = flags.expires ? inField('expires', () => parseExpiry(flags.expires!, now)) : null;
  if (expiresAt !== null && expiresAt <= now && !pastExpiryAllowed) {
    throw new BadInput(`bad expiry "${flags.expires}": that moment has already passed`, 'expires');
  }
  return {
    scope,
    action,
    target,
    sms: inField('sms', () => parseFlag(flags.sms)),
    note: flags.note || null,
    list,
    expiresAt,
    ...inField('when', () => parseWindow(flags.when, flags.tz)),
  };
}
