import { isSupportedCountry } from 'libphonenumber-js/min';
import { ATTESTATION_MEANINGS, ATTESTATION_WORD } from '../engine/attestation';
import { ANONYMOUS_NUMBER, ANONYMOUS_WORD } from '../engine/numbers';
import { pbxListErrors } from './pbx-list';
import { CONFIG_DEFAULTS } from './schema';

type Check = (value: unknown) => string | null;

const HOST_PORT = /^(\[[0-9a-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/i;
const oneOf = (...allowed: unknown[]): Check => (value) => (allowed.includes(value) ? null : `expected one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`);
const text: Check = (value) => (typeof value === 'string' && value.length <= 1024 && !/[\r\n\0]/.test(value) ? null : 'expected one line of text');
const nullableText: Check = (value) => (value === null ? null : text(value));
const hostPort: Check = (value) => {
  const match = typeof value === 'string' ? HOST_PORT.exec(value) : null;
  return match && Number(match[2]) >= 1 && Number(match[2]) <= 65535 ? null : 'expected host:port such as 127.0.0.1:8021';
};
const integer = (min: number, max: number): Check => (value) =>
  Number.isInteger(value) && (value as number) >= min && (value as number) <= max ? null : `expected a whole number from ${min} to ${max}`;
const template = (placeholder: string): Check => (value) => text(value) ?? (String(value).includes(placeholder) ? null : `expected a template containing ${placeholder}`);
const variableName: Check = (value) => (value === null || (typeof value === 'string' && /^[A-Za-z0-9_()",.-]{1,64}$/.test(value)) ? null : 'expected a channel variable name');
const textList: Check = (value) => (Array.isArray(value) && value.every((item) => variableName(item) === null) ? null : 'expected a list of channel variable names');
const shownWord = (value: unknown) => JSON.stringify(value)?.slice(0, 60);
/** A list of up to `max` entries, each matching `entry`; the first bad one named. */
const listOf = (entry: RegExp, what: string, max: number): Check => (value) => {
  if (!Array.isArray(value) || value.length > max) return `expected a list of up to ${max} ${what}s`;
  const bad = value.find((item) => typeof item !== 'string' || !entry.test(item));
  return bad === undefined ? null : `${shownWord(bad)} is not a ${what}`;
};
/** `{"word": "A"}`: each word one header word, each meaning a level, failed or none. */
const attestationWordMap: Check = (value) => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'expected an object of words and what each means, such as {"TN-Verified": "A"}';
  const entries = Object.entries(value);
  if (entries.length > 200) return 'expected at most 200 words';
  for (const [word, meaning] of entries) {
    if (!ATTESTATION_WORD.test(word)) return `${shownWord(word)} is not a word (letters, digits, - _ and ., up to 64)`;
    if (typeof meaning !== 'string' || !(ATTESTATION_MEANINGS as readonly string[]).includes(meaning)) {
      return `${shownWord(word)} means ${shownWord(meaning)}, an unknown attestation: expected one of ${ATTESTATION_MEANINGS.map((m) => JSON.stringify(m)).join(', ')}`;
    }
  }
  return null;
};

/** One check per key of the config file; a key not here is not a setting. */
const CHECKS: Record<string, Check> = {
  db: text,
  country: (value) => (typeof value === 'string' && isSupportedCountry(value.toUpperCase()) ? null : 'expected an ISO country code such as US or GB'),
  logLevel: oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'),
  failMode: oneOf('open', 'closed'),
  decisionLimitMs: integer(10, 10_000),
  pbx: oneOf('freeswitch', 'asterisk', null),
  'freeswitch.mode': oneOf('outbound', 'inbound', null),
  'freeswitch.listen': hostPort,
  'freeswitch.esl': hostPort,
  'freeswitch.eslPassword': nullableText,
  'freeswitch.pairAs': oneOf('a', 'b', null),
  'freeswitch.promptDir': text,
  'freeswitch.forwardDialString': template('{number}'),
  'freeswitch.voicemailApp': (value) => (typeof value === 'string' && /^[a-z_]+$/.test(value) ? null : 'expected an application name'),
  'freeswitch.voicemailArg': template('{box}'),
  'freeswitch.carrierVariable': variableName,
  'freeswitch.attestationVariables': textList,
  'asterisk.url': (value) => (typeof value === 'string' && /^https?:\/\/[^/?#\s]+\/?$/i.test(value) ? null : 'expected http://host:port'),
  'asterisk.user': text,
  'asterisk.password': nullableText,
  'asterisk.pairAs': oneOf('a', 'b', null),
  'asterisk.app': (value) => (typeof value === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(value) ? null : 'expected a Stasis application name'),
  'asterisk.soundPrefix': text,
  'asterisk.forwardEndpoint': template('{number}'),
  'asterisk.voicemailContext': (value) => (typeof value === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(value) ? null : 'expected a context name'),
  'asterisk.voicemailExtension': template('{box}'),
  'asterisk.sourceIpVariable': variableName,
  'asterisk.sipFromVariable': variableName,
  'asterisk.carrierVariable': variableName,
  'asterisk.attestationVariable': variableName,
  'asterisk.attestationVariables': textList,
  'anonymous.words': listOf(ANONYMOUS_WORD, 'word (letters, digits, spaces, - _ and ., up to 40)', 100),
  'anonymous.numbers': listOf(ANONYMOUS_NUMBER, 'number (digits and separators, up to 24)', 1000),
  'attestation.words': attestationWordMap,
  'challenge.digit': (value) => (typeof value === 'string' && /^[0-9*#]$/.test(value) ? null : 'expected one key: 0-9, * or #'),
  'challenge.timeoutMs': integer(500, 60_000),
  'challenge.tries': integer(1, 5),
  // FreeSWITCH waits at least a second whatever it is told; a caller needs longer to start keying a number.
  'identify.timeoutMs': integer(1000, 60_000),
  'identify.digitTimeoutMs': integer(1000, 30_000),
  'identify.tries': integer(1, 5),
  'identify.maxDigits': integer(7, 15),
  'flag.namePrefix': (value) => (typeof value === 'string' && value.length <= 20 && !/[\u0000-\u001f$\\{}]/.test(value) ? null : 'expected up to 20 plain characters'),
  'flag.variable': (value) => (typeof value === 'string' && /^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(value) ? null : 'expected a variable name'),
  'http.enabled': oneOf(true, false),
  'http.listen': hostPort,
  'http.tokenName': (value) => (typeof value === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(value) ? null : 'expected a short name'),
  'console.enabled': oneOf(true, false),
  'console.listen': hostPort,
  'console.behindProxy': oneOf(true, false),
  'console.tlsCert': nullableText,
  'console.tlsKey': nullableText,
  // Checked as a PostgreSQL URL where the store is chosen (store-choice.ts), whichever way it was given.
  'store.url': nullableText,
  'http.token': (value) => (value === null || (typeof value === 'string' && /^[\x21-\x7e]{16,256}$/.test(value)) ? null : 'expected at least 16 printable characters, no spaces'),
};

/** Every problem with a partial config object, each naming its key. */
export function configErrors(raw: unknown, prefix = ''): string[] {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return [`${prefix || 'the file'}: expected a JSON object`];
  const errors: string[] = [];
  for (const [key, value] of Object.entries(raw)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (path === 'pbxes') {
      errors.push(...pbxListErrors(value, (setting, given) => CHECKS[setting]?.(given) ?? null));
      continue;
    }
    const section = (CONFIG_DEFAULTS as Record<string, unknown>)[key];
    if (!prefix && typeof section === 'object' && section !== null) {
      errors.push(...configErrors(value, path));
      continue;
    }
    const check = CHECKS[path];
    if (!check) {
      errors.push(`${path}: not a setting`);
      continue;
    }
    const problem = check(value);
    // A store URL may hold a password: never repeated back.
    if (problem) errors.push(path === 'store.url' ? `${path}: ${problem}` : `${path}: ${problem}, got ${JSON.stringify(value)?.slice(0, 60)}`);
  }
  return errors;
}
