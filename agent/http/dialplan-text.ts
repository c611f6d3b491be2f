import type { Decision } from '../engine/types';

/** The keys of the text answer, in this order: `action` comes first, so a dialplan that needs only the verdict reads the first line. */
export const TEXT_KEYS = ['action', 'target', 'scope', 'rule_id', 'category', 'score', 'flagged', 'tenant', 'did', 'caller', 'call_id', 'reason'] as const;
export type TextKey = (typeof TEXT_KEYS)[number];

const MAX_VALUE_CHARS = 200;
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
const DIALPLAN_SYNTAX = /[$\{\}\[\]\\;,|"'`=]/g;

/**
 * A value as a dialplan may hold it, whoever wrote the text (a caller ID ends up in the
 * reason). The exact rule, applied in this order:
 *   1. control characters are removed: U+0000–U+001F (line breaks included), U+007F–U+009F,
 *      U+2028 and U+2029;
 *   2. each of  $ { } [ ] \ ; , | " ' ` =  becomes `_`;
 *   3. the result is cut to 200 characters (code points, so no emoji is split).
 * So a value never ends its line, never starts a FreeSWITCH `${…}` or an Asterisk `${…}` or
 * `$[…]`, never splits an application's arguments (`,` `|` `;`), never closes a quoted
 * string, and never holds the `=` that separates key from value.
 */
export function dialplanSafe(value: string): string {
  const cleaned = value.replace(CONTROL, '').replace(DIALPLAN_SYNTAX, '_');
  return cleaned.length <= MAX_VALUE_CHARS ? cleaned : Array.from(cleaned).slice(0, MAX_VALUE_CHARS).join('');
}

const lines = (entries: readonly (readonly [string, string])[]) => entries.map(([key, value]) => `${key}=${dialplanSafe(value)}\n`).join('');

/** The decision as `key=value` lines for Asterisk's `CURL()` and FreeSWITCH's `curl`; empty values for what does not apply. */
export function decisionText(decision: Decision, callId: string): string {
  const values: Record<TextKey, string> = {
    action: decision.action,
    target: decision.target ?? '',
    scope: decision.scope ?? '',
    rule_id: decision.ruleId === null ? '' : String(decision.ruleId),
    category: decision.category ?? '',
    score: decision.score === null ? '' : String(decision.score),
    flagged: String(decision.flagged),
    tenant: decision.tenant,
    did: decision.did ?? '',
    caller: decision.caller ?? '',
    call_id: callId,
    reason: decision.reasons[0] ?? '',
  };
  return lines(TEXT_KEYS.map((key) => [key, values[key]] as const));
}

/** A refusal in the same form: one `error=` line. */
export function errorText(message: string): string {
  return lines([['error', message]]);
}
