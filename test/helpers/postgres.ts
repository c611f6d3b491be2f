/**
 * Databases for the PostgreSQL tests, on the run's throwaway cluster
 * (test/helpers/postgres-global-setup.ts): each call makes a new, empty, uniquely named
 * one, so test files are isolated and can run in parallel. They go with the cluster at
 * the end of the run; dropDatabase() removes one sooner.
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { inject } from 'vitest';

export function postgresAdminUrl(): string {
  const url = inject('postgresAdminUrl');
  if (!url) throw new Error('no PostgreSQL cluster: test/helpers/postgres-global-setup.ts must be the globalSetup in vitest.config.ts');
  return url;
}

/** The URL of `database` on the test cluster, as its superuser. */
export function databaseUrl(database: string): string {
  const url = new URL(postgresAdminUrl());
  url.pathname = `/${database}`;
  return url.toString();
}

async function asAdmin<T>(work: (admin: Client) => Promise<T>): Promise<T> {
  const admin = new Client({ connectionString: postgresAdminUrl() });
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.end();
  }
}

/** Creates a new empty database (no schema: migrate it) and returns its URL. */
export async function freshDatabase(): Promise<string> {
  const name = `callguard_${process.pid}_${randomBytes(6).toString('hex')}`;
  await asAdmin((admin) => admin.query(`CREATE DATABASE ${name}`));
  return databaseUrl(name);
}

/** Drops a database made by freshDatabase(), cutting any connections still on it. */
export async function dropDatabase(url: string): Promise<void> {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  await asAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS "${name.replaceAll('"', '""')}" WITH (FORCE)`));
}
