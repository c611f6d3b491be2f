// The call log's reads on both backends: the same rows (fields, types, order) for every
// filter, the same counters and calls per hour as outcomes arrive after their calls and
// old calls are pruned (the rollup's triggers on each), the same retention setting and
// audit trail; and the stats and block operations over them.
import { Pool } from 'pg';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { OutcomeName } from '../agent/actions/outcome';
import type { Decision } from '../agent/engine/types';
import { Forbidden, cliActing, principalActing } from '../agent/operations/acting';
import { blockCaller, blockLastCaller } from '../agent/operations/block-caller';
import { callStats, hourlyStats } from '../agent/operations/stats';
import { addTenant } from '../agent/operations/tenants';
import type { CallEntry } from '../agent/store/call-log';
import type { LogRow } from '../agent/store/call-log-queries';
import { copyBetween } from '../agent/store/copy-between';
import { openDatabase } from '../agent/store/database';
import { FleetLastCall } from '../agent/store/postgres/fleet-last-call';
import { numericTypes } from '../agent/store/postgres/pg-types';
import { BACKENDS } from './helpers/both-backends';
import type { Backend } from './helpers/both-backends';
import { logToSqlite } from './helpers/call-writers';
import type { LoggedOutcome } from './helpers/call-writers';
import { freshDatabase } from './helpers/postgres';
import { makeTempDir, withDatabase } from './helpers/temp-db';

const ACTOR = 'cli:tester';
const admin = cliActing(ACTOR);
const acmeManager = principalActing({ kind: 'user', name: 'ann', role: 'manager', tenants: ['acme'] } as never);

const HOUR = 3_600_000;
const MINUTE = 60_000;
/** 12:30 UTC: the current hour began half an hour ago. */
const NOW = Date.UTC(2026, 2, 10, 12, 30);
const ACME_DID = '+14045550100';
const GLOBEX_DID = '+13125550100';

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A logged call `ago` ms before NOW, decided as `decision` says (the rest: allowed, nothing matched). */
function call(n: number, ago: number, decision: Partial<Decision> & { tenant: string }, facts: { ip?: string; sipFrom?: string; callerName?: string } = {}): CallEntry {
  const full: Decision = {
    action: 'allow', target: null, kind: 'call', did: null, caller: null, callerKind: 'number', scope: null, ruleId: null, category: null,
    categories: [], score: null, signals: [], flagged: false, reasons: [`reason of call ${n}`], ...decision,
  } as Decision;
  return { uid: `uid-${n}`, at: NOW - ago, source: 'freeswitch', pbx: n % 2 ? 'fs-east' : 'fs-west', channel: `chan-${n}`, facts: { kind: full.kind, from: full.caller?.slice(2) ?? 'anonymous', to: full.did ?? '', ...facts }, decision: full, decidedUs: 120 };
}

/** Logged in this order, so their ids are 1 to 8 on either backend. */
const CALLS = [
  call(1, 26 * HOUR, { tenant: 'acme', did: ACME_DID as never, caller: '+12125550001' as never, score: 10 }),
  call(2, 3 * HOUR, { tenant: 'acme', did: ACME_DID as never, caller: '+12125550002' as never, action: 'block', ruleId: 7, scope: 'global' }, { ip: '203.0.113.9', sipFrom: '"Robo" <sip:robo@spam.example>;tag=1', callerName: 'Robo' }),
  call(3, 2 * HOUR + 10 * MINUTE, { tenant: 'globex', did: GLOBEX_DID as never, caller: '+12125550003' as never, action: 'challenge', score: 80 }),
  call(4, 50 * MINUTE, { tenant: 'acme', did: ACME_DID as never, caller: null, callerKind: 'anonymous', action: 'challenge', category: 'anonymous' }),
  call(5, 40 * MINUTE, { tenant: 'globex', did: GLOBEX_DID as never, caller: '+12125550005' as never, score: 60, flagged: true }),
  call(6, 20 * MINUTE, { tenant: 'acme', did: ACME_DID as never, caller: '+12125550006' as never, action: 'forward', target: '+15125550100' }),
  call(7, 10 * MINUTE, { tenant: 'acme', did: ACME_DID as never, caller: '+12125550007' as never, action: 'voicemail', kind: 'sms' }),
  call(8, 5 * MINUTE, { tenant: 'default', caller: '+12125550008' as never }),
];

const outcome = (n: number, name: OutcomeName, ago = 0): LoggedOutcome => ({ uid: `uid-${n}`, outcome: { outcome: name, detail: null }, at: NOW - ago });
/** What happened to the calls, delivered after them. */
const OUTCOMES = [outcome(2, 'rejected'), outcome(3, 'passed'), outcome(4, 'failed'), outcome(6, 'answered')];

const ids = (rows: readonly LogRow[]) => rows.map((row) => row.id);
const ZERO = { total: 0, scanned: 0, blocked: 0, flagged: 0, legitimate: 0, challenged: 0, challengePassed: 0, challengeFailed: 0, forwarded: 0, forwardAnswered: 0, voicemail: 0, wouldBlock: 0 };

describe.each(BACKENDS)('the call log on %s', (_name, open) => {
  let backend: Backend;
  beforeEach(async () => {
    backend = await open(ACTOR, cleanups);
    await addTenant(backend.tenants, admin, 'acme');
    await addTenant(backend.tenants, admin, 'globex');
    await backend.tenants.addDid(ACME_DID as never, 'acme', NOW);
    await backend.tenants.addDid(GLOBEX_DID as never, 'globex', NOW);
    await backend.logCalls(CALLS);
  });

  it('lists with each filter, newest first, a row reading the same field for field', async () => {
    await backend.logCalls([], OUTCOMES);
    const { calls } = backend;
    expect(ids(await calls.list({}))).toEqual([8, 7, 6, 5, 4, 3, 2, 1]);
    expect(ids(await calls.list({ tenant: 'acme' }))).toEqual([7, 6, 4, 2, 1]);
    expect(ids(await calls.list({ tenants: ['globex', 'default'] }))).toEqual([8, 5, 3]);
    expect(ids(await calls.list({ tenants: [] }))).toEqual([]);
    expect(ids(await calls.list({ tenant: 'acme', tenants: ['globex'] }))).toEqual([]);
    expect(ids(await calls.list({ ruleId: 7 }))).toEqual([2]);
    expect(ids(await calls.list({ action: 'challenge' }))).toEqual([4, 3]);
    expect(ids(await calls.list({ since: NOW - HOUR }))).toEqual([8, 7, 6, 5, 4]);
    expect(ids(await calls.list({ until: NOW - HOUR }))).toEqual([3, 2, 1]);
    expect(ids(await calls.list({ did: ACME_DID }))).toEqual([7, 6, 4, 2, 1]);
    expect(ids(await calls.list({ caller: '+12125550005' }))).toEqual([5]);
    expect(ids(await calls.list({ outcome: 'passed' }))).toEqual([3]);
    expect(ids(await calls.list({ limit: 3 }))).toEqual([8, 7, 6]);
    expect(ids(await calls.list({ tenant: 'acme', since: NOW - 4 * HOUR, until: NOW - 15 * MINUTE, limit: 2 }))).toEqual([6, 4]);

    // Page by page through (time, id): every call once.
    const seen: number[] = [];
    let before: { at: number; id: number } | undefined;
    for (;;) {
      const page = await calls.list({ before, limit: 3 });
      seen.push(...ids(page));
      if (page.length < 3) break;
      before = { at: page.at(-1)!.at, id: page.at(-1)!.id };
    }
    expect(seen).toEqual([8, 7, 6, 5, 4, 3, 2, 1]);

    const blocked = await calls.byId(2);
    expect(blocked).toEqual({
      id: 2, at: NOW - 3 * HOUR, kind: 'call', source: 'freeswitch', pbx: 'fs-west', tenant: 'acme', did: ACME_DID, caller: '+12125550002', callerRaw: '2125550002',
      callerName: 'Robo', ip: '203.0.113.9', sipFrom: '"Robo" <sip:robo@spam.example>;tag=1', action: 'block', target: null, ruleId: 7, category: null,
      score: null, flagged: false, reasons: ['reason of call 2'], outcome: 'rejected', outcomeDetail: null,
    });
    expect(Object.keys(blocked!)).toEqual([
      'id', 'at', 'kind', 'source', 'pbx', 'tenant', 'did', 'caller', 'callerRaw', 'callerName', 'ip', 'sipFrom', 'action', 'target', 'ruleId', 'category', 'score', 'flagged', 'reasons', 'outcome', 'outcomeDetail',
    ]);
    expect(await calls.byId(5)).toMatchObject({ score: 60, flagged: true, callerRaw: '2125550005', callerName: null, outcome: null });
    expect(await calls.byId(7)).toMatchObject({ kind: 'sms', action: 'voicemail', outcome: null });
    expect(await calls.byId(99)).toBeUndefined();
    expect((await calls.lastTo(ACME_DID))?.id).toBe(7);
    expect((await calls.lastTo(GLOBEX_DID))?.id).toBe(5);
    expect(await calls.lastTo('+19995550000')).toBeUndefined();
  });

  it('counts and charts per hour, following outcomes delivered later and calls pruned', async () => {
    const { calls } = backend;
    const dayFrom = Math.floor(NOW / HOUR) * HOUR - 23 * HOUR;
    const busyHours = async () => (await calls.hourly({}, dayFrom, 24)).filter((bucket) => bucket.total > 0).map(({ at, ...counts }) => ({ hour: new Date(at).getUTCHours(), ...counts }));

    // Logged, no outcome yet: a challenge counts as neither blocked nor legitimate.
    expect(await calls.counters({})).toEqual({ ...ZERO, total: 8, scanned: 3, blocked: 1, flagged: 1, legitimate: 2, challenged: 2, forwarded: 1, voicemail: 1 });
    await backend.logCalls([], OUTCOMES);
    const everything = { ...ZERO, total: 8, scanned: 3, blocked: 2, flagged: 1, legitimate: 3, challenged: 2, challengePassed: 1, challengeFailed: 1, forwarded: 1, forwardAnswered: 1, voicemail: 1 };
    expect(await calls.counters({})).toEqual(everything);
    // The same outcomes delivered again (a batch whose acknowledgement was lost) change nothing.
    await backend.logCalls([], OUTCOMES);
    expect(await calls.counters({})).toEqual(everything);

    // Since 10:15: the part of the 10:00 hour counted call by call (call 3), the whole hours after it from the rollup.
    expect(await calls.counters({ since: NOW - 2 * HOUR - 15 * MINUTE })).toEqual({
      ...ZERO, total: 6, scanned: 2, blocked: 1, flagged: 1, legitimate: 2, challenged: 2, challengePassed: 1, challengeFailed: 1, forwarded: 1, forwardAnswered: 1, voicemail: 1,
    });
    expect(await calls.counters({ since: NOW - 4 * HOUR, tenant: 'acme' })).toEqual({ ...ZERO, total: 4, blocked: 2, challenged: 1, challengeFailed: 1, forwarded: 1, forwardAnswered: 1, voicemail: 1 });
    expect(await calls.counters({ tenants: ['globex', 'default'] })).toEqual({ ...ZERO, total: 3, scanned: 2, flagged: 1, legitimate: 2, challenged: 1, challengePassed: 1 });
    expect(await calls.counters({ tenants: [] })).toEqual(ZERO);
    expect(await calls.counters({ since: NOW + HOUR })).toEqual(ZERO);

    expect(await busyHours()).toEqual([
      { hour: 9, total: 1, blocked: 1, flagged: 0, legitimate: 0, other: 0 },
      { hour: 10, total: 1, blocked: 0, flagged: 0, legitimate: 1, other: 0 },
      { hour: 11, total: 2, blocked: 1, flagged: 1, legitimate: 0, other: 0 },
      { hour: 12, total: 3, blocked: 0, flagged: 0, legitimate: 1, other: 2 },
    ]);
    const acmeDay = await calls.hourly({ tenant: 'acme' }, dayFrom, 24);
    expect(acmeDay).toHaveLength(24);
    expect(acmeDay[0]).toEqual({ at: dayFrom, total: 0, blocked: 0, flagged: 0, legitimate: 0, other: 0 });
    expect(acmeDay.reduce((sum, bucket) => sum + bucket.total, 0)).toBe(4);
    expect((await calls.hourly({ tenants: [] }, dayFrom, 24)).every((bucket) => bucket.total === 0)).toBe(true);

    // Pruned past a day: call 1 goes, and with it what it counted for.
    await calls.setRetention('1d');
    expect(await calls.prune(NOW)).toBe(1);
    expect(await calls.prune(NOW)).toBe(0);
    expect(ids(await calls.list({}))).toEqual([8, 7, 6, 5, 4, 3, 2]);
    expect(await calls.counters({})).toEqual({ ...everything, total: 7, scanned: 2, legitimate: 2 });
    expect(await calls.counters({ tenant: 'acme' })).toEqual({ ...ZERO, total: 4, blocked: 2, challenged: 1, challengeFailed: 1, forwarded: 1, forwardAnswered: 1, voicemail: 1 });
    expect(await backend.rows('SELECT SUM(total) AS total FROM call_hours')).toEqual([{ total: 7 }]);
  });

  it('counts a call whose caller keyed in a number once, by its second screening; one who keyed none as blocked', async () => {
    const before = await backend.calls.counters({});
    const asked = (n: number) => call(n, MINUTE, { tenant: 'acme', did: ACME_DID as never, caller: null, callerKind: 'anonymous', action: 'identify', category: 'anonymous', score: 15 });
    const keyed = call(21, MINUTE, { tenant: 'acme', did: ACME_DID as never, caller: '+12125550021' as never, action: 'block', ruleId: 7, scope: 'global' });
    await backend.logCalls([asked(20), keyed, asked(22)], [outcome(20, 'identified'), outcome(21, 'rejected'), outcome(22, 'failed')]);
    const after = await backend.calls.counters({});
    expect({ total: after.total - before.total, blocked: after.blocked - before.blocked, scanned: after.scanned - before.scanned, challenged: after.challenged - before.challenged }).toEqual({
      total: 2,
      blocked: 2,
      scanned: 1,
      challenged: 0,
    });
    expect(await backend.rows('SELECT SUM(total) AS total FROM call_hours')).toEqual([{ total: after.total }]);
  });

  it('keeps the retention setting, audited, and refuses a duration it cannot read with nothing written', async () => {
    const { calls } = backend;
    expect(await calls.retention()).toBe('90d');
    await calls.setRetention('30d');
    await calls.setRetention('14d');
    await expect(calls.setRetention('soon')).rejects.toThrow('bad retention "soon": expected a duration such as 30d, 12h, 90m or 2w');
    await expect(calls.setRetention('0d')).rejects.toThrow('must be longer than zero');
    expect(await calls.retention()).toBe('14d');
    expect(await calls.prune(NOW)).toBe(0);
    expect(await calls.prune(NOW + 15 * 24 * HOUR)).toBe(8);
    expect(await calls.counters({})).toEqual(ZERO);
    expect(await backend.audit('setting')).toEqual([
      { actor: ACTOR, verb: 'add', entity: 'setting', key: 'log_retention' },
      { actor: ACTOR, verb: 'change', entity: 'setting', key: 'log_retention' },
    ]);
  });

  it('lists the audit trail newest first, from a moment, up to a limit', async () => {
    await new Promise((resolve) => setTimeout(resolve, 5)); // past the moment the tenants were added
    const started = Date.now();
    await backend.calls.setRetention('30d');
    await backend.calls.setRetention('14d');
    const trail = await backend.auditTrail.list(undefined);
    expect(trail.map((row) => `${row.verb} ${row.entity} ${row.key}`)).toEqual([
      'change setting log_retention',
      'add setting log_retention',
      `add did ${GLOBEX_DID}`,
      `add did ${ACME_DID}`,
      'add tenant globex',
      'add tenant acme',
    ]);
    expect(trail[0]).toMatchObject({ actor: ACTOR, before: '30d', after: '14d' });
    expect(trail[1]).toMatchObject({ before: null, after: '30d' });
    expect(trail.map((row) => row.id)).toEqual([...trail.map((row) => row.id)].sort((a, b) => b - a));
    expect(typeof trail[0]!.at).toBe('number');
    expect(await backend.auditTrail.list(undefined, 2)).toEqual(trail.slice(0, 2));
    expect((await backend.auditTrail.list(started)).map((row) => row.key)).toEqual(['log_retention', 'log_retention']);
    expect(await backend.auditTrail.list(Date.now() + HOUR)).toEqual([]);
  });

  it('gives the stats of the tenants the asker may see, refusing others and bad input by field', async () => {
    await backend.logCalls([], OUTCOMES);
    const stores = { calls: backend.calls, tenants: backend.tenants };
    const mine = await callStats(stores, acmeManager, {}, NOW);
    expect(mine).toMatchObject({ tenant: null, since: null, total: 5, blocked: 2 });
    expect(await callStats(stores, admin, { tenant: 'globex', since: '3h' }, NOW)).toEqual({ ...ZERO, tenant: 'globex', since: NOW - 3 * HOUR, total: 2, scanned: 2, flagged: 1, legitimate: 1, challenged: 1, challengePassed: 1 });
    await expect(callStats(stores, acmeManager, { tenant: 'globex' }, NOW)).rejects.toBeInstanceOf(Forbidden);
    const field = (work: Promise<unknown>) => work.then(() => 'accepted', (error: { field?: string }) => error.field);
    expect(await field(callStats(stores, admin, { tenant: 'nobody' }, NOW))).toBe('tenant');
    expect(await field(callStats(stores, admin, { since: 'lately' }, NOW))).toBe('since');
    expect(await field(hourlyStats(stores, admin, { hours: 12 }, NOW))).toBe('hours');

    const day = await hourlyStats(stores, acmeManager, { hours: '24' }, NOW);
    expect(day.buckets).toHaveLength(24);
    expect(day.buckets.at(-1)).toEqual({ at: NOW - 30 * MINUTE, total: 2, blocked: 0, flagged: 0, legitimate: 0, other: 2 });
    expect((await hourlyStats(stores, admin, { tenant: 'globex', hours: 168 }, NOW)).buckets.reduce((sum, bucket) => sum + bucket.total, 0)).toBe(2);
  });

  it("turns a logged call's caller into a rule for its tenant, and the newest caller to a DID", async () => {
    const byIp = await blockCaller(backend.rules, admin, (await backend.calls.byId(2))!, { by: 'ip', action: 'busy' }, 'US', NOW);
    expect(byIp).toMatchObject({ pattern: '203.0.113.9', scope: 'tenant:acme', action: 'busy' });
    const bySip = await blockCaller(backend.rules, admin, (await backend.calls.byId(2))!, { by: 'sip', scope: 'global', sms: true }, 'US', NOW);
    expect(bySip).toMatchObject({ pattern: 'robo@spam.example', scope: 'global', action: 'block' });
    const toVoicemail = await blockCaller(backend.rules, admin, (await backend.calls.byId(5))!, { by: 'number', action: 'voicemail:200' }, 'US', NOW);
    expect(await backend.rules.byId(toVoicemail.ruleId)).toMatchObject({ pattern: '+12125550005', action: 'voicemail', target: '200', scope: 'tenant:globex', note: 'from call 5' });
    const last = await blockLastCaller({ calls: backend.calls, rules: backend.rules }, admin, '404-555-0100', 'US');
    expect(last).toMatchObject({ pattern: '+12125550007', scope: 'tenant:acme', action: 'block' });
    expect(await backend.rules.byId(bySip.ruleId)).toMatchObject({ kind: 'sip', sms: true, note: 'from call 2' });

    await expect(blockLastCaller({ calls: backend.calls, rules: backend.rules }, admin, '+19995550000', 'US')).rejects.toThrow('no call to +19995550000 in the call log');
    await expect(blockCaller(backend.rules, admin, (await backend.calls.byId(4))!, { by: 'number' }, 'US')).rejects.toThrow('call 4 has no caller number (it was anonymous or invalid): try another --by');
    await expect(blockCaller(backend.rules, acmeManager, (await backend.calls.byId(3))!, { by: 'number' }, 'US')).rejects.toBeInstanceOf(Forbidden);
    await expect(blockCaller(backend.rules, admin, (await backend.calls.byId(3))!, { by: 'number', action: 'explode' }, 'US')).rejects.toThrow('unknown action "explode"');
    expect(await backend.count('rules')).toBe(4);
    expect((await backend.audit('rule')).map((row) => row.actor)).toEqual([ACTOR, ACTOR, ACTOR, ACTOR]);
  });
});

describe("an agent of a fleet's newest call to a DID", () => {
  const row = (id: number, at: number) => ({ id, at }) as LogRow;
  const lastOf = (own: LogRow | undefined, fleet: LogRow | undefined) =>
    new FleetLastCall({ lastTo: async () => own }, { lastTo: async () => fleet }).lastTo(ACME_DID);

  it('is its own call not yet in PostgreSQL when that is newer, else the one PostgreSQL has', async () => {
    expect(await lastOf(row(3, 2_000), row(40, 1_000))).toEqual(row(3, 2_000));
    expect(await lastOf(row(3, 1_000), row(40, 1_000))).toEqual(row(40, 1_000)); // the same call, delivered: PostgreSQL's id
    expect(await lastOf(row(3, 1_000), row(41, 2_000))).toEqual(row(41, 2_000)); // another agent's, newer
    expect(await lastOf(undefined, row(41, 2_000))).toEqual(row(41, 2_000));
    expect(await lastOf(row(3, 1_000), undefined)).toEqual(row(3, 1_000));
    expect(await lastOf(undefined, undefined)).toBeUndefined();
  });
});

describe('store copy and the hourly rollup', () => {
  it('leaves call_hours as the copied calls make it, SQLite to PostgreSQL and back', async () => {
    const dir = makeTempDir('callguard-call-hours-copy-');
    cleanups.push(() => dir.remove());
    const [original, back] = [dir.file('original.db'), dir.file('back.db')];
    const db = openDatabase(original);
    logToSqlite(db, CALLS, OUTCOMES);
    db.close();
    const url = await freshDatabase();
    await copyBetween(original, url);
    await copyBetween(url, back);

    // Summed per hour and tenant: PostgreSQL's rows are kept per writing session as well.
    const HOURS = `SELECT tenant, hour, SUM(total) AS total, SUM(scanned) AS scanned, SUM(blocked) AS blocked, SUM(flagged) AS flagged, SUM(legitimate) AS legitimate,
                          SUM(challenged) AS challenged, SUM(challenge_passed) AS passed, SUM(challenge_failed) AS failed, SUM(forwarded) AS forwarded,
                          SUM(forward_answered) AS answered, SUM(voicemail) AS voicemail
                     FROM call_hours GROUP BY hour, tenant ORDER BY hour, tenant`;
    const hoursOf = (path: string) => withDatabase(path, (file) => file.prepare(HOURS).all());
    const pool = new Pool({ connectionString: url, max: 1, types: numericTypes });
    cleanups.push(() => pool.end());
    expect(hoursOf(original)).toHaveLength(7); // an hour and tenant each
    expect((await pool.query(HOURS)).rows).toEqual(hoursOf(original));
    expect(hoursOf(back)).toEqual(hoursOf(original));
  });
});
