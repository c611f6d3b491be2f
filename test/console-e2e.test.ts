// The web console in a real headless Chromium (Debian's, driven by playwright-core), against
// the console server on a loopback port: signing in with the keyboard, the call log and a
// caller's timeline, blocking from the timeline and seeing the rule where it wins, caller
// names full of HTML shown as text, the add-rule form's and the threshold slider's previews of
// what the change would have done to the last 7 days (the figures POST /v1/whatif answers), the
// protection page's threshold with its Unsaved changes banner, the allow list and carrier cards, CSV import that names the bad line and adds
// nothing, a viewer with no write controls whose forged writes are refused, and a phone-wide
// screen. Every wait is on an event (an element, a value, a response), never on a clock.
// Each page is photographed at 1280×800 into agent/console/screenshots/, and its first paint
// (Performance API) is printed at the end.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RuleStore } from '../agent/store/rules';
import { packageRoot } from '../agent/store/package-root';
import { ADMIN, MANAGER, VIEWER, launchChromium, startConsole } from './helpers/console';
import type { ConsoleUnderTest, ConsoleUser } from './helpers/console';
import { PATIENCE_MS } from './helpers/patience';

const SHOTS = join(packageRoot(), 'agent/console/screenshots');
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const ACME_DID = '+14045550100';
const XSS_CALLER = '+12125550001';
const XSS_NAME = '<script>window.__pwned=1</script>';
const IMG_NAME = '<img src=x onerror="window.__pwned=2">';

/**
 * What the functions run inside the page use of it: this file compiles for Node, without the
 * DOM library, so each such function starts with `const w = globalThis as unknown as InPage`.
 */
interface InPage {
  readonly document: {
    readonly activeElement: { readonly textContent: string | null; getAttribute(name: string): string | null; blur(): void } | null;
    readonly fonts: { readonly ready: Promise<unknown> };
    readonly documentElement: { readonly scrollWidth: number };
    querySelectorAll(selector: string): { readonly length: number };
  };
  readonly innerWidth: number;
  scrollTo(x: number, y: number): void;
  readonly __pwned?: number;
  readonly performance: { now(): number };
  readonly PerformanceObserver: new (
    callback: (list: { getEntries(): { name: string; startTime: number }[] }, observer: { disconnect(): void }) => void,
  ) => { observe(options: { type: string; buffered: boolean }): void };
  getComputedStyle(element: unknown): { readonly outlineStyle: string };
  fetch: typeof fetch;
}

let server: ConsoleUnderTest;
let chromium: Awaited<ReturnType<typeof launchChromium>>;
let served: Set<string>;
const contexts: BrowserContext[] = [];
const pageErrors: string[] = [];
const paints: { page: string; firstPaint: number | null; firstContentfulPaint: number | null; headingShown: number }[] = [];

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  server = await startConsole();
  chromium = await launchChromium();
  const document = (await (await fetch(`${server.url}/v1/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
  served = new Set(Object.entries(document.paths).flatMap(([path, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`)));
  // A day of traffic for acme, so the impact cards and the chart have something to show.
  const now = Date.now();
  const kinds = [
    { action: 'allow', outcome: 'continued', score: 12 },
    { action: 'allow', outcome: 'continued', score: 55, flagged: true },
    { action: 'block', outcome: 'rejected', score: 91 },
    { action: 'challenge', outcome: 'passed', score: 74 },
    { action: 'challenge', outcome: 'failed', score: 88 },
  ];
  for (let i = 0; i < 60; i++) {
    const kind = kinds[i % kinds.length]!;
    server.logCall({ tenant: 'acme', did: ACME_DID, caller: `+1678555${String(1000 + i)}`, name: `Caller ${i}`, at: now - 3_600_000 - i * 1_100_000, ...kind });
  }
  server.logCall({ tenant: 'globex', did: '+13125550100', caller: '+17735550123', name: 'Globex caller', at: now - 60_000, action: 'allow', outcome: 'continued' });
});

afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => {});
  await chromium?.close();
  await server?.stop();
  if (paints.length > 0) {
    console.log('first paint on loopback (ms after navigation start):');
    console.table(paints);
  }
});

async function newContext(viewport = DESKTOP, storageState?: Awaited<ReturnType<BrowserContext['storageState']>>): Promise<BrowserContext> {
  const context = await chromium.browser.newContext({ viewport, baseURL: server.url, ...(storageState ? { storageState } : {}) });
  context.setDefaultTimeout(PATIENCE_MS);
  contexts.push(context);
  return context;
}

async function newPage(context: BrowserContext): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(`${page.url()}: ${error.message}`));
  return page;
}

/** Each user's signed-in browser context: sign-in is limited to 5 attempts a minute per name, so pages share it. */
const signedIn = new Map<string, BrowserContext>();

/** Signs in through the form, typing as a person does: name, Tab, password, Enter. */
async function typeSignIn(page: Page, user: ConsoleUser): Promise<void> {
  await page.getByRole('heading', { name: /console/ }).waitFor();
  await page.waitForFunction(() => (globalThis as unknown as InPage).document.activeElement?.getAttribute('name') === 'name');
  await page.keyboard.type(user.name);
  await page.keyboard.press('Tab');
  await page.keyboard.type(user.password);
  await page.keyboard.press('Enter');
  await page.locator('nav[aria-label="Pages"]').waitFor();
}

/**
 * A page of `user`'s at `path`: in their signed-in context (made by signing in the first
 * time, or always with `fresh`: a new browser profile); at phone width, a context with
 * the same cookie.
 */
async function signIn(user: ConsoleUser, viewport = DESKTOP, path = '/activity', fresh = false): Promise<Page> {
  const known = fresh ? undefined : signedIn.get(user.name);
  if (known && viewport === DESKTOP) {
    const page = await newPage(known);
    await page.goto(path);
    await page.locator('nav[aria-label="Pages"]').waitFor();
    return page;
  }
  if (known) {
    const context = await newContext(viewport, await known.storageState());
    const page = await newPage(context);
    await page.goto(path);
    await page.locator('nav[aria-label="Pages"]').waitFor();
    return page;
  }
  const context = await newContext(viewport);
  const page = await newPage(context);
  await page.goto(path);
  await typeSignIn(page, user);
  if (!fresh) signedIn.set(user.name, context);
  return page;
}

/** Opens `path` afresh (a full load) and records its first paint from the Performance API. */
async function open(page: Page, path: string, heading: string | RegExp, name = path): Promise<void> {
  await page.goto(path);
  await page.getByRole('heading', { level: 1, name: heading }).waitFor();
  await measurePaint(page, name);
}

/** The page's first paint and first contentful paint (Performance API), and when its heading was seen. */
async function measurePaint(page: Page, name: string): Promise<void> {
  const figures = await page.evaluate(
    () =>
      new Promise<{ firstPaint: number | null; firstContentfulPaint: number | null; headingShown: number }>((resolve) => {
        const w = globalThis as unknown as InPage;
        const headingShown = w.performance.now();
        new w.PerformanceObserver((list, observer) => {
          const entries = list.getEntries();
          const fcp = entries.find((entry) => entry.name === 'first-contentful-paint');
          if (!fcp) return;
          observer.disconnect();
          resolve({ firstPaint: entries.find((entry) => entry.name === 'first-paint')?.startTime ?? null, firstContentfulPaint: fcp.startTime, headingShown });
        }).observe({ type: 'paint', buffered: true });
      }),
  );
  paints.push({ page: name, firstPaint: round(figures.firstPaint), firstContentfulPaint: round(figures.firstContentfulPaint), headingShown: round(figures.headingShown)! });
}

const round = (ms: number | null) => (ms === null ? null : Math.round(ms * 10) / 10);

/** A 1280×800 picture of the page: from its top, or from `from` when given. */
async function shot(page: Page, name: string, from?: Locator): Promise<void> {
  await page.evaluate(() => (globalThis as unknown as InPage).document.fonts.ready);
  if (from) await from.evaluate((element) => (element as unknown as { scrollIntoView(options: object): void }).scrollIntoView({ block: 'start' }));
  else await page.evaluate(() => (globalThis as unknown as InPage).scrollTo(0, 0));
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
}

/** A link of the page navigation. */
const nav = (page: Page, name: string) => page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name, exact: true });

const ruleKeys = () => [...new RuleStore(server.db, 'test').iterate()].map((rule) => `${rule.scope} ${rule.key} ${rule.action}`);

/** POST /v1/whatif's answer, as much of it as the previews show. */
interface WhatIfReport {
  readonly calls: number;
  readonly changed: number;
  readonly transitions: readonly { readonly before: string; readonly after: string; readonly calls: number }[];
  readonly atRisk: { readonly calls: number; readonly answered: number; readonly passedChallenge: number; readonly allowedByRule: number };
}

/** Marks the test's own questions to POST /v1/whatif, which `whatIfAsked` leaves out. */
const TEST_ASKS = 'x-test-asks';

/** Every body the page's previews send POST /v1/whatif, in order. */
function whatIfAsked(page: Page): Record<string, unknown>[] {
  const asked: Record<string, unknown>[] = [];
  page.on('request', (request) => {
    if (request.method() !== 'POST' || new URL(request.url()).pathname !== '/v1/whatif' || request.headers()[TEST_ASKS]) return;
    asked.push(request.postDataJSON() as Record<string, unknown>);
  });
  return asked;
}

/** What the API answers `body`, asked from the page's own session (CSRF token and all), as the console asks it. */
async function askWhatIf(page: Page, body: Record<string, unknown>): Promise<WhatIfReport> {
  const answer = await page.evaluate(
    async ([sent, mark]) => {
      const w = globalThis as unknown as InPage;
      const me = (await (await w.fetch('/v1/me')).json()) as { csrfToken: string };
      const response = await w.fetch('/v1/whatif', { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': me.csrfToken, [mark]: '1' }, body: JSON.stringify(sent) });
      return { status: response.status, body: (await response.json()) as unknown };
    },
    [body, TEST_ASKS] as const,
  );
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answer.body as WhatIfReport;
}

const THROUGH = new Set(['allow', 'flag']);
/** Calls of the report's transitions that go from one kind of verdict to another. */
const moved = (report: WhatIfReport, from: (verdict: string) => boolean, to: (verdict: string) => boolean) =>
  report.transitions.filter((transition) => from(transition.before) && to(transition.after)).reduce((sum, transition) => sum + transition.calls, 0);
const held = (verdict: string) => !THROUGH.has(verdict);
const through = (verdict: string) => THROUGH.has(verdict);
const flagged = (verdict: string) => verdict === 'flag';
const unflagged = (verdict: string) => verdict !== 'flag';

/** The previews' last words: the calls the change would newly stop that had been let through, and why that matters. */
function atRiskSentence(report: WhatIfReport): string {
  const { calls, answered, passedChallenge, allowedByRule } = report.atRisk;
  if (calls === 0) return 'none of them had been answered or passed a challenge';
  const parts = [answered && `${answered} answered`, passedChallenge && `${passedChallenge} passed a challenge`, allowedByRule && `${allowedByRule} allowed by a rule`].filter(Boolean);
  return `${calls} of the calls it would stop had been let through before (${parts.join(', ')})`;
}
const not = (what: string) => `${what} is not available on this agent yet`;

describe('the web console in a real browser', () => {
  it('signs in with the keyboard, then lists logged calls on Activity newest first, with filters', async () => {
    const context = await newContext();
    const page = await newPage(context);
    await page.goto('/blocked');
    // Signed out: the page asked for sends to sign-in, and back after it.
    await page.getByRole('heading', { name: /console/ }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/signin');
    await page.waitForFunction(() => (globalThis as unknown as InPage).document.activeElement?.getAttribute('name') === 'name');
    await measurePaint(page, '/signin');
    await shot(page, 'signin');
    await page.keyboard.type(MANAGER.name);
    await page.keyboard.press('Tab');
    await page.keyboard.type('not the password');
    await page.keyboard.press('Enter');
    await page.getByRole('alert').filter({ hasText: 'Wrong name or password.' }).waitFor();
    await page.getByLabel('Password', { exact: true }).fill(MANAGER.password);
    await page.getByLabel('Password', { exact: true }).press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Blocked numbers' }).waitFor();
    signedIn.set(MANAGER.name, context);

    server.logCall({ tenant: 'acme', did: ACME_DID, caller: '+16785550999', name: 'Older caller', at: Date.now() - 2000, action: 'allow', outcome: 'continued' });
    server.logCall({ tenant: 'acme', did: '+14045550101', caller: XSS_CALLER, name: XSS_NAME, pbx: 'fs-west', at: Date.now() - 1000, action: 'allow', outcome: 'continued', reasons: ['Step 1: no rule matched', 'Step 4: risk score 20 below 70: allowed'] });
    server.logCall({ tenant: 'acme', did: ACME_DID, caller: XSS_CALLER, name: IMG_NAME, action: 'allow', outcome: 'continued', kind: 'sms' });
    await nav(page, 'Activity').click();
    await page.getByRole('heading', { level: 1, name: 'Activity' }).waitFor();
    const callers = page.locator('table.calls tbody tr .caller-number');
    await callers.first().waitFor();
    expect((await callers.allTextContents()).slice(0, 3)).toEqual([XSS_CALLER, XSS_CALLER, '+16785550999']);
    // Which switch each call came through.
    expect(await page.locator('table.calls tbody tr').nth(1).locator('td[data-label="When"]').getByText('via fs-west', { exact: true }).count()).toBe(1);
    expect(await page.locator('table.calls tbody tr').nth(2).locator('td[data-label="When"]').getByText('via freeswitch', { exact: true }).count()).toBe(1);
    // Only acme's calls: the manager of acme never sees globex's.
    expect(await page.getByText('+17735550123').count()).toBe(0);
    expect(await page.locator('table.calls tbody tr').count()).toBe(50);

    // Older → the next page by the cursor, ← Newer back.
    await page.getByRole('button', { name: 'Older →' }).click();
    await page.getByText('Page 2').waitFor();
    await page.getByRole('button', { name: '← Newer' }).click();
    await page.getByText('Page 1').waitFor();

    // Filters: caller, then DID and action; a bad number is named beside its field.
    await page.getByLabel('Caller', { exact: true }).fill('212-555-0001');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(() => callers.allTextContents(), { timeout: PATIENCE_MS }).toEqual([XSS_CALLER, XSS_CALLER]);
    await page.getByLabel('DID', { exact: true }).selectOption('+14045550101');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(() => page.locator('table.calls tbody tr').count(), { timeout: PATIENCE_MS }).toBe(1);
    await page.getByRole('link', { name: 'Clear' }).click();
    await page.getByLabel('Action', { exact: true }).selectOption('block');
    await page.getByLabel('Time', { exact: true }).selectOption('24h');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(async () => new Set(await page.locator('table.calls tbody td[data-label="Decision"] .chip').allTextContents()), { timeout: PATIENCE_MS }).toEqual(new Set(['Block']));
    await page.getByRole('link', { name: 'Clear' }).click();
    await page.getByLabel('Caller', { exact: true }).fill('not a number');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.locator('.field.invalid').filter({ hasText: 'Caller' }).getByRole('alert').waitFor();
    expect(pageErrors).toEqual([]);
  });

  it('shows a caller name full of HTML as text on Activity and the timeline, and runs none of it', async () => {
    const page = await signIn(MANAGER);
    await open(page, '/activity', 'Activity');
    await page.getByText(XSS_NAME, { exact: true }).first().waitFor();
    await page.getByText(IMG_NAME, { exact: true }).first().waitFor();
    await shot(page, 'activity');
    await page.getByRole('link', { name: `Timeline of ${XSS_CALLER}` }).first().click();
    await page.getByRole('heading', { level: 1, name: `Timeline of ${XSS_CALLER}` }).waitFor();
    await page.locator('.event .caller-name').filter({ hasText: XSS_NAME }).waitFor();
    await page.locator('.event .caller-name').filter({ hasText: IMG_NAME }).waitFor();
    const injected = await page.evaluate(() => {
      const w = globalThis as unknown as InPage;
      return { pwned: w.__pwned ?? null, scripts: w.document.querySelectorAll('script').length, images: w.document.querySelectorAll('img').length };
    });
    expect(injected).toEqual({ pwned: null, scripts: 1, images: 0 });
    expect(pageErrors).toEqual([]);
  });

  it('blocks a caller from their timeline, the rule then wins for them, and it is on Blocked numbers', async () => {
    const page = await signIn(MANAGER);
    await open(page, `/timeline/${encodeURIComponent(XSS_CALLER)}`, `Timeline of ${XSS_CALLER}`, '/timeline/:caller');
    // Every call and text from the number, with its decision, reasons and outcome.
    await expect.poll(() => page.locator('.timeline > li').count(), { timeout: PATIENCE_MS }).toBe(2);
    await page.locator('.timeline > li').first().getByText('Text', { exact: true }).waitFor();
    await page.locator('.timeline > li').nth(1).getByText('via fs-west', { exact: true }).waitFor();
    await page.locator('.timeline > li').nth(1).getByText('Why (2 steps)').click();
    await page.getByText('Step 4: risk score 20 below 70: allowed').waitFor();
    await page.locator('.block-panel').getByText('(no rule for this number)').waitFor();
    await shot(page, 'timeline');

    await page.getByLabel('Action', { exact: true }).selectOption('challenge');
    await page.getByRole('button', { name: 'Block number' }).click();
    await page.locator('.block-panel').getByText(/Calls from \+12125550001 to \+14045550100 now: Challenge by rule #\d+ \(Company acme\)/).waitFor();
    expect(ruleKeys()).toContain(`tenant:acme ${XSS_CALLER} challenge`);
    // Unblock removes the rule that stops them; Block again, as a block this time.
    await page.getByRole('button', { name: 'Unblock' }).click();
    await page.locator('.block-panel').getByText('(no rule for this number)').waitFor();
    expect(ruleKeys()).not.toContain(`tenant:acme ${XSS_CALLER} challenge`);
    await page.getByLabel('Action', { exact: true }).selectOption('block');
    await page.getByRole('button', { name: 'Block number' }).click();
    await page.locator('.block-panel').getByText(/now: Block by rule #\d+/).waitFor();
    expect(ruleKeys()).toContain(`tenant:acme ${XSS_CALLER} block`);
    // "Every company I can manage": alice manages acme only, so that is acme again, where a rule
    // for the same number and scope is replaced, not doubled.
    await page.getByLabel('Block in every company I can manage', { exact: true }).check();
    await page.getByLabel('Action', { exact: true }).selectOption('busy');
    await page.getByRole('button', { name: 'Block number' }).click();
    await page.getByText(/Busy signal: rule #\d+ for company acme\./).waitFor();
    await page.locator('.block-panel').getByText(/now: Busy signal by rule #\d+/).waitFor();

    await nav(page, 'Blocked numbers').click();
    await page.getByRole('heading', { level: 1, name: 'Blocked numbers' }).waitFor();
    const rows = page.locator('table.rules tbody tr[data-rule]');
    await expect.poll(() => rows.locator('.pattern').allTextContents(), { timeout: PATIENCE_MS }).toEqual([XSS_CALLER]);
    expect(await rows.locator('td[data-label="Action"] .chip:first-child').allTextContents()).toEqual(['Busy signal']);
    expect(await rows.locator('td[data-label="Applies to"]').allTextContents()).toEqual(['Company acme']);
    expect(ruleKeys().filter((key) => key.includes(XSS_CALLER))).toEqual([`tenant:acme ${XSS_CALLER} busy`]);
  });

  it('adds numbers, area codes and wildcards on Blocked numbers, lists them in winning order, explains, edits and deletes', async () => {
    const page = await signIn(MANAGER);
    await open(page, '/blocked', 'Blocked numbers');
    const form = page.getByRole('form', { name: 'Block a number' });
    // A bad pattern in a comma list: refused beside the field, and nothing added.
    const before = ruleKeys();
    await form.getByLabel('Number, area code or wildcard', { exact: true }).fill('404-555, not a number!');
    await form.getByRole('button', { name: 'Block' }).click();
    await form.locator('.field.invalid').filter({ hasText: 'Number, area code or wildcard' }).getByRole('alert').waitFor();
    expect(ruleKeys()).toEqual(before);
    await form.getByLabel('Expires', { exact: true }).fill('soonish');
    await form.getByLabel('Number, area code or wildcard', { exact: true }).fill('404-555');
    await form.getByRole('button', { name: 'Block' }).click();
    await form.locator('.field.invalid').filter({ hasText: 'Expires' }).getByRole('alert').waitFor();
    await form.getByLabel('Expires', { exact: true }).fill('30d');
    await form.getByLabel('Number, area code or wildcard', { exact: true }).fill('404-555, 312*, 404');
    await form.getByLabel('Note', { exact: true }).fill('neighbour spoofing wave');
    await form.getByLabel('List', { exact: true }).fill('spam-wave');
    await form.getByRole('button', { name: 'Block' }).click();
    await form.getByText('Added 3 rules for company acme.').waitFor();
    const patterns = page.locator('table.rules tbody tr[data-rule] .pattern');
    // Winning order: exact numbers first (newest first), then the longer prefix before the shorter,
    // and among prefixes as long (no call matches both) the newest first.
    await expect.poll(() => patterns.allTextContents(), { timeout: PATIENCE_MS }).toEqual([XSS_CALLER, '404-555', '404', '312*']);
    await shot(page, 'blocked');
    await shot(page, 'blocked-rules', page.getByRole('heading', { name: 'Rules in the order they win' }));

    // Which rule wins for a number typed in.
    const which = page.getByRole('form', { name: 'Which rule wins' });
    await which.getByLabel('Calling number', { exact: true }).fill('404-555-7777');
    await which.getByRole('button', { name: 'Check' }).click();
    await which.getByRole('status').filter({ hasText: /Block by rule #\d+ \(Company acme\)/ }).waitFor();

    // Edit from the row menu (PATCH /v1/rules/{id}).
    const row = page.locator('table.rules tbody tr[data-rule]').filter({ hasText: '312*' });
    await row.getByRole('button', { name: 'Actions for 312*' }).click();
    await page.getByRole('menuitem', { name: 'Edit' }).click();
    const edit = page.getByRole('form', { name: 'Edit rule 312*' });
    await edit.getByLabel('Action', { exact: true }).selectOption('voicemail');
    await edit.getByRole('button', { name: 'Save rule' }).click();
    if (served.has('PATCH /v1/rules/{id}')) {
      await row.getByText('Voicemail').waitFor();
      expect(ruleKeys()).toContain('tenant:acme +1312 voicemail');
    } else {
      await edit.getByText(not('Editing')).waitFor();
      await edit.getByRole('button', { name: 'Cancel' }).click();
    }

    // Unblock from the row menu, with the keyboard.
    const area = page.locator('table.rules tbody tr[data-rule]').filter({ has: page.locator('.pattern', { hasText: /^404$/ }) });
    await area.getByRole('button', { name: 'Actions for 404' }).focus();
    await page.keyboard.press('Enter');
    // The open menu takes the focus: its first item, then the next with the arrow key.
    const focusedItem = (name: string) => page.waitForFunction((text) => (globalThis as unknown as InPage).document.activeElement?.textContent === text, name);
    await focusedItem('Edit');
    await page.keyboard.press('ArrowDown');
    await focusedItem('Unblock');
    await page.keyboard.press('Enter');
    await page.getByText(/Removed rule #\d+ \(404\)\./).waitFor();
    expect(ruleKeys()).not.toContain('tenant:acme +1404 block');
    await expect.poll(() => patterns.allTextContents(), { timeout: PATIENCE_MS }).toEqual([XSS_CALLER, '404-555', '312*']);

    // Bulk: select two, confirm, gone together.
    await page.getByLabel('Select rule 404-555', { exact: true }).check();
    await page.getByLabel('Select rule 312*', { exact: true }).check();
    await page.getByRole('button', { name: 'Delete selected (2)' }).click();
    await page.getByRole('button', { name: 'Yes, delete' }).click();
    await page.getByText('Removed 2 rules.').waitFor();
    await expect.poll(() => patterns.allTextContents(), { timeout: PATIENCE_MS }).toEqual([XSS_CALLER]);
    expect(pageErrors).toEqual([]);
  });

  it('a company with more rules than a page shows the first hundred in winning order and brings more on demand', async () => {
    const numbers = Array.from({ length: 230 }, (_, i) => `+1646555${String(2000 + i)}`);
    const store = new RuleStore(server.db, 'test');
    const ids = store.add(numbers.map((number) => ({ kind: 'number' as const, key: number, pattern: number, exact: true, span: null, scope: 'global', action: 'block' as const, target: null, sms: false, note: null, list: null, expiresAt: null })));
    try {
      // Alice manages acme: the global numbers apply to her company's calls too.
      const page = await signIn(MANAGER, DESKTOP, '/blocked');
      await page.getByRole('heading', { level: 1, name: 'Blocked numbers' }).waitFor();
      const rows = page.locator('table.rules tbody tr[data-rule]');
      await expect.poll(() => rows.count(), { timeout: PATIENCE_MS }).toBe(100);
      await page.getByText(/^The first 100 rules$/).waitFor();
      await page.getByRole('button', { name: 'Show 100 more' }).click();
      await expect.poll(() => rows.count(), { timeout: PATIENCE_MS }).toBe(200);
      // To the end of the list: every rule once, the caption counting them all.
      const more = page.getByRole('button', { name: 'Show 100 more' });
      while ((await rows.count()) % 100 === 0 && (await more.count()) > 0) {
        const before = await rows.count();
        await more.click();
        await expect.poll(() => rows.count(), { timeout: PATIENCE_MS }).toBeGreaterThan(before);
      }
      const shown = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-rule')));
      expect(shown.length).toBeGreaterThanOrEqual(numbers.length);
      expect(new Set(shown).size).toBe(shown.length);
      for (const id of ids) expect(shown).toContain(String(id));
      await page.getByText(new RegExp(`^${shown.length} rules$`)).waitFor();
      expect(await more.count()).toBe(0);
    } finally {
      store.removeIds(ids);
    }
  });

  it('sets a caller category per company, with the global fallback shown', async () => {
    // Ada sees three companies and has picked none yet: sign-in leads to the company picker.
    const admin = await signIn(ADMIN, DESKTOP, '/');
    await admin.getByRole('heading', { level: 1, name: 'Companies' }).waitFor();
    await admin.getByRole('button', { name: /^All companies/ }).click();
    await admin.getByRole('heading', { level: 1, name: 'Activity' }).waitFor();
    // Every company picked: she sets the global policy, the fallback of every company.
    await nav(admin, 'Blocked numbers').click();
    await admin.getByRole('heading', { level: 1, name: 'Blocked numbers' }).waitFor();
    const globalRow = admin.locator('tr[data-category="toll_free"]');
    await globalRow.getByLabel('Challenge', { exact: true }).check();
    await admin.getByText('Toll-free: Challenge.').waitFor();

    const page = await signIn(MANAGER, DESKTOP, '/blocked');
    await page.getByRole('heading', { level: 1, name: 'Blocked numbers' }).waitFor();
    const row = page.locator('tr[data-category="toll_free"]');
    await row.locator('td[data-label="Global fallback"]').getByText('Challenge').waitFor();
    expect(await row.getByLabel('Global', { exact: true }).isChecked()).toBe(true);
    await row.getByLabel('Block', { exact: true }).check();
    await page.getByText('Toll-free: Block.').waitFor();
    await shot(page, 'blocked-categories', page.getByRole('heading', { name: 'Caller categories' }));
    const categories = (await (await page.request.get('/v1/categories?tenant=acme')).json()) as { categories: { category: string; own: { action: string } | null; global: { action: string } | null }[] };
    expect(categories.categories.find((view) => view.category === 'toll_free')).toMatchObject({ own: { action: 'block' }, global: { action: 'challenge' } });
  });

  it('blocks addresses, shows the attempts each rule stopped, and deletes in bulk', async () => {
    const page = await signIn(MANAGER);
    await open(page, '/addresses', 'Addresses');
    const form = page.getByRole('form', { name: 'Block an address' });
    await form.getByLabel('IP address, CIDR range or SIP address', { exact: true }).fill('203.0.113.0/24, sip:robo@dialer.example');
    await form.getByRole('button', { name: 'Block' }).click();
    await form.getByText('Added 2 rules for company acme.').waitFor();
    const rangeRule = [...new RuleStore(server.db, 'test').iterate()].find((rule) => rule.key === 'ip4:203.0.113.0/24')!;
    server.logCall({ tenant: 'acme', did: ACME_DID, caller: '+19195550142', name: 'Dialer', ip: '203.0.113.9', action: 'block', outcome: 'rejected', ruleId: rangeRule.id });
    const row = page.locator('table.rules tbody tr[data-rule]').filter({ hasText: '203.0.113.0/24' });
    await row.getByRole('button', { name: 'View entries' }).click();
    await row.getByText('from 203.0.113.9 to +14045550100').waitFor();
    await shot(page, 'addresses');
    await row.getByRole('link', { name: 'Open in Activity' }).click();
    await page.getByText(`Showing what rule #${rangeRule.id} stopped.`).waitFor();
    await expect.poll(() => page.locator('table.calls tbody .caller-number').allTextContents(), { timeout: PATIENCE_MS }).toEqual(['+19195550142']);

    await nav(page, 'Addresses').click();
    await page.getByLabel('Select all', { exact: true }).check();
    await page.getByRole('button', { name: 'Delete selected (2)' }).click();
    await page.getByRole('button', { name: 'Yes, delete' }).click();
    await page.getByText('No address rules yet.').waitFor();
    expect(ruleKeys().filter((key) => / (ip4:|sip:)/.test(key))).toEqual([]);
  });

  it('the add-rule form says, as a pattern is typed and an action picked, what the rule would have done to the last 7 days', async () => {
    const page = await signIn(MANAGER);
    const asked = whatIfAsked(page);
    await open(page, '/blocked', 'Blocked numbers');
    const form = page.getByRole('form', { name: 'Block a number' });
    const pattern = form.getByLabel('Number, area code or wildcard', { exact: true });
    const line = form.locator('[data-whatif="done"]');
    const rulesBefore = ruleKeys();
    const sentence = (report: WhatIfReport) => {
      const more = moved(report, through, held);
      return `Over the last 7 days this rule would have changed ${report.changed} of ${report.calls} calls${more ? `, stopping or holding back ${more} that went through` : ''}; ${atRiskSentence(report)}.`;
    };

    // acme's logged callers are 678-555-1000 to 678-555-1059 and 678-555-0999: a block of 678-555-10* stops those of them let through.
    await pattern.fill('678-555-10*');
    await expect.poll(() => asked.at(-1), { timeout: PATIENCE_MS }).toEqual({ since: '7d', tenant: 'acme', add: ['678-555-10*=block'] });
    const block = await askWhatIf(page, { since: '7d', tenant: 'acme', add: ['678-555-10*=block'] });
    expect(block.changed).toBeGreaterThan(0);
    expect(block.atRisk.calls).toBeGreaterThan(0);
    await expect.poll(() => line.textContent(), { timeout: PATIENCE_MS }).toBe(sentence(block));

    // Another action: the figures follow it. A challenge stops no one outright, so no call is at risk.
    await form.getByLabel('Action', { exact: true }).selectOption('challenge');
    await expect.poll(() => asked.at(-1), { timeout: PATIENCE_MS }).toEqual({ since: '7d', tenant: 'acme', add: ['678-555-10*=challenge'] });
    const challenge = await askWhatIf(page, { since: '7d', tenant: 'acme', add: ['678-555-10*=challenge'] });
    expect(challenge.changed).toBeGreaterThan(0);
    expect(challenge.atRisk.calls).toBe(0);
    await expect.poll(() => line.textContent(), { timeout: PATIENCE_MS }).toBe(sentence(challenge));

    // A bad pattern: no figures and no error banner, and the Block button still there to say what is wrong.
    await pattern.fill('678-555, not a number!');
    await expect.poll(() => asked.at(-1), { timeout: PATIENCE_MS }).toEqual({ since: '7d', tenant: 'acme', add: ['678-555, not a number!=challenge'] });
    await form.locator('[data-whatif]').waitFor({ state: 'detached' });
    expect(await form.getByRole('alert').count()).toBe(0);
    expect(await form.getByRole('button', { name: 'Block' }).isEnabled()).toBe(true);
    // Asking added nothing.
    expect(ruleKeys()).toEqual(rulesBefore);
    expect(pageErrors).toEqual([]);
  });

  it('the threshold slider says, before Save, what the new value would have done to the last 7 days; with protection off, as if turned on', async () => {
    const page = await signIn(MANAGER);
    const asked = whatIfAsked(page);
    await open(page, '/protection', 'Robocall protection');
    const settings = page.locator('.card.protection');
    await settings.getByText('Disabled', { exact: true }).waitFor();
    await settings.getByText(/Protection is off: the threshold is kept for when it is turned on/).waitFor();
    const slider = page.getByRole('slider', { name: 'Risk threshold' });
    expect(await slider.inputValue()).toBe('70');
    expect(await settings.locator('[data-whatif]').count()).toBe(0);
    // Dragged down from 70 to 15 (the flag threshold follows, 20 below: 0): asked once it settles, about the value it
    // settled on. Replayed, acme's logged calls score 15: all would now be stopped, those answered or passed at risk.
    await slider.focus();
    for (let i = 0; i < 55; i++) await page.keyboard.press('ArrowLeft');
    await settings.locator('output').getByText('15', { exact: true }).waitFor();
    const line = settings.locator('[data-whatif="done"]');
    const input = { since: '7d', tenant: 'acme', protection: 'on', threshold: 15, flagThreshold: 0 };
    await expect.poll(() => asked.at(-1), { timeout: PATIENCE_MS }).toEqual(input);
    // Debounced: fifty-five steps, not fifty-five questions.
    expect(asked.length).toBeLessThan(55);
    const report = await askWhatIf(page, input);
    const parts = [
      [moved(report, through, held), 'more stopped or challenged'],
      [moved(report, held, through), 'fewer stopped or challenged'],
      [moved(report, unflagged, flagged), 'more flagged'],
      [moved(report, flagged, unflagged), 'fewer flagged'],
    ] as const;
    expect(parts[0][0]).toBeGreaterThan(0);
    expect(report.atRisk.answered).toBeGreaterThan(0);
    expect(report.atRisk.passedChallenge).toBeGreaterThan(0);
    const words = parts.filter(([calls]) => calls > 0).map(([calls, what]) => `${calls} ${what}`).join(', ');
    await expect.poll(() => line.textContent(), { timeout: PATIENCE_MS }).toBe(`With protection turned on (it is off now), over the last 7 days (${report.calls} calls): ${words}; ${atRiskSentence(report)}.`);
    // Save is not held back by the preview; nothing was saved by asking.
    expect(await settings.getByRole('button', { name: 'Save' }).isEnabled()).toBe(true);
    expect(await (await page.request.get('/v1/protection?tenant=acme')).json()).toMatchObject({ enabled: false, threshold: 70, flagThreshold: 50 });
    expect(server.db.prepare('SELECT count(*) FROM protection').pluck().get()).toBe(0);
    // Back where it was saved: nothing to preview.
    for (let i = 0; i < 55; i++) await page.keyboard.press('ArrowRight');
    await settings.locator('output').getByText('70', { exact: true }).waitFor();
    await settings.locator('[data-whatif]').waitFor({ state: 'detached' });
    await page.getByText('Unsaved changes').waitFor({ state: 'detached' });
    expect(pageErrors).toEqual([]);
  });

  it('robocall protection: the toggle, the threshold slider with its Unsaved changes banner kept after a reload, carriers, allow list, impact and chart', async () => {
    const page = await signIn(MANAGER);
    await open(page, '/protection', 'Robocall protection');
    const settings = page.locator('.card.protection');
    await settings.getByText('Disabled', { exact: true }).waitFor();
    // Off, the threshold is shown for trying (its preview is the test above), and kept for when protection is on.
    await settings.getByText(/Protection is off: the threshold is kept for when it is turned on/).waitFor();
    await settings.getByRole('switch', { name: 'Protection' }).check();
    await page.getByText('Protection is on.').waitFor();
    await page.locator('.page-head').getByText('Active', { exact: true }).waitFor();
    await settings.getByText('Active', { exact: true }).waitFor();
    await settings.getByText(/Protection is off/).waitFor({ state: 'detached' });
    const slider = page.getByRole('slider', { name: 'Risk threshold' });
    expect(await slider.inputValue()).toBe('70');
    expect(await page.getByText('Unsaved changes').count()).toBe(0);
    await slider.focus();
    for (let i = 0; i < 5; i++) await page.keyboard.press('ArrowLeft');
    await page.getByText('Unsaved changes').waitFor();
    await settings.locator('output').getByText('65').waitFor();
    await shot(page, 'protection-unsaved');
    await settings.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved: threshold 65.').waitFor();
    await page.getByText('Unsaved changes').waitFor({ state: 'detached' });
    await page.reload();
    await expect.poll(() => page.getByRole('slider', { name: 'Risk threshold' }).inputValue(), { timeout: PATIENCE_MS }).toBe('65');
    expect(await page.getByText('Unsaved changes').count()).toBe(0);
    const stored = (await (await page.request.get('/v1/protection?tenant=acme')).json()) as { enabled: boolean; threshold: number; flagThreshold: number };
    expect(stored).toMatchObject({ enabled: true, threshold: 65, flagThreshold: 45 });

    // A flag threshold above the threshold is refused beside its field.
    await settings.getByLabel('Flag from', { exact: true }).fill('90');
    await settings.getByRole('button', { name: 'Save' }).click();
    await settings.locator('.field.invalid').filter({ hasText: 'Flag from' }).getByRole('alert').waitFor();
    await settings.getByLabel('Flag from', { exact: true }).fill('50');
    await settings.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Unsaved changes').waitFor({ state: 'detached' });

    // The carrier blocklist card, with its warning about broad terms.
    const carriers = page.locator('.card.carriers');
    await carriers.getByText(/broad by design/).waitFor();
    await carriers.getByLabel('Carrier name contains', { exact: true }).fill('x');
    await carriers.getByRole('button', { name: 'Add' }).click();
    await carriers.locator('.field.invalid').getByRole('alert').filter({ hasText: /2 to 100 characters/ }).waitFor();
    await carriers.getByLabel('Carrier name contains', { exact: true }).fill('VoIP Innovations');
    await carriers.getByRole('button', { name: 'Add' }).click();
    await carriers.locator('li[data-carrier]').getByText('voip innovations').waitFor();

    // The allow list card.
    const allow = page.locator('.card.allow-list');
    await allow.getByLabel('Number', { exact: true }).fill('+1 212 555 1234');
    await allow.getByLabel('Note', { exact: true }).fill('the pharmacy');
    await allow.getByRole('button', { name: 'Add' }).click();
    await allow.locator('li[data-allow]').getByText('the pharmacy').waitFor();
    expect(ruleKeys()).toContain('tenant:acme +12125551234 allow');

    // Five impact cards for a period, and the chart of calls per hour.
    for (const label of ['Total calls', 'Scanned', 'Blocked', 'Flagged', 'Legitimate']) await page.locator('.impact-card').getByText(label, { exact: true }).waitFor();
    await expect.poll(() => page.locator('[data-impact="total"]').textContent(), { timeout: PATIENCE_MS }).toMatch(/^[1-9]\d*$/);
    const stats = (await (await page.request.get('/v1/stats?tenant=acme&since=24h')).json()) as Record<string, number>;
    for (const key of ['total', 'scanned', 'blocked', 'flagged', 'legitimate']) expect(await page.locator(`[data-impact="${key}"]`).textContent()).toBe(stats[key]!.toLocaleString('en-US'));
    await page.locator('.chart canvas').waitFor();
    expect(await page.locator('.chart .u-legend').textContent()).toMatch(/Blocked.*Flagged.*Legitimate.*Other/);
    await page.getByLabel('Last 7 days', { exact: true }).check();
    await page.getByRole('img', { name: /Calls per hour, last 7 days/ }).waitFor();
    await page.getByLabel('Last 24 hours', { exact: true }).check();
    await page.getByRole('img', { name: /Calls per hour, last 24 hours/ }).locator('canvas').waitFor();
    await shot(page, 'protection');
    await shot(page, 'protection-impact', page.getByRole('heading', { name: 'Impact' }));
    expect(pageErrors).toEqual([]);
  });

  it('imports a CSV: a bad line is named and nothing is added; a good file lands in its list', async () => {
    const page = await signIn(MANAGER);
    await open(page, '/lists', 'Lists');
    if (!served.has('POST /v1/rules/import')) {
      // Not served by this agent yet: the page says so instead of breaking.
      await page.getByText(not('Importing CSV from the console')).waitFor();
    } else {
      const before = ruleKeys();
      const form = page.getByRole('form', { name: 'Import rules from CSV' });
      const bad = 'pattern,action,scope,note\n+14045550111,block,tenant:acme,first\n+14045550112,block,tenant:acme,second\n+14045550113,explode,tenant:acme,third\n';
      await form.getByLabel('CSV file', { exact: true }).setInputFiles({ name: 'bad.csv', mimeType: 'text/csv', buffer: Buffer.from(bad) });
      await form.getByRole('button', { name: 'Import' }).click();
      await form.getByRole('alert').filter({ hasText: /line 4/ }).waitFor();
      expect(ruleKeys()).toEqual(before);
      const good = 'pattern,action,scope\n+14045550121,block,tenant:acme\n+14045550122,block,tenant:acme\n';
      await form.getByLabel('CSV file', { exact: true }).setInputFiles({ name: 'good.csv', mimeType: 'text/csv', buffer: Buffer.from(good) });
      await form.getByLabel('Into list', { exact: true }).fill('imported-batch');
      await form.getByRole('button', { name: 'Import' }).click();
      await form.getByText(/Imported 2 rules from good\.csv\./).waitFor();
      expect(await form.locator('progress').getAttribute('value')).toBe('1');
      expect(ruleKeys()).toEqual(expect.arrayContaining(['tenant:acme +14045550121 block', 'tenant:acme +14045550122 block']));
    }
    if (!served.has('GET /v1/lists')) {
      await page.getByText(not('Lists')).waitFor();
    } else {
      const row = page.locator('tr[data-list="imported-batch"]');
      await row.locator('td[data-label="Rules"]').getByText('2', { exact: true }).waitFor();
      const exported = await page.request.get((await row.getByRole('link', { name: 'Export CSV' }).getAttribute('href'))!);
      expect(exported.status()).toBe(200);
      expect(await exported.text()).toMatch(/^pattern,action,target,scope,sms,note,list,expires,when,tz\r?\n(.*\r?\n)*.*\+14045550122.*imported-batch/);
      await row.getByRole('switch', { name: 'List imported-batch enabled' }).uncheck();
      await page.getByText('List imported-batch disabled: its rules no longer apply.').waitFor();
      await row.getByText('Disabled', { exact: true }).waitFor();
      const lists = (await (await page.request.get('/v1/lists')).json()) as { lists: { name: string; enabled: boolean }[] };
      expect(lists.lists.find((list) => list.name === 'imported-batch')).toMatchObject({ enabled: false });
    }
    await shot(page, 'lists');
    expect(pageErrors).toEqual([]);
  });

  it('an administrator picks a company, which is remembered, and reads the audit trail with names, before and after', async () => {
    const page = await signIn(ADMIN, DESKTOP, '/companies');
    await open(page, '/companies', 'Companies');
    await shot(page, 'companies');
    await page.getByRole('button', { name: /^globex/ }).click();
    await page.getByRole('heading', { level: 1, name: 'Activity' }).waitFor();
    await page.locator('.company').getByText('globex').waitFor();
    await expect.poll(() => page.locator('table.calls tbody .caller-number').allTextContents(), { timeout: PATIENCE_MS }).toEqual(['+17735550123']);
    await page.reload();
    await page.locator('.company').getByText('globex').waitFor();
    if (served.has('PUT /v1/me/tenant')) {
      // Remembered for the user, not the browser: a fresh browser profile starts on globex too.
      const again = await signIn(ADMIN, DESKTOP, '/activity', true);
      await again.locator('.company').getByText('globex').waitFor();
      await again.getByRole('heading', { level: 1, name: 'Activity' }).waitFor();
    } else {
      await page.getByRole('link', { name: /Company/ }).click();
      await page.getByText('kept in this browser only').waitFor();
    }

    await open(page, '/audit', 'Audit');
    const rows = page.locator('table.audit tbody tr');
    await rows.first().waitFor();
    const alice = rows.filter({ hasText: 'user:alice' }).filter({ hasText: 'add rule' });
    await alice.first().waitFor();
    await rows.filter({ hasText: 'user:alice' }).filter({ hasText: 'protection' }).first().locator('td[data-label="After"] .changed').filter({ hasText: 'flagThreshold' }).getByText('50').waitFor();
    await shot(page, 'audit');
    expect(pageErrors).toEqual([]);
  });

  it('a viewer finds no write controls on any page, and a forged write is refused', async () => {
    const page = await signIn(VIEWER);
    await page.getByRole('heading', { level: 1, name: 'Activity' }).waitFor();
    await page.locator('.who').getByText('read only').waitFor();
    const pages: [string, string | RegExp][] = [
      ['/activity', 'Activity'],
      [`/timeline/${encodeURIComponent(XSS_CALLER)}`, `Timeline of ${XSS_CALLER}`],
      ['/blocked', 'Blocked numbers'],
      ['/addresses', 'Addresses'],
      ['/protection', 'Robocall protection'],
      ['/lists', 'Lists'],
    ];
    for (const [path, heading] of pages) {
      await page.goto(path);
      await page.getByRole('heading', { level: 1, name: heading }).waitFor();
      await page.locator('.loading').first().waitFor({ state: 'detached' });
      if (path.startsWith('/timeline')) await page.locator('.block-panel .status-line').getByText(/now:/).waitFor();
      if (path === '/blocked') await page.locator('table.rules').waitFor();
      if (path === '/protection') await page.locator('.card.protection').waitFor();
      expect(await page.locator('[data-write]').count(), path).toBe(0);
      const writeButtons = page.getByRole('button', { name: /^(Block|Block number|Unblock|Add|Save|Save rule|Delete selected.*|Yes, delete|Import|Remove)$/ });
      expect(await writeButtons.count(), path).toBe(0);
      expect(await page.getByRole('menuitem').count(), path).toBe(0);
    }
    // Read-only figures still show: the threshold in force, the rules.
    await page.goto('/blocked');
    await page.locator('table.rules tbody tr[data-rule]').first().waitFor();

    const forged = await page.evaluate(async () => {
      const me = (await (await fetch('/v1/me')).json()) as { csrfToken: string };
      const body = JSON.stringify({ patterns: '+14045550199', action: 'block', scope: 'tenant:acme' });
      const withToken = await fetch('/v1/rules', { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': me.csrfToken }, body });
      const withoutToken = await fetch('/v1/rules', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      const protection = await fetch('/v1/protection', { method: 'PUT', headers: { 'content-type': 'application/json', 'x-csrf-token': me.csrfToken }, body: JSON.stringify({ tenant: 'acme', threshold: 10 }) });
      return [withToken.status, withoutToken.status, protection.status];
    });
    expect(forged).toEqual([403, 403, 403]);
    expect(ruleKeys()).not.toContain('tenant:acme +14045550199 block');
    expect(((await (await page.request.get('/v1/protection?tenant=acme')).json()) as { threshold: number }).threshold).toBe(65);
    expect(pageErrors).toEqual([]);
  });

  it('works at phone width: one column, no sideways scrolling', async () => {
    const page = await signIn(MANAGER, PHONE);
    for (const [path, heading] of [
      ['/activity', 'Activity'],
      ['/blocked', 'Blocked numbers'],
      ['/protection', 'Robocall protection'],
    ] as const) {
      await page.goto(path);
      await page.getByRole('heading', { level: 1, name: heading }).waitFor();
      await page.locator('.loading').first().waitFor({ state: 'detached' });
      const widths = await page.evaluate(() => {
        const w = globalThis as unknown as InPage;
        return { page: w.document.documentElement.scrollWidth, viewport: w.innerWidth };
      });
      expect(widths.page, path).toBeLessThanOrEqual(widths.viewport);
      if (path === '/activity') {
        await page.locator('table.calls tbody tr').first().waitFor();
        await page.screenshot({ path: join(SHOTS, 'activity-phone.png') });
      }
    }
    // The pages are reachable from the navigation with the keyboard alone, focus shown.
    await page.goto('/activity');
    await page.getByRole('heading', { level: 1, name: 'Activity' }).waitFor();
    const focused = () => page.evaluate(() => (globalThis as unknown as InPage).document.activeElement?.textContent);
    await page.evaluate(() => (globalThis as unknown as InPage).document.activeElement?.blur());
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('Skip to content');
    let reached = false;
    for (let i = 0; i < 20 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = (await focused()) === 'Blocked numbers';
    }
    expect(reached).toBe(true);
    expect(await page.evaluate(() => {
      const w = globalThis as unknown as InPage;
      return w.getComputedStyle(w.document.activeElement).outlineStyle;
    })).toBe('solid');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Blocked numbers' }).waitFor();
    expect(pageErrors).toEqual([]);
  });
});
