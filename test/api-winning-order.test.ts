/**
 * GET /v1/rules/winning-order: the rules that apply to a company's calls, paged in the
 * order they win, which must be the order the engine picks by.
 */
import { sqliteBackends } from '../agent/operations/store-backends';
import type { Database } from 'better-sqlite3';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApi } from '../agent/api/server';
import type { Api } from '../agent/api/server';
import type { E164 } from '../agent/engine/types';
import { ReputationClient } from '../agent/screening/reputation';
import { openDatabase } from '../agent/store/database';
import { TenantStore } from '../agent/store/tenants';
import { MemoryAuthenticator, as } from './helpers/api';
import { makeTempDir } from './helpers/temp-db';
import type { TempDir } from './helpers/temp-db';

interface Rule {
  id: number;
  scope: string;
  kind: string;
  key: string;
  pattern: string;
  action: string;
}

const ACME_DID = '+14045550100';
const GLOBEX_DID = '+13125550100';
let dir: TempDir;
let db: Database;
let api: Api;

beforeEach(async () => {
  dir = makeTempDir('callguard-winning-');
  db = openDatabase(dir.file('callguard.db'));
  const tenants = new TenantStore(db, 'test');
  tenants.add('acme');
  tenants.add('globex');
  tenants.addDid(ACME_DID as E164, 'acme');
  tenants.addDid(GLOBEX_DID as E164, 'globex');
  api = await buildApi({ store: sqliteBackends(db), country: 'US', authenticator: new MemoryAuthenticator(), reputation: new ReputationClient(), logger: pino({ level: 'silent' }), secure: false });
});

afterEach(async () => {
  await api.close();
  db.close();
  dir.remove();
});

async function add(patterns: string, action: string, scope: string): Promise<void> {
  const response = await api.inject({ method: 'POST', url: '/v1/rules', headers: as('cg_admin'), payload: { patterns, action, scope } });
  expect(response.statusCode, response.body).toBe(201);
}

const get = (url: string, token = 'cg_admin') => api.inject({ method: 'GET', url, headers: as(token) });

/** Every page of a listing, following `next`; checks each page's size. */
async function allPages(query: string, limit: number, token = 'cg_admin'): Promise<Rule[]> {
  const rules: Rule[] = [];
  let after: string | null = null;
  for (let pages = 0; pages < 1000; pages++) {
    const response = await get(`/v1/rules/winning-order?${query}&limit=${limit}${after === null ? '' : `&after=${encodeURIComponent(after)}`}`, token);
    expect(response.statusCode, response.body).toBe(200);
    const page = response.json() as { rules: Rule[]; next: string | null };
    rules.push(...page.rules);
    if (page.next === null) return rules;
    expect(page.rules).toHaveLength(limit);
    after = page.next;
  }
  throw new Error('the listing never ended');
}

/** Whether a rule of these kinds matches a calling number, as written by the operator. */
function matches(rule: Rule, caller: string): boolean {
  if (rule.kind === 'number') return rule.key === caller;
  if (rule.kind === 'prefix') return caller.startsWith(rule.key);
  return false;
}

describe('rules in winning order', () => {
  /** Rules in every scope a call to acme's DID is screened under, and some that it is not (globex's). */
  async function fleetOfRules(): Promise<string[]> {
    const bulk = Array.from({ length: 250 }, (_, i) => `+1212555${String(1000 + i)}`);
    await add(bulk.join(','), 'block', 'global');
    await add('404', 'block', 'global');
    await add('404-555', 'challenge', 'global');
    await add('+1404555123*', 'busy', 'global');
    await add('404-555-1234', 'voicemail', 'global');
    await add('404-555', 'voicemail', 'tenant:acme');
    await add('404-555-7777, 212-555-1000', 'allow', 'tenant:acme');
    await add('404-555-9999', 'disconnected', `did:${ACME_DID}`);
    await add('404', 'allow', `did:${ACME_DID}`);
    await add('404-555-1234', 'block', 'tenant:globex');
    await add('312', 'block', `did:${GLOBEX_DID}`);
    await add('anonymous', 'challenge', 'tenant:acme');
    return ['+14045551234', '+14045559999', '+14045557777', '+12125551000', '+12125551100', '+14045550000', '+14045551239', '+13125550000', '+12025550000'];
  }

  it("pages through a company's rules in the order the engine picks them: the first that matches is the one explain names", async () => {
    const callers = await fleetOfRules();
    const listed = await allPages(`tenant=acme&kinds=number,prefix,anonymous`, 7);
    // Every rule that applies to acme's calls, once, and none of globex's.
    expect(new Set(listed.map((rule) => rule.id)).size).toBe(listed.length);
    const applying = db.prepare("SELECT COUNT(*) FROM rules WHERE scope IN ('global', 'tenant:acme', ?)").pluck().get(`did:${ACME_DID}`);
    expect(listed).toHaveLength(applying as number);
    expect(listed.some((rule) => rule.scope.includes('globex') || rule.scope === `did:${GLOBEX_DID}`)).toBe(false);
    // Narrowest scope first; in each, exact before patterns; longer patterns first.
    expect([...new Set(listed.map((rule) => rule.scope))]).toEqual([`did:${ACME_DID}`, 'tenant:acme', 'global']);
    for (const scope of ['tenant:acme', 'global']) {
      const kinds = listed.filter((rule) => rule.scope === scope).map((rule) => (rule.kind === 'number' ? 'exact' : 'pattern'));
      expect(kinds.indexOf('pattern')).toBeGreaterThan(kinds.lastIndexOf('exact'));
    }
    const globalPrefixes = listed.filter((rule) => rule.scope === 'global' && rule.kind === 'prefix').map((rule) => rule.key.length);
    expect(globalPrefixes).toEqual([...globalPrefixes].sort((a, b) => b - a));
    expect(globalPrefixes).toHaveLength(3);

    for (const caller of callers) {
      const explained = await get(`/v1/explain?from=${encodeURIComponent(caller)}&to=${encodeURIComponent(ACME_DID)}`);
      expect(explained.statusCode, explained.body).toBe(200);
      const first = listed.find((rule) => matches(rule, caller));
      expect(first?.id ?? null, caller).toBe(explained.json().ruleId);
    }
  });

  it('addresses: exact addresses and URIs first, newest first, then networks and domains, longer first', async () => {
    await add('10.0.0.0/8', 'block', 'global');
    await add('10.1.2.3', 'block', 'global');
    await add('10.1.0.0/16', 'block', 'global');
    await add('bot@spam.example', 'block', 'global');
    await add('*@spam.example', 'block', 'global');
    await add('+14045551234', 'block', 'global');
    const listed = await allPages('kinds=ip,sip', 2);
    expect(listed.map((rule) => rule.pattern)).toEqual(['bot@spam.example', '10.1.2.3', '10.1.0.0/16', '10.0.0.0/8', '*@spam.example']);
  });

  it('without a company: every scope the asker sees, narrowest first; a manager sees only their own and the global rules', async () => {
    await fleetOfRules();
    const everyone = await allPages('kinds=number,prefix', 50);
    expect(everyone).toHaveLength(db.prepare("SELECT COUNT(*) FROM rules WHERE kind <> 'anonymous'").pluck().get() as number);
    expect([...new Set(everyone.map((rule) => rule.scope))]).toEqual([`did:${GLOBEX_DID}`, `did:${ACME_DID}`, 'tenant:acme', 'tenant:globex', 'global']);
    const manager = await allPages('', 50, 'cg_acme');
    expect([...new Set(manager.map((rule) => rule.scope))]).toEqual([`did:${ACME_DID}`, 'tenant:acme', 'global']);
    expect((await get('/v1/rules/winning-order?tenant=globex', 'cg_acme')).statusCode).toBe(403);
    expect((await get('/v1/rules/winning-order?tenant=globex', 'cg_viewer')).statusCode).toBe(403);
    expect((await api.inject({ method: 'GET', url: '/v1/rules/winning-order' })).statusCode).toBe(401);
  });

  it('bad input is a 400 naming the field', async () => {
    await fleetOfRules();
    const cursor = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    for (const [query, field] of [
      ['kinds=number,fax', 'kinds'],
      ['after=not-a-cursor', 'after'],
      [`after=${cursor({ scope: 'global', group: 2, span: 0, id: 1 })}`, 'after'],
      [`after=${cursor({ scope: 'did:+19995550000', group: 0, span: 0, id: 1 })}`, 'after'],
      [`after=${cursor(['global'])}`, 'after'],
      ['limit=0', 'limit'],
      ['limit=1001', 'limit'],
      ['tenant=bad%20name', 'tenant'],
      ['tenant=nobody', 'tenant'],
      ['colour=red', 'colour'],
    ]) {
      const response = await get(`/v1/rules/winning-order?${query}`);
      expect(response.statusCode, `${query}: ${response.body}`).toBe(400);
      expect(JSON.stringify(response.json()), query).toContain(field);
    }
  });
});
