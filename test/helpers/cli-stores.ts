/**
 * The two stores an operator's CLI and `callguard serve` run on, for suites that run the same
 * commands on each: the SQLite file in a new folder, or a new migrated PostgreSQL database of
 * the test cluster (`--store <url>`), whatever is made removed by `cleanups`; and what such
 * suites check of a command and of the agent beside it.
 */
import { expect } from 'vitest';
import { openDatabase } from '../../agent/store/database';
import { PATIENCE_MS } from './patience';
import { migratedPostgres, serveAgent } from './postgres-agent';
import type { Agent } from './postgres-agent';
import { describeRun, runCli } from './run-cli';
import type { CliResult } from './run-cli';
import { makeTempDir } from './temp-db';
import type { TempDir } from './temp-db';

export interface CliStore {
  readonly dir: TempDir;
  /** `--store <url>` for PostgreSQL, none for the SQLite file. */
  readonly storeUrl: string | null;
  /** The rows a query finds in the store (no parameters). */
  rows(sql: string): Promise<unknown[]>;
}

/** `[name, make]` for each store, for `describe.each`; on SQLite the file is `agent.db` in `dir`. */
export function cliStores(prefix: string, cleanups: (() => unknown)[]): [string, () => Promise<CliStore>][] {
  const folder = () => {
    const dir = makeTempDir(prefix);
    cleanups.push(() => dir.remove());
    return dir;
  };
  return [
    [
      'SQLite',
      async () => {
        const dir = folder();
        return {
          dir,
          storeUrl: null,
          rows: async (sql) => {
            const db = openDatabase(dir.file('agent.db'));
            try {
              return db.prepare(sql).all();
            } finally {
              db.close();
            }
          },
        };
      },
    ],
    [
      'PostgreSQL',
      async () => {
        const dir = folder();
        const { url, pool } = await migratedPostgres(cleanups);
        return { dir, storeUrl: url, rows: async (sql) => (await pool.query(sql)).rows };
      },
    ],
  ];
}

/**
 * The CLI on that store, as an operator runs it: `--store <url>` for PostgreSQL (with a
 * `--db` that must never be made), none for the file; nothing from the environment.
 */
export function cliOn(store: CliStore): (...args: string[]) => CliResult {
  const db = store.dir.file(store.storeUrl === null ? 'agent.db' : 'cli-never.db');
  return (...args) => runCli(['--db', db, ...(store.storeUrl === null ? [] : ['--store', store.storeUrl]), ...args], { env: { CALLGUARD_STORE: undefined, CALLGUARD_CONFIG: undefined } });
}

/** `callguard serve` on the store once each of `commands` has been run with the CLI (each must succeed). */
export async function servedAfter(store: CliStore, cli: (...args: string[]) => CliResult, commands: readonly string[][], cleanups: (() => unknown)[]): Promise<Agent> {
  for (const args of commands) {
    const result = cli(...args);
    expect(result.status, describeRun(result)).toBe(0);
  }
  const agent = await serveAgent(store.storeUrl, store.dir, cleanups);
  expect(agent.child.exitCode, agent.stderr()).toBeNull();
  return agent;
}

/** A command that did what it should: exit 0, and this on stdout. */
export function expectPrinted(result: CliResult, stdout: string | RegExp): void {
  expect(result.status, describeRun(result)).toBe(0);
  if (typeof stdout === 'string') expect(result.stdout).toBe(stdout);
  else expect(result.stdout).toMatch(stdout);
}

/** Refused as the operator sees it: exit 2, one line naming what is wrong, nothing on stdout. */
export function expectRefused(result: CliResult, message: string): void {
  expect(result.status, describeRun(result)).toBe(2);
  expect(result.stdout).toBe('');
  expect(result.stderr).toBe(`callguard: ${message}\n`);
}

/** Asks the agent's hook for its verdict on a call until it is `action` (a fleet's change reaches the agent's copy a moment later). */
export async function verdictBecomes(agent: Agent, from: string, to: string, action: string): Promise<void> {
  const started = performance.now();
  let verdict = '';
  while (verdict !== action) {
    expect(performance.now() - started, `${from} → ${to} to be ${action} (it is ${verdict})`).toBeLessThan(PATIENCE_MS);
    const answer = await agent.get(`/v1/decide?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&kind=call`);
    expect(answer.status, answer.body).toBe(200);
    verdict = JSON.parse(answer.body).action;
  }
}
