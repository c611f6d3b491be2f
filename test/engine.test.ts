import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Database } from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decide } from '../agent/engine/decide';
import { parsePattern } from '../agent/engine/patterns';
import type { CallFacts, Category, PolicyAction } from '../agent/engine/types';
import { CategoryStore } from '../agent/store/categories';
import { openDatabase } from '../agent/store/database';
import { SqliteDecisionStore } from '../agent/store/decision-view';
import type { RuleOptions } from '../agent/store/rules';
import { RuleStore } from '../agent/store/rules';
import { TenantStore } from '../agent/store/tenants';

let dir: string;
let db: Database;
let rules: RuleStore;
let engineStore: SqliteDecisionStore;
let clock: number;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'callguard-engine-'));
  db = openDatabase(join(dir, 'test.db'));
  rules = new RuleStore(db);
  engineStore = new SqliteDecisionStore(db);
  clock = Date.parse('2026-11-21T12:00:00Z');
  const tenants = new TenantStore(db);
  tenants.add('acme');
  tenants.addDid('+15551230000' as never, 'acme');
});

afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Adds a rule `at` a moment, so "newest wins" can be arranged. */
function rule(pattern: string, action: RuleOptions['action'], extra: Partial<RuleOptions> = {}, at = clock): number {
  const options: RuleOptions = { scope: 'global', action, target: null, sms: false, note: null, list: null, expiresAt: null, ...extra };
  return rules.add([{ ...parsePattern(pattern, 'US'), ...options }], at)[0]!;
}

function policy(category: Category, action: PolicyAction, scope = 'global'): void {
  new CategoryStore(db).set(scope, category, action);
}

function call(from: string, extra: Partial<CallFacts> = {}) {
  return decide({ kind: 'call', from, to: '+15551230000', ...extra }, engineStore, { country: 'US', now: clock });
}

describe('step 1: number and address rules', () => {
  it('a DID rule beats a tenant rule beats a global rule, whatever their specificity', () => {
    const global = rule('404-555-1234', 'block');
    const tenant = rule('404', 'challenge', { scope: 'tenant:acme' });
    const did = rule('4*', 'busy', { scope: 'did:+15551230000' });
    expect(call('4045551234')).toMatchObject({ action: 'busy', ruleId: did, scope: 'did:+15551230000', tenant: 'acme' });
    rules.removeIds([did]);
    expect(call('4045551234')).toMatchObject({ action: 'challenge', ruleId: tenant });
    rules.removeIds([tenant]);
    expect(call('4045551234')).toMatchObject({ action: 'block', ruleId: global, scope: 'global' });
  });

  it('a DID rule applies only to calls to that DID; tenant rules only to DIDs of that tenant', () => {
    rule('404', 'block', { scope: 'did:+15551239999' });
    rule('405', 'block', { scope: 'tenant:acme' });
    expect(call('4045551234').action).toBe('allow');
    expect(call('4055551234').action).toBe('block');
    expect(decide({ kind: 'call', from: '4055551234', to: '+15559990000' }, engineStore, { country: 'US', now: clock })).toMatchObject({
      action: 'allow',
      tenant: 'default',
    });
  });

  it('in one scope an exact number beats any prefix, and a longer prefix beats a shorter one', () => {
    const exact = rule('404-555-1234', 'allow', {}, clock - 10_000);
    const shortPrefix = rule('404', 'block');
    const longPrefix = rule('404-555', 'challenge', {}, clock - 5_000);
    expect(call('4045551234')).toMatchObject({ action: 'allow', ruleId: exact });
    expect(call('4045559999')).toMatchObject({ action: 'challenge', ruleId: longPrefix });
    expect(call('4045009999')).toMatchObject({ action: 'block', ruleId: shortPrefix });
  });

  it('among equals the newest wins, and re-adding a rule makes it the newest', () => {
    const older = rule('203.0.113.0/24', 'busy', {}, clock - 1000);
    const newer = rule('404*', 'block', {}, clock);
    expect(call('4045551234', { ip: '203.0.113.9' })).toMatchObject({ ruleId: newer, action: 'block' });
    const again = rule('203.0.113.0/24', 'disconnected', {}, clock + 1000);
    expect(again).toBe(older);
    expect(call('4045551234', { ip: '203.0.113.9' })).toMatchObject({ ruleId: older, action: 'disconnected' });
  });

  it('a matching allow ends screening before categories', () => {
    policy('international', 'block');
    expect(call('+442079460000').action).toBe('block');
    rule('+44 20*', 'allow');
    const decision = call('+442079460000');
    expect(decision).toMatchObject({ action: 'allow', category: null });
    expect(decision.reasons.join(' ')).toMatch(/allow rule ends screening/);
  });

  it('matches IPv4 and IPv6 networks, the longest network first, exact address over any network', () => {
    rule('203.0.113.0/24', 'busy');
    const narrow = rule('203.0.113.128/25', 'disconnected');
    rule('2001:db8::/32', 'block');
    const v6narrow = rule('2001:db8:1::/48', 'challenge');
    const exact = rule('2001:db8:1::7', 'allow', {}, clock - 1);
    expect(call('4045551234', { ip: '203.0.113.10' }).action).toBe('busy');
    expect(call('4045551234', { ip: '203.0.113.200' })).toMatchObject({ action: 'disconnected', ruleId: narrow });
    expect(call('4045551234', { ip: '198.51.100.1' }).action).toBe('allow');
    expect(call('4045551234', { ip: '2001:db8:ffff::1' }).action).toBe('block');
    expect(call('4045551234', { ip: '2001:db8:1:2::1' })).toMatchObject({ action: 'challenge', ruleId: v6narrow });
    expect(call('4045551234', { ip: '2001:db8:1::7' })).toMatchObject({ action: 'allow', ruleId: exact });
    expect(call('4045551234', { ip: '::ffff:203.0.113.200' }).ruleId).toBe(narrow);
  });

  it('matches SIP From URIs exactly or by domain', () => {
    rule('*@spam.example', 'block');
    const exact = rule('friend@spam.example', 'allow', {}, clock - 1);
    expect(call('4045551234', { sipFrom: '<sip:robot@SPAM.example;tag=1>' }).action).toBe('block');
    expect(call('4045551234', { sipFrom: 'sip:friend@spam.example' })).toMatchObject({ action: 'allow', ruleId: exact });
    expect(call('4045551234', { sipFrom: 'sip:robot@elsewhere.example' }).action).toBe('allow');
  });

  it('matches anonymous callers, including those the PBX marks private', () => {
    const anonymous = rule('anonymous', 'challenge');
    for (const from of ['', 'Anonymous', 'restricted', '+1 000 000 0000']) expect(call(from).ruleId).toBe(anonymous);
    expect(call('4045551234', { privacy: true }).ruleId).toBe(anonymous);
    expect(call('4045551234').ruleId).toBeNull();
  });

  it('texts see only --sms rules, and allow rules', () => {
    rule('404*', 'block');
    rule('405*', 'busy', { sms: true });
    rule('406-555-1234', 'allow');
    policy('invalid', 'block');
    const text = (from: string) => decide({ kind: 'sms', from, to: '+15551230000' }, engineStore, { country: 'US', now: clock });
    expect(text('4045551234').action).toBe('allow');
    expect(text('4055551234')).toMatchObject({ action: 'block', kind: 'sms' });
    expect(text('4065551234').ruleId).not.toBeNull();
    expect(text('nonsense').action).toBe('allow');
    expect(call('4045551234').action).toBe('block');
  });

  it('expired rules and rules of disabled lists take no part', () => {
    rule('404*', 'block', { expiresAt: clock + 60_000 });
    rule('405*', 'block', { list: 'spam' });
    expect(call('4045551234').action).toBe('block');
    clock += 60_000;
    expect(call('4045551234').action).toBe('allow');
    expect(call('4055551234').action).toBe('block');
    rules.setListEnabled('spam', false);
    expect(call('4055551234').action).toBe('allow');
    rules.setListEnabled('spam', true);
    expect(call('4055551234').action).toBe('block');
  });

  it('sees a rule written by another connection on the very next decision', () => {
    expect(call('4045551234').action).toBe('allow');
    const other = openDatabase(db.name);
    try {
      new RuleStore(other).add([{ ...parsePattern('404-555*', 'US'), scope: 'global', action: 'block', target: null, sms: false, note: null, list: null, expiresAt: null }]);
      expect(call('4045551234').action).toBe('block');
      new TenantStore(other).addDid('+15557770000' as never, 'acme');
      expect(decide({ kind: 'call', from: '1', to: '5557770000' }, engineStore, { country: 'US', now: clock }).tenant).toBe('acme');
    } finally {
      other.close();
    }
  });
});

describe('step 2: caller categories', () => {
  it('applies each category', () => {
    policy('anonymous', 'challenge');
    policy('invalid', 'block');
    policy('toll_free', 'voicemail');
    policy('premium', 'busy');
    policy('international', 'disconnected');
    policy('neighbor', 'challenge');
    policy('unverified', 'voicemail');
    expect(call('anonymous')).toMatchObject({ action: 'challenge', category: 'anonymous' });
    expect(call("1' OR '1'='1")).toMatchObject({ action: 'block', category: 'invalid', callerKind: 'invalid' });
    expect(call('800-555-1234')).toMatchObject({ action: 'voicemail', category: 'toll_free' });
    expect(call('900-555-1234')).toMatchObject({ action: 'busy', category: 'premium' });
    expect(call('+442079460000')).toMatchObject({ action: 'disconnected', category: 'international' });
    expect(call('555-123-9876')).toMatchObject({ action: 'challenge', category: 'neighbor' });
    expect(call('404-555-1234', { attestation: 'C' })).toMatchObject({ action: 'voicemail', category: 'unverified' });
    expect(call('404-555-1234', { attestation: 'failed' }).category).toBe('unverified');
    expect(call('404-555-1234', { attestation: 'A' })).toMatchObject({ action: 'allow', category: null });
  });

  it('the most severe policy wins: block > disconnected > busy > voicemail > challenge > allow', () => {
    const order: PolicyAction[] = ['challenge', 'voicemail', 'busy', 'disconnected', 'block'];
    for (let i = 0; i < order.length - 1; i++) {
      policy('international', order[i]!);
      policy('unverified', order[i + 1]!);
      expect(call('+442079460000', { attestation: 'C' })).toMatchObject({ action: order[i + 1], category: 'unverified' });
      policy('international', order[i + 1]!);
      policy('unverified', order[i]!);
      expect(call('+442079460000', { attestation: 'C' })).toMatchObject({ action: order[i + 1], category: 'international' });
    }
  });

  it('a tenant policy overrides the global one', () => {
    policy('anonymous', 'block');
    policy('anonymous', 'allow', 'tenant:acme');
    expect(call('anonymous').action).toBe('allow');
    expect(decide({ kind: 'call', from: 'anonymous', to: '+15559990000' }, engineStore, { country: 'US', now: clock }).action).toBe('block');
  });
});

describe('hostile caller IDs', () => {
  it.each(["'; DROP TABLE rules; --", '"\'\\', 'x'.repeat(10_000), '☎️📞', '\u0000\r\napi status\r\n', '%00%0a'])(
    '%j gets a decision and leaves the rules alone',
    (from) => {
      rule('404*', 'block');
      const decision = call(from, { ip: from, sipFrom: from, callerName: from });
      expect(['invalid', 'anonymous']).toContain(decision.callerKind);
      expect(decision.action).toBe('allow');
      expect(db.prepare('SELECT COUNT(*) FROM rules').pluck().get()).toBe(1);
    },
  );
});
