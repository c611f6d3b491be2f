import { BadInput } from './bad-input';
import { parseDuration } from './duration';

/** Every point and window of the risk score, with its default. `protection tune <key> <value>` changes one. */
export const SCORE_DEFAULTS = {
  /** STIR/SHAKEN: full attestation lowers the score; partial raises it a little; none, gateway-level or failed raise it. */
  attestation_a: -20,
  attestation_b: 10,
  attestation_c: 30,
  attestation_failed: 40,
  attestation_missing: 15,
  /** A caller number that cannot be parsed, or is not a valid number for its country. */
  invalid_number: 40,
  /** Same area code and exchange as the number called: the usual spoofing trick. */
  neighbor: 25,
  /** Velocity: at least this many calls, or calls to this many different DIDs, within the window. */
  velocity_window: '10m',
  velocity_calls: 5,
  velocity_calls_points: 20,
  velocity_dids: 3,
  velocity_dids_points: 25,
  /** Challenge history within the window: points per failed challenge (up to two), and for a passed one. */
  history_window: '30d',
  failed_challenge: 15,
  passed_challenge: -25,
} as const;

export type ScoreKey = keyof typeof SCORE_DEFAULTS;
export type ScoreSettings = { -readonly [K in ScoreKey]: (typeof SCORE_DEFAULTS)[K] extends string ? string : number };

const WINDOWS: readonly ScoreKey[] = ['velocity_window', 'history_window'];

export function isScoreKey(key: string): key is ScoreKey {
  return Object.prototype.hasOwnProperty.call(SCORE_DEFAULTS, key);
}

/** Checks one `protection tune` value and returns it in stored form. */
export function checkScoreSetting(key: string, value: string): string {
  // The single reputation service's three settings became the reputation sources (migration 015).
  if (/^reputation_(url|timeout_ms|weight)$/.test(key)) throw new BadInput(`${key} is no longer a score setting: reputation services are sources now (callguard reputation add <name> --url …)`);
  if (!isScoreKey(key)) throw new BadInput(`unknown score setting "${key}": expected one of ${Object.keys(SCORE_DEFAULTS).join(', ')}`);
  if (WINDOWS.includes(key)) {
    parseDuration(value, key);
    return value;
  }
  const number = Number(value);
  if (value.trim() === '' || !Number.isInteger(number) || number < -100 || number > 100) {
    throw new BadInput(`bad value "${value}" for ${key}: expected a whole number from -100 to 100`);
  }
  return value;
}

/** Defaults overlaid with what the operator stored. */
export function scoreSettings(stored: ReadonlyMap<string, string>): ScoreSettings {
  const settings = { ...SCORE_DEFAULTS } as unknown as Record<string, string | number>;
  for (const [key, value] of stored) {
    if (!isScoreKey(key)) continue;
    settings[key] = typeof SCORE_DEFAULTS[key] === 'string' ? value : Number(value);
  }
  return settings as ScoreSettings;
}
