// The REST faces of the replay and of monitor mode: POST /v1/whatif answers what
// `callguard whatif --json` answers and writes nothing; PUT /v1/tenants/{name}/mode sets a
// tenant's mode for those who may change it, and a monitored call is counted as would-block.
import type { Database } from 'better-sqlite3';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { OutcomeName } from '../agent/actions/outcome';
import { buildApi } from '../agent/api/server';
import type { Api } from '../agent/api/server';
import type { CallFacts } from '../agent/engine/types';
import { cliActing } from '../agent/operations/acting';
import { setProtection } from '../agent/operations/protection';
import { addRules } from '../agent/operations/rules';
import { sqliteBackends } from '../agent/operations/store-backends';
import type { Backends } from '../agent/operations/store-backends';
import { addDid, addTenant } from '../agent/operations/tenants';
import { whatIf } from '../agent/operations/whatif';
import { ReputationClient } from '../agent/screening/reputation';
import { openDatabase } from '../agent/store/database';
import { MemoryAuthenticator, as } from './helpers/api';
import { logToSqlite } from './helpers/call-writers';
import { makeTempDir } from './helpers/temp-db';
import type { TempDir } from './helpers/temp-db';

const ACME_DID = '+14045550100';
const GLOBEX_DID = '+13125550100';
const ADMIN = cliActing('cli:tester');

let dir: TempDir;
let db: Database;
let api: Api;
let backends: Backends;
let allowRule: number;

/** Twenty calls to each tenant an hour ago, decided from the store as it stood, each logged with its outcome. */
async function logCalls(): Promise<void> {
  const reputation = new ReputationClient();
  const start = Date.now() - 3_600_000;
  for (let i = 0; i < 40; i++) {
    const at = start + i * 30_000;
    const facts: CallFacts = { kind: 'call', from: ['+12125550100', '+16175550111', '+14045550199', 'anonymous'][i % 4]!, to: i % 2 ? ACME_DID : GLOBEX_DID };
    const decision = await backends.decideCall(facts, { country: 'US', now: at }, reputation);
    const outcome: OutcomeName = decision.action === 'allow' ? 'continued' : 'rejected';
    logToSqlite(db, [{ uid: `c${i}`, at, source: 'freeswitch', pbx: 'fs', channel: `c${i}`, facts, decision, decidedUs: 5 }], [{ uid: `c${i}`, outcome: { outcome, detail: null }, at: at + 1000 }]);
  }
}

beforeEach(async () => {
  dir = makeTempDir('callguard-api-whatif-');
  db = openDatabase(dir.file('callguard.db'));
  backends = sqliteBackends(db).as('cli:tester');
  await addTenant(backends.tenants, ADMIN, 'acme');
  await addTenant(backends.tenants, ADMIN, 'globex');
  await addDid(backends.tenants, ADMIN, ACME_DID, 'acme', 'US');
  await addDid(backends.tenants, ADMIN, GLOBEX_DID, 'globex', 'US');
  allowRule = (await addRules(backends.rules, ADMIN, { patterns: '+12125550100', action: 'allow' }, 'US'))[0]!.id;
  await logCalls();
  api = await buildApi({ store: sqliteBackends(db), country: 'US', authenticator: new MemoryAuthenticator(), reputation: new ReputationClient(), logger: pino({ level: 'silent' }), secure: false });
});

afterEach(async () => {
  await api.close();
  db.close();
  dir.remove();
});

async function call(token: string, method: 'GET' | 'PUT' | 'POST', url: string, payload?: Record<string, unknown>): Promise<{ status: number; body: any }> {
  const response = await api.inject({ method, url, headers: as(token), ...(payload === undefined ? {} : { payload }) });
  return { status: response.statusCode, body: response.body ? response.json() : undefined };
}

const counts = () => db.prepare("SELECT (SELECT count(*) FROM rules) || '/' || (SELECT count(*) FROM protection) || '/' || (SELECT count(*) FROM audit) || '/' || (SELECT count(*) FROM category_policies)").pluck().get();

describe('POST /v1/whatif', () => {
  it('answers what the operation answers, for the same proposal, and writes nothing', async () => {
    const before = counts();
    const proposal = { add: ['+1 212-555*=block', '404*=challenge'], remove: [`#${allowRule}`], categories: ['anonymous=block'] };
    const { status, body } = await call('cg_admin', 'POST', '/v1/whatif', proposal);
    expect(status).toBe(200);
    const direct = await whatIf(backends, ADMIN, proposal, 'US');
    expect({ ...body, period: null }).toEqual({ ...JSON.parse(JSON.stringify(direct)), period: null });
    expect(body.calls).toBe(40);
    // The allowed number (its allow rule removed, now under the new prefix) and the anonymous callers are blocked; 404 is challenged.
    expect(body.transitions.map((transition: { before: string; after: string; calls: number }) => `${transition.before}>${transition.after}:${transition.calls}`).sort()).toEqual(['allow>block:20', 'allow>challenge:10']);
    expect(body.atRisk).toMatchObject({ calls: 20, allowedByRule: 10, answered: 10 });
    expect(counts()).toBe(before);
  });

  it('a manager asks about their tenant; another tenant is refused, as is a proposal for every tenant', async () => {
    const mine = await call('cg_acme', 'POST', '/v1/whatif', { tenant: 'acme', add: ['+1617*=block'] });
    expect(mine.status).toBe(200);
    expect(mine.body.calls).toBe(20);
    expect(mine.body.changed).toBe(10);
    expect((await call('cg_acme', 'POST', '/v1/whatif', { tenant: 'globex', add: ['+1617*=block'] })).status).toBe(403);
    expect((await call('cg_acme', 'POST', '/v1/whatif', { add: ['+1617*=block'] })).status).toBe(403);
  });

  it('a threshold change is reported as transitions, with the calls at risk; the asker needs only to see the calls, and nothing is written', async () => {
    await setProtection(backends, ADMIN, { enabled: true, threshold: 70 });
    const before = counts();
    // Replayed, every call scores 15, and a caller's sixth call of the hour and on 35 (velocity): of the ten calls each of
    // 617-555-0111 (to acme) and 404-555-0199 (to globex), five are flagged and five blocked; the anonymous ones (acme) are
    // all flagged, and 212-555-0100 (globex) has its allow rule.
    const everyone = await call('cg_admin', 'POST', '/v1/whatif', { threshold: 30, flagThreshold: 10 });
    expect(everyone.status).toBe(200);
    const transitions = (body: { transitions: { before: string; after: string; calls: number }[] }) => body.transitions.map((t) => `${t.before}>${t.after}:${t.calls}`).sort();
    expect(transitions(everyone.body)).toEqual(['allow>block:10', 'allow>flag:20']);
    expect(everyone.body).toMatchObject({ tenant: null, calls: 40, changed: 30, changes: ['protection for every tenant: on, threshold 30, flag from 10, block'] });
    // The blocked calls had been put through and taken: now stopped, they are the calls at risk.
    expect(everyone.body.atRisk).toMatchObject({ calls: 10, answered: 10, passedChallenge: 0, allowedByRule: 0 });
    expect(everyone.body.atRisk.list.map((changed: { caller: string; after: string; risk: string }) => `${changed.caller} ${changed.after} ${changed.risk}`).sort()).toEqual([
      ...Array(5).fill('+14045550199 block answered'),
      ...Array(5).fill('+16175550111 block answered'),
    ]);
    expect(everyone.body).toEqual(JSON.parse(JSON.stringify({ ...(await whatIf(backends, ADMIN, { threshold: 30, flagThreshold: 10 }, 'US')), period: everyone.body.period })));
    // A viewer of acme may ask about acme (the replay writes nothing), with acme's own setting tried; not about globex, nor every tenant.
    const viewer = await call('cg_viewer', 'POST', '/v1/whatif', { tenant: 'acme', threshold: 30, flagThreshold: null });
    expect(viewer.status).toBe(200);
    expect(viewer.body).toMatchObject({ tenant: 'acme', calls: 20, changed: 5, changes: ['protection for tenant acme: on, threshold 30, no flagging, block'] });
    expect(transitions(viewer.body)).toEqual(['allow>block:5']);
    expect(transitions((await call('cg_viewer', 'POST', '/v1/whatif', { tenant: 'acme', threshold: 15 })).body)).toEqual(['allow>block:20']);
    expect((await call('cg_viewer', 'POST', '/v1/whatif', { tenant: 'globex', threshold: 30 })).status).toBe(403);
    expect((await call('cg_viewer', 'POST', '/v1/whatif', { threshold: 30 })).status).toBe(403);
    expect(counts()).toBe(before);
  });

  it('while protection is off a threshold is tried only with protection on, as the console asks', async () => {
    const off = await call('cg_acme', 'POST', '/v1/whatif', { tenant: 'acme', threshold: 30, flagThreshold: 10 });
    expect([off.status, off.body.field]).toEqual([400, 'protection']);
    const on = await call('cg_acme', 'POST', '/v1/whatif', { tenant: 'acme', protection: 'on', threshold: 30, flagThreshold: 10 });
    expect(on.status).toBe(200);
    expect(on.body.changes).toEqual(['protection for tenant acme: on, threshold 30, flag from 10, block']);
    expect(on.body.transitions).toEqual([
      { before: 'allow', after: 'flag', calls: 15, where: [{ tenant: 'acme', did: ACME_DID, calls: 15 }] },
      { before: 'allow', after: 'block', calls: 5, where: [{ tenant: 'acme', did: ACME_DID, calls: 5 }] },
    ]);
    expect(on.body.atRisk).toMatchObject({ calls: 5, answered: 5 });
    expect(db.prepare('SELECT count(*) FROM protection').pluck().get()).toBe(0);
  });

  it('refuses bad input with a 400 naming the field', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ add: ['not a pattern=block'] }, 'add'],
      [{ add: ['404*=explode'] }, 'action'],
      [{ categories: ['bogus=block'] }, 'category'],
      [{ threshold: 5, protection: 'on' }, 'threshold'],
      [{ tenant: 'nobody', add: ['404*=block'] }, 'tenant'],
      [{ since: 'soon', add: ['404*=block'] }, 'since'],
      [{ add: ['404*=block'], bogus: 1 }, 'bogus'],
      [{ protection: 'on', threshold: 70, flagThreshold: 12.5 }, 'flagThreshold'],
      [{ protection: 'on', threshold: 60, flagThreshold: 65 }, 'flagThreshold'],
      [{ protection: 'maybe', threshold: 60 }, 'protection'],
      [{ remove: ['twelve'] }, 'remove'],
      [{ add: ['x'.repeat(1025)] }, 'add.0'],
    ];
    for (const [payload, field] of cases) {
      const { status, body } = await call('cg_admin', 'POST', '/v1/whatif', payload);
      expect(status, JSON.stringify(payload)).toBe(400);
      expect(body.field, `${JSON.stringify(payload)}: ${body.error}`).toBe(field);
    }
    const nothing = await call('cg_admin', 'POST', '/v1/whatif', {});
    expect(nothing.status).toBe(400);
    expect(nothing.body.error).toMatch(/^nothing to try/);
    db.exec('DELETE FROM calls');
    const empty = await call('cg_admin', 'POST', '/v1/whatif', { add: ['404*=block'] });
    expect([empty.status, empty.body.field]).toEqual([400, 'since']);
  });
});

describe('PUT /v1/tenants/{name}/mode', () => {
  it('sets monitor mode for those who may change the tenant, shows it in the listing, and refuses the rest', async () => {
    expect((await call('cg_acme', 'PUT', '/v1/tenants/acme/mode', { mode: 'monitor' })).body).toEqual({ name: 'acme', mode: 'monitor' });
    const listed = (await call('cg_admin', 'GET', '/v1/tenants')).body.tenants as { name: string; mode: string }[];
    expect(listed.map((tenant) => `${tenant.name} ${tenant.mode}`)).toEqual(['acme monitor', 'default enforce', 'globex enforce']);
    expect((await call('cg_acme', 'PUT', '/v1/tenants/globex/mode', { mode: 'monitor' })).status).toBe(403);
    expect((await call('cg_viewer', 'PUT', '/v1/tenants/acme/mode', { mode: 'enforce' })).status).toBe(403);
    const bad = await call('cg_admin', 'PUT', '/v1/tenants/acme/mode', { mode: 'watch' });
    expect([bad.status, bad.body.field]).toEqual([400, 'mode']);
    const unknown = await call('cg_admin', 'PUT', '/v1/tenants/nobody/mode', { mode: 'monitor' });
    expect([unknown.status, unknown.body.field]).toEqual([400, 'name']);
    expect(db.prepare("SELECT name, mode FROM tenants WHERE mode = 'monitor'").all()).toEqual([{ name: 'acme', mode: 'monitor' }]);
  });

  it('a monitored call that would have been blocked is let through, and the stats count it as would-block, not blocked', async () => {
    await call('cg_admin', 'PUT', '/v1/tenants/acme/mode', { mode: 'monitor' });
    await addRules(backends.rules, ADMIN, { patterns: '+1999*', action: 'block' }, 'US');
    const facts: CallFacts = { kind: 'call', from: '+19995550100', to: ACME_DID };
    const decision = await backends.decideCall(facts, { country: 'US', now: Date.now() }, new ReputationClient());
    expect(decision).toMatchObject({ action: 'block', monitored: true });
    logToSqlite(db, [{ uid: 'm1', at: Date.now(), source: 'freeswitch', pbx: 'fs', channel: 'm1', facts, decision, decidedUs: 5 }], [{ uid: 'm1', outcome: { outcome: 'monitored', detail: 'monitor mode: would have been block' }, at: Date.now() }]);
    const stats = (await call('cg_acme', 'GET', '/v1/stats?tenant=acme&since=2h')).body;
    expect(stats).toMatchObject({ wouldBlock: 1, blocked: 0 });
  });
});
