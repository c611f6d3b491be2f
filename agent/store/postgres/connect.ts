import { Pool } from 'pg';
import { BadInput } from '../../engine/bad-input';
import type { Logger } from '../../log/logger';
import { connectError } from './connect-error';
import { numericTypes } from './pg-types';
import { storeAddress } from './store-address';
import type { StoreAddress } from './store-address';

export interface ConnectOptions {
  /** How long a first connection may take before the server counts as unreachable. */
  readonly connectTimeoutMs?: number;
  /** Most connections the pool opens. */
  readonly max?: number;
  /** Shown in pg_stat_activity, so an operator can tell callguard's connections apart. */
  readonly applicationName?: string;
  /** Told about pooled connections that break while idle (PostgreSQL restarted, say). */
  readonly logger?: Logger;
}

export interface PostgresStore {
  readonly pool: Pool;
  readonly address: StoreAddress;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

const URL_HELP = 'expected postgres://user:password@host:5432/database';

/**
 * Opens a pool on a postgres:// URL and proves it with one connection, so that a wrong
 * URL, password, database or host is reported at start as one line (a BadInput) rather
 * than at the first call. bigint columns read as numbers (see pg-types.ts).
 */
export async function connectPostgres(url: string, options: ConnectOptions = {}): Promise<PostgresStore> {
  const address = storeAddress(url);
  // The URL itself is not repeated: it may hold a password.
  if (!address) throw new BadInput(`the store URL is not a PostgreSQL URL: ${URL_HELP}`);
  const password = passwordOf(url);
  const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  let pool: Pool;
  try {
    pool = new Pool({
      connectionString: url,
      connectionTimeoutMillis: connectTimeoutMs,
      application_name: options.applicationName ?? 'callguard',
      max: options.max ?? 10,
      keepAlive: true, // a peer gone silent is noticed by TCP rather than never
      types: numericTypes,
    });
  } catch {
    throw new BadInput(`the store URL for ${address.label} could not be read: ${URL_HELP}`);
  }
  // Unheard, an idle connection's error would end the process; the next query reconnects.
  pool.on('error', (error) => options.logger?.warn({ err: error.message, store: address.label }, 'an idle PostgreSQL connection failed'));
  try {
    const client = await pool.connect();
    client.release();
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw connectError(error, address, password, connectTimeoutMs);
  }
  return { pool, address };
}

function passwordOf(url: string): string {
  try {
    const parsed = new URL(url);
    return decodeURIComponent(parsed.password) || parsed.searchParams.get('password') || '';
  } catch {
    return '';
  }
}
