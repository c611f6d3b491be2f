// Reputation lookups that fail loudly: each source's health is watched, and a source that
// times out, errors, or answers the same score for every number is flagged, shown in
// /healthz and the metrics, and not trusted (0 points, saying why) until it recovers. A
// stale cached answer is used at once and a fresh one fetched after the call; the cache
// holds scores only, never anything about the caller's name. Real HTTP servers on
// 127.0.0.1 are the sources; waits are on events (requests seen, lookups recorded).
import { request } from 'node:http';
import type { Database } from 'better-sqlite3';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_ACTION_SETTINGS } from '../agent/actions/settings';
import type { ReputationSource } from '../agent/engine/decision-store';
import { BadInput } from '../agent/engine/bad-input';
import type { CallFacts, Decision, ScoreSignal } from '../agent/engine/types';
import { buildApi } from '../agent/api/server';
import { isDatabaseWritable } from '../agent/http/database-writable';
import { sqliteBackends } from '../agent/operations/store-backends';
import { createHookServer } from '../agent/http/hook-server';
import type { HookDeps } from '../agent/http/hook-server';
import { Metrics } from '../agent/metrics/metrics';
import { DEFAULT_DECISION_LIMIT_MS, reputationBudgetMs } from '../agent/screening/decision-limit';
import { ReputationClient } from '../agent/screening/reputation';
import { CONSTANT_AFTER, ReputationHealth } from '../agent/screening/reputation-health';
import { Screener } from '../agent/screening/screener';
import { CallLog } from '../agent/store/call-log';
import { CallLogQueries } from '../agent/store/call-log-queries';
import { openDatabase } from '../agent/store/database';
import { SqliteDecisionStore } from '../agent/store/decision-view';
import { ProtectionStore } from '../agent/store/protection';
import { SqliteReputationBackend } from '../agent/store/sqlite-reputation-backend';
import type { E164 } from '../agent/engine/types';
import { MemoryAuthenticator, as } from './helpers/api';
import { PATIENCE_MS, until } from './helpers/patience';
import { startReputationService } from './helpers/reputation-service';
import type { ReputationService } from './helpers/reputation-service';
import { makeTempDir } from './helpers/temp-db';

const DID = '15551230000';
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface World {
  readonly db: Database;
  readonly log: CallLog;
  readonly client: ReputationClient;
  readonly screener: Screener;
  readonly metrics: Metrics;
  readonly counts: { failedOver: number };
  /** The clock the cache ages answers by. */
  now: number;
  sources(): readonly ReputationSource[];
  decide(from: string, callerName?: string): Promise<Decision>;
  state(name: string): string;
}

type SourceOf = { name: string; service: ReputationService; timeoutMs?: number; weight?: number };

/**
 * Protection on (threshold 100, so every call is scored and goes through) and the sources given (each
 * source's own timeout, by default the longest there is). The decision limit and the lookups' budget are
 * hang detectors here, so that only what a source does (answers, fails, is held past its own timeout)
 * decides its signal, never how busy the machine is; that an agent's waits fit its limit is
 * reputationBudgetMs's, below.
 */
async function world(sources: readonly SourceOf[]): Promise<World> {
  const dir = makeTempDir('callguard-reputation-');
  const db = openDatabase(dir.file('callguard.db'));
  const log = new CallLog(db, { flushMs: 5 });
  cleanups.push(() => dir.remove(), () => db.close(), () => log.close(200));
  new ProtectionStore(db).set({ scope: 'global', enabled: true, threshold: 100, flagThreshold: null, action: 'block' });
  const backend = new SqliteReputationBackend(db, 'test');
  for (const { name, service, timeoutMs = 10_000, weight = 1 } of sources) await backend.add({ name, url: service.url, timeoutMs, weight }, null);
  const metrics = new Metrics();
  const counts = { failedOver: 0 };
  const store = new SqliteDecisionStore(db);
  const made: World = {
    db,
    log,
    metrics,
    counts,
    now: Date.UTC(2026, 11, 1),
    client: new ReputationClient({ observer: metrics, clock: () => made.now, budgetMs: PATIENCE_MS }),
    screener: undefined as unknown as Screener,
    sources: () => store.view().reputationSources,
    async decide(from, callerName) {
      const facts: CallFacts = { kind: 'call', from, to: DID, attestation: 'A', ...(callerName !== undefined && { callerName }) };
      return (await made.screener.verdict(facts, 'test')).decision;
    },
    state: (name) => made.client.health.report(made.sources()).find((source) => source.name === name)!.state,
  };
  Object.assign(made, {
    screener: new Screener(store, log, { country: 'US', failMode: 'open', actions: DEFAULT_ACTION_SETTINGS, decisionLimitMs: PATIENCE_MS }, pino({ level: 'silent' }), { decided: () => undefined, failedOver: () => void counts.failedOver++ }, made.client),
  });
  return made;
}

async function service(): Promise<ReputationService> {
  const started = await startReputationService();
  cleanups.push(() => started.close());
  return started;
}

const signal = (decision: Decision, name: string): ScoreSignal | undefined => decision.signals.find((one) => one.signal === `reputation:${name}`);
const caller = (i: number) => `+1404555${String(1000 + i)}`;

/** The source's lookups so far: answered, timed out or failed. */
function total(made: World, name: string): number {
  const { lookups } = made.client.health.report(made.sources()).find((source) => source.name === name)!;
  return lookups.answer + lookups.timeout + lookups.error;
}

/** Waits until the source's lookups number `count`. */
async function lookedUp(made: World, name: string, count: number): Promise<void> {
  await until(() => total(made, name) >= count, `${count} lookups of ${name} (${total(made, name)} so far)`);
}

describe('a source that times out', () => {
  it("fits an agent's decision limit whatever its own timeout: the sources are asked at once, each wait cut to the limit less 50 ms", () => {
    expect(reputationBudgetMs(DEFAULT_DECISION_LIMIT_MS)).toBe(200);
    expect(reputationBudgetMs(1000)).toBe(950);
    expect(reputationBudgetMs(30)).toBe(10);
  });

  it('costs its signal, not the decision; after 5 of its last lookups it is flagged, no longer waited on, and asked after the call until it recovers', async () => {
    const slow = await service();
    slow.answer = () => ({ body: '{"score": 80}', hold: true });
    const made = await world([{ name: 'slow', service: slow, timeoutMs: 50, weight: 0.5 }]);
    for (let i = 0; i < 5; i++) {
      const decision = await made.decide(caller(i));
      expect(decision.reasons.join(' ')).not.toMatch(/No decision could be made/);
      expect(signal(decision, 'slow')).toEqual({ signal: 'reputation:slow', points: 0, why: expect.stringMatching(/gave no score \(no answer within 50 ms\); scored without it/) });
    }
    expect(made.counts.failedOver).toBe(0);
    expect(made.state('slow')).toBe('timing_out');

    // Flagged: the call is decided without waiting for it (not even asked yet when the decision is made) ...
    const flagged = await made.decide(caller(5));
    expect(total(made, 'slow')).toBe(5);
    expect(signal(flagged, 'slow')).toEqual({
      signal: 'reputation:slow',
      points: 0,
      why: 'reputation source slow is not trusted (flagged timing_out: 5 of the last 5 lookups got no answer in time); scored without it',
    });
    // ... and asked after it, so that a recovery is seen.
    await lookedUp(made, 'slow', 6);

    slow.answer = () => ({ body: '{"score": 80}' });
    let i = 6;
    while (made.state('slow') !== 'ok') {
      expect(i, 'recovered within the lookups weighed').toBeLessThan(20);
      await made.decide(caller(i++));
      await lookedUp(made, 'slow', i);
    }
    const trusted = await made.decide(caller(i));
    expect(signal(trusted, 'slow')).toEqual({ signal: 'reputation:slow', points: 40, why: 'reputation source slow scores this number 80/100 (weight 0.5)' });
  });
});

describe('a source that errors', () => {
  it('HTTP errors and answers without a score flag it erroring, saying the last error; its answers are then not trusted', async () => {
    const broken = await service();
    broken.answer = (number) => (number.endsWith('0') ? { status: 500, body: 'oops' } : { body: '<html>maintenance</html>' });
    const made = await world([{ name: 'broken', service: broken }]);
    const whys: string[] = [];
    for (let i = 0; i < 5; i++) whys.push(signal(await made.decide(caller(i)), 'broken')!.why);
    expect(whys[0]).toMatch(/HTTP 500/);
    expect(whys[1]).toMatch(/the answer held no score from 0 to 100/);
    expect(made.state('broken')).toBe('erroring');
    broken.answer = () => ({ body: '{"score": 90}' });
    const flagged = await made.decide(caller(5));
    expect(signal(flagged, 'broken')).toMatchObject({ points: 0, why: expect.stringMatching(/not trusted \(flagged erroring: 5 of the last 5 lookups failed \(last: the answer held no score from 0 to 100\)\)/) });
  });

  it('a source nobody listens on is an error, not a timeout', async () => {
    const gone = await service();
    await gone.close();
    const made = await world([{ name: 'gone', service: gone }]);
    expect(signal(await made.decide(caller(0)), 'gone')!.why).toMatch(/gave no score \(fetch failed \(ECONNREFUSED\)\)/);
  });
});

describe('a source that answers the same score for every number', () => {
  it(`is flagged constant after ${CONSTANT_AFTER} different numbers, then not trusted, and trusted again once its answers differ`, async () => {
    const flat = await service();
    const made = await world([{ name: 'flat', service: flat, weight: 1 }]);
    for (let i = 0; i < CONSTANT_AFTER - 1; i++) expect(signal(await made.decide(caller(i)), 'flat')).toMatchObject({ points: 50 });
    expect(made.state('flat')).toBe('ok');
    // The answer that shows it is not trusted itself.
    const showing = await made.decide(caller(CONSTANT_AFTER - 1));
    expect(signal(showing, 'flat')).toEqual({
      signal: 'reputation:flat',
      points: 0,
      why: `reputation source flat is not trusted (flagged constant: answered 50 for each of the last ${CONSTANT_AFTER} different numbers); scored without it`,
    });
    expect(showing.score).toBe(0);
    // Still asked after each call (a new number): when it answers something else, it recovers.
    flat.answer = () => ({ body: '{"score": 85}' });
    expect(signal(await made.decide(caller(100)), 'flat')).toMatchObject({ points: 0, why: expect.stringMatching(/flagged constant/) });
    await lookedUp(made, 'flat', CONSTANT_AFTER + 1);
    expect(made.state('flat')).toBe('ok');
    expect(signal(await made.decide(caller(101)), 'flat')).toMatchObject({ points: 85 });
  });

  it('the same number answered again and again is not "every number"', () => {
    const health = new ReputationHealth();
    const source = { name: 'one', url: 'http://127.0.0.1/{number}', timeoutMs: 100, weight: 1 };
    for (let i = 0; i < 3 * CONSTANT_AFTER; i++) health.record(source, '+14045551000', 'answer', { kind: 'score', score: 50 }, 3);
    expect(health.distrust(source)).toBeNull();
    expect(health.report([source])).toEqual([{ name: 'one', state: 'ok', detail: '10 of the last 10 lookups answered, the last in 3 ms', lookups: { answer: 60, timeout: 0, error: 0 }, lastError: null, lastLatencyMs: 3 }]);
  });
});

describe('the cache', () => {
  it('uses a stale score at once and fetches a fresh one after the call; a fresh one is not asked again; one too old is waited on', async () => {
    const swr = await service();
    swr.answer = () => ({ body: '{"score": 40}' });
    const made = await world([{ name: 'swr', service: swr }]);
    const from = caller(0);
    expect(signal(await made.decide(from), 'swr')).toMatchObject({ points: 40 });
    expect(swr.asked).toEqual([from]);

    made.now += 2 * 60 * 60_000; // past its fresh hour, within its day
    swr.answer = () => ({ body: '{"score": 90}', hold: true });
    const stale = await made.decide(from);
    expect(signal(stale, 'swr')).toMatchObject({ points: 40 });
    // The fresh lookup was made after the call, and the call did not wait for it: it is still held.
    await swr.askedTimes(2);
    expect(swr.holding).toBe(1);
    // A second stale call meanwhile asks nothing more: one lookup per source and number at a time.
    expect(signal(await made.decide(from), 'swr')).toMatchObject({ points: 40 });
    swr.release();
    await lookedUp(made, 'swr', 2);
    expect(signal(await made.decide(from), 'swr')).toMatchObject({ points: 90 });
    expect(swr.asked).toEqual([from, from]);

    made.now += 25 * 60 * 60_000; // past its day: too old to use
    swr.answer = () => ({ body: '{"score": 10}' });
    expect(signal(await made.decide(from), 'swr')).toMatchObject({ points: 10 });
    expect(swr.asked).toEqual([from, from, from]);
  });

  it('asks one source once for a number however many calls wait on it', async () => {
    const busy = await service();
    busy.answer = () => ({ body: '{"score": 60}', hold: true });
    const made = await world([{ name: 'busy', service: busy, timeoutMs: 10_000 }]);
    const client = new ReputationClient({ budgetMs: 10_000 });
    const waiting = Array.from({ length: 5 }, () => client.lookup(made.sources(), caller(0) as E164));
    await busy.askedTimes(1);
    busy.release();
    expect(await Promise.all(waiting)).toEqual(Array.from({ length: 5 }, () => [{ source: 'busy', weight: 1, kind: 'score', score: 60 }]));
    expect(busy.asked).toHaveLength(1);
  });

  it("keeps scores apart from the caller's name: a cached answer never changes the name a call came with, nor is a name in the answer used", async () => {
    const named = await service();
    named.answer = () => ({ body: '{"score": 30, "name": "SCAM LIKELY"}' });
    const made = await world([{ name: 'named', service: named }]);
    const from = caller(0);
    const first = await made.decide(from, 'Alice Example');
    const second = await made.decide(from, 'Bob Example');
    expect(named.asked).toHaveLength(1);
    for (const decision of [first, second]) {
      expect(signal(decision, 'named')).toMatchObject({ points: 30 });
      expect(JSON.stringify(decision)).not.toMatch(/SCAM LIKELY/);
    }
    made.log.flush();
    const rows = made.db.prepare('SELECT caller_name AS name, facts FROM calls ORDER BY id').all() as { name: string; facts: string }[];
    expect(rows.map((row) => row.name)).toEqual(['Alice Example', 'Bob Example']);
    for (const row of rows) {
      expect(row.facts).not.toMatch(/SCAM LIKELY|Alice|Bob/);
      expect(JSON.parse(row.facts).reputation).toEqual([{ source: 'named', weight: 1, kind: 'score', score: 30 }]);
    }
  });
});

describe('health in /healthz and the metrics', () => {
  it('shows each source configured, flagged ones too, without making /healthz fail; counts lookups by result', async () => {
    const slow = await service();
    slow.answer = () => ({ body: '1', hold: true });
    const fine = await service();
    fine.answer = (number) => ({ body: String(Number(number.slice(-2))) });
    const idle = await service();
    const made = await world([{ name: 'fine', service: fine }, { name: 'slow', service: slow, timeoutMs: 20 }]);
    for (let i = 0; i < 5; i++) await made.decide(caller(i));
    // Added after those calls: configured, not asked yet.
    await new SqliteReputationBackend(made.db, 'test').add({ name: 'idle', url: idle.url, timeoutMs: 100, weight: 1 }, null);

    made.metrics.watchReputation(() => made.client.health.report(made.sources()));
    const deps: HookDeps = {
      screener: made.screener,
      queries: new CallLogQueries(made.db),
      health: () => ({ pbxConnected: true, databaseWritable: isDatabaseWritable(made.db), reputation: made.client.health.report(made.sources()) }),
      metrics: made.metrics,
      logger: pino({ level: 'silent' }),
      blockLast: async () => {
        throw new BadInput('not in this test');
      },
      recordCall: async () => {
        throw new BadInput('not in this test');
      },
    };
    const hook = createHookServer({ host: '127.0.0.1', port: 0, token: null }, deps);
    await hook.start();
    cleanups.push(() => hook.stop());
    const get = (path: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        request({ host: '127.0.0.1', port: hook.port, path }, (response) => {
          let body = '';
          response.on('data', (chunk: Buffer) => (body += chunk.toString()));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
        })
          .on('error', reject)
          .end();
      });

    const health = await get('/healthz');
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toEqual({
      up: true,
      pbx: true,
      database: true,
      reputation: [
        { name: 'fine', state: 'ok', detail: expect.stringMatching(/^5 of the last 5 lookups answered, the last in \d+ ms$/) },
        { name: 'slow', state: 'timing_out', detail: '5 of the last 5 lookups got no answer in time' },
        { name: 'idle', state: 'unused', detail: 'not asked since the agent started' },
      ],
    });
    const metrics = (await get('/metrics')).body;
    expect(metrics).toContain('callguard_reputation_source_healthy{source="fine"} 1');
    expect(metrics).toContain('callguard_reputation_source_healthy{source="slow"} 0');
    expect(metrics).toContain('callguard_reputation_source_healthy{source="idle"} 1');
    expect(metrics).toContain('callguard_reputation_lookups_total{source="fine",result="answer"} 5');
    expect(metrics).toContain('callguard_reputation_lookups_total{source="slow",result="timeout"} 5');
    expect(metrics).toMatch(/callguard_reputation_lookup_seconds_count\{source="slow"\} 5/);

    // A source removed leaves /healthz and the gauge.
    await new SqliteReputationBackend(made.db, 'test').remove('slow');
    expect(JSON.parse((await get('/healthz')).body).reputation.map((source: { name: string }) => source.name)).toEqual(['fine', 'idle']);
    expect((await get('/metrics')).body).not.toContain('callguard_reputation_source_healthy{source="slow"}');
  });

  it("in the REST API's list of sources (the console's card), beside serve: each source with its state; without the agent, none", async () => {
    const slow = await service();
    slow.answer = () => ({ body: '1', hold: true });
    const fine = await service();
    fine.answer = (number) => ({ body: String(Number(number.slice(-2))) });
    const made = await world([{ name: 'fine', service: fine }, { name: 'slow', service: slow, timeoutMs: 20 }]);
    for (let i = 0; i < 5; i++) await made.decide(caller(i));
    const listed = async (reputationHealth?: () => ReturnType<ReputationHealth['report']>) => {
      const api = await buildApi({ store: sqliteBackends(made.db), country: 'US', authenticator: new MemoryAuthenticator(), reputation: made.client, logger: pino({ level: 'silent' }), secure: false, reputationHealth });
      cleanups.push(() => api.close());
      const response = await api.inject({ method: 'GET', url: '/v1/reputation/sources', headers: as('cg_admin') });
      expect(response.statusCode).toBe(200);
      return (response.json() as { sources: { name: string; health?: { state: string; detail: string } }[] }).sources;
    };
    expect((await listed(() => made.client.health.report(made.sources()))).map(({ name, health }) => ({ name, health }))).toEqual([
      { name: 'fine', health: { state: 'ok', detail: expect.stringMatching(/^5 of the last 5 lookups answered/) } },
      { name: 'slow', health: { state: 'timing_out', detail: '5 of the last 5 lookups got no answer in time' } },
    ]);
    expect((await listed()).map((source) => source.health)).toEqual([undefined, undefined]);
  });
});
