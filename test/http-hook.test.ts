import { blockLastCaller } from '../agent/operations/block-caller';
import { recordOutboundCall } from '../agent/operations/called-numbers';
import { SqliteOutboundCallBackend } from '../agent/store/sqlite-outbound-call-backend';
import { cliActing } from '../agent/operations/acting';
import { SqliteCallLogBackend } from '../agent/store/sqlite-call-log-backend';
import { SqliteRuleBackend } from '../agent/store/sqlite-rule-backend';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Database } from 'better-sqlite3';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ACTION_SETTINGS } from '../agent/actions/settings';
import { BadInput } from '../agent/engine/bad-input';
import { parsePattern } from '../agent/engine/patterns';
import type { RuleAction } from '../agent/engine/types';
import { isDatabaseWritable } from '../agent/http/database-writable';
import { TEXT_KEYS, dialplanSafe } from '../agent/http/dialplan-text';
import { createHookServer } from '../agent/http/hook-server';
import type { HookDeps, HookServer } from '../agent/http/hook-server';
import { Metrics } from '../agent/metrics/metrics';
import { Screener } from '../agent/screening/screener';
import { CallLog } from '../agent/store/call-log';
import { CallLogQueries } from '../agent/store/call-log-queries';
import { openDatabase } from '../agent/store/database';
import { SqliteDecisionStore } from '../agent/store/decision-view';
import { RuleStore } from '../agent/store/rules';
import { TenantStore } from '../agent/store/tenants';

const ACME_DID = '+15551230000';
const STATS_DID = '+15557770000';
const METERED_DID = '+15558880000';
const BLOCKED_CALLER = '+14045551234';
const SMS_BLOCKED_CALLER = '+17025004000';
const ALLOWED_CALLER = '+13125550000';
const TOKEN = 'hook-test-token-3f9c';

let dir: string;
let db: Database;
let log: CallLog;
let metrics: Metrics;
let deps: HookDeps;
let server: HookServer;
let blockRule: number;
let smsRule: number;

function addRule(rules: RuleStore, pattern: string, action: RuleAction, sms = false): number {
  return rules.add([{ ...parsePattern(pattern, 'US'), scope: 'global', action, target: null, sms, note: null, list: null, expiresAt: null }])[0]!;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'callguard-hook-'));
  db = openDatabase(join(dir, 'test.db'));
  const tenants = new TenantStore(db);
  for (const [name, did] of [['acme', ACME_DID], ['counted', STATS_DID], ['metered', METERED_DID]] as const) {
    tenants.add(name);
    tenants.addDid(did as never, name);
  }
  const rules = new RuleStore(db);
  blockRule = addRule(rules, '404-555-1234', 'block');
  smsRule = addRule(rules, '702-500-4000', 'block', true);
  log = new CallLog(db, { flushMs: 5 });
  metrics = new Metrics();
  const logger = pino({ level: process.env.CALLGUARD_TEST_LOG ?? 'silent' });
  const screener = new Screener(new SqliteDecisionStore(db), log, { country: 'US', failMode: 'open', actions: DEFAULT_ACTION_SETTINGS }, logger, metrics);
  deps = {
    screener,
    queries: new CallLogQueries(db),
    health: () => ({ pbxConnected: true, databaseWritable: isDatabaseWritable(db) }),
    metrics,
    logger,
    blockLast: (did) => blockLastCaller({ calls: new SqliteCallLogBackend(db, 'http:hook'), rules: new SqliteRuleBackend(db, 'http:hook') }, cliActing('http:hook'), did, 'US'),
    recordCall: (input) => recordOutboundCall(new SqliteOutboundCallBackend(db), input, 'US'),
  };
  server = createHookServer({ host: '127.0.0.1', port: 0, token: null }, deps);
  await server.start();
});

afterAll(async () => {
  await server.stop();
  log.close();
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly reusedSocket: boolean;
}

interface Ask {
  readonly port?: number;
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  readonly agent?: Agent;
}

function ask(path: string, { port = server.port, method = 'GET', headers = {}, body, agent }: Ask = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers, agent: agent ?? false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), reusedSocket: req.reusedSocket }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const query = (params: Record<string, string>) =>
  Object.entries(params)
    .map(([key, value]) => `${key}=${encodeURIComponent(value)}`)
    .join('&');

const decide = (params: Record<string, string>, extra?: Ask) => ask(`/v1/decide?${query(params)}`, extra);

/** The text answer, strictly: every line one known key, exactly one `=`, in the documented order. */
function parseText(body: string): Record<string, string> {
  expect(body.endsWith('\n')).toBe(true);
  const lines = body.slice(0, -1).split('\n');
  const entries = lines.map((line) => {
    expect(line).toMatch(/^[a-z_]+=[^=\r\n]*$/);
    const [key, value] = line.split('=') as [string, string];
    return [key, value] as const;
  });
  expect(entries.map(([key]) => key)).toEqual([...TEXT_KEYS]);
  return Object.fromEntries(entries);
}

function logRow(uid: string) {
  log.flush();
  return db.prepare('SELECT uid, source, kind, action, rule_id AS ruleId, tenant, caller, caller_raw AS callerRaw, caller_name AS callerName FROM calls WHERE uid = ?').get(uid) as
    | { uid: string; source: string; kind: string; action: string; ruleId: number | null; tenant: string; caller: string | null; callerRaw: string; callerName: string | null }
    | undefined;
}

describe('GET /v1/decide as JSON', () => {
  it('blocks a number with a block rule, answers the explain --json object plus the call id, and logs the call with source hook', async () => {
    const answer = await decide({ from: '(404) 555-1234', to: ACME_DID, kind: 'call' });
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
    const body = JSON.parse(answer.body) as Record<string, unknown>;
    expect(body).toMatchObject({ action: 'block', kind: 'call', tenant: 'acme', did: ACME_DID, caller: BLOCKED_CALLER, callerKind: 'number', ruleId: blockRule, scope: 'global', flagged: false });
    expect(Object.keys(body).sort()).toEqual(
      ['action', 'target', 'kind', 'tenant', 'did', 'caller', 'callerKind', 'scope', 'ruleId', 'category', 'categories', 'score', 'signals', 'flagged', 'reasons', 'callId'].sort(),
    );
    expect(body.reasons).toEqual(expect.arrayContaining([expect.stringContaining(`rule #${blockRule}`)]));
    expect(body.callId).toMatch(/^[0-9a-z]{9}-[0-9a-z]+-[0-9a-z]{4}$/);
    expect(logRow(body.callId as string)).toMatchObject({ source: 'hook', kind: 'call', action: 'block', ruleId: blockRule, tenant: 'acme', callerRaw: '(404) 555-1234' });
  });

  it('lets through a number no rule names', async () => {
    const body = JSON.parse((await decide({ from: ALLOWED_CALLER, to: ACME_DID, kind: 'call' })).body) as Record<string, unknown>;
    expect(body).toMatchObject({ action: 'allow', ruleId: null, caller: ALLOWED_CALLER });
    expect(logRow(body.callId as string)).toMatchObject({ source: 'hook', kind: 'call', action: 'allow' });
  });

  it('lets a text through when the only rule for its sender lacks --sms, and blocks it when the rule has --sms', async () => {
    const unstopped = JSON.parse((await decide({ from: BLOCKED_CALLER, to: ACME_DID, kind: 'sms' })).body) as Record<string, unknown>;
    expect(unstopped).toMatchObject({ action: 'allow', kind: 'sms', ruleId: null });
    expect(logRow(unstopped.callId as string)).toMatchObject({ source: 'hook', kind: 'sms', action: 'allow' });
    const stopped = JSON.parse((await decide({ from: SMS_BLOCKED_CALLER, to: ACME_DID, kind: 'sms' })).body) as Record<string, unknown>;
    expect(stopped).toMatchObject({ action: 'block', kind: 'sms', ruleId: smsRule });
    expect(logRow(stopped.callId as string)).toMatchObject({ source: 'hook', kind: 'sms', action: 'block', ruleId: smsRule });
  });

  it('takes a missing or empty from as an anonymous caller', async () => {
    for (const path of [`/v1/decide?to=${encodeURIComponent(ACME_DID)}&kind=call`, `/v1/decide?from=&to=${encodeURIComponent(ACME_DID)}&kind=call`]) {
      const answer = await ask(path);
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body)).toMatchObject({ action: 'allow', callerKind: 'anonymous', caller: null });
    }
  });

  it('reads an unencoded + as a plus sign, as phone numbers need', async () => {
    const answer = await ask(`/v1/decide?from=+14045551234&to=+15551230000&kind=call`);
    expect(JSON.parse(answer.body)).toMatchObject({ action: 'block', caller: BLOCKED_CALLER, did: ACME_DID });
  });

  it('decodes leniently: a Latin-1 escape becomes U+FFFD and a stray % stays as it is', async () => {
    const answer = await ask(`/v1/decide?from=%ZZ1&name=Jos%E9&to=${encodeURIComponent(ACME_DID)}&kind=call`);
    expect(answer.status).toBe(200);
    expect(logRow(JSON.parse(answer.body).callId)).toMatchObject({ callerRaw: '%ZZ1', callerName: 'Jos\uFFFD' });
  });

  it('accepts a value of exactly 1024 bytes once decoded, and refuses 1025', async () => {
    expect((await decide({ from: ALLOWED_CALLER, to: ACME_DID, kind: 'call', name: 'é'.repeat(512) })).status).toBe(200);
    const refused = await decide({ from: ALLOWED_CALLER, to: ACME_DID, kind: 'call', name: `${'é'.repeat(512)}x` });
    expect(refused.status).toBe(400);
    expect(JSON.parse(refused.body).error).toBe('parameter "name" is longer than 1024 bytes');
  });

  it('passes the optional facts on to the decision and the log', async () => {
    const answer = await decide({ from: ALLOWED_CALLER, to: ACME_DID, kind: 'call', name: 'Bob', ip: '203.0.113.7', sip_from: 'sip:bob@example.com', attestation: 'A', carrier: 'Example Tel' });
    const body = JSON.parse(answer.body) as Record<string, unknown>;
    expect(answer.status).toBe(200);
    expect(logRow(body.callId as string)).toMatchObject({ callerName: 'Bob' });
  });

  it('after an identify answer, decides on the number keyed in and logs the caller ID signalled beside it', async () => {
    const answer = await decide({ from: '4045551234', to: ACME_DID, kind: 'call', identified_from: 'anonymous' });
    const body = JSON.parse(answer.body) as { action: string; caller: string; reasons: string[]; callId: string };
    expect(body).toMatchObject({ action: 'block', caller: BLOCKED_CALLER });
    expect(body.reasons[0]).toContain('keyed in when asked to identify; the caller ID signalled was "anonymous"');
    log.flush();
    const facts = db.prepare('SELECT facts FROM calls WHERE uid = ?').pluck().get(body.callId) as string;
    expect(JSON.parse(facts)).toMatchObject({ identifiedFrom: 'anonymous' });
    const refused = await decide({ from: '', to: ACME_DID, kind: 'call', identified_from: 'anonymous' });
    expect(refused.status).toBe(400);
    expect(JSON.parse(refused.body)).toEqual({ error: 'identified_from goes with from: the number the caller keyed in' });
  });
});

describe('GET /v1/decide?format=text', () => {
  it('answers a block as key=value lines a dialplan can split', async () => {
    const answer = await decide({ from: BLOCKED_CALLER, to: ACME_DID, kind: 'call', format: 'text' });
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe('text/plain; charset=utf-8');
    const text = parseText(answer.body);
    expect(text).toMatchObject({ action: 'block', target: '', scope: 'global', rule_id: String(blockRule), category: '', score: '', flagged: 'false', tenant: 'acme', did: ACME_DID, caller: BLOCKED_CALLER });
    expect(text.reason).toBe(`Caller ${BLOCKED_CALLER}_ number called ${ACME_DID}_ tenant acme.`);
    expect(logRow(text.call_id!)).toMatchObject({ source: 'hook', kind: 'call', action: 'block' });
  });

  it('answers an allow with empty values for what does not apply', async () => {
    const text = parseText((await decide({ from: ALLOWED_CALLER, to: ACME_DID, kind: 'call', format: 'text' })).body);
    expect(text).toMatchObject({ action: 'allow', rule_id: '', scope: '', caller: ALLOWED_CALLER });
  });

  it('answers texts with and without an --sms rule', async () => {
    const unstopped = parseText((await decide({ from: BLOCKED_CALLER, to: ACME_DID, kind: 'sms', format: 'text' })).body);
    expect(unstopped.action).toBe('allow');
    expect(logRow(unstopped.call_id!)).toMatchObject({ kind: 'sms', source: 'hook' });
    const stopped = parseText((await decide({ from: SMS_BLOCKED_CALLER, to: ACME_DID, kind: 'sms', format: 'text' })).body);
    expect(stopped).toMatchObject({ action: 'block', rule_id: String(smsRule) });
    expect(logRow(stopped.call_id!)).toMatchObject({ kind: 'sms', source: 'hook', action: 'block' });
  });

  const hostile = {
    'a newline followed by an ESL api command': '4045551234\napi originate sofia/gateway/x/1 &park\n',
    'a FreeSWITCH/Asterisk expression': '${system(id)}$[1+1]',
    'quotes and backticks': `"Bob" 'Alice' \`id\``,
    'dialplan separators': 'a=b;c,d|e\\f{g}',
    'emoji': '📞😀',
    'control characters': 'x\r\u0000\u0007\u001b[2J\u0085\u2028y',
  };
  it.each(Object.entries(hostile))('keeps every line key=value when caller values hold %s', async (_, value) => {
    const answer = await decide({ from: value, to: ACME_DID, kind: 'call', name: value, sip_from: value, carrier: value, format: 'text' });
    expect(answer.status).toBe(200);
    const text = parseText(answer.body);
    for (const field of Object.values(text)) expect(field).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029$\{\}\[\]\\;,|"'`=]/);
    // The caller text did reach the answer (an invalid caller is quoted in the reason), made harmless.
    expect(text.reason).toMatch(/^Caller _.* is invalid: /);
    expect(logRow(text.call_id!)).toMatchObject({ callerRaw: value.slice(0, 256), callerName: value.slice(0, 256) });
  });

  it('keeps emoji whole', async () => {
    const text = parseText((await decide({ from: '📞😀', to: ACME_DID, kind: 'call', format: 'text' })).body);
    expect(text.reason).toContain('📞😀');
  });

  it('follows the documented rule exactly', () => {
    expect(dialplanSafe('a\nb\u0000c$d{e}f[g]h\\i;j,k|l"m\'n`o=p')).toBe('abc_d_e_f_g_h_i_j_k_l_m_n_o_p');
    expect(dialplanSafe('😀'.repeat(300))).toBe('😀'.repeat(200));
  });
});

describe('refused requests', () => {
  const encodedDid = encodeURIComponent(ACME_DID);
  const cases: [string, string, RegExp][] = [
    ['no to', `from=1&kind=call`, /missing "to"/],
    ['an empty to', `from=1&to=&kind=call`, /missing "to"/],
    ['no kind', `from=1&to=${encodedDid}`, /missing "kind"/],
    ['an unknown kind', `to=${encodedDid}&kind=fax`, /unknown kind "fax"/],
    ['an unknown format', `to=${encodedDid}&kind=call&format=xml`, /unknown format "xml"/],
    ['a bad attestation', `to=${encodedDid}&kind=call&attestation=Z`, /bad attestation "Z"/],
    ['a bad ip', `to=${encodedDid}&kind=call&ip=999.1.1.1`, /bad ip "999.1.1.1"/],
    ['an unknown parameter', `to=${encodedDid}&kind=call&colour=red`, /unknown parameter "colour"/],
    ['a duplicated parameter', `from=1&from=2&to=${encodedDid}&kind=call`, /"from" is given more than once/],
    ['a 10 kB value', `from=${'9'.repeat(10_240)}&to=${encodedDid}&kind=call`, /parameter "from" is longer than 1024 bytes/],
    ['a 10 kB name', `${'n'.repeat(10_240)}=1&to=${encodedDid}&kind=call`, /a parameter name is longer than 1024 bytes/],
  ];

  it.each(cases)('answers 400 naming the problem for %s', async (_, params, message) => {
    const answer = await ask(`/v1/decide?${params}`);
    expect(answer.status).toBe(400);
    expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(answer.body).error).toMatch(message);
  });

  // The text form of each refusal (a query that already names its format cannot also ask for text).
  it.each(cases.filter(([, params]) => !params.includes('format=')))('answers 400 as one error= line for %s with format=text', async (_, params, message) => {
    const answer = await ask(`/v1/decide?${params}&format=text`);
    expect(answer.status).toBe(400);
    expect(answer.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(answer.body).toMatch(/^error=[^\n=]*\n$/);
    expect(answer.body).toMatch(new RegExp(message.source.replace(/"/g, '_')));
  });

  it('decides nothing and logs nothing for a refused request', async () => {
    log.flush();
    const before = db.prepare('SELECT COUNT(*) FROM calls').pluck().get();
    await ask(`/v1/decide?to=${encodedDid}&kind=fax`);
    log.flush();
    expect(db.prepare('SELECT COUNT(*) FROM calls').pluck().get()).toBe(before);
  });

  it('refuses a body on GET', async () => {
    const answer = await ask(`/v1/decide?to=${encodedDid}&kind=call`, { body: 'from=1', headers: { 'Content-Type': 'text/plain', 'Content-Length': '6' } });
    expect(answer.status).toBe(400);
    expect(answer.headers.connection).toBe('close');
    expect(JSON.parse(answer.body).error).toMatch(/takes no body/);
  });

  it('answers 404 for any other path and 405 for any other method', async () => {
    for (const path of ['/', '/v1/decide/', '/v2/decide', '/healthz/../metrics', '/v1/decide%3F']) {
      const answer = await ask(path);
      expect(answer.status).toBe(404);
      expect(JSON.parse(answer.body).error).toMatch(/no such path/);
    }
    for (const method of ['POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS']) {
      const answer = await ask(`/v1/decide?to=${encodedDid}&kind=call`, { method });
      expect(answer.status).toBe(405);
      expect(answer.headers.allow).toBe('GET');
      if (method !== 'HEAD') expect(JSON.parse(answer.body).error).toMatch(new RegExp(`method ${method} is not allowed`));
    }
  });

  it('refuses a bad since or tenant for /v1/stats, and parameters /healthz and /metrics do not take', async () => {
    expect(JSON.parse((await ask('/v1/stats?since=yesterday')).body).error).toMatch(/bad since "yesterday"/);
    expect(JSON.parse((await ask('/v1/stats?tenant=no%20such')).body).error).toMatch(/bad tenant name/);
    expect((await ask('/v1/stats?tenant=acme&tenant=acme')).status).toBe(400);
    expect((await ask('/healthz?verbose=1')).status).toBe(400);
    expect((await ask('/metrics?x=1')).status).toBe(400);
  });

  it('leaves headers past 16 kB to Node, which answers 431', async () => {
    expect((await ask('/healthz', { headers: { 'X-Padding': 'p'.repeat(20_000) } })).status).toBe(431);
  });
});

describe('bearer token', () => {
  let guarded: HookServer;
  beforeAll(async () => {
    guarded = createHookServer({ host: '127.0.0.1', port: 0, token: TOKEN }, deps);
    await guarded.start();
  });
  afterAll(() => guarded.stop());

  const path = `/v1/decide?${query({ from: ALLOWED_CALLER, to: ACME_DID, kind: 'call' })}`;

  it('answers 401 with WWW-Authenticate without one, 403 for a wrong one and 200 for the right one', async () => {
    const missing = await ask(path, { port: guarded.port });
    expect(missing.status).toBe(401);
    expect(missing.headers['www-authenticate']).toBe('Bearer');
    expect((await ask(path, { port: guarded.port, headers: { Authorization: 'Basic Zm9vOmJhcg==' } })).status).toBe(401);
    expect((await ask(path, { port: guarded.port, headers: { Authorization: `Bearer ${TOKEN}x` } })).status).toBe(403);
    expect((await ask(path, { port: guarded.port, headers: { Authorization: 'Bearer short' } })).status).toBe(403);
    const right = await ask(path, { port: guarded.port, headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(right.status).toBe(200);
    expect(JSON.parse(right.body).action).toBe('allow');
  });

  it('guards every path but /healthz, and answers text refusals as text', async () => {
    for (const guardedPath of ['/v1/stats', '/metrics', '/nowhere']) expect((await ask(guardedPath, { port: guarded.port })).status).toBe(401);
    expect((await ask('/healthz', { port: guarded.port })).status).toBe(200);
    const text = await ask(`${path}&format=text`, { port: guarded.port, headers: { Authorization: 'Bearer nope' } });
    expect(text.status).toBe(403);
    expect(text.body).toBe('error=wrong bearer token\n');
  });

  it('must be printable ASCII without spaces, since it travels in a header', () => {
    for (const token of ['', 'two words', 'línea', 'tab\there']) {
      expect(() => createHookServer({ host: '127.0.0.1', port: 0, token }, deps)).toThrow(/bad hook token/);
    }
  });

  it('is required to listen anywhere but loopback', () => {
    for (const host of ['0.0.0.0', '::', '192.0.2.10', 'hook.example.com']) {
      expect(() => createHookServer({ host, port: 8095, token: null, tokenName: '--hook-token' }, deps)).toThrow(BadInput);
      expect(() => createHookServer({ host, port: 8095, token: null, tokenName: '--hook-token' }, deps)).toThrow(
        new RegExp(`${host.replace(/\./g, '\\.').replace(/:/g, ':')}.*without a token.*--hook-token`),
      );
      expect(() => createHookServer({ host, port: 8095, token: TOKEN }, deps)).not.toThrow();
    }
    for (const host of ['127.0.0.1', '127.8.9.10', '::1', '[::1]', '::ffff:127.0.0.1', 'localhost', 'LOCALHOST']) {
      expect(() => createHookServer({ host, port: 8095, token: null }, deps)).not.toThrow();
    }
  });
});

describe('GET /healthz', () => {
  it('answers 200 while the database is writable and 503 once it is not', async () => {
    const healthy = await ask('/healthz');
    expect(healthy.status).toBe(200);
    expect(JSON.parse(healthy.body)).toEqual({ up: true, pbx: true, database: true });
    // query_only refuses every write on this connection, as a read-only file or mount would;
    // the queued call-log rows are written first so that no flush meets it.
    log.flush();
    db.pragma('query_only = ON');
    try {
      const unwritable = await ask('/healthz');
      expect(unwritable.status).toBe(503);
      expect(JSON.parse(unwritable.body)).toEqual({ up: true, pbx: true, database: false });
    } finally {
      db.pragma('query_only = OFF');
    }
    expect((await ask('/healthz')).status).toBe(200);
  });
});

describe('GET /v1/stats', () => {
  it('counts a known sequence of hook decisions', async () => {
    const sequence = [
      { from: BLOCKED_CALLER, kind: 'call' },
      { from: '404-555-1234', kind: 'call' },
      { from: ALLOWED_CALLER, kind: 'call' },
      { from: SMS_BLOCKED_CALLER, kind: 'sms' },
      { from: BLOCKED_CALLER, kind: 'sms' },
    ];
    for (const step of sequence) expect((await decide({ ...step, to: STATS_DID })).status).toBe(200);
    log.flush();
    const counters = JSON.parse((await ask('/v1/stats?tenant=counted')).body);
    expect(counters).toEqual({ total: 5, scanned: 0, blocked: 3, flagged: 0, legitimate: 2, challenged: 0, challengePassed: 0, challengeFailed: 0, forwarded: 0, forwardAnswered: 0, voicemail: 0, wouldBlock: 0 });
    expect(JSON.parse((await ask('/v1/stats?since=1h&tenant=counted')).body)).toEqual(counters);
    const everything = JSON.parse((await ask('/v1/stats')).body) as { total: number };
    expect(everything.total).toBeGreaterThan(5);
  });
});

describe('GET /metrics', () => {
  /** Prometheus text, every line checked: a comment, or `name{labels} value`. */
  function parseMetrics(text: string): { name: string; labels: Record<string, string>; value: number }[] {
    const samples: { name: string; labels: Record<string, string>; value: number }[] = [];
    for (const line of text.split('\n')) {
      if (line === '' || /^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .*$/.test(line)) continue;
      const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*)\})? (-?[0-9.e+-]+|[Nn][Aa][Nn]|[+-]Inf)$/.exec(line);
      expect(match, line).not.toBeNull();
      const labels = Object.fromEntries([...(match![2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!]));
      samples.push({ name: match![1]!, labels, value: Number(match![3]) });
    }
    return samples;
  }
  const sample = (samples: ReturnType<typeof parseMetrics>, name: string, labels: Record<string, string> = {}) =>
    samples.find((s) => s.name === name && Object.entries(labels).every(([key, value]) => s.labels[key] === value))?.value;

  it('counts decisions by action, tenant and kind, times them, and never names a caller', async () => {
    const before = parseMetrics((await ask('/metrics')).body);
    const sequence = [
      { from: BLOCKED_CALLER, kind: 'call' },
      { from: BLOCKED_CALLER, kind: 'call' },
      { from: ALLOWED_CALLER, kind: 'call' },
      { from: SMS_BLOCKED_CALLER, kind: 'sms' },
    ];
    for (const step of sequence) await decide({ ...step, to: METERED_DID });
    metrics.watchPbxes(() => [{ name: 'fs-east', kind: 'freeswitch', connected: true, inProgress: 3 }]);
    const answer = await ask('/metrics');
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const after = parseMetrics(answer.body);
    expect(sample(after, 'callguard_decisions_total', { action: 'block', tenant: 'metered', kind: 'call' })).toBe(2);
    expect(sample(after, 'callguard_decisions_total', { action: 'allow', tenant: 'metered', kind: 'call' })).toBe(1);
    expect(sample(after, 'callguard_decisions_total', { action: 'block', tenant: 'metered', kind: 'sms' })).toBe(1);
    expect(sample(after, 'callguard_decision_seconds_count')! - sample(before, 'callguard_decision_seconds_count')!).toBe(4);
    expect(sample(after, 'callguard_decision_seconds_bucket', { le: '+Inf' })).toBe(sample(after, 'callguard_decision_seconds_count'));
    expect(sample(after, 'callguard_decision_seconds_bucket', { le: '0.00001' })).toBeDefined();
    expect(sample(after, 'callguard_failovers_total')).toBe(0);
    expect(sample(after, 'callguard_decisions_total', { action: 'block', tenant: 'metered', kind: 'call', pbx: '' })).toBe(2);
    expect(sample(after, 'callguard_pbx_up', { pbx: 'fs-east' })).toBe(1);
    expect(sample(after, 'callguard_calls_in_progress', { pbx: 'fs-east' })).toBe(3);
    expect(sample(after, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(answer.body).not.toContain(BLOCKED_CALLER);
    expect(answer.body).not.toContain(BLOCKED_CALLER.slice(1));
  });
});

describe('keep-alive and failures', () => {
  it('answers several requests on one kept-alive connection', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await ask('/healthz', { agent });
      const second = await decide({ from: ALLOWED_CALLER, to: ACME_DID, kind: 'call' }, { agent });
      expect(first.headers.connection).toBe('keep-alive');
      expect(second.status).toBe(200);
      expect(second.reusedSocket).toBe(true);
    } finally {
      agent.destroy();
    }
  });

  it('answers 500 with a JSON error and logs it when deciding throws, and goes on serving', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, new Writable({ write: (chunk: Buffer, _encoding, done) => (lines.push(chunk.toString()), done()) }));
    const broken = createHookServer(
      { host: '127.0.0.1', port: 0, token: null },
      { ...deps, logger, screener: { verdict: () => Promise.reject(new Error('disk on fire')) } },
    );
    await broken.start();
    try {
      const path = `/v1/decide?${query({ from: ALLOWED_CALLER, to: ACME_DID, kind: 'call' })}`;
      const failed = await ask(path, { port: broken.port });
      expect(failed.status).toBe(500);
      expect(JSON.parse(failed.body)).toEqual({ error: 'internal error: see the agent log' });
      expect(lines.some((line) => line.includes('hook request failed') && line.includes('disk on fire'))).toBe(true);
      expect((await ask('/healthz', { port: broken.port })).status).toBe(200);
    } finally {
      await broken.stop();
    }
  });
});
