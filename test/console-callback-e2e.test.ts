// A trusted callback on a caller's timeline, in a real headless Chromium against the console
// server, with calls screened for real on the FreeSWITCH simulator by the screener on the
// console's own store: a neighbour-spoofing caller is blocked; acme's user then dials that
// number (as the shipped outbound dialplan reports it), the number calls back and rings, and
// its timeline says when acme called it. Every wait is on an element or a value.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliActing } from '../agent/operations/acting';
import { recordOutboundCall } from '../agent/operations/called-numbers';
import { setCategory } from '../agent/operations/categories';
import { sqliteBackends } from '../agent/operations/store-backends';
import { MANAGER, TENANTS } from './helpers/console';
import { startConsoleWithSwitch } from './helpers/console-with-switch';
import type { ConsoleWithSwitch } from './helpers/console-with-switch';
import { PATIENCE_MS } from './helpers/patience';

const [ACME_MAIN] = TENANTS.acme;
/** From the DID's own exchange: the neighbor category, which acme blocks. */
const NEIGHBOUR = '+14045558765';

let world: ConsoleWithSwitch;

beforeAll(async () => {
  world = await startConsoleWithSwitch();
  await setCategory(sqliteBackends(world.server.db).as('cli:tester'), cliActing('cli:tester'), { category: 'neighbor', action: 'block' });
}, PATIENCE_MS);

afterAll(async () => {
  await world?.close();
});

describe('a trusted callback in a real browser', () => {
  it('is blocked before the call out, rings after it, and its timeline says when acme called it', async () => {
    expect((await world.call(NEIGHBOUR, ACME_MAIN!, 'Caller')).logged.action).toBe('block');
    const recorded = await recordOutboundCall(sqliteBackends(world.server.db).as('hook').outboundCalls, { from: ACME_MAIN!, to: '404-555-8765' }, 'US');
    expect(recorded).toMatchObject({ tenant: 'acme', number: NEIGHBOUR });
    const { result, logged } = await world.call(NEIGHBOUR, ACME_MAIN!, 'Caller');
    expect(result.outcome).toBe('continued');
    expect(logged.action).toBe('allow');
    expect(logged.reasons.some((reason) => reason.startsWith('You called this number on '))).toBe(true);

    const page = await world.signedIn(MANAGER, `/timeline/${encodeURIComponent(NEIGHBOUR)}`, `Timeline of ${NEIGHBOUR}`);
    await expect.poll(() => page.locator('.timeline > li').count(), { timeout: PATIENCE_MS }).toBe(2);
    // Newest first: the callback names when acme called; the blocked call before it does not.
    await page.locator('.timeline > li').first().getByText(/^you called this number on /).waitFor();
    expect(await page.locator('.timeline > li').nth(1).getByText(/you called this number/).count()).toBe(0);
    expect(world.pageErrors).toEqual([]);
  });
});
