// Allow-only mode in the console, in a real headless Chromium against the console server on a
// loopback port, with calls screened for real on the FreeSWITCH simulator by the screener on the
// console's own store. A manager of acme chooses "Others get: Block" on the Companies page (a
// choice named for the company, described by what allow-only does); it is stored, shown on the
// company's card after a reload, and a stranger's call is then rejected while a caller an allow
// rule names rings. A DID's own setting is listed under the company. A viewer sees the setting,
// with nothing to change. Every wait is on an element or a value, never on a clock.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliActing } from '../agent/operations/acting';
import { addRules } from '../agent/operations/rules';
import { sqliteBackends } from '../agent/operations/store-backends';
import { setAllowOnly } from '../agent/operations/tenants';
import { MANAGER, TENANTS, VIEWER } from './helpers/console';
import type { ConsoleUnderTest, ConsoleUser } from './helpers/console';
import { startConsoleWithSwitch } from './helpers/console-with-switch';
import type { ConsoleWithSwitch } from './helpers/console-with-switch';
import { PATIENCE_MS, until } from './helpers/patience';

const [ACME_MAIN, ACME_SALES] = TENANTS.acme;
const FRIEND = '+14045551234';
const STRANGER = '+12125559999';
const ADMIN = cliActing('cli:tester');

let world: ConsoleWithSwitch;
let server: ConsoleUnderTest;

beforeAll(async () => {
  world = await startConsoleWithSwitch();
  server = world.server;
  await addRules(sqliteBackends(server.db).as('cli:tester').rules, ADMIN, { patterns: FRIEND, action: 'allow', scope: 'tenant:acme' }, 'US');
}, PATIENCE_MS);

afterAll(async () => {
  await world?.close();
});

const signedIn = (user: ConsoleUser, path: string, heading: string) => world.signedIn(user, path, heading);

const storedAllowOnly = () => server.db.prepare("SELECT allow_only FROM tenants WHERE name = 'acme'").pluck().get();

/** A call from `caller` to `did` through the simulator's dialplan `socket`, screened for real; once its outcome is logged. */
async function placeCall(caller: string, did: string = ACME_MAIN!) {
  const { result, logged } = await world.call(caller, did, 'Caller');
  return { result, ...logged };
}

describe('allow-only mode in a real browser', () => {
  it('before: a stranger rings acme', async () => {
    const call = await placeCall(STRANGER);
    expect(call.result.outcome).toBe('continued');
    expect(call.action).toBe('allow');
  });

  it('a manager makes acme allow-only on the Companies page, and it is stored and shown', async () => {
    const page = await signedIn(MANAGER, '/companies', 'Companies');
    const choice = page.getByRole('combobox', { name: 'Allow-only mode for acme' });
    await choice.waitFor();
    expect(await choice.inputValue()).toBe('off');
    // Described by what allow-only does.
    const described = await choice.getAttribute('aria-describedby');
    expect(await page.locator(`[id="${described}"]`).textContent()).toContain('Only callers an allow rule lets through ring');
    const saved = page.waitForResponse((response) => response.url().endsWith('/v1/tenants/acme/allow-only') && response.request().method() === 'PUT');
    await choice.selectOption({ label: 'Others get: Block' });
    expect((await saved).status()).toBe(200);
    await until(() => storedAllowOnly() === 'block', 'acme stored as allow-only, block');
    await page.getByText("On: callers not on acme's allow list get block.").waitFor();
    const listed = (await (await page.request.get('/v1/tenants')).json()) as { tenants: { name: string; allowOnly: string | null }[] };
    expect(listed.tenants.map((tenant) => `${tenant.name} ${tenant.allowOnly}`)).toEqual(['acme block']);
    await page.reload();
    const again = page.getByRole('combobox', { name: 'Allow-only mode for acme' });
    await again.waitFor();
    expect(await again.inputValue()).toBe('block');
    await page.getByRole('button', { name: /^acme/ }).getByText('Allow-only: Block', { exact: true }).waitFor();
  });

  it('a stranger is now rejected, an allowed caller rings, and the log says why', async () => {
    const stranger = await placeCall(STRANGER);
    expect(stranger.result).toMatchObject({ outcome: 'hungup', hangupCause: 'CALL_REJECTED' });
    expect(stranger).toMatchObject({ action: 'block', outcome: 'rejected' });
    expect(stranger.reasons).toContain('Tenant acme is allow-only: callers not on its allow list get block.');
    const friend = await placeCall(FRIEND);
    expect(friend.result.outcome).toBe('continued');
    expect(friend.action).toBe('allow');
  });

  it("a DID's own setting is listed under the company; a viewer sees it all with nothing to change", async () => {
    await setAllowOnly(sqliteBackends(server.db).as('cli:tester').tenants, ADMIN, 'acme', 'off', ACME_SALES, 'US');
    const manager = await signedIn(MANAGER, '/companies', 'Companies');
    await manager.locator(`[data-did="${ACME_SALES}"]`).getByText(`${ACME_SALES}: not allow-only (its own setting)`).waitFor();
    const viewer = await signedIn(VIEWER, '/companies', 'Companies');
    await viewer.getByText('Allow-only: Block', { exact: true }).last().waitFor();
    await viewer.locator(`[data-did="${ACME_SALES}"]`).waitFor();
    expect(await viewer.getByRole('combobox', { name: 'Allow-only mode for acme' }).count()).toBe(0);
    expect(await viewer.locator('[data-write]').count()).toBe(0);
    expect(await viewer.locator('.allow-only[data-allow-only="block"]').count()).toBe(1);
    // And the DID left out of allow-only rings for the stranger.
    expect((await placeCall(STRANGER, ACME_SALES)).result.outcome).toBe('continued');
  });

  it('turned off, the stranger rings again', async () => {
    const page = await signedIn(MANAGER, '/companies', 'Companies');
    const choice = page.getByRole('combobox', { name: 'Allow-only mode for acme' });
    await choice.waitFor();
    await choice.selectOption('off');
    await until(() => storedAllowOnly() === null, 'acme stored as not allow-only');
    await page.locator('.allow-only[data-allow-only="off"]').waitFor();
    const call = await placeCall(STRANGER);
    expect(call.result.outcome).toBe('continued');
    expect(world.pageErrors).toEqual([]);
  });
});
