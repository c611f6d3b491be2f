import { userInfo } from 'node:os';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_ACTION_SETTINGS } from '../agent/actions/settings';
import { decide } from '../agent/engine/decide';
import type { CallFacts } from '../agent/engine/types';
import { createHookServer } from '../agent/http/hook-server';
import type { HookServer } from '../agent/http/hook-server';
import { Metrics } from '../agent/metrics/metrics';
import { blockLastCaller } from '../agent/operations/block-caller';
import { recordOutboundCall } from '../agent/operations/called-numbers';
import { SqliteOutboundCallBackend } from '../agent/store/sqlite-outbound-call-backend';
import { cliActing } from '../agent/operations/acting';
import { SqliteCallLogBackend } from '../agent/store/sqlite-call-log-backend';
import { SqliteRuleBackend } from '../agent/store/sqlite-rule-backend';
import { Screener } from '../agent/screening/screener';
import { CallLog } from '../agent/store/call-log';
import { CallLogQueries } from '../agent/store/call-log-queries';
import { openDatabase } from '../agent/store/database';
import { SqliteDecisionStore } from '../agent/store/decision-view';
import { cliFor, jsonOf } from './helpers/run-cli';
import { tempDb } from './helpers/temp-db';
import type { TempDb } from './helpers/temp-db';

let tmp: TempDb;
let cli: ReturnType<typeof cliFor>;
beforeEach(() => {
  tmp = tempDb();
  cli = cliFor(tmp.path);
});
afterEach(() => tmp.remove());

const explain = (...args: string[]) => {
  const result = cli('explain', '--json', ...args);
  expect(result.status, result.stderr).toBe(0);
  return jsonOf<{ action: string; reasons: string[]; ruleId: number | null }>(result);
};

/** Calls as the agent logs them, decided for real, with the outcomes given. */
function logCalls(calls: (Partial<CallFacts> & { from: string; outcome?: string; at?: number })[]): void {
  const db = openDatabase(tmp.path);
  const log = new CallLog(db);
  const store = new SqliteDecisionStore(db);
  calls.forEach(({ outcome, at = Date.now(), ...facts }, i) => {
    const full: CallFacts = { kind: 'call', to: '+14045550100', ...facts };
    const decision = decide(full, store, { country: 'US', now: at });
    log.record({ uid: `call-${i}-${at}`, at, source: 'test', pbx: null, channel: null, facts: full, decision, decidedUs: 1 });
    if (outcome) log.finish(`call-${i}-${at}`, { outcome: outcome as never, detail: null }, at);
  });
  log.close();
  db.close();
}

describe('time windows', () => {
  const at = (iso: string) => ['--from', '+12125550147', '--to', '+14045550100', '--at', iso];

  it('a rule takes part only inside its window, at the edges too', () => {
    const added = cli('rules', 'add', '212*', '--action', 'block', '--when', 'mon-fri 09:00-17:00', '--tz', 'America/New_York');
    expect(added.stdout).toBe('added #1 block 212* (global, mon-fri 09:00-17:00 America/New_York)\n');
    // Monday 23 November 2026, New York is UTC-5.
    expect(explain(...at('2026-11-23T08:59:59-05:00')).action).toBe('allow');
    expect(explain(...at('2026-11-23T09:00:00-05:00')).action).toBe('block');
    expect(explain(...at('2026-11-23T16:59:59-05:00')).action).toBe('block');
    expect(explain(...at('2026-11-23T17:00:00-05:00')).action).toBe('allow');
    expect(explain(...at('2026-11-21T12:00:00-05:00')).action).toBe('allow'); // Saturday
    const reasons = explain(...at('2026-11-23T08:59:59-05:00')).reasons.join(' ');
    expect(reasons).toContain('rule #1 (global, prefix +1212) is outside its window mon-fri 09:00-17:00 (America/New_York) and takes no part');
  });

  it('an overnight window runs into the next day', () => {
    cli('rules', 'add', '212*', '--action', 'busy', '--when', 'mon 22:00-07:00', '--tz', 'UTC');
    expect(explain(...at('2026-11-23T21:59:00Z')).action).toBe('allow');
    expect(explain(...at('2026-11-23T22:00:00Z')).action).toBe('busy');
    expect(explain(...at('2026-11-24T06:59:59Z')).action).toBe('busy'); // Tuesday morning belongs to Monday's window
    expect(explain(...at('2026-11-24T07:00:00Z')).action).toBe('allow');
    expect(explain(...at('2026-11-24T23:00:00Z')).action).toBe('allow'); // Tuesday night is not in it
  });

  it('follows the zone across a DST change', () => {
    cli('rules', 'add', '212*', '--action', 'block', '--when', '09:00-17:00', '--tz', 'America/New_York');
    // 13:30 UTC is 08:30 EST on Saturday 7 March 2026, and 09:30 EDT on Sunday 8 March, after the clocks went forward.
    expect(explain(...at('2026-03-07T13:30:00Z')).action).toBe('allow');
    expect(explain(...at('2026-03-08T13:30:00Z')).action).toBe('block');
    // And back: 13:30 UTC is 09:30 EDT on 31 October, 08:30 EST on 1 November.
    expect(explain(...at('2026-10-31T13:30:00Z')).action).toBe('block');
    expect(explain(...at('2026-11-01T13:30:00Z')).action).toBe('allow');
  });

  it('a category policy with a window: challenge anonymous callers only outside office hours', () => {
    expect(cli('categories', 'set', 'anonymous', 'challenge', '--when', 'mon-fri 17:00-09:00, sat-sun 00:00-24:00', '--tz', 'Europe/London').status).toBe(0);
    const anonymous = (iso: string) => explain('--from', 'anonymous', '--to', '+14045550100', '--at', iso).action;
    expect(anonymous('2026-11-23T12:00:00Z')).toBe('allow');
    expect(anonymous('2026-11-23T17:00:00Z')).toBe('challenge');
    expect(anonymous('2026-11-24T08:59:00Z')).toBe('challenge');
    expect(anonymous('2026-11-28T12:00:00Z')).toBe('challenge');
  });

  it.each([
    [['--when', 'mon-fri 9-17'], /bad window "mon-fri 9-17": bad time "9"/],
    [['--when', 'funday 09:00-17:00'], /unknown day "funday"/],
    [['--when', '09:00-09:00'], /starts and ends at the same time/],
    [['--when', 'mon-fri 09:00-17:00', '--tz', 'Mars/Olympus'], /unknown time zone "Mars\/Olympus"/],
    [['--tz', 'UTC'], /--tz goes with --when/],
  ])('refuses %j with exit 2 and writes nothing', (args, message) => {
    const result = cli('rules', 'add', '212*', '--action', 'block', ...args);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(jsonOf(cli('rules', 'list', '--json'))).toEqual([]);
    expect(cli('categories', 'set', 'anonymous', 'block', ...args).status).toBe(2);
  });

  it('explain --at refuses a time it cannot read', () => {
    expect(cli('explain', '--from', '1', '--to', '2', '--at', 'tomorrow')).toMatchObject({ status: 2, stderr: expect.stringMatching(/bad time "tomorrow": expected an ISO time/) });
  });
});

describe('block from the call log', () => {
  beforeEach(() => {
    cli('tenants', 'add', 'acme');
    cli('dids', 'add', '+14045550100', '--tenant', 'acme');
    logCalls([
      { from: '+12125550147', ip: '203.0.113.9', sipFrom: '"Robo" <sip:robo@spam.example>;tag=1' },
      { from: 'anonymous' },
      { from: '+13125550100', to: '+14045550100' },
    ]);
  });

  it('turns a call’s number, address or From URI into a rule for its tenant', () => {
    const ids = jsonOf<{ id: number; caller: string | null }[]>(cli('log', '--json')).map((row) => row.id).sort((a, b) => a - b);
    expect(cli('block', String(ids[0])).stdout).toBe(`added #1 block +12125550147 (tenant:acme) from call ${ids[0]}\n`);
    expect(cli('block', String(ids[0]), '--by', 'ip', '--action', 'busy').stdout).toBe(`added #2 busy 203.0.113.9 (tenant:acme) from call ${ids[0]}\n`);
    expect(cli('block', String(ids[0]), '--by', 'sip', '--scope', 'global', '--sms').stdout).toBe(`added #3 block robo@spam.example (global) from call ${ids[0]}\n`);
    expect(explain('--from', '+12125550147', '--to', '+14045550100').action).toBe('block');
    expect(explain('--from', '+19995550000', '--to', '+14045550100', '--ip', '203.0.113.9').action).toBe('busy');
    expect(explain('--from', '+19995550000', '--to', '+14045550100', '--sip-from', 'sip:robo@spam.example').action).toBe('block');
    expect(cli('block', '--last', '--did', '404-555-0100').stdout).toBe(`added #4 block +13125550100 (tenant:acme) from call ${ids[2]}\n`);
  });

  it.each([
    [['999999'], 'callguard: no call 999999 in the call log\n'],
    [['abc'], 'callguard: bad call id "abc": expected the id \'callguard log\' shows\n'],
    [['--last'], 'callguard: --last needs --did <number>: the DID whose newest caller to block\n'],
    [['--last', '--did', '+14045559999'], 'callguard: no call to +14045559999 in the call log\n'],
    [['--last', '--did', 'nope'], 'callguard: bad DID "nope": expected a phone number such as +14045551234 or 404-555-1234\n'],
  ])('refuses %j with one line and exit 2', (args, stderr) => {
    expect(cli('block', ...args)).toMatchObject({ status: 2, stderr });
    expect(jsonOf(cli('rules', 'list', '--json'))).toEqual([]);
  });

  it('refuses --by ip on a call with no IP, and an anonymous call by number', () => {
    const rows = jsonOf<{ id: number; callerKind?: string; caller: string | null; ip: string | null }[]>(cli('log', '--json'));
    const anonymous = rows.find((row) => row.caller === null)!;
    const noIp = rows.find((row) => row.ip === null && row.caller !== null)!;
    expect(cli('block', String(noIp.id), '--by', 'ip')).toMatchObject({ status: 2, stderr: `callguard: call ${noIp.id} has no signalling IP address: try another --by\n` });
    expect(cli('block', String(anonymous.id)).status).toBe(2);
    expect(cli('block', String(noIp.id), '--by', 'carrier').status).toBe(2);
  });

  it('the HTTP hook blocks the last caller to a DID, naming the token in the audit trail', async () => {
    const db = openDatabase(tmp.path);
    const logger = pino({ level: 'silent' });
    const screener = new Screener(new SqliteDecisionStore(db), new CallLog(db), { country: 'US', failMode: 'open', actions: DEFAULT_ACTION_SETTINGS }, logger);
    const hook: HookServer = createHookServer(
      { host: '127.0.0.1', port: 0, token: 'a-long-enough-token-123' },
      { screener, queries: new CallLogQueries(db), metrics: new Metrics(), logger, health: () => ({ pbxConnected: true, databaseWritable: true }), blockLast: (did) => blockLastCaller({ calls: new SqliteCallLogBackend(db, 'http:frontdesk'), rules: new SqliteRuleBackend(db, 'http:frontdesk') }, cliActing('http:frontdesk'), did, 'US'), recordCall: (input) => recordOutboundCall(new SqliteOutboundCallBackend(db), input, 'US') },
    );
    await hook.start();
    try {
      const url = `http://127.0.0.1:${hook.port}/v1/block-last?did=%2B14045550100`;
      expect((await fetch(url, { method: 'POST' })).status).toBe(401);
      expect((await fetch(url, { headers: { authorization: 'Bearer a-long-enough-token-123' } })).status).toBe(405);
      const response = await fetch(url, { method: 'POST', headers: { authorization: 'Bearer a-long-enough-token-123' }, body: 'x' });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ ruleId: 1, pattern: '+13125550100', scope: 'tenant:acme', action: 'block' });
      const unknown = await fetch(`http://127.0.0.1:${hook.port}/v1/block-last?did=%2B14045559999`, { method: 'POST', headers: { authorization: 'Bearer a-long-enough-token-123' } });
      expect(unknown.status).toBe(400);
      expect(await unknown.json()).toEqual({ error: 'no call to +14045559999 in the call log' });
    } finally {
      await hook.stop();
      db.close();
    }
    const audit = jsonOf<{ actor: string; verb: string; entity: string }[]>(cli('audit', '--json'));
    expect(audit[0]).toMatchObject({ actor: 'http:frontdesk', verb: 'add', entity: 'rule' });
  });
});

describe('remembered challenge passes', () => {
  const DAY = 86_400_000;
  beforeEach(() => {
    cli('rules', 'add', '212*', '--action', 'challenge');
    cli('categories', 'set', 'anonymous', 'challenge');
  });

  it('lets a caller who passed through without the challenge, until the pass runs out', () => {
    logCalls([{ from: '+12125550147', outcome: 'passed', at: Date.now() - 10 * DAY }]);
    expect(explain('--from', '+12125550147', '--to', '+14045550100').action).toBe('challenge'); // off by default
    expect(cli('challenge', 'remember', '30d').stdout).toBe('passed challenges are remembered for 30d (global)\n');
    const remembered = explain('--from', '+12125550147', '--to', '+14045550100');
    expect(remembered.action).toBe('allow');
    expect(remembered.reasons.at(-1)).toMatch(/^The caller passed a challenge at .*; the pass is remembered until .*: no challenge, the call goes through\.$/);
    expect(explain('--from', '+12125550147', '--to', '+14045550100', '--at', new Date(Date.now() + 21 * DAY).toISOString()).action).toBe('challenge');
    expect(explain('--from', '+12125550999', '--to', '+14045550100').action).toBe('challenge'); // never passed
    cli('challenge', 'remember', 'off');
    expect(explain('--from', '+12125550147', '--to', '+14045550100').action).toBe('challenge');
  });

  it('never remembers an anonymous caller, and a failed challenge is no pass', () => {
    cli('challenge', 'remember', '30d');
    logCalls([{ from: 'anonymous', outcome: 'passed' }, { from: '+12125550147', outcome: 'failed' }]);
    expect(explain('--from', 'anonymous', '--to', '+14045550100').action).toBe('challenge');
    expect(explain('--from', '+12125550147', '--to', '+14045550100').action).toBe('challenge');
  });

  it('is per tenant', () => {
    cli('tenants', 'add', 'acme');
    cli('dids', 'add', '+14045550100', '--tenant', 'acme');
    cli('challenge', 'remember', '30d');
    cli('challenge', 'remember', 'off', '--tenant', 'acme');
    logCalls([{ from: '+12125550147', outcome: 'passed' }]);
    expect(explain('--from', '+12125550147', '--to', '+14045550100').action).toBe('challenge');
    expect(cli('challenge', 'remember', 'soon').status).toBe(2);
  });
});

describe('audit trail', () => {
  it('records every kind of change with who, before and after', () => {
    const steps = [
      ['tenants', 'add', 'acme'],
      ['dids', 'add', '+14045550100', '--tenant', 'acme'],
      ['rules', 'add', '212*', '--action', 'block', '--list', 'spam'],
      ['rules', 'add', '212*', '--action', 'busy', '--list', 'spam'],
      ['lists', 'disable', 'spam'],
      ['rules', 'remove', '212*'],
      ['categories', 'set', 'anonymous', 'challenge'],
      ['protection', 'on', '--threshold', '60'],
      ['protection', 'tune', 'neighbor', '30'],
      ['carriers', 'add', 'bandwidth'],
      ['carriers', 'remove', 'bandwidth'],
      ['log', 'retention', '30d'],
      ['challenge', 'remember', '7d'],
      ['dids', 'remove', '+14045550100'],
      ['tenants', 'remove', 'acme'],
    ];
    for (const step of steps) expect(cli(...step).status, step.join(' ')).toBe(0);
    const rows = jsonOf<{ actor: string; verb: string; entity: string; key: string; before: unknown; after: unknown }[]>(cli('audit', '--json')).reverse();
    expect(rows.map((row) => `${row.verb} ${row.entity} ${row.key}`)).toEqual([
      'add tenant acme',
      'add did +14045550100',
      'add rule #1',
      'change rule #1',
      'change list spam',
      'remove rule #1',
      'add category global anonymous',
      'add protection global',
      'add setting score.neighbor',
      'add carrier #1',
      'remove carrier #1',
      'add setting log_retention',
      'add setting challenge_remember:global',
      'remove did +14045550100',
      'remove tenant acme',
    ]);
    expect(new Set(rows.map((row) => row.actor))).toEqual(new Set([`cli:${userInfo().username}`]));
    expect(rows[3]).toMatchObject({ before: { action: 'block' }, after: { action: 'busy' } });
    expect(rows[4]).toMatchObject({ before: { enabled: true }, after: { enabled: false } });
    expect(rows[5]).toMatchObject({ before: { pattern: '212*', action: 'busy' }, after: null });
    expect(rows[7]).toMatchObject({ before: null, after: { enabled: true, threshold: 60, flagThreshold: 40 } });
    expect(cli('audit').stdout.split('\n')[0]).toMatch(/^TIME +WHO +WHAT +KEY +BEFORE +AFTER$/);
    expect(cli('audit', '--since', 'whenever').status).toBe(2);
  });
});
