// The local durable queue that holds a fleet agent's call log and audit rows until
// PostgreSQL has them: order, acknowledgement, depth, and what survives a killed process.
// No PostgreSQL here.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { LogQueue } from '../agent/store/postgres/log-queue';
import { auditEntryOf, callRowOf, outcomeUpdateOf } from '../agent/store/postgres/log-operations';
import type { CallRow } from '../agent/store/postgres/log-operations';
import { until } from './helpers/patience';
import { bundleChildScript } from './helpers/child-script';
import { repoRoot } from './helpers/run-cli';
import { makeTempDir } from './helpers/temp-db';
import type { TempDir } from './helpers/temp-db';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(): TempDir {
  const dir = makeTempDir('callguard-log-queue-');
  cleanups.push(() => dir.remove());
  return dir;
}

function openQueue(path: string): LogQueue {
  const queue = new LogQueue(path);
  cleanups.push(() => queue.close());
  return queue;
}

function call(uid: string, at = 1_700_000_000_000): CallRow {
  return {
    uid, at, kind: 'call', source: 'freeswitch', pbx: 'fs-east', channel: `chan-${uid}`, tenant: 'default', did: '+15550100', caller: '+15550199',
    caller_raw: '5550199', caller_name: null, ip: null, sip_from: null, facts: '{"attestation":"B"}', action: 'allow', target: null, rule_id: null,
    category: null, score: null, flagged: 0, reasons: '[]', decided_us: 12,
  };
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('the local log queue', () => {
  it('gives back calls, outcomes and audit rows in the order they were enqueued, each whole', () => {
    const queue = openQueue(tempDir().file('queue.db'));
    const audit = auditEntryOf('cli:ops', 'add', 'rule', 'block +15550199', null, { action: 'block' }, 1_700_000_000_500);
    queue.enqueueCall(call('a'));
    queue.enqueueAudit(audit);
    queue.enqueueOutcome(outcomeUpdateOf('a', { outcome: 'rejected', detail: 'busy' }, 1_700_000_001_000));
    queue.enqueueCall(call('b'));

    const operations = queue.peek(10);
    expect(operations.map((operation) => operation.kind)).toEqual(['call', 'audit', 'outcome', 'call']);
    expect(operations.map((operation) => operation.seq)).toEqual([...operations.map((operation) => operation.seq)].sort((x, y) => x - y));
    expect(JSON.parse(operations[0]!.json)).toEqual(call('a'));
    expect(JSON.parse(operations[1]!.json)).toEqual(audit);
    expect(audit.uid).not.toBe('');
    expect(JSON.parse(operations[2]!.json)).toEqual({ uid: 'a', outcome: 'rejected', outcome_detail: 'busy', ended_at: 1_700_000_001_000 });
    // Peeking again, without acknowledging, gives the same operations: a failed delivery is simply tried again.
    expect(queue.peek(10)).toEqual(operations);
    expect(queue.peek(2)).toEqual(operations.slice(0, 2));
  });

  it('maps a call as the SQLite call log would', () => {
    const row = callRowOf({
      uid: 'u1', at: 5, source: 'hook', pbx: null, channel: null, decidedUs: 41.6,
      facts: { kind: 'call', from: 'x'.repeat(300), to: '+15550100', callerName: 'ACME' },
      decision: {
        action: 'block', target: null, kind: 'call', tenant: 't', did: '+15550100' as never, caller: null, callerKind: 'unknown' as never,
        scope: null, ruleId: 7, category: null, categories: [], score: 80, signals: [], flagged: true, reasons: ['listed'],
      },
    });
    expect(row).toMatchObject({ uid: 'u1', kind: 'call', pbx: null, caller_name: 'ACME', ip: null, rule_id: 7, flagged: 1, reasons: '["listed"]', decided_us: 42 });
    expect(row.caller_raw).toHaveLength(256);
  });

  it('writes what one turn of the event loop enqueued in a single transaction', async () => {
    const queue = openQueue(tempDir().file('queue.db'));
    const writes: number[] = [];
    queue.on('written', (count: number) => writes.push(count));
    for (let i = 0; i < 500; i++) queue.enqueueCall(call(`c${i}`));
    expect(queue.depth()).toBe(500);
    await until(() => writes.length > 0, 'the queued calls to be written');
    await nextTurn();
    expect(writes).toEqual([500]);
  });

  it('forgets only what was acknowledged, counts the rest, and never reuses a number', async () => {
    const dir = tempDir();
    const queue = openQueue(dir.file('queue.db'));
    for (let i = 0; i < 10; i++) queue.enqueueCall(call(`c${i}`));
    const all = queue.peek(100);
    expect(queue.depth()).toBe(10);

    expect(queue.acknowledge(all[3]!.seq)).toBe(4);
    expect(queue.depth()).toBe(6);
    expect(queue.peek(100).map((operation) => JSON.parse(operation.json).uid)).toEqual(['c4', 'c5', 'c6', 'c7', 'c8', 'c9']);

    // Acknowledging again (a repeated delivery) removes nothing more.
    expect(queue.acknowledge(all[3]!.seq)).toBe(0);
    expect(queue.acknowledge(all[9]!.seq)).toBe(6);
    expect(queue.depth()).toBe(0);
    expect(queue.peek(100)).toEqual([]);

    // Emptied, the queue goes on counting: a stale acknowledgement can never remove a newer row.
    queue.enqueueCall(call('late'));
    const [late] = queue.peek(1);
    expect(late!.seq).toBeGreaterThan(all[9]!.seq);
    expect(queue.acknowledge(all[9]!.seq)).toBe(0);
    expect(queue.depth()).toBe(1);
    queue.close();

    const reopened = openQueue(dir.file('queue.db'));
    expect(reopened.depth()).toBe(1);
    reopened.enqueueCall(call('later'));
    const again = reopened.peek(10);
    expect(again.map((operation) => JSON.parse(operation.json).uid)).toEqual(['late', 'later']);
    expect(again[1]!.seq).toBe(late!.seq + 1);
  });

  it('keeps what close() wrote for the next process', () => {
    const path = tempDir().file('queue.db');
    const queue = new LogQueue(path);
    for (let i = 0; i < 3; i++) queue.enqueueCall(call(`c${i}`));
    expect(queue.close()).toBe(0);
    const reopened = openQueue(path);
    expect(reopened.peek(10).map((operation) => JSON.parse(operation.json).uid)).toEqual(['c0', 'c1', 'c2']);
  });

  it('keeps every written operation, in order and whole, when the process is killed while enqueuing', async () => {
    const dir = tempDir();
    const path = dir.file('queue.db');
    // A child that enqueues calls without pause, a few per turn of its event loop, and reports how many are written.
    const script = dir.file('enqueuer.js');
    bundleChildScript(`
          import { LogQueue } from './agent/store/postgres/log-queue';
          const queue = new LogQueue(process.argv[2]);
          let next = 0;
          let written = 0;
          queue.on('written', (count) => { written += count; process.stdout.write(written + '\\n'); });
          const row = (i) => ({ uid: 'u' + i, at: i, kind: 'call', source: 'sim', channel: null, tenant: 't', did: null, caller: null,
            caller_raw: 'x'.repeat(200), caller_name: null, ip: null, sip_from: null, action: 'allow', target: null, rule_id: null,
            category: null, score: null, flagged: 0, reasons: '[]', decided_us: i });
          const burst = () => {
            for (let k = 0; k < 1 + (next % 17); k++, next++) {
              if (next % 5 === 4) queue.enqueueOutcome({ uid: 'u' + (next - 1), outcome: 'continued', outcome_detail: null, ended_at: next });
              else queue.enqueueCall(row(next));
            }
            setImmediate(burst);
          };
          burst();
        `, script, ['better-sqlite3']);
    const child = spawn(process.execPath, [script, path], { env: { ...process.env, NODE_PATH: join(repoRoot, 'node_modules') }, stdio: ['ignore', 'pipe', 'pipe'] });
    cleanups.push(() => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'));
    let reported = 0;
    let errors = '';
    child.stdout.on('data', (chunk: Buffer) => {
      const lines = chunk.toString().trim().split('\n');
      reported = Math.max(reported, Number(lines[lines.length - 1]));
    });
    child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    const exited = new Promise((resolve) => child.on('exit', resolve));

    await until(() => reported >= 20_000 || errors !== '', 'the child to write 20,000 operations');
    expect(errors).toBe('');
    const lastReported = reported;
    child.kill('SIGKILL');
    await exited;

    const db = new BetterSqlite3(path, { fileMustExist: true });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();

    const queue = openQueue(path);
    const operations = queue.peek(Number.MAX_SAFE_INTEGER);
    expect(operations.length).toBeGreaterThanOrEqual(lastReported);
    expect(queue.depth()).toBe(operations.length);
    operations.forEach((operation, i) => {
      expect(operation.seq).toBe(i + 1);
      const row = JSON.parse(operation.json);
      if (i % 5 === 4) expect(operation.kind === 'outcome' && row.uid === `u${i - 1}`).toBe(true);
      else expect(operation.kind === 'call' && row.uid === `u${i}` && row.caller_raw.length === 200).toBe(true);
    });
  });
});
