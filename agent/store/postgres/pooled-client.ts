import type { Pool, PoolClient } from 'pg';

/** A connection taken from the pool and the way to give it back. */
export interface HeldClient {
  readonly client: PoolClient;
  /** Back to the pool, or closed if it failed (`error`, or a cut it reported while held). */
  release(error?: Error): void;
}

/**
 * Takes one connection from the pool for work spanning several statements. pg-pool takes
 * its own 'error' listener off a client while it is held, so a connection cut between two
 * statements would be an unheard 'error' event and end the process; here the cut is noted,
 * reaches the work through its next statement, and closes the connection on release.
 */
export async function holdClient(pool: Pool): Promise<HeldClient> {
  const client = await pool.connect();
  let cut: Error | undefined;
  const onError = (error: Error) => void (cut ??= error);
  client.on('error', onError);
  return {
    client,
    release(error) {
      client.off('error', onError); // the pool listens again from here
      client.release(error ?? cut);
    },
  };
}

/**
 * Runs `work` on one held connection. A connection whose work failed is closed, not reused:
 * whatever it was in the middle of ends with it (an open transaction rolls back, a session
 * advisory lock is released).
 */
export async function withPooledClient<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const held = await holdClient(pool);
  let failed: Error | undefined;
  try {
    return await work(held.client);
  } catch (error) {
    failed = error instanceof Error ? error : new Error(String(error));
    throw error;
  } finally {
    held.release(failed);
  }
}
