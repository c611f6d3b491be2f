/**
 * vitest globalSetup (vitest.config.ts): one throwaway PostgreSQL cluster for the whole
 * run, its superuser URL handed to the tests as inject('postgresAdminUrl'); each test
 * file makes its own databases on it (test/helpers/postgres.ts). Missing binaries fail
 * the run: the PostgreSQL tests are never skipped.
 */
import type { TestProject } from 'vitest/node';
import { startPostgresCluster } from './postgres-cluster';

declare module 'vitest' {
  export interface ProvidedContext {
    postgresAdminUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => void> {
  const cluster = await startPostgresCluster();
  project.provide('postgresAdminUrl', cluster.adminUrl);
  return () => cluster.stop();
}
