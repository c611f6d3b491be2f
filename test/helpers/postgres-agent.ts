// A real `callguard serve` (with a PostgreSQL store, or none) on the FreeSWITCH simulator,
// as the PostgreSQL serve and fleet tests start it; and what they do to its store.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { Pool } from 'pg';
import { cliActing } from '../../agent/operations/acting';
import { addRules } from '../../agent/operations/rules';
import { migratePostgres } from '../../agent/store/postgres/migrate';
import { numericTypes } from '../../agent/store/postgres/pg-types';
import { PostgresRuleBackend } from '../../agent/store/postgres/rule-backend';
import { freePort } from './free-port';
import { PATIENCE_MS, until } from './patience';
import { freshDatabase } from './postgres';
import { binPath, repoRoot } from './run-cli';
import type { TempDir } from './temp-db';
import { FreeSwitchSim } from '../sim/freeswitch';

export const DID = '15551230000';

export interface Agent {
  readonly child: ChildProcess;
  readonly stderr: () => string;
  readonly exited: Promise<number | null>;
  readonly http: number;
  /** Where it listens for FreeSWITCH's outbound sockets. */
  readonly pbx: number;
  /** Where the web console listens, when asked for. */
  readonly console: number;
  /** A call through the simulator, to `did` (DID by default); its end as `continued`, `hungup:<cause>`… */
  call(caller: string, did?: string): Promise<string>;
  get(path: string): Promise<{ status: number; body: string }>;
  post(path: string): Promise<{ status: number; body: string }>;
}

export interface ServeOptions {
  /** How the store URL is given (none: no store URL at all, the SQLite file). */
  readonly via?: 'flag' | 'env';
  /** Leave the web console on, as by default. */
  readonly console?: boolean;
  /** More `serve` flags. */
  readonly flags?: readonly string[];
}

/** `callguard serve` on the simulator, its state in `dir`; resolves once it takes calls (or has exited). Whatever it starts is stopped by `cleanups`. */
export async function serveAgent(storeUrl: string | null, dir: TempDir, cleanups: (() => unknown)[], options: ServeOptions = {}): Promise<Agent> {
  const via = storeUrl === null ? null : (options.via ?? 'flag');
  const [port, http, consolePort] = [await freePort(), await freePort(), await freePort()];
  const args = ['--db', dir.file('agent.db'), ...(via === 'flag' ? ['--store', storeUrl!] : []), 'serve', '--pbx', 'freeswitch', '--mode', 'outbound'];
  args.push('--listen', `127.0.0.1:${port}`, '--http-listen', `127.0.0.1:${http}`, '--console-listen', `127.0.0.1:${consolePort}`, ...(options.console ? [] : ['--no-console']));
  args.push(...(options.flags ?? []));
  const child = spawn(process.execPath, [binPath, ...args], {
    cwd: repoRoot,
    env: { ...process.env, CALLGUARD_DB: '', CALLGUARD_CONFIG: '', CALLGUARD_STORE: via === 'env' ? storeUrl! : '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  cleanups.push(() => void child.kill('SIGKILL'));
  const sim = new FreeSwitchSim();
  cleanups.push(() => sim.close());
  const ask = async (method: string, path: string) => {
    const answer = await fetch(`http://127.0.0.1:${http}${path}`, { method });
    return { status: answer.status, body: await answer.text() };
  };
  const ready = options.console ? 'console listening' : 'HTTP hook listening'; // the console starts last
  await until(() => stderr.includes(ready) || child.exitCode !== null, 'the agent to take calls');
  return {
    child,
    stderr: () => stderr,
    exited,
    http,
    pbx: port,
    console: consolePort,
    async call(caller, did = DID) {
      const result = await sim.placeOutboundCall('127.0.0.1', port, { callerIdNumber: caller, destinationNumber: did }).done;
      return result.outcome === 'hungup' ? `hungup:${result.hangupCause}` : result.outcome;
    },
    get: (path) => ask('GET', path),
    post: (path) => ask('POST', path),
  };
}

/** A new database of the test cluster with callguard's schema, and a pool on it (ended by `cleanups`). */
export async function migratedPostgres(cleanups: (() => unknown)[]): Promise<{ url: string; pool: Pool }> {
  const url = await freshDatabase();
  const pool = new Pool({ connectionString: url, max: 4, types: numericTypes });
  pool.on('error', () => undefined);
  cleanups.push(() => pool.end());
  await migratePostgres(pool);
  return { url, pool };
}

const OPERATOR = 'cli:operator';

/** A rule added to PostgreSQL by the rule operations, as `callguard rules add` on a fleet's config adds one. */
export async function addRule(pool: Pool, pattern: string, action: string, scope = 'global'): Promise<void> {
  await addRules(new PostgresRuleBackend(pool, OPERATOR), cliActing(OPERATOR), { patterns: pattern, action, scope }, 'US');
}

/** Polls `check` until it holds; throws, naming `what`, only after PATIENCE_MS. */
export async function untilAsync(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + PATIENCE_MS;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${PATIENCE_MS} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
