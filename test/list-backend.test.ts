// Lists, and rules as CSV, on both backends: the SQLite file and a fleet's PostgreSQL show the
// same lists, switch them with the same audit entries and refusals (nothing changed), import
// the same files all or nothing (a bad line named, nothing added, not even its list), and
// export the same bytes for the same rules.
import { Readable } from 'node:stream';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { BadInput } from '../agent/engine/bad-input';
import { Forbidden, NotFound, cliActing, principalActing } from '../agent/operations/acting';
import type { Acting } from '../agent/operations/acting';
import { addRules, everyRule, listLists, removeRules, setListEnabled } from '../agent/operations/rules';
import { ImportRefused, exportListCsv, exportRulesCsv, importRulesCsv, importRulesCsvText } from '../agent/operations/rules-csv';
import type { ExportFilter, ImportFormat, ImportOverrides, ImportResult } from '../agent/operations/rules-csv';
import { addDid, addTenant } from '../agent/operations/tenants';
import { PostgresRuleBackend } from '../agent/store/postgres/rule-backend';
import { PostgresTenantBackend } from '../agent/store/postgres/tenant-backend';
import type { RuleRow } from '../agent/store/rules';
import { BACKENDS } from './helpers/both-backends';
import type { Backend } from './helpers/both-backends';
import { migratedPostgres, untilAsync } from './helpers/postgres-agent';

const COUNTRY = 'US';
const ACTOR = 'cli:tester';
const admin = cliActing(ACTOR);
const principal = (name: string, role: string, tenants: string[]): Acting => principalActing({ kind: 'user', name, role, tenants } as never);
const acmeManager = principal('ann', 'manager', ['acme']);
const acmeViewer = principal('vic', 'viewer', ['acme']);
const ACME_DID = '+14045550100';
const GLOBEX_DID = '+12125550100';
const HEADER = 'pattern,action,target,scope,sms,note,list,expires,when,tz\n';

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A new store of one backend with tenants acme and globex, each with a DID. */
async function storeWithTenants(open: (typeof BACKENDS)[number][1]): Promise<Backend> {
  const backend = await open(ACTOR, cleanups);
  for (const [tenant, did] of [['acme', ACME_DID], ['globex', GLOBEX_DID]] as const) {
    await addTenant(backend.tenants, admin, tenant);
    await addDid(backend.tenants, admin, did, tenant, COUNTRY);
  }
  return backend;
}

type ImportPath = 'stream' | 'text';

/** Imports CSV as the CLI does (a stream) or as the API does (text in memory). */
function importCsv(backend: Backend, acting: Acting, csv: string, via: ImportPath, more: { format?: ImportFormat; overrides?: ImportOverrides; label?: string; onProgress?: (bytes: number, rows: number) => void } = {}): Promise<ImportResult> {
  const options = { format: more.format, label: more.label ?? 'import test.csv', onProgress: more.onProgress };
  if (via === 'text') return importRulesCsvText(backend.rules, acting, csv, more.overrides ?? {}, COUNTRY, options, 5_000);
  return importRulesCsv(backend.rules, acting, Readable.from([Buffer.from(csv)]), more.overrides ?? {}, COUNTRY, options, 5_000);
}

async function exported(backend: Backend, acting: Acting = admin, filter: ExportFilter = {}): Promise<string> {
  let text = '';
  for await (const chunk of exportRulesCsv(backend.rules, acting, filter, COUNTRY)) text += chunk;
  return text;
}

async function allRules(backend: Backend): Promise<RuleRow[]> {
  const rules: RuleRow[] = [];
  for await (const rule of everyRule(backend.rules)) rules.push(rule);
  return rules;
}

const rulesText = async (backend: Backend) => (await allRules(backend)).map((rule) => `${rule.scope} ${rule.key} ${rule.action}${rule.target ? ` ${rule.target}` : ''}${rule.list ? ` ${rule.list}` : ''}`);
const auditText = async (backend: Backend, entity: string) => (await backend.audit(entity)).map(({ actor, verb, key }) => `${actor} ${verb} ${key}`);

/** What a refused promise was refused with. */
async function refusal(work: Promise<unknown>): Promise<Error> {
  return work.then(
    () => {
      throw new Error('accepted');
    },
    (error: Error) => error,
  );
}

/** Rules across a choice of lists and scopes, as the lists page shows them. */
async function seedLists(backend: Backend): Promise<void> {
  const add = (patterns: string, scope: string, list: string) => addRules(backend.rules, admin, { patterns, action: 'block', scope, list }, COUNTRY);
  await add('212-555-0000', 'tenant:acme', 'spam');
  await add('212-555-0001, 212-555-0002', 'global', 'spam');
  await add('212-555-0003', 'tenant:acme', 'mixed');
  await add('212-555-0004', 'tenant:globex', 'mixed');
  await add('212-555-0005, 212-555-0006', 'tenant:acme', 'acme-only');
  await add('212-555-0007', `did:${ACME_DID}`, 'acme-only');
  await add('212-555-0008', 'tenant:globex', 'theirs');
  await add('212-555-0010', 'tenant:acme', 'via-did');
  await add('212-555-0011', `did:${GLOBEX_DID}`, 'via-did');
  const [gone] = await add('212-555-0009', 'global', 'empty');
  await removeRules(backend.rules, admin, [gone!.id], COUNTRY);
}

describe.each(BACKENDS)('lists on %s', (_name, open) => {
  let backend: Backend;
  beforeEach(async () => {
    backend = await storeWithTenants(open);
    await seedLists(backend);
  });

  it('lists every list to an administrator, and to a manager those with rules they see, counting only those', async () => {
    expect(await listLists(backend.rules, admin, COUNTRY)).toEqual([
      { name: 'acme-only', enabled: true, rules: 3, mayChange: true },
      { name: 'empty', enabled: true, rules: 0, mayChange: true },
      { name: 'mixed', enabled: true, rules: 2, mayChange: true },
      { name: 'spam', enabled: true, rules: 3, mayChange: true },
      { name: 'theirs', enabled: true, rules: 1, mayChange: true },
      { name: 'via-did', enabled: true, rules: 2, mayChange: true },
    ]);
    expect(await listLists(backend.rules, acmeManager, COUNTRY)).toEqual([
      { name: 'acme-only', enabled: true, rules: 3, mayChange: true },
      { name: 'mixed', enabled: true, rules: 1, mayChange: false },
      { name: 'spam', enabled: true, rules: 3, mayChange: false },
      { name: 'via-did', enabled: true, rules: 1, mayChange: false },
    ]);
    expect((await listLists(backend.rules, acmeViewer, COUNTRY)).map((list) => `${list.name} ${list.mayChange}`)).toEqual(['acme-only false', 'mixed false', 'spam false', 'via-did false']);
  });

  it('switches a list off and on, each switch audited', async () => {
    await setListEnabled(backend.rules, acmeManager, 'acme-only', false, COUNTRY);
    await setListEnabled(backend.rules, admin, 'theirs', false, COUNTRY);
    expect((await listLists(backend.rules, admin, COUNTRY)).filter((list) => !list.enabled).map((list) => list.name)).toEqual(['acme-only', 'theirs']);
    await setListEnabled(backend.rules, admin, 'acme-only', true, COUNTRY);
    expect((await listLists(backend.rules, acmeManager, COUNTRY)).find((list) => list.name === 'acme-only')).toEqual({ name: 'acme-only', enabled: true, rules: 3, mayChange: true });
    expect(await auditText(backend, 'list')).toEqual([`${ACTOR} change acme-only`, `${ACTOR} change theirs`, `${ACTOR} change acme-only`]);
  });

  it("refuses a manager a list holding global rules or another tenant's (by DID too), a viewer any, and one they do not see; nothing changes", async () => {
    const refusals: [Acting, string, new (...args: never[]) => Error, string][] = [
      [acmeManager, 'mixed', Forbidden, 'user:ann may not switch list mixed: it holds rules (tenant:globex) that are not theirs to change'],
      [acmeManager, 'spam', Forbidden, 'user:ann may not switch list spam: it holds rules (global) that are not theirs to change'],
      [acmeManager, 'via-did', Forbidden, `user:ann may not switch list via-did: it holds rules (did:${GLOBEX_DID}) that are not theirs to change`],
      [acmeViewer, 'acme-only', Forbidden, 'user:vic may only look, not change'],
      [acmeManager, 'theirs', NotFound, `unknown list "theirs": lists are made by 'rules add --list theirs' or 'rules import --list theirs'`],
      [acmeManager, 'empty', NotFound, `unknown list "empty": lists are made by 'rules add --list empty' or 'rules import --list empty'`],
      [admin, 'nowhere', NotFound, `unknown list "nowhere": lists are made by 'rules add --list nowhere' or 'rules import --list nowhere'`],
    ];
    for (const [acting, name, kind, message] of refusals) {
      const error = await refusal(setListEnabled(backend.rules, acting, name, false, COUNTRY));
      expect(error, name).toBeInstanceOf(kind);
      expect(error.message).toBe(message);
    }
    expect(await refusal(setListEnabled(backend.rules, admin, 'bad name!', false, COUNTRY))).toMatchObject({ field: 'name' });
    expect((await listLists(backend.rules, admin, COUNTRY)).every((list) => list.enabled)).toBe(true);
    expect(await backend.audit('list')).toEqual([]);
  });

  it("exports a list to a manager with the rules of it they see, and refuses one they do not see before a byte", async () => {
    let text = '';
    for await (const chunk of await exportListCsv(backend.rules, acmeManager, 'mixed', COUNTRY)) text += chunk;
    expect(text).toBe(`${HEADER}212-555-0003,block,,tenant:acme,no,,mixed,,,\n`);
    await expect(exportListCsv(backend.rules, acmeManager, 'theirs', COUNTRY)).rejects.toBeInstanceOf(NotFound);
    await expect(exportListCsv(backend.rules, admin, 'nowhere', COUNTRY)).rejects.toBeInstanceOf(NotFound);
  });
});

describe.each(BACKENDS)('CSV import on %s', (_name, open) => {
  let backend: Backend;
  beforeEach(async () => {
    backend = await storeWithTenants(open);
  });

  it.each(['stream', 'text'] as const)('imports the callguard format from a %s, replacing a rule of the same match and scope, audited as one entry', async (via) => {
    const [existing] = await addRules(backend.rules, admin, { patterns: '404-555-1234', action: 'block' }, COUNTRY, 1_000);
    const csv =
      HEADER +
      '404-555-1234,challenge,,global,yes,now challenged,imported,,,\n' +
      `212*,forward,404-555-0000,did:${ACME_DID},no,,imported,2031-06-30T12:00:00.000Z,mon-fri 09:00-17:00,UTC\n` +
      '312-555-0000,block,,tenant:acme,no,first,,,,\n' +
      '312-555-0000,busy,,tenant:acme,no,second,,,,\n' + // the same match and scope again: the later row wins
      'anonymous,block,,tenant:acme,no,"  padded, ""quoted""  ",imported,,,\n';
    expect(await importCsv(backend, admin, csv, via)).toEqual({ rows: 5, skipped: 0 });
    expect(await rulesText(backend)).toEqual([
      'global +14045551234 challenge imported',
      `did:${ACME_DID} +1212 forward +14045550000 imported`,
      'tenant:acme +13125550000 busy',
      'tenant:acme anonymous block imported',
    ]);
    const replaced = await backend.rules.byId(existing!.id);
    expect(replaced).toMatchObject({ action: 'challenge', sms: true, note: 'now challenged', createdAt: 1_000, updatedAt: 5_000 });
    expect((await allRules(backend)).find((rule) => rule.kind === 'anonymous')?.note).toBe('  padded, "quoted"  ');
    expect(await auditText(backend, 'rule')).toEqual([`${ACTOR} add #${existing!.id}`, `${ACTOR} import import test.csv`]);
    expect(await backend.count('lists')).toBe(1);
  });

  it.each(['stream', 'text'] as const)('imports FTC complaints from a %s: a block rule per new number in list ftc-dnc, other rows counted as skipped', async (via) => {
    const csv = 'Company_Phone_Number,Created_Date,Subject\n404-555-1234,2026-11-01,Medicare\n(404) 555-1234,2026-11-02,Medicare\n,2026-11-02,No number\n212*,2026-11-03,A prefix\n312-555-0000,2026-11-04,Loans\n';
    expect(await importCsv(backend, admin, csv, via, { format: 'ftc' })).toEqual({ rows: 2, skipped: 3 });
    expect(await rulesText(backend)).toEqual(['global +14045551234 block ftc-dnc', 'global +13125550000 block ftc-dnc']);
    expect((await allRules(backend))[0]!.note).toBe('Created_Date: 2026-11-01; Subject: Medicare');
    const manager = await importCsv(backend, acmeManager, csv, via, { format: 'ftc', overrides: { scope: 'tenant:acme', list: 'acme-dnc' } });
    expect(manager).toEqual({ rows: 2, skipped: 3 });
    expect((await rulesText(backend)).slice(2)).toEqual(['tenant:acme +14045551234 block acme-dnc', 'tenant:acme +13125550000 block acme-dnc']);
  });

  it.each(['stream', 'text'] as const)('refuses a bad line from a %s naming it, and adds nothing, not even its list', async (via) => {
    await addRules(backend.rules, admin, { patterns: '999*', action: 'allow' }, COUNTRY);
    const before = { rules: await rulesText(backend), lists: await backend.count('lists'), audit: await backend.audit('rule') };
    const bad: [string, string, RegExp][] = [
      [`${HEADER}404-555-1234,block,,,,,newlist,,,\n212-555-0000,block,,,,,newlist,,,\nnot-a-number,block,,,,,newlist,,,\n`, 'line 4', /^line 4: bad pattern "not-a-number"/],
      ['pattern,action\n4045551234,block\n2125550000,explode\n', 'line 3', /^line 3: unknown action "explode"/],
      ['pattern,action,scope,list\n4045551234,block,,newlist\n4045551235,block,tenant:nowhere,newlist\n', 'line 3', /^line 3: unknown tenant "nowhere"/],
      ['pattern,action,note\n4045551234,block,"never closed\n', 'line 2', /^line 2: not valid CSV/],
    ];
    for (const [csv, field, message] of bad) {
      const error = await refusal(importCsv(backend, admin, csv, via));
      expect(error, csv).toBeInstanceOf(ImportRefused);
      expect((error as BadInput).field).toBe(field);
      expect(error.message).toMatch(message);
      expect(error.message).toMatch(/nothing was imported$/);
    }
    const foreign = await refusal(importCsv(backend, acmeManager, `${HEADER}404-555-1234,block,,tenant:acme,,,newlist,,,\n404-555-1235,block,,did:${GLOBEX_DID},,,newlist,,,\n`, via));
    expect(foreign).toBeInstanceOf(Forbidden);
    expect(foreign.message).toBe('line 3: user:ann may not change tenant globex; nothing was imported');
    expect(await refusal(importCsv(backend, acmeViewer, '404-555-1234\n', via, { overrides: { action: 'block', scope: 'tenant:acme' } }))).toBeInstanceOf(Forbidden);
    expect(await refusal(importCsv(backend, admin, '404-555-1234\n', via, { overrides: { action: 'explode' } }))).toMatchObject({ field: 'action' });
    expect(await rulesText(backend)).toEqual(before.rules);
    expect(await backend.count('lists')).toBe(before.lists);
    expect(await backend.audit('rule')).toEqual(before.audit);
  });

  it('streams a file of many batches: every row in file order, a repeated match replaced where it first stood, progress every 10,000 rows', async () => {
    const count = 12_345;
    const numbers = Array.from({ length: count }, (_, i) => `+1404${2_000_000 + i}`);
    // The first number again at the end (another batch by then), with another action.
    const csv = `${numbers.map((number) => `${number},block`).join('\n')}\n${numbers[0]},busy\n`;
    const progress: number[] = [];
    expect(await importCsv(backend, admin, csv, 'stream', { overrides: { list: 'bulk' }, onProgress: (_bytes, rows) => progress.push(rows) })).toEqual({ rows: count + 1, skipped: 0 });
    expect(progress).toEqual([10_000]);
    const rules = await allRules(backend);
    expect(rules.map((rule) => rule.key)).toEqual(numbers);
    expect(rules[0]).toMatchObject({ key: numbers[0], action: 'busy', list: 'bulk' });
    expect(rules.slice(1).every((rule) => rule.action === 'block')).toBe(true);
    // The text path (the API's) holds its rows for one write: the batches still fit PostgreSQL's limits.
    const again = `${numbers.slice(0, 2_500).map((number) => `${number},allow`).join('\n')}\n`;
    expect(await importCsv(backend, admin, again, 'text')).toEqual({ rows: 2_500, skipped: 0 });
    expect((await allRules(backend)).filter((rule) => rule.action === 'allow')).toHaveLength(2_500);
    expect(await backend.count('rules')).toBe(count);
    expect((await backend.audit('rule')).map((entry) => entry.verb)).toEqual(['import', 'import']);
  });
});

describe('the same CSV from both backends', () => {
  const RICH =
    HEADER +
    '702-500-4000,block,,global,yes,"spam, ""loud"" caller",intl,,,\n' +
    '+44 20*,voicemail,200,tenant:acme,no,,intl,2031-06-30T12:00:00.000Z,,\n' +
    `3125551234,forward,404-555-0000,did:${ACME_DID},no,"  padded  ",intl,,,\n` +
    'anonymous,challenge,,global,no,,intl,,mon-fri 17:00-09:00,America/New_York\n' +
    '203.0.113.0/24,challenge,,tenant:globex,no,,,,,\n' +
    '*@example.com,busy,,global,no,naïve café ☎,other,,,\n' +
    '404-555-7777,allow,,global,no,,other,,,\n';

  it('exports the same bytes for the same rules, whole or filtered, and an export imported into either backend exports them again', async () => {
    const stores = await Promise.all(BACKENDS.map(([, open]) => storeWithTenants(open)));
    for (const store of stores) expect(await importCsv(store, admin, RICH, 'stream')).toEqual({ rows: 7, skipped: 0 });
    const [sqlite, postgres] = stores as [Backend, Backend];
    const whole = await exported(sqlite);
    expect(whole.startsWith(HEADER)).toBe(true);
    expect(whole.split('\n')).toHaveLength(9);
    expect(await exported(postgres)).toBe(whole);
    for (const filter of [{ list: 'intl' }, { scope: 'tenant:acme' }, { list: 'nowhere' }]) expect(await exported(postgres, admin, filter), JSON.stringify(filter)).toBe(await exported(sqlite, admin, filter));
    expect(await exported(postgres, acmeManager)).toBe(await exported(sqlite, acmeManager));
    expect(await exported(sqlite, acmeManager)).not.toContain('tenant:globex');

    // Each backend's export into a fresh store of the other (and its own) comes back byte for byte.
    for (const [from, to] of [[sqlite, 1], [postgres, 0], [postgres, 1]] as const) {
      const fresh = await storeWithTenants(BACKENDS[to]![1]);
      await importCsv(fresh, admin, await exported(from), 'text');
      expect(await exported(fresh)).toBe(whole);
    }
  });
});

describe('switching a list on PostgreSQL', () => {
  it("waits for a rule joining the list in another transaction, then sees it: a manager is refused for another tenant's rule", async () => {
    const { pool } = await migratedPostgres(cleanups);
    const rules = new PostgresRuleBackend(pool, ACTOR);
    for (const tenant of ['acme', 'globex']) await addTenant(new PostgresTenantBackend(pool, ACTOR), admin, tenant);
    await addRules(rules, admin, { patterns: '212*', action: 'block', scope: 'tenant:acme', list: 'acme-only' }, COUNTRY);

    const other = await pool.connect();
    try {
      await other.query('BEGIN');
      await other.query(
        "INSERT INTO rules (scope, kind, key, pattern, span, action, sms, list, created_at, updated_at) VALUES ('tenant:globex', 'prefix', '+1312', '312*', 4, 'block', 0, 'acme-only', 0, 0)",
      );
      const switching = refusal(setListEnabled(rules, acmeManager, 'acme-only', false, COUNTRY));
      await untilAsync(
        async () => (await pool.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")).rows[0].n > 0,
        'the switch to wait for the list',
      );
      await other.query('COMMIT');
      const error = await switching;
      expect(error).toBeInstanceOf(Forbidden);
      expect(error.message).toBe('user:ann may not switch list acme-only: it holds rules (tenant:globex) that are not theirs to change');
    } finally {
      other.release();
    }
    expect((await pool.query("SELECT enabled FROM lists WHERE name = 'acme-only'")).rows).toEqual([{ enabled: 1 }]);
    expect((await pool.query("SELECT count(*)::int AS n FROM audit WHERE entity = 'list'")).rows).toEqual([{ n: 0 }]);
  });
});
