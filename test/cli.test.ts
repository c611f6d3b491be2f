/**
 * The CLI end to end: the real `bin/callguard.js` (built into dist/) in a child process,
 * against throw-away databases. Each describe block owns one database; its tests run in
 * order and build on each other's state. Budget: about 150 CLI processes (~80-120 ms each) for the file.
 */
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, builtMain, cliFor, describeRun, jsonOf, repoRoot, runCli } from './helpers/run-cli';
import type { CliResult } from './helpers/run-cli';
import { makeTempDir, tempDb, withDatabase } from './helpers/temp-db';
import type { TempDb, TempDir } from './helpers/temp-db';

// ---------------------------------------------------------------- helpers

/** Exit 0, nothing on stderr, and (when given) exactly this on stdout. */
function expectOk(result: CliResult, stdout?: string): void {
  expect(result.stderr, describeRun(result)).toBe('');
  expect(result.status, describeRun(result)).toBe(0);
  if (stdout !== undefined) expect(result.stdout, describeRun(result)).toBe(stdout);
}

/**
 * Exit 2, nothing on stdout, and exactly one stderr line `callguard: <message>`.
 * `message` is the whole message, or (with `prefix`) how it starts.
 */
function expectBadInput(result: CliResult, message: string, prefix = false): void {
  expect(result.status, describeRun(result)).toBe(2);
  expect(result.stdout, describeRun(result)).toBe('');
  const lines = result.stderr.split('\n');
  expect(lines, describeRun(result)).toHaveLength(2); // one line and its newline
  expect(lines[1]).toBe('');
  if (prefix) expect(lines[0], describeRun(result)).toMatch(new RegExp(`^callguard: ${escapeRegExp(message)}`));
  else expect(lines[0], describeRun(result)).toBe(`callguard: ${message}`);
}

/** Commander's own usage errors: exit 2, `callguard: …` on stderr. */
function expectUsageError(result: CliResult, message: string): void {
  expect(result.status, describeRun(result)).toBe(2);
  expect(result.stdout, describeRun(result)).toBe('');
  expect(result.stderr, describeRun(result)).toBe(`callguard: ${message}\n`);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

interface RuleJson {
  id: number;
  scope: string;
  kind: string;
  key: string;
  pattern: string;
  action: string;
  target: string | null;
  sms: boolean;
  note: string | null;
  list: string | null;
  expiresAt: number | null;
  createdAt: number;
  updatedAt: number;
  expired: boolean;
}

interface DecisionJson {
  action: string;
  target: string | null;
  kind: string;
  tenant: string;
  did: string | null;
  caller: string | null;
  callerKind: string;
  scope: string | null;
  ruleId: number | null;
  category: string | null;
  categories: string[];
  score: number | null;
  flagged: boolean;
  reasons: string[];
}

/** `explain --json`, checked for the parts every decision has. */
function explain(cli: (...args: string[]) => CliResult, ...args: string[]): DecisionJson {
  const result = cli('explain', ...args, '--json');
  expectOk(result);
  const decision = jsonOf<DecisionJson>(result);
  expect(decision.score, describeRun(result)).toBeNull();
  expect(decision.flagged, describeRun(result)).toBe(false);
  expect(Array.isArray(decision.reasons)).toBe(true);
  expect(decision.reasons.length).toBeGreaterThan(0);
  for (const reason of decision.reasons) expect(typeof reason).toBe('string');
  return decision;
}

function rulesOf(cli: (...args: string[]) => CliResult, ...args: string[]): RuleJson[] {
  const result = cli('rules', 'list', '--json', ...args);
  expectOk(result);
  return jsonOf<RuleJson[]>(result);
}

/** A describe block's database: made before its first test, removed after its last. */
function useDb(): { readonly path: string; cli: (...args: string[]) => CliResult } {
  let db: TempDb | undefined;
  beforeAll(() => {
    db = tempDb();
  });
  afterAll(() => db?.remove());
  return {
    get path() {
      return db!.path;
    },
    cli: (...args: string[]) => cliFor(db!.path)(...args),
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const NUMBER_FORMS = ['+14045551234', '14045551234', '4045551234', '404-555-1234', '(404) 555-1234', '+1 404 555 1234'];

beforeAll(() => {
  assertBuilt();
  expect(existsSync(builtMain), `${builtMain} missing: run 'npx tsc -p tsconfig.json' first`).toBe(true);
});

// ---------------------------------------------------------------- tenants

describe('tenants', () => {
  const db = useDb();
  const { cli } = db;
  const tenants = () => jsonOf<{ name: string; mode: string; dids: number; rules: number }[]>(cli('tenants', 'list', '--json'));

  it('starts with tenant default only, and adds tenants', () => {
    expect(tenants()).toEqual([{ name: 'default', mode: 'enforce', allowOnly: null, didAllowOnly: [], dids: 0, rules: 0 }]);
    expectOk(cli('tenants', 'add', 'acme'), 'added tenant acme\n');
    expectOk(cli('tenants', 'add', 'beta.co_2'), 'added tenant beta.co_2\n');
    expectBadInput(cli('tenants', 'add', 'acme'), 'tenant "acme" already exists');
  });

  it('refuses bad tenant names with one line and writes nothing', () => {
    expectBadInput(cli('tenants', 'add', 'bad name'), 'bad tenant name "bad name"', true);
    expect(tenants().map((t) => t.name)).toEqual(['acme', 'beta.co_2', 'default']);
  });

  it('never removes tenant default', () => {
    expectBadInput(cli('tenants', 'remove', 'default'), 'tenant "default" always exists and cannot be removed');
    expectBadInput(cli('tenants', 'remove', 'nobody'), `unknown tenant "nobody": add it first with 'callguard tenants add nobody'`);
  });

  it('removes a tenant with DIDs and rules only with --force, taking them with it', () => {
    expectOk(cli('dids', 'add', '4045550000', '--tenant', 'acme'));
    expectOk(cli('rules', 'add', '312*', '--action', 'block', '--scope', 'tenant:acme'));
    expectOk(cli('rules', 'add', '212*', '--action', 'busy', '--scope', 'did:4045550000'));
    expect(tenants()).toEqual([
      { name: 'acme', mode: 'enforce', allowOnly: null, didAllowOnly: [], dids: 1, rules: 2 }, // its tenant rule and the rule of its DID
      { name: 'beta.co_2', mode: 'enforce', allowOnly: null, didAllowOnly: [], dids: 0, rules: 0 },
      { name: 'default', mode: 'enforce', allowOnly: null, didAllowOnly: [], dids: 0, rules: 0 },
    ]);
    expectBadInput(
      cli('tenants', 'remove', 'acme'),
      'tenant "acme" still has 1 DID(s) and 2 rule(s): remove them first or pass --force',
    );
    expectOk(cli('tenants', 'remove', 'acme', '--force'), 'removed tenant acme (1 DID(s), 2 rule(s))\n');
    expectOk(cli('tenants', 'remove', 'beta.co_2'), 'removed tenant beta.co_2 (0 DID(s), 0 rule(s))\n');
    expect(tenants()).toEqual([{ name: 'default', mode: 'enforce', allowOnly: null, didAllowOnly: [], dids: 0, rules: 0 }]);
    withDatabase(db.path, (sql) => {
      expect(sql.prepare('SELECT COUNT(*) FROM dids').pluck().get()).toBe(0);
      expect(sql.prepare('SELECT COUNT(*) FROM rules').pluck().get()).toBe(0);
    });
  });
});

// ---------------------------------------------------------------- dids

describe('dids', () => {
  const { cli } = useDb();

  it('accepts every number form, storing E.164', () => {
    expectOk(cli('tenants', 'add', 'acme'));
    // Add in one form, remove in the next: each form is read both ways.
    for (let i = 0; i < NUMBER_FORMS.length; i += 2) {
      expectOk(cli('dids', 'add', NUMBER_FORMS[i]!, '--tenant', 'acme'), 'added DID +14045551234 to tenant acme\n');
      expectOk(cli('dids', 'remove', NUMBER_FORMS[i + 1]!), 'removed DID +14045551234\n');
    }
  });

  it('refuses unknown tenants, malformed numbers and DIDs owned by another tenant', () => {
    expectBadInput(cli('dids', 'add', '4045551234', '--tenant', 'nope'), `unknown tenant "nope": add it first with 'callguard tenants add nope'`);
    expectBadInput(
      cli('dids', 'add', '555-12', '--tenant', 'acme'),
      'bad DID "555-12": expected a phone number such as +14045551234 or 404-555-1234',
    );
    expectOk(cli('dids', 'add', '(404) 555-1234', '--tenant', 'acme'), 'added DID +14045551234 to tenant acme\n');
    expectBadInput(
      cli('dids', 'add', '+1 404 555 1234', '--tenant', 'default'),
      'DID +14045551234 already belongs to tenant "acme": remove it first',
    );
    expect(jsonOf(cli('dids', 'list', '--tenant', 'acme', '--json'))).toEqual([{ number: '+14045551234', tenant: 'acme', allowOnly: null }]);
  });
});

// ---------------------------------------------------------------- rules

describe('rules', () => {
  const { cli } = useDb();

  let firstListing: RuleJson[] = [];
  const firstAddAt = { before: 0, after: 0 };

  it('adds every match kind', () => {
    expectOk(cli('tenants', 'add', 'acme'));
    const patterns = [
      ...NUMBER_FORMS,
      'tel:+14045551234',
      'sip:+14045551234@host',
      '404',
      '404-555',
      '+1 312*',
      '1312*',
      '+44 20*',
      'anonymous',
      '203.0.113.7',
      '203.0.113.0/24',
      '2001:db8::1',
      '2001:db8::/32',
      'user@example.com',
      '*@example.com',
    ];
    firstAddAt.before = Date.now();
    const add = cli('rules', 'add', patterns.join(', '), '--action', 'block');
    firstAddAt.after = Date.now();
    expectOk(add);
    // The six number forms and tel: are one rule, as are `+1 312*` and `1312*`: the last spelling is kept.
    const ids = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13];
    const lines = add.stdout.split('\n');
    expect(lines).toHaveLength(ids.length + 1);
    lines.slice(0, -1).forEach((line, i) => expect(line).toMatch(new RegExp(`^added #${ids[i]} block \\S.* \\(global\\)$`)));
    const rules = rulesOf(cli);
    firstListing = rules;
    expect(rules.map((r) => [r.id, r.kind, r.key, r.pattern])).toEqual([
      [1, 'number', '+14045551234', 'tel:+14045551234'],
      [2, 'sip', 'sip:+14045551234@host', 'sip:+14045551234@host'],
      [3, 'prefix', '+1404', '404'],
      [4, 'prefix', '+1404555', '404-555'],
      [5, 'prefix', '+1312', '1312*'],
      [6, 'prefix', '+4420', '+44 20*'],
      [7, 'anonymous', 'anonymous', 'anonymous'],
      [8, 'ip', 'ip4:203.0.113.7/32', '203.0.113.7'],
      [9, 'ip', 'ip4:203.0.113.0/24', '203.0.113.0/24'],
      [10, 'ip', 'ip6:2001:db8::1/128', '2001:db8::1'],
      [11, 'ip', 'ip6:2001:db8::/32', '2001:db8::/32'],
      [12, 'sip', 'sip:user@example.com', 'user@example.com'],
      [13, 'sip', 'sipdomain:example.com', '*@example.com'],
    ]);
  });

  it('lists rules as JSON with every field', () => {
    const [rule] = firstListing;
    expect(Object.keys(rule!).sort()).toEqual(
      ['action', 'createdAt', 'expired', 'expiresAt', 'id', 'key', 'kind', 'list', 'note', 'pattern', 'scope', 'sms', 'target', 'tz', 'updatedAt', 'when'].sort(),
    );
    expect(rule).toMatchObject({ id: 1, scope: 'global', action: 'block', target: null, sms: false, note: null, list: null, expiresAt: null, expired: false, when: null, tz: null });
    expect(Number.isInteger(rule!.createdAt)).toBe(true);
    expect(rule!.updatedAt).toBeGreaterThanOrEqual(rule!.createdAt);
    // Stamped by the clock while the first test ran (in order, not within some time of now).
    expect(rule!.createdAt).toBeGreaterThanOrEqual(firstAddAt.before);
    expect(rule!.createdAt).toBeLessThanOrEqual(firstAddAt.after);
  });

  it('matches each kind in explain, whatever form the caller ID comes in', () => {
    // Every caller form of +14045551234 hits the exact-number rule, a SIP URI caller ID included.
    for (const from of ['sip:+14045551234@host', 'tel:+14045551234']) {
      const decision = explain(cli, '--from', from, '--to', '2125550000');
      expect([decision.action, decision.ruleId, decision.caller, decision.callerKind], from).toEqual(['block', 1, '+14045551234', 'number']);
    }
    const none = ['--from', '+12125550100', '--to', '2125550000'];
    const cases: [string[], number][] = [
      [['--from', '+14049999999', '--to', '2125550000'], 3],
      [['--from', '+13125550000', '--to', '2125550000'], 5],
      [['--from', '+442071234567', '--to', '2125550000'], 6],
      [[...none, '--ip', '203.0.113.7'], 8],
      [[...none, '--ip', '203.0.113.99'], 9],
      [[...none, '--ip', '2001:db8:ffff::1'], 11],
      [[...none, '--sip-from', 'sip:user@example.com'], 12],
      [[...none, '--sip-from', '"Bob" <sip:bob@Example.COM;transport=udp>;tag=9'], 13],
      [[...none, '--sip-from', 'sip:+14045551234@host'], 2],
    ];
    for (const [args, ruleId] of cases) {
      const decision = explain(cli, ...args);
      expect([decision.action, decision.ruleId, decision.scope], args.join(' ')).toEqual(['block', ruleId, 'global']);
    }
  });

  it('adds comma-separated patterns as one rule each', () => {
    const add = cli('rules', 'add', '702-500-4000, 212-900-8000, 217*, 224*', '--action', 'busy', '--list', 'bulk');
    expectOk(
      add,
      'added #14 busy 702-500-4000 (global, list bulk)\n' +
        'added #15 busy 212-900-8000 (global, list bulk)\n' +
        'added #16 busy 217* (global, list bulk)\n' +
        'added #17 busy 224* (global, list bulk)\n',
    );
    expect(rulesOf(cli, '--list', 'bulk').map((r) => [r.kind, r.key, r.action, r.list])).toEqual([
      ['number', '+17025004000', 'busy', 'bulk'],
      ['number', '+12129008000', 'busy', 'bulk'],
      ['prefix', '+1217', 'busy', 'bulk'],
      ['prefix', '+1224', 'busy', 'bulk'],
    ]);
  });

  it('refuses bad input with a message naming it, and writes nothing', () => {
    expectBadInput(cli('rules', 'add', '702-500-4001, 21x*, 224-555-0000', '--action', 'block'), 'bad pattern "21x*"', true);
    expectBadInput(cli('rules', 'add', '702-500-4001', '--action', 'nuke'), 'unknown action "nuke"', true);
    expectBadInput(
      cli('rules', 'add', '702-500-4001', '--action', 'block', '--scope', 'planet:x'),
      'bad scope "planet:x": expected global, tenant:<name> or did:<number>',
    );
    expectBadInput(
      cli('rules', 'add', '702-500-4001, 702-500-4002', '--action', 'block', '--scope', 'tenant:nope'),
      `unknown tenant "nope": add it first with 'callguard tenants add nope'`,
    );
    expectBadInput(cli('rules', 'add', '702-500-4001, 10.0.0.0/33', '--action', 'block'), 'bad IP address or network "10.0.0.0/33"', true);
    expectBadInput(cli('rules', 'add', '702-500-4001', '--action', 'block', '--expires', 'soon'), 'bad expiry "soon"', true);
    expectBadInput(
      cli('rules', 'add', '702-500-4001', '--action', 'block', '--expires', '2020-01-01T00:00:00Z'),
      'bad expiry "2020-01-01T00:00:00Z": that moment has already passed',
    );
    expectBadInput(cli('rules', 'add', '702-500-4001', '--action', 'forward'), 'forward needs a number: --action forward --to <number>');
    expectBadInput(
      cli('rules', 'add', '702-500-4001', '--action', 'block', '--to', '4045550000'),
      '--to goes with forward or voicemail, not block',
    );
    const rules = rulesOf(cli);
    expect(rules).toHaveLength(17);
    expect(rules.map((r) => r.key)).not.toContain('+17025004001');
  });

  it('keeps targets, notes, sms and expiry; filters by --scope', () => {
    const inAYear = new Date(Date.now() + 365 * 86_400_000).toISOString();
    expectOk(
      cli('rules', 'add', '+1 404 555 1234', '--action', 'forward', '--to', '(212) 555-0100', '--scope', 'tenant:acme', '--sms', '--note', 'boss, "VIP"', '--list', 'vip', '--expires', inAYear),
      'added #18 forward +12125550100 +1 404 555 1234 (tenant:acme, texts too, list vip)\n',
    );
    expectOk(cli('rules', 'add', '404-555-1234', '--action', 'voicemail:200', '--scope', 'did:2125550000'), 'added #19 voicemail 200 404-555-1234 (did:+12125550000)\n');
    const [vip, ...others] = rulesOf(cli, '--scope', 'tenant:acme');
    expect(others).toEqual([]);
    expect(vip).toMatchObject({
      id: 18,
      scope: 'tenant:acme',
      kind: 'number',
      key: '+14045551234',
      action: 'forward',
      target: '+12125550100',
      sms: true,
      note: 'boss, "VIP"',
      list: 'vip',
      expiresAt: Date.parse(inAYear),
      expired: false,
    });
  });

  it('replaces a rule re-added in the same scope (same id, new action)', () => {
    expectOk(cli('rules', 'add', '7025004000', '--action', 'challenge'), 'added #14 challenge 7025004000 (global)\n');
    const rules = rulesOf(cli);
    const rule = rules.find((r) => r.id === 14)!;
    expect(rule).toMatchObject({ key: '+17025004000', action: 'challenge', pattern: '7025004000', list: null });
    expect(rule.updatedAt).toBeGreaterThan(rule.createdAt);
    expect(rules.filter((r) => r.key === '+17025004000')).toHaveLength(1);
  });

  it('removes rules by id, #id and pattern', () => {
    expectOk(cli('rules', 'remove', '15'), 'removed #15 busy 212-900-8000 (global, list bulk)\n');
    expectOk(cli('rules', 'remove', '#16'), 'removed #16 busy 217* (global, list bulk)\n');
    // +14045551234 is a rule in three scopes: --scope takes one, no scope takes the rest.
    expectOk(cli('rules', 'remove', '(404) 555-1234', '--scope', 'did:2125550000'), 'removed #19 voicemail 200 404-555-1234 (did:+12125550000)\n');
    expectOk(
      cli('rules', 'remove', '+1-404-555-1234'),
      'removed #1 block tel:+14045551234 (global)\nremoved #18 forward +12125550100 +1 404 555 1234 (tenant:acme, texts too, list vip)\n',
    );
    expectOk(cli('rules', 'remove', 'sip:+14045551234@host'), 'removed #2 block sip:+14045551234@host (global)\n');
    expectBadInput(cli('rules', 'remove', '#999'), 'no rule #999');
    const ids = rulesOf(cli).map((r) => r.id);
    expect(ids).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 17]);
  });
});

// ---------------------------------------------------------------- explain: precedence

describe('explain: precedence', () => {
  const { cli } = useDb();

  it('prints the action first, then numbered reasons; --json has the decision fields', () => {
    expectOk(cli('tenants', 'add', 'acme'));
    expectOk(cli('dids', 'add', '4045550000', '--tenant', 'acme'));
    expectOk(cli('dids', 'add', '4045550001', '--tenant', 'acme'));
    expectOk(cli('rules', 'add', '3125551234', '--action', 'block'));
    expectOk(cli('rules', 'add', '312-555', '--action', 'disconnected'));
    expectOk(cli('rules', 'add', '+1 3*', '--action', 'voicemail:100'));
    expectOk(cli('rules', 'add', '312', '--action', 'busy', '--scope', 'tenant:acme'));
    expectOk(cli('rules', 'add', '+1*', '--action', 'forward:+1 212 555 0199', '--scope', 'did:4045550000'));
    const text = cli('explain', '--from', '312-555-1234', '--to', '212-555-0000');
    expectOk(text);
    const lines = text.stdout.split('\n');
    expect(lines[0]).toBe('block');
    expect(lines[1]).toBe('  1. Caller +13125551234; number called +12125550000, tenant default.');
    // A global exact number beats the global prefixes (and says so).
    expect(lines[2]).toBe('  2. Step 1: rule #1 (global, exact number +13125551234) says block.');
    expect(lines.slice(1, -1).every((line, i) => line.startsWith(`  ${i + 1}. `))).toBe(true);
    expect(lines.at(-1)).toBe('');
  });

  it('ranks scope first: a DID rule beats a tenant rule beats a global one', () => {
    expect(explain(cli, '--from', '3125551234', '--to', '4045550000')).toMatchObject({
      action: 'forward',
      target: '+12125550199',
      scope: 'did:+14045550000',
      ruleId: 5,
      tenant: 'acme',
      did: '+14045550000',
      category: null,
    });
    expect(explain(cli, '--from', '3125551234', '--to', '4045550001')).toMatchObject({ action: 'busy', target: null, scope: 'tenant:acme', ruleId: 4, tenant: 'acme' });
  });

  it('ranks within a scope: exact beats prefix, longer prefix beats shorter', () => {
    expect(explain(cli, '--from', '3125559999', '--to', '4045550002')).toMatchObject({ action: 'disconnected', scope: 'global', ruleId: 2 });
    expect(explain(cli, '--from', '3135559999', '--to', '4045550002')).toMatchObject({ action: 'voicemail', target: '100', scope: 'global', ruleId: 3 });
  });

  it('ends screening at a matching allow rule, before caller categories', () => {
    expectOk(cli('categories', 'set', 'neighbor', 'block'), 'neighbor: block (global)\n');
    expect(explain(cli, '--from', '212-555-0099', '--to', '212-555-0000')).toMatchObject({ action: 'block', category: 'neighbor', ruleId: null, scope: 'global' });
    expectOk(cli('rules', 'add', '212-555-0099', '--action', 'allow'), 'added #6 allow 212-555-0099 (global)\n');
    const allowed = explain(cli, '--from', '212-555-0099', '--to', '212-555-0000');
    expect(allowed).toMatchObject({ action: 'allow', ruleId: 6, scope: 'global', category: null, categories: [] });
    expect(allowed.reasons).toContain('An allow rule ends screening: the call goes through.');
  });

  it('lets only --sms rules stop texts, while allow rules still apply', () => {
    const text = explain(cli, '--from', '3125551234', '--to', '4045550002', '--sms');
    expect(text).toMatchObject({ kind: 'sms', action: 'allow', ruleId: null });
    expect(text.reasons).toContain('Step 1: no number or address rule matches this text (only --sms rules block texts).');
    expectOk(cli('rules', 'add', '212-555', '--action', 'block', '--sms'), 'added #7 block 212-555 (global, texts too)\n');
    expect(explain(cli, '--from', '212-555-0098', '--to', '4045550002', '--sms')).toMatchObject({ kind: 'sms', action: 'block', ruleId: 7 });
    // The exact allow outranks the --sms prefix block for texts too.
    expect(explain(cli, '--from', '212-555-0099', '--to', '4045550002', '--sms')).toMatchObject({ kind: 'sms', action: 'allow', ruleId: 6 });
  });
});

// ---------------------------------------------------------------- explain: categories, expiry, lists

describe('explain: categories, expiry and lists', () => {
  const { cli } = useDb();

  it('sets category policies globally and per tenant', () => {
    expectOk(cli('tenants', 'add', 'acme'));
    expectOk(cli('dids', 'add', '4045550000', '--tenant', 'acme'));
    expectOk(cli('categories', 'set', 'anonymous', 'challenge'), 'anonymous: challenge (global)\n');
    expectOk(cli('categories', 'set', 'anonymous', 'block', '--tenant', 'acme'), 'anonymous: block (tenant:acme)\n');
    expectBadInput(cli('categories', 'set', 'spammy', 'block'), 'unknown category "spammy"', true);
    expectBadInput(cli('categories', 'set', 'anonymous', 'forward'), 'unknown category action "forward"', true);
    expect(jsonOf(cli('categories', 'list', '--json'))).toEqual([
      { scope: 'global', category: 'anonymous', action: 'challenge', when: null, tz: null },
      { scope: 'tenant:acme', category: 'anonymous', action: 'block', when: null, tz: null },
    ]);
    expect(explain(cli, '--from', '', '--to', '2125550000')).toMatchObject({
      action: 'challenge',
      category: 'anonymous',
      categories: ['anonymous'],
      scope: 'global',
      ruleId: null,
      callerKind: 'anonymous',
    });
    expect(explain(cli, '--from', 'anonymous', '--to', '4045550000')).toMatchObject({ action: 'block', category: 'anonymous', scope: 'tenant:acme', tenant: 'acme' });
  });

  it('applies the most severe policy when several categories apply', () => {
    expectOk(cli('categories', 'set', 'unverified', 'busy'), 'unverified: busy (global)\n');
    expectOk(cli('categories', 'set', 'international', 'challenge'), 'international: challenge (global)\n');
    expectOk(cli('categories', 'set', 'toll-free', 'block'), 'toll_free: block (global)\n');
    // anonymous (challenge) + unverified (busy): the later category is the more severe.
    expect(explain(cli, '--from', '', '--attestation', 'failed', '--to', '2125550000')).toMatchObject({
      action: 'busy',
      category: 'unverified',
      categories: ['anonymous', 'unverified'],
    });
    // toll_free (block) + international (challenge): the earlier category is the more severe.
    expect(explain(cli, '--from', '+44 800 123 4567', '--to', '2125550000')).toMatchObject({
      action: 'block',
      category: 'toll_free',
      categories: ['toll_free', 'international'],
    });
    const both = explain(cli, '--from', '+442079460000', '--attestation', 'C', '--to', '2125550000');
    expect(both).toMatchObject({ action: 'busy', category: 'unverified', categories: ['international', 'unverified'], scope: 'global' });
    expect(both.reasons).toContain('Step 2: the most severe policy wins: busy (unverified).');
    expectBadInput(cli('explain', '--from', '4045559876', '--to', '2125550000', '--attestation', 'Z'), 'bad attestation "Z": expected A, B, C or failed');
  });

  it('leaves out expired rules and rules of a disabled list', async () => {
    const before = Date.now();
    expectOk(cli('rules', 'add', '919-555-0000', '--action', 'block', '--expires', '1s'), 'added #1 block 919-555-0000 (global)\n');
    const after = Date.now();
    const live = rulesOf(cli).find((r) => r.id === 1)!;
    // A second from the moment it was added, as the clock read then (however long the CLI took to start).
    expect(live.createdAt).toBeGreaterThanOrEqual(before);
    expect(live.createdAt).toBeLessThanOrEqual(after);
    expect(live.expiresAt! - live.createdAt).toBe(1_000);
    // Inside its second it blocks: asked as of an instant inside it, not in the hope that the next CLI run
    // starts within the second. Its last millisecond blocks; its end does not.
    const at = (ms: number) => new Date(ms).toISOString();
    expect(explain(cli, '--from', '9195550000', '--to', '2125550000', '--at', at(live.expiresAt! - 1))).toMatchObject({ action: 'block', ruleId: 1 });
    expect(explain(cli, '--from', '9195550000', '--to', '2125550000', '--at', at(live.expiresAt!))).toMatchObject({ action: 'allow', ruleId: null });
    expectOk(cli('rules', 'add', '919-555-0001, 919-555-0002', '--action', 'busy', '--list', 'spam'));
    expectOk(cli('lists', 'disable', 'spam'), 'list spam disabled\n');
    expect(explain(cli, '--from', '9195550001', '--to', '2125550000')).toMatchObject({ action: 'allow', ruleId: null });
    expectOk(cli('lists', 'enable', 'spam'), 'list spam enabled\n');
    expect(explain(cli, '--from', '9195550001', '--to', '2125550000')).toMatchObject({ action: 'busy', ruleId: 2 });
    // And once the second has passed on the clock, a plain explain (as of now) leaves it out too.
    await sleep(Math.max(0, live.expiresAt! + 1 - Date.now()));
    expect(explain(cli, '--from', '9195550000', '--to', '2125550000')).toMatchObject({ action: 'allow', ruleId: null });
    const expired = rulesOf(cli).find((r) => r.id === 1)!;
    expect(expired.expired).toBe(true);
    expect(expired).toMatchObject({ createdAt: live.createdAt, expiresAt: live.expiresAt });
  });
});

// ---------------------------------------------------------------- explain: anonymous and hostile callers

describe('explain: anonymous and hostile caller IDs', () => {
  const db = useDb();
  const { cli } = db;
  const dbPath = () => db.path;

  beforeAll(() => {
    expectOk(cli('rules', 'add', 'anonymous', '--action', 'busy'), 'added #1 busy anonymous (global)\n');
    expectOk(cli('categories', 'set', 'invalid', 'block'), 'invalid: block (global)\n');
  });

  it.each(['', 'anonymous', 'Restricted', 'PRIVATE', 'unavailable', 'Unknown', 'withheld', '0000000000', '+1 000 000 0000', '+00000'])(
    'treats caller %j as anonymous',
    (from) => {
      expect(explain(cli, '--from', from, '--to', '2125550000')).toMatchObject({ action: 'busy', ruleId: 1, callerKind: 'anonymous', caller: null });
    },
  );

  it.each([
    ['SQL and both quotes', `x'); DROP TABLE rules; -- "`, 'invalid'],
    ['10 kB of digits', '9'.repeat(10_240), 'invalid'],
    ['emoji', '\u260e\ufe0f \ud83d\udcde 404-555-1234', 'invalid'],
    ['a quoted display name around an anonymous SIP URI', '"Anonymous" <sip:anonymous@anonymous.invalid>;tag=x', 'anonymous'],
  ])('survives a hostile caller ID: %s', (_label, from, kind) => {
    const decision = explain(cli, '--from', from, '--to', '2125550000');
    if (kind === 'invalid') {
      expect(decision).toMatchObject({ action: 'block', callerKind: 'invalid', category: 'invalid', categories: ['invalid'], ruleId: null, caller: null });
    } else {
      expect(decision).toMatchObject({ action: 'busy', callerKind: 'anonymous', ruleId: 1 });
    }
  });

  it('keeps terminal control codes out of text output and the tables intact', () => {
    const text = cli('explain', '--from', '\u0001\u001b]0;pwned\u0007\u001b[2J\r\n+14045551234', '--to', '2125550000');
    expectOk(text);
    expect(text.stdout.split('\n')[0]).toBe('block');
    expect(text.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f]/);
    withDatabase(dbPath(), (db) => {
      expect(db.prepare('PRAGMA integrity_check').pluck().get()).toBe('ok');
      expect(db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('rules', 'tenants', 'dids') ORDER BY name").pluck().all()).toEqual([
        'dids',
        'rules',
        'tenants',
      ]);
      expect(db.prepare('SELECT id, kind, action FROM rules').all()).toEqual([{ id: 1, kind: 'anonymous', action: 'busy' }]);
      expect(db.prepare('SELECT name FROM tenants').pluck().all()).toEqual(['default']);
    });
  });
});

// ---------------------------------------------------------------- import / export

describe('rules import and export', () => {
  let tmp: TempDir;
  beforeAll(() => {
    tmp = makeTempDir();
  });
  afterAll(() => tmp.remove());
  const header = 'pattern,action,target,scope,sms,note,list,expires,when,tz\n';

  it('round-trips an export byte for byte through a fresh database', () => {
    const a = cliFor(tmp.file('a.db'));
    expectOk(a('tenants', 'add', 'acme'));
    expectOk(a('rules', 'add', '702-500-4000', '--action', 'block', '--sms', '--note', 'spam, "loud" caller'));
    expectOk(a('rules', 'add', '+44 20*', '--action', 'voicemail:200', '--scope', 'tenant:acme', '--list', 'intl', '--expires', '2031-06-30T12:00:00Z'));
    expectOk(a('rules', 'add', '3125551234', '--action', 'forward', '--to', '404-555-0000', '--scope', 'did:(404) 555-0000', '--note', 'boss'));
    expectOk(a('rules', 'add', 'anonymous, 203.0.113.0/24, *@example.com', '--action', 'challenge', '--list', 'intl', '--when', 'mon-fri 17:00-09:00', '--tz', 'America/New_York'));
    const exported = a('rules', 'export');
    expectOk(
      exported,
      header +
        '702-500-4000,block,,global,yes,"spam, ""loud"" caller",,,,\n' +
        '+44 20*,voicemail,200,tenant:acme,no,,intl,2031-06-30T12:00:00.000Z,,\n' +
        '3125551234,forward,+14045550000,did:+14045550000,no,boss,,,,\n' +
        'anonymous,challenge,,global,no,,intl,,mon-fri 17:00-09:00,America/New_York\n' +
        '203.0.113.0/24,challenge,,global,no,,intl,,mon-fri 17:00-09:00,America/New_York\n' +
        '*@example.com,challenge,,global,no,,intl,,mon-fri 17:00-09:00,America/New_York\n',
    );
    const file = tmp.file('export.csv');
    writeFileSync(file, exported.stdout);
    const b = cliFor(tmp.file('b.db'));
    expectOk(b('tenants', 'add', 'acme'));
    expectOk(b('rules', 'import', file), `imported 6 rule(s) from ${file}\n`);
    expectOk(b('rules', 'export'), exported.stdout);
  });

  it('imports a headerless one-number-per-line file with --action and --list', () => {
    const file = tmp.file('numbers.txt');
    writeFileSync(file, '4045551234\n(212) 555-0000\n\n+44 20 7946 0000\n');
    const c = cliFor(tmp.file('c.db'));
    expectOk(c('rules', 'import', file, '--action', 'block', '--list', 'spam'), `imported 3 rule(s) from ${file}\n`);
    expect(rulesOf(c).map((r) => [r.kind, r.key, r.action, r.list, r.scope])).toEqual([
      ['number', '+14045551234', 'block', 'spam', 'global'],
      ['number', '+12125550000', 'block', 'spam', 'global'],
      ['number', '+442079460000', 'block', 'spam', 'global'],
    ]);
  });

  it('rejects a file with a bad row, naming the file and line, and imports nothing', () => {
    const file = tmp.file('bad.csv');
    writeFileSync(file, 'pattern,action\n4045551234,block\nnot-a-number,block\n2125550000,block\n3125550000,block\n');
    const d = cliFor(tmp.file('d.db'));
    const result = d('rules', 'import', file);
    expectBadInput(result, `${file} line 3: bad pattern "not-a-number"`, true);
    expect(result.stderr).toMatch(/nothing was imported\n$/);
    expectOk(d('rules', 'list', '--json'), '[]\n');
    const missing = tmp.file('missing.csv');
    expectBadInput(d('rules', 'import', missing), `cannot read ${missing}: no such file`);
  });
});

// ---------------------------------------------------------------- global behaviour

describe('global options and the database file', () => {
  let tmp: TempDir;
  beforeAll(() => {
    tmp = makeTempDir();
  });
  afterAll(() => tmp.remove());

  const tenantNames = (path: string) => withDatabase(path, (db) => db.prepare('SELECT name FROM tenants ORDER BY name').pluck().all());

  it('takes --db over CALLGUARD_DB over ./callguard.db', () => {
    const flagDb = tmp.file('flag.db');
    const envDb = tmp.file('env.db');
    const cwdDb = tmp.file('callguard.db');
    expectOk(runCli(['tenants', 'add', 'viaflag'], { db: flagDb, cwd: tmp.dir, env: { CALLGUARD_DB: envDb } }), 'added tenant viaflag\n');
    expect([existsSync(flagDb), existsSync(envDb), existsSync(cwdDb)]).toEqual([true, false, false]);
    expectOk(runCli(['tenants', 'add', 'viaenv'], { cwd: tmp.dir, env: { CALLGUARD_DB: envDb } }), 'added tenant viaenv\n');
    expect([existsSync(envDb), existsSync(cwdDb)]).toEqual([true, false]);
    expectOk(runCli(['tenants', 'add', 'viacwd'], { cwd: tmp.dir }), 'added tenant viacwd\n');
    expect(existsSync(cwdDb)).toBe(true);
    expect(tenantNames(flagDb)).toEqual(['default', 'viaflag']);
    expect(tenantNames(envDb)).toEqual(['default', 'viaenv']);
    expect(tenantNames(cwdDb)).toEqual(['default', 'viacwd']);
  });

  it('creates the database owner-only (0600)', () => {
    for (const name of ['flag.db', 'env.db', 'callguard.db']) {
      expect((statSync(tmp.file(name)).mode & 0o777).toString(8), name).toBe('600');
    }
  });

  it('applies each migration once, however often it runs', () => {
    const flagDb = tmp.file('flag.db');
    expect(jsonOf(runCli(['tenants', 'list', '--json'], { db: flagDb }))).toEqual([
      { name: 'default', mode: 'enforce', allowOnly: null, didAllowOnly: [], dids: 0, rules: 0 },
      { name: 'viaflag', mode: 'enforce', allowOnly: null, didAllowOnly: [], dids: 0, rules: 0 },
    ]);
    const files = readdirSync(join(repoRoot, 'migrations'))
      .map((file) => /^(\d{3})_([a-z0-9_]+)\.sql$/.exec(file))
      .filter((match): match is RegExpExecArray => match !== null)
      .map((match) => ({ version: Number(match[1]), name: match[2] }))
      .sort((x, y) => x.version - y.version);
    expect(files.length).toBeGreaterThan(0);
    withDatabase(flagDb, (db) => {
      expect(db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all()).toEqual(files);
      expect(db.prepare("SELECT COUNT(*) FROM tenants WHERE name = 'default'").pluck().get()).toBe(1);
    });
  });

  it('answers unknown commands and options with exit 2, and --help with exit 0', () => {
    const db = tmp.file('help.db');
    expectUsageError(runCli(['frobnicate'], { db }), "unknown command 'frobnicate'");
    expectUsageError(runCli(['tenants', 'list', '--bogus'], { db }), "unknown option '--bogus'");
    const help = runCli(['--help'], { db });
    expectOk(help);
    expect(help.stdout.split('\n')[0]).toBe('Usage: callguard [options] [command]');
    for (const command of ['tenants', 'dids', 'rules', 'lists', 'categories', 'explain']) {
      expect(help.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
    }
  });
});

// ---------------------------------------------------------------- regressions

describe('regressions', () => {
  const db = useDb();
  const { cli } = db;

  it('never reuses a removed rule id, so the call log cannot mix two rules', () => {
    expectOk(cli('rules', 'add', '702-500-4000', '--action', 'block'), 'added #1 block 702-500-4000 (global)\n');
    expectOk(cli('rules', 'remove', '#1'));
    expectOk(cli('rules', 'add', '212-900-8000', '--action', 'block'), 'added #2 block 212-900-8000 (global)\n');
  });

  it('keeps leading and trailing spaces of a note through export and import', () => {
    expectOk(cli('rules', 'add', '312*', '--action', 'block', '--note', '  padded note  '));
    const exported = cli('rules', 'export');
    expectOk(exported);
    expect(exported.stdout).toContain('"  padded note  "');
    const other = tempDb();
    try {
      const file = join(other.dir, 'rules.csv');
      writeFileSync(file, exported.stdout);
      expectOk(cliFor(other.path)('rules', 'import', file));
      expect(cliFor(other.path)('rules', 'export').stdout).toBe(exported.stdout);
    } finally {
      other.remove();
    }
  });

  it('treats an empty CALLGUARD_DB as unset', () => {
    const dir = tempDb();
    try {
      const result = runCli(['tenants', 'list', '--json'], { cwd: dir.dir, env: { CALLGUARD_DB: '' } });
      expectOk(result);
      expect(existsSync(join(dir.dir, 'callguard.db'))).toBe(true);
    } finally {
      dir.remove();
    }
  });
});
