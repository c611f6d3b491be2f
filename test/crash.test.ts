// Crash safety: the real CLI killed with SIGKILL in the middle of a large import, and in
// the middle of live calls. Afterwards the database opens cleanly (integrity_check ok),
// the import is all or nothing, every call-log row that was written is whole, and a
// restarted agent serves again.
import { spawn } from 'node:child_process';
import type { ChildProcessByStdio } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { binPath, repoRoot, runCli } from './helpers/run-cli';
import { makeTempDir } from './helpers/temp-db';
import type { TempDir } from './helpers/temp-db';
import { FreeSwitchSim } from './sim/freeswitch';
import type { CallResult } from './sim/freeswitch';
import { freePort } from './helpers/free-port';
import { PATIENCE_MS, until } from './helpers/patience';

const IMPORT_ROWS = 200_000;

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(): TempDir {
  const dir = makeTempDir('callguard-crash-');
  cleanups.push(() => dir.remove());
  return dir;
}

type Child = ChildProcessByStdio<null, Readable, Readable>;

function start(args: string[]): { child: Child; output: () => string; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> } {
  const child = spawn(process.execPath, [binPath, ...args], { cwd: repoRoot, env: { ...process.env, CALLGUARD_DB: '', CALLGUARD_CONFIG: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  cleanups.push(() => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'));
  return { child, output: () => output, exited };
}

/** Minutes: each test waits on events (a lock, a file's size, bytes read, log lines), never on a time budget. */
const TEST_TIMEOUT_MS = 10 * PATIENCE_MS;

/** What a crashed database looks like once opened again (WAL recovery included). */
function inspect(path: string): { integrity: unknown; rules: number; calls: { action: string | null; reasons: string; outcome: string | null; channel: string | null }[] } {
  const db = new BetterSqlite3(path, { fileMustExist: true });
  try {
    return {
      integrity: db.pragma('integrity_check', { simple: true }),
      rules: db.prepare('SELECT COUNT(*) FROM rules').pluck().get() as number,
      calls: db.prepare('SELECT action, reasons, outcome, channel FROM calls ORDER BY id').all() as never,
    };
  } finally {
    db.close();
  }
}

/** Bytes a process has read so far (/proc/<pid>/io rchar): how far a streaming import has got into its file. */
function bytesRead(pid: number): number {
  try {
    return Number(/^rchar: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0; // gone
  }
}

/** Call-log rows committed so far (read beside the running agent: WAL readers do not block it). */
function committedCalls(path: string): number {
  try {
    const db = new BetterSqlite3(path, { readonly: true, fileMustExist: true });
    try {
      return db.prepare('SELECT COUNT(*) FROM calls').pluck().get() as number;
    } finally {
      db.close();
    }
  } catch {
    return 0; // not created yet
  }
}

function walSize(db: string): number {
  try {
    return statSync(`${db}-wal`).size;
  } catch {
    return 0;
  }
}

/** Whether another process holds the write lock (the import's transaction is open). */
function writeLocked(path: string): boolean {
  const db = new BetterSqlite3(path, { fileMustExist: true, timeout: 0 });
  try {
    db.exec('BEGIN IMMEDIATE');
    db.exec('ROLLBACK');
    return false;
  } catch (error) {
    if ((error as { code?: string }).code?.startsWith('SQLITE_BUSY')) return true;
    throw error;
  } finally {
    db.close();
  }
}

describe('SIGKILL during a large import', () => {
  it(`leaves an intact database holding none or all of ${IMPORT_ROWS.toLocaleString('en')} rules, whenever it strikes`, async () => {
    const dir = tempDir();
    const csv = dir.file('numbers.txt');
    // Valid NANP numbers, one per line: `rules import … --action block` reads them as patterns.
    writeFileSync(csv, Array.from({ length: IMPORT_ROWS }, (_, i) => `+1404${2_000_000 + i}`).join('\n'));
    const outcomes: number[] = [];
    let db = '';
    const csvBytes = statSync(csv).size;
    // Struck at different depths, each on an event of the import itself (never after some time): just after it
    // took the write lock, once it has streamed half its file into the open transaction, and while its commit
    // pours pages into the WAL (its 64 MB page cache spills nothing before; or just after, if too quick to catch).
    for (const strike of ['locked', 'half-read', 'commit'] as const) {
      db = dir.file(`strike-${strike}.db`); // each on its own database, so that "all" and "none" stay telling
      expect(runCli(['tenants', 'add', 'acme'], { db }).status).toBe(0);
      const importing = start(['--db', db, 'rules', 'import', csv, '--action', 'block', '--list', 'crash']);
      const finished = () => importing.child.exitCode !== null;
      await until(() => writeLocked(db) || finished(), 'the import to start writing', PATIENCE_MS, 2);
      if (strike === 'half-read') {
        const readAtLock = bytesRead(importing.child.pid!);
        await until(() => bytesRead(importing.child.pid!) >= readAtLock + csvBytes / 2 || finished(), 'the import to read half its file', 5 * PATIENCE_MS, 2);
      } else if (strike === 'commit') {
        const walAtStart = walSize(db);
        await until(() => walSize(db) > walAtStart + 1_000_000 || finished(), 'the commit to begin', 5 * PATIENCE_MS, 2);
      }
      importing.child.kill('SIGKILL');
      const { signal, code } = await importing.exited;
      const state = inspect(db);
      expect(state.integrity).toBe('ok');
      expect([0, IMPORT_ROWS]).toContain(state.rules);
      outcomes.push(state.rules);
      if (signal !== 'SIGKILL') expect(code).toBe(0); // it finished first: then it is all there
    }
    expect(outcomes.some((rules) => rules === 0), `a kill mid-transaction left ${outcomes.join(', ')} rules`).toBe(true);
    // The CLI works on the recovered database, and the import then goes through whole.
    // Awaited, not spawnSync'd: however long it takes here, the test's event loop goes on turning.
    const again = start(['--db', db, 'rules', 'import', csv, '--action', 'block', '--list', 'crash']);
    expect((await again.exited).code, again.output()).toBe(0);
    expect(inspect(db)).toMatchObject({ integrity: 'ok', rules: IMPORT_ROWS });
  }, TEST_TIMEOUT_MS);
});


describe('SIGKILL during live calls', () => {
  it('the calls in flight take their normal route, the log keeps every row it wrote whole, and a restarted agent serves again', async () => {
    const dir = tempDir();
    const db = dir.file('callguard.db');
    const config = dir.file('callguard.json');
    writeFileSync(config, JSON.stringify({ http: { enabled: false } }));
    for (const [pattern, action] of [
      ['404*', 'block'],
      ['312*', 'challenge'],
      ['646*', 'busy'],
    ]) {
      expect(runCli(['--db', db, 'rules', 'add', pattern!, '--action', action!]).status).toBe(0);
    }
    const port = await freePort();
    const serveArgs = ['--db', db, '--config', config, 'serve', '--no-console', '--pbx', 'freeswitch', '--mode', 'outbound', '--listen', `127.0.0.1:${port}`];
    const agent = start(serveArgs);
    await until(() => /listening for FreeSWITCH outbound sockets/.test(agent.output()) || agent.child.exitCode !== null, 'the agent to listen');
    expect(agent.output()).toMatch(/listening for FreeSWITCH outbound sockets/);

    const sim = new FreeSwitchSim({ callDefaults: { playbackMs: 30 } });
    cleanups.push(() => sim.close());
    const callers = ['+14045550100', '+13125550100', '+16465550100', '+12125550100'];
    const results: CallResult[] = [];
    let placing = true;
    let placed = 0;
    const loops = Array.from({ length: 12 }, async (_, lane) => {
      while (placing) {
        placed++;
        // `socket … full` without async, as dialplan/freeswitch/callguard-outbound.xml has it (async strands a call whose socket dies before the park).
        results.push(await sim.placeOutboundCall('127.0.0.1', port, { callerIdNumber: callers[(placed + lane) % callers.length], digits: lane % 2 ? '1' : '', async: false }).done);
      }
    });
    // Killed once 200 calls are through and over 100 of their rows are committed (the log is written
    // behind the calls, and what is still queued dies with the process): the rows checked below exist.
    await until(() => results.length >= 200 && committedCalls(db) > 100, '200 calls and 100 committed call-log rows', PATIENCE_MS, 20);
    agent.child.kill('SIGKILL');
    expect((await agent.exited).signal).toBe('SIGKILL');
    placing = false;
    await Promise.all(loops);

    // Every call the switch placed ended on some route; none was left stranded or parked.
    expect(results.filter((result) => !['continued', 'hungup', 'bridged'].includes(result.outcome))).toEqual([]);
    const state = inspect(db);
    expect(state.integrity).toBe('ok');
    expect(state.rules).toBe(3);
    expect(state.calls.length).toBeGreaterThan(100);
    for (const row of state.calls) {
      expect(row.action).toMatch(/^(allow|block|challenge|busy)$/);
      expect(Array.isArray(JSON.parse(row.reasons))).toBe(true);
    }
    expect(new Set(state.calls.map((row) => row.channel)).size).toBe(state.calls.length);

    // Restarted on the same database: it opens, recovers, and screens the next call.
    const again = start(serveArgs);
    await until(() => /listening for FreeSWITCH outbound sockets/.test(again.output()) || again.child.exitCode !== null, 'the restarted agent to listen');
    expect(again.output()).toMatch(/listening for FreeSWITCH outbound sockets/);
    const next = await sim.placeOutboundCall('127.0.0.1', port, { callerIdNumber: '+14045559999', async: false }).done;
    expect(next).toMatchObject({ outcome: 'hungup', hangupCause: 'CALL_REJECTED' });
    again.child.kill('SIGTERM');
    expect((await again.exited).code).toBe(0);
    const after = inspect(db);
    expect(after.integrity).toBe('ok');
    expect(after.calls.at(-1)).toMatchObject({ action: 'block', outcome: 'rejected' });
  }, TEST_TIMEOUT_MS);
});
