// Trusted callbacks as an operator runs them, on the SQLite file and on a fleet's PostgreSQL,
// beside a real `callguard serve` screening calls placed on the FreeSWITCH simulator: the
// switch's POST /v1/called reaches the agent's hook (on PostgreSQL the row goes to the fleet
// and back into the agent's local copy), the callback then rings past a category that
// blocked it, `explain` says when the number was called, `callguard callbacks trust` sets
// the window (off: screened as usual), and bad input exits 2 with one line.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliOn, cliStores, expectPrinted, expectRefused, servedAfter, verdictBecomes } from './helpers/cli-stores';
import type { CliStore } from './helpers/cli-stores';
import type { Agent } from './helpers/postgres-agent';
import { PATIENCE_MS } from './helpers/patience';
import { assertBuilt, describeRun } from './helpers/run-cli';
import type { CliResult } from './helpers/run-cli';

const ACME_MAIN = '+14045550100';
/** From the DID's own exchange: a neighbor, which the category policy blocks. */
const CALLING_BACK = '14045551234';

const cleanups: (() => unknown)[] = [];
beforeAll(() => assertBuilt());
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const SETUPS = cliStores('callguard-callbacks-cli-', cleanups);

describe.each(SETUPS)('trusted callbacks with callguard serve on %s', (_name, make) => {
  let setup: CliStore;
  let agent: Agent;
  let cli: (...args: string[]) => CliResult;

  beforeAll(async () => {
    setup = await make();
    cli = cliOn(setup);
    agent = await servedAfter(setup, cli, [
      ['tenants', 'add', 'acme'],
      ['dids', 'add', '404-555-0100', '--tenant', 'acme'],
      ['categories', 'set', 'neighbor', 'block'],
    ], cleanups);
  }, PATIENCE_MS);

  it('the switch reports an outbound call to the 10-digit number; its 11-digit callback then rings, and explain says why', async () => {
    expect(await agent.call(CALLING_BACK, ACME_MAIN)).toBe('hungup:CALL_REJECTED');
    const answer = await agent.post('/v1/called?from=%2B14045550100&to=4045551234');
    expect(answer.status, answer.body).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ tenant: 'acme', number: '+14045551234' });
    await verdictBecomes(agent, CALLING_BACK, ACME_MAIN, 'allow');
    expect(await agent.call(CALLING_BACK, ACME_MAIN)).toBe('continued');
    const explained = cli('explain', '--from', CALLING_BACK, '--to', ACME_MAIN);
    expect(explained.status, describeRun(explained)).toBe(0);
    expect(explained.stdout).toMatch(/^allow\n {2}1\. Caller \+14045551234; number called \+14045550100, tenant acme\.\n {2}2\. Step 1: no number or address rule matches\.\n {2}3\. You called this number on \d{4}-\d\d-\d\dT[\d:.]+Z \(tenant acme\); a callback skips categories and protection\.\n$/);
    // Refused by the hook, nothing written: a 400 naming the field.
    const bad = await agent.post('/v1/called?from=%2B14045550100&to=911');
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body).error).toMatch(/^bad to "911"/);
    expect(await setup.rows('SELECT tenant, number FROM outbound_calls')).toEqual([{ tenant: 'acme', number: '+14045551234' }]);
  });

  it('callbacks trust sets the window per tenant (off: screened as usual); callbacks called records one as the hook does', async () => {
    expectPrinted(cli('callbacks', 'trust', 'off', '--tenant', 'acme'), 'callbacks are not trusted (tenant:acme)\n');
    await verdictBecomes(agent, CALLING_BACK, ACME_MAIN, 'block');
    expectPrinted(cli('callbacks', 'trust', '14d', '--tenant', 'acme'), 'callbacks from numbers called in the last 14d are trusted (tenant:acme)\n');
    await verdictBecomes(agent, CALLING_BACK, ACME_MAIN, 'allow');
    expectPrinted(cli('callbacks', 'called', '1001', '312-555-0188', '--tenant', 'acme'), /^tenant acme called \+13125550188 at \d{4}-/);
    expectRefused(cli('callbacks', 'trust', 'forever'), 'bad duration "forever": expected a duration such as 30d, 12h, 90m or 2w');
    expectRefused(cli('callbacks', 'called', '1001', '911'), 'bad to "911": an emergency, service or short code, not a number that calls back');
    expectRefused(cli('callbacks', 'called', '1001', '5551234'), `bad to "5551234": a 7-digit number needs the caller's area code, and from is not a NANP number`);
    expectRefused(cli('callbacks', 'called', '1001', '3125550188', '--tenant', 'nobody'), "unknown tenant \"nobody\": add it first with 'callguard tenants add nobody'");
    expect(await setup.rows('SELECT number FROM outbound_calls ORDER BY id')).toEqual([{ number: '+14045551234' }, { number: '+13125550188' }]);
  });
});
