// The REST API's rule edit, lists, and CSV import and export, over the real store through
// Fastify's request injection: every route's happy path, each validation error a 400 naming
// the field (or the CSV line) with nothing written, role and tenant boundaries, and the CLI
// (the built binary, on the same database file) seeing the API's changes and the other way round.
import { sqliteBackends } from '../agent/operations/store-backends';
import type { Database } from 'better-sqlite3';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApi } from '../agent/api/server';
import type { Api } from '../agent/api/server';
import type { E164 } from '../agent/engine/types';
import { ReputationClient } from '../agent/screening/reputation';
import { AuditTrail } from '../agent/store/audit';
import { openDatabase } from '../agent/store/database';
import { RuleStore } from '../agent/store/rules';
import type { RuleRow } from '../agent/store/rules';
import { TenantStore } from '../agent/store/tenants';
import { MemoryAuthenticator, as } from './helpers/api';
import { assertBuilt, cliFor, describeRun, jsonOf } from './helpers/run-cli';
import type { CliResult } from './helpers/run-cli';
import { makeTempDir } from './helpers/temp-db';
import type { TempDir } from './helpers/temp-db';

let dir: TempDir;
let db: Database;
let api: Api;
let cli: (...args: string[]) => CliResult;

/** An API over a database with tenants acme (DID +14045550100) and globex (DID +13125550100). */
async function apiOver(file: string): Promise<{ db: Database; api: Api }> {
  const opened = openDatabase(file);
  const tenants = new TenantStore(opened, 'test');
  tenants.add('acme');
  tenants.add('globex');
  tenants.addDid('+14045550100' as E164, 'acme');
  tenants.addDid('+13125550100' as E164, 'globex');
  const built = await buildApi({ store: sqliteBackends(opened), country: 'US', authenticator: new MemoryAuthenticator(), reputation: new ReputationClient(), logger: pino({ level: 'silent' }), secure: false });
  return { db: opened, api: built };
}

beforeEach(async () => {
  assertBuilt();
  dir = makeTempDir('callguard-api-lists-');
  ({ db, api } = await apiOver(dir.file('callguard.db')));
  cli = cliFor(dir.file('callguard.db'));
});

afterEach(async () => {
  await api.close();
  db.close();
  dir.remove();
});

function expectCli(result: CliResult, stdout?: string): CliResult {
  expect(result.status, describeRun(result)).toBe(0);
  if (stdout !== undefined) expect(result.stdout, describeRun(result)).toBe(stdout);
  return result;
}

const rules = () => [...new RuleStore(db, 'test').iterate()];
const rulesText = () => rules().map((rule) => `${rule.scope} ${rule.key} ${rule.action}${rule.list ? ` ${rule.list}` : ''}`);
const generation = () => db.prepare("SELECT value FROM meta WHERE key = 'generation'").pluck().get() as number;
const auditRows = () => new AuditTrail(db, 'test').list(undefined, 10_000);
const listNames = () => db.prepare('SELECT name FROM lists ORDER BY name').pluck().all() as string[];

/** Adds rules through the API as the administrator token; answers their ids. */
async function add(payload: Record<string, unknown>): Promise<number[]> {
  const response = await api.inject({ method: 'POST', url: '/v1/rules', headers: as('cg_admin'), payload });
  expect(response.statusCode, response.body).toBe(201);
  return (response.json() as { rules: { id: number }[] }).rules.map((rule) => rule.id);
}

const patch = (id: number | string, payload: Record<string, unknown>, token = 'cg_admin') => api.inject({ method: 'PATCH', url: `/v1/rules/${id}`, headers: as(token), payload });
const csvPost = (body: string, query = '', token = 'cg_admin') =>
  api.inject({ method: 'POST', url: `/v1/rules/import${query}`, headers: { ...as(token), 'content-type': 'text/csv' }, payload: body });

// ---------------------------------------------------------------- rule edit

describe('PATCH /v1/rules/{id}', () => {
  it('changes what a rule does, audited with before and after, bumping the generation; the CLI sees it', async () => {
    const [id] = await add({ patterns: '702-500-4000', action: 'block', scope: 'tenant:acme', note: 'first' });
    const before = generation();
    const response = await patch(id!, { action: 'forward', to: '404-555-0000', sms: true, note: 'moved on', list: 'vip', expires: '2031-06-30T12:00:00Z', when: 'mon-fri 09:00-17:00', tz: 'America/New_York' });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toMatchObject({
      id,
      scope: 'tenant:acme',
      key: '+17025004000',
      action: 'forward',
      target: '+14045550000',
      sms: true,
      note: 'moved on',
      list: 'vip',
      expiresAt: Date.parse('2031-06-30T12:00:00Z'),
      when: 'mon-fri 09:00-17:00',
      tz: 'America/New_York',
    });
    expect(generation()).toBeGreaterThan(before);
    expect(listNames()).toEqual(['vip']);
    const change = auditRows().find((row) => row.verb === 'change' && row.entity === 'rule')!;
    expect(change).toMatchObject({ actor: 'token:ops', key: `#${id}`, before: { action: 'block', note: 'first', target: null }, after: { action: 'forward', target: '+14045550000', note: 'moved on' } });

    // A target alone goes with the action the rule has; a window keeps its zone.
    expect((await patch(id!, { to: '212-555-0000' })).json()).toMatchObject({ action: 'forward', target: '+12125550000', list: 'vip' });
    expect((await patch(id!, { when: 'sat 10:00-14:00' })).json()).toMatchObject({ when: 'sat 10:00-14:00', tz: 'America/New_York' });
    // Empty strings clear; a new action without a target drops the old one.
    const cleared = await patch(id!, { action: 'challenge', note: '', list: '', expires: '', when: '' });
    expect(cleared.json()).toMatchObject({ action: 'challenge', target: null, note: null, list: null, expiresAt: null, when: null, tz: null, sms: true });

    const listed = jsonOf<RuleRow[]>(cli('rules', 'list', '--json'));
    expect(listed).toEqual([expect.objectContaining({ id, action: 'challenge', target: null, sms: true, note: null })]);
  });

  it('a rule the CLI changes is what the API edits next', async () => {
    const [id] = await add({ patterns: '404*', action: 'block' });
    expectCli(cli('rules', 'add', '404*', '--action', 'busy', '--note', 'from the shell'));
    expect((await patch(id!, { sms: true })).json()).toMatchObject({ id, action: 'busy', note: 'from the shell', sms: true });
  });

  it('bad input is a 400 naming the field, and the rule stays as it was', async () => {
    const [id] = await add({ patterns: '702-500-4000', action: 'block' });
    const [windowed] = await add({ patterns: '702-500-4001', action: 'block', when: 'mon 09:00-10:00', tz: 'UTC' });
    const untouched = JSON.stringify(rules());
    const auditCount = auditRows().length;
    const cases: [number | string, Record<string, unknown>, string | undefined][] = [
      [id!, { action: 'explode' }, 'action'],
      [id!, { action: 'forward' }, 'action'],
      [id!, { action: 'voicemail', to: 'bad box!' }, 'action'],
      [id!, { to: '404-555-0000' }, 'action'], // block takes no target
      [id!, { list: 'bad list!' }, 'list'],
      [id!, { expires: 'soonish' }, 'expires'],
      [id!, { expires: '2001-01-01T00:00:00Z' }, 'expires'],
      [id!, { when: 'someday 25:00-26:00' }, 'when'],
      [id!, { tz: 'Europe/Paris' }, 'tz'], // no window to give a zone to
      [windowed!, { tz: 'Mars/Olympus' }, 'when'],
      [id!, { sms: 'perhaps' }, 'sms'],
      [id!, { colour: 'red' }, 'colour'],
      [id!, { scope: 'global' }, 'scope'], // not editable: remove and add
      [id!, {}, undefined],
      ['x', { action: 'block' }, 'id'],
    ];
    for (const [ruleId, payload, field] of cases) {
      const response = await patch(ruleId, payload);
      expect(response.statusCode, `${JSON.stringify(payload)} ${response.body}`).toBe(400);
      expect((response.json() as { field?: string }).field, JSON.stringify(payload)).toBe(field);
    }
    expect(JSON.stringify(rules())).toBe(untouched);
    expect(auditRows()).toHaveLength(auditCount);
  });

  it('tenant-bounded: 404 for a rule the asker cannot see, 403 for one they cannot change; a viewer changes nothing', async () => {
    const [globexRule] = await add({ patterns: '212-555-0000', action: 'block', scope: 'tenant:globex' });
    const [globexDidRule] = await add({ patterns: '212-555-0001', action: 'block', scope: 'did:312-555-0100' });
    const [globalRule] = await add({ patterns: '212-555-0002', action: 'block' });
    const [acmeRule] = await add({ patterns: '212-555-0003', action: 'block', scope: 'did:404-555-0100' });
    const untouched = JSON.stringify(rules());
    expect((await patch(globexRule!, { action: 'allow' }, 'cg_acme')).statusCode).toBe(404);
    expect((await patch(globexDidRule!, { action: 'allow' }, 'cg_acme')).statusCode).toBe(404);
    expect((await patch(999_999, { action: 'allow' }, 'cg_acme')).statusCode).toBe(404);
    expect((await patch(globalRule!, { action: 'allow' }, 'cg_acme')).statusCode).toBe(403);
    expect((await patch(acmeRule!, { action: 'allow' }, 'cg_viewer')).statusCode).toBe(403);
    expect((await patch(globexRule!, { action: 'allow' }, 'cg_viewer')).statusCode).toBe(404);
    expect(JSON.stringify(rules())).toBe(untouched);
    const mine = await patch(acmeRule!, { action: 'allow' }, 'cg_acme');
    expect(mine.statusCode).toBe(200);
    expect(auditRows()[0]).toMatchObject({ actor: 'user:alice', verb: 'change', entity: 'rule', key: `#${acmeRule}` });
  });
});

// ---------------------------------------------------------------- lists

describe('lists', () => {
  /** spam: acme's and global rules; mixed: acme's and globex's; acme-only: acme's only; theirs: globex's only; empty: none left. */
  async function seedLists(): Promise<void> {
    await add({ patterns: '212-555-0000', action: 'block', scope: 'tenant:acme', list: 'spam' });
    await add({ patterns: '212-555-0001, 212-555-0002', action: 'block', list: 'spam' });
    await add({ patterns: '212-555-0003', action: 'block', scope: 'tenant:acme', list: 'mixed' });
    await add({ patterns: '212-555-0004', action: 'block', scope: 'tenant:globex', list: 'mixed' });
    await add({ patterns: '212-555-0005, 212-555-0006', action: 'busy', scope: 'tenant:acme', list: 'acme-only' });
    await add({ patterns: '212-555-0007', action: 'busy', scope: 'did:404-555-0100', list: 'acme-only' });
    await add({ patterns: '212-555-0008', action: 'block', scope: 'tenant:globex', list: 'theirs' });
    const [gone] = await add({ patterns: '212-555-0009', action: 'block', list: 'empty' });
    expect((await api.inject({ method: 'DELETE', url: `/v1/rules/${gone}`, headers: as('cg_admin') })).statusCode).toBe(200);
  }

  const getLists = async (token: string) => {
    const response = await api.inject({ method: 'GET', url: '/v1/lists', headers: as(token) });
    expect(response.statusCode).toBe(200);
    return (response.json() as { lists: { name: string; enabled: boolean; rules: number; mayChange: boolean }[] }).lists;
  };
  const put = (name: string, payload: unknown, token = 'cg_admin') => api.inject({ method: 'PUT', url: `/v1/lists/${name}`, headers: as(token), payload: payload as Record<string, unknown> });

  it('GET /v1/lists: an administrator sees every list with all its rules; a manager the lists with rules they see, counting only those', async () => {
    await seedLists();
    expect(await getLists('cg_admin')).toEqual([
      { name: 'acme-only', enabled: true, rules: 3, mayChange: true },
      { name: 'empty', enabled: true, rules: 0, mayChange: true },
      { name: 'mixed', enabled: true, rules: 2, mayChange: true },
      { name: 'spam', enabled: true, rules: 3, mayChange: true },
      { name: 'theirs', enabled: true, rules: 1, mayChange: true },
    ]);
    expect(await getLists('cg_acme')).toEqual([
      { name: 'acme-only', enabled: true, rules: 3, mayChange: true },
      { name: 'mixed', enabled: true, rules: 1, mayChange: false },
      { name: 'spam', enabled: true, rules: 3, mayChange: false },
    ]);
    expect((await getLists('cg_viewer')).map((list) => [list.name, list.mayChange])).toEqual([
      ['acme-only', false],
      ['mixed', false],
      ['spam', false],
    ]);
  });

  it('PUT /v1/lists/{name}: switches a list, audited, and decisions, the CLI and the API all see it', async () => {
    await seedLists();
    const explain = async () => ((await api.inject({ method: 'GET', url: '/v1/explain?from=%2B12125550005&to=%2B14045550100', headers: as('cg_admin') })).json() as { action: string }).action;
    expect(await explain()).toBe('busy');
    const before = generation();
    const off = await put('acme-only', { enabled: false }, 'cg_acme');
    expect(off.statusCode, off.body).toBe(200);
    expect(off.json()).toEqual({ name: 'acme-only', enabled: false, rules: 3, mayChange: true });
    expect(generation()).toBeGreaterThan(before);
    expect(await explain()).toBe('allow');
    expect(auditRows()[0]).toMatchObject({ actor: 'user:alice', verb: 'change', entity: 'list', key: 'acme-only', before: { enabled: true }, after: { enabled: false } });
    expect(jsonOf<{ name: string; enabled: boolean }[]>(cli('lists', 'list', '--json')).find((list) => list.name === 'acme-only')).toEqual({ name: 'acme-only', enabled: false, rules: 3 });
    expectCli(cli('lists', 'enable', 'acme-only'), 'list acme-only enabled\n');
    expect((await getLists('cg_acme')).find((list) => list.name === 'acme-only')?.enabled).toBe(true);
    expect(await explain()).toBe('busy');
    expect((await put('theirs', { enabled: false })).json()).toMatchObject({ name: 'theirs', enabled: false });
  });

  it('PUT refuses: 403 for a viewer or a list with rules not the manager\'s, 404 for a list they do not see, 400 naming the field', async () => {
    await seedLists();
    const enabled = () => new RuleStore(db, 'test').lists().map((list) => `${list.name}:${list.enabled}`);
    const untouched = enabled();
    const auditCount = auditRows().length;
    const refusals: [string, unknown, string, number, string?][] = [
      ['mixed', { enabled: false }, 'cg_acme', 403],
      ['spam', { enabled: false }, 'cg_acme', 403],
      ['acme-only', { enabled: false }, 'cg_viewer', 403],
      ['theirs', { enabled: false }, 'cg_acme', 404],
      ['empty', { enabled: false }, 'cg_acme', 404],
      ['nowhere', { enabled: false }, 'cg_admin', 404],
      ['bad%20name!', { enabled: false }, 'cg_admin', 400, 'name'],
      ['spam', { enabled: 'maybe' }, 'cg_admin', 400, 'enabled'],
      ['spam', {}, 'cg_admin', 400, 'enabled'],
      ['spam', { enabled: false, colour: 'red' }, 'cg_admin', 400, 'colour'],
    ];
    for (const [name, payload, token, code, field] of refusals) {
      const response = await put(name, payload, token);
      expect(response.statusCode, `${name} ${token} ${response.body}`).toBe(code);
      if (field) expect((response.json() as { field?: string }).field).toBe(field);
    }
    expect(enabled()).toEqual(untouched);
    expect(auditRows()).toHaveLength(auditCount);
  });
});

// ---------------------------------------------------------------- export and import

describe('CSV export and import', () => {
  const header = 'pattern,action,target,scope,sms,note,list,expires,when,tz\n';
  const exportList = (name: string, token = 'cg_admin', on = api) => on.inject({ method: 'GET', url: `/v1/lists/${name}/export`, headers: as(token) });

  it('exports a list exactly as `rules export --list` writes it, and an import of that into a fresh store exports the same bytes', async () => {
    expectCli(cli('rules', 'add', '702-500-4000', '--action', 'block', '--sms', '--note', 'spam, "loud" caller', '--list', 'intl'));
    expectCli(cli('rules', 'add', '+44 20*', '--action', 'voicemail:200', '--scope', 'tenant:acme', '--list', 'intl', '--expires', '2031-06-30T12:00:00Z'));
    expectCli(cli('rules', 'add', '3125551234', '--action', 'forward', '--to', '404-555-0000', '--scope', 'did:(404) 555-0100', '--note', '  padded  ', '--list', 'intl'));
    expectCli(cli('rules', 'add', 'anonymous, 203.0.113.0/24, *@example.com', '--action', 'challenge', '--list', 'intl', '--when', 'mon-fri 17:00-09:00', '--tz', 'America/New_York'));
    expectCli(cli('rules', 'add', '404-555-7777', '--action', 'block', '--list', 'other'));
    const fromCli = expectCli(cli('rules', 'export', '--list', 'intl')).stdout;
    expect(fromCli.startsWith(header)).toBe(true);
    expect(fromCli.split('\n')).toHaveLength(8);

    const exported = await exportList('intl');
    expect(exported.statusCode).toBe(200);
    expect(exported.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(exported.headers['content-disposition']).toBe('attachment; filename="intl.csv"');
    expect(exported.body).toBe(fromCli);

    const other = await apiOver(dir.file('other.db'));
    try {
      const imported = await other.api.inject({ method: 'POST', url: '/v1/rules/import', headers: { ...as('cg_admin'), 'content-type': 'text/csv' }, payload: exported.body });
      expect(imported.statusCode, imported.body).toBe(200);
      expect(imported.json()).toEqual({ imported: 6, skipped: 0 });
      expect((await exportList('intl', 'cg_admin', other.api)).body).toBe(fromCli);
      expectCli(cliFor(dir.file('other.db'))('rules', 'export', '--list', 'intl'), fromCli);
    } finally {
      await other.api.close();
      other.db.close();
    }
  });

  it('a manager exports the rules of a list they see (global and their own), and gets 404 for a list they do not see', async () => {
    await add({ patterns: '212-555-0001', action: 'block', list: 'mixed' });
    await add({ patterns: '212-555-0002', action: 'block', scope: 'tenant:acme', list: 'mixed' });
    await add({ patterns: '212-555-0003', action: 'block', scope: 'tenant:globex', list: 'mixed' });
    await add({ patterns: '212-555-0004', action: 'block', scope: 'tenant:globex', list: 'theirs' });
    const mine = await exportList('mixed', 'cg_acme');
    expect(mine.statusCode).toBe(200);
    expect(mine.body).toBe(`${header}212-555-0001,block,,global,no,,mixed,,,\n212-555-0002,block,,tenant:acme,no,,mixed,,,\n`);
    expect((await exportList('theirs', 'cg_acme')).statusCode).toBe(404);
    expect((await exportList('nowhere')).statusCode).toBe(404);
    expect((await exportList('bad%20name!')).json()).toMatchObject({ field: 'name' });
    expect((await exportList('theirs', 'cg_viewer')).statusCode).toBe(404);
  });

  it('imports a CSV body, all of it, audited as the asker; the CLI sees the rules', async () => {
    const body = `${header}404-555-1234,block,,tenant:acme,yes,from the API,spam,,,\n212*,challenge,,did:+14045550100,no,,,,mon-fri 09:00-17:00,UTC\n`;
    const response = await csvPost(body, '', 'cg_acme');
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toEqual({ imported: 2, skipped: 0 });
    expect(rulesText()).toEqual(['tenant:acme +14045551234 block spam', 'did:+14045550100 +1212 challenge']);
    expect(auditRows()[0]).toMatchObject({ actor: 'user:alice', verb: 'import', entity: 'rule', after: { rules: 2 } });
    expect(jsonOf<RuleRow[]>(cli('rules', 'list', '--json')).map((rule) => rule.key)).toEqual(['+14045551234', '+1212']);
  });

  it('the query overrides the columns: action, scope and list for a headerless one-number-per-line body', async () => {
    const response = await csvPost('4045551234\n(212) 555-0000\n\n+44 20 7946 0000\n', '?action=busy&scope=tenant:acme&list=imported', 'cg_acme');
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toEqual({ imported: 3, skipped: 0 });
    expect(rulesText()).toEqual(['tenant:acme +14045551234 busy imported', 'tenant:acme +12125550000 busy imported', 'tenant:acme +442079460000 busy imported']);
  });

  it('takes the FTC complaint format too', async () => {
    const body = 'Company_Phone_Number,Created_Date,Subject\n404-555-1234,2026-11-01,Medicare\n(404) 555-1234,2026-11-02,Medicare\n,2026-11-02,No number\n';
    const response = await csvPost(body, '?format=ftc');
    expect(response.json()).toEqual({ imported: 1, skipped: 2 });
    expect(rulesText()).toEqual(['global +14045551234 block ftc-dnc']);
  });

  it('takes a body beyond the JSON limit of 1 MB (the CSV parser has its own, 50 MB)', async () => {
    const count = 60_000;
    const body = Array.from({ length: count }, (_, i) => `+1404${2_000_000 + i},block`).join('\n');
    expect(body.length).toBeGreaterThan(1024 * 1024);
    const response = await csvPost(body);
    expect(response.statusCode, response.body.slice(0, 200)).toBe(200);
    expect(response.json()).toEqual({ imported: count, skipped: 0 });
  });

  it('a bad line is a 400 naming it, and nothing is added (not even the list)', async () => {
    await add({ patterns: '999*', action: 'allow' });
    const untouched = rulesText();
    const auditCount = auditRows().length;
    const bad: [string, string, string][] = [
      [`${header}404-555-1234,block,,,,,newlist,,,\n212-555-0000,block,,,,,newlist,,,\nnot-a-number,block,,,,,newlist,,,\n`, 'line 4', 'bad pattern "not-a-number"'],
      ['pattern,action\n4045551234,block\n2125550000,explode\n', 'line 3', 'unknown action "explode"'],
      ['pattern,action,scope\n4045551234,block,tenant:nowhere\n', 'line 2', 'unknown tenant "nowhere"'],
      ['pattern,action,expires\n4045551234,block,someday\n', 'line 2', 'bad expiry'],
      ['pattern\n4045551234\n', 'line 2', 'no action'],
      ['pattern,action,note\n4045551234,block,"never closed\n', 'line 2', 'not valid CSV'], // where the quote opened
    ];
    for (const [body, field, message] of bad) {
      const response = await csvPost(body);
      expect(response.statusCode, response.body).toBe(400);
      const answer = response.json() as { error: string; field?: string };
      expect(answer.field, body).toBe(field);
      expect(answer.error).toContain(`${field}: ${message}`);
      expect(answer.error).toMatch(/nothing was imported$/);
    }
    expect(rulesText()).toEqual(untouched);
    expect(listNames()).toEqual([]);
    expect(auditRows()).toHaveLength(auditCount);
  });

  it('bad query values are a 400 naming the field, before a line is read', async () => {
    const body = `${header}404-555-1234,block,,,,,,,,\n`;
    const cases: [string, string][] = [
      ['?action=explode', 'action'],
      ['?scope=tenant:', 'scope'],
      ['?list=bad%20list!', 'list'],
      ['?format=xml', 'format'],
      ['?colour=red', 'colour'],
    ];
    for (const [query, field] of cases) {
      const response = await csvPost(body, query);
      expect(response.statusCode, `${query} ${response.body}`).toBe(400);
      expect((response.json() as { field?: string }).field, query).toBe(field);
    }
    expect(rules()).toEqual([]);
  });

  it('tenant-bounded: a manager imports into their own scopes only, a viewer not at all; nothing is added', async () => {
    const body = `${header}404-555-1234,block,,tenant:acme,,,,,,\n404-555-1235,block,,did:+14045550100,,,,,,\n404-555-1236,block,,did:+13125550100,,,,,,\n`;
    const foreign = await csvPost(body, '', 'cg_acme');
    expect(foreign.statusCode).toBe(403);
    expect(foreign.json()).toMatchObject({ error: expect.stringMatching(/^line 4: .*globex.*nothing was imported$/) });
    expect((await csvPost('404-555-1234,block\n', '', 'cg_acme')).statusCode).toBe(403); // no scope column: global
    expect((await csvPost('404-555-1234\n', '?action=block&scope=tenant:globex', 'cg_acme')).statusCode).toBe(403);
    expect((await csvPost('404-555-1234\n', '?action=block&scope=global', 'cg_acme')).statusCode).toBe(403);
    expect((await csvPost('404-555-1234\n', '?action=block&scope=tenant:acme', 'cg_viewer')).statusCode).toBe(403);
    expect(rules()).toEqual([]);
  });

  it('only text/csv bodies are read as CSV', async () => {
    const response = await api.inject({ method: 'POST', url: '/v1/rules/import', headers: { ...as('cg_admin'), 'content-type': 'application/xml' }, payload: '<rules/>' });
    expect(response.statusCode).toBe(415);
    expect(rules()).toEqual([]);
  });

  it('the OpenAPI document describes the new routes, with the CSV body and answer', async () => {
    const document = (await api.inject({ method: 'GET', url: '/v1/openapi.json' })).json() as {
      paths: Record<string, Record<string, { requestBody?: { content: Record<string, unknown> }; responses: Record<string, { content?: Record<string, unknown> }> }>>;
    };
    expect(Object.keys(document.paths)).toEqual(expect.arrayContaining(['/v1/rules/{id}', '/v1/lists', '/v1/lists/{name}', '/v1/lists/{name}/export', '/v1/rules/import']));
    expect(Object.keys(document.paths['/v1/rules/{id}']!)).toEqual(expect.arrayContaining(['patch', 'delete']));
    expect(Object.keys(document.paths['/v1/rules/import']!.post!.requestBody!.content)).toEqual(['text/csv']);
    expect(Object.keys(document.paths['/v1/lists/{name}/export']!.get!.responses['200']!.content!)).toEqual(['text/csv']);
  });
});
