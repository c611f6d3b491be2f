// Monitor mode through the REST API: PUT /v1/tenants/{name}/mode sets a tenant's mode for
// those who may change it (a 400 naming the field for a bad mode or an unknown tenant, a 403
// for a viewer or another tenant's manager), GET /v1/tenants shows it; and once it is on, a
// call placed on the FreeSWITCH simulator and screened by the real screener, from a number a
// rule blocks, goes through: logged as block, outcome monitored, counted by GET /v1/stats as
// would-block and not as blocked. Another tenant, still enforced, has the same caller blocked.
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

const ACME_DID = '+14045550100';
const GLOBEX_DID = '+13125550100';
const BLOCKED_CALLER = '4045551234';
const SETTINGS: FreeSwitchSettings = { ...DEFAULT_FREESWITCH, promptDir: '/opt/callguard/prompts', forwardDialString: 'sofia/gateway/trunk/{number}' };
const ADMIN = cliActing('cli:tester');

let world: ScreeningWorld;
let sim: FreeSwitchSim;
let switchSide: FreeSwitchOutboundServer;
let served: ApiWithSwitch;

beforeEach(async () => {
  world = screeningWorld();
  const backends = sqliteBackends(world.db).as('cli:tester');
  await addTenant(backends.tenants, ADMIN, 'acme');
  await addTenant(backends.tenants, ADMIN, 'globex');
  await addDid(backends.tenants, ADMIN, ACME_DID, 'acme', 'US');
  await addDid(backends.tenants, ADMIN, GLOBEX_DID, 'globex', 'US');
  served = await apiWithSwitch(world, SETTINGS);
  ({ sim, switchSide } = served);
});

afterEach(async () => {
  await served.close();
  world.close();
});

const call: ApiWithSwitch['call'] = (...request) => served.call(...request);

const modes = () => Object.fromEntries(world.db.prepare('SELECT name, mode FROM tenants ORDER BY name').all().map((row) => [(row as { name: string }).name, (row as { mode: string }).mode]));
const listed = async (token: string) => ((await call(token, 'GET', '/v1/tenants')).body.tenants as { name: string; mode: string }[]).map((tenant) => `${tenant.name} ${tenant.mode}`);

/** A call from `caller` to `did` through the simulator's dialplan `socket` to the agent, screened by the real screener; its log row once finished. */
async function place(caller: string, did: string): Promise<{ result: CallResult; row: ReturnType<ScreeningWorld['calls']>[number] }> {
  const before = world.calls().length;
  const result = await sim.placeOutboundCall('127.0.0.1', switchSide.port, { callerIdNumber: caller, callerIdName: 'Caller', destinationNumber: did }).done;
  await eventually(() => world.calls().length === before + 1 && world.calls()[before]!.outcome !== null, undefined, 'the call logged with its outcome');
  return { result, row: world.calls()[before]! };
}

describe('PUT /v1/tenants/{name}/mode', () => {
  it('sets the mode for an administrator and for the tenant\'s manager, and the listings show it', async () => {
    expect(await listed('cg_admin')).toEqual(['acme enforce', 'default enforce', 'globex enforce']);
    const set = await call('cg_acme', 'PUT', '/v1/tenants/acme/mode', { mode: 'monitor' });
    expect(set).toEqual({ status: 200, body: { name: 'acme', mode: 'monitor' } });
    expect(await listed('cg_admin')).toEqual(['acme monitor', 'default enforce', 'globex enforce']);
    // Each asker sees the tenants they may see, with their mode.
    expect(await listed('cg_acme')).toEqual(['acme monitor']);
    expect(await listed('cg_viewer')).toEqual(['acme monitor']);
    expect((await call('cg_admin', 'PUT', '/v1/tenants/globex/mode', { mode: 'monitor' })).body).toEqual({ name: 'globex', mode: 'monitor' });
    expect((await call('cg_admin', 'PUT', '/v1/tenants/acme/mode', { mode: 'enforce' })).body).toEqual({ name: 'acme', mode: 'enforce' });
    expect(modes()).toEqual({ acme: 'enforce', default: 'enforce', globex: 'monitor' });
    // Setting the mode a tenant already has is answered the same and changes nothing.
    const audited = () => world.db.prepare("SELECT actor, verb, key, before, after FROM audit WHERE entity = 'tenant' AND verb = 'change' ORDER BY id").all();
    const changes = audited().length;
    expect((await call('cg_admin', 'PUT', '/v1/tenants/globex/mode', { mode: 'monitor' })).body).toEqual({ name: 'globex', mode: 'monitor' });
    expect(audited()).toHaveLength(changes);
    // Every change is audited with who made it.
    expect(audited()).toEqual([
      { actor: 'user:alice', verb: 'change', key: 'acme', before: JSON.stringify({ mode: 'enforce' }), after: JSON.stringify({ mode: 'monitor' }) },
      { actor: 'token:ops', verb: 'change', key: 'globex', before: JSON.stringify({ mode: 'enforce' }), after: JSON.stringify({ mode: 'monitor' }) },
      { actor: 'token:ops', verb: 'change', key: 'acme', before: JSON.stringify({ mode: 'monitor' }), after: JSON.stringify({ mode: 'enforce' }) },
    ]);
  });

  it('is in the OpenAPI document, its mode one of enforce and monitor', async () => {
    const document = (await call(null, 'GET', '/v1/openapi.json')).body as { paths: Record<string, Record<string, any>> };
    const put = document.paths['/v1/tenants/{name}/mode']?.put;
    expect(put).toBeDefined();
    expect(put.responses['200'].content['application/json'].schema.properties.mode.enum).toEqual(['enforce', 'monitor']);
    const listing = document.paths['/v1/tenants']!.get.responses['200'].content['application/json'].schema;
    expect(listing.properties.tenants.items.properties.mode.enum).toEqual(['enforce', 'monitor']);
  });

  it('refuses a bad mode and an unknown tenant with a 400 naming the field, and changes nothing', async () => {
    const cases: [string, Record<string, unknown>, string][] = [
      ['acme', { mode: 'watch' }, 'mode'],
      ['acme', { mode: 'MONITOR' }, 'mode'],
      ['acme', { mode: '' }, 'mode'],
      ['acme', {}, 'mode'],
      ['acme', { mode: 'x'.repeat(17) }, 'mode'],
      ['acme', { mode: 'monitor', also: 1 }, 'also'],
      ['nobody', { mode: 'monitor' }, 'name'],
      ['Not%20a%20name', { mode: 'monitor' }, 'name'],
    ];
    for (const [name, payload, field] of cases) {
      const { status, body } = await call('cg_admin', 'PUT', `/v1/tenants/${name}/mode`, payload);
      expect(status, `${name} ${JSON.stringify(payload)}`).toBe(400);
      expect(body.field, `${name} ${JSON.stringify(payload)}: ${body.error}`).toBe(field);
    }
    const unknown = await call('cg_admin', 'PUT', '/v1/tenants/nobody/mode', { mode: 'monitor' });
    expect(unknown.body.error).toMatch(/unknown tenant "nobody"/);
    expect(modes()).toEqual({ acme: 'enforce', default: 'enforce', globex: 'enforce' });
  });

  it('refuses a viewer, another tenant\'s manager and anyone not signed in, and changes nothing', async () => {
    expect((await call('cg_viewer', 'PUT', '/v1/tenants/acme/mode', { mode: 'monitor' })).status).toBe(403);
    expect((await call('cg_acme', 'PUT', '/v1/tenants/globex/mode', { mode: 'monitor' })).status).toBe(403);
    expect((await call('cg_acme', 'PUT', '/v1/tenants/default/mode', { mode: 'monitor' })).status).toBe(403);
    // A tenant they may not see is refused the same whether or not it exists: nothing is given away.
    expect((await call('cg_acme', 'PUT', '/v1/tenants/nobody/mode', { mode: 'monitor' })).status).toBe(403);
    expect((await call(null, 'PUT', '/v1/tenants/acme/mode', { mode: 'monitor' })).status).toBe(401);
    expect((await call('cg_unknown', 'PUT', '/v1/tenants/acme/mode', { mode: 'monitor' })).status).toBe(401);
    expect(modes()).toEqual({ acme: 'enforce', default: 'enforce', globex: 'enforce' });
    expect(world.db.prepare("SELECT count(*) FROM audit WHERE entity = 'tenant' AND verb = 'change'").pluck().get()).toBe(0);
  });
});

describe('a tenant in monitor mode, screened for real', () => {
  it('lets through a call a rule blocks, logged as block with outcome monitored, counted as would-block and not blocked', async () => {
    await addRules(sqliteBackends(world.db).as('cli:tester').rules, ADMIN, { patterns: '404-555*', action: 'block' }, 'US');
    // Enforced first: the rule blocks the caller.
    const enforced = await place(BLOCKED_CALLER, ACME_DID);
    expect(enforced.result).toMatchObject({ outcome: 'hungup', hangupCause: 'CALL_REJECTED' });
    expect(enforced.row).toMatchObject({ action: 'block', outcome: 'rejected' });

    expect((await call('cg_acme', 'PUT', '/v1/tenants/acme/mode', { mode: 'monitor' })).status).toBe(200);
    const monitored = await place(BLOCKED_CALLER, ACME_DID);
    // Through: the agent hands the call back to the dialplan and plays nothing, answers nothing, hangs up nothing.
    expect(monitored.result.outcome).toBe('continued');
    expect(monitored.result.apps).toEqual([]);
    expect(monitored.row).toMatchObject({ action: 'block', outcome: 'monitored', outcome_detail: 'monitor mode: would have been block', caller: '+14045551234' });

    // The other tenant is still enforced: the same caller to globex is blocked.
    const globex = await place(BLOCKED_CALLER, GLOBEX_DID);
    expect(globex.result).toMatchObject({ outcome: 'hungup', hangupCause: 'CALL_REJECTED' });
    expect(globex.row).toMatchObject({ action: 'block', outcome: 'rejected' });

    // The call log as the API answers it: the monitored call is acme's, its action what would have happened.
    const calls = (await call('cg_acme', 'GET', '/v1/calls?tenant=acme')).body.calls as { action: string; outcome: string; outcomeDetail: string | null; tenant: string; reasons: string[] }[];
    expect(calls.map((row) => `${row.tenant} ${row.action} ${row.outcome}`)).toEqual(['acme block monitored', 'acme block rejected']);
    expect(calls[0]!.reasons.at(-1)).toMatch(/monitor mode/);

    // Counted once as would-block, not as blocked: only the enforced call was stopped.
    const stats = (await call('cg_acme', 'GET', '/v1/stats?tenant=acme&since=1h')).body;
    expect(stats).toMatchObject({ tenant: 'acme', total: 2, blocked: 1, wouldBlock: 1 });

    // Turned back to enforce, the caller is blocked again.
    expect((await call('cg_acme', 'PUT', '/v1/tenants/acme/mode', { mode: 'enforce' })).status).toBe(200);
    const again = await place(BLOCKED_CALLER, ACME_DID);
    expect(again.result).toMatchObject({ outcome: 'hungup', hangupCause: 'CALL_REJECTED' });
    expect(again.row).toMatchObject({ action: 'block', outcome: 'rejected' });
    expect((await call('cg_acme', 'GET', '/v1/stats?tenant=acme&since=1h')).body).toMatchObject({ total: 3, blocked: 2, wouldBlock: 1 });
  });

  it('with monitor mode on from the start, GET /v1/stats shows wouldBlock 1 and blocked 0', async () => {
    expect((await call('cg_admin', 'PUT', '/v1/tenants/acme/mode', { mode: 'monitor' })).status).toBe(200);
    await addRules(sqliteBackends(world.db).as('cli:tester').rules, ADMIN, { patterns: '404-555*', action: 'block' }, 'US');
    const { result, row } = await place(BLOCKED_CALLER, ACME_DID);
    expect(result.outcome).toBe('continued');
    expect(row).toMatchObject({ action: 'block', outcome: 'monitored' });
    const stats = (await call('cg_viewer', 'GET', '/v1/stats?tenant=acme&since=1h')).body;
    expect(stats).toMatchObject({ tenant: 'acme', total: 1, wouldBlock: 1, blocked: 0 });
    // A monitored call went through: it counts as legitimate.
    expect(stats.legitimate).toBe(1);
  });
});
