import { BadInput } from '../../engine/bad-input';
import type { Migration } from '../migrate';
import { connectPostgres } from './connect';
import type { ConnectOptions, PostgresStore } from './connect';
import { checkPostgresSchema } from './migrate';

/**
 * The PostgreSQL store cannot be used (a wrong URL or password, a server away, a schema
 * this callguard cannot work with): one line, and the command exits 1, not 2, since the
 * command line itself may be fine.
 */
export class StoreUnavailable extends Error {
  override readonly name = 'StoreUnavailable';
}

async function unavailableOnRefusal<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    throw error instanceof BadInput ? new StoreUnavailable(error.message) : error;
  }
}

/** connectPostgres, its one-line refusals as StoreUnavailable. */
export function connectStore(url: string, options: ConnectOptions = {}): Promise<PostgresStore> {
  return unavailableOnRefusal(connectPostgres(url, options));
}

/** checkPostgresSchema, its refusal (older: run migrate; newer: upgrade) as StoreUnavailable. */
export function requireSchema(store: PostgresStore, url: string, migrations?: readonly Migration[]): Promise<number> {
  return unavailableOnRefusal(checkPostgresSchema(store.pool, migrations, url));
}
