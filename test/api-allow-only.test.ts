// Allow-only mode through the REST API: PUT /v1/tenants/{name}/allow-only sets it for a tenant
// or one of its DIDs for those who may change that tenant (a 400 naming the field for a bad
// action, a bad or foreign DID, an unknown tenant; a 403 for a viewer or another tenant's
// manager), GET /v1/tenants carries it, the OpenAPI document describes it; and once it is on,
// calls placed on the FreeSWITCH simulator and screened by the real screener go as it says:
// an allowed caller rings, a stranger is challenged (passing with 1, failing with another key),
// a DID of its own sends strangers to voicemail; GET /v1/explain and the log say why.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cliActing } from '../agent/operations/acting';
import { addRules } from '../agent/operations/rules';
import { sqliteBackends } from '../agent/operations/store-backends';
import { addDid, addTenant } from '../agent/operations/tenants';
import { FreeSwitchOutboundServer } from '../agent/pbx/freeswitch/outbound-server';
import { DEFAULT_FREESWITCH } from '../agent/pbx/settings';
import type { FreeSwitchSettings } from '../agent/pbx/settings';
import { apiWithSwitch } from './helpers/api-with-switch';
import type { ApiWithSwitch } from './helpers/api-with-switch';
import { eventually, screeningWorld } from './helpers/screening';
import type { ScreeningWorld } from './helpers/screening';
import { FreeSwitchSim } from './sim/freeswitch';
import type { CallResult } from './sim/freeswitch';

const ACME_MAIN = '+14045550100';
const ACME_SALES = '+14045550101';
const GLOBEX_DID = '+13125550100';
const FRIEND = '4045551234';
const STRANGER = '2125559999';
const SETTINGS: FreeSwitchSettings = { ...DEFAULT_FREESWITCH, promptDir: '/opt/callguard/prompts', forwardDialString: 'sofia/gateway/trunk/{number}' };
const ADMIN = cliActing('cli:tester');

let world: ScreeningWorld;
let sim: FreeSwitchSim;
let switchSide: FreeSwitchOutboundServer;
let served: ApiWithSwitch;

beforeEach(async () => {
  // No key pressed is a failed challenge at once (one try, a short wait with no key coming).
  world = screeningWorld({ challenge: { digit: '1', timeoutMs: 300, tries: 1 } });
  const backends = sqliteBackends(world.db).as('cli:tester');
  await addTenant(backends.tenants, ADMIN, 'acme');
  await addTenant(backends.tenants, ADMIN, 'globex');
  await addDid(backends.tenants, ADMIN, ACME_MAIN, 'acme', 'US');
  await addDid(backends.tenants, ADMIN, ACME_SALES, 'acme', 'US');
  await addDid(backends.tenants, ADMIN, GLOBEX_DID, 'globex', 'US');
  await addRules(backends.rules, ADMIN, { patterns: FRIEND, action: 'allow', scope: 'tenant:acme' }, 'US');
  served = await apiWithSwitch(world, SETTINGS);
  ({ sim, switchSide } = served);
});

afterEach(async () => {
  await served.close();
  world.close();
});

const call: ApiWithSwitch['call'] = (...request) => served.call(...request);

const stored = () => ({
  tenants: world.db.prepare('SELECT name, allow_only FROM tenants ORDER BY name').all(),
  dids: world.db.prepare('SELECT number, allow_only FROM dids ORDER BY number').all(),
  audit: world.db.prepare("SELECT count(*) FROM audit WHERE verb = 'change'").pluck().get(),
});
const listed = async (token: string) =>
  ((await call(token, 'GET', '/v1/tenants')).body.tenants as { name: string; allowOnly: string | null; didAllowOnly: Record<string, string> }[]).map(({ name, allowOnly, didAllowOnly }) => ({ name, allowOnly, didAllowOnly }));

/** A call from `caller` to `did` through the simulator's dialplan `socket` to the agent, screened for real (pressing `digits` when asked); its log row once finished. */
async function place(caller: string, did: string, digits = ''): Promise<{ result: CallResult; row: ReturnType<ScreeningWorld['calls']>[number] }> {
  const before = world.calls().length;
  const result = await sim.placeOutboundCall('127.0.0.1', switchSide.port, { callerIdNumber: caller, callerIdName: 'Caller', destinationNumber: did, digits }).done;
  await eventually(() => world.calls().length === before + 1 && world.calls()[before]!.outcome !== null, undefined, 'the call logged with its outcome');
  return { result, row: world.calls()[before]! };
}

describe('PUT /v1/tenants/{name}/allow-only', () => {
  it("sets it for the tenant's manager and an administrator, for the tenant or a DID, and the listings show it, audited", async () => {
    expect(await listed('cg_acme')).toEqual([{ name: 'acme', allowOnly: null, didAllowOnly: {} }]);
    expect(await call('cg_acme', 'PUT', '/v1/tenants/acme/allow-only', { action: 'challenge' })).toEqual({ status: 200, body: { name: 'acme', did: null, action: 'challenge' } });
    expect(await call('cg_admin', 'PUT', '/v1/tenants/acme/allow-only', { action: 'voicemail', did: '(404) 555-0101' })).toEqual({
      status: 200,
      body: { name: 'acme', did: ACME_SALES, action: 'voicemail' },
    });
    expect((await call('cg_acme', 'PUT', '/v1/tenants/acme/allow-only', { action: 'off', did: ACME_MAIN })).body).toEqual({ name: 'acme', did: ACME_MAIN, action: 'off' });
    expect(await listed('cg_admin')).toEqual([
      { name: 'acme', allowOnly: 'challenge', didAllowOnly: { [ACME_MAIN]: 'off', [ACME_SALES]: 'voicemail' } },
      { name: 'default', allowOnly: null, didAllowOnly: {} },
      { name: 'globex', allowOnly: null, didAllowOnly: {} },
    ]);
    // A viewer sees it too.
    expect(await listed('cg_viewer')).toEqual([{ name: 'acme', allowOnly: 'challenge', didAllowOnly: { [ACME_MAIN]: 'off', [ACME_SALES]: 'voicemail' } }]);
    expect((await call('cg_acme', 'PUT', '/v1/tenants/acme/allow-only', { action: 'inherit', did: ACME_MAIN })).body).toEqual({ name: 'acme', did: ACME_MAIN, action: 'inherit' });
    expect((await listed('cg_acme'))[0]!.didAllowOnly).toEqual({ [ACME_SALES]: 'voicemail' });
    expect(world.db.prepare("SELECT actor, entity, key, before, after FROM audit WHERE verb = 'change' ORDER BY id").all()).toEqual([
      { actor: 'user:alice', entity: 'tenant', key: 'acme', before: '{"allowOnly":"off"}', after: '{"allowOnly":"challenge"}' },
      { actor: 'token:ops', entity: 'did', key: ACME_SALES, before: '{"allowOnly":"inherit"}', after: '{"allowOnly":"voicemail"}' },
      { actor: 'user:alice', entity: 'did', key: ACME_MAIN, before: '{"allowOnly":"inherit"}', after: '{"allowOnly":"off"}' },
      { actor: 'user:alice', entity: 'did', key: ACME_MAIN, before: '{"allowOnly":"off"}', after: '{"allowOnly":"inherit"}' },
    ]);
  });

  it('is in the OpenAPI document with the actions it takes, and the listing describes it', async () => {
    const document = (await call(null, 'GET', '/v1/openapi.json')).body as { paths: Record<string, Record<string, any>> };
    const put = document.paths['/v1/tenants/{name}/allow-only']?.put;
    expect(put).toBeDefined();
    expect(put.requestBody.content['application/json'].schema.properties).toHaveProperty('did');
    expect(put.responses['200'].content['application/json'].schema.properties.action.enum).toEqual(['challenge', 'identify', 'voicemail', 'busy', 'disconnected', 'block', 'off', 'inherit']);
    const tenant = document.paths['/v1/tenants']!.get.responses['200'].content['application/json'].schema.properties.tenants.items;
    expect(JSON.stringify(tenant.properties.allowOnly)).toContain('"challenge"');
    expect(tenant.properties.didAllowOnly.additionalProperties.enum).toEqual(['challenge', 'identify', 'voicemail', 'busy', 'disconnected', 'block', 'off']);
  });

  it('refuses bad input with a 400 naming the field, and changes nothing', async () => {
    expect((await call('cg_admin', 'PUT', '/v1/tenants/acme/allow-only', { action: 'block' })).status).toBe(200);
    const before = stored();
    const cases: [string, Record<string, unknown>, string, RegExp?][] = [
      ['acme', { action: 'ring' }, 'action', /bad allow-only action "ring"/],
      ['acme', { action: 'allow' }, 'action', /bad allow-only action "allow": expected challenge, identify, voicemail/],
      ['acme', { action: 'inherit' }, 'action', /inherit applies to a DID only/],
      ['acme', { action: 'Challenge' }, 'action'],
      ['acme', { action: '' }, 'action'],
      ['acme', {}, 'action'],
      ['acme', { action: 'x'.repeat(17) }, 'action'],
      ['acme', { action: 7 }, 'action'],
      ['acme', { action: 'busy', did: '555-12' }, 'did', /bad DID "555-12"/],
      ['acme', { action: 'busy', did: '404-555-0199' }, 'did', /DID \+14045550199 is not registered/],
      ['acme', { action: 'busy', did: GLOBEX_DID }, 'did', /belongs to tenant "globex", not "acme"/],
      ['acme', { action: 'busy', did: 5 }, 'did'],
      ['acme', { action: 'busy', also: 1 }, 'also'],
      ['nobody', { action: 'busy' }, 'name', /unknown tenant "nobody"/],
      ['Not%20a%20name', { action: 'busy' }, 'name'],
    ];
    for (const [name, payload, field, message] of cases) {
      const { status, body } = await call('cg_admin', 'PUT', `/v1/tenants/${name}/allow-only`, payload);
      expect(status, `${name} ${JSON.stringify(payload)}`).toBe(400);
      expect(body.field, `${name} ${JSON.stringify(payload)}: ${body.error}`).toBe(field);
      if (message) expect(body.error).toMatch(message);
    }
    expect(stored()).toEqual(before);
  });

  it("refuses a viewer, another tenant's manager and anyone not signed in, and changes nothing", async () => {
    const before = stored();
    expect((await call('cg_viewer', 'PUT', '/v1/tenants/acme/allow-only', { action: 'block' })).status).toBe(403);
    expect((await call('cg_acme', 'PUT', '/v1/tenants/globex/allow-only', { action: 'block' })).status).toBe(403);
    expect((await call('cg_acme', 'PUT', '/v1/tenants/globex/allow-only', { action: 'block', did: GLOBEX_DID })).status).toBe(403);
    expect((await call('cg_acme', 'PUT', '/v1/tenants/nobody/allow-only', { action: 'block' })).status).toBe(403);
    expect((await call(null, 'PUT', '/v1/tenants/acme/allow-only', { action: 'block' })).status).toBe(401);
    expect(stored()).toEqual(before);
  });
});

describe('a tenant in allow-only mode, screened for real', () => {
  it('an allowed caller rings, a stranger is challenged; a DID of its own sends strangers to voicemail; explain and the log say why', async () => {
    expect((await place(STRANGER, ACME_MAIN)).result.outcome).toBe('continued');
    expect((await call('cg_acme', 'PUT', '/v1/tenants/acme/allow-only', { action: 'challenge' })).status).toBe(200);

    const friend = await place(FRIEND, ACME_MAIN);
    expect(friend.result.outcome).toBe('continued');
    expect(friend.result.apps).toEqual([]);
    expect(friend.row).toMatchObject({ action: 'allow', outcome: 'continued' });

    const passes = await place(STRANGER, ACME_MAIN, '1');
    expect(passes.result.outcome).toBe('continued');
    expect(passes.row).toMatchObject({ action: 'challenge', outcome: 'passed' });
    const fails = await place('6175550111', ACME_MAIN, '9');
    expect(fails.result.outcome).toBe('hungup');
    expect(fails.row).toMatchObject({ action: 'challenge', outcome: 'failed' });

    // Another tenant is not allow-only: the same stranger rings there.
    expect((await place(STRANGER, GLOBEX_DID)).result.outcome).toBe('continued');

    expect((await call('cg_acme', 'PUT', '/v1/tenants/acme/allow-only', { action: 'voicemail', did: ACME_SALES })).status).toBe(200);
    const sales = await place('7135550127', ACME_SALES);
    expect(sales.row).toMatchObject({ action: 'voicemail', outcome: 'voicemail' });
    // Straight to the number's voicemail: nobody rings.
    expect(sales.result.apps.map((app) => `${app.app} ${app.arg}`.trim())[0]).toBe(`voicemail default \${domain_name} ${ACME_SALES.slice(1)}`);

    const explained = (await call('cg_acme', 'GET', `/v1/explain?from=${STRANGER}&to=${encodeURIComponent(ACME_SALES)}`)).body;
    expect(explained).toMatchObject({ action: 'voicemail', scope: `did:${ACME_SALES}` });
    expect(explained.reasons).toContain(`DID ${ACME_SALES} (tenant acme) is allow-only: callers not on its allow list get voicemail.`);
    const logged = (await call('cg_acme', 'GET', '/v1/calls?tenant=acme')).body.calls as { action: string; reasons: string[] }[];
    expect(logged[0]!.reasons.at(-1)).toBe(`DID ${ACME_SALES} (tenant acme) is allow-only: callers not on its allow list get voicemail.`);
    expect(logged.find((row) => row.action === 'challenge')!.reasons).toContain('Tenant acme is allow-only: callers not on its allow list get challenge.');
  });
});
