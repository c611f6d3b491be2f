// The callback trust window through the REST API: PUT /v1/tenants/{name}/trust-callbacks
// sets it for those who may change the tenant (a 400 naming the field for a bad duration or
// an unknown tenant, a 403 for a viewer or another tenant's manager), audited; and a callback
// placed on the FreeSWITCH simulator and screened by the real screener follows it: through
// within the window, blocked as a neighbor with the window off.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cliActing } from '../agent/operations/acting';
import { recordOutboundCall } from '../agent/operations/called-numbers';
import { setCategory } from '../agent/operations/categories';
import { sqliteBackends } from '../agent/operations/store-backends';
import { addDid, addTenant } from '../agent/operations/tenants';
import { DEFAULT_FREESWITCH } from '../agent/pbx/settings';
import { apiWithSwitch } from './helpers/api-with-switch';
import type { ApiWithSwitch } from './helpers/api-with-switch';
import { eventually, screeningWorld } from './helpers/screening';
import type { ScreeningWorld } from './helpers/screening';

const ACME_DID = '+14045550100';
const CALLING_BACK = '14045551234';
const ADMIN = cliActing('cli:tester');
const DAY = 86_400_000;

let world: ScreeningWorld;
let served: ApiWithSwitch;

beforeEach(async () => {
  world = screeningWorld();
  const backends = sqliteBackends(world.db).as('cli:tester');
  await addTenant(backends.tenants, ADMIN, 'acme');
  await addTenant(backends.tenants, ADMIN, 'globex');
  await addDid(backends.tenants, ADMIN, ACME_DID, 'acme', 'US');
  await setCategory(backends, ADMIN, { category: 'neighbor', action: 'block' });
  // Called 20 days ago: inside the 30 days trusted by default, outside 14.
  await recordOutboundCall(backends.outboundCalls, { from: ACME_DID, to: '404-555-1234' }, 'US', Date.now() - 20 * DAY);
  served = await apiWithSwitch(world, DEFAULT_FREESWITCH);
});

afterEach(async () => {
  await served.close();
  world.close();
});

const put = (token: string, name: string, body: Record<string, unknown>) => served.call(token, 'PUT', `/v1/tenants/${name}/trust-callbacks`, body);

/** A callback through the simulator's dialplan `socket` to the agent; how it ended, once logged. */
async function callback(): Promise<string> {
  const before = world.calls().length;
  const result = await served.sim.placeOutboundCall('127.0.0.1', served.switchSide.port, { callerIdNumber: CALLING_BACK, callerIdName: 'Jane', destinationNumber: ACME_DID }).done;
  await eventually(() => world.calls().length === before + 1 && world.calls()[before]!.outcome !== null, undefined, 'the call logged with its outcome');
  return result.outcome;
}

describe('PUT /v1/tenants/{name}/trust-callbacks', () => {
  it("sets the tenant's window for its manager and an administrator; a callback follows it; each change is audited", async () => {
    expect(await callback()).toBe('continued');
    expect(await put('cg_acme', 'acme', { duration: '14d' })).toEqual({ status: 200, body: { name: 'acme', ms: 14 * DAY } });
    expect(await callback()).toBe('hungup');
    expect(await put('cg_admin', 'acme', { duration: '3w' })).toEqual({ status: 200, body: { name: 'acme', ms: 21 * DAY } });
    expect(await callback()).toBe('continued');
    expect((await put('cg_admin', 'acme', { duration: 'off' })).body).toEqual({ name: 'acme', ms: 0 });
    expect(await callback()).toBe('hungup');
    expect(world.db.prepare("SELECT actor, key, after FROM audit WHERE entity = 'setting' ORDER BY id").all()).toEqual([
      { actor: 'user:alice', key: 'callback_trust:tenant:acme', after: JSON.stringify(String(14 * DAY)) },
      { actor: 'token:ops', key: 'callback_trust:tenant:acme', after: JSON.stringify(String(21 * DAY)) },
      { actor: 'token:ops', key: 'callback_trust:tenant:acme', after: JSON.stringify('0') },
    ]);
  });

  it('refuses a bad duration and an unknown tenant with a 400 naming the field, others with a 403, and changes nothing', async () => {
    const cases: [string, Record<string, unknown>, string][] = [
      ['acme', { duration: 'forever' }, 'duration'],
      ['acme', { duration: '0d' }, 'duration'],
      ['acme', { duration: '' }, 'duration'],
      ['acme', {}, 'duration'],
      ['acme', { duration: '14d', also: 1 }, 'also'],
      ['nobody', { duration: '14d' }, 'name'],
      ['Not%20a%20name', { duration: '14d' }, 'name'],
    ];
    for (const [name, body, field] of cases) {
      const answer = await put('cg_admin', name, body);
      expect(answer.status, `${name} ${JSON.stringify(body)}`).toBe(400);
      expect(answer.body.field, `${name} ${JSON.stringify(body)}: ${answer.body.error}`).toBe(field);
    }
    expect((await put('cg_viewer', 'acme', { duration: '14d' })).status).toBe(403);
    expect((await put('cg_acme', 'globex', { duration: '14d' })).status).toBe(403);
    expect(world.db.prepare("SELECT key FROM settings WHERE key LIKE 'callback_trust:%'").all()).toEqual([]);
    expect(await callback()).toBe('continued');
  });
});
