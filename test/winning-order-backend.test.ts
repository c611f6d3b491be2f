// The rules in winning order (the console's Blocked numbers and Addresses pages) on both
// backends: the same rules give the same pages and the same cursors, paging through with
// `next`, over DIDs', tenants' and global scopes and every kind of rule; names ordered byte
// by byte as SQLite orders them, even on a PostgreSQL whose own collation orders words.
import { randomBytes } from 'node:crypto';
import { Client, Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliActing, principalActing } from '../agent/operations/acting';
import type { Acting } from '../agent/operations/acting';
import { addRules } from '../agent/operations/rules';
import { addDid, addTenant } from '../agent/operations/tenants';
import { winningRules } from '../agent/operations/winning-rules';
import type { WinningRulesRequest, WinningRulesStores } from '../agent/operations/winning-rules';
import { migratePostgres } from '../agent/store/postgres/migrate';
import { numericTypes } from '../agent/store/postgres/pg-types';
import { PostgresRuleBackend } from '../agent/store/postgres/rule-backend';
import { PostgresTenantBackend } from '../agent/store/postgres/tenant-backend';
import { PostgresWinningOrderBackend } from '../agent/store/postgres/winning-order-backend';
import type { RuleRow } from '../agent/store/rules';
import { BACKENDS } from './helpers/both-backends';
import type { Backend } from './helpers/both-backends';
import { databaseUrl, dropDatabase, postgresAdminUrl } from './helpers/postgres';

const ACTOR = 'cli:tester';
const admin = cliActing(ACTOR);
const acmeManager = principalActing({ kind: 'user', name: 'ann', role: 'manager', tenants: ['acme'] });
const COUNTRY = 'US';
const ACME_DIDS = ['+14045550100', '+14045550101'];
const BETA_DID = '+13125550100';
/** Claimed by no tenant: its rules are the default tenant's. */
const LOOSE_DID = '+12125550100';

type Stores = Pick<Backend, 'rules' | 'tenants' | 'winningOrder'>;
type Opener = (cleanups: (() => unknown)[]) => Promise<Stores>;

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * A PostgreSQL database whose own collation orders text as English words (`acme` before
 * `Beta`, punctuation apart), where SQLite orders bytes (`Beta` before `acme`): without
 * COLLATE "C" in its queries the pages would differ.
 */
const wordOrderedPostgres: Opener = async (cleanups) => {
  const name = `callguard_${process.pid}_${randomBytes(6).toString('hex')}_icu`;
  const admin = new Client({ connectionString: postgresAdminUrl() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C'`);
  } finally {
    await admin.end();
  }
  const url = databaseUrl(name);
  const pool = new Pool({ connectionString: url, max: 4, types: numericTypes });
  pool.on('error', () => undefined);
  cleanups.push(() => dropDatabase(url), () => pool.end());
  await migratePostgres(pool);
  const { rows } = await pool.query<{ words: boolean }>("SELECT 'acme' < 'Beta' AS words");
  expect(rows[0]!.words, 'the database orders text as words').toBe(true);
  return { rules: new PostgresRuleBackend(pool, ACTOR), tenants: new PostgresTenantBackend(pool, ACTOR), winningOrder: new PostgresWinningOrderBackend(pool) };
};

const OPENERS: [string, Opener][] = [
  ...BACKENDS.map(([name, open]): [string, Opener] => [name, (cleanups) => open(ACTOR, cleanups)]),
  ['PostgreSQL ordering text as words', wordOrderedPostgres],
];

/** The same rules, added in the same order at the same times, so ids and rows are alike on every backend. */
async function seed(stores: Stores): Promise<void> {
  for (const tenant of ['acme', 'Beta', 'a-z', 'a_z']) await addTenant(stores.tenants, admin, tenant);
  for (const did of ACME_DIDS) await addDid(stores.tenants, admin, did, 'acme', COUNTRY);
  await addDid(stores.tenants, admin, BETA_DID, 'Beta', COUNTRY);
  let now = 1_000;
  const add = (patterns: string, action: string, scope: string) => addRules(stores.rules, admin, { patterns, action, scope }, COUNTRY, now++);
  await add(Array.from({ length: 12 }, (_, i) => `+1212555${String(1000 + i)}`).join(','), 'block', 'global');
  await add('404', 'block', 'global');
  await add('404-555', 'challenge', 'global');
  await add('+1404555123*', 'busy', 'global');
  await add('404-555-1234', 'voicemail', 'global');
  await add('anonymous', 'challenge', 'global');
  await add('10.0.0.0/8', 'block', 'global');
  await add('10.1.2.3', 'block', 'global');
  await add('10.1.0.0/16', 'block', 'global');
  await add('bot@spam.example', 'block', 'global');
  await add('*@spam.example', 'block', 'global');
  await add('404-555, 404-555-7777, 212-555-1000', 'allow', 'tenant:acme');
  await add('anonymous', 'voicemail', 'tenant:acme');
  await add('192.168.1.1, 192.168.0.0/16', 'block', 'tenant:acme');
  await add('312, 312-555-0199', 'block', 'tenant:Beta');
  await add('212-555-0001', 'block', 'tenant:a-z');
  await add('212-555-0002', 'block', 'tenant:a_z');
  await add('404-555-9999, 404', 'disconnected', `did:${ACME_DIDS[0]}`);
  await add('404-555-8888', 'block', `did:${ACME_DIDS[1]}`);
  await add('312, 312-555-4444', 'busy', `did:${BETA_DID}`);
  await add('212-555-3333', 'block', `did:${LOOSE_DID}`);
}

/** Every page of a listing, following `next` until there is none. */
async function allPages(stores: WinningRulesStores, acting: Acting, request: Omit<WinningRulesRequest, 'after'>): Promise<{ rules: RuleRow[]; next: string | null }[]> {
  const pages: { rules: RuleRow[]; next: string | null }[] = [];
  let after: string | undefined;
  do {
    const page = await winningRules(stores, acting, { ...request, after }, COUNTRY);
    pages.push(page);
    after = page.next ?? undefined;
  } while (after !== undefined && pages.length < 1000);
  return pages;
}

const LISTINGS: [string, Acting, Omit<WinningRulesRequest, 'after'>][] = [
  ['everything, three at a time', admin, { limit: 3 }],
  ['everything, seven at a time', admin, { limit: 7 }],
  ['everything in one page', admin, { limit: 1000 }],
  ["acme's numbers, prefixes and anonymous", admin, { tenant: 'acme', kinds: 'number,prefix,anonymous', limit: 4 }],
  ["Beta's", admin, { tenant: 'Beta', limit: 2 }],
  ["the default tenant's (a DID no tenant claims)", admin, { tenant: 'default', limit: 2 }],
  ['addresses and URIs', admin, { kinds: 'ip,sip', limit: 2 }],
  ['prefixes only', admin, { kinds: 'prefix', limit: 1 }],
  ["acme's manager, every scope they see", acmeManager, { limit: 5 }],
];

describe('rules in winning order on every backend', () => {
  const opened: [string, WinningRulesStores][] = [];
  beforeAll(async () => {
    for (const [name, open] of OPENERS) {
      const stores = await open(cleanups);
      await seed(stores);
      opened.push([name, { order: stores.winningOrder, tenants: stores.tenants, rules: stores.rules }]);
    }
  });

  it.each(LISTINGS)('gives the same pages and cursors: %s', async (_listing, acting, request) => {
    const [first, ...others] = await Promise.all(opened.map(async ([name, stores]) => [name, await allPages(stores, acting, request)] as const));
    const [, pages] = first!;
    expect(pages.length).toBeGreaterThan(request.limit < 1000 ? 1 : 0);
    for (const page of pages.slice(0, -1)) expect(page.rules).toHaveLength(request.limit);
    const ids = pages.flatMap((page) => page.rules.map((rule) => rule.id));
    expect(new Set(ids).size).toBe(ids.length);
    for (const [name, theirs] of others) expect(theirs, name).toEqual(pages);
  });

  it('orders scopes narrowest first, each name byte by byte as SQLite does: DIDs, tenants, global', async () => {
    for (const [name, stores] of opened) {
      const rules = (await allPages(stores, admin, { limit: 1000 })).flatMap((page) => page.rules);
      expect([...new Set(rules.map((rule) => rule.scope))], name).toEqual([
        `did:${LOOSE_DID}`,
        `did:${BETA_DID}`,
        `did:${ACME_DIDS[0]}`,
        `did:${ACME_DIDS[1]}`,
        'tenant:Beta',
        'tenant:a-z',
        'tenant:a_z',
        'tenant:acme',
        'global',
      ]);
      const addresses = (await allPages(stores, admin, { kinds: 'ip,sip', limit: 2 })).flatMap((page) => page.rules.map((rule) => `${rule.scope} ${rule.pattern}`));
      expect(addresses, name).toEqual([
        'tenant:acme 192.168.1.1',
        'tenant:acme 192.168.0.0/16',
        'global bot@spam.example',
        'global 10.1.2.3',
        'global 10.1.0.0/16',
        'global 10.0.0.0/8',
        'global *@spam.example',
      ]);
      const acme = (await allPages(stores, admin, { tenant: 'acme', kinds: 'number,prefix', limit: 3 })).flatMap((page) => page.rules.map((rule) => `${rule.scope} ${rule.kind} ${rule.key}`));
      expect(acme.slice(0, 5), name).toEqual([
        `did:${ACME_DIDS[0]} number +14045559999`,
        `did:${ACME_DIDS[0]} prefix +1404`,
        `did:${ACME_DIDS[1]} number +14045558888`,
        'tenant:acme number +12125551000',
        'tenant:acme number +14045557777',
      ]);
    }
  });

  it('refuses a bad cursor, kind or tenant alike, naming the field', async () => {
    const cursor = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    for (const [, stores] of opened) {
      const field = (request: WinningRulesRequest) => winningRules(stores, admin, request, COUNTRY).then(() => 'accepted', (error: { field?: string }) => error.field);
      expect(await field({ kinds: 'number,fax', limit: 5 })).toBe('kinds');
      expect(await field({ after: 'not-a-cursor', limit: 5 })).toBe('after');
      expect(await field({ after: cursor({ scope: 'did:+19995550000', group: 0, span: 0, id: 1 }), limit: 5 })).toBe('after');
      expect(await field({ tenant: 'nobody', limit: 5 })).toBe('tenant');
      await expect(winningRules(stores, acmeManager, { tenant: 'Beta', limit: 5 }, COUNTRY)).rejects.toThrow('may not see tenant Beta');
    }
  });
});
