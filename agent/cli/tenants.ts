import type { Command } from 'commander';
import { cliActing } from '../operations/acting';
import { ALLOW_ONLY_ACTIONS } from '../engine/allow-only';
import { addDid, addTenant, listDids, listTenants, removeDid, removeTenant, setAllowOnly, setTenantMode } from '../operations/tenants';
import { withContext } from './action';
import { printJson, printTable } from './print';

export function registerTenants(program: Command): void {
  const tenants = program.command('tenants').description('companies that own inbound numbers (DIDs)');
  tenants
    .command('add <name>')
    .description('add a tenant')
    .action(
      withContext(async (ctx, name: string) => {
        await addTenant((await ctx.backends()).tenants, cliActing(ctx.actor), name);
        console.log(`added tenant ${name}`);
      }),
    );
  tenants
    .command('list')
    .option('--json', 'print JSON')
    .description('list tenants with their DID and rule counts')
    .action(
      withContext(async (ctx, options: { json?: boolean }) => {
        const backend = (await ctx.backends()).tenants;
        const rows = await listTenants(backend);
        const own = (await listDids(backend)).filter((did) => did.allowOnly !== null);
        const didsOf = (name: string) => own.filter((did) => did.tenant === name).map((did) => ({ did: did.number, allowOnly: did.allowOnly! }));
        if (options.json) return printJson(rows.map((row) => ({ ...row, didAllowOnly: didsOf(row.name) })));
        // The tenant's setting, then each DID's own: `challenge; +14045550100 off`.
        const allowOnly = (row: (typeof rows)[number]) => [row.allowOnly ?? 'off', ...didsOf(row.name).map((did) => `${did.did} ${did.allowOnly}`)].join('; ');
        printTable(['TENANT', 'MODE', 'ALLOW-ONLY', 'DIDS', 'RULES'], rows.map((row) => [row.name, row.mode, allowOnly(row), row.dids, row.rules]));
      }),
    );
  tenants
    .command('mode <name> <mode>')
    .description("monitor: decide and log every call, but let it through (the log shows what would have happened); enforce: screen as usual")
    .action(
      withContext(async (ctx, name: string, mode: string) => {
        const set = await setTenantMode((await ctx.backends()).tenants, cliActing(ctx.actor), name, mode);
        console.log(set === 'monitor' ? `tenant ${name} is in monitor mode: its calls are decided and logged, and let through` : `tenant ${name} enforces: its calls are screened`);
      }),
    );
  tenants
    .command('allow-only <name> <action>')
    .option('--did <number>', "only this DID of the tenant (overrides the tenant's setting; inherit: follow the tenant again)")
    .description(`only callers an allow rule lets through ring; everyone else gets <action>: ${ALLOW_ONLY_ACTIONS.join(', ')}; off to stop`)
    .action(
      withContext(async (ctx, name: string, action: string, options: { did?: string }) => {
        const set = await setAllowOnly((await ctx.backends()).tenants, cliActing(ctx.actor), name, action, options.did, ctx.country);
        const who = set.did === null ? `tenant ${name}` : `DID ${set.did} (tenant ${name})`;
        if (set.action === 'inherit') console.log(`${who} follows the tenant's allow-only setting`);
        else if (set.action === 'off') console.log(`${who} is not allow-only${set.did === null ? '' : ", whatever the tenant's setting"}`);
        else console.log(`${who} is allow-only: callers not on its allow list get ${set.action}`);
      }),
    );
  tenants
    .command('remove <name>')
    .option('--force', 'also remove its DIDs, rules and category policies')
    .description('remove a tenant')
    .action(
      withContext(async (ctx, name: string, options: { force?: boolean }) => {
        const removed = await removeTenant((await ctx.backends()).tenants, cliActing(ctx.actor), name, options.force ?? false);
        console.log(`removed tenant ${name} (${removed.dids} DID(s), ${removed.rules} rule(s))`);
      }),
    );
}

export function registerDids(program: Command): void {
  const dids = program.command('dids').description('inbound numbers and the tenant that owns each');
  dids
    .command('add <number>')
    .requiredOption('--tenant <name>', 'the tenant that owns it')
    .description('register a DID to a tenant')
    .action(
      withContext(async (ctx, number: string, options: { tenant: string }) => {
        const did = await addDid((await ctx.backends()).tenants, cliActing(ctx.actor), number, options.tenant, ctx.country);
        console.log(`added DID ${did} to tenant ${options.tenant}`);
      }),
    );
  dids
    .command('list')
    .option('--tenant <name>', 'only this tenant')
    .option('--json', 'print JSON')
    .description('list registered DIDs (any other number belongs to tenant default)')
    .action(
      withContext(async (ctx, options: { tenant?: string; json?: boolean }) => {
        const rows = await listDids((await ctx.backends()).tenants, options.tenant);
        if (options.json) return printJson(rows);
        printTable(['DID', 'TENANT'], rows.map((row) => [row.number, row.tenant]));
      }),
    );
  dids
    .command('remove <number>')
    .description('unregister a DID (it falls back to tenant default)')
    .action(
      withContext(async (ctx, number: string) => {
        const did = await removeDid((await ctx.backends()).tenants, cliActing(ctx.actor), number, ctx.country);
        console.log(`removed DID ${did}`);
      }),
    );
}
