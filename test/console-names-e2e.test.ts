// The Caller names page in a real headless Chromium against the console server, with calls
// screened for real on the FreeSWITCH simulator by the screener on the console's own store.
// A manager blocks names starting with V9 and the whole word SPAM for acme; a caller whose
// number changes but whose name does not is rejected, a bad pattern is refused beside its
// field with nothing stored, and a viewer sees the rules with nothing to change. Every wait
// is on an element or a value, never on a clock.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MANAGER, TENANTS, VIEWER } from './helpers/console';
import type { ConsoleUnderTest } from './helpers/console';
import { startConsoleWithSwitch } from './helpers/console-with-switch';
import type { ConsoleWithSwitch } from './helpers/console-with-switch';
import { PATIENCE_MS, until } from './helpers/patience';

const [ACME_MAIN] = TENANTS.acme;

let world: ConsoleWithSwitch;
let server: ConsoleUnderTest;

beforeAll(async () => {
  world = await startConsoleWithSwitch();
  server = world.server;
}, PATIENCE_MS);

afterAll(async () => {
  await world?.close();
});

const nameRules = () => server.db.prepare("SELECT kind, pattern, action, scope FROM rules WHERE kind IN ('name', 'name_word') ORDER BY id").all();

describe('caller-name rules in a real browser', () => {
  it('a manager blocks names starting with V9 and the word SPAM for acme; each is stored and listed', async () => {
    const page = await world.signedIn(MANAGER, '/names', 'Caller names');
    const form = page.getByRole('form', { name: 'Block a caller name' });
    await form.getByLabel('Caller name').fill('v9*');
    await form.getByRole('button', { name: 'Block' }).click();
    await form.getByText(/^Added rule #\d+ for company acme\.$/).waitFor();
    await form.getByLabel('Match').selectOption('nameWord');
    await form.getByLabel('Caller name').fill('spam');
    await form.getByRole('button', { name: 'Block' }).click();
    await until(() => nameRules().length === 2, 'both name rules stored');
    expect(nameRules()).toEqual([
      { kind: 'name', pattern: 'v9*', action: 'block', scope: 'tenant:acme' },
      { kind: 'name_word', pattern: 'spam', action: 'block', scope: 'tenant:acme' },
    ]);
    await page.getByRole('table').getByText('V9*').waitFor();
    await page.getByRole('table').getByText('SPAM').waitFor();
  });

  it('refuses a pattern that is only a wildcard beside its field, storing nothing', async () => {
    const page = await world.signedIn(MANAGER, '/names', 'Caller names');
    const form = page.getByRole('form', { name: 'Block a caller name' });
    await form.getByLabel('Caller name').fill('**');
    await form.getByRole('button', { name: 'Block' }).click();
    await form.getByRole('alert').filter({ hasText: /name/ }).first().waitFor();
    expect(nameRules()).toHaveLength(2);
  });

  it('calls whose number changes but whose name does not are rejected; another name rings', async () => {
    for (const [caller, name] of [['+12125550101', 'V9 Solutions'], ['+13125550102', 'v9   solutions'], ['+14155550103', 'Cheap SPAM Offers']] as const) {
      const { result, logged } = await world.call(caller, ACME_MAIN!, name);
      expect(result).toMatchObject({ outcome: 'hungup', hangupCause: 'CALL_REJECTED' });
      expect(logged.action).toBe('block');
      expect(logged.reasons.join(' ')).toMatch(/name/);
    }
    const { result, logged } = await world.call('+16175550104', ACME_MAIN!, 'Spamalot Theatre');
    expect(result.outcome).toBe('continued');
    expect(logged.action).toBe('allow');
  });

  it('a viewer sees the rules, with nothing to change', async () => {
    const page = await world.signedIn(VIEWER, '/names', 'Caller names');
    await page.getByRole('table').getByText('V9*').waitFor();
    expect(await page.getByRole('form', { name: 'Block a caller name' }).count()).toBe(0);
    expect(await page.locator('[data-write]').count()).toBe(0);
    expect(world.pageErrors).toEqual([]);
  });
});
