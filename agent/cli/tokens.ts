import type { Command } from 'commander';
import { cliActing } from '../operations/acting';
import { addToken, listTokens, removeToken } from '../operations/users';
import { withContext } from './action';
import { isoOrEmpty, printJson, printTable } from './print';
import { collectTenant, refuseAdminTenants } from './users';

const tenantsText = (tenants: readonly string[] | null) => (tenants === null ? '(all)' : tenants.join(','));

export function registerTokens(program: Command): void {
  const tokens = program.command('tokens').description('bearer tokens for machines calling the REST API');
  tokens
    .command('add <name>')
    .requiredOption('--role <role>', 'admin, manager or viewer')
    .option('--tenant <name>', 'a tenant a manager or viewer token may see (repeat for several)', collectTenant, [])
    .description('add a token and print it once (only its hash is kept)')
    .action(
      withContext(async (ctx, name: string, options: { role: string; tenant: string[] }) => {
        refuseAdminTenants(options.role, options.tenant);
        const { token, row } = await addToken((await ctx.backends()).users, cliActing(ctx.actor), { name, role: options.role, tenants: options.tenant });
        process.stdout.write(`${token}\n`);
        process.stderr.write(`added ${row.role} token ${row.name}: copy it now, it will not be shown again\n`);
      }),
    );
  tokens
    .command('list')
    .option('--json', 'print JSON')
    .description('list tokens with their role, tenants and last use (never the token)')
    .action(
      withContext(async (ctx, options: { json?: boolean }) => {
        const rows = await listTokens((await ctx.backends()).users, cliActing(ctx.actor));
        if (options.json) return printJson(rows.map((row) => ({ name: row.name, role: row.role, tenants: row.tenants, createdAt: row.createdAt, lastUsedAt: row.lastUsedAt })));
        printTable(['TOKEN', 'ROLE', 'TENANTS', 'CREATED', 'LAST USED'], rows.map((row) => [row.name, row.role, tenantsText(row.tenants), isoOrEmpty(row.createdAt), isoOrEmpty(row.lastUsedAt)]));
      }),
    );
  tokens
    .command('remove <name>')
    .description('remove a token: requests bearing it are refused from now on')
    .action(
      withContext(async (ctx, name: string) => {
        await removeToken((await ctx.backends()).users, cliActing(ctx.actor), name);
        console.log(`removed token ${name.toLowerCase()}`);
      }),
    );
}
