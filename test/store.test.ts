import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BadInput } from '../agent/engine/bad-input';
import { parsePattern } from '../agent/engine/patterns';
import { openDatabase } from '../agent/store/database';
import { migrate, migrationsIn } from '../agent/store/migrate';
import { RuleStore } from '../agent/store/rules';
import { CALL_SQL, CallLog } from '../agent/store/call-log';
import { LogWriter } from '../agent/store/log-writer';
import pino from 'pino';
import { until } from './helpers/patience';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'callguard-store-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const block = (pattern: string, scope = 'global') => ({
  ...parsePattern(pattern, 'US'),
  scope,
  action: 'block' as const,
  target: null,
  sms: false,
  note: null,
  list: null,
  expiresAt: null,
});

describe('store', () => {
  it('applies every migration once, in order, recorded in schema_migrations', () => {
    const path = join(dir, 'a.db');
    const files = migrationsIn();
    expect(files.map((m) => m.version)).toEqual([...files.map((m) => m.version)].sort((a, b) => a - b));
    const db = openDatabase(path);
    expect(db.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all()).toEqual(files.map((m) => m.version));
    expect(migrate(db)).toEqual([]);
    db.close();
    const again = openDatabase(path);
    expect(again.prepare('SELECT COUNT(*) FROM schema_migrations').pluck().get()).toBe(files.length);
    expect(again.prepare("SELECT COUNT(*) FROM tenants WHERE name = 'default'").pluck().get()).toBe(1);
    again.close();
  });

  it('rolls a failing migration back whole and records nothing for it', () => {
    const migrations = join(dir, 'migrations');
    mkdirSync(migrations);
    writeFileSync(join(migrations, '001_good.sql'), 'CREATE TABLE a (x INTEGER);');
    writeFileSync(join(migrations, '002_bad.sql'), 'CREATE TABLE b (x INTEGER); INSERT INTO nowhere VALUES (1);');
    const db = new BetterSqlite3(':memory:');
    expect(() => migrate(db, migrationsIn(migrations))).toThrow(/nowhere/);
    expect(db.prepare("SELECT COUNT(*) FROM sqlite_master WHERE name = 'b'").pluck().get()).toBe(0);
    expect(db.prepare("SELECT COUNT(*) FROM sqlite_master WHERE name = 'a'").pluck().get()).toBe(1);
    expect(db.prepare('SELECT version FROM schema_migrations').pluck().all()).toEqual([1]);
    db.close();
  });

  it('uses WAL with a busy timeout and creates an owner-only file', () => {
    const path = join(dir, 'wal.db');
    const db = openDatabase(path);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('busy_timeout', { simple: true })).toBe(5000);
    expect(statSync(path).mode & 0o077).toBe(0);
    db.close();
  });

  it('lets a second connection write while a reader holds a read transaction', () => {
    const path = join(dir, 'rw.db');
    const reader = openDatabase(path);
    const writer = openDatabase(path);
    reader.exec('BEGIN');
    reader.prepare('SELECT COUNT(*) FROM rules').get();
    new RuleStore(writer).add([block('404*')]);
    expect(reader.prepare('SELECT COUNT(*) FROM rules').pluck().get()).toBe(0);
    reader.exec('COMMIT');
    expect(reader.prepare('SELECT COUNT(*) FROM rules').pluck().get()).toBe(1);
    reader.close();
    writer.close();
  });

  it('writes a bulk add all or nothing', () => {
    const db = openDatabase(join(dir, 'bulk.db'));
    const rules = new RuleStore(db);
    expect(() => rules.add([block('404*'), block('405*', 'tenant:nobody')])).toThrow(BadInput);
    expect(db.prepare('SELECT COUNT(*) FROM rules').pluck().get()).toBe(0);
    db.close();
  });

  it('rolls a streamed import back when it fails part way', async () => {
    const db = openDatabase(join(dir, 'stream.db'));
    const rules = new RuleStore(db);
    await expect(
      rules.bulk(Date.now(), 'test import', async (writer) => {
        writer.write(block('404*'));
        await new Promise((resolve) => setTimeout(resolve, 1));
        throw new BadInput('line 2: bad');
      }),
    ).rejects.toThrow(/line 2/);
    expect(db.prepare('SELECT COUNT(*) FROM rules').pluck().get()).toBe(0);
    expect(db.inTransaction).toBe(false);
    db.close();
  });
});

describe('call-log writer thread', () => {
  it('writes rows handed to it in order, waits out a busy database, and drains on stop', async () => {
    const path = join(dir, 'writer.db');
    const db = openDatabase(path);
    const writer = new LogWriter(path, CALL_SQL, pino({ level: 'silent' }));
    const log = new CallLog(db, { writer, flushMs: 5 });
    const locker = openDatabase(path);
    locker.exec('BEGIN IMMEDIATE'); // another writer holds the lock for a while
    const decision = { kind: 'call', tenant: 'default', did: null, caller: '+14045551234', action: 'challenge', target: null, ruleId: null, category: null, score: null, flagged: false, reasons: ['r'] } as never;
    for (let i = 0; i < 50; i++) {
      log.record({ uid: `u${i}`, at: i, source: 'test', pbx: null, channel: null, facts: { kind: 'call', from: '+14045551234', to: '1' }, decision, decidedUs: 1 });
      log.finish(`u${i}`, { outcome: i % 2 ? 'passed' : 'failed', detail: null }, i);
    }
    // The writer has met the lock (its busy timeout ran out, the rows kept for another try), however long
    // the rows took to reach it: waited on, not given a few hundred milliseconds.
    await until(() => writer.lastFailure !== null, 'the writer to find the database busy');
    expect(writer.lastFailure).toMatch(/database is locked/);
    expect(writer.written).toBe(0);
    expect(db.prepare('SELECT COUNT(*) FROM calls').pluck().get()).toBe(0);
    locker.exec('COMMIT');
    locker.close();
    log.close();
    await writer.stop();
    expect(db.prepare("SELECT COUNT(*) FROM calls WHERE outcome IN ('passed', 'failed')").pluck().get()).toBe(50);
    expect(writer.written).toBe(100);
    db.close();
  });
});
