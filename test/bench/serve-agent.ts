import { spawn } from 'node:child_process';
import { freePort } from '../helpers/free-port';
import { CALLGUARD_BIN } from './core';

/** A `callguard serve` process as an operator runs it, reached through its HTTP hook. */
export interface ServeAgent {
  /** The HTTP hook's port on 127.0.0.1. */
  readonly http: number;
  /** SIGTERM (a clean stop delivers what is queued), SIGKILL if it has not exited within `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/** A PostgreSQL agent's first start loads the whole rule set into its local copy. */
const START_LIMIT_MS = 300_000;

/**
 * Starts `callguard serve` for FreeSWITCH (outbound: it only listens, no switch needed)
 * with its state in `dbPath` and, given `storeUrl`, its rules in PostgreSQL; resolves
 * once the HTTP hook listens.
 */
export async function startServeAgent(dbPath: string, storeUrl: string | null): Promise<ServeAgent> {
  const [esl, http] = [await freePort(), await freePort()];
  const args = ['--db', dbPath, ...(storeUrl ? ['--store', storeUrl] : []), 'serve', '--pbx', 'freeswitch', '--mode', 'outbound'];
  args.push('--listen', `127.0.0.1:${esl}`, '--http-listen', `127.0.0.1:${http}`, '--no-console');
  const child = spawn(process.execPath, [CALLGUARD_BIN, ...args], {
    env: { ...process.env, CALLGUARD_DB: '', CALLGUARD_CONFIG: '', CALLGUARD_STORE: '' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  // Kept short, for the message if it fails; read all along so the log never blocks the agent.
  let stderrTail = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (graceMs = 30_000) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`callguard serve did not listen within ${START_LIMIT_MS} ms: ${stderrTail}`)), START_LIMIT_MS);
      child.stderr!.on('data', (chunk: Buffer) => {
        stderrTail = (stderrTail + chunk.toString()).slice(-4000);
        if (!stderrTail.includes('HTTP hook listening')) return;
        clearTimeout(timer);
        resolve();
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`callguard serve exited (code ${code}) before listening: ${stderrTail}`));
      });
    });
  } catch (error) {
    await stop(0);
    throw error;
  }
  return { http, stop };
}
