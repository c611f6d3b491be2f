// Monitor mode in the console, in a real headless Chromium (Debian's, driven by playwright-core)
// against the console server on a loopback port, with calls screened for real: placed on the
// FreeSWITCH simulator and decided by the screener on the console's own store. A manager of
// acme switches acme to monitor mode on the Companies page (a switch named for the company and
// described by what monitor mode does), the change is stored (the API and the store say so,
// and a reload shows it); a call a rule blocks then goes through, and Activity shows it as
// "Would block", "Let through (monitor mode)", beside the same caller's earlier real block. A
// viewer sees a badge and no switch. Every wait is on an element or a value, never on a clock.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliActing } from '../agent/operations/acting';
import { addRules } from '../agent/operations/rules';
import { sqliteBackends } from '../agent/operations/store-backends';
import { MANAGER, VIEWER } from './helpers/console';
import type { ConsoleUnderTest, ConsoleUser } from './helpers/console';
import { startConsoleWithSwitch } from './helpers/console-with-switch';
import { PATIENCE_MS, until } from './helpers/patience';
import type { ConsoleWithSwitch } from './helpers/console-with-switch';

const ACME_DID = '+14045550100';
const BLOCKED_CALLER = '+14045551234';

let world: ConsoleWithSwitch;
let server: ConsoleUnderTest;

beforeAll(async () => {
  world = await startConsoleWithSwitch();
  server = world.server;
  await addRules(sqliteBackends(server.db).as('cli:tester').rules, cliActing('cli:tester'), { patterns: '404-555-1234', action: 'block' }, 'US');
}, PATIENCE_MS);

afterAll(async () => {
  await world?.close();
});

const signedIn = (user: ConsoleUser, path: string, heading: string) => world.signedIn(user, path, heading);

const storedMode = () => server.db.prepare("SELECT mode FROM tenants WHERE name = 'acme'").pluck().get();

/** A call from BLOCKED_CALLER to acme through the simulator's dialplan `socket`, screened for real; once its outcome is logged. */
async function placeCall() {
  const { result, logged } = await world.call(BLOCKED_CALLER, ACME_DID, 'Robo Caller');
  return { result, ...logged };
}

describe('monitor mode in a real browser', () => {
  let enforcedId: number;
  let monitoredId: number;

  it('before: acme is enforced, and the rule blocks the caller', async () => {
    const call = await placeCall();
    expect(call.result).toMatchObject({ outcome: 'hungup', hangupCause: 'CALL_REJECTED' });
    expect(call).toMatchObject({ action: 'block', outcome: 'rejected' });
    enforcedId = call.id;
  });

  it('a manager switches acme to monitor mode on the Companies page, and it is stored', async () => {
    const page = await signedIn(MANAGER, '/companies', 'Companies');
    const monitor = page.getByRole('switch', { name: 'Monitor mode for acme' });
    await monitor.waitFor();
    expect(await monitor.isChecked()).toBe(false);
    // The switch is described by what monitor mode does.
    const described = await monitor.getAttribute('aria-describedby');
    expect(described).toBeTruthy();
    expect(await page.locator(`[id="${described}"]`).textContent()).toContain('Calls are decided and logged, but let through');
    // Switched with the keyboard, as anyone can.
    await monitor.focus();
    const saved = page.waitForResponse((response) => response.url().endsWith('/v1/tenants/acme/mode') && response.request().method() === 'PUT');
    await page.keyboard.press('Space');
    expect((await saved).status()).toBe(200);
    await until(() => storedMode() === 'monitor', 'acme stored in monitor mode');
    expect(await monitor.isChecked()).toBe(true);
    await page.getByText("On: acme's calls are not stopped.").waitFor();
    // The API says so, and so does the page after a reload: the switch on, the company card marked.
    const listed = (await (await page.request.get('/v1/tenants')).json()) as { tenants: { name: string; mode: string }[] };
    expect(listed.tenants.map((tenant) => `${tenant.name} ${tenant.mode}`)).toEqual(['acme monitor']);
    await page.reload();
    const again = page.getByRole('switch', { name: 'Monitor mode for acme' });
    await again.waitFor();
    expect(await again.isChecked()).toBe(true);
    await page.getByRole('button', { name: /^acme/ }).getByText('Monitor mode', { exact: true }).waitFor();
  });

  it('a call the rule blocks now goes through, and Activity shows it as Would block beside the real block', async () => {
    const call = await placeCall();
    expect(call.result.outcome).toBe('continued');
    expect(call.result.apps).toEqual([]);
    expect(call).toMatchObject({ action: 'block', outcome: 'monitored' });
    monitoredId = call.id;

    const page = await signedIn(MANAGER, '/activity', 'Activity');
    const monitored = page.locator(`tr[data-call="${monitoredId}"]`);
    const enforced = page.locator(`tr[data-call="${enforcedId}"]`);
    await monitored.waitFor();
    await enforced.waitFor();
    // The monitored call: what would have happened, and that it was let through.
    expect((await monitored.locator('td[data-label="Decision"] .chip').first().textContent())?.trim()).toBe('Would block');
    expect((await monitored.locator('td[data-label="Outcome"]').textContent())?.trim()).toBe('Let through (monitor mode)');
    expect(await monitored.getAttribute('data-monitored')).not.toBeNull();
    // The real block before it reads differently.
    expect((await enforced.locator('td[data-label="Decision"] .chip').first().textContent())?.trim()).toBe('Block');
    expect(await enforced.locator('td[data-label="Outcome"]').textContent()).toContain('Rejected');
    expect(await enforced.getAttribute('data-monitored')).toBeNull();
    // The outcome filter finds the monitored calls by that label.
    await page.getByLabel('Outcome', { exact: true }).selectOption({ label: 'Let through (monitor mode)' });
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.waitForURL(/outcome=monitored/);
    await enforced.waitFor({ state: 'detached' });
    await monitored.waitFor();
    expect(await page.locator('tbody tr').count()).toBe(1);
  });

  it('a viewer sees the mode as a badge, with no switch', async () => {
    const page = await signedIn(VIEWER, '/companies', 'Companies');
    await page.getByText('Monitor mode is on', { exact: true }).waitFor();
    expect(await page.getByRole('switch').count()).toBe(0);
    expect(await page.locator('[data-write]').count()).toBe(0);
  });

  it('switched back to enforce, the caller is blocked again', async () => {
    const page = await signedIn(MANAGER, '/companies', 'Companies');
    const monitor = page.getByRole('switch', { name: 'Monitor mode for acme' });
    await monitor.waitFor();
    expect(await monitor.isChecked()).toBe(true);
    await monitor.uncheck();
    await until(() => storedMode() === 'enforce', 'acme stored in enforce mode');
    await page.getByText('Off: calls are screened and enforced.').waitFor();
    const call = await placeCall();
    expect(call.result).toMatchObject({ outcome: 'hungup', hangupCause: 'CALL_REJECTED' });
    expect(call).toMatchObject({ action: 'block', outcome: 'rejected' });
    expect(world.pageErrors).toEqual([]);
  });
});
