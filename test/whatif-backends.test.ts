// The replay reads either store: the SQLite file, or a fleet's PostgreSQL (whose decision
// tables are read in rounds, as explain reads them). The same log gives the same report.
import { afterAll, describe, expect, it } from 'vitest';
import type { OutcomeName } from '../agent/actions/outcome';
import type { CallFacts } from '../agent/engine/types';
import { cliActing } from '../agent/operations/acting';
import { setProtection, tuneScore } from '../agent/operations/protection';
import { addRules } from '../agent/operations/rules';
import { postgresBackends, sqliteBackends } from '../agent/operations/store-backends';
import type { Backends } from '../agent/operations/store-backends';
import { addDid, addTenant } from '../agent/operations/tenants';
import { whatIf } from '../agent/operations/whatif';
import { loggedCallPages } from '../agent/replay/logged-call-pages';
import { NO_CHANGE } from '../agent/replay/proposal';
import { replay } from '../agent/replay/replay';
import type { Replayed } from '../agent/replay/replay';
import { ReputationClient } from '../agent/screening/reputation';
import { openDatabase } from '../agent/store/database';
import { logToPostgres, logToSqlite } from './helpers/call-writers';
import type { LoggedOutcome } from './helpers/call-writers';
import type { CallEntry } from '../agent/store/call-log';
import { migratedPostgres } from './helpers/postgres-agent';
import { makeTempDir } from './helpers/temp-db';

const ACTING = cliActing('cli:tester');
const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

type Store = { readonly backends: Backends; log(call: CallEntry, outcome: LoggedOutcome): Promise<void> };

const opened: Record<string, () => Promise<Store>> = {
  SQLite: async () => {
    const dir = makeTempDir('callguard-whatif-');
    const db = openDatabase(dir.file('store.db'));
    cleanups.push(() => dir.remove(), () => db.close());
    return { backends: sqliteBackends(db).as('cli:tester'), log: async (call, outcome) => logToSqlite(db, [call], [outcome]) };
  },
  PostgreSQL: async () => {
    const { pool } = await migratedPostgres(cleanups);
    return { backends: postgresBackends(pool).as('cli:tester'), log: (call, outcome) => logToPostgres(pool, [call], [outcome]) };
  },
};

const START = Date.now() - 3_600_000;

/** The same forty calls on either store, each decided from the store as it then stood and logged before the next. */
async function logCalls(store: Store): Promise<void> {
  const { backends } = store;
  await addTenant(backends.tenants, ACTING, 'acme');
  await addDid(backends.tenants, ACTING, '+15551230001', 'acme', 'US');
  await setProtection(backends, ACTING, { enabled: true, threshold: 40, flagThreshold: 20, action: 'challenge' });
  await tuneScore(backends, ACTING, 'velocity_calls', '3');
  await addRules(backends.rules, ACTING, { patterns: '404*', action: 'block' }, 'US');
  await addRules(backends.rules, ACTING, { patterns: '+12125550100', action: 'allow' }, 'US');
  const reputation = new ReputationClient();
  for (let i = 0; i < 40; i++) {
    const at = START + i * 20_000;
    const facts: CallFacts = {
      kind: 'call',
      from: ['+14045550001', '+12125550100', '+13125550107', '+16175550111', 'anonymous'][i % 5]!,
      to: ['5551230000', '+1 555 123 0001', '5551230002'][i % 3]!,
      attestation: (['A', 'C', 'failed', 'none'] as const)[i % 4],
      carrier: i % 2 ? 'Example Telecom' : undefined,
    };
    const decision = await backends.decideCall(facts, { country: 'US', now: at }, reputation);
    const outcome: OutcomeName = decision.action === 'challenge' ? (i % 3 ? 'passed' : 'failed') : decision.action === 'allow' ? 'continued' : 'rejected';
    const uid = `call-${i}`;
    await store.log({ uid, at, source: 'freeswitch', pbx: 'fs', channel: uid, facts, decision, decidedUs: 10 }, { uid, outcome: { outcome, detail: null }, at: at + 2000 });
  }
}

const reports: Record<string, unknown> = {};

describe.each(Object.keys(opened))('whatif on %s', (name) => {
  it('replays "no change" into the logged decisions, and reports a proposal', async () => {
    const store = await opened[name]!();
    await logCalls(store);
    const replayed: Replayed[] = [];
    await replay(await store.backends.replayTables(), loggedCallPages(store.backends.calls), { from: START, until: Date.now() }, NO_CHANGE, (one) => void replayed.push(one), 'US');
    expect(replayed).toHaveLength(40);
    expect(replayed.filter((one) => one.before.action !== one.call.action || one.before.score !== one.call.score || one.before.flagged !== one.call.flagged)).toEqual([]);
    expect(replayed.some((one) => one.before.signals.some((signal) => signal.signal === 'velocity_calls'))).toBe(true);
    expect(replayed.some((one) => one.before.signals.some((signal) => signal.signal === 'failed_challenges'))).toBe(true);
    const report = await whatIf(store.backends, ACTING, { threshold: 70, add: ['+1 212-555*=block'], remove: [] }, 'US');
    expect(report.calls).toBe(40);
    expect(report.changed).toBeGreaterThan(0);
    reports[name] = { ...report, period: null, atRisk: { ...report.atRisk, list: report.atRisk.list.map(({ id: _id, ...call }) => call) } };
  });
});

describe('both stores', () => {
  it('give the same report for the same log', () => {
    expect(Object.keys(reports).sort()).toEqual(['PostgreSQL', 'SQLite']);
    expect(reports.PostgreSQL).toEqual(reports.SQLite);
  });
});
