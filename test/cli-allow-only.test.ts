// `callguard tenants allow-only` as an operator runs it, on the SQLite file and on a fleet's
// PostgreSQL, beside a real `callguard serve` screening calls placed on the FreeSWITCH
// simulator: set for a tenant, then for one DID (overriding it), shown by `tenants list`
// and explained; calls from a stranger get the chosen action, an allowed caller rings, and
// bad input exits 2 with one line and nothing written.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliOn, cliStores, expectPrinted, expectRefused, servedAfter, verdictBecomes } from './helpers/cli-stores';
import type { CliStore } from './helpers/cli-stores';
import type { Agent } from './helpers/postgres-agent';
import { PATIENCE_MS } from './helpers/patience';
import { assertBuilt, describeRun } from './helpers/run-cli';
import type { CliResult } from './helpers/run-cli';

const ACME_MAIN = '+14045550100';
const ACME_SALES = '+14045550101';
const FRIEND = '+14045551234';
const STRANGER = '+13125559999';

const cleanups: (() => unknown)[] = [];
beforeAll(() => assertBuilt());
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const SETUPS = cliStores('callguard-allow-only-cli-', cleanups);

describe.each(SETUPS)('callguard tenants allow-only on %s', (_name, make) => {
  let setup: CliStore;
  let agent: Agent;
  let cli: (...args: string[]) => CliResult;

  const stored = async () => ({
    tenants: await setup.rows('SELECT name, allow_only FROM tenants ORDER BY name'),
    dids: await setup.rows('SELECT number, allow_only FROM dids ORDER BY number'),
    audit: await setup.rows("SELECT entity, key, before, after FROM audit WHERE verb = 'change' ORDER BY id"),
  });

  beforeAll(async () => {
    setup = await make();
    cli = cliOn(setup);
    agent = await servedAfter(setup, cli, [
      ['tenants', 'add', 'acme'],
      ['dids', 'add', '404-555-0100', '--tenant', 'acme'],
      ['dids', 'add', '404-555-0101', '--tenant', 'acme'],
      ['rules', 'add', '404-555-1234', '--action', 'allow', '--scope', 'tenant:acme'],
    ], cleanups);
  }, PATIENCE_MS);

  it('off at first: a stranger rings', async () => {
    expect(await agent.call(STRANGER, ACME_MAIN)).toBe('continued');
  });

  it('for the tenant: only allowed callers ring, the rest are blocked; listed and explained', async () => {
    expectPrinted(cli('tenants', 'allow-only', 'acme', 'block'), 'tenant acme is allow-only: callers not on its allow list get block\n');
    await verdictBecomes(agent, STRANGER, ACME_MAIN, 'block');
    expect(await agent.call(STRANGER, ACME_MAIN)).toBe('hungup:CALL_REJECTED');
    expect(await agent.call(STRANGER, ACME_SALES)).toBe('hungup:CALL_REJECTED');
    expect(await agent.call(FRIEND, ACME_MAIN)).toBe('continued');
    // A number of tenant default is not acme's: it rings.
    expect(await agent.call(STRANGER, '+15551230000')).toBe('continued');
    const explained = cli('explain', '--from', STRANGER, '--to', ACME_MAIN);
    expect(explained.status, describeRun(explained)).toBe(0);
    expect(explained.stdout).toBe(
      [
        'block',
        `  1. Caller ${STRANGER}; number called ${ACME_MAIN}, tenant acme.`,
        '  2. Step 1: no number or address rule matches.',
        '  3. Tenant acme is allow-only: callers not on its allow list get block.',
        '',
      ].join('\n'),
    );
    expect(cli('tenants', 'list').stdout).toMatch(/^TENANT\s+MODE\s+ALLOW-ONLY\s+DIDS\s+RULES\nacme\s+enforce\s+block\s+2\s+1\ndefault\s+enforce\s+off\s+0\s+0\n$/);
  });

  it("for one DID: its own setting overrides the tenant's, and off leaves it out", async () => {
    expectPrinted(cli('tenants', 'allow-only', 'acme', 'busy', '--did', '404-555-0101'), `DID ${ACME_SALES} (tenant acme) is allow-only: callers not on its allow list get busy\n`);
    expectPrinted(cli('tenants', 'allow-only', 'acme', 'off', '--did', ACME_MAIN), `DID ${ACME_MAIN} (tenant acme) is not allow-only, whatever the tenant's setting\n`);
    await verdictBecomes(agent, STRANGER, ACME_SALES, 'busy');
    await verdictBecomes(agent, STRANGER, ACME_MAIN, 'allow');
    expect(await agent.call(STRANGER, ACME_SALES)).toBe('hungup:USER_BUSY');
    expect(await agent.call(STRANGER, ACME_MAIN)).toBe('continued');
    expect(await agent.call(FRIEND, ACME_SALES)).toBe('continued');
    expect(cli('tenants', 'list').stdout).toMatch(new RegExp(`\\nacme\\s+enforce\\s+block; \\${ACME_MAIN} off; \\${ACME_SALES} busy\\s+2\\s+1\\n`));
    expect(JSON.parse(cli('tenants', 'list', '--json').stdout)[0]).toEqual({
      name: 'acme',
      mode: 'enforce',
      allowOnly: 'block',
      didAllowOnly: [
        { did: ACME_MAIN, allowOnly: 'off' },
        { did: ACME_SALES, allowOnly: 'busy' },
      ],
      dids: 2,
      rules: 1,
    });
    expectPrinted(cli('tenants', 'allow-only', 'acme', 'inherit', '--did', ACME_MAIN), `DID ${ACME_MAIN} (tenant acme) follows the tenant's allow-only setting\n`);
    await verdictBecomes(agent, STRANGER, ACME_MAIN, 'block');
    expect(await agent.call(STRANGER, ACME_MAIN)).toBe('hungup:CALL_REJECTED');
  });

  it('refuses bad input with exit 2 and one line, writing nothing', async () => {
    const before = await stored();
    expectRefused(cli('tenants', 'allow-only', 'nobody', 'block'), `unknown tenant "nobody": add it first with 'callguard tenants add nobody'`);
    expectRefused(cli('tenants', 'allow-only', 'acme', 'ring'), 'bad allow-only action "ring": expected challenge, identify, voicemail, busy, disconnected, block, or off');
    expectRefused(cli('tenants', 'allow-only', 'acme', 'inherit'), 'inherit applies to a DID only (its own setting is dropped and it follows the tenant): expected challenge, identify, voicemail, busy, disconnected, block, or off');
    expectRefused(cli('tenants', 'allow-only', 'acme', 'busy', '--did', '555-12'), 'bad DID "555-12": expected a phone number such as +14045551234 or 404-555-1234');
    expectRefused(cli('tenants', 'allow-only', 'acme', 'busy', '--did', '404-555-0199'), "DID +14045550199 is not registered: add it first with 'callguard dids add +14045550199 --tenant acme'");
    expectRefused(cli('tenants', 'allow-only', 'default', 'busy', '--did', ACME_MAIN), `DID ${ACME_MAIN} belongs to tenant "acme", not "default"`);
    const usage = cli('tenants', 'allow-only', 'acme');
    expect(usage.status, describeRun(usage)).not.toBe(0);
    expect(await stored()).toEqual(before);
    expect(before.audit).toEqual([
      { entity: 'tenant', key: 'acme', before: '{"allowOnly":"off"}', after: '{"allowOnly":"block"}' },
      { entity: 'did', key: ACME_SALES, before: '{"allowOnly":"inherit"}', after: '{"allowOnly":"busy"}' },
      { entity: 'did', key: ACME_MAIN, before: '{"allowOnly":"inherit"}', after: '{"allowOnly":"off"}' },
      { entity: 'did', key: ACME_MAIN, before: '{"allowOnly":"off"}', after: '{"allowOnly":"inherit"}' },
    ]);
  });

  it('off again: the stranger rings', async () => {
    expectPrinted(cli('tenants', 'allow-only', 'acme', 'off'), 'tenant acme is not allow-only\n');
    await verdictBecomes(agent, STRANGER, ACME_MAIN, 'allow');
    expect(await agent.call(STRANGER, ACME_MAIN)).toBe('continued');
    // The DID's own setting stays: it is allow-only by itself.
    expect(await agent.call(STRANGER, ACME_SALES)).toBe('hungup:USER_BUSY');
  });
});
