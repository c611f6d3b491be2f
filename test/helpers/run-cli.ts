/**
 * Runs the built callguard CLI (`bin/callguard.js` → `dist/`) as a child process, the way an
 * operator would. Framework-free so that any test file (or script) can use it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PATIENCE_MS } from './patience';

/** The folder holding package.json and bin/callguard.js, whether this file runs from `test/` or `dist/test/`. */
export function findRepoRoot(start: string = __dirname): string {
  let dir = start;
  while (!(existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'bin', 'callguard.js')))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find the callguard package folder above ${start}`);
    dir = parent;
  }
  return dir;
}

export const repoRoot = findRepoRoot();
export const binPath = join(repoRoot, 'bin', 'callguard.js');
/** What `bin/callguard.js` loads: present only after `tsc -p tsconfig.json`. */
export const builtMain = join(repoRoot, 'dist', 'agent', 'cli', 'main.js');

/** Throws a helpful error when the CLI has not been compiled. */
export function assertBuilt(): void {
  if (!existsSync(builtMain)) {
    throw new Error(`${builtMain} is missing: build first with 'npx tsc -p tsconfig.json' (npm test does this before vitest)`);
  }
}

export interface CliResult {
  /** Exit code; null if the process was killed by a signal (e.g. on timeout). */
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The argv after the binary, for failure messages. */
  readonly args: readonly string[];
}

export interface RunOptions {
  /** Passed as `--db <path>` before the command; omit (or null) to let the CLI pick its database itself. */
  readonly db?: string | null;
  readonly cwd?: string;
  /** Extra environment; a key set to undefined is removed from the child's environment. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly input?: string;
  /** Kill the child after this long (default PATIENCE_MS): only a hang should ever reach it. */
  readonly timeoutMs?: number;
}

let calls = 0;

/** How many CLI processes this module has started (to keep test files within a time budget). */
export function cliCalls(): number {
  return calls;
}

/**
 * Runs `node bin/callguard.js [--db <db>] ...args`. The child never inherits the caller's
 * CALLGUARD_* settings unless `options.env` passes them explicitly.
 */
export function runCli(args: readonly string[], options: RunOptions = {}): CliResult {
  const argv = options.db == null ? [...args] : ['--db', options.db, ...args];
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CALLGUARD_DB: undefined,
    CALLGUARD_COUNTRY: undefined,
    CALLGUARD_DEBUG: undefined,
    ...options.env,
  };
  for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
  calls++;
  const result = spawnSync(process.execPath, [binPath, ...argv], {
    cwd: options.cwd ?? repoRoot,
    env,
    encoding: 'utf8',
    input: options.input ?? '',
    timeout: options.timeoutMs ?? PATIENCE_MS, // a hang detector: a slow machine's CLI run is not a failure
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error && (result.error as NodeJS.ErrnoException).code !== 'ETIMEDOUT') throw result.error;
  return { status: result.status, signal: result.signal, stdout: result.stdout ?? '', stderr: result.stderr ?? '', args: argv };
}

/** A runner bound to one database: `const cli = cliFor(path); cli('tenants', 'list')`. */
export function cliFor(db: string, base: Omit<RunOptions, 'db'> = {}): (...args: string[]) => CliResult {
  return (...args) => runCli(args, { ...base, db });
}

/** One line for assertion messages: the command and what it printed. */
export function describeRun(result: CliResult): string {
  const show = (text: string) => JSON.stringify(text.length > 2000 ? `${text.slice(0, 2000)}…` : text);
  return `callguard ${result.args.map((arg) => JSON.stringify(arg)).join(' ')} → exit ${result.status}${
    result.signal ? ` (signal ${result.signal})` : ''
  }, stdout ${show(result.stdout)}, stderr ${show(result.stderr)}`;
}

/** Parses stdout as JSON after checking the command succeeded; throws with the whole run otherwise. */
export function jsonOf<T = unknown>(result: CliResult): T {
  if (result.status !== 0) throw new Error(`command failed: ${describeRun(result)}`);
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(`stdout is not JSON: ${describeRun(result)}`);
  }
}
