import { storeAddress } from '../store/postgres/store-address';
import type { StoreAddress } from '../store/postgres/store-address';
import { StoreUnavailable } from '../store/postgres/store-unavailable';

/** Where a command's rules and call log live. */
export type StoreChoice =
  | { readonly kind: 'sqlite' }
  | { readonly kind: 'postgres'; readonly url: string; readonly address: StoreAddress; readonly from: string };

export interface StoreSources {
  /** --store */
  readonly flag?: string;
  /** CALLGUARD_STORE */
  readonly env?: string;
  /** store.url of the config file, and that file's name for messages. */
  readonly file?: { readonly url: string | null; readonly path: string };
}

/**
 * --store, else CALLGUARD_STORE, else store.url of the config file selects PostgreSQL;
 * none of them the SQLite file (--db), as before stores existed. A URL that is not a PostgreSQL
 * one is refused naming where it came from, never repeating it (it may hold a password).
 */
export function chooseStore(sources: StoreSources): StoreChoice {
  const given: [string, string] | undefined = sources.flag
    ? [sources.flag, '--store']
    : sources.env
      ? [sources.env, 'CALLGUARD_STORE']
      : sources.file?.url
        ? [sources.file.url, `store.url in ${sources.file.path}`]
        : undefined;
  if (!given) return { kind: 'sqlite' };
  const [url, from] = given;
  const address = storeAddress(url);
  if (!address) throw new StoreUnavailable(`the store URL in ${from} is not a PostgreSQL URL: expected postgres://user:password@host:5432/database`);
  return { kind: 'postgres', url, address, from };
}
