// Trusted callbacks end to end (issue 16, item 3): the hook's POST /v1/called over HTTP
// (400s naming the field, nothing written), the shipped FreeSWITCH and Asterisk dialplan
// that call it (installed as their comments say, their URL built as each switch builds it,
// and sent to the real hook), and a callback in 11-digit form after an outbound call to the
// 10-digit number through both simulators (FreeSWITCH over real modesl, Asterisk over real
// ari-client): blocked as a neighbor before, through after, the log saying why.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Database } from 'better-sqlite3';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_ACTION_SETTINGS } from '../agent/actions/settings';
import { createHookServer } from '../agent/http/hook-server';
import type { HookDeps, HookServer } from '../agent/http/hook-server';
import { Metrics } from '../agent/metrics/metrics';
import { cliActing } from '../agent/operations/acting';
import { recordOutboundCall } from '../agent/operations/called-numbers';
import { setCategory } from '../agent/operations/categories';
import { sqliteBackends } from '../agent/operations/store-backends';
import { addDid, addTenant } from '../agent/operations/tenants';
import { createAsteriskDriver } from '../agent/pbx/asterisk/asterisk-driver';
import { FreeSwitchOutboundServer } from '../agent/pbx/freeswitch/outbound-server';
import { DEFAULT_ASTERISK, DEFAULT_FREESWITCH } from '../agent/pbx/settings';
import { Screener } from '../agent/screening/screener';
import { CallLog } from '../agent/store/call-log';
import { CallLogQueries } from '../agent/store/call-log-queries';
import { openDatabase } from '../agent/store/database';
import { SqliteDecisionStore } from '../agent/store/decision-view';
import { SqliteOutboundCallBackend } from '../agent/store/sqlite-outbound-call-backend';
import { INSTALL, stockConf } from './helpers/freeswitch-conf';
import { PATIENCE_MS } from './helpers/patience';
import { repoRoot } from './helpers/run-cli';
import { makeTempDir } from './helpers/temp-db';
import type { TempDir } from './helpers/temp-db';
import { dialplanFromConf, parseAsteriskConf, startAsteriskSim } from './sim/asterisk';
import { FreeSwitchSim, childrenNamed, expandVariables, fsUrlEncode, hunt, separateString } from './sim/freeswitch';

const ACME_MAIN = '+14045550100';
/** Dialled in 10 digits; it calls back in 11, from the DID's own exchange (the neighbor category, set to block). */
const DIALLED = '4045551234';
const CALLING_BACK = '14045551234';
const ADMIN = cliActing('cli:tester');
const SHIPPED_HOOK = 'http://127.0.0.1:8095/';

let dir: TempDir;
let db: Database;
let log: CallLog;
let screener: Screener;
let hook: HookServer;
const logger = pino({ level: process.env.CALLGUARD_TEST_LOG ?? 'silent' });

beforeEach(async () => {
  dir = makeTempDir('callguard-callbacks-switches-');
  db = openDatabase(dir.file('callguard.db'));
  const backends = sqliteBackends(db).as('cli:tester');
  await addTenant(backends.tenants, ADMIN, 'acme');
  await addDid(backends.tenants, ADMIN, ACME_MAIN, 'acme', 'US');
  await setCategory(backends, ADMIN, { category: 'neighbor', action: 'block' });
  log = new CallLog(db, { flushMs: 5 });
  screener = new Screener(new SqliteDecisionStore(db), log, { country: 'US', failMode: 'open', actions: DEFAULT_ACTION_SETTINGS }, logger);
  hook = createHookServer({ host: '127.0.0.1', port: 0, token: null }, hookDeps());
  await hook.start();
});

/** The hook's parts, on this test's store. */
function hookDeps(): HookDeps {
  return {
    screener,
    queries: new CallLogQueries(db),
    metrics: new Metrics(),
    logger,
    health: () => ({ pbxConnected: true, databaseWritable: true }),
    blockLast: async () => {
      throw new Error('not in these tests');
    },
    recordCall: (input) => recordOutboundCall(new SqliteOutboundCallBackend(db), input, 'US'),
  };
}

afterEach(async () => {
  await hook.stop();
  log.close();
  db.close();
  dir.remove();
});

const hookUrl = (path: string) => `http://127.0.0.1:${hook.port}${path}`;
/** A URL a shipped dialplan builds, sent to this test's hook instead of port 8095. */
const toTestHook = (url: string) => {
  expect(url.startsWith(SHIPPED_HOOK)).toBe(true);
  return hookUrl(`/${url.slice(SHIPPED_HOOK.length)}`);
};
const post = async (url: string) => {
  const response = await fetch(url, { method: 'POST', body: '' });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};
const outboundRows = () => db.prepare('SELECT tenant, number, caller FROM outbound_calls ORDER BY id').all();
const loggedCalls = () => {
  log.flush();
  return (db.prepare('SELECT action, outcome, caller, reasons FROM calls ORDER BY id').all() as { action: string; outcome: string; caller: string; reasons: string }[]).map((row) => ({
    ...row,
    reasons: JSON.parse(row.reasons) as string[],
  }));
};
const CALLBACK_REASON = /^You called this number on \d{4}-\d{2}-\d{2}T[\d:.]+Z \(tenant acme\); a callback skips categories and protection\.$/;

/** The callback is rejected as a neighbor; the switch reports the outbound call; the callback then continues, logged with why. */
async function blockedThenTrusted(place: () => Promise<{ outcome: string }>): Promise<void> {
  expect((await place()).outcome).toBe('hungup');
  expect((await post(hookUrl(`/v1/called?from=%2B14045550100&to=${DIALLED}`))).status).toBe(200);
  expect((await place()).outcome).toBe('continued');
  const [blocked, through] = loggedCalls();
  expect(blocked).toMatchObject({ action: 'block', outcome: 'rejected', caller: '+14045551234' });
  expect(through).toMatchObject({ action: 'allow', outcome: 'continued', caller: '+14045551234' });
  expect(through!.reasons.at(-1)).toMatch(CALLBACK_REASON);
}

describe('POST /v1/called', () => {
  it('records the call for the DID’s tenant, the number in E.164, and answers what it recorded', async () => {
    const before = Date.now();
    const answer = await post(hookUrl(`/v1/called?from=%2B14045550100&to=${DIALLED}`));
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ tenant: 'acme', number: '+14045551234' });
    expect(answer.body.at).toBeGreaterThanOrEqual(before);
    // An empty tenant (a dialplan variable not set) is none.
    expect((await post(hookUrl('/v1/called?from=1001&to=%2B14045551234&tenant='))).body).toMatchObject({ tenant: 'default' });
    expect(outboundRows()).toEqual([
      { tenant: 'acme', number: '+14045551234', caller: ACME_MAIN },
      { tenant: 'default', number: '+14045551234', caller: null },
    ]);
  });

  it('refuses bad requests with 400 naming the field, echoing nothing raw, and writes nothing', async () => {
    const refused: [string, RegExp][] = [
      ['/v1/called?from=%2B14045550100', /^missing to: POST \/v1\/called\?from=/],
      [`/v1/called?to=${DIALLED}`, /^missing from/],
      ['/v1/called?from=%2B14045550100&to=911', /^bad to "911": an emergency, service or short code/],
      ['/v1/called?from=%2B14045550100&to=anonymous', /^bad to "anonymous"/],
      ['/v1/called?from=1001&to=5551234', /^bad to "5551234": a 7-digit number needs the caller's area code/],
      [`/v1/called?from=%3Cscript%3E%1B&to=${DIALLED}`, /^bad from "<script>\\u001b"/],
      [`/v1/called?from=1001&to=${DIALLED}&tenant=nobody`, /^unknown tenant "nobody"/],
      [`/v1/called?from=1001&to=${DIALLED}&tenant=a%20b`, /^bad tenant name "a b"/],
      [`/v1/called?from=1001&to=${DIALLED}&did=1`, /did/],
      [`/v1/called?from=1001&to=${DIALLED}&to=1`, /to/],
    ];
    for (const [path, message] of refused) {
      const answer = await post(hookUrl(path));
      expect(answer, path).toMatchObject({ status: 400, body: { error: expect.stringMatching(message) } });
    }
    expect((await fetch(hookUrl(`/v1/called?from=1001&to=${DIALLED}`))).status).toBe(405);
    expect((await post(hookUrl('/v1/callled'))).body.error).toMatch(/\/v1\/called/);
    expect(outboundRows()).toEqual([]);
  });

  it('needs the token when one is set, as every path but /healthz does', async () => {
    const guarded = createHookServer({ host: '127.0.0.1', port: 0, token: 'x'.repeat(32) }, hookDeps());
    await guarded.start();
    try {
      const url = `http://127.0.0.1:${guarded.port}/v1/called?from=1001&to=${DIALLED}`;
      expect((await fetch(url, { method: 'POST' })).status).toBe(401);
      expect((await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${'x'.repeat(32)}` } })).status).toBe(200);
    } finally {
      await guarded.stop();
    }
  });
});

describe('the shipped FreeSWITCH file', () => {
  let confDir: TempDir;
  beforeEach(() => {
    confDir = makeTempDir('callguard-conf-');
  });
  afterEach(() => confDir.remove());

  /** An outbound call hunted through the default context, `${api(...)}` evaluated as FreeSWITCH would with mod_curl loaded (or not). */
  function outboundCall(callerIdNumber: string, destinationNumber: string, options: { modCurl?: boolean; tenant?: string } = {}) {
    const conf = stockConf(confDir.dir, { [INSTALL.outboundCalls]: 'callguard-outbound-calls.xml' });
    const fields: Record<string, string | undefined> = { destination_number: destinationNumber, caller_id_number: callerIdNumber, context: 'default', callguard_tenant: options.tenant };
    const expand = (text: string) =>
      expandVariables(text, {
        variable: (name) => fields[name],
        global: () => undefined,
        api: (command, args) => (command === 'module_exists' ? String(args === 'mod_curl' && options.modCurl !== false) : command === 'url_encode' ? fsUrlEncode(args) : undefined),
      });
    const found = hunt(conf.context('dialplan', 'default'), { lookup: (name) => fields[name], expand });
    return { conf, ...found, expand };
  }

  it('installed as its comment says, it sits in the default context ahead of the other files there', () => {
    const { conf } = outboundCall(ACME_MAIN, DIALLED);
    expect(childrenNamed(conf.context('dialplan', 'default'), 'extension').map((extension) => extension.attributes.name)).toEqual(['Local_Extension', 'callguard-outbound-calls', 'example-feature']);
    expect(conf.load().warnings).toEqual([]);
    expect(readFileSync(join(repoRoot, 'dialplan', 'freeswitch', 'callguard-outbound-calls.xml'), 'utf8')).toContain(INSTALL.outboundCalls.replace('dialplan/', 'conf/dialplan/'));
  });

  it('an outbound call runs curl with both numbers URL-encoded, carries on (continue="true"), and the hook records it', async () => {
    const call = outboundCall('+14045550100', DIALLED);
    expect(call.extensions).toEqual(['callguard-outbound-calls']);
    expect(call.actions.map((action) => action.application)).toEqual(['curl']);
    const args = separateString(call.expand(call.actions[0]!.data));
    expect(args).toEqual([`${SHIPPED_HOOK}v1/called?from=%2B14045550100&to=${DIALLED}&tenant=`, 'post']);
    expect(await post(toTestHook(args[0]!))).toMatchObject({ status: 200, body: { tenant: 'acme', number: '+14045551234' } });
    // An extension as the caller, with its tenant in the directory entry.
    const extension = outboundCall('1000', CALLING_BACK, { tenant: 'acme' });
    expect(await post(toTestHook(separateString(extension.expand(extension.actions[0]!.data))[0]!))).toMatchObject({ status: 200, body: { tenant: 'acme' } });
    expect(outboundRows()).toHaveLength(2);
  });

  it('a hostile caller ID stays one encoded value: the hook refuses it, nothing is written, the call goes on', async () => {
    const call = outboundCall('1000&to=911 post&tenant=x', DIALLED);
    const args = separateString(call.expand(call.actions[0]!.data));
    expect(args).toHaveLength(2);
    expect(args[0]).toContain('from=1000%26to%3D911%20post%26tenant%3Dx&');
    expect(await post(toTestHook(args[0]!))).toMatchObject({ status: 400, body: { error: expect.stringMatching(/^bad from/) } });
    expect(outboundRows()).toEqual([]);
    // Whatever the hook answered, the hunt carries on past the extension to the call's own route.
    const extension = childrenNamed(call.conf.context('dialplan', 'default'), 'extension').find((node) => node.attributes.name === 'callguard-outbound-calls')!;
    expect(extension.attributes.continue).toBe('true');
  });

  it('does nothing without mod_curl (an unknown application would end the call), nor for internal extensions', () => {
    expect(outboundCall(ACME_MAIN, DIALLED, { modCurl: false }).extensions).toEqual([]);
    expect(outboundCall(ACME_MAIN, '1001').extensions).toEqual(['Local_Extension']);
  });
});

describe('the shipped Asterisk file', () => {
  const conf = parseAsteriskConf(readFileSync(join(repoRoot, 'dialplan', 'asterisk', 'outbound-callguard.conf'), 'utf8'), 'outbound-callguard.conf');
  const steps = dialplanFromConf(conf).get('callguard-outbound')![0]!.priorities;

  /** `${...}` evaluated innermost first, as Asterisk substitutes: the functions this file uses, on one outbound call. */
  function substitute(text: string, call: { callerIdNumber: string; dialled: string; tenant?: string }, sent: string[]): string {
    const value = (expression: string): string => {
      const match = /^([A-Z_]+)\((.*)\)$/s.exec(expression);
      if (!match) return expression === 'ARG1' ? call.dialled : expression === 'CALLGUARD_TENANT' ? (call.tenant ?? '') : '';
      const [, name, args] = match;
      const comma = args!.indexOf(',');
      switch (name) {
        case 'CALLERID':
          return args === 'num' ? call.callerIdNumber : '';
        case 'FILTER': {
          const allowed = args!.slice(0, comma);
          const test = allowed === '+0-9' ? /[+0-9]/ : /[-_.a-zA-Z0-9]/;
          return Array.from(args!.slice(comma + 1)).filter((c) => test.test(c)).join('');
        }
        case 'URIENCODE':
          return encodeURIComponent(args!);
        case 'CURL':
          sent.push(args!.slice(0, comma));
          return '{"tenant":"…"}';
        default:
          throw new Error(`${name}() is not modelled here`);
      }
    };
    let out = text;
    for (let previous = ''; previous !== out; ) {
      previous = out;
      out = out.replace(/\$\{([^${}]*)\}/g, (_, expression: string) => value(expression));
    }
    return out;
  }

  it('is a Gosub subroutine: no func_curl, straight back; else short timeouts, CURL() with a body (a POST), and Return()', () => {
    expect(conf.problems).toEqual([]);
    expect(steps.map((step) => [step.label ?? '', step.app])).toEqual([
      ['', 'GotoIf'],
      ['', 'Set'],
      ['', 'Set'],
      ['', 'Set'],
      ['done', 'Return'],
    ]);
    expect(steps[0]!.data).toBe('$["${IFMODULE(func_curl.so)}" != "1"]?done');
    expect(steps.slice(1, 3).map((step) => step.data)).toEqual(['CURLOPT(conntimeout)=1', 'CURLOPT(httptimeout)=2']);
  });

  it('sends both numbers filtered and URL-encoded, and the hook records the call', async () => {
    const sent: string[] = [];
    substitute(steps[3]!.data, { callerIdNumber: '+14045550100', dialled: DIALLED }, sent);
    expect(sent).toEqual([`${SHIPPED_HOOK}v1/called?from=%2B14045550100&to=${DIALLED}&tenant=`]);
    expect(await post(toTestHook(sent[0]!))).toMatchObject({ status: 200, body: { tenant: 'acme', number: '+14045551234' } });
    // A hostile caller ID loses everything but digits and +; an endpoint's tenant goes along.
    substitute(steps[3]!.data, { callerIdNumber: '1000&to=911,x', dialled: `${DIALLED}&x`, tenant: 'acme&x=1' }, sent);
    expect(sent[1]).toBe(`${SHIPPED_HOOK}v1/called?from=1000911&to=${DIALLED}&tenant=acmex1`);
  });
});

describe('a callback through the switches', () => {
  it('FreeSWITCH (outbound socket, real modesl): blocked as a neighbor, then through after the outbound call, and the log says why', async () => {
    const sim = new FreeSwitchSim({ password: 'ClueCon' });
    await sim.start();
    const server = new FreeSwitchOutboundServer({ host: '127.0.0.1', port: 0 }, { screener, logger, settings: DEFAULT_FREESWITCH });
    await server.start();
    try {
      const place = () => sim.placeOutboundCall('127.0.0.1', server.port, { callerIdNumber: CALLING_BACK, callerIdName: 'Jane', destinationNumber: ACME_MAIN }).done;
      await blockedThenTrusted(place);
    } finally {
      await server.stop(200);
      await sim.close();
    }
  });

  it('Asterisk (Stasis, real ari-client): the same', async () => {
    const sim = await startAsteriskSim({ mediaDurationMs: 20 });
    const driver = createAsteriskDriver(
      { url: sim.url, user: sim.username, password: sim.password, app: 'callguard', settings: DEFAULT_ASTERISK, requestTimeoutMs: PATIENCE_MS },
      { screener, logger },
    );
    await driver.start();
    try {
      const place = async () => {
        const result = await sim.placeCall({ exten: ACME_MAIN, context: 'callguard-inbound', priority: 2, callerNumber: CALLING_BACK, callerName: 'Jane' }).done;
        await sim.waitUntil(() => driver.inProgress === 0, PATIENCE_MS, 'the driver to finish the call');
        return result;
      };
      await blockedThenTrusted(place);
      expect(sim.internalErrors).toEqual([]);
    } finally {
      await driver.stop(500);
      await sim.close();
    }
  });
});
