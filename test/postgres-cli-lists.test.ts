// Lists and rules as CSV from the command line on a fleet's PostgreSQL, as an operator runs
// them with `--store`: `rules import` (the callguard and FTC formats, a file of many batches,
// a bad line named with nothing added), `lists list|enable|disable`, and `rules export`
// writing the same bytes a SQLite file gives for the same rules; no SQLite file is written.
import { existsSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migratedPostgres } from './helpers/postgres-agent';
import { assertBuilt, describeRun, runCli } from './helpers/run-cli';
import type { CliResult } from './helpers/run-cli';
import { makeTempDir } from './helpers/temp-db';

const dir = makeTempDir('callguard-cli-lists-');
const cleanups: (() => unknown)[] = [];

beforeAll(() => assertBuilt());
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  dir.remove();
});

const HEADER = 'pattern,action,target,scope,sms,note,list,expires,when,tz\n';
const RULES_CSV =
  HEADER +
  '404-555-1234,block,,global,yes,"spam, ""loud"" caller",spam,,,\n' +
  '+44 20*,voicemail,200,tenant:acme,no,,spam,2031-06-30T12:00:00.000Z,,\n' +
  '3125551234,forward,404-555-0000,did:+14045550100,no,"  padded  ",vip,,,\n' +
  'anonymous,challenge,,tenant:acme,no,,vip,,mon-fri 17:00-09:00,America/New_York\n' +
  '*@example.com,busy,,global,no,naïve café,,,,\n';

function ok(result: CliResult, stdout?: string): CliResult {
  expect(result.status, describeRun(result)).toBe(0);
  if (stdout !== undefined) expect(result.stdout).toBe(stdout);
  return result;
}

describe('lists and rules as CSV from the command line on a PostgreSQL store', () => {
  let url: string;
  let pool: Awaited<ReturnType<typeof migratedPostgres>>['pool'];
  const never = dir.file('never.db');
  const sqlite = dir.file('reference.db');
  /** The CLI on the fleet's PostgreSQL (a --db given too, which it must not touch), or on a SQLite file. */
  const onPostgres = (...args: string[]) => runCli(['--db', never, '--store', url, ...args], { env: { CALLGUARD_STORE: undefined, CALLGUARD_CONFIG: undefined } });
  const onSqlite = (...args: string[]) => runCli(args, { db: sqlite, env: { CALLGUARD_STORE: undefined, CALLGUARD_CONFIG: undefined } });
  const both = (...args: string[]) => [onPostgres(...args), onSqlite(...args)] as const;
  const query = async (sql: string) => (await pool.query(sql)).rows;

  beforeAll(async () => {
    ({ url, pool } = await migratedPostgres(cleanups));
    for (const run of [onPostgres, onSqlite]) {
      ok(run('tenants', 'add', 'acme'));
      ok(run('dids', 'add', '404-555-0100', '--tenant', 'acme'));
    }
  });

  it('imports a CSV file into PostgreSQL, audited as one entry, and exports the same bytes as a SQLite file with the same rules', async () => {
    const file = dir.file('rules.csv');
    writeFileSync(file, RULES_CSV);
    for (const result of both('rules', 'import', file)) ok(result, `imported 5 rule(s) from ${file}\n`);
    expect(await query('SELECT scope, key, action, target, list FROM rules ORDER BY id')).toEqual([
      { scope: 'global', key: '+14045551234', action: 'block', target: null, list: 'spam' },
      { scope: 'tenant:acme', key: '+4420', action: 'voicemail', target: '200', list: 'spam' },
      { scope: 'did:+14045550100', key: '+13125551234', action: 'forward', target: '+14045550000', list: 'vip' },
      { scope: 'tenant:acme', key: 'anonymous', action: 'challenge', target: null, list: 'vip' },
      { scope: 'global', key: 'sipdomain:example.com', action: 'busy', target: null, list: null },
    ]);
    expect(await query("SELECT verb, key, actor LIKE 'cli:%' AS cli FROM audit WHERE entity = 'rule' ORDER BY id")).toEqual([{ verb: 'import', key: `import ${file}`, cli: true }]);

    const [fleet, file_] = both('rules', 'export');
    ok(fleet, ok(file_).stdout);
    expect(fleet.stdout.startsWith(HEADER)).toBe(true);
    expect(fleet.stdout).toContain('"  padded  "');
    for (const filter of [['--list', 'vip'], ['--scope', 'tenant:acme']]) {
      const [fromPostgres, fromSqlite] = both('rules', 'export', ...filter);
      ok(fromPostgres, ok(fromSqlite).stdout);
    }
    // The export read back into PostgreSQL replaces each rule with itself: the same bytes again.
    const exported = dir.file('exported.csv');
    writeFileSync(exported, fleet.stdout);
    ok(onPostgres('rules', 'import', exported), `imported 5 rule(s) from ${exported}\n`);
    ok(onPostgres('rules', 'export'), fleet.stdout);
    expect(existsSync(never)).toBe(false);
  });

  it('lists, disables and enables lists in PostgreSQL, audited, with the answers and refusals of a SQLite file', async () => {
    for (const result of both('lists', 'list', '--json')) {
      expect(JSON.parse(ok(result).stdout)).toEqual([
        { name: 'spam', enabled: true, rules: 2 },
        { name: 'vip', enabled: true, rules: 2 },
      ]);
    }
    for (const result of both('lists', 'disable', 'spam')) ok(result, 'list spam disabled\n');
    expect(await query("SELECT name, enabled FROM lists ORDER BY name")).toEqual([
      { name: 'spam', enabled: 0 },
      { name: 'vip', enabled: 1 },
    ]);
    const [table, sqliteTable] = both('lists', 'list');
    ok(table, ok(sqliteTable).stdout);
    expect(table.stdout).toMatch(/^LIST +ENABLED +RULES\nspam +no +2\nvip +yes +2\n$/);
    for (const result of both('lists', 'enable', 'spam')) ok(result, 'list spam enabled\n');
    expect(await query("SELECT verb, key, before::json AS before, after::json AS after FROM audit WHERE entity = 'list' ORDER BY id")).toEqual([
      { verb: 'change', key: 'spam', before: { enabled: true }, after: { enabled: false } },
      { verb: 'change', key: 'spam', before: { enabled: false }, after: { enabled: true } },
    ]);

    for (const args of [['lists', 'disable', 'nowhere'], ['lists', 'enable', 'bad name!']]) {
      const [refused, onFile] = both(...args);
      expect(refused.status, describeRun(refused)).toBe(onFile.status);
      expect(refused.status).not.toBe(0);
      expect(refused.stderr).toBe(onFile.stderr);
      expect(refused.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    }
    expect(existsSync(never)).toBe(false);
  });

  it('imports FTC complaints and a file of many batches; a bad line is named, exit 2, and nothing is added', async () => {
    const ftc = dir.file('complaints.csv');
    writeFileSync(ftc, 'Company_Phone_Number,Created_Date,Subject\n212-555-0001,2026-11-01,Medicare\n(212) 555-0001,2026-11-02,Medicare\n,2026-11-02,No number\n');
    for (const result of both('rules', 'import', ftc, '--format', 'ftc')) ok(result, `imported 1 rule(s) from ${ftc}; skipped 2 row(s) without a new, complete number\n`);
    expect(await query("SELECT key, action, list, note FROM rules WHERE list = 'ftc-dnc'")).toEqual([{ key: '+12125550001', action: 'block', list: 'ftc-dnc', note: 'Created_Date: 2026-11-01; Subject: Medicare' }]);

    const count = 25_000;
    const many = dir.file('many.txt');
    writeFileSync(many, Array.from({ length: count }, (_, i) => `+1678${2_000_000 + i}`).join('\n'));
    ok(onPostgres('rules', 'import', many, '--action', 'block', '--list', 'bulk', '--scope', 'tenant:acme'), `imported ${count} rule(s) from ${many}\n`);
    expect(await query("SELECT count(*)::int AS n, min(key) AS first, max(key) AS last FROM rules WHERE list = 'bulk' AND scope = 'tenant:acme'")).toEqual([{ n: count, first: '+16782000000', last: `+1678${2_000_000 + count - 1}` }]);

    const rulesBefore = await query('SELECT count(*)::int AS n FROM rules');
    const auditBefore = await query('SELECT count(*)::int AS n FROM audit');
    const bad = dir.file('bad.csv');
    writeFileSync(bad, 'pattern,action,list\n303-555-0000,block,newlist\nnot-a-number,block,newlist\n');
    const [refused, onFile] = both('rules', 'import', bad);
    expect(refused.status, describeRun(refused)).toBe(2);
    expect(refused.stderr.startsWith(`callguard: ${bad} line 3: bad pattern "not-a-number"`), refused.stderr).toBe(true);
    expect(refused.stderr.endsWith('; nothing was imported\n')).toBe(true);
    expect(refused.stderr).toBe(onFile.stderr);
    expect(await query('SELECT count(*)::int AS n FROM rules')).toEqual(rulesBefore);
    expect(await query('SELECT count(*)::int AS n FROM audit')).toEqual(auditBefore);
    expect(await query("SELECT name FROM lists WHERE name = 'newlist'")).toEqual([]);
    expect(existsSync(never)).toBe(false);
  });
});
