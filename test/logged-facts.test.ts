// The call log keeps every fact a decision was made on: those with no column of their own
// (the number dialled as signalled, privacy, attestation, carrier, reputation) as JSON, on
// the SQLite file and on the way to PostgreSQL alike, so a logged call can be decided again.
import { afterEach, describe, expect, it } from 'vitest';
import type { CallFacts, Decision } from '../agent/engine/types';
import { CallLog } from '../agent/store/call-log';
import type { CallEntry } from '../agent/store/call-log';
import { openDatabase } from '../agent/store/database';
import { loggedFacts } from '../agent/store/logged-facts';
import { callRowOf } from '../agent/store/postgres/log-operations';
import { makeTempDir } from './helpers/temp-db';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

const DECISION = {
  action: 'allow', target: null, kind: 'call', did: '+15551230000', caller: '+12125550001', callerKind: 'number', scope: null, ruleId: null,
  category: null, categories: [], score: 12, signals: [], flagged: false, reasons: ['nothing matched'], tenant: 'default',
} as unknown as Decision;

const entry = (uid: string, facts: CallFacts): CallEntry => ({ uid, at: 1_700_000_000_000, source: 'freeswitch', pbx: 'fs-east', channel: uid, facts, decision: DECISION, decidedUs: 40 });

describe('the facts the call log keeps beside its columns', () => {
  it('holds exactly what the call had, and an empty object for a call that had none of them (NULL is left to rows logged before the column)', () => {
    const full: CallFacts = {
      kind: 'call', from: '2125550001', to: '+1 (555) 123-0000', callerName: 'Alice', ip: '192.0.2.1', sipFrom: 'sip:alice@192.0.2.1',
      privacy: false, attestation: 'B', carrier: 'Example Telecom', reputation: [{ source: 'rep', weight: 0.5, kind: 'score', score: 70 }],
    };
    expect(JSON.parse(loggedFacts(full)!)).toEqual({ to: '+1 (555) 123-0000', privacy: false, attestation: 'B', carrier: 'Example Telecom', reputation: [{ source: 'rep', weight: 0.5, kind: 'score', score: 70 }] });
    expect(loggedFacts({ kind: 'call', from: '2125550001', to: '' })).toBe('{}');
    const notVisible: CallFacts = { kind: 'sms', from: 'x', to: '5551230000', attestation: { kind: 'not_visible', fix: 'set p-asserted-id-parse to verbatim' }, reputation: [{ source: 'a', weight: 1, kind: 'failed', why: 'timed out' }, { source: 'b', weight: 0.2, kind: 'untrusted', why: 'flagged constant' }] };
    expect(JSON.parse(loggedFacts(notVisible)!)).toEqual({
      to: '5551230000',
      attestation: { kind: 'not_visible', fix: 'set p-asserted-id-parse to verbatim' },
      reputation: [{ source: 'a', weight: 1, kind: 'failed', why: 'timed out' }, { source: 'b', weight: 0.2, kind: 'untrusted', why: 'flagged constant' }],
    });
  });

  it('cuts what the caller controls as the log cuts a number, and drops NUL, which PostgreSQL text cannot hold', () => {
    const hostile = loggedFacts({ kind: 'call', from: '1', to: `9\u0000${'9'.repeat(1000)}`, carrier: '"\\\u2028☎'.repeat(200) })!;
    const kept = JSON.parse(hostile) as { to: string; carrier: string };
    expect(kept.to).toBe('9'.repeat(256));
    expect(kept.carrier.length).toBe(256);
    expect(hostile).not.toContain('\\u0000');
  });

  it('is written by the SQLite log and carried by the row queued for PostgreSQL, the same text', () => {
    const dir = makeTempDir();
    cleanups.push(() => dir.remove());
    const db = openDatabase(dir.file('log.db'));
    cleanups.push(() => db.close());
    const log = new CallLog(db, { flushMs: 5 });
    const facts: CallFacts = { kind: 'call', from: '2125550001', to: '5551230000', privacy: true, attestation: 'C', carrier: 'Example' };
    const plain: CallFacts = { kind: 'call', from: '2125550002', to: '' };
    log.record(entry('with', facts));
    log.record(entry('without', plain));
    log.flush();
    const rows = db.prepare('SELECT uid, facts FROM calls ORDER BY id').all() as { uid: string; facts: string | null }[];
    expect(rows).toEqual([
      { uid: 'with', facts: loggedFacts(facts) },
      { uid: 'without', facts: '{}' },
    ]);
    expect(callRowOf(entry('with', facts)).facts).toBe(rows[0]!.facts);
    expect(callRowOf(entry('without', plain)).facts).toBe('{}');
    log.close();
  });
});
