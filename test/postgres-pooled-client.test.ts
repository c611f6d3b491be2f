// A connection held from the pool and cut between two statements (PostgreSQL gone, a
// proxy closed) must reach the work as a failed statement, never as an unheard 'error'
// event: that would end the agent. The pool works again once the server is back.
import { Pool } from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { holdClient, withPooledClient } from '../agent/store/postgres/pooled-client';
import { freshDatabase } from './helpers/postgres';
import { proxyPostgres } from './helpers/postgres-proxy';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function proxiedPool() {
  const { proxy, url } = await proxyPostgres(await freshDatabase());
  cleanups.push(() => proxy.close());
  const pool = new Pool({ connectionString: url, max: 1 });
  pool.on('error', () => undefined); // idle clients are the pool's own business
  cleanups.push(() => pool.end());
  return { proxy, pool };
}

/** Resolves once `client` has heard of its connection's end, whoever listens. */
const connectionEnded = (client: { once(event: 'end', listener: () => void): unknown }) => new Promise<void>((resolve) => client.once('end', resolve));

describe('a pooled connection cut while held', () => {
  it('fails the next statement of the work, and the pool connects afresh once the server is back', async () => {
    const { proxy, pool } = await proxiedPool();
    const work = withPooledClient(pool, async (client) => {
      await client.query('BEGIN');
      const ended = connectionEnded(client);
      await proxy.close();
      await ended; // the cut is reported on the client between statements, with no query running
      await client.query('SELECT 1');
    });
    await expect(work).rejects.toThrow(/Connection terminated|not queryable|Client has encountered a connection error/);
    expect(pool.totalCount).toBe(0); // the cut connection was closed, not put back

    await proxy.open();
    expect(await withPooledClient(pool, async (client) => (await client.query<{ n: number }>('SELECT 2 AS n')).rows[0]!.n)).toBe(2);
  });

  it('a held connection released after a cut is closed, and the pool goes on', async () => {
    const { proxy, pool } = await proxiedPool();
    const held = await holdClient(pool);
    const ended = connectionEnded(held.client);
    await proxy.close();
    await ended;
    held.release();
    expect(pool.totalCount).toBe(0);
    await proxy.open();
    expect((await pool.query<{ n: number }>('SELECT 3 AS n')).rows[0]!.n).toBe(3);
  });

  it('work that fails on a sound connection rolls back what it began, as the connection closes', async () => {
    const { pool } = await proxiedPool();
    await pool.query('CREATE TABLE kept (n int)');
    const work = withPooledClient(pool, async (client) => {
      await client.query('BEGIN');
      await client.query('INSERT INTO kept VALUES (1)');
      throw new Error('changed my mind');
    });
    await expect(work).rejects.toThrow('changed my mind');
    expect((await pool.query('SELECT * FROM kept')).rowCount).toBe(0);
  });
});
