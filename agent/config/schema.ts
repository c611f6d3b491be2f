import { DEFAULT_ACTION_SETTINGS } from '../actions/settings';
import { DEFAULT_ANONYMOUS } from '../engine/numbers';
import { DEFAULT_ASTERISK, DEFAULT_FREESWITCH } from '../pbx/settings';
import type { PbxEntry } from './pbx-list';

/**
 * Everything `callguard serve` can be told, with its default. Precedence, highest first:
 * command-line flags, environment variables (CALLGUARD_*), the JSON config file
 * (--config, else CALLGUARD_CONFIG), these defaults.
 */
export const CONFIG_DEFAULTS = {
  db: 'callguard.db',
  country: 'US',
  logLevel: 'info',
  failMode: 'open' as 'open' | 'closed',
  /** A decision slower than this follows the fail mode instead. */
  decisionLimitMs: 250,
  pbx: null as 'freeswitch' | 'asterisk' | null,
  /** Several switches at once, each named (agent/config/pbx-list.ts); empty: the one `pbx` names. */
  pbxes: [] as PbxEntry[],
  freeswitch: {
    mode: null as 'outbound' | 'inbound' | null,
    listen: '127.0.0.1:8084',
    esl: '127.0.0.1:8021',
    eslPassword: null as string | null,
    /** Inbound mode, a failover pair: which agent this is ("a" screens while it is up, "b" when it is not). */
    pairAs: null as 'a' | 'b' | null,
    ...DEFAULT_FREESWITCH,
  },
  asterisk: {
    url: 'http://127.0.0.1:8088',
    user: 'callguard',
    password: null as string | null,
    app: 'callguard',
    /** A failover pair: which agent this is; its Stasis application is then `<app>-a` or `<app>-b`. */
    pairAs: null as 'a' | 'b' | null,
    ...DEFAULT_ASTERISK,
  },
  /**
   * What means "no caller ID": `words` (the whole list; README: Anonymous callers) and
   * `numbers` a carrier sends for withheld callers. All-zero numbers always count.
   */
  anonymous: { words: [...DEFAULT_ANONYMOUS.words] as string[], numbers: [] as string[] },
  /** Attestation words beyond the built-in ones (verstat values, A/B/C, failed), each → A, B, C, failed or none. */
  attestation: { words: {} as Record<string, string> },
  challenge: { ...DEFAULT_ACTION_SETTINGS.challenge },
  /** The identify action: how many keys make a number, how long to wait for them, how many tries. */
  identify: { ...DEFAULT_ACTION_SETTINGS.identify },
  flag: { ...DEFAULT_ACTION_SETTINGS.flag },
  /** The HTTP hook; `tokenName` is who the audit trail names for changes made through it. */
  http: { enabled: true, listen: '127.0.0.1:8095', token: null as string | null, tokenName: 'hook' },
  /**
   * The web console and REST API beside the agent (`serve --no-console` leaves it out;
   * `callguard console` runs it alone). Off loopback only with TLS (both files) or behind a reverse proxy that
   * terminates it (`behindProxy`: client addresses then come from it).
   */
  console: { enabled: true, listen: '127.0.0.1:8096', behindProxy: false, tlsCert: null as string | null, tlsKey: null as string | null },
  /**
   * Where the rules and the call log live: null for the SQLite file (`db`), or a
   * postgres:// URL shared by a fleet of agents (see agent/config/store-choice.ts).
   */
  store: { url: null as string | null },
};

export type AgentConfig = typeof CONFIG_DEFAULTS;

/** Keys whose values are secrets: never printed, never logged. */
export const SECRET_KEYS = ['freeswitch.eslPassword', 'asterisk.password', 'http.token', 'store.url'] as const;

/** Environment variables and the key each sets. */
export const ENVIRONMENT: Readonly<Record<string, string>> = {
  CALLGUARD_DB: 'db',
  CALLGUARD_COUNTRY: 'country',
  CALLGUARD_LOG_LEVEL: 'logLevel',
  CALLGUARD_ESL_PASSWORD: 'freeswitch.eslPassword',
  CALLGUARD_ARI_PASSWORD: 'asterisk.password',
  CALLGUARD_HTTP_TOKEN: 'http.token',
  CALLGUARD_STORE: 'store.url',
};
