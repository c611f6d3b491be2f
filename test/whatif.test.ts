// `callguard whatif`: logged calls replayed through the real engine as things are and with a
// proposed change. The log is built by real screening through the FreeSWITCH simulator (real
// modesl, real sockets), with robocall protection scoring every call (velocity, challenge
// history, a reputation service, remembered passes), so that a replay of "no change" must
// give back every logged decision exactly.
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync, existsSync, statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BadInput } from '../agent/engine/bad-input';
import { cliActing } from '../agent/operations/acting';
import { setCategory } from '../agent/operations/categories';
import { rememberPasses } from '../agent/operations/challenge-memory';
import { NotFound } from '../agent/operations/acting';
import { setProtection, tuneScore } from '../agent/operations/protection';
import { addSource } from '../agent/operations/reputation';
import { addRules } from '../agent/operations/rules';
import { sqliteBackends } from '../agent/operations/store-backends';
import type { Backends } from '../agent/operations/store-backends';
import { addDid, addTenant, setTenantMode } from '../agent/operations/tenants';
import { whatIf } from '../agent/operations/whatif';
import { tallyInThreads } from '../agent/operations/whatif-threads';
import { openDatabase } from '../agent/store/database';
import { FreeSwitchOutboundServer } from '../agent/pbx/freeswitch/outbound-server';
import { DEFAULT_FREESWITCH } from '../agent/pbx/settings';
import { loggedCallPages } from '../agent/replay/logged-call-pages';
import { NO_CHANGE } from '../agent/replay/proposal';
import { replay } from '../agent/replay/replay';
import type { Replayed } from '../agent/replay/replay';
import { PATIENCE_MS, screeningWorld } from './helpers/screening';
import type { ScreeningWorld } from './helpers/screening';
import { runCli } from './helpers/run-cli';
import { FreeSwitchSim } from './sim/freeswitch';

const ACTING = cliActing('test');
const DIDS = ['15551230000', '15551230001', '15551230002'];

let world: ScreeningWorld;
let sim: FreeSwitchSim;
let server: FreeSwitchOutboundServer;
let reputation: Server;
let backends: Backends;
let allowRuleId: number;
let placed = 0;

/** A reputation service: a number ending in 7 is a known robocaller (90), the rest are clean (10). */
function startReputation(): Promise<Server> {
  const service = createServer((request, response) => response.end(JSON.stringify({ score: decodeURIComponent(request.url ?? '').endsWith('7') ? 90 : 10 })));
  return new Promise((resolve) => service.listen(0, '127.0.0.1', () => resolve(service)));
}

/** One call through the simulator, to its end; the log written before the next (as time passing would). */
async function call(caller: string, did: string, digits = '') {
  placed++;
  const result = await sim.placeOutboundCall('127.0.0.1', server.port, { callerIdNumber: caller, callerIdName: 'Caller', destinationNumber: did, digits }).done;
  world.log.flush();
  return result;
}

beforeAll(async () => {
  world = screeningWorld({ challenge: { digit: '1', timeoutMs: 300, tries: 1 } });
  sim = new FreeSwitchSim({ password: 'ClueCon' });
  await sim.start();
  server = new FreeSwitchOutboundServer({ host: '127.0.0.1', port: 0 }, { screener: world.screener, logger: world.logger, settings: DEFAULT_FREESWITCH });
  await server.start();
  reputation = await startReputation();
  backends = sqliteBackends(world.db).as('test');
  await addTenant(backends.tenants, ACTING, 'acme');
  await addDid(backends.tenants, ACTING, DIDS[1]!, 'acme', 'US');
  await setProtection(backends, ACTING, { enabled: true, threshold: 45, flagThreshold: 25, action: 'challenge' });
  await addSource(backends, ACTING, { name: 'known', url: `http://127.0.0.1:${(reputation.address() as AddressInfo).port}/{number}`, timeoutMs: 200, weight: 0.5 });
  await tuneScore(backends, ACTING, 'velocity_calls', '3');
  await rememberPasses(backends, ACTING, { duration: '1h', tenant: 'acme' });
  await addRules(backends.rules, ACTING, { patterns: '404-555*', action: 'block' }, 'US');
  allowRuleId = (await addRules(backends.rules, ACTING, { patterns: '+12125550100', action: 'allow' }, 'US'))[0]!.id;
  await setCategory(backends, ACTING, { category: 'toll_free', action: 'block' });

  // Callers: a blocked prefix, an allowed number, a robocaller (reputation 90), repeat callers that pass or fail challenges.
  const script: [string, string, string?][] = [
    ['+14045550001', DIDS[0]!],
    ['+12125550100', DIDS[0]!],
    ['+18005550199', DIDS[1]!],
    ['+13125550107', DIDS[0]!, '1'], // scored 15 + 45: challenged, passes
    ['+13125550107', DIDS[1]!, '1'], // acme: challenged again, passes (remembered from now on in acme)
    ['+13125550107', DIDS[1]!], // a pass remembered: through without a challenge
    ['+13125550107', DIDS[2]!, '9'], // velocity and DIDs: challenged, fails
    ['+13125550107', DIDS[0]!],
    ['+16175550111', DIDS[0]!],
    ['+16175550111', DIDS[1]!],
    ['+16175550111', DIDS[2]!],
    ['+16175550111', DIDS[0]!, '1'],
    ['+16175550111', DIDS[0]!, '1'],
    ['+17135550127', DIDS[2]!], // robocaller: challenged, no key
    ['+17135550127', DIDS[2]!, '9'],
    ['+17135550127', DIDS[1]!],
    ['+19175550147', DIDS[1]!, '9'], // robocaller at acme: challenged, fails
    ['+19175550147', DIDS[1]!, '1'], // challenged again, passes
    ['+19175550147', DIDS[1]!], // still over the threshold, but acme remembers the pass: through
    ['anonymous', DIDS[0]!],
    ['+12125550100', DIDS[1]!],
  ];
  for (const [caller, did, digits] of script) await call(caller, did, digits);
}, 4 * PATIENCE_MS);

afterAll(async () => {
  await server?.stop(200);
  await sim?.close();
  await new Promise((resolve) => reputation?.close(resolve));
  world?.close();
});

async function replayAll(): Promise<Replayed[]> {
  const replayed: Replayed[] = [];
  await replay(await backends.replayTables(), loggedCallPages(backends.calls), { from: 0, until: Date.now() + 1 }, NO_CHANGE, (one) => void replayed.push(one), 'US');
  return replayed;
}

describe('a replay of the log with no change', () => {
  it('gives back every logged decision exactly: action, rule, category, score and flag', async () => {
    const replayed = await replayAll();
    const rows = world.db.prepare('SELECT id, action, rule_id AS ruleId, category, score, flagged, outcome FROM calls ORDER BY at, id').all() as {
      id: number; action: string; ruleId: number | null; category: string | null; score: number | null; flagged: number; outcome: string | null;
    }[];
    expect(rows).toHaveLength(placed);
    expect(replayed.map((one) => one.call.id)).toEqual(rows.map((row) => row.id));
    const differing = replayed
      .map((one, i) => ({ id: rows[i]!.id, logged: rows[i]!, replayed: { action: one.before.action, ruleId: one.before.ruleId, category: one.before.category, score: one.before.score, flagged: one.before.flagged ? 1 : 0 } }))
      .filter(({ logged, replayed: again }) => logged.action !== again.action || logged.ruleId !== again.ruleId || logged.category !== again.category || logged.score !== again.score || logged.flagged !== again.flagged);
    expect(differing).toEqual([]);
    // "After" with no change is "before", call for call.
    expect(replayed.filter((one) => JSON.stringify(one.after) !== JSON.stringify(one.before))).toEqual([]);
    expect(replayed.every((one) => one.complete)).toBe(true);

    // The log held what makes a replay hard: every kind of signal, as it stood at each call.
    const signals = new Set(replayed.flatMap((one) => one.before.signals.map((signal) => signal.signal)));
    expect([...signals].sort()).toEqual(expect.arrayContaining(['attestation', 'failed_challenges', 'passed_challenges', 'reputation:known', 'velocity_calls', 'velocity_dids']));
    expect(new Set(rows.map((row) => row.outcome))).toEqual(new Set(['rejected', 'continued', 'passed', 'failed']));
    expect(rows.some((row) => row.flagged === 1)).toBe(true);
    expect(replayed.some((one) => one.before.reasons.some((reason) => reason.includes("the pass is remembered until")))).toBe(true);
  });
});

describe('whatif with a proposal', () => {
  it('a lower threshold: what it would have changed, by tenant and DID, and the calls at risk', async () => {
    const report = await whatIf(backends, ACTING, { threshold: 20, flagThreshold: 10 }, 'US');
    expect(report.calls).toBe(placed);
    expect(report.changed).toBeGreaterThan(0);
    expect(report.changes).toEqual(['protection for every tenant: on, threshold 20, flag from 10, challenge']);
    const total = report.transitions.reduce((sum, transition) => sum + transition.calls, 0);
    expect(total).toBe(report.changed);
    for (const transition of report.transitions) {
      expect(transition.before).not.toBe(transition.after);
      expect(transition.where.reduce((sum, place) => sum + place.calls, 0)).toBe(transition.calls);
    }
    // Nothing changed since the calls: things as they are decide every call as the log says.
    expect(report.decidedOtherwiseSince).toBe(0);
    expect(report.withoutFacts).toBe(0);
  });

  it('an added rule that would block a number an allow rule lets through now: at risk, named as allowed by a rule', async () => {
    const report = await whatIf(backends, ACTING, { add: ['+1 212-555*=block'], remove: [`#${allowRuleId}`], list: true }, 'US');
    expect(report.changes).toEqual(['add +1 212-555* = block (every tenant)', `remove rule #${allowRuleId} (+12125550100 = allow)`]);
    expect(report.transitions.map((transition) => `${transition.before}>${transition.after}:${transition.calls}`)).toEqual(['allow>block:2']);
    expect(report.atRisk.calls).toBe(2);
    expect(report.atRisk.allowedByRule).toBe(2);
    expect(report.atRisk.list.map((call) => call.caller)).toEqual(['+12125550100', '+12125550100']);
    expect(report.list!.map((call) => call.risk)).toEqual(['allowed by a rule', 'allowed by a rule']);
    expect(report.topCallers).toEqual([{ caller: '+12125550100', calls: 2 }]);
  });

  it('a proposed caller-name rule, written as the rules file writes it: every call it would now stop, none a number rule decides', async () => {
    const report = await whatIf(backends, ACTING, { add: ['name:CALL*=block'], list: true }, 'US');
    expect(report.changes).toEqual(['add name:CALL* = block (every tenant)']);
    expect(report.changed).toBeGreaterThan(0);
    expect(report.list!.every((call) => call.after === 'block')).toBe(true);
    // A number rule (404-555* block, +12125550100 allow) outranks every name rule.
    expect(report.list!.map((call) => call.caller)).not.toContain('+14045550001');
    expect(report.list!.map((call) => call.caller)).not.toContain('+12125550100');
    const words = await whatIf(backends, ACTING, { add: ['name-word:caller=block'] }, 'US');
    expect(words.changed).toBe(report.changed);
    await expect(whatIf(backends, ACTING, { add: ['name:*=block'] }, 'US')).rejects.toMatchObject({ field: 'add', message: expect.stringMatching(/nothing but \*/) });
  });

  it('one tenant: only its calls, with its own setting tried', async () => {
    const report = await whatIf(backends, ACTING, { tenant: 'acme', categories: ['toll_free=allow'] }, 'US');
    const acmeCalls = (world.db.prepare("SELECT COUNT(*) FROM calls WHERE tenant = 'acme'").pluck().get() as number);
    expect(report.calls).toBe(acmeCalls);
    expect(report.changes).toEqual(['toll_free callers of tenant acme: allow']);
    expect(report.transitions.map((transition) => `${transition.before}>${transition.after}`)).toEqual(['block>allow']);
  });

  it('refuses bad input with one clear error naming the field, and reads nothing it cannot check', async () => {
    const refused = async (input: Parameters<typeof whatIf>[2], field: string, message: RegExp, now?: number) => {
      const error = await whatIf(backends, ACTING, input, 'US', now).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(BadInput);
      expect((error as BadInput).field).toBe(field);
      expect((error as Error).message).toMatch(message);
    };
    await refused({ categories: ['bogus=block'] }, 'category', /unknown category "bogus"/);
    await refused({ categories: ['anonymous'] }, 'category', /expected anonymous=block/);
    await refused({ add: ['not a number=block'] }, 'add', /pattern|number/);
    await refused({ add: ['404*=explode'] }, 'action', /unknown action "explode"/);
    await refused({ threshold: 5 }, 'threshold', /10 to 100/);
    await refused({ tenant: 'nobody', threshold: 50 }, 'tenant', /nobody/);
    await refused({ since: 'soon', threshold: 50 }, 'since', /duration/);
    const nothing = await whatIf(backends, ACTING, {}, 'US').catch((caught: unknown) => caught);
    expect(nothing).toBeInstanceOf(BadInput);
    expect((nothing as Error).message).toMatch(/^nothing to try/);
    await refused({ threshold: 50 }, 'since', /no calls were logged/, Date.now() + 30 * 86_400_000);
    const missing = await whatIf(backends, ACTING, { remove: ['#99999'] }, 'US').catch((caught: unknown) => caught);
    expect(missing).toBeInstanceOf(NotFound);
  });

  it('with protection off for a tenant, a threshold alone is refused: it would try nothing', async () => {
    await setProtection(backends, ACTING, { tenant: 'acme', enabled: false });
    try {
      const error = await whatIf(backends, ACTING, { tenant: 'acme', threshold: 30 }, 'US').catch((caught: unknown) => caught);
      expect((error as BadInput).field).toBe('protection');
      const tried = await whatIf(backends, ACTING, { tenant: 'acme', threshold: 30, protection: 'on' }, 'US');
      expect(tried.changes[0]).toMatch(/^protection for tenant acme: on, threshold 30/);
    } finally {
      await setProtection(backends, ACTING, { tenant: 'acme', enabled: true });
    }
  });
});

describe('a replay split between threads', () => {
  /** The backends with the split watched: the moments it cut the period at. */
  function watchedSplit(cuts: number[][]): Parameters<typeof whatIf>[0] {
    const split = backends.replaySplit!;
    const watched = { file: split.file, boundaries: async (...args: Parameters<typeof split.boundaries>) => cuts[cuts.push(await split.boundaries(...args)) - 1]! };
    return { rules: backends.rules, tenants: backends.tenants, protection: backends.protection, calls: backends.calls, replayTables: backends.replayTables, replaySplit: watched };
  }

  it('gives the report one pass gives, for every kind of proposal, each thread reading the file itself and writing nothing', async () => {
    world.log.flush();
    world.db.pragma('wal_checkpoint(TRUNCATE)');
    const hash = () => createHash('sha256').update(readFileSync(world.db.name)).digest('hex');
    const before = hash();
    const now = Date.now();
    const proposals: Parameters<typeof whatIf>[2][] = [
      { threshold: 20, flagThreshold: 10, list: true },
      { add: ['+1 212-555*=block'], remove: [`#${allowRuleId}`], list: true },
      { add: ['name:CALL*=block'], list: true },
      { tenant: 'acme', categories: ['toll_free=allow'], list: true },
      { protection: 'off' },
    ];
    for (const input of proposals) {
      const cuts: number[][] = [];
      const inOnePass = await whatIf(backends, ACTING, input, 'US', now);
      const inThreads = await whatIf(watchedSplit(cuts), ACTING, input, 'US', now, undefined, { threads: 3, fromCalls: 1 });
      // Cut in three, at moments of logged calls inside the period.
      expect(cuts).toHaveLength(1);
      expect(cuts[0]).toHaveLength(2);
      expect(cuts[0]![0]!).toBeLessThan(cuts[0]![1]!);
      expect(inThreads).toEqual(inOnePass);
    }
    world.db.pragma('wal_checkpoint(TRUNCATE)');
    expect(hash()).toBe(before);
  });

  it('is not split below the calls it is worth it for, nor in a database in memory', async () => {
    const cuts: number[][] = [];
    await whatIf(watchedSplit(cuts), ACTING, { threshold: 20 }, 'US', Date.now(), undefined, { threads: 2, fromCalls: placed + 1 });
    expect(cuts).toEqual([[]]);
    const inMemory = openDatabase(':memory:');
    try {
      expect(sqliteBackends(inMemory).as('test').replaySplit).toBeNull();
    } finally {
      inMemory.close();
    }
  });

  it('a thread that fails fails the replay with its error', async () => {
    const job = { period: { from: 0, until: Date.now() }, proposal: NO_CHANGE, counted: { tenant: null, acting: ACTING }, list: false, country: 'US', anonymous: undefined };
    const missing = { file: '/nonexistent/callguard.db', boundaries: async () => [1] };
    await expect(tallyInThreads(missing, job, { threads: 2, fromCalls: 1 })).rejects.toThrow(/unable to open|SQLITE_CANTOPEN|directory does not exist/i);
  });
});

describe('monitor mode', () => {
  it('a tenant in monitor mode: its calls are decided and logged with what would have happened, and let through', async () => {
    await setTenantMode(backends.tenants, ACTING, 'acme', 'monitor');
    try {
      const result = await call('+14045550002', DIDS[1]!);
      expect(result.outcome).toBe('continued');
      const row = world.db.prepare('SELECT action, outcome, outcome_detail AS detail, reasons FROM calls ORDER BY id DESC LIMIT 1').get() as { action: string; outcome: string; detail: string; reasons: string };
      expect(row).toMatchObject({ action: 'block', outcome: 'monitored', detail: 'monitor mode: would have been block' });
      expect(JSON.parse(row.reasons).at(-1)).toBe('Tenant acme is in monitor mode: the call goes through; block is what would have happened.');
      const counters = await backends.calls.counters({ tenant: 'acme' });
      expect(counters.wouldBlock).toBe(1);
      // Another tenant still enforces.
      expect((await call('+14045550003', DIDS[0]!)).outcome).not.toBe('continued');
    } finally {
      await setTenantMode(backends.tenants, ACTING, 'acme', 'enforce');
    }
    const error = await setTenantMode(backends.tenants, ACTING, 'acme', 'watch').catch((caught: unknown) => caught);
    expect((error as BadInput).field).toBe('mode');
  });
});

describe('the CLI', () => {
  it('prints the report, exits 2 on bad input, and leaves the database file byte-identical', () => {
    world.log.flush();
    world.db.pragma('wal_checkpoint(TRUNCATE)');
    const file = world.db.name;
    const hash = () => createHash('sha256').update(readFileSync(file)).digest('hex');
    const before = hash();
    const json = runCli(['--db', file, 'whatif', '--threshold', '20', '--flag-threshold', '10', '--json']);
    expect(json.stderr).toBe('');
    expect(json.status).toBe(0);
    const report = JSON.parse(json.stdout) as { calls: number; changed: number };
    expect(report.calls).toBe(placed);
    const text = runCli(['--db', file, 'whatif', '--add', '+1 212-555*=block', '--remove', `#${allowRuleId}`]);
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(/allow → block\s+2/);
    expect(text.stdout).toMatch(/Calls at risk: 2 would now be stopped/);
    for (const bad of [['--add', 'nonsense=block'], ['--category', 'bogus=block'], ['--tenant', 'nobody', '--threshold', '50'], ['--since', '0d', '--threshold', '50'], ['--bogus'], []]) {
      const refused = runCli(['--db', file, 'whatif', ...bad]);
      expect(refused.status, `${bad.join(' ')}: ${refused.stderr}`).toBe(2);
      expect(refused.stderr.trim().split('\n')).toHaveLength(1);
      expect(refused.stdout).toBe('');
    }
    world.db.pragma('wal_checkpoint(TRUNCATE)');
    expect(hash()).toBe(before);
    expect(!existsSync(`${file}-wal`) || statSync(`${file}-wal`).size === 0).toBe(true);
  });
});
