import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Database } from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { decide } from '../agent/engine/decide';
import { parsePattern } from '../agent/engine/patterns';
import type { CallFacts, Decision } from '../agent/engine/types';
import { decideWithReputation } from '../agent/screening/decide-with-reputation';
import { ReputationClient, readScore } from '../agent/screening/reputation';
import { CallLog } from '../agent/store/call-log';
import { CallLogQueries } from '../agent/store/call-log-queries';
import { CategoryStore } from '../agent/store/categories';
import { openDatabase } from '../agent/store/database';
import { SqliteDecisionStore } from '../agent/store/decision-view';
import { ProtectionStore } from '../agent/store/protection';
import { RuleStore } from '../agent/store/rules';
import { SqliteReputationBackend } from '../agent/store/sqlite-reputation-backend';
import { readCarrierPrefixes } from '../agent/cli/carriers';
import { cliFor } from './helpers/run-cli';

let dir: string;
let db: Database;
let protection: ProtectionStore;
let store: SqliteDecisionStore;
const NOW = Date.parse('2026-11-21T12:00:00Z');
const DID = '+15551230000';

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'callguard-protection-'));
  db = openDatabase(join(dir, 'p.db'));
  protection = new ProtectionStore(db);
  store = new SqliteDecisionStore(db);
  // Points from one signal at a time: every other signal at zero unless a test sets it.
  for (const key of ['attestation_a', 'attestation_b', 'attestation_c', 'attestation_failed', 'attestation_missing', 'invalid_number', 'neighbor']) protection.tune(key, '0');
});

afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const on = (threshold = 70, flagThreshold: number | null = null, action: 'block' | 'challenge' | 'voicemail' = 'block', scope = 'global') =>
  protection.set({ scope, enabled: true, threshold, flagThreshold, action });

const call = (from: string, extra: Partial<CallFacts> = {}, now = NOW): Decision => decide({ kind: 'call', from, to: DID, ...extra }, store, { country: 'US', now });

/** A past call in the log, as the agent would have written it. */
function logged(caller: string, at: number, outcome: string | null = 'continued', did = DID): void {
  db.prepare(
    `INSERT INTO calls (uid, at, kind, source, tenant, did, caller, action, reasons, outcome) VALUES (?, ?, 'call', 'test', 'default', ?, ?, ?, '[]', ?)`,
  ).run(`${caller}-${at}-${Math.random()}`, at, did, caller, outcome === 'passed' || outcome === 'failed' ? 'challenge' : 'allow', outcome);
}

describe('each signal on its own', () => {
  beforeEach(() => on(10));

  it('STIR/SHAKEN attestation: A lowers, B a little up, C, failed and missing raise', () => {
    protection.tune('attestation_a', '-20');
    protection.tune('attestation_b', '10');
    protection.tune('attestation_c', '30');
    protection.tune('attestation_failed', '40');
    protection.tune('attestation_missing', '15');
    protection.tune('neighbor', '50');
    const neighbour = '+15551239876';
    expect(call(neighbour, { attestation: 'A' }).score).toBe(30);
    expect(call(neighbour, { attestation: 'B' }).score).toBe(60);
    expect(call(neighbour, { attestation: 'C' }).score).toBe(80);
    expect(call(neighbour, { attestation: 'failed' }).score).toBe(90);
    expect(call(neighbour).score).toBe(65);
    expect(call(neighbour, { attestation: 'A' }).signals).toEqual([
      { signal: 'attestation', points: -20, why: expect.stringMatching(/full attestation/) },
      { signal: 'neighbor', points: 50, why: expect.stringMatching(/neighbour spoofing/) },
    ]);
  });

  it('an invalid or impossible number', () => {
    protection.tune('invalid_number', '40');
    expect(call('not a number').signals).toEqual([{ signal: 'invalid_number', points: 40, why: expect.stringMatching(/not a phone number/) }]);
    expect(call('+1 999 555 1234').signals.map((s) => s.signal)).toEqual(['invalid_number']); // area code 999 is not in service
    expect(call('+1 404 155 1234').signals.map((s) => s.signal)).toEqual(['invalid_number']); // no exchange starts with 1
    expect(call('+1 404 555 1234').signals).toEqual([]);
  });

  it('neighbour spoofing: same area code and exchange as the DID', () => {
    protection.tune('neighbor', '25');
    expect(call('+15551239999').score).toBe(25);
    expect(call('+15552239999').score).toBe(0);
  });

  it('velocity: many calls, or many DIDs, within the window (edges included)', () => {
    for (let i = 0; i < 4; i++) logged('+14045551234', NOW - 60_000 * (i + 1), 'continued', `+1555123000${i}`);
    expect(call('+14045551234').signals.map((s) => s.signal)).toEqual(['velocity_dids']);
    logged('+14045551234', NOW - 600_000); // exactly at the edge of the 10 min window: counted
    expect(call('+14045551234').signals.map((s) => s.signal)).toEqual(['velocity_calls', 'velocity_dids']);
    expect(call('+14045551234').score).toBe(45);
    expect(call('+14045551234', {}, NOW + 1).signals.map((s) => s.signal)).toEqual(['velocity_dids']); // one ms later it is outside
  });

  it('history: failed challenges raise (up to two), passed ones lower', () => {
    logged('+14045551234', NOW - 86_400_000, 'failed');
    expect(call('+14045551234').score).toBe(15);
    logged('+14045551234', NOW - 2 * 86_400_000, 'failed');
    logged('+14045551234', NOW - 3 * 86_400_000, 'failed');
    expect(call('+14045551234').score).toBe(30);
    logged('+14045551234', NOW - 3600_000, 'passed');
    expect(call('+14045551234').score).toBe(5);
    logged('+14045551234', NOW - 40 * 86_400_000, 'failed'); // outside 30 days
    expect(call('+14045551234').signals.find((s) => s.signal === 'failed_challenges')?.points).toBe(30);
  });
});

describe('thresholds and flags', () => {
  beforeEach(() => protection.tune('neighbor', '0'));

  it.each([
    [69, 'allow'],
    [70, 'block'],
    [71, 'block'],
  ] as const)('score %i against threshold 70 → %s', (score, action) => {
    on(70, 50);
    protection.tune('attestation_missing', String(score));
    const decision = call('+14045551234');
    expect(decision).toMatchObject({ score, action, flagged: action === 'allow' });
  });

  it('below the flag threshold the call goes through unmarked; the action is the tenant’s', () => {
    on(70, 50, 'challenge');
    protection.tune('attestation_missing', '49');
    expect(call('+14045551234')).toMatchObject({ action: 'allow', flagged: false, score: 49 });
    protection.tune('attestation_missing', '50');
    expect(call('+14045551234')).toMatchObject({ action: 'allow', flagged: true });
    protection.tune('attestation_missing', '80');
    expect(call('+14045551234')).toMatchObject({ action: 'challenge', flagged: false, scope: 'global' });
  });

  it('a tenant setting overrides the global one; protection off scores nothing', () => {
    protection.tune('attestation_missing', '80');
    expect(call('+14045551234')).toMatchObject({ action: 'allow', score: null });
    on(70);
    expect(call('+14045551234').action).toBe('block');
    db.prepare("INSERT INTO tenants (name, created_at) VALUES ('acme', 0)").run();
    db.prepare("INSERT INTO dids (number, tenant, created_at) VALUES (?, 'acme', 0)").run(DID);
    protection.set({ scope: 'tenant:acme', enabled: false, threshold: 70, flagThreshold: null, action: 'block' });
    expect(call('+14045551234')).toMatchObject({ action: 'allow', score: null, tenant: 'acme' });
  });
});

describe('carrier rules', () => {
  beforeEach(() => on(70));

  it('match case-insensitive substrings of the signalled carrier', () => {
    const id = protection.addCarrier('global', 'Bandwidth');
    expect(call('+14045551234', { carrier: 'Bandwidth, Inc.' })).toMatchObject({ action: 'block', score: null });
    expect(call('+14045551234', { carrier: 'BANDWIDTH.COM CLEC' }).reasons.join(' ')).toContain(`carrier rule #${id} "bandwidth"`);
    expect(call('+14045551234', { carrier: 'Level 3' }).action).toBe('allow');
  });

  it('fall back to the imported prefix table, longest prefix first', () => {
    protection.addCarrier('global', 'voip innovations');
    const nanpa = join(dir, 'nanpa.txt');
    writeFileSync(nanpa, 'State\tNPA-NXX\tOCN\tCompany\tRateCenter\nGA\t404-555\t1234\tAT&T Georgia\tATLANTA\n');
    const blocks = join(dir, 'blocks.txt');
    writeFileSync(blocks, 'State\tNPA-NXX-X\tOCN\tCompany\tRateCenter\nGA\t404-555-1\t9\tVoIP Innovations LLC\tATLANTA\n');
    protection.replacePrefixes([...readCarrierPrefixes(nanpa, 'US'), ...readCarrierPrefixes(blocks, 'US')]);
    expect(call('+14045551234').action).toBe('block'); // +14045551 → VoIP Innovations
    expect(call('+14045552234').action).toBe('allow'); // +1404555 → AT&T
    expect(call('+14045551234', { carrier: 'AT&T' }).action).toBe('allow'); // a signalled carrier wins
    const csv = join(dir, 'plain.csv');
    writeFileSync(csv, 'prefix,carrier\n+1404555,Voip Innovations\n');
    expect(readCarrierPrefixes(csv, 'US')).toEqual([['+1404555', 'Voip Innovations']]);
  });

  it('come after allow rules and before the score', () => {
    protection.addCarrier('global', 'bandwidth');
    new RuleStore(db).add([{ ...parsePattern('+14045551234', 'US'), scope: 'global', action: 'allow', target: null, sms: false, note: null, list: null, expiresAt: null }]);
    expect(call('+14045551234', { carrier: 'Bandwidth' })).toMatchObject({ action: 'allow', score: null, ruleId: 1 });
    expect(call('+14045559999', { carrier: 'Bandwidth' })).toMatchObject({ action: 'block', score: null });
    new CategoryStore(db).set('global', 'international', 'voicemail');
    expect(call('+442079460000', { carrier: 'Bandwidth' })).toMatchObject({ action: 'voicemail', category: 'international' });
  });
});

describe('a reputation source', () => {
  /** `hold`: answered only once the test has its decision (a service slower than any timeout, for certain). */
  let answer: (url: string) => { status: number; body: string; hold?: boolean };
  let url: string;
  let server: ReturnType<typeof createServer>;
  const held: (() => void)[] = [];
  afterEach(() => {
    for (const reply of held.splice(0)) reply();
  });
  beforeAll(async () => {
    server = createServer((request, response) => {
      const { status, body, hold = false } = answer(request.url ?? '');
      const reply = () => void response.writeHead(status).end(body);
      if (hold) held.push(reply);
      else reply();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/score?n={number}`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));
  /** The longest timeout there is by default: only what the service does (answers, fails, or is held) decides the signal, not how quickly a busy machine gets its answer across. */
  const source = async (timeoutMs = 10_000) => {
    const sources = new SqliteReputationBackend(db, 'test');
    await sources.remove('rep');
    await sources.add({ name: 'rep', url, timeoutMs, weight: 0.5 }, null);
  };
  beforeEach(async () => {
    on(70);
    await source();
  });

  // A client that waits as long as the source says (an agent's cuts it to fit its decision limit).
  const withReputation = (from: string) => decideWithReputation({ kind: 'call', from, to: DID }, store, { country: 'US', now: NOW }, new ReputationClient({ budgetMs: 10_000 }));

  it('adds its weighted score, with the number URL-encoded', async () => {
    let asked = '';
    answer = (path) => ((asked = path), { status: 200, body: '{"score": 90}' });
    const decision = await withReputation('+14045551234');
    expect(asked).toBe('/score?n=%2B14045551234');
    expect(decision.signals).toEqual([{ signal: 'reputation:rep', points: 45, why: expect.stringMatching(/90\/100/) }]);
  });

  it.each([
    ['times out', { status: 200, body: '95', hold: true, timeoutMs: 100 }, /no answer within 100 ms/],
    ['errors', { status: 503, body: 'down' }, /HTTP 503/],
    ['returns garbage', { status: 200, body: '{"score": "lots"}' }, /no score/],
    ['returns an out-of-range score', { status: 200, body: '250' }, /no score/],
  ])('when it %s the call is scored without it, and explain says so', async (_, reply, why) => {
    if ('timeoutMs' in reply) await source(reply.timeoutMs);
    answer = () => reply;
    // How soon is a figure for `npm run bench`; here, that it is decided at all while a held answer is
    // still held, and why (the client's own timeout, named in the signal).
    const decision = await withReputation('+14045551234');
    expect(decision.score).toBe(0);
    expect(decision.signals).toEqual([{ signal: 'reputation:rep', points: 0, why: expect.stringMatching(why) }]);
    expect(decision.reasons.join(' ')).toMatch(/scored without it/);
  });

  it('is not asked for callers an allow rule lets through', async () => {
    let asked = 0;
    answer = () => (asked++, { status: 200, body: '99' });
    new RuleStore(db).add([{ ...parsePattern('+14045551234', 'US'), scope: 'global', action: 'allow', target: null, sms: false, note: null, list: null, expiresAt: null }]);
    await withReputation('+14045551234');
    expect(asked).toBe(0);
  });

  it('reads the usual answer shapes', () => {
    expect([readScore('{"score":12}'), readScore('{"risk": 7.5}'), readScore('33'), readScore('"44"'), readScore('<html>'), readScore('-3')]).toEqual([12, 7.5, 33, 44, null, null]);
  });
});

describe('call log counters', () => {
  it('count a known sequence of calls', async () => {
    const log = new CallLog(db);
    const rules = new RuleStore(db);
    const add = (pattern: string, action: 'block' | 'challenge' | 'forward' | 'voicemail' | 'busy', target: string | null = null) =>
      rules.add([{ ...parsePattern(pattern, 'US'), scope: 'global', action, target, sms: false, note: null, list: null, expiresAt: null }]);
    add('201*', 'block');
    add('202*', 'challenge');
    add('203*', 'forward', '+13125550100');
    add('205*', 'voicemail');
    add('206*', 'busy');
    on(70, 30);
    protection.tune('neighbor', '40');
    const sequence: [string, string | null][] = [
      ['+12015550101', 'rejected'],
      ['+12025550101', 'passed'],
      ['+12025550102', 'failed'],
      ['+12035550101', 'answered'],
      ['+12055550101', 'voicemail'],
      ['+12065550101', 'rejected'],
      ['+15551239999', 'continued'], // neighbour: flagged
      ['+14045550101', 'continued'], // legitimate, scanned
    ];
    sequence.forEach(([from, outcome], i) => {
      const decision = call(from);
      log.record({ uid: `u${i}`, at: NOW - 1000 + i, source: 'test', pbx: null, channel: null, facts: { kind: 'call', from, to: DID }, decision, decidedUs: 1 });
      if (outcome) log.finish(`u${i}`, { outcome: outcome as never, detail: null });
    });
    log.flush();
    const queries = new CallLogQueries(db);
    expect(queries.counters({})).toEqual({
      total: 8,
      scanned: 2,
      blocked: 3,
      flagged: 1,
      legitimate: 2,
      challenged: 2,
      challengePassed: 1,
      challengeFailed: 1,
      forwarded: 1,
      forwardAnswered: 1,
      voicemail: 1,
      wouldBlock: 0,
    });
    expect(queries.list({ ruleId: 2 }).map((row) => row.outcome)).toEqual(['failed', 'passed']);
    expect(queries.counters({ since: NOW - 1000 + 6 }).total).toBe(2);
    queries.setRetention('1d');
    logged('+14045550000', NOW - 2 * 86_400_000);
    expect(queries.prune(NOW)).toBe(1);
    expect(queries.counters({}).total).toBe(8);
  });
});

describe('the CLI refuses bad protection settings with exit 2 and writes nothing', () => {
  it.each([
    [['protection', 'on', '--threshold', '9'], /threshold "9": expected a whole number from 10 to 100/],
    [['protection', 'on', '--threshold', '101'], /from 10 to 100/],
    [['protection', 'on', '--threshold', '50', '--flag-threshold', '51'], /flag threshold 51 is above the threshold 50/],
    [['protection', 'on', '--action', 'busy'], /expected block, challenge or voicemail/],
    [['protection', 'on', '--tenant', 'nobody'], /unknown tenant "nobody"/],
    [['protection', 'tune', 'velocity_window', 'soon'], /bad velocity_window/],
    [['protection', 'tune', 'no_such', '1'], /unknown score setting/],
    [['protection', 'tune', 'reputation_url', 'https://x/{number}'], /reputation_url is no longer a score setting: reputation services are sources now/],
    [['carriers', 'add', 'x'], /bad carrier pattern/],
    [['rules', 'import', '--format', 'xml', 'file.csv'], /unknown import format/],
  ])('%j', (args, message) => {
    const path = join(dir, 'cli.db');
    const cli = cliFor(path);
    const result = cli(...args);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(cli('protection', 'show', '--json').stdout).toContain('"enabled": false');
  });

  it('imports the FTC complaint CSV into a list, deduplicated, keeping the other columns as the note', () => {
    const path = join(dir, 'ftc.db');
    const file = join(dir, 'ftc.csv');
    writeFileSync(
      file,
      'Company_Phone_Number,Created_Date,Violation_Date,Consumer_State,Subject,Recorded_Message_Or_Robocall\n' +
        '404-555-1234,2026-11-01,2026-10-30,GA,Medicare & prescriptions,Y\n' +
        '(404) 555-1234,2026-11-02,2026-11-01,GA,Medicare,Y\n' +
        ',2026-11-02,2026-11-01,FL,No number,N\n' +
        '212-555-0100,2026-11-03,2026-11-02,NY,"Warranties, auto",N\n',
    );
    const cli = cliFor(path);
    const result = cli('rules', 'import', '--format', 'ftc', file);
    expect(result.stdout).toBe(`imported 2 rule(s) from ${file}; skipped 2 row(s) without a new, complete number\n`);
    const rules = JSON.parse(cli('rules', 'list', '--json').stdout) as { key: string; list: string; action: string; note: string }[];
    expect(rules.map((rule) => [rule.key, rule.list, rule.action])).toEqual([
      ['+14045551234', 'ftc-dnc', 'block'],
      ['+12125550100', 'ftc-dnc', 'block'],
    ]);
    expect(rules[1]!.note).toBe('Created_Date: 2026-11-03; Violation_Date: 2026-11-02; Consumer_State: NY; Subject: Warranties, auto; Recorded_Message_Or_Robocall: N');
  });
});
