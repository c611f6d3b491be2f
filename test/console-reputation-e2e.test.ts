// The reputation sources card of the Protection page in a real headless Chromium against the
// console server: an administrator adds two sources, asks the second one first, sees how the
// agent beside the console found each, is refused a bad URL beside its field with nothing
// stored, and removes one; a company's manager does not see the card (the sources serve every
// company). Every wait is on an element or a value, never on a clock.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SourceReport } from '../agent/screening/reputation-health';
import { ADMIN, MANAGER, VIEWER, launchChromium, startConsole } from './helpers/console';
import type { ConsoleUnderTest, ConsoleUser } from './helpers/console';
import { PATIENCE_MS, until } from './helpers/patience';

const SLOW: SourceReport = { name: 'slowrep', state: 'timing_out', detail: '5 of the last 10 lookups got no answer in time', lookups: { answer: 5, timeout: 5, error: 0 }, lastError: null, lastLatencyMs: null };

let server: ConsoleUnderTest;
let chromium: { browser: Browser; close(): Promise<void> };
const pageErrors: string[] = [];

beforeAll(async () => {
  // The agent beside the console has found slowrep timing out; it knows nothing of the other.
  server = await startConsole([MANAGER, VIEWER, ADMIN], () => [SLOW]);
  chromium = await launchChromium();
}, PATIENCE_MS);

afterAll(async () => {
  await chromium?.close();
  await server?.stop();
});

async function signedIn(user: ConsoleUser): Promise<Page> {
  const context = await chromium.browser.newContext({ viewport: { width: 1280, height: 900 }, baseURL: server.url });
  context.setDefaultTimeout(PATIENCE_MS);
  const page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(`${page.url()}: ${error.message}`));
  await page.goto('/protection');
  await page.getByLabel('Name', { exact: true }).fill(user.name);
  await page.getByLabel('Password', { exact: true }).fill(user.password);
  await page.getByRole('button', { name: /sign in/i }).click();
  await page.getByRole('heading', { level: 1, name: 'Robocall protection' }).waitFor();
  return page;
}

const stored = () => server.db.prepare('SELECT name, url, timeout_ms AS timeoutMs, weight FROM reputation_sources ORDER BY position').all();
const listedNames = (page: Page) => page.locator('.reputation-sources li strong').allTextContents();

describe('reputation sources in a real browser', () => {
  it('an administrator adds two sources, each stored as typed, and asks the second one first', async () => {
    const page = await signedIn(ADMIN);
    const card = page.getByRole('region', { name: 'Reputation sources' });
    await card.getByText(/No reputation sources/).waitFor();
    const form = card.getByRole('form', { name: 'Add a reputation source' });
    await form.getByLabel('Name').fill('nomorobo');
    await form.getByLabel('URL').fill('https://rep.example/v1/score?number={number}');
    await form.getByRole('button', { name: 'Add' }).click();
    await card.getByText('Added nomorobo: asked with the others for every caller protection scores.').waitFor();
    await form.getByLabel('Name').fill('slowrep');
    await form.getByLabel('URL').fill('https://slow.example/{number}');
    await form.getByLabel('Timeout (ms)').fill('80');
    await form.getByLabel('Weight').fill('0.25');
    await form.getByRole('button', { name: 'Add' }).click();
    await card.getByText(/^Added slowrep/).waitFor();
    expect(stored()).toEqual([
      { name: 'nomorobo', url: 'https://rep.example/v1/score?number={number}', timeoutMs: 200, weight: 0.5 },
      { name: 'slowrep', url: 'https://slow.example/{number}', timeoutMs: 80, weight: 0.25 },
    ]);
    await card.locator('li').nth(1).waitFor();
    expect(await listedNames(page)).toEqual(['nomorobo', 'slowrep']);

    await card.getByRole('button', { name: 'Ask slowrep earlier' }).click();
    await card.getByText('Moved slowrep to place 1.').waitFor();
    await until(() => (stored() as { name: string }[])[0]!.name === 'slowrep', 'slowrep stored first');
    await card.locator('li').first().getByText('slowrep', { exact: true }).waitFor();
    expect(await listedNames(page)).toEqual(['slowrep', 'nomorobo']);
    expect(await card.getByRole('button', { name: 'Ask slowrep earlier' }).isDisabled()).toBe(true);
  });

  it('shows how the agent found each source: slowrep timing out, nothing yet for the other', async () => {
    const page = await signedIn(ADMIN);
    const slow = page.locator('[data-source="slowrep"]');
    await slow.getByText('Timing out').waitFor();
    expect(await slow.locator('[title]').getAttribute('title')).toBe(SLOW.detail);
    await slow.getByText('80 ms, weight 0.25').waitFor();
    expect(await page.locator('[data-source="nomorobo"] .chip').count()).toBe(0);
  });

  it('refuses a URL without {number} beside its field, storing nothing; removes a source', async () => {
    const page = await signedIn(ADMIN);
    const card = page.getByRole('region', { name: 'Reputation sources' });
    const form = card.getByRole('form', { name: 'Add a reputation source' });
    await form.getByLabel('Name').fill('third');
    await form.getByLabel('URL').fill('https://rep.example/score');
    await form.getByRole('button', { name: 'Add' }).click();
    await form.getByRole('alert').filter({ hasText: /number/ }).first().waitFor();
    expect(stored()).toHaveLength(2);

    await card.getByRole('button', { name: 'Remove reputation source nomorobo' }).click();
    await card.getByText('Removed nomorobo.').waitFor();
    await until(() => stored().length === 1, 'nomorobo removed');
    await card.locator('[data-source="nomorobo"]').waitFor({ state: 'detached' });
    expect(await listedNames(page)).toEqual(['slowrep']);
  });

  it("a company's manager and viewer do not see the card: the sources serve every company", async () => {
    for (const user of [MANAGER, VIEWER]) {
      const page = await signedIn(user);
      await page.getByRole('heading', { name: 'Allow list' }).waitFor();
      expect(await page.getByRole('region', { name: 'Reputation sources' }).count()).toBe(0);
    }
    expect(pageErrors).toEqual([]);
  });
});
