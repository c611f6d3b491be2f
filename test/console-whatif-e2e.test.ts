// The console's previews of a change before it is saved, and monitor mode, in a real headless
// Chromium: the add-rule form and the threshold slider say what the change would have done to
// the last 7 days' calls (the same replay as `callguard whatif`), the Companies page switches
// a company to monitor mode, and Activity shows a monitored call as "Would block". Every wait
// is on an element or a value, never on a clock.
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliActing } from '../agent/operations/acting';
import { sqliteBackends } from '../agent/operations/store-backends';
import { whatIf } from '../agent/operations/whatif';
import type { WhatIfInput } from '../agent/operations/whatif';
import { MANAGER, launchChromium, startConsole } from './helpers/console';
import type { ConsoleUnderTest } from './helpers/console';
import { PATIENCE_MS } from './helpers/patience';

const ACME_DID = '+14045550100';

let server: ConsoleUnderTest;
let chromium: Awaited<ReturnType<typeof launchChromium>>;
let context: BrowserContext;
const pageErrors: string[] = [];

beforeAll(async () => {
  server = await startConsole();
  chromium = await launchChromium();
  // Two days of acme's calls: callers from 678-555 let through, some of them answered.
  const now = Date.now();
  for (let i = 0; i < 30; i++) {
    server.logCall({ tenant: 'acme', did: ACME_DID, caller: `+1678555${1000 + (i % 10)}`, at: now - 3_600_000 - i * 5_000_000, action: 'allow', outcome: 'continued', score: 15 });
  }
  context = await chromium.browser.newContext({ viewport: { width: 1280, height: 800 }, baseURL: server.url });
  context.setDefaultTimeout(PATIENCE_MS);
}, PATIENCE_MS);

afterAll(async () => {
  await context?.close().catch(() => {});
  await chromium?.close();
  await server?.stop();
});

async function signedIn(path: string, heading: string): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(`${page.url()}: ${error.message}`));
  await page.goto(path);
  if (await page.getByRole('heading', { name: /console/ }).isVisible().catch(() => false)) {
    await page.getByLabel('Name', { exact: true }).fill(MANAGER.name);
    await page.getByLabel('Password', { exact: true }).fill(MANAGER.password);
    await page.getByRole('button', { name: /sign in/i }).click();
  }
  await page.getByRole('heading', { level: 1, name: heading }).waitFor();
  return page;
}

/** What the replay answers for `input`, asked of the store directly: the figures the page must show. */
const replayed = (input: WhatIfInput) => whatIf(sqliteBackends(server.db).as('test'), cliActing('test'), { since: '7d', ...input }, 'US');

describe('previews and monitor mode in a real browser', () => {
  it('the add-rule form says how many of the last 7 days calls the new rule would have stopped', async () => {
    const page = await signedIn('/blocked', 'Blocked numbers');
    const form = page.getByRole('form', { name: 'Block a number' });
    await form.getByLabel('Number, area code or wildcard', { exact: true }).fill('678-555*');
    const line = form.locator('[data-whatif="done"]');
    await line.waitFor();
    const report = await replayed({ tenant: 'acme', add: ['678-555*=block'] });
    expect(report.changed).toBe(30);
    expect(await line.textContent()).toBe(`Over the last 7 days this rule would have changed 30 of 30 calls, stopping or holding back 30 that went through; 30 of the calls it would stop had been let through before (30 answered).`);
    // A pattern no call matches: nothing changed, said so.
    await form.getByLabel('Number, area code or wildcard', { exact: true }).fill('212-999-0000');
    await expect.poll(() => form.locator('[data-whatif="done"]').textContent(), { timeout: PATIENCE_MS }).toBe('Over the last 7 days (30 calls) this rule would have changed no call.');
    // A bad pattern shows no preview and no error.
    await form.getByLabel('Number, area code or wildcard', { exact: true }).fill('not a number!');
    await form.locator('[data-whatif]').waitFor({ state: 'detached' });
    expect(await form.getByRole('alert').count()).toBe(0);
    expect(server.db.prepare('SELECT count(*) FROM rules').pluck().get()).toBe(0);
  });

  it('the threshold slider shows, before Save, what the new value would have done', async () => {
    const page = await signedIn('/protection', 'Robocall protection');
    const settings = page.locator('.card.protection');
    await settings.getByRole('switch', { name: 'Protection' }).check();
    await page.getByText('Protection is on.').waitFor();
    const slider = page.getByRole('slider', { name: 'Risk threshold' });
    await slider.focus();
    // Down to 15: the logged callers (score 15 when replayed) would now be challenged.
    for (let i = 0; i < 55; i++) await page.keyboard.press('ArrowLeft');
    await settings.locator('output').getByText('15', { exact: true }).waitFor();
    const line = settings.locator('[data-whatif="done"]');
    await line.waitFor();
    const report = await replayed({ tenant: 'acme', threshold: 15, flagThreshold: 0 });
    expect(report.changed).toBeGreaterThan(0);
    await expect.poll(() => line.textContent(), { timeout: PATIENCE_MS }).toContain(`Over the last 7 days (${report.calls} calls): ${report.changed} more stopped or challenged`);
    // Nothing was saved by asking.
    const stored = (await (await page.request.get('/v1/protection?tenant=acme')).json()) as { threshold: number };
    expect(stored.threshold).toBe(70);
  });

  it('a company switched to monitor mode, and a monitored call shown as Would block on Activity', async () => {
    const page = await signedIn('/companies', 'Companies');
    const monitor = page.getByRole('switch', { name: 'Monitor mode' });
    await monitor.check();
    await expect.poll(() => server.db.prepare("SELECT mode FROM tenants WHERE name = 'acme'").pluck().get(), { timeout: PATIENCE_MS }).toBe('monitor');
    await page.getByText('Calls are decided and logged, but let through').waitFor();
    server.logCall({ tenant: 'acme', did: ACME_DID, caller: '+14045550999', at: Date.now(), action: 'block', outcome: 'monitored' });
    await page.goto('/activity');
    const row = page.locator('tr').filter({ hasText: '+14045550999' });
    await row.getByText('Would block', { exact: true }).waitFor();
    await row.getByText('Let through (monitor mode)').waitFor();
    expect(pageErrors).toEqual([]);
  });
});
