// Connecting to the store: a wrong URL, password, database or an unreachable server is
// one line naming where it tried and what to do, never the password.
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { BadInput } from '../agent/engine/bad-input';
import { connectPostgres } from '../agent/store/postgres/connect';
import { freePort } from './helpers/free-port';
import { freshDatabase, postgresAdminUrl } from './helpers/postgres';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The error connectPostgres gives, checked to be one line without the URL's password. */
async function refusal(url: string, connectTimeoutMs?: number): Promise<string> {
  let error: unknown;
  try {
    const store = await connectPostgres(url, { connectTimeoutMs });
    await store.pool.end();
  } catch (caught) {
    error = caught;
  }
  expect(error).toBeInstanceOf(BadInput);
  const message = (error as BadInput).message;
  expect(message.split('\n')).toHaveLength(1);
  const password = URL.canParse(url) ? decodeURIComponent(new URL(url).password) : '';
  if (password) expect(message).not.toContain(password);
  return message;
}

/** The test cluster's URL with something changed. */
function adminUrlWith(change: (url: URL) => void): string {
  const url = new URL(postgresAdminUrl());
  change(url);
  return url.toString();
}

describe('connectPostgres', () => {
  it('opens a pool that reads bigint columns as numbers', async () => {
    const store = await connectPostgres(await freshDatabase());
    cleanups.push(() => store.pool.end());
    const { rows } = await store.pool.query('SELECT 9007199254740991::bigint AS big, count(*) AS n FROM pg_class WHERE false');
    expect(rows[0]).toEqual({ big: 9007199254740991, n: 0 });
    expect(store.address.label).toMatch(/^127\.0\.0\.1:\d+\/callguard_\w+$/);
  });

  it('a wrong password names the server and user, not the password', async () => {
    const url = adminUrlWith((url) => (url.password = 'hunter2-wrong'));
    const port = new URL(url).port;
    expect(await refusal(url)).toBe(
      `PostgreSQL at 127.0.0.1:${port}/postgres rejected the password of user "postgres": correct it in the store URL (store.url, --store or CALLGUARD_STORE)`,
    );
  });

  it('no password where the server wants one says so', async () => {
    const url = adminUrlWith((url) => (url.password = ''));
    const port = new URL(url).port;
    expect(await refusal(url)).toBe(
      `PostgreSQL at 127.0.0.1:${port}/postgres wants a password for user "postgres": add it to the store URL (store.url, --store or CALLGUARD_STORE)`,
    );
  });

  it('a missing database says how to create it', async () => {
    const url = adminUrlWith((url) => (url.pathname = '/no_such_db'));
    const port = new URL(url).port;
    expect(await refusal(url)).toBe(
      `PostgreSQL at 127.0.0.1:${port} has no database "no_such_db": create it (createdb -h 127.0.0.1 -p ${port} -U postgres no_such_db) or correct the store URL (store.url, --store or CALLGUARD_STORE)`,
    );
  });

  it('a port nobody listens on is refused', async () => {
    const port = await freePort();
    expect(await refusal(`postgres://callguard:s3cret-pw@127.0.0.1:${port}/fleet`)).toBe(
      `cannot reach PostgreSQL at 127.0.0.1:${port}: connection refused. Is it running and listening there? Check the store URL (store.url, --store or CALLGUARD_STORE)`,
    );
  });

  it('a host that does not exist is named', async () => {
    expect(await refusal('postgres://callguard:s3cret-pw@no-such-host.invalid:5432/fleet')).toMatch(
      /^cannot reach PostgreSQL at no-such-host\.invalid:5432: (no such host "no-such-host\.invalid"|EAI_AGAIN)\. Check the store URL/,
    );
  });

  it('a server that never answers is given up on after the connect timeout', async () => {
    // Accepts the connection and says nothing, as a firewall that drops packets would look.
    const sockets: Socket[] = [];
    const silent: Server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => { sockets.forEach((socket) => socket.destroy()); silent.close(resolve); }));
    const { port } = silent.address() as AddressInfo;
    expect(await refusal(`postgres://callguard:s3cret-pw@127.0.0.1:${port}/fleet`, 300)).toBe(
      `cannot reach PostgreSQL at 127.0.0.1:${port}: no answer within 300 ms. Check the host and port in the store URL (store.url, --store or CALLGUARD_STORE), and any firewall between`,
    );
  });

  it('garbage is not taken for a URL, and is not echoed', async () => {
    for (const garbage of ['not a url', 'http://user:s3cret-pw@example.com/db', 'postgres://user:s3cret-pw@host:99999/db', 'postgres//user:s3cret-pw@host/db']) {
      expect(await refusal(garbage)).toBe('the store URL is not a PostgreSQL URL: expected postgres://user:password@host:5432/database');
    }
  });
});
