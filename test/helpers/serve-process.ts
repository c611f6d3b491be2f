// `callguard serve --config <file>` as a child process: a config file written for it,
// its stderr collected, and the process killed by `cleanups` if a test leaves it running.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { PATIENCE_MS, until } from './patience';
import { binPath, repoRoot } from './run-cli';
import type { TempDir } from './temp-db';

export interface ServeProcess {
  readonly child: ChildProcess;
  readonly stderr: () => string;
  readonly exited: Promise<number | null>;
  /** GET on the agent's HTTP hook (`http.listen` of its config). */
  get(path: string): Promise<string>;
  /** /healthz once `check` holds for it (each connection comes up, or goes down, in its own time). */
  healthWhen<T>(check: (health: T) => boolean, what: string): Promise<T>;
}

/**
 * Starts serve on `config` (which must name `http.listen`) with its database in `dir`;
 * resolves once it takes calls. `storeUrl` makes it one agent of a PostgreSQL fleet.
 */
export async function serveWithConfig(
  dir: TempDir,
  config: { readonly http: { readonly listen: string } } & Record<string, unknown>,
  cleanups: (() => unknown)[],
  options: { readonly storeUrl?: string; readonly env?: Record<string, string> } = {},
): Promise<ServeProcess> {
  const file = dir.file('callguard.json');
  writeFileSync(file, JSON.stringify(config));
  const store = options.storeUrl ? ['--store', options.storeUrl] : [];
  const child = spawn(process.execPath, [binPath, '--db', dir.file('agent.db'), ...store, '--config', file, 'serve'], {
    cwd: repoRoot,
    env: { ...process.env, CALLGUARD_DB: '', CALLGUARD_CONFIG: '', CALLGUARD_STORE: '', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  cleanups.push(() => void child.kill('SIGKILL'));
  await until(() => stderr.includes('HTTP hook listening') || child.exitCode !== null, 'the agent to take calls');
  if (!stderr.includes('HTTP hook listening')) throw new Error(`the agent exited (${child.exitCode}) before it took calls: ${stderr}`);
  const get = async (path: string) => (await fetch(`http://${config.http.listen}${path}`)).text();
  return {
    child,
    stderr: () => stderr,
    exited,
    get,
    async healthWhen<T>(check: (health: T) => boolean, what: string): Promise<T> {
      const deadline = Date.now() + PATIENCE_MS;
      let last = JSON.parse(await get('/healthz')) as T;
      while (!check(last)) {
        if (Date.now() > deadline) throw new Error(`timed out after ${PATIENCE_MS} ms waiting for ${what}: ${JSON.stringify(last)}`);
        if (child.exitCode !== null) throw new Error(`the agent exited (${child.exitCode}) waiting for ${what}: ${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
        last = JSON.parse(await get('/healthz')) as T;
      }
      return last;
    },
  };
}
