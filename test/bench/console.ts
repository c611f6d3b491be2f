import { createServer } from 'node:http';
import { sqliteBackends } from '../../agent/operations/store-backends';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import type { Page } from 'playwright-core';
import { buildApi } from '../../agent/api/server';
import { StoreAuthenticator } from '../../agent/api/store-authenticator';
import { consoleStatic } from '../../agent/console/static';
import { ReputationClient } from '../../agent/screening/reputation';
import { openDatabase } from '../../agent/store/database';
import { UserStore } from '../../agent/store/users';
import { launchChromium } from '../helpers/console';
import { benchNumber } from './dataset';
import type { Row } from './measure';

const LOADS = 5;
const USER = { name: 'bench-admin', password: 'bench administrator password' };

/** Each page, and what shows it has its data (not only its frame). */
const PAGES: readonly { path: string; shown: string }[] = [
  { path: '/activity', shown: 'table.calls tbody tr' },
  { path: `/timeline/${encodeURIComponent(benchNumber(7))}`, shown: '.timeline > li' },
  { path: '/blocked', shown: 'table.rules tbody tr' },
  { path: '/addresses', shown: 'main .empty, table.rules tbody tr' },
  { path: '/protection', shown: '.chart .uplot' },
  { path: '/lists', shown: 'table.lists tbody tr, main .empty' },
  { path: '/audit', shown: 'table.audit tbody tr' },
  { path: '/companies', shown: 'ul.companies li' },
];

interface Paint {
  readonly firstContentfulPaint: number;
  /** When the page's data was on screen, from navigation start. */
  readonly shown: number;
}

/**
 * Installed in every page before its own scripts: notes, from navigation start, the moment
 * each page's `shown` selector first matches, so the figure is the page's own and not
 * the test driver's round trips.
 */
function watchForData(selectors: readonly string[]): void {
  const w = globalThis as unknown as {
    performance: { now(): number };
    document: { querySelector(selector: string): unknown; addEventListener(type: string, listener: () => void): void; documentElement: unknown };
    MutationObserver: new (callback: () => void) => { observe(target: unknown, options: object): void };
    shownAt: Record<string, number>;
  };
  w.shownAt = {};
  const check = () => {
    for (const selector of selectors) if (w.shownAt[selector] === undefined && w.document.querySelector(selector)) w.shownAt[selector] = w.performance.now();
  };
  w.document.addEventListener('DOMContentLoaded', () => {
    check();
    new w.MutationObserver(check).observe(w.document.documentElement, { subtree: true, childList: true });
  });
}

/** Loads `url` afresh and reads, in the page, its first contentful paint and when `shown` appeared. */
async function paintOf(page: Page, url: string, shown: string): Promise<Paint> {
  await page.goto(url);
  await page.locator(shown).first().waitFor();
  return page.evaluate(
    (selector) =>
      new Promise<Paint>((resolve) => {
        const w = globalThis as unknown as {
          PerformanceObserver: new (callback: (list: { getEntries(): { name: string; startTime: number }[] }) => void) => { observe(options: object): void };
          shownAt: Record<string, number>;
        };
        new w.PerformanceObserver((list) => {
          const fcp = list.getEntries().find((entry) => entry.name === 'first-contentful-paint');
          if (fcp) resolve({ firstContentfulPaint: fcp.startTime, shown: w.shownAt[selector]! });
        }).observe({ type: 'paint', buffered: true });
      }),
    shown,
  );
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/**
 * The console's pages in Debian's headless Chromium on loopback, over the benchmark's
 * 1,000,000 rules and call-log rows: first contentful paint and the moment each page's
 * data is on screen (median of 5 fresh loads; the slowest page is reported), beside the
 * first paint of a one-line static page from a bare Node server in the same browser.
 */
export async function benchConsole(dbPath: string): Promise<Row[]> {
  const db = openDatabase(dbPath);
  await new UserStore(db, 'bench').add(USER.name, 'admin', [], USER.password);
  const api = await buildApi({ store: sqliteBackends(db), country: 'US', authenticator: new StoreAuthenticator(sqliteBackends(db).as('console').users), reputation: new ReputationClient(), logger: pino({ level: 'silent' }), secure: false });
  await api.register(consoleStatic());
  await api.listen({ host: '127.0.0.1', port: 0 });
  const blank = createServer((_request, response) => response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><title>blank</title><h1>blank</h1>'));
  await new Promise<void>((resolve) => blank.listen(0, '127.0.0.1', resolve));
  const chromium = await launchChromium();
  try {
    const base = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`;
    const context = await chromium.browser.newContext({ viewport: { width: 1280, height: 800 } });
    context.setDefaultTimeout(120_000);
    await context.addInitScript(watchForData, [...PAGES.map((page) => page.shown), 'h1']);
    const signIn = await context.newPage();
    await signIn.goto(`${base}/signin`);
    await signIn.getByLabel('Name', { exact: true }).fill(USER.name);
    await signIn.getByLabel('Password', { exact: true }).fill(USER.password);
    await signIn.getByLabel('Password', { exact: true }).press('Enter');
    await signIn.locator('nav[aria-label="Pages"]').waitFor();
    await signIn.close();

    const loads = async (url: string, shown: string): Promise<Paint> => {
      const paints: Paint[] = [];
      for (let i = 0; i < LOADS + 1; i++) {
        const page = await context.newPage();
        const paint = await paintOf(page, url, shown);
        if (i > 0) paints.push(paint); // the first load warms the browser's cache, as an operator's second visit would
        await page.close();
      }
      return { firstContentfulPaint: median(paints.map((paint) => paint.firstContentfulPaint)), shown: median(paints.map((paint) => paint.shown)) };
    };
    const baseline = await loads(`http://127.0.0.1:${(blank.address() as AddressInfo).port}/`, 'h1');
    const pages = [];
    for (const { path, shown } of PAGES) pages.push({ path, ...(await loads(`${base}${path}`, shown)) });
    const slowestPaint = pages.reduce((a, b) => (b.firstContentfulPaint > a.firstContentfulPaint ? b : a));
    const slowestShown = pages.reduce((a, b) => (b.shown > a.shown ? b : a));
    const blankPaint = `blank page ${baseline.firstContentfulPaint.toFixed(0)} ms`;
    return [
      { metric: `console first paint, slowest of ${PAGES.length} pages (${slowestPaint.path})`, measured: `${slowestPaint.firstContentfulPaint.toFixed(0)} ms`, target: '≤ 1000 ms', baseline: blankPaint, ok: slowestPaint.firstContentfulPaint <= 1000 },
      { metric: `console page with its data on screen, slowest (${slowestShown.path})`, measured: `${slowestShown.shown.toFixed(0)} ms`, target: '≤ 1000 ms', baseline: blankPaint, ok: slowestShown.shown <= 1000 },
    ];
  } finally {
    await chromium.close();
    await new Promise((resolve) => blank.close(resolve));
    await api.close();
    db.close();
  }
}
