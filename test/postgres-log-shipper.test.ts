// Shipping a fleet agent's call log and audit from its local queue to a real PostgreSQL:
// every row arrives once with the uid it was given at the call, outcomes land on their
// calls, a batch delivered again after a lost acknowledgement is not doubled, and while
// PostgreSQL is out of reach (refused, or silent) the rows wait and then drain.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Pool } from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { deliverBatch } from '../agent/store/postgres/log-delivery';
import { auditEntryOf, outcomeUpdateOf } from '../agent/store/postgres/log-operations';
import type { CallRow } from '../agent/store/postgres/log-operations';
import { LogQueue } from '../agent/store/postgres/log-queue';
import { LogShipper } from '../agent/store/postgres/log-shipper';
import type { LogShipperOptions, StoreState } from '../agent/store/postgres/log-shipper';
import { migratePostgres } from '../agent/store/postgres/migrate';
import { PATIENCE_MS, until } from './helpers/patience';
import { freshDatabase } from './helpers/postgres';
import { proxyPostgres } from './helpers/postgres-proxy';
import type { PostgresProxy } from './helpers/postgres-proxy';
import { bundleChildScript } from './helpers/child-script';
import { repoRoot } from './helpers/run-cli';
import { makeTempDir } from './helpers/temp-db';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function newPool(url: string): Pool {
  const pool = new Pool({ connectionString: url, max: 4 });
  pool.on('error', () => undefined); // idle connections cut by the tests' outages
  cleanups.push(() => pool.end());
  return pool;
}

/** A fresh, migrated database; its URL and a pool straight to it (for checking what arrived). */
async function database(): Promise<{ url: string; pool: Pool }> {
  const url = await freshDatabase();
  const pool = newPool(url);
  await migratePostgres(pool);
  return { url, pool };
}

function openQueue(path = makeTempDirCleaned().file('queue.db')): LogQueue {
  const queue = new LogQueue(path);
  cleanups.push(() => queue.close());
  return queue;
}

function makeTempDirCleaned() {
  const dir = makeTempDir('callguard-log-shipper-');
  cleanups.push(() => dir.remove());
  return dir;
}

function ship(queue: LogQueue, pool: Pool, options: LogShipperOptions = {}): { shipper: LogShipper; states: StoreState[] } {
  const shipper = new LogShipper(queue, pool, { retryFirstMs: 20, retryMaxMs: 200, ...options });
  const states: StoreState[] = [];
  shipper.on('state', (state: StoreState) => states.push(state));
  shipper.start();
  cleanups.push(() => shipper.stop(0));
  return { shipper, states };
}

function call(uid: string, i: number): CallRow {
  return {
    uid, at: 1_700_000_000_000 + i, kind: i % 9 === 0 ? 'sms' : 'call', source: 'freeswitch', pbx: i % 3 === 0 ? null : `fs-${i % 2}`, channel: `chan-${i}`, tenant: `tenant-${i % 3}`,
    did: '+15550100', caller: i % 4 === 0 ? null : `+1555${String(i).padStart(7, '0')}`, caller_raw: `raw ${i} \t"quoted" \\ 'single'`,
    caller_name: i % 2 === 0 ? 'Zoë Ünicode ☎' : null, ip: '192.0.2.7', sip_from: `sip:${i}@192.0.2.7`,
    facts: i % 2 === 0 ? null : JSON.stringify({ to: `+1555 01 ${i}`, privacy: true, attestation: 'C', carrier: `Carrier "${i}" \\ ☎`, reputation: { kind: 'score', score: i % 100 } }), action: i % 5 === 0 ? 'block' : 'allow',
    target: null, rule_id: i % 5 === 0 ? i : null, category: null, score: i % 101, flagged: i % 2, reasons: JSON.stringify([`reason ${i}`]), decided_us: i,
  };
}

interface StoredCall { uid: string; at: string; kind: string; caller: string | null; caller_raw: string; caller_name: string | null; facts: string | null; rule_id: string | null; flagged: unknown; reasons: unknown; outcome: string | null; outcome_detail: string | null; ended_at: string | null }

async function storedCalls(pool: Pool): Promise<Map<string, StoredCall>> {
  const { rows } = await pool.query<StoredCall>('SELECT uid, at::text, kind, caller, caller_raw, caller_name, facts, rule_id::text, flagged, reasons, outcome, outcome_detail, ended_at::text FROM calls');
  const byUid = new Map(rows.map((row) => [row.uid, row]));
  expect(byUid.size).toBe(rows.length); // one row per uid
  return byUid;
}

/** Whatever type the schema gives `reasons` and `flagged`, read back as the values that were queued. */
const reasonsOf = (stored: unknown) => (typeof stored === 'string' ? JSON.parse(stored) : stored);
const flaggedOf = (stored: unknown) => Number(stored);

async function proxyTo(url: string): Promise<{ proxy: PostgresProxy; url: string }> {
  const proxied = await proxyPostgres(url);
  cleanups.push(() => proxied.proxy.close());
  return proxied;
}

/** Enqueues calls at a steady pace, each followed a little later by its outcome, until stopped. */
function steadyCalls(queue: LogQueue, prefix: string): { stop: () => void; readonly enqueued: number } {
  let enqueued = 0;
  const timer = setInterval(() => {
    for (let k = 0; k < 10; k++) {
      const i = enqueued++;
      queue.enqueueCall(call(`${prefix}-${i}`, i));
      if (i > 0) queue.enqueueOutcome(outcomeUpdateOf(`${prefix}-${i - 1}`, { outcome: 'continued', detail: `after ${i - 1}` }, 1_800_000_000_000 + i - 1));
    }
  }, 5);
  cleanups.push(() => clearInterval(timer));
  return {
    stop: () => {
      clearInterval(timer);
      const last = enqueued - 1;
      queue.enqueueOutcome(outcomeUpdateOf(`${prefix}-${last}`, { outcome: 'continued', detail: `after ${last}` }, 1_800_000_000_000 + last));
    },
    get enqueued() {
      return enqueued;
    },
  };
}

async function expectAllArrivedOnce(pool: Pool, prefix: string, enqueued: number): Promise<void> {
  const stored = await storedCalls(pool);
  expect(stored.size).toBe(enqueued);
  for (let i = 0; i < enqueued; i++) {
    const row = stored.get(`${prefix}-${i}`);
    expect(row, `${prefix}-${i}`).toBeDefined();
    expect(row!.outcome_detail).toBe(`after ${i}`);
  }
}

describe('shipping the call log to PostgreSQL', () => {
  it('delivers every call and audit row once with its uid, and each outcome onto its own call', async () => {
    const { pool } = await database();
    const queue = openQueue();
    const audits = [auditEntryOf('cli:ops', 'add', 'rule', 'block +15550001', null, { action: 'block' }), auditEntryOf('token:api', 'remove', 'list', 'spam', { entries: 3 }, null)];
    const total = 3000;
    for (let i = 0; i < total; i++) {
      queue.enqueueCall(call(`c-${i}`, i));
      if (i === 10) queue.enqueueAudit(audits[0]!);
      // Outcomes of earlier calls: some land in the same batch as their call, some in a later one.
      if (i % 3 === 0 && i >= 40) queue.enqueueOutcome(outcomeUpdateOf(`c-${i - 40}`, { outcome: 'rejected', detail: `busy ${i - 40}` }, 1_800_000_000_000 + i));
      if (i % 3 === 1) queue.enqueueOutcome(outcomeUpdateOf(`c-${i}`, { outcome: 'passed', detail: null }, 1_800_000_000_000 + i));
    }
    // Two outcomes for one call, in order: the later one is what stays.
    queue.enqueueOutcome(outcomeUpdateOf('c-2', { outcome: 'hungup', detail: 'first' }, 1));
    queue.enqueueOutcome(outcomeUpdateOf('c-2', { outcome: 'answered', detail: 'second' }, 2));
    queue.enqueueAudit(audits[1]!);
    const enqueued = queue.depth();

    const { shipper } = ship(queue, pool, { batchSize: 250 });
    await until(() => shipper.depth === 0, 'the queue to drain');

    const stored = await storedCalls(pool);
    expect(stored.size).toBe(total);
    for (let i = 0; i < total; i++) {
      const sent = call(`c-${i}`, i);
      const row = stored.get(sent.uid)!;
      expect({ at: row.at, kind: row.kind, caller: row.caller, caller_raw: row.caller_raw, caller_name: row.caller_name, facts: row.facts, rule_id: row.rule_id, flagged: flaggedOf(row.flagged), reasons: reasonsOf(row.reasons) })
        .toEqual({ at: String(sent.at), kind: sent.kind, caller: sent.caller, caller_raw: sent.caller_raw, caller_name: sent.caller_name, facts: sent.facts, rule_id: sent.rule_id === null ? null : String(sent.rule_id), flagged: sent.flagged, reasons: JSON.parse(sent.reasons) });
      const expected = i === 2 ? { outcome: 'answered', outcome_detail: 'second', ended_at: '2' }
        : i % 3 === 1 ? { outcome: 'passed', outcome_detail: null, ended_at: String(1_800_000_000_000 + i) }
        : i % 3 === 2 && i + 40 < total ? { outcome: 'rejected', outcome_detail: `busy ${i}`, ended_at: String(1_800_000_000_000 + i + 40) }
        : { outcome: null, outcome_detail: null, ended_at: null };
      expect({ outcome: row.outcome, outcome_detail: row.outcome_detail, ended_at: row.ended_at }, sent.uid).toEqual(expected);
    }

    const { rows: auditRows } = await pool.query('SELECT uid, actor, verb, entity, key, before, after FROM audit ORDER BY at, uid');
    expect(auditRows.map((row) => row.uid).sort()).toEqual(audits.map((entry) => entry.uid).sort());
    const removal = auditRows.find((row) => row.uid === audits[1]!.uid);
    expect({ actor: removal.actor, verb: removal.verb, entity: removal.entity, key: removal.key, before: reasonsOf(removal.before), after: removal.after })
      .toEqual({ actor: 'token:api', verb: 'remove', entity: 'list', key: 'spam', before: { entries: 3 }, after: null });

    expect(shipper.state).toBe('connected');
    expect(shipper.deliveredCalls).toBe(total);
    expect(shipper.deliveredAudits).toBe(2);
    expect(shipper.deliveredCalls + shipper.deliveredAudits + shipper.deliveredOutcomes).toBe(enqueued);
    expect(shipper.duplicates).toBe(0);
  });

  it('does not double a batch that was committed but not acknowledged before the agent died', async () => {
    const { pool } = await database();
    const dir = makeTempDirCleaned();
    const path = dir.file('queue.db');
    const first = new LogQueue(path);
    for (let i = 0; i < 1000; i++) first.enqueueCall(call(`d-${i}`, i));
    first.enqueueOutcome(outcomeUpdateOf('d-0', { outcome: 'voicemail', detail: 'early' }, 10));
    first.enqueueAudit(auditEntryOf('cli:ops', 'change', 'setting', 'fail_mode', 'open', 'closed'));
    // Delivered and committed, then the process dies before acknowledging it locally.
    const batch = first.peek(600);
    const client = await pool.connect();
    try {
      expect((await deliverBatch(client, batch)).calls).toBe(600);
    } finally {
      client.release();
    }
    first.close();

    // The next process: the same queue file, more calls, and a later outcome for a call in the unacknowledged batch.
    const queue = openQueue(path);
    expect(queue.depth()).toBe(1002);
    queue.enqueueOutcome(outcomeUpdateOf('d-0', { outcome: 'answered', detail: 'late' }, 20));
    for (let i = 1000; i < 1500; i++) queue.enqueueCall(call(`d-${i}`, i));
    const { shipper } = ship(queue, pool, { batchSize: 400 });
    await until(() => shipper.depth === 0, 'the queue to drain');

    const stored = await storedCalls(pool);
    expect(stored.size).toBe(1500);
    expect(stored.get('d-0')).toMatchObject({ outcome: 'answered', outcome_detail: 'late', ended_at: '20' });
    expect((await pool.query('SELECT count(*)::int AS n FROM audit')).rows[0].n).toBe(1);
    expect(shipper.duplicates).toBe(600);
    expect(shipper.deliveredCalls).toBe(900);
  });

  it('keeps the log while PostgreSQL refuses connections, then delivers all of it once', async () => {
    const { url, pool } = await database();
    const { proxy, url: proxied } = await proxyTo(url);
    const queue = openQueue();
    const calls = steadyCalls(queue, 'r');
    const { shipper, states } = ship(queue, newPool(proxied));
    await until(() => shipper.deliveredCalls >= 500, 'calls to be delivered before the outage');

    await proxy.close();
    await until(() => shipper.state === 'unreachable', 'the shipper to notice the outage');
    expect(shipper.status()).toMatchObject({ state: 'unreachable', lastError: expect.any(String) });
    const depthAtOutage = shipper.depth;
    const enqueuedAtOutage = calls.enqueued;
    await until(() => calls.enqueued >= enqueuedAtOutage + 2000, 'calls to go on being taken during the outage');
    // Nothing delivered meanwhile: it all waits in the queue.
    expect(shipper.depth).toBeGreaterThan(depthAtOutage + 2000);
    const deliveredDuringOutage = (await pool.query('SELECT count(*)::int AS n FROM calls')).rows[0].n;
    expect(deliveredDuringOutage).toBeLessThan(calls.enqueued - 2000);

    await proxy.open();
    await until(() => shipper.state === 'connected', 'the shipper to reconnect');
    calls.stop();
    await until(() => shipper.depth === 0, 'the queue to drain after the outage');
    expect(states).toEqual(['unreachable', 'connected']);
    await expectAllArrivedOnce(pool, 'r', calls.enqueued);
    expect(shipper.failures).toBeGreaterThan(0);
  });

  it('gives up on a PostgreSQL that went silent, keeps the log, and delivers it once it answers', async () => {
    const { url, pool } = await database();
    const { proxy, url: proxied } = await proxyTo(url);
    const queue = openQueue();
    const calls = steadyCalls(queue, 's');
    // Short enough to keep the test quick, long enough for a batch on a busy machine.
    const { shipper, states } = ship(queue, newPool(proxied), { deliveryTimeoutMs: 2000 });
    await until(() => shipper.deliveredCalls >= 500, 'calls to be delivered before the silence');

    proxy.silence();
    await until(() => shipper.state === 'unreachable', 'the shipper to give up on the silent server');
    const enqueued = calls.enqueued;
    await until(() => calls.enqueued >= enqueued + 1000, 'calls to go on being taken meanwhile');
    proxy.speak();
    await until(() => shipper.state === 'connected', 'the shipper to deliver again');
    calls.stop();
    await until(() => shipper.depth === 0, 'the queue to drain');
    expect([states[0], states.at(-1)]).toEqual(['unreachable', 'connected']);
    await expectAllArrivedOnce(pool, 's', calls.enqueued);
  });

  it('loses and doubles nothing when the agent is killed again and again while shipping', async () => {
    const { url, pool } = await database();
    const dir = makeTempDirCleaned();
    const path = dir.file('queue.db');
    const script = dir.file('agent.js');
    // An agent's log path in a child: calls enqueued without pause, shipped in small batches, reporting what is durable.
    bundleChildScript(`
          import { Pool } from 'pg';
          import { LogQueue } from './agent/store/postgres/log-queue';
          import { LogShipper } from './agent/store/postgres/log-shipper';
          const [path, url, generation] = process.argv.slice(2);
          const queue = new LogQueue(path);
          const pool = new Pool({ connectionString: url, max: 2 });
          const shipper = new LogShipper(queue, pool, { batchSize: 300, gatherMs: 5 });
          let next = 0;
          let written = 0;
          queue.on('written', () => { written = next; process.stdout.write('written ' + written + '\\n'); });
          shipper.on('delivered', () => process.stdout.write('delivered\\n'));
          shipper.start();
          const burst = () => {
            for (let k = 0; k < 20; k++, next++) {
              queue.enqueueCall({ uid: generation + '-' + next, at: next, kind: 'call', source: 'sim', channel: null, tenant: 't', did: null, caller: null,
                caller_raw: null, caller_name: null, ip: null, sip_from: null, action: 'allow', target: null, rule_id: null,
                category: null, score: null, flagged: 0, reasons: '[]', decided_us: next });
            }
            setTimeout(burst, 1);
          };
          burst();
        `, script, ['better-sqlite3', 'pg']);

    const written: number[] = [];
    for (let generation = 0; generation < 4; generation++) {
      const child = spawn(process.execPath, [script, path, url, String(generation)], { env: { ...process.env, NODE_PATH: join(repoRoot, 'node_modules') }, stdio: ['ignore', 'pipe', 'pipe'] });
      cleanups.push(() => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'));
      let reported = 0;
      let deliveries = 0;
      let errors = '';
      child.stdout.on('data', (chunk: Buffer) => {
        for (const line of chunk.toString().split('\n')) {
          if (line.startsWith('written ')) reported = Number(line.slice('written '.length));
          if (line === 'delivered') deliveries++;
        }
      });
      child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
      const exited = new Promise((resolve) => child.on('exit', resolve));
      // Killed wherever it happens to be (enqueuing, mid-batch, waiting); a batch committed but not acknowledged is forced in a test above.
      await until(() => deliveries >= 3 + generation * 2 || errors !== '', `agent ${generation} to deliver a few batches`);
      expect(errors).toBe('');
      await new Promise((resolve) => setTimeout(resolve, generation * 7));
      const durable = reported;
      child.kill('SIGKILL');
      await exited;
      written.push(durable);
    }

    const queue = openQueue(path);
    const { shipper } = ship(queue, pool);
    await until(() => shipper.depth === 0, 'the last agent to drain what the killed ones left');
    const stored = await storedCalls(pool);
    written.forEach((durable, generation) => {
      // Every call an agent had made durable arrived, once; the ones after it arrived with no gap.
      const numbers = [...stored.keys()].filter((uid) => uid.startsWith(`${generation}-`)).map((uid) => Number(uid.slice(uid.indexOf('-') + 1))).sort((a, b) => a - b);
      expect(numbers.length).toBeGreaterThanOrEqual(durable);
      expect(numbers).toEqual(Array.from({ length: numbers.length }, (_, i) => i));
    });
  });

  it('sets aside a row PostgreSQL refuses, with the reason, and delivers the rest', async () => {
    const { pool } = await database();
    const queue = openQueue();
    for (let i = 0; i < 20; i++) queue.enqueueCall(i === 13 ? { ...call(`n-${i}`, i), caller_name: 'nul \u0000 inside' } : call(`n-${i}`, i));
    const { shipper } = ship(queue, pool, { batchSize: 8 });
    const setAside: string[] = [];
    shipper.on('set-aside', (operation: { json: string }) => setAside.push(JSON.parse(operation.json).uid));
    await until(() => shipper.depth === 0, 'the queue to drain');

    const stored = await storedCalls(pool);
    expect([...stored.keys()].sort()).toEqual(Array.from({ length: 20 }, (_, i) => `n-${i}`).filter((uid) => uid !== 'n-13').sort());
    expect(setAside).toEqual(['n-13']);
    const [kept] = queue.setAsideOperations();
    expect(JSON.parse(kept!.json)).toMatchObject({ uid: 'n-13', caller_name: 'nul \u0000 inside' });
    expect(kept!.reason).toMatch(/\\u0000|0x00|unicode/i);
    expect(shipper.state).toBe('connected');
  });

  it('stops within its grace period while PostgreSQL is away, leaving the rows for the next start', async () => {
    const { url, pool } = await database();
    const { proxy, url: proxied } = await proxyTo(url);
    await proxy.close();
    const path = makeTempDirCleaned().file('queue.db');
    const queue = new LogQueue(path);
    for (let i = 0; i < 100; i++) queue.enqueueCall(call(`g-${i}`, i));
    const shipper = new LogShipper(queue, newPool(proxied), { retryFirstMs: 20, retryMaxMs: 200 });
    shipper.start();
    await until(() => shipper.state === 'unreachable', 'the shipper to find PostgreSQL away');
    await shipper.stop(100);
    expect(shipper.depth).toBe(100);
    queue.close();

    const reopened = openQueue(path);
    expect(reopened.depth()).toBe(100);
    const { shipper: next } = ship(reopened, pool);
    await until(() => next.depth === 0, 'the next start to deliver them');
    await next.stop();
    expect((await storedCalls(pool)).size).toBe(100);
  });

  it('drains what is queued when stopped with PostgreSQL there', async () => {
    const { pool } = await database();
    const queue = openQueue();
    const { shipper } = ship(queue, pool, { batchSize: 100 });
    for (let i = 0; i < 1000; i++) queue.enqueueCall(call(`t-${i}`, i));
    await shipper.stop(PATIENCE_MS);
    expect(shipper.depth).toBe(0);
    expect((await storedCalls(pool)).size).toBe(1000);
  });
});
