// Caller-name rules (issue 16, item 1): the engine's order with the new kind, bad input on
// every face, both stores alike, CSV round trip, the SQLite migration, and a fuzz test of
// name matching with hostile names against a simple reference matcher.
import { Readable } from 'node:stream';
import Sqlite from 'better-sqlite3';
import type { Database } from 'better-sqlite3';
import fc from 'fast-check';
import type { Pool } from 'pg';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { decide } from '../agent/engine/decide';
import { NameIndex, globMatches, normalizeName, parseNameGlob, parseNameWords, wordsOf } from '../agent/engine/names';
import type { CallFacts, Decision } from '../agent/engine/types';
import { cliActing } from '../agent/operations/acting';
import { addRules, everyRule } from '../agent/operations/rules';
import type { RuleInput } from '../agent/operations/rules';
import { exportRulesCsv, importRulesCsv } from '../agent/operations/rules-csv';
import { addDid, addTenant } from '../agent/operations/tenants';
import { CategoryStore } from '../agent/store/categories';
import { openDatabase } from '../agent/store/database';
import { SqliteDecisionStore } from '../agent/store/decision-view';
import { migrate, migrationsIn } from '../agent/store/migrate';
import { PostgresDecisionReads } from '../agent/store/postgres/decision-reads';
import { PostgresRuleBackend } from '../agent/store/postgres/rule-backend';
import { PostgresTenantBackend } from '../agent/store/postgres/tenant-backend';
import type { RuleBackend } from '../agent/store/rule-backend';
import type { RuleRow } from '../agent/store/rules';
import { SqliteRuleBackend } from '../agent/store/sqlite-rule-backend';
import { SqliteTenantBackend } from '../agent/store/sqlite-tenant-backend';
import type { TenantBackend } from '../agent/store/tenant-backend';
import { migratedPostgres } from './helpers/postgres-agent';
import { until } from './helpers/patience';
import { PostgresReplica } from '../agent/store/postgres/replica';
import { rulesInWinningOrder } from '../agent/store/rules-in-winning-order';
import { SqliteWinningOrderBackend } from '../agent/store/sqlite-winning-order-backend';
import { PostgresWinningOrderBackend } from '../agent/store/postgres/winning-order-backend';
import type { WinningOrderBackend } from '../agent/store/winning-order-backend';
import { assertBuilt, runCli } from './helpers/run-cli';
import { makeTempDir } from './helpers/temp-db';

const COUNTRY = 'US';
const admin = cliActing('cli:tester');
const DID = '+15551230000';
const NOW = Date.parse('2026-11-21T12:00:00Z');

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Store {
  readonly rules: RuleBackend;
  readonly tenants: TenantBackend;
  readonly winningOrder: WinningOrderBackend;
  decide(facts: Partial<CallFacts> & { from: string }): Promise<Decision>;
}

async function sqliteStore(): Promise<Store & { db: Database }> {
  const dir = makeTempDir('callguard-names-');
  const db = openDatabase(dir.file('store.db'));
  cleanups.push(() => dir.remove(), () => db.close());
  const engine = new SqliteDecisionStore(db);
  return {
    db,
    rules: new SqliteRuleBackend(db, 'cli:tester'),
    winningOrder: new SqliteWinningOrderBackend(db),
    tenants: new SqliteTenantBackend(db, 'cli:tester'),
    decide: async (facts) => decide({ kind: 'call', to: DID, ...facts }, engine, { country: COUNTRY, now: NOW }),
  };
}

async function postgresStore(): Promise<Store & { pool: Pool }> {
  const { pool } = await migratedPostgres(cleanups);
  return {
    pool,
    rules: new PostgresRuleBackend(pool, 'cli:tester'),
    winningOrder: new PostgresWinningOrderBackend(pool),
    tenants: new PostgresTenantBackend(pool, 'cli:tester'),
    decide: async (facts) => {
      const reads = await PostgresDecisionReads.open(pool);
      for (let round = 0; round < 20; round++) {
        const decision = decide({ kind: 'call', to: DID, ...facts }, reads, { country: COUNTRY, now: NOW });
        if (!(await reads.readMissing())) return decision;
      }
      throw new Error('kept reading');
    },
  };
}

const STORES: [string, () => Promise<Store>][] = [
  ['SQLite', sqliteStore],
  ['PostgreSQL', postgresStore],
];

async function add(store: Store, input: Omit<RuleInput, 'action'> & { action?: string }, at = NOW - 1000): Promise<RuleRow> {
  const [rule] = await addRules(store.rules, admin, { action: 'block', ...input }, COUNTRY, at);
  return rule!;
}

async function allRules(rules: RuleBackend): Promise<RuleRow[]> {
  const all: RuleRow[] = [];
  for await (const rule of everyRule(rules)) all.push(rule);
  return all;
}

describe.each(STORES)('caller-name rules on %s', (_name, open) => {
  let store: Store;
  beforeEach(async () => {
    store = await open();
    await addTenant(store.tenants, admin, 'acme');
    await addDid(store.tenants, admin, DID, 'acme', COUNTRY);
  });

  it('a glob matches the name whatever its case, spacing and invisible characters; explain names the rule', async () => {
    const rule = await add(store, { name: 'V9*' });
    expect(rule).toMatchObject({ kind: 'name', key: 'v9*', pattern: 'V9*', scope: 'global' });
    for (const name of ['V9 SERVICES', 'v9services', '  V9\u200b  x ', 'Ｖ９ INC']) {
      expect(await store.decide({ from: '4045550101', callerName: name }), name).toMatchObject({ action: 'block', ruleId: rule.id, scope: 'global' });
    }
    const decision = await store.decide({ from: '4045550101', callerName: 'V9 SERVICES' });
    expect(decision.reasons).toContain(`Step 1 (names): caller name "V9 SERVICES": rule #${rule.id} (global, caller name matches "V9*") says block.`);
    expect(await store.decide({ from: '4045550101', callerName: 'AV9 SERVICES' })).toMatchObject({ action: 'allow', ruleId: null });
    expect(await store.decide({ from: '4045550101' })).toMatchObject({ action: 'allow' });
  });

  it('number and address rules outrank every name rule; name rules come before categories', async () => {
    const nameBlock = await add(store, { name: 'V9*', scope: `did:${DID}` });
    const numberAllow = await add(store, { patterns: '404-555-0101', action: 'allow' });
    expect(await store.decide({ from: '4045550101', callerName: 'V9 X' })).toMatchObject({ action: 'allow', ruleId: numberAllow.id });
    const nameAllow = await add(store, { name: 'TRUSTED PHARMACY', action: 'allow' });
    await addRules(store.rules, admin, { patterns: '800*', action: 'challenge' }, COUNTRY, NOW - 500);
    // A number prefix rule outranks the exact name allow.
    expect(await store.decide({ from: '8005550100', callerName: 'Trusted  Pharmacy' })).toMatchObject({ action: 'challenge' });
    // With no number rule, the name rule decides before the caller's category would.
    if (store.rules instanceof SqliteRuleBackend) {
      new CategoryStore((store as unknown as { db: Database }).db).set('global', 'toll_free', 'block');
      expect(await store.decide({ from: '8665550100', callerName: 'Trusted Pharmacy' })).toMatchObject({ action: 'allow', ruleId: nameAllow.id, category: null });
      expect(await store.decide({ from: '8665550100', callerName: 'Someone' })).toMatchObject({ action: 'block', category: 'toll_free' });
    }
    expect(await store.decide({ from: '4045550102', callerName: 'V9 X' })).toMatchObject({ action: 'block', ruleId: nameBlock.id });
  });

  it('among name rules: DID before tenant before global; exact before glob; more literal characters first; then newest', async () => {
    const global = await add(store, { name: 'ROBO*', action: 'busy' });
    const tenant = await add(store, { nameWord: 'robo', action: 'challenge', scope: 'tenant:acme' });
    expect(await store.decide({ from: '4045550101', callerName: 'ROBO CALLER' })).toMatchObject({ action: 'challenge', ruleId: tenant.id });
    const did = await add(store, { name: '*caller', action: 'disconnected', scope: `did:${DID}` });
    const decided = await store.decide({ from: '4045550101', callerName: 'ROBO CALLER' });
    expect(decided).toMatchObject({ action: 'disconnected', ruleId: did.id });
    const longer = await add(store, { name: 'ROBO C*', action: 'voicemail', scope: `did:${DID}` });
    expect(await store.decide({ from: '4045550101', callerName: 'ROBO CALLER' })).toMatchObject({ ruleId: longer.id });
    const exact = await add(store, { name: 'robo caller', action: 'allow', scope: `did:${DID}` }, NOW - 5000);
    const best = await store.decide({ from: '4045550101', callerName: 'ROBO CALLER' });
    expect(best).toMatchObject({ action: 'allow', ruleId: exact.id });
    expect(best.reasons.filter((reason) => reason.includes('also matches but is outranked'))).toHaveLength(4);
    expect(global.id).toBeGreaterThan(0);
    // Newest among equals.
    const a = await add(store, { name: 'ab*', scope: 'tenant:acme', action: 'busy' }, NOW - 3000);
    const b = await add(store, { name: '*yz', scope: 'tenant:acme', action: 'challenge' }, NOW - 2000);
    expect(await store.decide({ from: '4045550101', callerName: 'abxyz' })).toMatchObject({ ruleId: b.id });
    expect(a.id).toBeLessThan(b.id);
  });

  it('lists name rules in the order they win: scope, exact name first, then more literal characters, then newest', async () => {
    await add(store, { name: 'V9*' }, NOW - 5000);
    await add(store, { name: 'V9 SERVICES' }, NOW - 4000);
    await add(store, { nameWord: 'spam' }, NOW - 3000);
    await add(store, { name: '*robo*', scope: 'tenant:acme' }, NOW - 2000);
    await add(store, { patterns: '404*' }, NOW - 1000);
    const { rules } = await rulesInWinningOrder(store.winningOrder, ['tenant:acme', 'global'], ['name', 'name_word'], undefined, 100);
    expect(rules.map((rule) => `${rule.scope} ${rule.pattern}`)).toEqual(['tenant:acme *robo*', 'global V9 SERVICES', 'global spam', 'global V9*']);
  });

  it('whole words match anywhere in the name, and only whole', async () => {
    const rule = await add(store, { nameWord: 'car warranty' });
    expect(rule).toMatchObject({ kind: 'name_word', key: 'car warranty' });
    expect(await store.decide({ from: '4045550101', callerName: 'Your CAR-WARRANTY dept' })).toMatchObject({ action: 'block', ruleId: rule.id });
    expect(await store.decide({ from: '4045550101', callerName: 'SCAR WARRANTY' })).toMatchObject({ action: 'allow' });
    expect(await store.decide({ from: '4045550101', callerName: 'CAR WARRANTYX' })).toMatchObject({ action: 'allow' });
  });

  it('expired rules, disabled lists and texts follow the usual options; a name key is never a number key', async () => {
    await add(store, { name: 'old*', expires: '1h' }, NOW - 2 * 3600_000);
    expect(await store.decide({ from: '4045550101', callerName: 'OLD NAME' })).toMatchObject({ action: 'allow' });
    await add(store, { name: 'listed*', list: 'names' });
    expect(await store.decide({ from: '4045550101', callerName: 'listed one' })).toMatchObject({ action: 'block' });
    await store.rules.setListEnabled('names', false, () => undefined);
    expect(await store.decide({ from: '4045550101', callerName: 'listed one' })).toMatchObject({ action: 'allow' });
    await add(store, { name: 'text*' });
    expect(await store.decide({ kind: 'sms', from: '4045550101', callerName: 'texter' })).toMatchObject({ action: 'allow' });
    const sms = await add(store, { name: 'texty*', sms: true, action: 'busy' });
    expect(await store.decide({ kind: 'sms', from: '4045550101', callerName: 'texty' })).toMatchObject({ action: 'block', ruleId: sms.id });
    // A name rule keyed "anonymous" is about the name Anonymous, not about withheld numbers.
    await add(store, { name: 'Anonymous' });
    expect(await store.decide({ from: 'anonymous' })).toMatchObject({ action: 'allow' });
  });

  it('refuses an empty or all-* pattern, naming the field, and writes nothing', async () => {
    for (const [input, field] of [
      [{ name: '' }, 'name'],
      [{ name: '*' }, 'name'],
      [{ name: ' ** ' }, 'name'],
      [{ name: '\u200b' }, 'name'],
      [{ nameWord: '' }, 'nameWord'],
      [{ nameWord: '--' }, 'nameWord'],
      [{ nameWord: 'SP*M' }, 'nameWord'],
      [{ name: 'V9*', patterns: '404*' }, 'name'],
    ] as const) {
      const refusal = await addRules(store.rules, admin, { action: 'block', ...input }, COUNTRY).catch((error: unknown) => error);
      expect(refusal, JSON.stringify(input)).toMatchObject({ name: 'BadInput', field });
    }
    expect(await allRules(store.rules)).toEqual([]);
  });

  it('exports name rules to CSV and imports them back as they were', async () => {
    await add(store, { name: 'V9*', list: 'spoof', note: 'seen, often', scope: 'tenant:acme' });
    await add(store, { nameWord: 'SPAM', action: 'challenge', sms: true });
    await add(store, { patterns: '404*', action: 'busy' });
    let csv = '';
    for await (const chunk of exportRulesCsv(store.rules, admin, {}, COUNTRY)) csv += chunk;
    expect(csv).toContain('name:V9*,block');
    expect(csv).toContain('name-word:SPAM,challenge');
    const before = (await allRules(store.rules)).map(({ id, createdAt, updatedAt, ...rest }) => rest);
    await store.rules.removeIds((await allRules(store.rules)).map((rule) => rule.id));
    await importRulesCsv(store.rules, admin, Readable.from([Buffer.from(csv)]), {}, COUNTRY, { label: 'import names.csv' }, NOW);
    expect((await allRules(store.rules)).map(({ id, createdAt, updatedAt, ...rest }) => rest)).toEqual(before);
  });
});

describe('a fleet agent', () => {
  it("decides by a name rule added in PostgreSQL, from its local copy, as soon as the change arrives", async () => {
    const { pool } = await migratedPostgres(cleanups);
    const local = openDatabase(':memory:');
    cleanups.push(() => local.close());
    const replica = await PostgresReplica.start(pool, local, undefined, {});
    cleanups.push(() => replica.stop());
    const engine = new SqliteDecisionStore(local);
    const decideNow = () => decide({ kind: 'call', from: '4045550101', to: DID, callerName: 'V9 SERVICES' }, engine, { country: COUNTRY, now: Date.now() });
    expect(decideNow()).toMatchObject({ action: 'allow' });
    const [rule] = await addRules(new PostgresRuleBackend(pool, 'cli:tester'), admin, { name: 'v9*', action: 'busy' }, COUNTRY);
    await until(() => decideNow().ruleId === rule!.id, 'the name rule in effect on the local copy');
    expect(decideNow()).toMatchObject({ action: 'busy', scope: 'global' });
  });
});

describe('the SQLite migration', () => {
  it('rebuilds the rules table keeping rules, ids and the id counter', () => {
    const dir = makeTempDir('callguard-names-migrate-');
    cleanups.push(() => dir.remove());
    const db = new Sqlite(dir.file('old.db'));
    cleanups.push(() => db.close());
    db.pragma('foreign_keys = ON');
    const all = migrationsIn();
    migrate(db, all.filter((migration) => migration.version < 13));
    const insert = db.prepare("INSERT INTO rules (scope, kind, key, pattern, action, created_at, updated_at, list) VALUES ('global', 'prefix', ?, ?, 'block', 1, 1, NULL)");
    for (const key of ['+1404', '+1212', '+1312']) insert.run(key, key);
    db.prepare("DELETE FROM rules WHERE key = '+1312'").run();
    expect(() => db.prepare("INSERT INTO rules (scope, kind, key, pattern, action, created_at, updated_at) VALUES ('global', 'name', 'x', 'x', 'block', 1, 1)").run()).toThrow(/CHECK/);
    expect(migrate(db, all)).toContain(13);
    expect(db.prepare('SELECT id, key FROM rules ORDER BY id').all()).toEqual([{ id: 1, key: '+1404' }, { id: 2, key: '+1212' }]);
    const id = db.prepare("INSERT INTO rules (scope, kind, key, pattern, action, created_at, updated_at) VALUES ('global', 'name', 'x', 'x', 'block', 1, 1) RETURNING id").pluck().get();
    expect(id).toBe(4);
    const indexes = db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'rules' AND sql IS NOT NULL ORDER BY name").pluck().all();
    expect(indexes).toEqual(['rules_allowed', 'rules_by_list', 'rules_by_scope', 'rules_by_shape']);
    expect(db.pragma('foreign_key_check')).toEqual([]);
  });
});

describe('the command line', () => {
  it('adds and lists a name rule; refuses an empty or * pattern with exit 2 and one line', () => {
    assertBuilt();
    const dir = makeTempDir('callguard-names-cli-');
    cleanups.push(() => dir.remove());
    const db = dir.file('cli.db');
    const added = runCli(['rules', 'add', '--name', 'V9*', '--action', 'block', '--list', 'spoof', '--expires', '30d'], { db });
    expect(added.stderr).toBe('');
    expect(added.stdout).toMatch(/^added #1 block name:V9\* \(global, list spoof\)\n$/);
    expect(runCli(['rules', 'add', '--name-word', 'SPAM', '--action', 'challenge', '--scope', 'global', '--sms'], { db }).status).toBe(0);
    for (const args of [['--name', '*'], ['--name', ''], ['--name-word', '**'], ['--name', 'V9*', '404*']]) {
      const refused = runCli(['rules', 'add', ...args, '--action', 'block'], { db });
      expect(refused.status, args.join(' ')).toBe(2);
      expect(refused.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
    }
    const explained = runCli(['explain', '--from', '4045550101', '--to', '5551230000', '--name', 'v9 services'], { db });
    expect(explained.stdout).toMatch(/^block\n/);
    expect(explained.stdout).toContain('Step 1 (names): caller name "v9 services": rule #1 (global, caller name matches "V9*") says block.');
    const listed = runCli(['rules', 'list', '--json'], { db });
    expect(JSON.parse(listed.stdout).map((rule: RuleRow) => `${rule.kind} ${rule.key}`)).toEqual(['name v9*', 'name_word spam']);
    expect(runCli(['rules', 'remove', 'name-word:spam'], { db }).stdout).toMatch(/^removed #2 challenge name-word:SPAM/);
  });
});

/** The reference: a glob as a plain dynamic program over (name, pattern) positions. */
function referenceGlob(text: string, glob: string): boolean {
  const name = [...text];
  const n = name.length;
  let row = new Array<boolean>(n + 1).fill(false);
  row[0] = true;
  for (const char of glob) {
    const next = new Array<boolean>(n + 1).fill(false);
    if (char === '*') {
      let any = false;
      for (let i = 0; i <= n; i++) next[i] = any = any || row[i]!;
    } else {
      for (let i = 1; i <= n; i++) next[i] = row[i - 1]! && name[i - 1] === char;
    }
    row = next;
  }
  return row[n]!;
}

/** The reference for words: the pattern's words appear in a row among the name's words. */
function referenceWords(name: string, key: string): boolean {
  return ` ${wordsOf(name).join(' ')} `.includes(` ${key} `);
}

/** Characters of every Unicode general category, control and unassigned ones too, and lone surrogates. */
const anyChar = fc.oneof(
  fc.constantFrom('a', 'b', 'v', '9', ' ', '*', '\t', '\n', '\u0000', '\u001f', '\u007f', '\u0085', '\u00a0', '\u200b', '\u200d', '\u2028', '\ufeff', '\ud800', '\udc00', '\u0301', 'İ', 'ß', 'ſ', 'Ｖ', '９', '😀', '\u{e0001}', '\u{10ffff}', 'ǅ', '٣', '〇', '$', '{', '%', '\\'),
  fc.integer({ min: 0, max: 0x10ffff }).map((code) => (code >= 0xd800 && code <= 0xdfff ? String.fromCharCode(code) : String.fromCodePoint(code))),
);
const smallText = fc.array(fc.constantFrom('a', 'b', 'A', ' ', '*', '9', 'v', '\u200b'), { maxLength: 12 }).map((chars) => chars.join(''));
const anyText = fc.array(anyChar, { maxLength: 40 }).map((chars) => chars.join(''));

describe('name matching, fuzzed', () => {
  it('never throws on hostile names, and a 10 kB name costs about ten times a 1 kB one', () => {
    fc.assert(
      fc.property(anyText, (name) => {
        normalizeName(name);
        wordsOf(normalizeName(name));
      }),
      { numRuns: 2000 },
    );
    const rules = [
      ...Array.from({ length: 2000 }, (_, i) => ({ kind: 'name', key: `a${'a'.repeat(i % 50)}*`, scope: 'global' })),
      ...Array.from({ length: 2000 }, (_, i) => ({ kind: 'name', key: `*${'a'.repeat(1 + (i % 60))}b*a${i}`, scope: 'global' })),
      ...Array.from({ length: 500 }, (_, i) => ({ kind: 'name_word', key: Array.from({ length: 1 + (i % 8) }, () => 'a').join(' '), scope: 'global' })),
      { kind: 'name', key: '*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b', scope: 'global' },
    ];
    const index = new NameIndex(rules);
    const hostile = (length: number) => [
      'a'.repeat(length),
      'a '.repeat(length / 2),
      Array.from({ length }, (_, i) => String.fromCharCode(i % 0x10000)).join(''),
      '\u200b'.repeat(length),
      '😀'.repeat(length / 2),
    ];
    const time = (length: number) => {
      const names = hostile(length);
      const start = performance.now();
      for (let round = 0; round < 5; round++) for (const name of names) index.matching(name, ['global']);
      return performance.now() - start;
    };
    time(1_000);
    const small = Math.max(time(1_000), 1);
    const large = time(10_000);
    expect(large).toBeLessThan(small * 30);
  });

  it('agrees with the reference matchers on random names and patterns', () => {
    fc.assert(
      fc.property(fc.oneof(smallText, anyText), fc.array(fc.oneof(smallText, anyText), { minLength: 1, maxLength: 8 }), fc.array(fc.oneof(smallText, anyText), { maxLength: 4 }), (raw, globs, words) => {
        const rules: { kind: string; key: string; scope: string; id: number }[] = [];
        for (const text of globs) {
          try {
            rules.push({ ...parseNameGlob(text), scope: 'global', id: rules.length });
          } catch {
            // refused patterns take no part
          }
        }
        for (const text of words) {
          try {
            rules.push({ ...parseNameWords(text), scope: 'global', id: rules.length });
          } catch {
            // refused
          }
        }
        const name = normalizeName(raw);
        const got = new NameIndex(rules).matching(raw, ['global']).map((rule) => rule.id).sort((a, b) => a - b);
        const want = name === '' ? [] : rules.filter((rule) => (rule.kind === 'name' ? referenceGlob(name, rule.key) : referenceWords(name, rule.key))).map((rule) => rule.id);
        expect(got).toEqual(want);
        for (const rule of rules) if (rule.kind === 'name') expect(globMatches(name, rule.key)).toBe(referenceGlob(name, rule.key));
      }),
      { numRuns: 3000 },
    );
  });
});

