// The console as it ships: a real `callguard serve` screening calls from the FreeSWITCH
// simulator, with its console on its own port (on by default), a user made with
// `callguard users add`, and a real headless Chromium. A call placed on the switch shows
// on Activity; the caller is blocked from their timeline; the same call placed again is
// blocked by the agent and shows so on Activity. On the SQLite file, and on a fleet's
// PostgreSQL (where the console reads and writes PostgreSQL, and the agent decides from
// its local copy of it).
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { launchChromium } from './helpers/console';
import { migratedPostgres, untilAsync } from './helpers/postgres-agent';
import { freePort } from './helpers/free-port';
import { PATIENCE_MS, until } from './helpers/patience';
import { binPath, repoRoot, runCli } from './helpers/run-cli';
import { makeTempDir } from './helpers/temp-db';
import { FreeSwitchSim } from './sim/freeswitch/sim';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const DID = '+14045550100';
const CALLER = '+16785550142';
const PASSWORD = 'a long enough password';

function startServe(args: string[]) {
  const child = spawn(process.execPath, [binPath, ...args], { cwd: repoRoot, env: { ...process.env, CALLGUARD_DB: '', CALLGUARD_CONFIG: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  cleanups.push(() => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'));
  return { child, output: () => output, exited };
}

/** Reloads Activity until its newest row is `caller`'s with the decision `decision`: the log is written behind the call. */
async function newestOnActivity(page: Page, caller: string, decision: string): Promise<void> {
  await expect
    .poll(
      async () => {
        await page.reload();
        await page.getByRole('heading', { level: 1, name: 'Activity' }).waitFor();
        const first = page.locator('table.calls tbody tr').first();
        if ((await first.count()) === 0) return null;
        return `${await first.locator('.caller-number').textContent()} ${await first.locator('td[data-label="Decision"] .chip').first().textContent()}`;
      },
      { timeout: PATIENCE_MS, interval: 200 },
    )
    .toBe(`${caller} ${decision}`);
}

describe.each([['the SQLite file', false], ["a fleet's PostgreSQL", true]])('the console beside callguard serve on %s', (_store, postgres) => {
  it('a call placed on the switch is on Activity, is blocked from its timeline, and the next one is blocked', async () => {
    const dir = makeTempDir('callguard-console-serve-');
    cleanups.push(() => dir.remove());
    const db = dir.file('callguard.db');
    const config = dir.file('callguard.json');
    const [pbxPort, consolePort, hookPort] = [await freePort(), await freePort(), await freePort()];
    const store = postgres ? { url: (await migratedPostgres(cleanups)).url } : undefined;
    writeFileSync(config, JSON.stringify({ http: { listen: `127.0.0.1:${hookPort}` }, store }));
    const cli = (args: string[], input?: string) => runCli(['--db', db, '--config', config, ...args], input === undefined ? {} : { input });
    expect(cli(['tenants', 'add', 'acme']).status).toBe(0);
    expect(cli(['dids', 'add', DID, '--tenant', 'acme']).status).toBe(0);
    expect(cli(['users', 'add', 'alice', '--role', 'manager', '--tenant', 'acme'], `${PASSWORD}\n`).status).toBe(0);

    const agent = startServe(['--db', db, '--config', config, 'serve', '--pbx', 'freeswitch', '--mode', 'outbound', '--listen', `127.0.0.1:${pbxPort}`, '--console-listen', `127.0.0.1:${consolePort}`]);
    await until(() => (/console listening/.test(agent.output()) && /listening for FreeSWITCH outbound sockets/.test(agent.output())) || agent.child.exitCode !== null, 'the agent and its console to listen');
    expect(agent.child.exitCode, agent.output()).toBeNull();

    const sim = new FreeSwitchSim();
    cleanups.push(() => sim.close());
    const call = { callerIdNumber: CALLER, callerIdName: 'Dana Caller', destinationNumber: DID, async: false };
    expect(await sim.placeOutboundCall('127.0.0.1', pbxPort, call).done).toMatchObject({ outcome: 'continued' });

    const chromium = await launchChromium();
    cleanups.push(() => chromium.close());
    const context = await chromium.browser.newContext({ viewport: { width: 1280, height: 800 }, baseURL: `http://127.0.0.1:${consolePort}` });
    context.setDefaultTimeout(PATIENCE_MS);
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto('/activity');
    await page.getByLabel('Name', { exact: true }).fill('alice');
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByLabel('Password', { exact: true }).press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Activity' }).waitFor();
    await newestOnActivity(page, CALLER, 'Allow');
    await page.getByText('Dana Caller', { exact: true }).first().waitFor();

    await page.getByRole('link', { name: `Timeline of ${CALLER}` }).first().click();
    await page.getByRole('heading', { level: 1, name: `Timeline of ${CALLER}` }).waitFor();
    await page.locator('.block-panel').getByText('(no rule for this number)').waitFor();
    await page.getByLabel('Action', { exact: true }).selectOption('block');
    await page.getByRole('button', { name: 'Block number' }).click();
    await page.locator('.block-panel').getByText(/now: Block by rule #\d+/).waitFor();
    // The CLI sees the rule the page made, in the same store, with the person's name in the audit trail.
    const rules = JSON.parse(cli(['rules', 'list', '--json']).stdout) as { pattern: string; action: string; scope: string }[];
    expect(rules).toEqual([expect.objectContaining({ pattern: CALLER, action: 'block', scope: 'tenant:acme' })]);
    const audit = JSON.parse(cli(['audit', '--json']).stdout) as { actor: string; entity: string }[];
    expect(audit.find((change) => change.entity === 'rule')).toMatchObject({ actor: 'user:alice' });

    // The agent decides from the same store (on PostgreSQL, once the change reaches its local copy): the same call placed again is refused.
    const decide = `http://127.0.0.1:${hookPort}/v1/decide?from=${encodeURIComponent(CALLER)}&to=${encodeURIComponent(DID)}&kind=call`;
    await untilAsync(async () => ((await (await fetch(decide)).json()) as { action: string }).action === 'block', 'the rule to reach the agent');
    expect(await sim.placeOutboundCall('127.0.0.1', pbxPort, call).done).toMatchObject({ outcome: 'hungup', hangupCause: 'CALL_REJECTED' });
    await page.goto('/activity');
    await newestOnActivity(page, CALLER, 'Block');
    expect(pageErrors).toEqual([]);

    agent.child.kill('SIGTERM');
    expect(await agent.exited).toBe(0);
  }, 3 * PATIENCE_MS);
});
